"""Connection Scan kernels (numba) for earliest arrival with public transport.

Connections (one vehicle moving between two consecutive stops of one trip on one
day) are sorted by departure. A scan from one origin keeps, per stop, the
earliest time getting off a vehicle there (`alight`) and the earliest time
walking there from a stop where one got off (`walked`, one footpath per
transfer), and per trip instance the connection where it was boarded. A
connection is taken if its trip is already boarded, or if its stop is ready
in time: ``ready_bus`` (walk from the origin, or the last arrival plus the
transfer slack) for buses, ``ready_boat`` (arrival plus the boat boarding
margin) for boats. Flags per connection: bit 0 boarding allowed at its stop,
bit 1 getting off allowed at its next stop, bit 2 boat.

Scanning stops at `limit`, or at `best` when an egress to one destination is
given (no connection leaving after the best known arrival can improve it).
Times are float64 seconds after the midnight of the window's first day.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba import prange

__all__ = ["matrix_scan", "pair_scan", "scan"]

BOARD, ALIGHT, BOAT = 1, 2, 4


@njit(cache=True, nogil=True, inline="always")
def _ready(s, t, ready_bus, ready_boat, transfer_slack, boat_slack):
    if t + transfer_slack < ready_bus[s]:
        ready_bus[s] = t + transfer_slack
    if t + boat_slack < ready_boat[s]:
        ready_boat[s] = t + boat_slack


@njit(cache=True, nogil=True, inline="always")
def _walk_on(
    s,
    a,
    fp_ptr,
    fp_to,
    fp_s,
    walked,
    walked_from,
    ready_bus,
    ready_boat,
    transfer_slack,
    boat_slack,
):
    """Relax the footpaths from stop `s`, got off at time `a`."""
    for e in range(fp_ptr[s], fp_ptr[s + 1]):
        u = fp_to[e]
        t = a + fp_s[e]
        if t < walked[u]:
            walked[u] = t
            walked_from[u] = s
            _ready(u, t, ready_bus, ready_boat, transfer_slack, boat_slack)


@njit(cache=True, nogil=True)
def scan(
    dep,
    arr,
    frm,
    to,
    inst,
    flags,
    t_start,
    limit,
    ready_bus,
    ready_boat,
    fp_ptr,
    fp_to,
    fp_s,
    transfer_slack,
    boat_slack,
    egress,
    best,
    alight,
    alight_conn,
    walked,
    walked_from,
    board_conn,
):
    """Scan connections from `t_start`; fill the label arrays in place; return `best`.

    `egress` (seconds from each stop to the destination, ``inf`` if too far) may
    be empty: then the scan runs to `limit`.
    """
    n = dep.shape[0]
    c = np.searchsorted(dep, t_start)
    with_target = egress.shape[0] > 0
    while c < n:
        d = dep[c]
        if d > limit or d >= best:
            break
        i = inst[c]
        if board_conn[i] < 0:
            if not flags[c] & BOARD:
                c += 1
                continue
            r = ready_boat[frm[c]] if flags[c] & BOAT else ready_bus[frm[c]]
            if r > d:
                c += 1
                continue
            board_conn[i] = c
        if flags[c] & ALIGHT:
            a = arr[c]
            s = to[c]
            if a < alight[s]:
                alight[s] = a
                alight_conn[s] = c
                _ready(s, a, ready_bus, ready_boat, transfer_slack, boat_slack)
                if with_target and a + egress[s] < best:
                    best = a + egress[s]
                _walk_on(
                    s,
                    a,
                    fp_ptr,
                    fp_to,
                    fp_s,
                    walked,
                    walked_from,
                    ready_bus,
                    ready_boat,
                    transfer_slack,
                    boat_slack,
                )
        c += 1
    return best


@njit(cache=True, parallel=True)
def matrix_scan(
    dep,
    arr,
    frm,
    to,
    inst,
    flags,
    n_inst,
    t_start,
    limit,
    access,
    fp_ptr,
    fp_to,
    fp_s,
    transfer_slack,
    boat_slack,
    eg_ptr,
    eg_stop,
    eg_s,
    direct,
):
    """Return the O x D matrix of arrival seconds after `t_start` (``inf``: unreachable).

    `access` is O x S walking seconds origin -> stop (``inf`` beyond the walk
    limit), `eg_*` a CSR by destination of (stop, walking seconds stop ->
    destination), `direct` O x D walking seconds. One scan per origin, in parallel.
    """
    n_orig = access.shape[0]
    n_stops = access.shape[1]
    n_dest = direct.shape[1]
    out = np.empty((n_orig, n_dest))
    no_target = np.empty(0)
    for o in prange(n_orig):
        ready_bus = np.empty(n_stops)
        ready_boat = np.empty(n_stops)
        for s in range(n_stops):
            ready_bus[s] = t_start + access[o, s]
            ready_boat[s] = ready_bus[s] + boat_slack
        alight = np.full(n_stops, np.inf)
        walked = np.full(n_stops, np.inf)
        alight_conn = np.full(n_stops, -1, dtype=np.int64)
        walked_from = np.full(n_stops, -1, dtype=np.int64)
        board_conn = np.full(n_inst, -1, dtype=np.int64)
        scan(
            dep,
            arr,
            frm,
            to,
            inst,
            flags,
            t_start,
            limit,
            ready_bus,
            ready_boat,
            fp_ptr,
            fp_to,
            fp_s,
            transfer_slack,
            boat_slack,
            no_target,
            np.inf,
            alight,
            alight_conn,
            walked,
            walked_from,
            board_conn,
        )
        for d in range(n_dest):
            best = direct[o, d]
            for k in range(eg_ptr[d], eg_ptr[d + 1]):
                t = alight[eg_stop[k]] - t_start + eg_s[k]
                if t < best:
                    best = t
            out[o, d] = best
    return out


@njit(cache=True, parallel=True)
def pair_scan(
    dep,
    arr,
    frm,
    to,
    inst,
    flags,
    n_inst,
    t_starts,
    limit,
    src,
    dst,
    access,
    fp_ptr,
    fp_to,
    fp_s,
    transfer_slack,
    boat_slack,
    eg_ptr,
    eg_stop,
    eg_s,
    direct,
):
    """Return the arrival (window seconds) of journeys ``src[p] -> dst[p]`` from ``t_starts[p]``.

    `access` is A x S walking seconds from each start point to the stops
    (``inf`` beyond the walk limit), `eg_*` a CSR by end point of (stop,
    walking seconds), `direct` A x B walking seconds. One scan per journey, in
    parallel, stopped at the best arrival found (``inf``: none by `limit`).
    """
    n_pairs = src.shape[0]
    n_stops = access.shape[1]
    out = np.empty(n_pairs)
    for p in prange(n_pairs):
        t_start = t_starts[p]
        o, d = src[p], dst[p]
        ready_bus = np.empty(n_stops)
        ready_boat = np.empty(n_stops)
        egress = np.full(n_stops, np.inf)
        for s in range(n_stops):
            ready_bus[s] = t_start + access[o, s]
            ready_boat[s] = ready_bus[s] + boat_slack
        for k in range(eg_ptr[d], eg_ptr[d + 1]):
            if eg_s[k] < egress[eg_stop[k]]:
                egress[eg_stop[k]] = eg_s[k]
        alight = np.full(n_stops, np.inf)
        walked = np.full(n_stops, np.inf)
        alight_conn = np.full(n_stops, -1, dtype=np.int64)
        walked_from = np.full(n_stops, -1, dtype=np.int64)
        board_conn = np.full(n_inst, -1, dtype=np.int64)
        out[p] = scan(
            dep,
            arr,
            frm,
            to,
            inst,
            flags,
            t_start,
            limit,
            ready_bus,
            ready_boat,
            fp_ptr,
            fp_to,
            fp_s,
            transfer_slack,
            boat_slack,
            egress,
            t_start + direct[o, d],
            alight,
            alight_conn,
            walked,
            walked_from,
            board_conn,
        )
    return out
