"""Compiled shortest-path kernels on CSR graphs (numba).

Binary-heap Dijkstra with lazy deletion. ``many_to_many`` runs one search per
source in parallel (``prange``) and stops each search once every target is
settled, which on an island network saves most of the work for sources on a
small island. Weights are float64 seconds; unreachable is ``inf``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba import prange

__all__ = ["many_to_many", "path_to", "single_source"]


@njit(cache=True, nogil=True)
def _heap_push(keys, vals, size, key, val):
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(keys, vals, size):
    key = keys[0]
    val = vals[0]
    size -= 1
    keys[0] = keys[size]
    vals[0] = vals[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return key, val, size


@njit(cache=True, nogil=True)
def _search(indptr, indices, weights, source, start, limit, target_of, n_targets, dist, pred):
    """Dijkstra from `source` (initial time `start`) into `dist`; stop early when done.

    `target_of[v]` is >= 0 for nodes whose distance is wanted; the search stops
    when all `n_targets` are settled (or the heap is empty, or `limit` passed).
    """
    n = indptr.shape[0] - 1
    cap = indices.shape[0] + 1
    keys = np.empty(cap, dtype=np.float64)
    vals = np.empty(cap, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    dist[source] = start
    size = _heap_push(keys, vals, 0, start, source)
    remaining = n_targets
    while size > 0:
        d, u, size = _heap_pop(keys, vals, size)
        if settled[u]:
            continue
        if d > limit:
            break
        settled[u] = True
        if target_of[u] >= 0:
            remaining -= 1
            if remaining == 0:
                break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = u
                size = _heap_push(keys, vals, size, nd, v)
    return settled


@njit(cache=True, parallel=True)
def many_to_many(indptr, indices, weights, sources, targets):
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
            indptr, indices, weights, sources[i], 0.0, np.inf, target_of, n_targets, dist, pred
        )
        for j in range(targets.shape[0]):
            t = targets[j]
            out[i, j] = dist[t] if settled[t] else np.inf
    return out


@njit(cache=True)
def path_to(indptr, indices, weights, source, target):
    """Return (time at `target`, predecessors) of a search from `source` stopped there."""
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    target_of[target] = 0
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    _search(indptr, indices, weights, source, 0.0, np.inf, target_of, 1, dist, pred)
    return dist[target], pred


@njit(cache=True)
def single_source(indptr, indices, weights, source, start, limit):
    """Return (times, predecessors) of a full search from one source up to `limit`."""
    n = indptr.shape[0] - 1
    target_of = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    settled = _search(indptr, indices, weights, source, start, limit, target_of, 0, dist, pred)
    for v in range(n):
        if not settled[v]:
            dist[v] = np.inf
    return dist, pred
