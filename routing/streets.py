"""A street network in compact arrays: snapping, travel times, paths and reach.

`StreetNetwork` is the static (time-independent) part of an OpenStreetMap
travel model. It holds two layers on the same edges:

* ``drive``: directed, edge times from road class, surface and ``maxspeed``;
* ``walk``: both directions of every edge at walking speed (used after a
  passenger-only boat, or for a gestor without a vehicle).

A point is attached to the nearest point of the nearest edge (of a large
strongly connected component among its close neighbours): the edge is split
there virtually, so the distance along the edge to either of its nodes counts,
at the edge's speed and in the directions the edge can be driven, and two
points on one edge are joined along it. The straight line between the point
and its projection on the edge is travelled at ``access_kmh`` by vehicle or at
walking speed on foot. A point to itself takes 0 s.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.ops import substring

from routing._dijkstra import many_to_many
from routing._dijkstra import many_to_many_ends
from routing._dijkstra import path_to
from routing._dijkstra import single_source
from routing._geo import Places

__all__ = ["StreetNetwork"]

_SNAP_SLACK_M = 250.0
FORMAT_VERSION = 1
_ARRAY_FIELDS = (
    "node_lon",
    "node_lat",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_drive_s",
    "geom_offsets",
    "geom_lon",
    "geom_lat",
)


@dataclass
class StreetNetwork:
    """Road graph as arrays (see module docstring).

    Attributes
    ----------
    node_lon, node_lat
        Node coordinates (WGS84).
    edge_u, edge_v
        Edge endpoints (node positions); one row per directed drivable edge.
    edge_length_m, edge_drive_s
        Edge length and driving time.
    geom_offsets, geom_lon, geom_lat
        Edge geometries: coordinates of edge i are at ``geom_offsets[i]:geom_offsets[i+1]``.
    walk_kmh, access_kmh
        Walking speed and the speed used between a point and its node by vehicle.
    max_snap_m
        Points farther than this from any edge are not snapped.
    """

    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_drive_s: np.ndarray
    geom_offsets: np.ndarray
    geom_lon: np.ndarray
    geom_lat: np.ndarray
    walk_kmh: float = 4.5
    access_kmh: float = 15.0
    max_snap_m: float = 3000.0

    def __post_init__(self) -> None:
        """Build the CSR layers, components and the snapping index."""
        n = len(self.node_lon)
        self._n = n
        walk_s = self.edge_length_m / (self.walk_kmh / 3.6)
        ids = np.arange(len(self.edge_u))
        self._layers = {
            "drive": _csr(self.edge_u, self.edge_v, self.edge_drive_s, n, ids),
            "walk": _csr(
                np.concatenate([self.edge_u, self.edge_v]),
                np.concatenate([self.edge_v, self.edge_u]),
                np.concatenate([walk_s, walk_s]),
                n,
                np.concatenate([ids, ids]),
            ),
        }
        matrix = sp.csr_matrix((np.ones(len(self.edge_u)), (self.edge_u, self.edge_v)), (n, n))
        _, strong = connected_components(matrix, directed=True, connection="strong")
        _, weak = connected_components(matrix, directed=False)
        # the "main" nodes of each land-connected piece: its largest strongly connected part
        size = np.bincount(strong)[strong] if n else np.zeros(0, int)
        order = np.lexsort((-size, weak))
        main_label = np.full(weak.max() + 1 if n else 0, -1)
        first = np.ones(len(order), dtype=bool)
        first[1:] = weak[order][1:] != weak[order][:-1]
        main_label[weak[order][first]] = strong[order][first]
        self._weak = weak
        self._weak_size = np.bincount(weak)[weak] if n else np.zeros(0, int)
        self._main = np.flatnonzero(strong == main_label[weak]) if n else np.zeros(0, int)
        self._lat0 = float(np.mean(self.node_lat)) if n else 0.0
        xy = self._xy(self.node_lon, self.node_lat)
        self._tree = cKDTree(xy) if n else None
        self._rev = _reverse_edges(self.edge_u, self.edge_v, self.edge_length_m)
        self._edges = None  # the snapping index of edges, built on the first snap

    # -- basic facts ---------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return self._n

    @property
    def n_edges(self) -> int:
        """Number of directed drivable edges."""
        return len(self.edge_u)

    def components(self) -> tuple[int, int]:
        """Return (weakly connected components, size of the largest one)."""
        sizes = np.bincount(self._weak)
        return len(sizes), int(sizes.max()) if len(sizes) else 0

    def _xy(self, lon, lat) -> np.ndarray:
        k = np.pi / 180 * 6_371_008.8
        return np.column_stack(
            [np.asarray(lon) * k * np.cos(np.radians(self._lat0)), np.asarray(lat) * k]
        )

    # -- snapping ------------------------------------------------------------
    def _edge_index(self) -> _EdgeIndex:
        """One line per street (one of the two directed edges of a two-way street)."""
        if self._edges is None:
            ids = np.arange(self.n_edges)
            canon = np.flatnonzero((self._rev < 0) | (ids < self._rev))
            counts = np.diff(self.geom_offsets)
            owner = np.repeat(ids, counts)
            keep = np.isin(owner, canon)
            xy = self._xy(self.geom_lon[keep], self.geom_lat[keep])
            lines = shapely.linestrings(xy, indices=np.searchsorted(canon, owner[keep]))
            main = np.zeros(self._n, dtype=bool)
            main[self._main] = True
            self._edges = _EdgeIndex(
                canon,
                lines,
                shapely.STRtree(lines),
                main[self.edge_u[canon]] & main[self.edge_v[canon]],
                self._weak_size[self.edge_u[canon]],
            )
        return self._edges

    def snap(self, lon, lat, *, slack_m: float = _SNAP_SLACK_M, avoid=None) -> Places:
        """Attach points to the nearest point of a street edge.

        Candidates are the edges of the "main" part of each land-connected
        piece of road (its largest strongly connected part) at most `slack_m`
        farther than the nearest edge; the one on the largest piece wins, then
        the nearest. An edge of a one-way fragment, a port spur or a pedestrian
        enclave could otherwise be impossible to leave or to reach. The default
        slack is small enough that a point does not jump across a channel to
        another island.

        `avoid` (one list of (lon, lat) per point) is used for boat terminals:
        a candidate must be nearer to the terminal than to any terminal across
        the water, so that a generous slack never picks the opposite shore.

        Returns `Places` with ``edge`` (the edge), ``along`` (fraction of its
        length from ``edge_u``), ``access_m`` (metres from the point to the
        edge) and ``anchor`` (the edge's node nearer along it, for callers
        that need one node).
        """
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        n = len(lon)
        anchor = np.full(n, -1, dtype=np.int64)
        access = np.zeros(n)
        edge = np.full(n, -1, dtype=np.int64)
        along = np.zeros(n)
        reasons = [""] * n
        if self._tree is None or not n or not self.n_edges:
            return Places(lon, lat, anchor, access, ("red vacía",) * n, edge, along)
        index = self._edge_index()
        xy = self._xy(lon, lat)
        points = shapely.points(xy)
        (_, near), dist0 = index.tree.query_nearest(points, return_distance=True, all_matches=False)
        choice = near.copy()
        top = index.weak_size.max()
        # a point whose nearest edge is main and on the largest piece keeps it
        need = np.flatnonzero(
            ~(index.main[near] & (index.weak_size[near] == top)) | (avoid is not None)
        )
        need = need[dist0[need] <= self.max_snap_m]
        if len(need):
            which, cand = index.tree.query(
                points[need], predicate="dwithin", distance=dist0[need] + slack_m
            )
            starts = np.searchsorted(which, np.arange(len(need) + 1))
            for k, i in enumerate(need):
                edges = cand[starts[k] : starts[k + 1]]
                edges = edges[index.main[edges]]
                if not len(edges):
                    continue
                d = shapely.distance(index.lines[edges], points[i])
                if avoid is not None and len(avoid[i]):
                    others = shapely.points(self._xy(*np.asarray(avoid[i], dtype=float).T))
                    across = shapely.distance(index.lines[edges][:, None], others[None, :]).min(
                        axis=1
                    )
                    keep = d < across
                    edges, d = edges[keep], d[keep]
                    if not len(edges):
                        continue
                order = np.lexsort((d, -index.weak_size[edges]))
                choice[i] = edges[order[0]]
        lines = index.lines[choice]
        position = shapely.line_locate_point(lines, points)
        length = shapely.length(lines)
        fraction = np.where(length > 0, position / np.where(length > 0, length, 1.0), 0.0)
        fraction = np.clip(fraction, 0.0, 1.0)
        gap = shapely.distance(lines, points)
        for i in range(n):
            if gap[i] > self.max_snap_m:
                reasons[i] = (
                    f"el punto está a {gap[i] / 1000:.1f} km del camino más cercano "
                    f"(máximo {self.max_snap_m / 1000:.1f} km)"
                )
                continue
            e = int(index.canon[choice[i]])
            edge[i] = e
            along[i] = fraction[i]
            access[i] = gap[i]
            anchor[i] = self.edge_u[e] if fraction[i] < 0.5 else self.edge_v[e]
        return Places(lon, lat, anchor, access, tuple(reasons), edge, along)

    def _ends(self, places: Places, layer: str, *, leaving: bool):
        """Nodes by which each snapped point is left (`leaving`) or reached, and the seconds.

        Returns (nodes, seconds), both ``(len(places), 2)``: the two nodes of a
        point's edge with the time along the edge between the projection and
        that node (``inf`` when the edge cannot be driven that way) plus the
        time between the point and the edge. A point attached to a node only
        has that node twice.
        """
        access = self._access_s(places.access_m, layer)
        nodes = np.repeat(places.anchor[:, None], 2, axis=1)
        seconds = np.repeat(access[:, None], 2, axis=1)
        if places.edge is None:
            return nodes, seconds
        on = np.flatnonzero(places.edge >= 0)
        e, t = places.edge[on], places.along[on]
        u, v = self.edge_u[e], self.edge_v[e]
        nodes[on, 0], nodes[on, 1] = u, v
        if layer == "walk":
            full = self.edge_length_m[e] / (self.walk_kmh / 3.6)
            to_u, to_v = t * full, (1 - t) * full
        else:
            forward = self.edge_drive_s[e]
            r = self._rev[e]
            back = np.where(r >= 0, self.edge_drive_s[np.maximum(r, 0)], np.inf)
            one_way = ~np.isfinite(back)
            # a point at a node (t = 0 or 1) is at that node whatever the edge's direction
            back_t = np.where(one_way & (t > 0), np.inf, t * np.where(one_way, 0.0, back))
            back_rest = np.where(one_way & (t < 1), np.inf, (1 - t) * np.where(one_way, 0.0, back))
            if leaving:  # forward to v; back to u only if the street is two-way
                to_u, to_v = back_t, (1 - t) * forward
            else:  # reached from u along the edge, from v only against its drawing
                to_u, to_v = t * forward, back_rest
        seconds[on, 0] += to_u
        seconds[on, 1] += to_v
        return nodes, seconds

    def _same_edge(self, src: Places, dst: Places, layer: str):
        """Pairs of points on one edge and the time along it: (src index, dst index, seconds).

        Identical points take 0 s.
        """
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        if src.edge is None or dst.edge is None:
            return empty
        s_edge = np.where(src.ok, src.edge, -1)
        d_edge = np.where(dst.ok, dst.edge, -2)
        order = np.argsort(d_edge, kind="stable")
        sorted_edges = d_edge[order]
        lo = np.searchsorted(sorted_edges, s_edge, side="left")
        hi = np.searchsorted(sorted_edges, s_edge, side="right")
        count = np.where(s_edge >= 0, hi - lo, 0)
        if not count.sum():
            return empty
        i = np.repeat(np.arange(len(src)), count)
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        j = order[np.repeat(lo, count) + offset]
        e = s_edge[i]
        ts, td = src.along[i], dst.along[j]
        if layer == "walk":
            along = np.abs(td - ts) * self.edge_length_m[e] / (self.walk_kmh / 3.6)
        else:
            r = self._rev[e]
            forward = np.where(td >= ts, (td - ts) * self.edge_drive_s[e], np.inf)
            back = np.where(
                (r >= 0) & (td <= ts), (ts - td) * self.edge_drive_s[np.maximum(r, 0)], np.inf
            )
            along = np.minimum(forward, back)
        seconds = (
            along + self._access_s(src.access_m[i], layer) + self._access_s(dst.access_m[j], layer)
        )
        same = (src.lon[i] == dst.lon[j]) & (src.lat[i] == dst.lat[j])
        seconds[same] = 0.0
        return i, j, seconds

    def _access_s(self, access_m: np.ndarray, layer: str) -> np.ndarray:
        speed = self.access_kmh if layer == "drive" else self.walk_kmh
        return access_m / (speed / 3.6)

    # -- times ---------------------------------------------------------------
    def times(self, src: Places, dst: Places, layer: str) -> np.ndarray:
        """Return the |src| x |dst| matrix of static travel seconds (inf: unreachable)."""
        out = np.full((len(src), len(dst)), np.inf)
        s_ok = np.flatnonzero(src.ok)
        d_ok = np.flatnonzero(dst.ok)
        if not len(s_ok) or not len(d_ok):
            return out
        a, b = src.take(s_ok), dst.take(d_ok)
        s_nodes, s_sec = self._ends(a, layer, leaving=True)
        d_nodes, d_sec = self._ends(b, layer, leaving=False)
        # one search per distinct way of leaving (points at one place share it)
        s_rows, s_inv = np.unique(np.column_stack([s_nodes, s_sec]), axis=0, return_inverse=True)
        d_rows, d_inv = np.unique(np.column_stack([d_nodes, d_sec]), axis=0, return_inverse=True)
        g = self._layers[layer]
        core = many_to_many_ends(
            g.indptr, g.indices, g.weights,
            s_rows[:, :2].astype(np.int64), np.ascontiguousarray(s_rows[:, 2:]),
            d_rows[:, :2].astype(np.int64), np.ascontiguousarray(d_rows[:, 2:]),
            g.leaf,
        )  # fmt: skip
        block = core[s_inv.ravel()][:, d_inv.ravel()]
        i, j, direct = self._same_edge(a, b, layer)
        if len(i):
            block[i, j] = np.minimum(block[i, j], direct)
        out[np.ix_(s_ok, d_ok)] = block
        return out

    def _block(self, a: Places, b: Places, layer: str):
        """Seconds between snapped points, and how: (seconds, exit column, entry column).

        A column is -1 where the pair is joined along their common edge.
        """
        s_nodes_2, s_sec = self._ends(a, layer, leaving=True)
        d_nodes_2, d_sec = self._ends(b, layer, leaving=False)
        s_nodes, s_inv = np.unique(s_nodes_2, return_inverse=True)
        d_nodes, d_inv = np.unique(d_nodes_2, return_inverse=True)
        s_inv, d_inv = s_inv.reshape(-1, 2), d_inv.reshape(-1, 2)
        g = self._layers[layer]
        core = many_to_many(g.indptr, g.indices, g.weights, s_nodes, d_nodes, g.leaf)
        best = np.full((len(a), len(b)), np.inf)
        exit_col = np.zeros(best.shape, dtype=np.int8)
        entry_col = np.zeros(best.shape, dtype=np.int8)
        twin_s = (s_nodes_2[:, 0] == s_nodes_2[:, 1]).all() and (s_sec[:, 0] == s_sec[:, 1]).all()
        twin_d = (d_nodes_2[:, 0] == d_nodes_2[:, 1]).all() and (d_sec[:, 0] == d_sec[:, 1]).all()
        for x in (0,) if twin_s else (0, 1):
            rows = core[s_inv[:, x]]
            for y in (0,) if twin_d else (0, 1):
                cand = s_sec[:, x, None] + rows[:, d_inv[:, y]] + d_sec[None, :, y]
                better = cand < best
                best[better] = cand[better]
                exit_col[better] = x
                entry_col[better] = y
        i, j, direct = self._same_edge(a, b, layer)
        if len(i):
            better = direct <= best[i, j]
            i, j = i[better], j[better]
            best[i, j] = direct[better]
            exit_col[i, j] = -1
            entry_col[i, j] = -1
        return best, exit_col, entry_col

    def path(self, src: Places, dst: Places, layer: str):
        """Return (coordinates, metres, seconds) of the fastest path between two snapped points.

        The seconds are those `times` gives for the same pair.
        """
        a, b = src.take([0]), dst.take([0])
        best, exit_col, entry_col = self._block(a, b, layer)
        seconds = float(best[0, 0])
        if not np.isfinite(seconds):
            return [], float("nan"), float("inf")
        start = (float(a.lon[0]), float(a.lat[0]))
        end = (float(b.lon[0]), float(b.lat[0]))
        metres = float(a.access_m[0] + b.access_m[0])
        if exit_col[0, 0] < 0:  # along their common edge
            if start == end:
                return [start, end], 0.0, 0.0
            part, along_m = self._piece(int(a.edge[0]), float(a.along[0]), float(b.along[0]))
            return [start, *part, end], metres + along_m, seconds
        s_nodes, _ = self._ends(a, layer, leaving=True)
        d_nodes, _ = self._ends(b, layer, leaving=False)
        x, y = int(exit_col[0, 0]), int(entry_col[0, 0])
        s, d = int(s_nodes[0, x]), int(d_nodes[0, y])
        g = self._layers[layer]
        _core, pred = path_to(g.indptr, g.indices, g.weights, s, d, g.leaf)
        nodes = [d]
        while nodes[-1] != s:
            nodes.append(int(pred[nodes[-1]]))
            if nodes[-1] < 0:
                return [], float("nan"), float("inf")
        nodes.reverse()
        coords = [start]
        if a.edge is not None and a.edge[0] >= 0:
            part, along_m = self._piece(int(a.edge[0]), float(a.along[0]), float(x))
            coords.extend(part)
            metres += along_m
        else:
            coords.append((float(self.node_lon[s]), float(self.node_lat[s])))
        for u, v in itertools.pairwise(nodes):
            e = g.edge_between(u, v)
            metres += float(self.edge_length_m[e])
            part = slice(self.geom_offsets[e], self.geom_offsets[e + 1])
            lons, lats = self.geom_lon[part], self.geom_lat[part]
            if self.edge_u[e] != u:  # walking an edge against its drawing direction
                lons, lats = lons[::-1], lats[::-1]
            coords.extend(zip(lons.tolist(), lats.tolist(), strict=True))
        if b.edge is not None and b.edge[0] >= 0:
            part, along_m = self._piece(int(b.edge[0]), float(y), float(b.along[0]))
            coords.extend(part)
            metres += along_m
        coords.append(end)
        return coords, metres, seconds

    def _piece(self, e: int, t0: float, t1: float):
        """Coordinates (lon, lat) of edge `e` from fraction `t0` to `t1` (reversed if t1 < t0)."""
        part = slice(self.geom_offsets[e], self.geom_offsets[e + 1])
        line = shapely.linestrings(self._xy(self.geom_lon[part], self.geom_lat[part]))
        lo, hi = sorted((t0, t1))
        if hi - lo <= 1e-12:
            xy = shapely.get_coordinates(shapely.line_interpolate_point(line, lo, normalized=True))
        else:
            xy = shapely.get_coordinates(substring(line, lo, hi, normalized=True))
        if t1 < t0:
            xy = xy[::-1]
        lonlat = shapely.get_coordinates(self._to_lonlat(shapely.multipoints(xy)))
        return [tuple(c) for c in lonlat.tolist()], abs(t1 - t0) * float(self.edge_length_m[e])

    def reach(self, seeds: Places, seed_s: np.ndarray, budget_s: float, layer: str):
        """Return the area (shapely, WGS84) reachable within `budget_s` from seeds.

        Each seed is reached at `seed_s` seconds; the shape is a concave hull of
        the nodes reached, buffered by the distance walkable in the time left
        (at most 300 m), so that it is an approximation of the reachable area.
        """
        g = self._layers[layer]
        parts = []
        nodes, leave_s = self._ends(seeds, layer, leaving=True)
        for i in np.flatnonzero(seeds.ok & np.isfinite(seed_s) & (seed_s <= budget_s)):
            reached = []
            for x in (0, 1):
                start = float(seed_s[i] + leave_s[i, x])
                if start > budget_s:
                    continue
                dist, _ = single_source(
                    g.indptr, g.indices, g.weights, int(nodes[i, x]), start, budget_s
                )
                reached.append(np.flatnonzero(np.isfinite(dist)))
            if not reached:
                continue
            reached = np.unique(np.concatenate(reached))
            xy = self._xy(self.node_lon[reached], self.node_lat[reached])
            if len(xy) >= 3:
                hull = shapely.concave_hull(shapely.multipoints(xy), ratio=0.15)
            else:
                hull = shapely.multipoints(xy)
            parts.append(hull.buffer(300.0))
        if not parts:
            return shapely.Polygon()
        return self._to_lonlat(shapely.union_all(parts))

    def _to_lonlat(self, geom):
        k = np.pi / 180 * 6_371_008.8
        cos0 = np.cos(np.radians(self._lat0))
        return shapely.transform(
            geom, lambda xy: np.column_stack([xy[:, 0] / (k * cos0), xy[:, 1] / k])
        )

    # -- persistence ---------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Return the arrays to store (see `from_arrays`)."""
        arrays = {f"street_{name}": getattr(self, name) for name in _ARRAY_FIELDS}
        arrays["street_meta"] = np.array(
            json.dumps(
                {
                    "format": FORMAT_VERSION,
                    "walk_kmh": self.walk_kmh,
                    "access_kmh": self.access_kmh,
                    "max_snap_m": self.max_snap_m,
                }
            )
        )
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> StreetNetwork:
        """Rebuild a network saved with `to_arrays` (e.g. from ``numpy.load``)."""
        meta = json.loads(str(arrays["street_meta"]))
        if meta.get("format") != FORMAT_VERSION:
            msg = "La red guardada tiene un formato antiguo; vuelva a construirla."
            raise ValueError(msg)
        values = {name: np.asarray(arrays[f"street_{name}"]) for name in _ARRAY_FIELDS}
        return cls(
            **values,
            walk_kmh=meta["walk_kmh"],
            access_kmh=meta["access_kmh"],
            max_snap_m=meta["max_snap_m"],
        )

    def save(self, path: Path) -> None:
        """Save to a ``.npz`` file."""
        np.savez_compressed(path, **self.to_arrays())


@dataclass(frozen=True)
class _EdgeIndex:
    """Snapping index: one line (local metres) per street, and facts of each."""

    canon: np.ndarray  # edge position of each line
    lines: np.ndarray  # shapely LineStrings
    tree: shapely.STRtree
    main: np.ndarray  # both nodes in the main part of their piece of road
    weak_size: np.ndarray  # nodes of the land-connected piece of road


def _reverse_edges(u: np.ndarray, v: np.ndarray, length: np.ndarray) -> np.ndarray:
    """For each directed edge, the edge drawn the other way along the same street (-1: none).

    A two-way street is two directed edges v->u and u->v of equal length.
    """
    n = len(u)
    if not n:
        return np.full(0, -1, dtype=np.int64)
    key = np.round(np.asarray(length, dtype=float), 1)
    rows = np.concatenate([np.column_stack([u, v, key]), np.column_stack([v, u, key])])
    _, ids = np.unique(rows, axis=0, return_inverse=True)
    ids = ids.ravel()
    edge_of = np.full(ids.max() + 1, -1, dtype=np.int64)
    edge_of[ids[:n]] = np.arange(n)
    rev = edge_of[ids[n:]]
    rev[rev == np.arange(n)] = -1
    return rev


@dataclass(frozen=True)
class _Layer:
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    edge_ids: np.ndarray
    leaf: np.ndarray  # nodes with a single neighbour, in or out (dead ends)

    def edge_between(self, a: int, b: int) -> int:
        lo, hi = self.indptr[a], self.indptr[a + 1]
        hit = np.flatnonzero(self.indices[lo:hi] == b)
        return int(self.edge_ids[lo + hit[0]])


def _csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int, edge_ids: np.ndarray) -> _Layer:
    """CSR of the fastest edge between each ordered pair, remembering which edge it was."""
    order = np.lexsort((w, v, u))
    u, v, w, edge_ids = u[order], v[order], w[order], edge_ids[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    keep = first & (u != v)
    u, v, w, edge_ids = u[keep], v[keep], w[keep], edge_ids[keep]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, u + 1, 1)
    indptr = np.cumsum(indptr)
    pairs = np.unique(np.concatenate([u * n + v, v * n + u]))
    leaf = np.bincount(pairs // n, minlength=n) == 1
    return _Layer(
        indptr.astype(np.int64),
        v.astype(np.int64),
        w.astype(np.float64),
        edge_ids.astype(np.int64),
        leaf,
    )
