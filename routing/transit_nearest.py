"""Time to the nearest facility for many origins by public transport (walk, bus, boat).

The counterpart of `routing.nearest.NearestSearch` for the mode «transporte
público» of a `routing.transit.TransitModel`, with the same rules as its
journeys. A journey from origin ``o`` to facility ``f`` leaving at ``t0`` is
either the direct walk or a walk to a stop, rides, and a walk from the stop
where one gets off::

    T(o, f) = min( W(o, f),  min over stop s of  alight(o, s) + E(s, f) )

where ``W`` is the walk, ``alight(o, s)`` the earliest time ``o`` can get off a
vehicle at ``s`` (one Connection Scan per origin, `routing._csa.matrix_scan`)
and ``E(s, f)`` the walk from ``s`` to ``f`` within ``max_walk_min`` (any walk
from a pier). ``alight`` does not depend on the facility, so for the nearest of
a set one needs ``min_f W(o, f)`` for the origins and ``min_f E(s, f)`` for the
stops, both one multi-source search (`routing.nearest.static_nearest`). The
result equals the minimum over `TransitModel.matrix_array` to every facility
(tests check it). Ties go to the lowest facility index.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from routing._csa import matrix_scan
from routing._csa import pair_scan
from routing._geo import Places
from routing.nearest import Nearest
from routing.nearest import _first_index
from routing.nearest import _has_graph
from routing.nearest import _reverse_graph
from routing.nearest import static_nearest
from routing.nearest import static_times

__all__ = ["TransitNearestSearch"]

_WALK = "walk"


class TransitNearestSearch:
    """Nearest facility of any number of sets for fixed origins, without a vehicle.

    Parameters
    ----------
    transit
        A `routing.transit.TransitModel` (walking limits and margins are its own).
    origins
        Snapped origins (``transit.snap``).

    The walks from the origins to the stops are computed once; the scan of the
    timetables once per departure time and horizon; each facility set costs two
    multi-source walking searches (cached under `key` in `nearest`).
    """

    def __init__(self, transit, origins: Places) -> None:
        self.model = transit
        self.origins = origins
        net = transit.model.network
        self._graph = _reverse_graph(net, _WALK) if _has_graph(net) else None
        i, j, s = transit._walk_coo(origins, transit.max_walk_s)
        self._access = np.full((len(origins), len(transit.stops)), np.inf)
        self._access[i, j] = s
        self._alight: dict[tuple, np.ndarray] = {}
        self._static: dict[object, tuple] = {}

    def alight(self, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        """Seconds after `depart_at` until each origin can get off at each stop (origins x stops).

        ``inf`` where no vehicle is taken there within `horizon_s`.
        """
        key = (depart_at, horizon_s)
        if key not in self._alight:
            if len(self._alight) > 16:
                self._alight.clear()
            self._alight[key] = self._scan(depart_at, horizon_s)
        return self._alight[key]

    def _scan(self, depart_at: dt.datetime, horizon_s: float) -> np.ndarray:
        tm = self.model
        n_orig, n_stops = self._access.shape
        if not n_orig or not n_stops:
            return np.full((n_orig, n_stops), np.inf)
        window = tm._window(depart_at, horizon_s)
        t_start = window.seconds(depart_at)
        # each stop is its own destination, reached when getting off there (no walk after)
        out = matrix_scan(
            *window.connections,
            window.n_inst,
            t_start,
            t_start + horizon_s,
            self._access,
            tm.fp_ptr,
            tm.fp_to,
            tm.fp_s,
            tm.transfer_slack_s,
            tm.boat_slack_s,
            np.arange(n_stops + 1, dtype=np.int64),
            np.arange(n_stops, dtype=np.int64),
            np.zeros(n_stops),
            np.full((n_orig, n_stops), np.inf),
        )
        out[~(out <= horizon_s)] = np.inf
        return out

    def _static_parts(self, facilities: Places, key) -> tuple:
        if key is not None and key in self._static:
            return self._static[key]
        tm = self.model
        net = tm.model.network
        direct = static_nearest(net, self.origins, facilities, _WALK, graph=self._graph)
        eg_s, eg_idx = static_nearest(net, tm.stops, facilities, _WALK, graph=self._graph)
        too_far = ~tm.pier & ~(eg_s <= tm.max_walk_s)
        eg_s, eg_idx = np.where(too_far, np.inf, eg_s), np.where(too_far, -1, eg_idx)
        parts = (direct, (eg_s, eg_idx))
        if key is not None:
            if len(self._static) > 64:
                self._static.clear()
            self._static[key] = parts
        return parts

    def nearest(
        self, facilities: Places, depart_at: dt.datetime, horizon_s: float, *, key=None
    ) -> Nearest:
        """Return the nearest of `facilities` for every origin leaving at `depart_at`.

        `horizon_s` caps the journey (seconds after `depart_at`); `key` (any
        hashable naming the set) lets the walking part be reused across departures.
        """
        (seconds, index), (eg_s, eg_idx) = self._static_parts(facilities, key)
        best, which = seconds.copy(), index.copy()
        if self._access.size:
            cand = self.alight(depart_at, horizon_s) + eg_s[None, :]
            low = cand.min(axis=1)
            label = np.where(cand == low[:, None], eg_idx[None, :], np.iinfo(np.int64).max)
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
        tm = self.model
        net = tm.model.network
        out = static_times(net, self.origins, facilities, _WALK, graph=self._graph)
        f, stop, secs = tm._walk_coo(facilities, tm.max_walk_s)  # walking is symmetric
        if len(f) and self._access.size:
            alight = self.alight(depart_at, horizon_s)
            for k in np.unique(f):
                rows = f == k
                via = (alight[:, stop[rows]] + secs[rows][None, :]).min(axis=1)
                np.minimum(out[:, k], via, out=out[:, k])
        out[~(out <= horizon_s)] = np.inf
        return out

    def pair_times(
        self, a: Places, b: Places, start_s: np.ndarray, depart_at: dt.datetime, horizon_s: float
    ) -> np.ndarray:
        """Arrival of many independent journeys ``a[i] -> b[i]``, each leaving at its own time.

        Journey ``i`` leaves ``start_s[i]`` seconds after `depart_at`. Returns
        arrival seconds after `depart_at` (``inf`` beyond `horizon_s`); one scan
        per journey, stopped as soon as no later departure can improve it.
        """
        n = len(a)
        out = np.full(n, np.inf)
        start_s = np.asarray(start_s, dtype=float)
        ok = np.flatnonzero(np.isfinite(start_s) & (start_s <= horizon_s))
        if not len(ok):
            return out
        tm = self.model
        ua, ia = np.unique(np.column_stack([a.lon, a.lat])[ok], axis=0, return_inverse=True)
        ub, ib = np.unique(np.column_stack([b.lon, b.lat])[ok], axis=0, return_inverse=True)
        sub_a, sub_b = a.take(ok), b.take(ok)
        static = tm._static(sub_a.take(_first_index(ia.ravel(), len(ua))),
                            sub_b.take(_first_index(ib.ravel(), len(ub))))  # fmt: skip
        window = tm._window(depart_at, horizon_s)
        t0 = window.seconds(depart_at)
        arrive = pair_scan(
            *window.connections,
            window.n_inst,
            t0 + start_s[ok],
            t0 + horizon_s,
            ia.ravel().astype(np.int64),
            ib.ravel().astype(np.int64),
            static.access,
            tm.fp_ptr,
            tm.fp_to,
            tm.fp_s,
            tm.transfer_slack_s,
            tm.boat_slack_s,
            static.eg_ptr,
            static.eg_stop,
            static.eg_s,
            static.direct,
        )
        out[ok] = arrive - t0
        out[~(out <= horizon_s)] = np.inf
        return out
