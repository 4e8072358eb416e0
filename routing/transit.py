"""Public transport in the travel model: walk, wait, ride buses, colectivos and boats.

A `TransitModel` joins a `TravelModel` (its static network for walking, its
boat timetable) with one or more `TransitFeed` timetables (GTFS imports, lines
entered by hand). The boats of the territory's timetable become trips of the
same search (`routing.gtfs.timetable_feed`), so one journey can take a bus to
the pier, the ferry, and a colectivo on the island.

Search: the Connection Scan Algorithm (CSA; Dibbelt, Pajor, Strasser and
Wagner, "Connection Scan Algorithm", ACM JEA 2018), in `routing._csa`. We chose
it over RAPTOR and a time-expanded graph because (1) earliest arrival from one
origin to every stop is one linear pass over the day's connections, which with
numba is a tight loop (RAPTOR needs route/pattern tables and rounds; a
time-expanded graph multiplies nodes by departures); (2) a matrix is one
independent scan per origin, run in parallel, with the egress walks folded in
per destination; (3) trips need no FIFO property between them: each trip is
followed connection by connection, and a trip boarded stays boarded (FIFO per
trip), so overtaking trips are exact. Earliest arrival is exact for these
rules:

* walking uses the network's walk layer (symmetric); from the origin to a stop
  and from a stop to the destination at most ``max_walk_min``; between two
  stops when changing vehicle at most ``max_transfer_walk_min`` (one walk per
  change). Boat piers keep the rules of the mode «a pie»: any walk to, from
  and between piers, so transport público is never worse than walking and boats;
* the direct walk origin → destination always counts;
* a bus or colectivo is boarded if one stands at the stop by its departure
  (``transfer_slack_min`` more after getting off another vehicle); a boat needs
  the boat boarding margin, as in `TravelModel`;
* no journey arrives after ``horizon_h`` hours.

Time-dependent exactness is that of the timetables: GTFS frequencies (both
``exact_times`` values) are run as departures every headway from the start time.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from routing._csa import ALIGHT
from routing._csa import BOARD
from routing._csa import BOAT
from routing._csa import matrix_scan
from routing._csa import scan
from routing._errors import RoutingInputError
from routing._geo import Places
from routing.approximate import ApproximateNetwork
from routing.gtfs import WEEKDAYS
from routing.gtfs import TransitFeed
from routing.gtfs import timetable_feed
from routing.model import DAY_NAMES
from routing.model import Isochrone
from routing.model import Journey
from routing.model import LastDeparture
from routing.model import Leg
from routing.model import TravelModel
from routing.model import _line_length
from routing.model import _require_time
from routing.model import _when
from routing.model import journey_ends

__all__ = [
    "MODES",
    "NO_TRANSIT_REASON",
    "TransitModel",
    "TransitParams",
    "TransitUnavailableError",
    "mode_options",
]

log = logging.getLogger(__name__)

# The travel modes a screen offers, in order; values are the labels users read.
MODES: dict[str, str] = {
    "vehiculo": "Vehículo",
    "a_pie": "A pie",
    "transporte_publico": "Transporte público",
}
NO_TRANSIT_REASON = (
    "El modo «transporte público» no está disponible: no hay horarios de buses ni "
    "colectivos cargados para este territorio (Revincula no inventa horarios). "
    "Importe un GTFS o ingrese las líneas con la fuente de cada dato; mientras tanto "
    "use «a pie» (caminando y en barco) o «vehículo»."
)
_WALK = "walk"
_CHUNK_PAIRS = 2_000_000


class TransitUnavailableError(RoutingInputError):
    """No bus or colectivo timetable is loaded: the mode «transporte público» cannot be used."""


def mode_options(transit: TransitModel | None) -> list[dict]:
    """Return the travel modes for a form: key, label, whether available and why not."""
    return [
        {
            "modo": key,
            "etiqueta": label,
            "disponible": key != "transporte_publico" or transit is not None,
            "motivo": NO_TRANSIT_REASON if key == "transporte_publico" and transit is None else "",
        }
        for key, label in MODES.items()
    ]


@dataclass(frozen=True)
class TransitParams:
    """Walking limits and margins of public transport journeys (minutes).

    Defaults are assumptions (``supuesto``), stated on screen: a 30 min walk to
    or from a stop (2.25 km at 4.5 km/h), 10 min between two stops when changing
    vehicle, and 2 min to change to a bus (the ``transferSlack`` default of
    OpenTripPlanner). `boat_boarding_min` and `horizon_h` default to those of the
    `TravelModel`.
    """

    max_walk_min: float = 30.0
    max_transfer_walk_min: float = 10.0
    transfer_slack_min: float = 2.0
    boat_boarding_min: float | None = None
    horizon_h: float | None = None

    def __post_init__(self) -> None:
        """Refuse negative values."""
        for name in ("max_walk_min", "max_transfer_walk_min", "transfer_slack_min"):
            if getattr(self, name) < 0:
                msg = f"`{name}`={getattr(self, name)!r} no puede ser negativo."
                raise RoutingInputError(msg)


@dataclass
class _Window:
    """Connections of the service days around one query, sorted by departure."""

    base: dt.date  # times are seconds after this date's midnight
    dep: np.ndarray
    arr: np.ndarray
    frm: np.ndarray
    to: np.ndarray
    inst: np.ndarray
    flags: np.ndarray
    template: np.ndarray  # connection template of each connection
    inst_trip: np.ndarray  # trip of each trip instance

    @property
    def n_inst(self) -> int:
        return len(self.inst_trip)

    @property
    def connections(self) -> tuple[np.ndarray, ...]:
        """The arrays the scan kernels take first: dep, arr, frm, to, inst, flags."""
        return self.dep, self.arr, self.frm, self.to, self.inst, self.flags

    def seconds(self, t: dt.datetime) -> float:
        """Return `t` as seconds after the window's base midnight."""
        return (t - dt.datetime.combine(self.base, dt.time(0), tzinfo=t.tzinfo)).total_seconds()


@dataclass
class _Labels:
    """Result of one scan from one origin (see `routing._csa.scan`)."""

    t_start: float
    access: np.ndarray
    egress: np.ndarray
    best: float
    alight: np.ndarray
    alight_conn: np.ndarray
    walked: np.ndarray
    walked_from: np.ndarray
    board_conn: np.ndarray


@dataclass
class _Static:
    """Walking part of a query (independent of the departure time)."""

    origins: Places
    dests: Places
    direct: np.ndarray  # O x D
    access: np.ndarray  # O x S
    eg_ptr: np.ndarray
    eg_stop: np.ndarray
    eg_s: np.ndarray


class TransitModel:
    """A `TravelModel` plus public transport timetables (see the module docstring).

    It answers the `TravelModel` queries (`journey`, `matrix`, `matrix_array`,
    `matrix_arrays`, `isochrone`, `last_boat_home`) for a traveller without a
    vehicle (``on_foot=True``, the default) with walking, buses, colectivos and
    boats; with a vehicle (``on_foot=False`` or `vehicle_at`) it hands the query
    to the `TravelModel`, so a planner can use it for every gestor.

    Parameters
    ----------
    model
        Static network and boat timetable.
    feeds
        Bus, colectivo (and boat) timetables; ids may repeat between feeds.
    params
        Walking limits and margins.
    boats
        Include the model's boat timetable as trips (False when a feed already
        carries the same boats, e.g. a re-imported export).

    Raises
    ------
    TransitUnavailableError
        If no feed has a bus, colectivo or train line (`NO_TRANSIT_REASON`).
    """

    def __init__(
        self,
        model: TravelModel,
        feeds: Sequence[TransitFeed],
        *,
        params: TransitParams | None = None,
        boats: bool = True,
    ) -> None:
        started = time.perf_counter()
        feeds = list(feeds)
        if not any(f.has_land_transport for f in feeds):
            raise TransitUnavailableError(NO_TRANSIT_REASON)
        names = [f.name for f in feeds]
        if len(set(names)) != len(names) or (boats and "barcos" in names):
            msg = f"Los horarios deben tener nombres distintos: {names!r}."
            raise RoutingInputError(msg)
        self._given = (tuple(feeds), boats)
        if boats and model.timetable.services:
            feeds = [timetable_feed(model.timetable), *feeds]
        self.model = model
        self.feeds = tuple(feeds)
        self.params = params or TransitParams()
        p = self.params
        self.boat_slack_s = 60.0 * (
            model.boarding_margin_min if p.boat_boarding_min is None else p.boat_boarding_min
        )
        self.transfer_slack_s = 60.0 * p.transfer_slack_min
        self.max_walk_s = 60.0 * p.max_walk_min
        self.max_transfer_s = 60.0 * p.max_transfer_walk_min
        self.horizon_s = 3600.0 * (model.horizon_h if p.horizon_h is None else p.horizon_h)
        self._windows: OrderedDict = OrderedDict()
        self.notes: tuple[str, ...] = ()
        self._compile()
        self._snap_stops()
        self._build_footpaths()
        log.info(
            "transit model: %d feeds, %d stops, %d trips, %d connection templates, "
            "%d footpaths in %.2f s",
            len(self.feeds),
            len(self.stop_ids),
            len(self.trip_ids),
            len(self.tpl_dep),
            len(self.fp_to),
            time.perf_counter() - started,
        )

    # -- compiling the feeds ----------------------------------------------------
    def _compile(self) -> None:
        stops, routes, trips, times, services, exceptions, freqs = [], [], [], [], [], [], []
        for k, f in enumerate(self.feeds):
            stops.append(f.stops.assign(feed=k))
            routes.append(f.routes.assign(feed=k))
            trips.append(f.trips.assign(feed=k))
            times.append(f.stop_times.assign(feed=k))
            services.append(f.calendar.assign(feed=k))
            exceptions.append(f.calendar_dates.assign(feed=k))
            freqs.append(f.frequencies.assign(feed=k))
        stops_df = pd.concat(stops, ignore_index=True)
        routes_df = pd.concat(routes, ignore_index=True)
        trips_df = pd.concat(trips, ignore_index=True)
        times_df = pd.concat(times, ignore_index=True)
        cal = pd.concat(services, ignore_index=True)
        exc = pd.concat(exceptions, ignore_index=True)
        freq = pd.concat(freqs, ignore_index=True)

        def index(df, column):
            return pd.MultiIndex.from_arrays([df["feed"], df[column]])

        stop_index = index(stops_df, "stop_id")
        route_index = index(routes_df, "route_id")
        trip_index = index(trips_df, "trip_id")
        service_keys = pd.MultiIndex.from_arrays(
            [
                np.concatenate([cal["feed"], exc["feed"], trips_df["feed"]]),
                np.concatenate([cal["service_id"], exc["service_id"], trips_df["service_id"]]),
            ]
        ).unique()
        self.stop_ids = stops_df["stop_id"].to_numpy()
        self.stop_names = stops_df["stop_name"].to_numpy()
        self.stop_lon = stops_df["stop_lon"].to_numpy(dtype=float)
        self.stop_lat = stops_df["stop_lat"].to_numpy(dtype=float)
        self.stop_feed = stops_df["feed"].to_numpy()
        self.route_ids = routes_df["route_id"].to_numpy()
        self.route_names = routes_df["route_name"].to_numpy()
        self.route_kinds = routes_df["kind"].to_numpy()
        self.route_assumed = routes_df["assumed"].to_numpy(dtype=bool)
        self.trip_ids = trips_df["trip_id"].to_numpy()
        self.trip_route = route_index.get_indexer(index(trips_df, "route_id"))
        self.trip_service = service_keys.get_indexer(index(trips_df, "service_id"))
        # services: weekday masks, validity (ordinals) and exceptions
        n_serv = len(service_keys)
        self.serv_days = np.zeros((n_serv, 7), dtype=bool)
        self.serv_start = np.zeros(n_serv, dtype=np.int64)
        self.serv_end = np.zeros(n_serv, dtype=np.int64)
        where = service_keys.get_indexer(index(cal, "service_id"))
        for d, day in enumerate(WEEKDAYS):
            self.serv_days[where, d] = cal[day].to_numpy(dtype=bool)
        self.serv_start[where] = [d.toordinal() for d in cal["start_date"]]
        self.serv_end[where] = [d.toordinal() for d in cal["end_date"]]
        self.exc_service = service_keys.get_indexer(index(exc, "service_id"))
        self.exc_day = np.array([d.toordinal() for d in exc["date"]], dtype=np.int64)
        self.exc_type = exc["exception_type"].to_numpy(dtype=np.int64)
        # stop times, grouped by trip (each feed's table is sorted by trip and sequence)
        st_trip = trip_index.get_indexer(index(times_df, "trip_id"))
        order = np.argsort(st_trip, kind="stable")
        st_trip = st_trip[order]
        self.st_stop = stop_index.get_indexer(index(times_df, "stop_id"))[order]
        st_arr = times_df["arrival_s"].to_numpy(dtype=np.int64)[order]
        st_dep = times_df["departure_s"].to_numpy(dtype=np.int64)[order]
        pickup = times_df["pickup"].to_numpy(dtype=bool)[order]
        drop_off = times_df["drop_off"].to_numpy(dtype=bool)[order]
        n_trips = len(self.trip_ids)
        self.trip_first = np.searchsorted(st_trip, np.arange(n_trips))
        self.trip_first_dep = st_dep[np.minimum(self.trip_first, len(st_dep) - 1)]
        # connection templates: consecutive stop times of one trip
        j = np.flatnonzero(st_trip[:-1] == st_trip[1:])
        self.tpl_trip = st_trip[j]
        self.tpl_pos = j - self.trip_first[self.tpl_trip]
        self.tpl_frm = self.st_stop[j]
        self.tpl_to = self.st_stop[j + 1]
        self.tpl_dep = st_dep[j]
        self.tpl_arr = st_arr[j + 1]
        boat_route = self.route_kinds == "barco"
        self.tpl_flags = (
            np.where(pickup[j], BOARD, 0)
            | np.where(drop_off[j + 1], ALIGHT, 0)
            | np.where(boat_route[self.trip_route[self.tpl_trip]], BOAT, 0)
        ).astype(np.int64)
        self.tpl_first = np.searchsorted(self.tpl_trip, np.arange(n_trips + 1))
        # frequencies
        self.freq_trip = trip_index.get_indexer(index(freq, "trip_id"))
        self.freq_start = freq["start_s"].to_numpy(dtype=np.int64)
        self.freq_end = freq["end_s"].to_numpy(dtype=np.int64)
        self.freq_headway = freq["headway_s"].to_numpy(dtype=np.int64)
        self.trip_has_freq = np.zeros(n_trips, dtype=bool)
        self.trip_has_freq[self.freq_trip] = True
        latest = max(int(st_arr.max()) if len(st_arr) else 0, int(self.freq_end.max(initial=0)))
        self.max_day_offset = latest // 86400 + 1
        # piers: stops served by a boat
        self.pier = np.zeros(len(self.stop_ids), dtype=bool)
        by_boat = (self.tpl_flags & BOAT) > 0
        self.pier[self.tpl_frm[by_boat]] = True
        self.pier[self.tpl_to[by_boat]] = True

    def _snap_stops(self) -> None:
        net = self.model.network
        self.stops = net.snap(self.stop_lon, self.stop_lat)
        # the timetable's piers were snapped by the model with their own rules: reuse them
        terms = self.model.terminals
        known = {
            (name, round(float(terms.lon[i]), 4), round(float(terms.lat[i]), 4)): i
            for i, name in enumerate(self.model.terminal_names)
        }
        anchor, access = self.stops.anchor.copy(), self.stops.access_m.copy()
        edge = None if self.stops.edge is None else self.stops.edge.copy()
        along = None if self.stops.along is None else self.stops.along.copy()
        reasons = list(self.stops.reason)
        for s in np.flatnonzero(self.pier):
            i = known.get(
                (self.stop_names[s], round(self.stop_lon[s], 4), round(self.stop_lat[s], 4))
            )
            if i is not None and terms.ok[i]:
                anchor[s], access[s], reasons[s] = terms.anchor[i], terms.access_m[i], ""
                if edge is not None:
                    edge[s] = terms.edge[i] if terms.edge is not None else -1
                    along[s] = terms.along[i] if terms.along is not None else 0.0
        self.stops = Places(
            self.stop_lon, self.stop_lat, anchor, access, tuple(reasons), edge, along
        )
        lost = int((~self.stops.ok).sum())
        if lost:
            self.notes = (
                *self.notes,
                f"{lost} parada(s) fuera de la red: no se puede caminar hasta ellas",
            )
        speed = getattr(net, "walk_kmh", None) or net.params.walk_kmh
        self.walk_mps = speed / 3.6
        self._lat0 = float(np.mean(self.stop_lat)) if len(self.stop_lat) else 0.0
        self._tree = cKDTree(self._xy(self.stop_lon, self.stop_lat))

    def _xy(self, lon, lat) -> np.ndarray:
        k = np.pi / 180 * 6_371_008.8
        return np.column_stack(
            [np.asarray(lon) * k * np.cos(np.radians(self._lat0)), np.asarray(lat) * k]
        )

    def _walk_coo(self, src: Places, cap_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return walking seconds from points to stops as (point, stop, seconds) triplets.

        Stops farther than `cap_s` are left out, except piers (no limit).
        """
        net = self.model.network
        rows, cols, secs = [], [], []
        n_stops = len(self.stops)
        if isinstance(net, ApproximateNetwork):  # closed-form times: whole blocks at once
            step = max(1, _CHUNK_PAIRS // max(n_stops, 1))
            for start in range(0, len(src), step):
                block = net.times(
                    src.take(np.arange(start, min(start + step, len(src)))), self.stops, _WALK
                )
                keep = np.isfinite(block) & ((block <= cap_s) | self.pier[None, :])
                i, j = np.nonzero(keep)
                rows.append(i + start)
                cols.append(j)
                secs.append(block[i, j])
        else:  # a street network: piers at any distance, stops near enough
            piers = np.flatnonzero(self.pier)
            if len(piers):
                block = net.times(src, self.stops.take(piers), _WALK)
                i, j = np.nonzero(np.isfinite(block))
                rows.append(i)
                cols.append(piers[j])
                secs.append(block[i, j])
            radius = cap_s * self.walk_mps
            near = self._tree.query_ball_point(self._xy(src.lon, src.lat), radius)
            for i, cand in enumerate(near):
                cand = np.asarray([c for c in cand if not self.pier[c]], dtype=np.int64)
                if not len(cand) or not src.ok[i]:
                    continue
                t = net.times(src.take([i]), self.stops.take(cand), _WALK)[0]
                keep = t <= cap_s
                rows.append(np.full(int(keep.sum()), i))
                cols.append(cand[keep])
                secs.append(t[keep])
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(secs)

    def _build_footpaths(self) -> None:
        i, j, s = self._walk_coo(self.stops, self.max_transfer_s)
        keep = i != j
        i, j, s = i[keep], j[keep], s[keep]
        order = np.argsort(i, kind="stable")
        self.fp_ptr = np.searchsorted(i[order], np.arange(len(self.stops) + 1))
        self.fp_to = j[order].astype(np.int64)
        self.fp_s = s[order].astype(float)

    # -- calendars and connections ----------------------------------------------
    def _active(self, day: dt.date) -> np.ndarray:
        """Mask of the services running on `day` (calendar plus exceptions)."""
        o = day.toordinal()
        active = self.serv_days[:, day.weekday()] & (self.serv_start <= o) & (o <= self.serv_end)
        today = self.exc_day == o
        active[self.exc_service[today & (self.exc_type == 1)]] = True
        active[self.exc_service[today & (self.exc_type == 2)]] = False
        return active

    def _window(self, t0: dt.datetime, horizon_s: float) -> _Window:
        base = t0.date()
        last = (t0 + dt.timedelta(seconds=horizon_s)).date()
        key = (base, last)
        if key in self._windows:
            self._windows.move_to_end(key)
            return self._windows[key]
        parts = []
        n_inst = 0
        inst_trip = []
        first = base - dt.timedelta(days=self.max_day_offset)
        for offset in range((last - first).days + 1):
            day = first + dt.timedelta(days=offset)
            day_s = (day - base).days * 86400
            running = self._active(day)[self.trip_service] & (self.trip_service >= 0)
            plain = np.flatnonzero(running & ~self.trip_has_freq)
            ids = np.full(len(self.trip_ids), -1, dtype=np.int64)
            ids[plain] = n_inst + np.arange(len(plain))
            n_inst += len(plain)
            inst_trip.append(plain)
            tpl = np.flatnonzero(ids[self.tpl_trip] >= 0)
            parts.append((tpl, np.full(len(tpl), day_s, dtype=np.int64), ids[self.tpl_trip[tpl]]))
            # frequency trips: one instance per headway from the start time
            rows = np.flatnonzero(running[self.freq_trip])
            for r in rows:
                trip = self.freq_trip[r]
                starts = np.arange(self.freq_start[r], self.freq_end[r], self.freq_headway[r])
                tpl = np.arange(self.tpl_first[trip], self.tpl_first[trip + 1])
                k = len(starts)
                shift = np.repeat(day_s + starts - self.trip_first_dep[trip], len(tpl))
                inst = np.repeat(n_inst + np.arange(k), len(tpl))
                parts.append((np.tile(tpl, k), shift, inst))
                inst_trip.append(np.full(k, trip))
                n_inst += k
        tpl = np.concatenate([p[0] for p in parts])
        shift = np.concatenate([p[1] for p in parts]).astype(float)
        inst = np.concatenate([p[2] for p in parts])
        dep = self.tpl_dep[tpl] + shift
        order = np.lexsort((self.tpl_pos[tpl], inst, dep))
        window = _Window(
            base=base,
            dep=dep[order],
            arr=(self.tpl_arr[tpl] + shift)[order],
            frm=self.tpl_frm[tpl][order],
            to=self.tpl_to[tpl][order],
            inst=inst[order],
            flags=self.tpl_flags[tpl][order],
            template=tpl[order],
            inst_trip=np.concatenate(inst_trip) if inst_trip else np.zeros(0, dtype=np.int64),
        )
        self._windows[key] = window
        if len(self._windows) > 8:
            self._windows.popitem(last=False)
        return window

    # -- searching --------------------------------------------------------------
    def _labels(self, window: _Window, t0: dt.datetime, access, egress, direct, limit_s) -> _Labels:
        """One scan from one origin leaving at `t0`."""
        t_start = window.seconds(t0)
        n = len(self.stops)
        ready_bus = t_start + access
        ready_boat = ready_bus + self.boat_slack_s
        lab = _Labels(
            t_start=t_start,
            access=access,
            egress=egress,
            best=t_start + direct,
            alight=np.full(n, np.inf),
            alight_conn=np.full(n, -1, dtype=np.int64),
            walked=np.full(n, np.inf),
            walked_from=np.full(n, -1, dtype=np.int64),
            board_conn=np.full(window.n_inst, -1, dtype=np.int64),
        )
        lab.best = scan(
            *window.connections,
            t_start,
            t_start + limit_s,
            ready_bus,
            ready_boat,
            self.fp_ptr,
            self.fp_to,
            self.fp_s,
            self.transfer_slack_s,
            self.boat_slack_s,
            egress,
            lab.best,
            lab.alight,
            lab.alight_conn,
            lab.walked,
            lab.walked_from,
            lab.board_conn,
        )
        return lab

    def _point_walks(self, place: Places, cap_s: float) -> np.ndarray:
        _, j, s = self._walk_coo(place, cap_s)
        out = np.full(len(self.stops), np.inf)
        out[j] = s
        return out

    def _static(self, origins: Places, dests: Places) -> _Static:
        net = self.model.network
        direct = net.times(origins, dests, _WALK)
        i, j, s = self._walk_coo(origins, self.max_walk_s)
        access = np.full((len(origins), len(self.stops)), np.inf)
        access[i, j] = s
        d, stop, secs = self._walk_coo(dests, self.max_walk_s)  # walking is symmetric
        order = np.argsort(d, kind="stable")
        eg_ptr = np.searchsorted(d[order], np.arange(len(dests) + 1))
        return _Static(
            origins, dests, direct, access, eg_ptr, stop[order].astype(np.int64), secs[order]
        )

    def _arrivals(self, static: _Static, t0: dt.datetime) -> np.ndarray:
        window = self._window(t0, self.horizon_s)
        t_start = window.seconds(t0)
        out = matrix_scan(
            *window.connections,
            window.n_inst,
            t_start,
            t_start + self.horizon_s,
            static.access,
            self.fp_ptr,
            self.fp_to,
            self.fp_s,
            self.transfer_slack_s,
            self.boat_slack_s,
            static.eg_ptr,
            static.eg_stop,
            static.eg_s,
            static.direct,
        )
        out[out > self.horizon_s] = np.inf
        return out

    # -- public queries -----------------------------------------------------------
    @property
    def name(self) -> str:
        """Name of the underlying network."""
        return self.model.name

    @property
    def approximate(self) -> bool:
        """True if walking times come from the approximate network."""
        return self.model.approximate

    @property
    def timetable(self):
        """The boat timetable of the underlying model."""
        return self.model.timetable

    @property
    def links(self):
        """The boat links of the underlying model."""
        return self.model.links

    @property
    def source(self) -> str:
        """Provenance of the network and of every timetable."""
        feeds = "; ".join(f"{f.name}: {f.source}" for f in self.feeds)
        return f"{self.model.source}; transporte público: {feeds}"

    def with_suspensions(self, suspensions) -> TransitModel:
        """Return this model with boat `suspensions` (`routing.boats.Suspension`) added.

        The boats' trips are rebuilt from the suspended timetable; the other
        feeds and the parameters are kept.
        """
        return self.with_timetable(self.model.timetable.with_suspensions(tuple(suspensions)))

    def with_timetable(self, timetable) -> TransitModel:
        """Return this model with another boat `timetable` (`routing.boats.Timetable`).

        The boats' trips are rebuilt from it; the other feeds and the parameters are kept.
        """
        feeds, boats = self._given
        base = replace(self.model, timetable=timetable)
        return TransitModel(base, feeds, params=self.params, boats=boats)

    def snap(self, lon, lat) -> Places:
        """Attach points to the network (see `TravelModel.snap`)."""
        return self.model.snap(lon, lat)

    def find_place(self, text: str) -> tuple[float, float, str]:
        """Resolve a place as `TravelModel.find_place` does, or a stop by its exact name."""
        try:
            return self.model.find_place(text)
        except RoutingInputError:
            wanted = text.strip().casefold()
            hits = np.flatnonzero([str(n).casefold() == wanted for n in self.stop_names])
            if not len(hits):
                raise
            s = int(hits[0])
            return float(self.stop_lon[s]), float(self.stop_lat[s]), str(self.stop_names[s])

    def matrix_array(
        self,
        origins: Places,
        destinations: Places,
        depart_at: dt.datetime,
        *,
        on_foot: bool = True,
        vehicle_at: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """Seconds from each origin to each destination (``inf``: unreachable).

        Without a vehicle: walking, public transport and boats leaving at
        `depart_at`; with one, `TravelModel.matrix_array`.
        """
        if not on_foot or vehicle_at is not None:
            return self.model.matrix_array(
                origins, destinations, depart_at, on_foot=on_foot, vehicle_at=vehicle_at
            )
        return self._arrivals(self._static(origins, destinations), _require_time(depart_at))

    def matrix_arrays(
        self,
        origins: Places,
        destinations: Places,
        times: Iterable[dt.datetime],
        *,
        on_foot: bool = True,
    ) -> Iterator[np.ndarray]:
        """Yield `matrix_array` for each departure time; the walks are computed once."""
        if not on_foot:
            yield from self.model.matrix_arrays(origins, destinations, times, on_foot=False)
            return
        static = self._static(origins, destinations)
        for t in times:
            yield self._arrivals(static, _require_time(t))

    def matrix(
        self,
        origins: pd.DataFrame,
        destinations: pd.DataFrame | None = None,
        depart_at: dt.datetime | None = None,
        *,
        on_foot: bool = True,
    ) -> pd.DataFrame:
        """Long table ``from_id, to_id, travel_time_s`` (NaN: unreachable); see `matrix_array`.

        `origins` and `destinations` have columns ``id, lat, lon`` (WGS84).
        """
        # the same long form as TravelModel.matrix, which calls our matrix_array
        return TravelModel.matrix(self, origins, destinations, depart_at, on_foot=on_foot)

    def journey(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_at: dt.datetime,
        *,
        on_foot: bool = True,
        vehicle_at: tuple[float, float] | None = None,
        labels: tuple[str, str] = ("origen", "destino"),
    ) -> Journey:
        """Earliest-arrival journey between two (lon, lat) points leaving at `depart_at`.

        Without a vehicle the legs are ``caminar``, ``espera`` and rides
        (``bus``, ``colectivo``, ``tren``, ``barco``) with stop names and
        departures; with a vehicle, `TravelModel.journey`.
        """
        if not on_foot or vehicle_at is not None:
            return self.model.journey(
                origin,
                destination,
                depart_at,
                on_foot=on_foot,
                vehicle_at=vehicle_at,
                labels=labels,
            )
        a, b, base, refused = journey_ends(self, origin, destination, depart_at, labels)
        if refused is not None:
            return refused
        depart_at = base["depart_at"]
        access = self._point_walks(a, self.max_walk_s)
        egress = self._point_walks(b, self.max_walk_s)
        direct = float(self.model.network.times(a, b, _WALK)[0, 0])
        legs = self._legs(a, b, labels, depart_at, access, egress, direct, self.horizon_s)
        if legs is None:
            return Journey(
                **base, reason=self._explain(a, b, labels, depart_at, access, egress, direct)
            )
        return Journey(**base, legs=tuple(legs))

    def _legs(self, a, b, labels, t0, access, egress, direct, horizon_s) -> list[Leg] | None:
        """Legs of the earliest journey within `horizon_s`, or None."""
        window = self._window(t0, horizon_s)
        lab = self._labels(window, t0, access, egress, direct, horizon_s)
        arrive = lab.alight + egress
        s = int(np.argmin(arrive)) if len(arrive) else -1
        by_transit = s >= 0 and arrive[s] < lab.t_start + direct
        total = (arrive[s] if by_transit else lab.t_start + direct) - lab.t_start
        if not np.isfinite(total) or total > horizon_s:
            return None
        legs: list[Leg] = []
        if not by_transit:
            self._walk_leg(legs, a, b, labels[0], labels[1], t0)
            return legs
        t, here, here_name = t0, a, labels[0]
        for walk_from, c_board, c_exit in self._chain(window, lab, s):
            board = int(window.frm[c_board])
            if walk_from != board:  # from the origin (-1) or from the stop where one got off
                t = self._walk_leg(
                    legs, here, self.stops.take([board]), here_name, self.stop_names[board], t
                )
            t = self._ride(legs, window, c_board, c_exit, t)
            here = self.stops.take([int(window.to[c_exit])])
            here_name = self.stop_names[int(window.to[c_exit])]
        self._walk_leg(legs, here, b, here_name, labels[1], t)
        return legs

    def _chain(self, window: _Window, lab: _Labels, s: int) -> list[tuple[int, int, int]]:
        """Rides of the journey ending by getting off at stop `s`, in order.

        Each item is (stop where the walk to the boarding stop starts — the
        boarding stop itself when there is no walk, -1 for the origin —,
        boarding connection, last connection).
        """
        chain = []
        for _ in range(len(self.stops) + 2):
            c_exit = int(lab.alight_conn[s])
            c_board = int(lab.board_conn[window.inst[c_exit]])
            stop, d = int(window.frm[c_board]), window.dep[c_board]
            boat = bool(window.flags[c_board] & BOAT)
            slack = self.boat_slack_s if boat else self.transfer_slack_s
            if lab.t_start + lab.access[stop] + (self.boat_slack_s if boat else 0.0) <= d:
                chain.append((-1, c_board, c_exit))
                break
            if lab.alight[stop] + slack <= d:
                chain.append((stop, c_board, c_exit))
                s = stop
            else:
                s = int(lab.walked_from[stop])
                chain.append((s, c_board, c_exit))
        chain.reverse()
        return chain

    def _walk_leg(self, legs, a: Places, b: Places, name_a, name_b, t: dt.datetime) -> dt.datetime:
        coords, metres, seconds = self.model.network.path(a, b, _WALK)
        if not seconds >= 1:
            return t
        arrive = t + dt.timedelta(seconds=seconds)
        legs.append(Leg("caminar", str(name_a), str(name_b), t, arrive, metres, tuple(coords)))
        return arrive

    def _ride(
        self, legs, window: _Window, c_board: int, c_exit: int, t: dt.datetime
    ) -> dt.datetime:
        midnight = dt.datetime.combine(window.base, dt.time(0), tzinfo=t.tzinfo)
        depart = midnight + dt.timedelta(seconds=float(window.dep[c_board]))
        arrive = midnight + dt.timedelta(seconds=float(window.arr[c_exit]))
        board, alight = int(window.frm[c_board]), int(window.to[c_exit])
        if depart > t:
            legs.append(Leg("espera", self.stop_names[board], self.stop_names[board], t, depart))
        tpl_a, tpl_b = int(window.template[c_board]), int(window.template[c_exit])
        trip = int(self.tpl_trip[tpl_a])
        first = self.trip_first[trip]
        rows = self.st_stop[first + self.tpl_pos[tpl_a] : first + self.tpl_pos[tpl_b] + 2]
        geometry = tuple(
            zip(self.stop_lon[rows].tolist(), self.stop_lat[rows].tolist(), strict=True)
        )
        route = int(self.trip_route[trip])
        legs.append(
            Leg(
                str(self.route_kinds[route]),
                str(self.stop_names[board]),
                str(self.stop_names[alight]),
                depart,
                arrive,
                distance_m=_line_length(geometry),
                geometry=geometry,
                line_id=str(self.route_ids[route]),
                line_name=str(self.route_names[route]),
                service_id=str(self.trip_ids[trip]),
                assumed=bool(self.route_assumed[route]),
            )
        )
        return arrive

    def _explain(self, a, b, labels, t0, access, egress, direct) -> str:
        week = 8 * 86400.0
        hours = f"{self.horizon_s / 3600:g} h"
        legs = self._legs(a, b, labels, t0, access, egress, direct, week)
        if legs is None:
            return (
                "no hay conexión caminando, en transporte público ni en barco entre "
                f"{labels[0]} y {labels[1]} en los próximos 8 días (caminatas hasta "
                f"{self.params.max_walk_min:g} min a cada parada)"
            )
        # the ride that makes the journey too late is the one waited for longest
        waits = [
            (legs[i - 1].duration_s if legs[i - 1].kind == "espera" else 0.0, leg)
            for i, leg in enumerate(legs)
            if leg.kind not in ("caminar", "espera")
        ]
        if not waits:
            return f"el destino está a más de {hours} a pie"
        ride = max(waits, key=lambda w: w[0])[1]
        arrive = _when(legs[-1].arrive_at)
        return (
            f"no hay viaje en las próximas {hours}; la primera llegada posible es {arrive}, "
            f"tomando {ride.line_name} {_when(ride.depart_at)} desde {ride.start}"
        )

    def isochrone(
        self,
        origin: tuple[float, float],
        minutes: float,
        depart_at: dt.datetime,
        *,
        on_foot: bool = True,
    ) -> Isochrone:
        """Area reachable within `minutes` without a vehicle (walk, public transport, boats).

        Around each stop reached, the walk left is at most ``max_walk_min`` (no limit
        at piers). With ``on_foot=False``, `TravelModel.isochrone`.
        """
        import shapely

        if not on_foot:
            return self.model.isochrone(origin, minutes, depart_at, on_foot=False)
        depart_at = _require_time(depart_at)
        budget = minutes * 60.0
        a = self.snap([origin[0]], [origin[1]])
        access = self._point_walks(a, self.max_walk_s)
        window = self._window(depart_at, budget)
        lab = self._labels(window, depart_at, access, np.zeros(0), np.inf, budget)
        net = self.model.network
        parts = [net.reach(a, np.zeros(1), budget, _WALK)]
        reached = lab.alight - lab.t_start
        seeds = np.flatnonzero(reached <= budget)
        boats, lines = set(), set()
        if len(seeds):
            start = reached[seeds]
            capped = ~self.pier[seeds]
            start[capped] = np.maximum(start[capped], budget - self.max_walk_s)
            parts.append(net.reach(self.stops.take(seeds), start, budget, _WALK))
            for s in seeds:
                route = int(self.trip_route[self.tpl_trip[window.template[lab.alight_conn[s]]]])
                name = str(self.route_names[route])
                (boats if self.route_kinds[route] == "barco" else lines).add(name)
        return Isochrone(
            shapely.union_all(parts),
            minutes,
            depart_at,
            tuple(sorted(boats)),
            self.approximate,
            lines=tuple(sorted(lines)),
        )

    def last_boat_home(
        self,
        origin: tuple[float, float],
        home: tuple[float, float],
        day: dt.date,
        *,
        latest_arrival: dt.time = dt.time(23, 59),
        on_foot: bool = True,
        vehicle_at: tuple[float, float] | None = None,
        labels: tuple[str, str] = ("visita", "base"),
    ) -> LastDeparture | None:
        """Latest time to leave `origin` on `day` and be `home` by `latest_arrival`.

        Arrival is monotone in the leaving time (one can always wait), so the
        answer is found by bisection to the minute. None if even 00:00 is too late.
        With a vehicle, `TravelModel.last_boat_home`.
        """
        if not on_foot or vehicle_at is not None:
            return self.model.last_boat_home(
                origin,
                home,
                day,
                latest_arrival=latest_arrival,
                on_foot=on_foot,
                vehicle_at=vehicle_at,
                labels=labels,
            )
        deadline = dt.datetime.combine(day, latest_arrival)
        static = self._static(self.snap([origin[0]], [origin[1]]), self.snap([home[0]], [home[1]]))

        def arrives_in_time(minute: int) -> bool:
            t = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minute)
            seconds = float(self._arrivals(static, t)[0, 0])
            return math.isfinite(seconds) and t + dt.timedelta(seconds=seconds) <= deadline

        if not arrives_in_time(0):
            return None
        lo, hi = 0, latest_arrival.hour * 60 + latest_arrival.minute
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if arrives_in_time(mid):
                lo = mid
            else:
                hi = mid - 1
        leave = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=lo)
        return LastDeparture(leave, self.journey(origin, home, leave, labels=labels))

    def service_note(self, day: dt.date) -> str:
        """Spanish warning when no bus or colectivo feed runs on `day` ("" otherwise)."""
        land = np.isin(self.route_kinds[self.trip_route], ["bus", "colectivo", "tren"])
        running = self._active(day)[self.trip_service] & (self.trip_service >= 0)
        if (running & land).any():
            return ""
        spans = [
            f"{f.name}: {span[0]:%d-%m-%Y} a {span[1]:%d-%m-%Y}"
            for f in self.feeds
            if f.has_land_transport and (span := f.date_range) is not None
        ]
        return (
            "Ningún horario de buses o colectivos cargado tiene servicio el "
            f"{DAY_NAMES[day.weekday()]} {day:%d-%m-%Y} (vigencia: {'; '.join(spans)}); "
            "ese día solo se camina y se usa el barco."
        )

    def info(self) -> dict:
        """Facts about the model and its timetables, for ``revincula network info``."""
        facts = self.model.info()
        facts["transporte_publico"] = {
            "horarios": [f.summary() for f in self.feeds],
            "paradas": len(self.stop_ids),
            "paradas_muelle": int(self.pier.sum()),
            "viajes": len(self.trip_ids),
            "transbordos_a_pie": len(self.fp_to),
            "parametros": {
                "caminata_max_min": self.params.max_walk_min,
                "caminata_transbordo_max_min": self.params.max_transfer_walk_min,
                "margen_transbordo_min": self.params.transfer_slack_min,
                "margen_barco_min": self.boat_slack_s / 60,
            },
            "notas": list(self.notes),
        }
        return facts
