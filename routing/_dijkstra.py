"""Compiled shortest-path kernels on CSR graphs (numba).

Dijkstra with a 4-ary heap indexed by node (decrease-key, no stale entries).
``many_to_many`` runs one search per source in parallel (``prange``) and stops
each search once every target is settled, which on an island network saves most
of the work for sources on a small island. Weights are float64 seconds; unreachable is ``inf``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba import prange

__all__ = ["many_to_many", "many_to_many_ends", "path_to", "single_source"]


@njit(cache=True, nogil=True, inline="always")
def _sift_up(dist, heap, pos, i):
    node = heap[i]
    key = dist[node]
    while i > 0:
        parent = (i - 1) >> 2
        above = heap[parent]
        if dist[above] <= key:
            break
        heap[i] = above
        pos[above] = i
        i = parent
    heap[i] = node
    pos[node] = i


@njit(cache=True, nogil=True, inline="always")
def _sift_down(dist, heap, pos, size):
    node = heap[0]
    key = dist[node]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        child = first
        child_key = dist[heap[first]]
        for k in range(first + 1, min(first + 4, size)):
            if dist[heap[k]] < child_key:
                child = k
                child_key = dist[heap[k]]
        if key <= child_key:
            break
        heap[i] = heap[child]
        pos[heap[i]] = i
        i = child
    heap[i] = node
    pos[node] = i


@njit(cache=True, nogil=True, inline="always")
def _queue(dist, heap, pos, size, v):
    """Insert `v` or move it up after its time fell; return the new heap size."""
    if pos[v] < 0:
        heap[size] = v
        size += 1
        _sift_up(dist, heap, pos, size - 1)
    else:
        _sift_up(dist, heap, pos, pos[v])
    return size


@njit(cache=True, nogil=True, inline="always")
def _pop(dist, heap, pos, size):
    """Remove the nearest node from the heap of `size` nodes; return it and the new size."""
    u = heap[0]
    size -= 1
    if size > 0:
        heap[0] = heap[size]
        pos[heap[0]] = 0
        _sift_down(dist, heap, pos, size)
    pos[u] = -1
    return u, size


@njit(cache=True, nogil=True)
def _search(indptr, indices, weights, source, start, limit, target_of, n_targets, dist, pred, leaf):
    """Dijkstra from `source` (initial time `start`) into `dist`; stop early when done.

    `dist` comes filled with ``inf``. `target_of[v]` is >= 0 for nodes whose
    distance is wanted; the search stops when all `n_targets` are settled (or
    the heap is empty, or `limit` passed). The queue is a 4-ary heap indexed by
    node (decrease-key in place), so it never holds more than the frontier.
    Nodes flagged in `leaf` (one neighbour only: dead ends) that are not targets
    are never queued, since they lead nowhere new; they stay unsettled.
    """
    n = indptr.shape[0] - 1
    heap = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    dist[source] = start
    heap[0] = source
    pos[source] = 0
    size = 1
    remaining = n_targets
    while size > 0:
        u = heap[0]
        d = dist[u]
        if d > limit:
            break
        u, size = _pop(dist, heap, pos, size)
        settled[u] = True
        if target_of[u] >= 0:
            remaining -= 1
            if remaining == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if settled[v]:
                continue
            nd = d + weights[e]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = u
                if not leaf[v] or target_of[v] >= 0:
                    size = _queue(dist, heap, pos, size, v)
    return settled


@njit(cache=True, parallel=True)
def many_to_many(indptr, indices, weights, sources, targets, leaf):
    """Return the S x T matrix of shortest times from `sources` to `targets`."""
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    n_targets = 0
    for j in range(targets.shape[0]):
        if target_of[targets[j]] < 0:
            target_of[targets[j]] = j
            n_targets += 1
    out = np.empty((sources.shape[0], targets.shape[0]), dtype=np.float64)
    for i in prange(sources.shape[0]):
        dist = np.full(n, np.inf)
        pred = np.empty(n, dtype=np.int64)
        settled = _search(
            indptr, indices, weights, sources[i], 0.0, np.inf, target_of, n_targets, dist, pred,
            leaf,
        )  # fmt: skip
        for j in range(targets.shape[0]):
            t = targets[j]
            out[i, j] = dist[t] if settled[t] else np.inf
    return out


@njit(cache=True)
def path_to(indptr, indices, weights, source, target, leaf):
    """Return (time at `target`, predecessors) of a search from `source` stopped there."""
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    target_of[target] = 0
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    _search(indptr, indices, weights, source, 0.0, np.inf, target_of, 1, dist, pred, leaf)
    return dist[target], pred


@njit(cache=True)
def single_source(indptr, indices, weights, source, start, limit):
    """Return (times, predecessors) of a full search from one source up to `limit`."""
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    no_leaf = np.zeros(n, dtype=np.bool_)  # every node is wanted
    settled = _search(
        indptr, indices, weights, source, start, limit, target_of, 0, dist, pred, no_leaf
    )
    for v in range(n):
        if not settled[v]:
            dist[v] = np.inf
    return dist, pred


@njit(cache=True, nogil=True)
def _seed(dist, heap, pos, seeds, starts):
    """Queue the seeds (the earlier start of a node seeded twice); return the heap size."""
    size = 0
    for k in range(seeds.shape[0]):
        v = seeds[k]
        if starts[k] < dist[v]:
            dist[v] = starts[k]
            size = _queue(dist, heap, pos, size, v)
    return size


@njit(cache=True, nogil=True)
def _search_seeded(indptr, indices, weights, seeds, starts, target_of, n_targets, dist, leaf):
    """`_search` from several seed nodes at once (each with its start time); no limit.

    Returns the settled mask. Seeds with an infinite start are skipped.
    """
    n = indptr.shape[0] - 1
    heap = np.empty(n, dtype=np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    size = _seed(dist, heap, pos, seeds, starts)
    remaining = n_targets
    while size > 0:
        u, size = _pop(dist, heap, pos, size)
        d = dist[u]
        settled[u] = True
        if target_of[u] >= 0:
            remaining -= 1
            if remaining == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if settled[v]:
                continue
            nd = d + weights[e]
            if nd < dist[v]:
                dist[v] = nd
                if not leaf[v] or target_of[v] >= 0:
                    size = _queue(dist, heap, pos, size, v)
    return settled


@njit(cache=True, parallel=True)
def many_to_many_ends(indptr, indices, weights, src_nodes, src_s, dst_nodes, dst_s, leaf):
    """S x T shortest times between points attached to two nodes each.

    A source leaves by ``src_nodes[i, k]`` after ``src_s[i, k]`` seconds; a
    target is reached from ``dst_nodes[j, k]`` in ``dst_s[j, k]`` more seconds
    (``inf``: not that way). One search per source, seeded at both its nodes,
    stopped once every target node is settled.
    """
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    n_targets = 0
    for j in range(dst_nodes.shape[0]):
        for k in range(2):
            if np.isfinite(dst_s[j, k]) and target_of[dst_nodes[j, k]] < 0:
                target_of[dst_nodes[j, k]] = j
                n_targets += 1
    out = np.empty((src_nodes.shape[0], dst_nodes.shape[0]), dtype=np.float64)
    for i in prange(src_nodes.shape[0]):
        dist = np.full(n, np.inf)
        settled = _search_seeded(
            indptr, indices, weights, src_nodes[i], src_s[i], target_of, n_targets, dist, leaf
        )
        for j in range(dst_nodes.shape[0]):
            best = np.inf
            for k in range(2):
                t = dst_nodes[j, k]
                if settled[t]:
                    cand = dist[t] + dst_s[j, k]
                    if cand < best:
                        best = cand
            out[i, j] = best
    return out
