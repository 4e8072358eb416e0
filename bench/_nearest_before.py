"""The nearest-service search as it was before the boats' backward pass (bench only).

Kept for `bench/coverage.py` to print the speed-up over it in the same run;
nothing else imports it. Copied from ``routing/nearest.py`` at commit 778288c
(the compiled multi-source Dijkstra, the per-origin boat relaxation `_relax`),
reusing the helpers that did not change from `routing.nearest`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

from routing._dijkstra import _pop
from routing._dijkstra import _queue
from routing._dijkstra import single_source
from routing._geo import LAYERS
from routing._geo import Places
from routing.nearest import DRIVE
from routing.nearest import WALK
from routing.nearest import Nearest
from routing.nearest import _attachments
from routing.nearest import _has_graph
from routing.nearest import _reverse_graph
from routing.nearest import _via_nodes

__all__ = ["NearestSearchBefore"]


@njit(cache=True)
def _multi_source(indptr, indices, weights, seed_node, seed_s, seed_label):
    """Dijkstra from many labelled seeds: (seconds, label of the nearest seed) per node.

    A tie keeps the lowest label, so each node gets the lowest-labelled seed
    among those at exactly its distance.
    """
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
    for i in range(seed_node.shape[0]):
        v = seed_node[i]
        if seed_s[i] < dist[v] or (seed_s[i] == dist[v] and seed_label[i] < label[v]):
            dist[v] = seed_s[i]
            label[v] = seed_label[i]
    heap = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    size = 0
    for v in range(n):
        if label[v] >= 0:
            size = _queue(dist, heap, pos, size, v)
    while size > 0:
        u, size = _pop(dist, heap, pos, size)
        settled[u] = True
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if settled[v]:
                continue
            nd = dist[u] + weights[e]
            if nd < dist[v] or (nd == dist[v] and label[u] < label[v]):
                dist[v] = nd
                label[v] = label[u]
                size = _queue(dist, heap, pos, size, v)
    return dist, label


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
    seconds = np.full(len(points), np.inf)
    index = np.full(len(points), -1, dtype=np.int64)
    fac_ok = np.flatnonzero(facilities.ok)
    pts_ok = np.flatnonzero(points.ok)
    if not len(fac_ok) or not len(pts_ok):
        return seconds, index
    if not _has_graph(network):
        times = network.times(points.take(pts_ok), facilities.take(fac_ok), layer)
        best = np.argmin(times, axis=1)  # first index among equal times
        seconds[pts_ok] = times[np.arange(len(pts_ok)), best]
        index[pts_ok] = np.where(np.isfinite(seconds[pts_ok]), fac_ok[best], -1)
        return seconds, index
    indptr, indices, weights = graph if graph is not None else _reverse_graph(network, layer)
    fac = facilities.take(fac_ok)
    fac_node, fac_s = _attachments(network, fac, layer, leaving=False)
    usable = np.isfinite(fac_s.ravel())
    dist, label = _multi_source(
        indptr, indices, weights, fac_node.ravel()[usable], fac_s.ravel()[usable],
        np.repeat(fac_ok, 2)[usable],
    )  # fmt: skip
    pts = points.take(pts_ok)
    node, leave_s = _attachments(network, pts, layer, leaving=True)
    best, best_label = _via_nodes(node, leave_s, dist, label)
    best_label = np.where(np.isfinite(best), best_label, -1)
    # points and facilities on one edge are also joined along it
    i, j, direct = network._same_edge(pts, fac, layer)
    for a, b, t in zip(i.tolist(), j.tolist(), direct.tolist(), strict=True):
        f = int(fac_ok[b])
        if t < best[a] or (t == best[a] and (best_label[a] < 0 or f < best_label[a])):
            best[a], best_label[a] = t, f
    seconds[pts_ok] = best
    index[pts_ok] = best_label
    return seconds, index


def static_times(network, points: Places, targets: Places, layer: str, *, graph=None) -> np.ndarray:
    """Return static seconds from many points to a few targets (points x targets).

    On a street network this runs one full search per target on the reversed
    graph, which beats one search per point when targets are few (boat terminals).
    """
    if not _has_graph(network):
        return network.times(points, targets, layer)
    out = np.full((len(points), len(targets)), np.inf)
    pts_ok = np.flatnonzero(points.ok)
    if not len(pts_ok):
        return out
    indptr, indices, weights = graph if graph is not None else _reverse_graph(network, layer)
    pts = points.take(pts_ok)
    node, leave_s = _attachments(network, pts, layer, leaving=True)
    t_node, t_s = _attachments(network, targets, layer, leaving=False)
    for j in np.flatnonzero(targets.ok):
        usable = np.isfinite(t_s[j])
        if usable.all() and t_node[j, 0] == t_node[j, 1] and t_s[j, 0] == t_s[j, 1]:
            dist, _ = single_source(
                indptr, indices, weights, int(t_node[j, 0]), float(t_s[j, 0]), np.inf
            )
        else:
            dist, _ = _multi_source(
                indptr, indices, weights, t_node[j][usable], t_s[j][usable],
                np.zeros(int(usable.sum()), dtype=np.int64),
            )  # fmt: skip
        out[pts_ok, j] = _via_nodes(node, leave_s, dist)[0]
    i, j, direct = network._same_edge(pts, targets, layer)
    rows = pts_ok[i]
    out[rows, j] = np.minimum(out[rows, j], direct)
    return out


class NearestSearchBefore:
    """Nearest facility of any number of sets for a fixed list of origins.

    The static part (origins to boat terminals) is computed once; the boat search
    once per departure time; each facility set costs one multi-source search per
    layer. See the module docstring.

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
        self._graphs = (
            {layer: _reverse_graph(net, layer) for layer in LAYERS} if _has_graph(net) else {}
        )
        start = LAYERS[self.start]
        self._to_terminals = static_times(
            net, origins, model.terminals, start, graph=self._graphs.get(start)
        )
        self._alight: dict[tuple, np.ndarray] = {}
        self._static: dict[object, tuple] = {}

    def alight(self, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        """Return the earliest seconds stepping off a boat, shape (layer, origin, terminal)."""
        key = (depart_at, horizon_s)
        if key not in self._alight:
            if len(self._alight) > 16:
                self._alight.clear()
            self._alight[key] = _boat_search(self.model, self._to_terminals, self.start,
                                             depart_at, horizon_s)  # fmt: skip
        return self._alight[key]

    def _static_parts(self, facilities: Places, key) -> tuple:
        cache_key = key if key is not None else id(facilities)
        if key is not None and cache_key in self._static:
            return self._static[cache_key]
        net = self.model.network
        start = LAYERS[self.start]
        origin_part = static_nearest(
            net, self.origins, facilities, start, graph=self._graphs.get(start)
        )
        terminal_part = [
            static_nearest(
                net, self.model.terminals, facilities, LAYERS[layer],
                graph=self._graphs.get(LAYERS[layer]),
            )
            for layer in (DRIVE, WALK)
        ]  # fmt: skip
        parts = (origin_part, terminal_part)
        if key is not None:
            self._static[cache_key] = parts
        return parts

    def nearest(
        self, facilities: Places, depart_at: dt.datetime, horizon_s: float, *, key=None
    ) -> Nearest:
        """Return the nearest of `facilities` for every origin leaving at `depart_at`.

        `horizon_s` caps the journey (seconds after `depart_at`); `key` (any
        hashable naming the set) lets the static part be reused across departures.
        """
        (seconds, index), terminal_part = self._static_parts(facilities, key)
        best = seconds.copy()
        which = index.copy()
        if len(self.model.terminals) and len(self.origins):
            alight = self.alight(depart_at, horizon_s)
            for layer in (DRIVE, WALK):
                d_s, d_idx = terminal_part[layer]
                cand = alight[layer] + d_s[None, :]
                low = cand.min(axis=1)
                label = np.where(cand == low[:, None], d_idx[None, :], np.iinfo(np.int64).max)
                label = label.min(axis=1)
                better = (low < best) | ((low == best) & np.isfinite(low) & (label < which))
                best[better] = low[better]
                which[better] = label[better]
        late = ~(best <= horizon_s)
        best[late] = np.inf
        which[late] = -1
        return Nearest(best, which)

    def to_each(self, facilities: Places, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        """Return seconds from every origin to each facility (origins x facilities), inf beyond."""
        net = self.model.network
        start = LAYERS[self.start]
        out = static_times(net, self.origins, facilities, start, graph=self._graphs.get(start))
        if len(self.model.terminals) and len(self.origins):
            alight = self.alight(depart_at, horizon_s)
            for layer in (DRIVE, WALK):
                name = LAYERS[layer]
                from_terms = static_times(
                    net, self.model.terminals, facilities, name, graph=self._graphs.get(name)
                )
                reached = np.flatnonzero(np.isfinite(alight[layer]).any(axis=0))
                for k in reached:
                    np.minimum(out, alight[layer][:, k, None] + from_terms[k][None, :], out=out)
        out[~(out <= horizon_s)] = np.inf
        return out


def _boat_search(model, to_terminals, start, depart_at, horizon_s) -> np.ndarray:
    """`TravelModel._search` compiled, one origin at a time: the ``alight`` array only.

    The same relaxation (boats FIFO by their best arrival from each departure on,
    then road times between terminals, until nothing improves), written as loops
    so that many origins (every node of a network) cost O(origins x terminals²).
    """
    departures = model._departures(depart_at, horizon_s)
    n_links = len(model.links)
    offsets = np.zeros(n_links + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(d[0]) for d in departures])
    dep = np.concatenate([d[0] for d in departures]) if n_links else np.zeros(0)
    best = np.concatenate([d[1] for d in departures]) if n_links else np.zeros(0)
    link_from = np.array([lk.from_terminal for lk in model.links], dtype=np.int64)
    link_to = np.array([lk.to_terminal for lk in model.links], dtype=np.int64)
    walk_only = np.array([lk.passengers_only for lk in model.links], dtype=np.bool_)
    tt = np.stack([model._terminal_times(DRIVE), model._terminal_times(WALK)])
    return _relax(
        np.ascontiguousarray(to_terminals, dtype=np.float64), start, dep.astype(np.float64),
        best.astype(np.float64), offsets, link_from, link_to, walk_only, tt,
        model.boarding_margin_min * 60.0,
    )  # fmt: skip


@njit(cache=True)
def _relax(to_terminals, start, dep, best, offsets, link_from, link_to, walk_only, tt, margin):  # noqa: C901
    n_orig, n_term = to_terminals.shape
    n_links = link_from.shape[0]
    alight = np.full((2, n_orig, n_term), np.inf)
    ready = np.full((2, n_term), np.inf)
    for i in range(n_orig):
        ready[:, :] = np.inf
        ready[start, :] = to_terminals[i]
        for _ in range(n_links + 1):
            changed = False
            for li in range(n_links):
                lo, hi = offsets[li], offsets[li + 1]
                if lo == hi:
                    continue
                for layer in range(2):
                    r = ready[layer, link_from[li]]
                    if r == np.inf:
                        continue
                    idx = lo + np.searchsorted(dep[lo:hi], r + margin)
                    if idx >= hi:
                        continue
                    to_layer = 1 if walk_only[li] else layer
                    if best[idx] < alight[to_layer, i, link_to[li]]:
                        alight[to_layer, i, link_to[li]] = best[idx]
                        changed = True
            if not changed:
                break
            for layer in range(2):
                for j in range(n_term):
                    a = alight[layer, i, j]
                    if a == np.inf:
                        continue
                    for k in range(n_term):
                        cand = a + tt[layer, j, k]
                        if cand < ready[layer, k]:
                            ready[layer, k] = cand
    return alight
