"""A street network in compact arrays: snapping, travel times, paths and reach.

`StreetNetwork` is the static (time-independent) part of an OpenStreetMap
travel model. It holds two layers on the same edges:

* ``drive``: directed, edge times from road class, surface and ``maxspeed``;
* ``walk``: both directions of every edge at walking speed (used after a
  passenger-only boat, or for a gestor without a vehicle).

A point is attached to a graph node (the nearest node of a large strongly
connected component among its close neighbours) and the straight line between
the point and that node is travelled at ``access_kmh`` by vehicle or at
walking speed on foot.
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

from routing._dijkstra import many_to_many
from routing._dijkstra import path_to
from routing._dijkstra import single_source
from routing._geo import Places
from routing._geo import haversine_m

__all__ = ["StreetNetwork"]

_SNAP_NEIGHBOURS = 32
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
        Points farther than this from any node are not snapped.
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
        self._main_tree = cKDTree(xy[self._main]) if n else None

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
    def snap(self, lon, lat, *, slack_m: float = _SNAP_SLACK_M, avoid=None) -> Places:
        """Attach points to nodes.

        Candidates are the "main" nodes (the largest strongly connected part of
        each land-connected piece of road) at most `slack_m` farther than the
        nearest node; the one on the largest piece wins, then the nearest.
        A node on a one-way fragment, a port spur or a pedestrian enclave could
        otherwise be impossible to leave or to reach. The default slack is small
        enough that a point does not jump across a channel to another island.

        `avoid` (one list of (lon, lat) per point) is used for boat terminals:
        a candidate must be nearer to the terminal than to any terminal across
        the water, so that a generous slack never picks the opposite shore.
        """
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        anchor = np.full(len(lon), -1, dtype=np.int64)
        access = np.zeros(len(lon))
        reasons = [""] * len(lon)
        if self._tree is None or not len(lon):
            return Places(lon, lat, anchor, access, ("red vacía",) * len(lon))
        xy = self._xy(lon, lat)
        dist0, node0 = self._tree.query(xy)
        k = min(_SNAP_NEIGHBOURS, len(self._main))
        for i in range(len(lon)):
            if dist0[i] > self.max_snap_m:
                reasons[i] = (
                    f"el punto está a {dist0[i] / 1000:.1f} km del camino más cercano "
                    f"(máximo {self.max_snap_m / 1000:.1f} km)"
                )
                continue
            anchor[i] = node0[i]
            near = self._main_tree.query_ball_point(xy[i], dist0[i] + slack_m)
            if len(near) > 4 * k:  # keep the k*4 nearest: enough to find the main piece
                d = np.hypot(*(self._main_tree.data[near] - xy[i]).T)
                near = np.asarray(near)[np.argsort(d)[: 4 * k]]
            nodes = self._main[np.asarray(near, dtype=np.int64)]
            if avoid is not None and len(nodes) and len(avoid[i]):
                others = self._xy(*np.asarray(avoid[i], dtype=float).T)
                node_xy = self._tree.data[nodes]
                own = np.hypot(*(node_xy - xy[i]).T)
                across = np.min(
                    np.hypot(
                        node_xy[:, None, 0] - others[None, :, 0],
                        node_xy[:, None, 1] - others[None, :, 1],
                    ),
                    axis=1,
                )
                nodes = nodes[own < across]
            if len(nodes):
                d = np.hypot(*(self._tree.data[nodes] - xy[i]).T)
                order = np.lexsort((d, -self._weak_size[nodes]))
                anchor[i] = nodes[order[0]]
            access[i] = float(
                haversine_m(lon[i], lat[i], self.node_lon[anchor[i]], self.node_lat[anchor[i]])
            )
        return Places(lon, lat, anchor, access, tuple(reasons))

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
        s_nodes, s_inv = np.unique(src.anchor[s_ok], return_inverse=True)
        d_nodes, d_inv = np.unique(dst.anchor[d_ok], return_inverse=True)
        g = self._layers[layer]
        core = many_to_many(g.indptr, g.indices, g.weights, s_nodes, d_nodes, g.leaf)
        block = core[s_inv][:, d_inv]
        block = block + self._access_s(src.access_m[s_ok], layer)[:, None]
        block = block + self._access_s(dst.access_m[d_ok], layer)[None, :]
        out[np.ix_(s_ok, d_ok)] = block
        return out

    def path(self, src: Places, dst: Places, layer: str):
        """Return (coordinates, metres, seconds) of the fastest path between two snapped points.

        The seconds are those `times` gives for the same pair (one search for both).
        """
        g = self._layers[layer]
        s, d = int(src.anchor[0]), int(dst.anchor[0])
        core, pred = path_to(g.indptr, g.indices, g.weights, s, d, g.leaf)
        seconds = (
            core
            + self._access_s(src.access_m[:1], layer)[0]
            + self._access_s(dst.access_m[:1], layer)[0]
        )
        nodes = [d]
        while nodes[-1] != s:
            nodes.append(int(pred[nodes[-1]]))
            if nodes[-1] < 0:
                return [], float("nan"), float("inf")
        nodes.reverse()
        coords = [(float(src.lon[0]), float(src.lat[0]))]
        metres = float(src.access_m[0] + dst.access_m[0])
        coords.append((float(self.node_lon[s]), float(self.node_lat[s])))
        for a, b in itertools.pairwise(nodes):
            edge = g.edge_between(a, b)
            metres += float(self.edge_length_m[edge])
            part = slice(self.geom_offsets[edge], self.geom_offsets[edge + 1])
            lons, lats = self.geom_lon[part], self.geom_lat[part]
            if self.edge_u[edge] != a:  # walking an edge against its drawing direction
                lons, lats = lons[::-1], lats[::-1]
            coords.extend(zip(lons.tolist(), lats.tolist(), strict=True))
        coords.append((float(dst.lon[0]), float(dst.lat[0])))
        return coords, metres, float(seconds)

    def reach(self, seeds: Places, seed_s: np.ndarray, budget_s: float, layer: str):
        """Return the area (shapely, WGS84) reachable within `budget_s` from seeds.

        Each seed is reached at `seed_s` seconds; the shape is a concave hull of
        the nodes reached, buffered by the distance walkable in the time left
        (at most 300 m), so that it is an approximation of the reachable area.
        """
        g = self._layers[layer]
        parts = []
        for i in np.flatnonzero(seeds.ok & np.isfinite(seed_s) & (seed_s <= budget_s)):
            start = float(seed_s[i] + self._access_s(seeds.access_m[i : i + 1], layer)[0])
            if start > budget_s:
                continue
            dist, _ = single_source(
                g.indptr, g.indices, g.weights, int(seeds.anchor[i]), start, budget_s
            )
            reached = np.flatnonzero(np.isfinite(dist))
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
