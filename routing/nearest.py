"""Time to the nearest facility for many origins at once, boats included.

Roads are static and only boats depend on the clock, so a journey from an
origin ``o`` to a facility ``f`` leaving at ``t0`` takes (`TravelModel` uses the
same decomposition)::

    T(o, f) = min( S(o, f),  min over terminal k, layer L of  alight(o, k, L) + S_L(k, f) )

where ``S`` is the static road time and ``alight(o, k, L)`` the earliest time
``o`` can step off a boat at terminal ``k`` on layer ``L`` (vehicle or on foot).

**Boats, once per departure time** (`_sailings`): every departure within the
horizon, grouped by the terminal it leaves from and sorted by time, gets the
earliest stepping-off time at every terminal and layer for a traveller who
boards it (or a later one from there), further boats included. A backward pass
over the departures, latest first, computes it: a boat arrives after it leaves,
so what follows a departure only depends on later ones. The rules are those of
`TravelModel._search` (boarding margin, FIFO arrivals per link, a
passenger-only boat leaves the vehicle behind, road times between terminals).
An origin then only looks up, at each terminal, the first departure it can
catch (``numpy.searchsorted``): no per-origin boat search.

**Static part, once per facility set**: one multi-source Dijkstra from all the
facilities on the reversed road graph of the starting layer gives
``min_f S(o, f)`` at every origin and ``D(k) = min_f S(k, f)`` at every
terminal. A boat from terminal k cannot arrive before ``margin + crossing``
after reaching k, so the search towards each terminal stops where that head
start already loses to the nearest facility by road, which on most networks
leaves very little to search. When a passenger-only boat can leave a driver on
foot, the walk times ``D_walk(k)`` from those terminals come from searches
aimed at each terminal (A* with the straight distance as the lower bound,
`_toward`), only as far as they can still improve some origin: a search from
all the facilities would cover most of the island to reach one remote pier.
On a network without a graph (such as `ApproximateNetwork`) the static times
come from dense matrices. The result
equals the old per-origin relaxation exactly and, to rounding, the minimum
over a forward per-origin search to every facility (tests and
``bench/coverage.py`` check both).

The compiled multi-source Dijkstra is ours (numba) rather than
``scipy.sparse.csgraph.dijkstra(min_only=True)``: scipy does not break ties by
the lowest facility index, and with a labelling pass added to do so it measured
1.5-2 times slower on the Malta network.

Ties between equally near facilities go to the lowest facility index, in the
graph search and when terminals are combined, so the same input always gives
the same answer.

The network is read through two small adapters, `_reverse_graph` (CSR arrays of
a layer, reversed) and `_attachments` (graph node and seconds to reach it of
each point); a change in how points are attached to a street network is made
there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routing._dijkstra import _pop
from routing._dijkstra import _queue
from routing._geo import LAYERS
from routing._geo import Places

__all__ = ["Nearest", "NearestSearch", "pair_times", "static_nearest", "static_times"]

DRIVE, WALK = 0, 1


@dataclass(frozen=True)
class Nearest:
    """Nearest facility of one set for every origin.

    Attributes
    ----------
    travel_time_s
        Door-to-door seconds, boat waits included; ``inf`` when no facility is
        reached within the horizon.
    facility
        Index (into the facilities given) of the nearest one; -1 when none.
    """

    travel_time_s: np.ndarray
    facility: np.ndarray


# -- network adapters ------------------------------------------------------------
def _has_graph(network) -> bool:
    return hasattr(network, "_layers")


def _reverse_graph(network, layer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (indptr, indices, weights) of `layer` with every edge reversed.

    The edges into each node keep the order of their tails (a stable sort).
    """
    g = network._layers[layer]
    n = len(g.indptr) - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr))
    indptr, order = _group(np.asarray(g.indices, dtype=np.int64), n)
    return indptr, tails[order], g.weights[order].astype(np.float64)


@njit(cache=True)
def _group(keys, n):
    """Stable counting sort of `keys` (ints in ``0..n-1``): CSR ``(ptr, order)``.

    ``order[ptr[k]:ptr[k + 1]]`` are the positions holding ``k``, ascending;
    ``order`` equals ``numpy.argsort(keys, kind="stable")``.
    """
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        ptr[keys[i] + 1] += 1
    for k in range(n):
        ptr[k + 1] += ptr[k]
    fill = ptr[:-1].copy()
    order = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        order[fill[keys[i]]] = i
        fill[keys[i]] += 1
    return ptr, order


def _attachments(
    network, places: Places, layer: str, *, leaving: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Graph nodes by which each point is left (`leaving`) or reached, and the seconds.

    Both ``(len(places), 2)``: a point snapped onto an edge is left or reached
    by either node of its edge, the time along the edge counted (``inf`` for a
    direction the edge cannot be driven); see `StreetNetwork._ends`.
    """
    return network._ends(places, layer, leaving=leaving)


def _node_xy(network) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates in metres, (x, y): an equirectangular projection about the centre.

    Any projection serves `_lower_bound_scale`, which measures the graph's
    own edges in it; centred so short edges keep their digits.
    """
    lon, lat = np.asarray(network.node_lon, float), np.asarray(network.node_lat, float)
    if not len(lon):
        return lon, lat
    k = np.pi / 180 * 6_371_008.8
    lon0, lat0 = float(lon.mean()), float(lat.mean())
    return (lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k


def _lower_bound_scale(graph, x: np.ndarray, y: np.ndarray) -> float:
    """Seconds per metre of straight distance that no path of `graph` beats.

    The least ratio of an edge's seconds to the straight distance between its
    nodes, a millionth less for rounding: by the triangle inequality no path
    between two nodes takes less than that times their straight distance.
    0 (no bound) on a graph with no edge of positive length.
    """
    indptr, indices, weights = graph
    tails = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    d = np.hypot(x[tails] - x[indices], y[tails] - y[indices])
    long = d > 0
    if not long.any():
        return 0.0
    return float(max(0.0, (weights[long] / d[long]).min()) * (1 - 1e-6))


def _via_nodes(nodes: np.ndarray, seconds: np.ndarray, dist: np.ndarray, label=None):
    """Best of a point's two nodes: seconds (and label, lowest on ties) per point."""
    cand = seconds + dist[nodes]
    if label is None:
        return np.minimum(cand[:, 0], cand[:, 1]), None
    labels = label[nodes]
    second = (cand[:, 1] < cand[:, 0]) | (
        (cand[:, 1] == cand[:, 0])
        & (labels[:, 1] >= 0)
        & ((labels[:, 0] < 0) | (labels[:, 1] < labels[:, 0]))
    )
    pick = second.astype(np.int64)
    rows = np.arange(len(nodes))
    return cand[rows, pick], labels[rows, pick]


@njit(cache=True)
def _multi_source(  # noqa: C901
    indptr, indices, weights, seed_node, seed_s, seed_label, stop, bound
):
    """Dijkstra from many labelled seeds: (seconds, label of the nearest seed) per node.

    A tie keeps the lowest label, so each node gets the lowest-labelled seed
    among those at exactly its distance. When `stop` (bool per node) marks any
    node, the search ends once all of them are settled and every node left
    unsettled gets ``inf`` and -1; with no node marked it runs to the end.
    A node settled later than ``bound[v]`` seconds is not expanded (nodes
    reached only through it keep a time too long, or ``inf``). Also returns
    the settled nodes in the order settled.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    hkey = np.empty(n)
    hnode = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)  # heap slot; -1 never queued, -2 settled
    for i in range(seed_node.shape[0]):
        v = seed_node[i]
        if seed_s[i] < dist[v] or (seed_s[i] == dist[v] and seed_label[i] < label[v]):
            dist[v] = seed_s[i]
            label[v] = seed_label[i]
    size = 0
    for v in range(n):
        if label[v] >= 0:
            _heap_up(hkey, hnode, pos, size, dist[v], v)
            size += 1
    remaining = stop.sum()
    early = remaining > 0
    done = np.empty(n, dtype=np.int64)
    count = 0
    while size > 0:
        u = hnode[0]
        size -= 1
        if size > 0:
            _heap_down(hkey, hnode, pos, size)
        pos[u] = -2
        done[count] = u
        count += 1
        if stop[u]:
            remaining -= 1
            if remaining == 0:
                break
        du = dist[u]
        if du > bound[u]:
            continue
        lu = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            pv = pos[v]
            if pv == -2:
                continue
            nd = du + weights[e]
            if nd < dist[v] or (nd == dist[v] and lu < label[v]):
                dist[v] = nd
                label[v] = lu
                if pv < 0:
                    _heap_up(hkey, hnode, pos, size, nd, v)
                    size += 1
                else:
                    _heap_up(hkey, hnode, pos, pv, nd, v)
    if early:
        for v in range(n):
            if pos[v] != -2:
                dist[v] = np.inf
                label[v] = -1
    return dist, label, done[:count]


@njit(cache=True, inline="always")
def _heap_up(hkey, hnode, pos, i, key, node):
    """Put `node` with `key` at slot `i` of a 4-ary heap (keys beside the nodes), sift up."""
    while i > 0:
        parent = (i - 1) >> 2
        if hkey[parent] <= key:
            break
        hkey[i] = hkey[parent]
        hnode[i] = hnode[parent]
        pos[hnode[i]] = i
        i = parent
    hkey[i] = key
    hnode[i] = node
    pos[node] = i


@njit(cache=True, inline="always")
def _heap_down(hkey, hnode, pos, size):
    """Move the last entry (slot `size`) to the root, which was just taken, and sift it down."""
    key = hkey[size]
    node = hnode[size]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        child = first
        ck = hkey[first]
        last = min(first + 4, size)
        for k in range(first + 1, last):
            if hkey[k] < ck:
                child = k
                ck = hkey[k]
        if key <= ck:
            break
        hkey[i] = ck
        hnode[i] = hnode[child]
        pos[hnode[i]] = i
        i = child
    hkey[i] = key
    hnode[i] = node
    pos[node] = i


@njit(cache=True)
def _toward(  # noqa: C901
    indptr, indices, weights, seed_node, seed_s, seed_label, x, y, scale, goal_node, goal_s,
    limit, work_s, work_label, work_key, pos, heap, touched,
):  # fmt: skip
    """Multi-source search from labelled seeds aimed at one point (A*); its two nodes' times.

    The point is reached by ``goal_node[i]`` plus ``goal_s[i]`` seconds (see
    `_attachments`). Nodes are taken in order of time plus a lower bound of
    the time left, ``scale`` x the straight distance in (`x`, `y`) to a goal
    node plus its seconds (`_lower_bound_scale` makes it a true lower bound),
    so only nodes that can lie on a path to the point are searched. A node
    whose time (or label, lowest on equal times) improves after being taken is
    queued again, so the times are the minima over paths exactly as in
    `_multi_source` (same sums, same ties), not an approximation. The search
    stops once no path can reach the point within ``limit`` or tie with the
    best found. Returns ``(seconds, label)`` at the two goal nodes, never
    shorter than the truth; the better of the two (``seconds + goal_s``,
    lowest label on ties, as `_via_nodes` reads them) is exact where it is
    within ``limit``.

    The ``work_*``, `pos`, `heap` and `touched` arrays (one entry per node,
    ``inf``/-1 initially) are a workspace shared between calls and left as
    found.
    """
    size = 0
    count = 0
    best = np.inf
    for i in range(seed_node.shape[0]):
        v = seed_node[i]
        s = seed_s[i]
        if s < work_s[v] or (s == work_s[v] and seed_label[i] < work_label[v]):
            if work_label[v] < 0:
                touched[count] = v
                count += 1
            work_s[v] = s
            work_label[v] = seed_label[i]
    for i in range(count):
        v = touched[i]
        work_key[v] = work_s[v] + _remaining(v, x, y, scale, goal_node, goal_s)
        size = _queue(work_key, heap, pos, size, v)
    for j in range(2):
        if work_s[goal_node[j]] + goal_s[j] < best:
            best = work_s[goal_node[j]] + goal_s[j]
    while size > 0:
        stop = min(limit, best * (1 + 1e-9) + 1e-6)
        if work_key[heap[0]] > stop:
            break
        u, size = _pop(work_key, heap, pos, size)
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = work_s[u] + weights[e]
            if nd < work_s[v] or (nd == work_s[v] and work_label[u] < work_label[v]):
                if work_label[v] < 0:
                    touched[count] = v
                    count += 1
                work_s[v] = nd
                work_label[v] = work_label[u]
                work_key[v] = nd + _remaining(v, x, y, scale, goal_node, goal_s)
                size = _queue(work_key, heap, pos, size, v)
                for j in range(2):
                    if v == goal_node[j] and nd + goal_s[j] < best:
                        best = nd + goal_s[j]
    out_s = np.empty(2)
    out_label = np.empty(2, dtype=np.int64)
    for j in range(2):
        out_s[j] = work_s[goal_node[j]]
        out_label[j] = work_label[goal_node[j]]
    for i in range(count):
        v = touched[i]
        work_s[v] = np.inf
        work_label[v] = -1
        work_key[v] = np.inf
    for i in range(size):
        pos[heap[i]] = -1
    return out_s, out_label


@njit(cache=True, inline="always")
def _remaining(v, x, y, scale, goal_node, goal_s):
    """Lower bound of the seconds from node `v` to the point `_toward` aims at."""
    low = np.inf
    for j in range(2):
        g = goal_node[j]
        t = scale * np.sqrt((x[v] - x[g]) ** 2 + (y[v] - y[g]) ** 2) + goal_s[j]
        if t < low:
            low = t
    return low


@dataclass(frozen=True)
class _Attached:
    """Snapped points as a graph search reads them (see `_attachments`).

    ``rows``: positions of the snapped points in the `Places` given; ``places``:
    those points; ``node`` and ``seconds``: ``(len(rows), 2)``, the nodes by
    which each point is left (or reached) and the seconds to or from them.
    """

    rows: np.ndarray
    places: Places
    node: np.ndarray
    seconds: np.ndarray
    _by_node: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def by_node(self, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """Points attached to each graph node, as CSR ``(ptr, points)`` (positions into ``rows``).

        A point attached twice to one node is listed once.
        """
        if "ptr" not in self._by_node:
            node = self.node.copy()
            node[node[:, 1] == node[:, 0], 1] = -1  # one node twice: list the point once
            flat = node.ravel()
            keep = np.flatnonzero(flat >= 0)
            ptr, order = _group(flat[keep], n_nodes)
            self._by_node["ptr"], self._by_node["points"] = ptr, keep[order] // 2
        return self._by_node["ptr"], self._by_node["points"]


def _same_edge(network, at: _Attached, others: Places, layer: str):
    """``network._same_edge(at.places, others, layer)``, asked only about the points concerned.

    The attached points are many (every origin) and `others` few: the points
    on an edge one of `others` is on are found first (their edges sorted once
    per `_Attached`), and only those are handed to the network. Pairs come in
    another order, which no caller depends on.
    """
    if at.places.edge is None or others.edge is None or not len(at.rows):
        return network._same_edge(at.places, others, layer)
    if "edge_order" not in at._by_node:
        order = np.argsort(at.places.edge, kind="stable")
        at._by_node["edge_order"], at._by_node["edges"] = order, at.places.edge[order]
    order, edges = at._by_node["edge_order"], at._by_node["edges"]
    wanted = np.unique(others.edge[others.ok & (others.edge >= 0)])
    lo = np.searchsorted(edges, wanted, side="left")
    hi = np.searchsorted(edges, wanted, side="right")
    count = hi - lo
    picks = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
    some = np.sort(order[picks])
    i, j, seconds = network._same_edge(at.places.take(some), others, layer)
    return some[i], j, seconds


def _attach(network, points: Places, layer: str, *, leaving: bool) -> _Attached:
    rows = np.flatnonzero(points.ok)
    subset = points if len(rows) == len(points) else points.take(rows)
    node, seconds = _attachments(network, subset, layer, leaving=leaving)
    return _Attached(rows, subset, node, seconds)


@dataclass(frozen=True)
class _Field:
    """Seconds from every graph node to its nearest facility and that facility's index."""

    dist: np.ndarray
    label: np.ndarray
    facilities: _Attached


def _field(
    network, facilities: Places, layer: str, graph, stop_nodes=None, limit: float = np.inf
) -> _Field:
    """One multi-source search from `facilities` on the reversed `graph` of `layer`.

    `stop_nodes` (optional) are the only nodes whose times are wanted: the
    search stops once they are settled. Times above `limit` are not exact
    (too long, or ``inf``).
    """
    fac = _attach(network, facilities, layer, leaving=False)
    indptr, indices, weights = graph
    n = len(indptr) - 1
    stop = np.zeros(n, dtype=np.bool_)
    if stop_nodes is not None:
        stop[np.asarray(stop_nodes, dtype=np.int64).ravel()] = True
    usable = np.isfinite(fac.seconds.ravel())
    dist, label, _ = _multi_source(
        indptr, indices, weights, fac.node.ravel()[usable], fac.seconds.ravel()[usable],
        np.repeat(fac.rows, 2)[usable], stop, np.full(n, float(limit)),
    )  # fmt: skip
    return _Field(dist, label, fac)


def _read(network, points: Places, at: _Attached, field: _Field, layer: str):
    """Seconds to the nearest facility of `field` and its index, for each of `points`.

    ``inf`` and -1 where none is reached; points and facilities on one edge
    are also joined along it (lowest index on ties).
    """
    seconds = np.full(len(points), np.inf)
    index = np.full(len(points), -1, dtype=np.int64)
    if not len(at.rows) or not len(field.facilities.rows):
        return seconds, index
    best, best_label = _via_nodes(at.node, at.seconds, field.dist, field.label)
    best_label = np.where(np.isfinite(best), best_label, -1)
    fac_rows = field.facilities.rows
    i, j, direct = _same_edge(network, at, field.facilities.places, layer)
    for a, b, t in zip(i.tolist(), j.tolist(), direct.tolist(), strict=True):
        f = int(fac_rows[b])
        if t < best[a] or (t == best[a] and (best_label[a] < 0 or f < best_label[a])):
            best[a], best_label[a] = t, f
    seconds[at.rows] = best
    index[at.rows] = best_label
    return seconds, index


def static_nearest(
    network, points: Places, facilities: Places, layer: str, *, graph=None
) -> tuple[np.ndarray, np.ndarray]:
    """Return static seconds from each point to its nearest facility, and its index.

    Parameters
    ----------
    network
        A `StreetNetwork` (searched as a graph) or any network with ``times``.
    points, facilities
        Snapped points; facilities that are not snapped are never nearest.
    layer
        ``"drive"`` or ``"walk"``.
    graph
        The reversed CSR of `layer` when already built (see `_reverse_graph`).

    Returns
    -------
    (seconds, index)
        Arrays of ``len(points)``; ``inf`` and -1 where no facility is reached.
    """
    if not _has_graph(network):
        seconds = np.full(len(points), np.inf)
        index = np.full(len(points), -1, dtype=np.int64)
        fac_ok = np.flatnonzero(facilities.ok)
        pts_ok = np.flatnonzero(points.ok)
        if not len(fac_ok) or not len(pts_ok):
            return seconds, index
        times = network.times(points.take(pts_ok), facilities.take(fac_ok), layer)
        best = np.argmin(times, axis=1)  # first index among equal times
        seconds[pts_ok] = times[np.arange(len(pts_ok)), best]
        index[pts_ok] = np.where(np.isfinite(seconds[pts_ok]), fac_ok[best], -1)
        return seconds, index
    graph = graph if graph is not None else _reverse_graph(network, layer)
    field = _field(network, facilities, layer, graph)
    return _read(network, points, _attach(network, points, layer, leaving=True), field, layer)


def static_times(network, points: Places, targets: Places, layer: str, *, graph=None) -> np.ndarray:
    """Return static seconds from many points to a few targets (points x targets).

    On a street network this runs one full search per distinct target on the
    reversed graph, which beats one search per point when targets are few
    (boat terminals).
    """
    if not _has_graph(network):
        return network.times(points, targets, layer)
    graph = graph if graph is not None else _reverse_graph(network, layer)
    return _times_to(network, _attach(network, points, layer, leaving=True), len(points),
                     targets, layer, graph)  # fmt: skip


def _times_to(network, at: _Attached, n_points: int, targets: Places, layer: str, graph,
              budget=None, head_start=None, direct=None):  # fmt: skip
    """Seconds from the attached points to each target (points x targets).

    With `budget` (seconds per graph node) and `head_start` (seconds per
    target), the search towards target ``j`` does not go past a node ``v`` whose
    time to it exceeds ``budget[v] - head_start[j]``: points behind such nodes
    get a time that is too long (or ``inf``), which is harmless when the caller
    only wants times that beat the budget (see `NearestSearch._static_parts`);
    a target with an infinite head start (no boat leaves from it) is not searched.
    `direct` is ``network._same_edge(at.places, targets, layer)`` when known.
    """
    out = np.full((n_points, len(targets)), np.inf)
    if not len(at.rows):
        return out
    indptr, indices, weights = graph
    t_node, t_s = _attachments(network, targets, layer, leaving=False)
    ok = np.flatnonzero(targets.ok)
    # targets attached the same way (two terminals on one pier) share one search
    seeds, column = np.unique(np.column_stack([t_node[ok], t_s[ok]]), axis=0, return_inverse=True)
    column = column.ravel()
    head = np.full(len(seeds), -np.inf)  # -inf: no bound
    if budget is not None:
        for s in range(len(seeds)):
            # inf: no boat leaves from there, nobody needs the time to it
            head[s] = head_start[ok[column == s]].min()
    point_ptr, point_of = at.by_node(len(indptr) - 1)
    order = np.argsort(column, kind="stable")
    _searches_to(
        indptr, indices, weights, seeds[:, :2].astype(np.int64), seeds[:, 2:], head,
        np.zeros(0) if budget is None else budget, point_ptr, point_of, at.node, at.seconds,
        at.rows, ok[order], np.searchsorted(column[order], np.arange(len(seeds) + 1)), out,
    )  # fmt: skip
    i, j, direct = direct if direct is not None else _same_edge(network, at, targets, layer)
    rows = at.rows[i]
    out[rows, j] = np.minimum(out[rows, j], direct)
    return out


@njit(cache=True)
def _searches_to(  # noqa: C901
    indptr, indices, weights, seed_node, seed_s, head, budget, point_ptr, point_of,
    at_node, at_seconds, at_rows, columns, column_ptr, out,
):  # fmt: skip
    """One search per seed (a target's two nodes and seconds) on a reversed graph.

    Writes into `out` (points x targets) the seconds from each attached point
    (`at_node`, `at_seconds`, both ``(points, 2)``; row ``at_rows[p]``) to the
    targets of each seed (``columns[column_ptr[s]:column_ptr[s + 1]]``),
    through the better of its two nodes, for the points attached to a node
    reached; the others are left as they are. A node settled later than
    ``budget[v] - head[s]`` is not expanded (``head`` ``-inf``: no bound;
    ``inf``: the seed is not searched). `point_ptr` and `point_of` list the
    points attached to each node (`_Attached.by_node`).
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    settled = np.zeros(n, dtype=np.bool_)
    heap = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    done = np.empty(n, dtype=np.int64)
    for s in range(seed_node.shape[0]):
        if head[s] == np.inf:
            continue
        bounded = head[s] > -np.inf
        size = 0
        for k in range(2):
            v = seed_node[s, k]
            if seed_s[s, k] < dist[v]:
                dist[v] = seed_s[s, k]
                size = _queue(dist, heap, pos, size, v)
        count = 0
        while size > 0:
            u, size = _pop(dist, heap, pos, size)
            settled[u] = True
            done[count] = u
            count += 1
            if bounded and dist[u] > budget[u] - head[s]:
                continue
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if settled[v]:
                    continue
                nd = dist[u] + weights[e]
                if nd < dist[v]:
                    dist[v] = nd
                    size = _queue(dist, heap, pos, size, v)
        for c in range(count):
            u = done[c]
            for q in range(point_ptr[u], point_ptr[u + 1]):
                p = point_of[q]
                first = at_seconds[p, 0] + dist[at_node[p, 0]]
                second = at_seconds[p, 1] + dist[at_node[p, 1]]
                for j in range(column_ptr[s], column_ptr[s + 1]):
                    out[at_rows[p], columns[j]] = second if second < first else first
        for c in range(count):
            dist[done[c]] = np.inf
            settled[done[c]] = False


@dataclass(frozen=True)
class _Sailings:
    """Boat departures within the horizon, grouped by the terminal they leave from.

    Rows ``first[k]`` to ``last[k] - 1`` are the departures from terminal ``k``
    in time order (``dep``, seconds after the departure time asked); row
    ``last[k]`` stands for "no boat left" (``dep`` ``inf``). ``alight[r, board]``,
    shape ``(layer, terminal)``, is the earliest time (seconds after the
    departure asked) a traveller stepping off at each terminal and layer, for
    one who boards on layer ``board`` the departure of row ``r`` or any later one
    from the same terminal, further boats included.
    """

    first: np.ndarray
    last: np.ndarray
    dep: np.ndarray
    alight: np.ndarray
    margin_s: float

    def row(self, k: int, ready_s: np.ndarray) -> np.ndarray:
        """First row of terminal `k` a traveller standing there at `ready_s` can board.

        ``inf`` (never there) gives the "no boat left" row.
        """
        segment = self.dep[self.first[k] : self.last[k] + 1]
        return self.first[k] + np.searchsorted(segment, ready_s + self.margin_s)

    @property
    def boarded(self) -> np.ndarray:
        """Terminals with at least one departure (the only ones worth boarding at)."""
        return np.flatnonzero(self.last > self.first)


def _sailings(model, depart_at, horizon_s) -> _Sailings:
    """Build the `_Sailings` of `model` leaving at `depart_at`.

    The same boat rules as `TravelModel._search` (departures at least
    ``boarding_margin_min`` after reaching the pier, FIFO arrivals per link,
    a passenger-only boat leaves the vehicle behind, road times between
    terminals), computed once per departure by a backward pass over the
    departures (latest first), so that every origin then only looks up the
    first departure it can catch at each terminal.
    """
    departures = model._departures(depart_at, horizon_s)
    n_term = len(model.terminals)
    parts: list[list[tuple]] = [[] for _ in range(n_term)]
    for link, (dep, best, _rows) in zip(model.links, departures, strict=True):
        n = len(dep)
        parts[link.from_terminal].append(
            (dep, best, np.full(n, link.to_terminal), np.full(n, link.passengers_only))
        )
    first = np.zeros(n_term, dtype=np.int64)
    last = np.zeros(n_term, dtype=np.int64)
    columns: list[list[np.ndarray]] = [[], [], [], []]
    size = 0
    for k, links in enumerate(parts):
        cols = [np.concatenate([p[c] for p in links]) if links else np.zeros(0) for c in range(4)]
        order = np.argsort(cols[0], kind="stable")
        sentinel = (np.inf, np.inf, -1, False)
        for c in range(4):
            columns[c].append(np.append(cols[c][order], sentinel[c]))
        first[k] = size
        last[k] = size + len(order)
        size = last[k] + 1
    dep, arrive = np.concatenate(columns[0]), np.concatenate(columns[1])
    to_term = np.concatenate(columns[2]).astype(np.int64)
    walk_only = np.concatenate(columns[3]).astype(np.bool_)
    tt = np.stack([model._terminal_times(DRIVE), model._terminal_times(WALK)])
    margin = model.boarding_margin_min * 60.0
    alight = _sailing_table(first, last, dep, arrive, to_term, walk_only, tt, margin)
    return _Sailings(first, last, dep, alight, margin)


@njit(cache=True)
def _sailing_table(first, last, dep, arrive, to_term, walk_only, tt, margin):  # noqa: C901
    """`_Sailings.alight` by a backward pass over the departures (latest first).

    A departure's row depends only on departures that leave strictly later
    (the boat arrives after it leaves), which are done by then; each row ends
    as the elementwise minimum with the next row of its terminal (a later
    departure may be taken instead).
    """
    n_rows = dep.shape[0]
    n_term = first.shape[0]
    table = np.full((n_rows, 2, 2, n_term), np.inf)
    order = np.argsort(dep, kind="mergesort")  # equal times keep row order
    for pos in range(n_rows - 1, -1, -1):
        r = order[pos]
        b = to_term[r]
        if b < 0:
            continue  # "no boat left"
        a = arrive[r]
        for board in range(2):
            off = 1 if walk_only[r] else board
            out = table[r, board]
            out[off, b] = a
            for k in range(n_term):
                t = tt[off, b, k]
                if first[k] == last[k] or t == np.inf:
                    continue
                i = first[k] + np.searchsorted(dep[first[k] : last[k] + 1], a + t + margin)
                later = table[i, off]
                for layer in range(2):
                    for j in range(n_term):
                        if later[layer, j] < out[layer, j]:
                            out[layer, j] = later[layer, j]
        following = table[r + 1]
        for board in range(2):
            for layer in range(2):
                for j in range(n_term):
                    if following[board, layer, j] < table[r, board, layer, j]:
                        table[r, board, layer, j] = following[board, layer, j]
    return table


_NONE = np.iinfo(np.int64).max  # "no facility" while taking minima of (time, index)


def _improve(best, which, board, alight, term_s, term_idx) -> None:
    """Lower `best`/`which` (in place) with the boats: step off, then to the nearest facility.

    `board` maps a terminal to (origins, the first departure row each can
    board there); `alight` is (row, terminal) stepping-off seconds on one layer
    and `term_s`/`term_idx` the static nearest facility from each terminal on
    that layer. Ties keep the lowest facility index.
    """
    cand = alight + term_s[None, :]
    row_s, row_idx = _lowest(cand, np.broadcast_to(term_idx, cand.shape), 1)
    for there, rows in board.values():
        got_s, got_idx = row_s[rows], row_idx[rows]
        now_s, now_idx = best[there], which[there]
        better = (got_s < now_s) | ((got_s == now_s) & (got_idx < now_idx))
        best[there[better]] = got_s[better]
        which[there[better]] = got_idx[better]


def _useful_limits(best, board, alight) -> np.ndarray:
    """Longest time from each terminal to a facility that could still improve some origin.

    An origin that steps off at terminal x at ``alight`` only gains from a
    facility less than ``best - alight`` away from x; the limit of x is the
    largest such gap (a little over it, so rounding never cuts off a tie),
    ``-inf`` when no origin steps off at x on this layer.
    """
    limits = np.full(alight.shape[1], -np.inf)
    for there, rows in board.values():
        off = alight[rows]
        stepped = np.isfinite(off)
        gap = np.where(stepped, best[there][:, None] - np.where(stepped, off, 0.0), -np.inf)
        if gap.size:
            np.maximum(limits, gap.max(axis=0), out=limits)
    return np.where(np.isfinite(limits), limits * (1 + 1e-9) + 1e-6, limits)


def _lowest(seconds: np.ndarray, index: np.ndarray, axis: int):
    """Minimum time along `axis` and the lowest index among those at that time."""
    low = seconds.min(axis=axis)
    tied = seconds == np.expand_dims(low, axis)
    return low, np.where(tied, index, _NONE).min(axis=axis)


class NearestSearch:
    """Nearest facility of any number of sets for a fixed list of origins.

    The boats are worked out once per departure time (`_sailings`); each
    facility set costs one multi-source search from its facilities on the
    starting layer (read at the origins and at the terminals), when a
    passenger-only boat can leave a driver on foot one search on the walk
    layer stopped at the terminals, and one search per boat terminal towards
    it that stops where the terminal cannot beat the nearest facility by road
    (`_static_parts`). See the module docstring.

    Parameters
    ----------
    model
        A `routing.model.TravelModel`.
    origins
        Snapped origins (``model.snap``).
    on_foot
        Start without a vehicle (walk layer), else by vehicle.
    """

    def __init__(self, model, origins: Places, *, on_foot: bool = False) -> None:
        self.model = model
        self.origins = origins
        self.start = WALK if on_foot else DRIVE
        net = model.network
        start = LAYERS[self.start]
        # layers a traveller can step off a boat on: a walker never gets a vehicle
        walk_boats = any(link.passengers_only for link in model.links)
        self._off_layers = (WALK,) if on_foot else ((DRIVE, WALK) if walk_boats else (DRIVE,))
        # a boat from terminal k arrives at least this long after reaching k
        self._head_start = np.full(len(model.terminals), np.inf)
        for link in model.links:
            crossing = min(s.crossing_min for s in link.services) * 60.0
            k = link.from_terminal
            margin = model.boarding_margin_min * 60.0
            self._head_start[k] = min(self._head_start[k], margin + crossing)
        self._graphs: dict[str, tuple] = {}
        self._at: dict[object, _Attached] = {}
        if _has_graph(net):
            self._graphs = {LAYERS[layer]: _reverse_graph(net, LAYERS[layer]) for layer in
                            {self.start, *self._off_layers}}  # fmt: skip
            self._at["origins"] = _attach(net, origins, start, leaving=True)
            for layer in self._off_layers:
                self._at[layer] = _attach(net, model.terminals, LAYERS[layer], leaving=True)
        self._full: np.ndarray | None = None
        self._sail: dict[tuple, _Sailings] = {}
        self._static: dict[object, tuple] = {}
        self._walked: dict[object, tuple] = {}
        self._lands: np.ndarray | None = None
        self._work: dict | None = None
        self._direct: tuple | None = None  # origins and terminals on one edge

    def _to_terminals(self, budget=None) -> np.ndarray:
        """Seconds from every origin to every terminal on the starting layer.

        With `budget` (the start-layer seconds to the nearest facility per graph
        node) a terminal's time is exact only where it can beat the budget.
        """
        net = self.model.network
        start = LAYERS[self.start]
        if budget is None and self._full is not None:
            return self._full
        if self._graphs:
            at = self._at["origins"]
            if self._direct is None:
                self._direct = _same_edge(net, at, self.model.terminals, start)
            times = _times_to(
                net, at, len(self.origins), self.model.terminals, start, self._graphs[start],
                budget, self._head_start, self._direct,
            )  # fmt: skip
        else:
            times = static_times(net, self.origins, self.model.terminals, start)
        if budget is None:
            self._full = times
        return times

    def sailings(self, depart_at: dt.datetime, horizon_s: float) -> _Sailings:
        """Return the boat part leaving at `depart_at` (cached)."""
        key = (depart_at, horizon_s)
        if key not in self._sail:
            if len(self._sail) > 16:
                self._sail.clear()
            self._sail[key] = _sailings(self.model, depart_at, horizon_s)
        return self._sail[key]

    def alight(self, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        """Return the earliest seconds stepping off a boat, shape (layer, origin, terminal)."""
        sail = self.sailings(depart_at, horizon_s)
        to_terminals = self._to_terminals()
        out = np.full((len(self.origins), 2, len(self.model.terminals)), np.inf)
        for k in sail.boarded:
            np.minimum(out, sail.alight[sail.row(k, to_terminals[:, k]), self.start], out=out)
        return out.transpose(1, 0, 2)

    def _static_parts(self, facilities: Places, key) -> tuple:
        """Return the static nearest of `facilities` from the origins and the terminals.

        Returns ``((seconds, index), (seconds, index), to_terminals)``: the
        origins' arrays; the terminals' arrays of shape (layer, terminal),
        ``inf`` and ``_NONE`` on a layer no boat leaves a traveller on (and, on
        a street network, on the walk layer of a driver: `_walk_from_terminals`); the
        origins' seconds to each terminal where a boat from it could beat the
        nearest facility by road (a boat from terminal k arrives at least
        ``_head_start[k]`` after reaching it, so only those are needed).
        """
        cache_key = key if key is not None else id(facilities)
        if key is not None and cache_key in self._static:
            return self._static[cache_key]
        net = self.model.network
        terminals = self.model.terminals
        n_term = len(terminals)
        term_s = np.full((2, n_term), np.inf)
        term_idx = np.full((2, n_term), _NONE, dtype=np.int64)
        start = LAYERS[self.start]
        if self._graphs:
            field = _field(net, facilities, start, self._graphs[start])
            origin_part = _read(net, self.origins, self._at["origins"], field, start)
            # a little over the road time, so rounding never cuts off a boat that ties it
            budget = field.dist * (1 + 1e-9) + 1e-6
            to_terminals = self._to_terminals(budget) if n_term else None
        else:
            origin_part = static_nearest(net, self.origins, facilities, start)
            to_terminals = self._to_terminals() if n_term else None
        for layer in self._off_layers if n_term else ():
            name = LAYERS[layer]
            if not self._graphs:
                found = static_nearest(net, terminals, facilities, name)
            elif layer == self.start:
                found = _read(net, terminals, self._at[layer], field, name)
            else:
                continue  # on foot after a driver's lancha: `_walk_from_terminals`, as needed
            term_s[layer] = found[0]
            term_idx[layer] = np.where(found[1] >= 0, found[1], _NONE)
        parts = (origin_part, (term_s, term_idx), to_terminals)
        if key is not None:
            self._static[cache_key] = parts
        return parts

    def nearest(
        self, facilities: Places, depart_at: dt.datetime, horizon_s: float, *, key=None
    ) -> Nearest:
        """Return the nearest of `facilities` for every origin leaving at `depart_at`.

        `horizon_s` caps the journey (seconds after `depart_at`); `key` (any
        hashable naming the set) lets the static part be reused across departures.
        Ties between equally near facilities go to the lowest index.
        """
        (seconds, index), (term_s, term_idx), to_terminals = self._static_parts(facilities, key)
        best = seconds.copy()
        which = np.where(index >= 0, index, _NONE)
        if len(self.model.terminals) and len(self.origins):
            sail = self.sailings(depart_at, horizon_s)
            board = {}  # terminal -> (origins that reach it in time to matter, first row)
            for k in sail.boarded:
                there = np.flatnonzero(to_terminals[:, k] < np.inf)
                board[k] = (there, sail.row(k, to_terminals[there, k]))
            for layer in self._off_layers:
                alight = sail.alight[:, self.start, layer]
                if self._graphs and layer != self.start:
                    self._walk_from_terminals(facilities, key, best, which, board, alight)
                else:
                    _improve(best, which, board, alight, term_s[layer], term_idx[layer])
        late = ~(best <= horizon_s)
        best[late] = np.inf
        which[late | (which == _NONE)] = -1
        return Nearest(best, which)

    def _walk_from_terminals(self, facilities, key, best, which, board, alight) -> None:
        """Improve `best`/`which` with the origins that step off a boat on foot as drivers.

        Needs the walk seconds ``D(x)`` from terminal x to the nearest facility,
        but only where some origin could still gain: below ``best - alight``
        (`_useful_limits`). For each terminal that matters, one search from
        the facilities on the walk layer aimed at it (`_toward`: A* with the
        straight distance as the lower bound, so it only looks between the
        facilities and that terminal) gives ``D(x)`` exactly where it is within
        the limit and proves it longer elsewhere; a terminal whose origins have
        nothing reached yet has no limit and is searched until ``D(x)`` is
        found. The improvement is applied, and the search is repeated only for
        terminals whose limit is still beyond what is known (a later departure
        of the same set). Terminals on land no facility is on are never
        searched. What is known is kept per set.
        """
        n_term = alight.shape[1]
        cache_key = key if key is not None else id(facilities)
        state = self._walked.get(cache_key) if key is not None else None
        if state is None:
            # seconds to the nearest facility on foot (inf: unknown or none), known up to
            state = {"s": np.full(n_term, np.inf), "idx": np.full(n_term, _NONE, np.int64),
                     "known": np.full(n_term, -np.inf), "fac": None}  # fmt: skip
            if key is not None:
                self._walked[cache_key] = state
        net = self.model.network
        at = self._at[WALK]
        if state["fac"] is None:
            fac = _attach(net, facilities, "walk", leaving=False)
            lands = self._walk_land()
            state["fac"] = np.isin(lands[at.node], lands[fac.node]).any(axis=1)
        _improve(best, which, board, alight, state["s"], state["idx"])
        for _ in range(n_term + 1):
            limits = _useful_limits(best, board, alight)
            need = state["fac"] & (limits > 0) & (limits > state["known"])
            if not need.any():
                return
            found_s, found_idx, searched = self._walk_toward(facilities, need, limits)
            exact = need & (found_s <= searched)
            state["s"][exact] = found_s[exact]
            state["idx"][exact] = np.where(found_idx[exact] >= 0, found_idx[exact], _NONE)
            state["known"][need] = np.maximum(state["known"][need], searched[need])
            _improve(best, which, board, alight, state["s"], state["idx"])

    def _walk_toward(self, facilities, need, limits):
        """Walk seconds from the `need` terminals to the nearest facility, one aimed search each.

        Terminals attached the same way share one `_toward` search up to the
        largest of their `limits`. Returns ``(seconds, index, searched)`` per
        terminal (as `_read`): exact where ``seconds <= searched``, the limit
        each terminal was searched to (``-inf`` where not searched).
        """
        net = self.model.network
        at = self._at[WALK]
        indptr, indices, weights = self._graphs["walk"]
        fac = _attach(net, facilities, "walk", leaving=False)
        usable = np.isfinite(fac.seconds.ravel())
        seed_node = fac.node.ravel()[usable]
        seed_s = fac.seconds.ravel()[usable]
        seed_label = np.repeat(fac.rows, 2)[usable]
        work = self._walk_work()
        n = len(indptr) - 1
        dist, label = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        searched = np.full(len(need), -np.inf)
        rows = np.flatnonzero(need)
        ends = np.column_stack([at.node[rows], at.seconds[rows]])
        _, group = np.unique(ends, axis=0, return_inverse=True)
        for g in np.unique(group.ravel()):
            same = rows[group.ravel() == g]
            limit = float(limits[same].max())
            searched[same] = limit
            got_s, got_label = _toward(
                indptr, indices, weights, seed_node, seed_s, seed_label, work["x"], work["y"],
                work["scale"], at.node[same[0]], at.seconds[same[0]], limit, *work["arrays"],
            )  # fmt: skip
            for node, s, lab in zip(at.node[same[0]].tolist(), got_s.tolist(), got_label.tolist(),
                                    strict=True):  # fmt: skip
                if s < dist[node] or (s == dist[node] and 0 <= lab < label[node]):
                    dist[node], label[node] = s, lab
        found_s, found_idx = _read(net, self.model.terminals, at, _Field(dist, label, fac), "walk")
        return found_s, found_idx, searched

    def _walk_work(self) -> dict:
        """Node coordinates, the lower-bound scale and the workspace of `_toward` (walk layer)."""
        if self._work is None:
            graph = self._graphs["walk"]
            x, y = _node_xy(self.model.network)
            n = len(graph[0]) - 1
            arrays = (np.full(n, np.inf), np.full(n, -1, dtype=np.int64), np.full(n, np.inf),
                      np.full(n, -1, dtype=np.int64), np.empty(n, dtype=np.int64),
                      np.empty(n, dtype=np.int64))  # fmt: skip
            self._work = {"x": x, "y": y, "scale": _lower_bound_scale(graph, x, y),
                          "arrays": arrays}  # fmt: skip
        return self._work

    def _walk_land(self) -> np.ndarray:
        """Return the connected piece of the walk graph of every node (computed once)."""
        if self._lands is None:
            indptr, indices, weights = self._graphs["walk"]
            n = len(indptr) - 1
            graph = csr_matrix((weights, indices, indptr), shape=(n, n))
            self._lands = connected_components(graph, directed=True, connection="weak")[1]
        return self._lands

    def to_each(self, facilities: Places, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        """Return seconds from every origin to each facility (origins x facilities), inf beyond."""
        net = self.model.network
        start = LAYERS[self.start]
        if self._graphs:
            out = _times_to(net, self._at["origins"], len(self.origins), facilities, start,
                            self._graphs[start])  # fmt: skip
        else:
            out = static_times(net, self.origins, facilities, start)
        if len(self.model.terminals) and len(self.origins):
            alight = self.alight(depart_at, horizon_s)
            for layer in self._off_layers:
                name = LAYERS[layer]
                from_terms = static_times(
                    net, self.model.terminals, facilities, name, graph=self._graphs.get(name)
                )
                reached = np.flatnonzero(np.isfinite(alight[layer]).any(axis=0))
                for k in reached:
                    np.minimum(out, alight[layer][:, k, None] + from_terms[k][None, :], out=out)
        out[~(out <= horizon_s)] = np.inf
        return out


def pair_times(
    model,
    a: Places,
    b: Places,
    start_s: np.ndarray,
    depart_at: dt.datetime,
    horizon_s: float,
    *,
    start_layer: np.ndarray,
    pickup: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the arrival of many independent trips ``a[i] -> b[i]``, each at its own time.

    Trip ``i`` leaves ``start_s[i]`` seconds after `depart_at` on layer
    ``start_layer[i]`` (0 vehicle, 1 on foot); `pickup` (``trips x terminals``,
    optional) marks the piers where trip ``i`` finds its vehicle waiting.
    Trips are grouped by layer and pickup pattern and each group runs one boat
    search, vectorised over its trips.

    Returns
    -------
    (arrive_s, arrive_layer)
        Arrival seconds after `depart_at` (``inf`` beyond `horizon_s`) and the
        layer of the last road leg (-1 when not reached).
    """
    n = len(a)
    arrive = np.full(n, np.inf)
    layer_out = np.full(n, -1, dtype=np.int64)
    if not n:
        return arrive, layer_out
    net = model.network
    ua, ia = np.unique(np.column_stack([a.lon, a.lat]), axis=0, return_inverse=True)
    ub, ib = np.unique(np.column_stack([b.lon, b.lat]), axis=0, return_inverse=True)
    ia, ib = ia.ravel(), ib.ravel()
    pa = a.take(_first_index(ia, len(ua)))
    pb = b.take(_first_index(ib, len(ub)))
    from_terms = [net.times(model.terminals, pb, LAYERS[layer]) for layer in (DRIVE, WALK)]
    pickup_key = (
        np.zeros(n, dtype=np.int64)
        if pickup is None
        else np.unique(pickup, axis=0, return_inverse=True)[1].ravel() + 1
    )
    for layer in (DRIVE, WALK):
        direct_all = net.times(pa, pb, LAYERS[layer])
        to_terms = net.times(pa, model.terminals, LAYERS[layer])
        for group in np.unique(pickup_key[start_layer == layer]):
            rows = np.flatnonzero((start_layer == layer) & (pickup_key == group))
            direct = start_s[rows] + direct_all[ia[rows], ib[rows]]
            best = direct.copy()
            last = np.full(len(rows), layer, dtype=np.int64)
            ready = start_s[rows, None] + to_terms[ia[rows]]
            mask = None if pickup is None else pickup[rows[0]]
            search = model._search(ready, layer, depart_at, horizon_s, mask)
            for off in (DRIVE, WALK):
                cand = search.alight[off] + from_terms[off][:, ib[rows]].T
                low = cand.min(axis=1)
                better = low < best
                best[better] = low[better]
                last[better] = off
            arrive[rows] = best
            layer_out[rows] = np.where(np.isfinite(best), last, -1)
    late = ~(arrive <= horizon_s)
    arrive[late] = np.inf
    layer_out[late] = -1
    return arrive, layer_out


def _first_index(inverse: np.ndarray, n_unique: int) -> np.ndarray:
    first = np.full(n_unique, -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return first
