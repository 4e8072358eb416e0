"""Time-dependent travel model: roads (static) plus timetabled boats.

A `TravelModel` joins a static network (`StreetNetwork` from OpenStreetMap or
`ApproximateNetwork`) with a boat `Timetable`. Boat lines connect terminals;
a journey is road → (wait, boat, road)* and boats are time-dependent: the
traveller waits for the next departure at least ``boarding_margin_min`` after
reaching the terminal, and there is no boat after the last one.

The search works on terminals only. Static times origin → terminal,
terminal → terminal and terminal → destination come from the network; boat
arrivals come from sorted departure arrays (``numpy.searchsorted``) and a
Bellman-Ford style relaxation over boat links, vectorised over all origins at
once. Departures are FIFO per link (an earlier departure never arrives later,
enforced with a suffix minimum of arrivals), so earliest arrival at every
terminal is optimal and the result is exact for the network's static times.

Two travel layers: ``drive`` (with a vehicle) and ``walk``. A passenger-only
boat moves the traveller to the walk layer for the rest of the journey (the
vehicle stays at the pier). A traveller without a vehicle starts on foot.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import unicodedata
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

import numpy as np
import pandas as pd

from routing._errors import RoutingInputError
from routing._geo import LAYERS
from routing._geo import Places
from routing._geo import haversine_m
from routing.boats import DAY_CODES
from routing.boats import BoatService
from routing.boats import Timetable

__all__ = ["BoatLink", "Isochrone", "Journey", "LastDeparture", "Leg", "TravelModel"]

DRIVE, WALK = 0, 1
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_KIND_LABELS = {"conducir": "En vehículo", "caminar": "A pie", "espera": "Espera", "barco": "Barco"}
# Public transport legs (routing.transit): the vehicle kinds of GTFS route types.
TRANSIT_KINDS = {"bus": "Bus", "colectivo": "Colectivo", "tren": "Tren"}


@dataclass(frozen=True)
class BoatLink:
    """One direction of one boat line between two terminals."""

    line_id: str
    line_name: str
    origin: str
    destination: str
    services: tuple[BoatService, ...]
    from_terminal: int
    to_terminal: int
    geometry: tuple[tuple[float, float], ...]

    @property
    def passengers_only(self) -> bool:
        """True if the line carries no vehicles."""
        return all(s.passengers_only for s in self.services)

    @property
    def assumed(self) -> bool:
        """True if any value of the line's timetable is an assumption."""
        return any(s.assumed for s in self.services)


@dataclass(frozen=True)
class Leg:
    """One part of a journey."""

    kind: str  # conducir | caminar | espera | barco
    start: str
    end: str
    depart_at: dt.datetime
    arrive_at: dt.datetime
    distance_m: float = 0.0
    geometry: tuple[tuple[float, float], ...] = ()
    line_id: str = ""
    line_name: str = ""
    service_id: str = ""
    assumed: bool = False

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return (self.arrive_at - self.depart_at).total_seconds()

    def describe(self) -> str:
        """One Spanish line describing the leg."""
        span = f"{self.depart_at:%H:%M}–{self.arrive_at:%H:%M}"
        minutes = _minutes(self.duration_s)
        if self.kind == "barco":
            flag = " (horario supuesto)" if self.assumed else ""
            return (
                f"{span}  Barco {self.line_name}: sale de {self.start} a las "
                f"{self.depart_at:%H:%M} y llega a {self.end} ({minutes}){flag}"
            )
        if self.kind == "espera":
            return f"{span}  Espera en {self.start} ({minutes})"
        if self.kind in TRANSIT_KINDS:
            flag = " (horario supuesto)" if self.assumed else ""
            return (
                f"{span}  {TRANSIT_KINDS[self.kind]} {self.line_name}: sube en {self.start} a las "
                f"{self.depart_at:%H:%M} y baja en {self.end} ({minutes}){flag}"
            )
        km = f", {self.distance_m / 1000:.1f} km" if self.distance_m else ""
        return f"{span}  {_KIND_LABELS[self.kind]} de {self.start} a {self.end} ({minutes}{km})"

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "tipo": self.kind,
            "desde": self.start,
            "hasta": self.end,
            "sale": self.depart_at.isoformat(),
            "llega": self.arrive_at.isoformat(),
            "duracion_s": self.duration_s,
            "distancia_m": self.distance_m,
            "linea_id": self.line_id,
            "linea": self.line_name,
            "servicio_id": self.service_id,
            "supuesto": self.assumed,
            "geometria": [list(c) for c in self.geometry],
        }


@dataclass(frozen=True)
class Journey:
    """A door-to-door journey, or the reason why there is none."""

    origin: str
    destination: str
    depart_at: dt.datetime
    legs: tuple[Leg, ...] = ()
    reason: str = ""
    approximate: bool = False
    network: str = ""

    @property
    def reachable(self) -> bool:
        """True if the destination can be reached."""
        return not self.reason

    @property
    def arrive_at(self) -> dt.datetime | None:
        """Arrival time (None if unreachable)."""
        if not self.reachable:
            return None
        return self.legs[-1].arrive_at if self.legs else self.depart_at

    @property
    def travel_time_s(self) -> float:
        """Door-to-door seconds, waits included (NaN if unreachable)."""
        arrive = self.arrive_at
        return float("nan") if arrive is None else (arrive - self.depart_at).total_seconds()

    def seconds(self, kind: str) -> float:
        """Total seconds of the legs of one kind (e.g. ``"espera"``)."""
        return sum(leg.duration_s for leg in self.legs if leg.kind == kind)

    @property
    def boat_legs(self) -> tuple[Leg, ...]:
        """The boat legs, in order."""
        return tuple(leg for leg in self.legs if leg.kind == "barco")

    def describe(self) -> str:
        """Multi-line Spanish description."""
        head = f"De {self.origin} a {self.destination}, saliendo {_when(self.depart_at)}"
        if self.approximate:
            head += "  [red aproximada: tiempos estimados, no calculados sobre caminos]"
        if not self.reachable:
            return f"{head}\nSin viaje posible: {self.reason}"
        lines = [head, *("  " + leg.describe() for leg in self.legs)]
        arrive = self.arrive_at
        riding = sum(self.seconds(kind) for kind in TRANSIT_KINDS)
        by_land = f", bus o colectivo {_minutes(riding)}" if riding else ""
        lines.append(
            f"Llegada {_when(arrive)}; total {_minutes(self.travel_time_s)} "
            f"(espera {_minutes(self.seconds('espera'))}, barco {_minutes(self.seconds('barco'))}"
            f"{by_land})"
        )
        if any(leg.assumed for leg in self.legs):
            lines.append("Atención: al menos un horario usado (barco o bus) es un supuesto.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "origen": self.origin,
            "destino": self.destination,
            "sale": self.depart_at.isoformat(),
            "llega": self.arrive_at.isoformat() if self.arrive_at else None,
            "tiempo_s": None if not self.reachable else self.travel_time_s,
            "alcanzable": self.reachable,
            "motivo": self.reason,
            "red_aproximada": self.approximate,
            "red": self.network,
            "tramos": [leg.to_dict() for leg in self.legs],
        }


@dataclass(frozen=True)
class Isochrone:
    """Area reachable within `minutes` from an origin leaving at `depart_at`."""

    geometry: object  # shapely geometry, WGS84
    minutes: float
    depart_at: dt.datetime
    boats: tuple[str, ...]
    approximate: bool
    lines: tuple[str, ...] = ()  # bus/colectivo lines used (transporte público)


@dataclass(frozen=True)
class LastDeparture:
    """The latest time to leave and still arrive in time, with that journey."""

    leave_by: dt.datetime
    journey: Journey


@dataclass
class _Search:
    ready: np.ndarray  # (layer, origin, terminal) time standing at a terminal
    ready_from: np.ndarray  # alight terminal it came from, -1 = from the origin
    alight: np.ndarray  # (layer, origin, terminal) time getting off a boat
    alight_link: np.ndarray
    alight_board_layer: np.ndarray


class _Static:
    """Static times of one query; terminal -> destination rows are computed when first needed."""

    def __init__(self, model, dests: Places, direct: np.ndarray, to_terminals: np.ndarray):
        self.model = model
        self.dests = dests
        self.direct = direct
        self.to_terminals = to_terminals
        shape = (len(model.terminals), len(dests))
        self._rows = {layer: np.full(shape, np.nan) for layer in (DRIVE, WALK)}

    def from_terminals(self, layer: int, terminals: np.ndarray) -> np.ndarray:
        """Rows terminal -> destinations on `layer`, for (at least) `terminals`."""
        rows = self._rows[layer]
        missing = terminals[np.isnan(rows[terminals, 0])] if rows.shape[1] else terminals[:0]
        if len(missing):
            net = self.model.network
            rows[missing] = net.times(self.model.terminals.take(missing), self.dests, LAYERS[layer])
        return rows


def journey_ends(model, origin, destination, depart_at, labels):
    """Snap both ends of a journey for `model` (with ``snap``, ``approximate``, ``name``).

    Shared by `TravelModel.journey` and the transit model's ``journey``.

    Returns ``(a, b, base, refused)``: the snapped ends, the fields every `Journey` of
    this question carries, and a `Journey` with the reason when an end is off the
    network (else ``None``).

    Raises
    ------
    RoutingInputError
        When `depart_at` has no time zone.
    """
    depart_at = _require_time(depart_at)
    a = model.snap([origin[0]], [origin[1]])
    b = model.snap([destination[0]], [destination[1]])
    base = {
        "origin": labels[0],
        "destination": labels[1],
        "depart_at": depart_at,
        "approximate": model.approximate,
        "network": model.name,
    }
    if a.ok[0] and b.ok[0]:
        return a, b, base, None
    which, why = ("origen", a.reason[0]) if not a.ok[0] else ("destino", b.reason[0])
    return a, b, base, Journey(**base, reason=f"{which} fuera de la red: {why}")


@dataclass
class TravelModel:
    """Static network + boat timetable; see the module docstring."""

    network: object
    timetable: Timetable
    name: str = ""
    approximate: bool = False
    boat_geometries: dict = field(default_factory=dict)
    places: list = field(default_factory=list)
    notes: tuple[str, ...] = ()
    source: str = ""
    boarding_margin_min: float = 5.0
    horizon_h: float = 24.0
    terminal_slack_m: float = 1500.0
    # a point farther than this past the dead end of a boat ramp is across the water
    beyond_ramp_m: float = 200.0
    # land masses drawn in OSM (islands, islets): (name, ring of (lon, lat)); see `snap`
    land: list = field(default_factory=list)

    def __post_init__(self) -> None:
        """Snap the boat terminals and build the links."""
        self._build_links()
        self._tt_cache: dict[int, np.ndarray] = {}
        self._dep_cache: dict[tuple, list] = {}

    # -- setup ---------------------------------------------------------------
    def _build_links(self) -> None:
        keys: dict[tuple, int] = {}
        names: list[str] = []
        lon: list[float] = []
        lat: list[float] = []

        def terminal(name: str, x: float, y: float) -> int:
            key = (name, round(x, 4), round(y, 4))
            if key not in keys:
                keys[key] = len(names)
                names.append(name)
                lon.append(x)
                lat.append(y)
            return keys[key]

        groups: dict[tuple, list[BoatService]] = {}
        for s in self.timetable.services:
            groups.setdefault((s.line_id, s.origin, s.destination), []).append(s)
        links = []
        for (line_id, origin, destination), services in groups.items():
            first = services[0]
            a = terminal(origin, first.origin_lon, first.origin_lat)
            b = terminal(destination, first.destination_lon, first.destination_lat)
            geometry = self.boat_geometries.get((line_id, origin)) or (
                (first.origin_lon, first.origin_lat),
                (first.destination_lon, first.destination_lat),
            )
            links.append(
                BoatLink(
                    line_id,
                    first.line_name,
                    origin,
                    destination,
                    tuple(services),
                    a,
                    b,
                    tuple(tuple(c) for c in geometry),
                )
            )
        self.terminal_names = tuple(names)
        across: list[list[tuple[float, float]]] = [[] for _ in names]
        for link in links:
            across[link.from_terminal].append((lon[link.to_terminal], lat[link.to_terminal]))
            across[link.to_terminal].append((lon[link.from_terminal], lat[link.from_terminal]))
        self.terminals = self.network.snap(
            np.array(lon), np.array(lat), slack_m=self.terminal_slack_m, avoid=across
        )
        unusable = {i for i in range(len(names)) if not self.terminals.ok[i]}
        one_land = self._one_land_lines(links)
        self.links = tuple(
            lk
            for lk in links
            if lk.from_terminal not in unusable
            and lk.to_terminal not in unusable
            and lk.line_id not in one_land
        )
        self._ramps = self._find_ramps()
        dropped = sorted(
            {lk.line_name for lk in links if lk.line_id not in one_land}
            - {lk.line_name for lk in self.links}
        )
        if dropped:
            self.notes = (
                *self.notes,
                "líneas sin terminal en la red (no se usan): " + ", ".join(dropped),
            )

    def _one_land_lines(self, links) -> set[str]:
        """Lines whose two ends attach to one land mass (a data error), with a note each.

        Only for networks whose anchors are land masses (the approximate one): on
        a road network a boat may well join two points of one road system.
        """
        if not getattr(self.network, "anchors_are_land", False):
            return set()
        bad: dict[str, str] = {}
        anchor = self.terminals.anchor
        for lk in links:
            a, b = anchor[lk.from_terminal], anchor[lk.to_terminal]
            if a >= 0 and a == b and lk.line_id not in bad:
                shore = self.network.params.terminal_shore_m / 1000
                bad[lk.line_id] = (
                    f"línea {lk.line_name} ({lk.line_id}): sus dos terminales, {lk.origin} y "
                    f"{lk.destination}, quedan en la misma masa de tierra "
                    f"({self.network.land_name(int(a))}) y no hay otra costa a menos de "
                    f"{shore:g} km de ninguno de ellos, así que el barco no une nada; "
                    "la línea no se usa. Corrija las coordenadas del terminal que está en "
                    "la otra orilla (horario de barcos)."
                )
        self.notes = (*self.notes, *bad.values())
        return set(bad)

    def _terminal_times(self, layer: int) -> np.ndarray:
        if layer not in self._tt_cache:
            tt = self.network.times(self.terminals, self.terminals, LAYERS[layer])
            np.fill_diagonal(tt, 0.0)
            self._tt_cache[layer] = tt
        return self._tt_cache[layer]

    def _departures(self, t0: dt.datetime, horizon_s: float) -> list:
        """Per link: (departure seconds after t0, best arrival from here on, departure index)."""
        key = (t0, horizon_s)
        if key in self._dep_cache:
            return self._dep_cache[key]
        out = []
        days = math.ceil(horizon_s / 86400) + 1
        for link in self.links:
            rows = []
            for offset in range(days + 1):
                day = t0.date() + dt.timedelta(days=offset)
                if self.timetable.is_suspended(link.line_id, day):
                    continue
                for service in link.services:
                    for minute in service.departures_on(day):
                        dep = _elapsed_s(t0, day, minute)
                        cancelled = self.timetable.is_cancelled(link.line_id, day, minute)
                        if 0 <= dep <= horizon_s and not cancelled:
                            rows.append((dep, dep + service.crossing_min * 60, service.service_id))
            rows.sort()
            dep = np.array([r[0] for r in rows], dtype=float)
            arr = np.array([r[1] for r in rows], dtype=float)
            best = np.minimum.accumulate(arr[::-1])[::-1] if len(arr) else arr
            out.append((dep, best, rows))
        if len(self._dep_cache) > 64:
            self._dep_cache.clear()
        self._dep_cache[key] = out
        return out

    # -- search --------------------------------------------------------------
    def _search(self, to_terminals: np.ndarray, start: int, t0, horizon_s, pickup=None) -> _Search:
        n_orig, n_term = to_terminals.shape
        shape = (2, n_orig, n_term)
        ready = np.full(shape, np.inf)
        ready[start] = to_terminals
        ready_from = np.full(shape, -1, dtype=np.int64)
        alight = np.full(shape, np.inf)
        alight_link = np.full(shape, -1, dtype=np.int64)
        board_layer = np.full(shape, -1, dtype=np.int64)
        margin = self.boarding_margin_min * 60
        departures = self._departures(t0, horizon_s)
        tt = (self._terminal_times(DRIVE), self._terminal_times(WALK))
        for _ in range(len(self.links) + 1):
            changed = False
            for li, link in enumerate(self.links):
                dep, best, _rows = departures[li]
                if not len(dep):
                    continue
                for layer in (DRIVE, WALK):
                    r = ready[layer, :, link.from_terminal]
                    finite = np.isfinite(r)
                    if not finite.any():
                        continue
                    idx = np.searchsorted(dep, r + margin, side="left")
                    ok = finite & (idx < len(dep))
                    arrive = np.full(n_orig, np.inf)
                    arrive[ok] = best[idx[ok]]
                    to_layer = WALK if link.passengers_only else layer
                    if pickup is not None and pickup[link.to_terminal]:
                        to_layer = DRIVE  # the vehicle waits at this pier
                    current = alight[to_layer, :, link.to_terminal]
                    better = arrive < current
                    if better.any():
                        current[better] = arrive[better]
                        alight_link[to_layer, better, link.to_terminal] = li
                        board_layer[to_layer, better, link.to_terminal] = layer
                        changed = True
            if not changed:
                break
            for layer in (DRIVE, WALK):
                cand = alight[layer][:, :, None] + tt[layer][None, :, :]
                k = cand.argmin(axis=1)
                best_ready = np.take_along_axis(cand, k[:, None, :], axis=1)[:, 0, :]
                better = best_ready < ready[layer]
                ready[layer][better] = best_ready[better]
                ready_from[layer][better] = k[better]
        return _Search(ready, ready_from, alight, alight_link, board_layer)

    def _pickup(self, vehicle_at) -> np.ndarray | None:
        """Mask of the terminals within 1 km of a parked vehicle."""
        if vehicle_at is None:
            return None
        return haversine_m(self.terminals.lon, self.terminals.lat, *vehicle_at) <= 1000.0

    def _static(self, origins: Places, dests: Places, start: int) -> _Static:
        """Time-independent part of a query: origin -> destinations and terminals."""
        both = self.network.times(origins, Places.concat([dests, self.terminals]), LAYERS[start])
        return _Static(self, dests, both[:, : len(dests)], both[:, len(dests) :])

    def _arrivals(self, origins: Places, dests: Places, start: int, t0, horizon_s, pickup=None):
        """Return (arrival seconds O x D, choice O x D, search)."""
        return self._combine(self._static(origins, dests, start), start, t0, horizon_s, pickup)

    def _combine(self, static: _Static, start: int, t0, horizon_s, pickup=None):
        """Add the boats (departing at `t0`) to the static times of a query."""
        search = self._search(static.to_terminals, start, t0, horizon_s, pickup)
        best = static.direct.copy()
        choice = np.full(best.shape, -1, dtype=np.int64)
        n_term = len(self.terminals)
        for layer in (DRIVE, WALK):
            reached = np.flatnonzero(np.isfinite(search.alight[layer]).any(axis=0))
            if not len(reached):
                continue
            to_dest = static.from_terminals(layer, reached)
            for k in reached:
                cand = search.alight[layer][:, k, None] + to_dest[k][None, :]
                better = cand < best
                best[better] = cand[better]
                choice[better] = layer * n_term + k
        best[best > horizon_s] = np.inf
        return best, choice, search

    # -- public queries --------------------------------------------------------
    def snap(self, lon, lat) -> Places:
        """Attach points to the network (see the network's `snap`); never across the water.

        On a street network, a point whose nearest road point is the dead end of
        a boat ramp and which lies more than ``beyond_ramp_m`` past it is on the
        other side of the water (an islet with no road, the shore across): it
        is not driven to, and its `reason` says why (issue 17, item 9).
        """
        places = self.network.snap(lon, lat)
        if places.edge is None or not (self._ramps or self.land):
            return places
        net = self.network
        cut: dict[int, object] = self._across_land(places)
        on = places.ok & ((places.along == 0.0) | (places.along == 1.0))
        end = np.where(places.along == 0.0, net.edge_u[places.edge], net.edge_v[places.edge])
        for i in np.flatnonzero(on & (places.access_m > self.beyond_ramp_m)):
            if int(end[i]) in self._ramps and i not in cut:
                line, pier = self._ramps[int(end[i])]
                cut[i] = (
                    f"el punto está a {places.access_m[i] / 1000:.1f} km más allá del final del "
                    f"camino en el muelle {pier} ({line}): queda al otro lado del agua y ningún "
                    "camino de la red llega a él. Si hay un camino, agréguelo a OpenStreetMap; "
                    "si un barco llega a ese lugar, agréguelo al horario de barcos"
                )
        if not cut:
            return places
        anchor, edge, reasons = places.anchor.copy(), places.edge.copy(), list(places.reason)
        access, along = places.access_m.copy(), places.along.copy()
        for i, why in cut.items():
            if isinstance(why, tuple):  # moved to a road of its own land
                edge[i], along[i], access[i], anchor[i] = why
            else:
                anchor[i], edge[i], reasons[i] = -1, -1, why
        return Places(places.lon, places.lat, anchor, access, tuple(reasons), edge, along)

    def _across_land(self, places: Places) -> dict[int, object]:
        """Points on an OSM island or islet whose nearest road is on other land.

        Returns {index: new attachment} for those moved to the nearest road of
        their own land (edge, fraction, metres, anchor: reached by its boat),
        and {index: Spanish reason} for those on land without any road.
        """
        if not self.land or not len(places):
            return {}
        import shapely

        net = self.network
        if not hasattr(self, "_land_index"):
            polys = [
                shapely.Polygon(net._xy(*np.asarray(ring, dtype=float).T)) for _, ring in self.land
            ]
            polys = [shapely.make_valid(p) for p in polys]
            self._land_index = (polys, shapely.STRtree(polys))
        polys, tree = self._land_index
        ok = np.flatnonzero(places.ok & (places.edge >= 0))
        points = shapely.points(net._xy(places.lon[ok], places.lat[ok]))
        which, land = tree.query(points, predicate="within")
        index = net._edge_index()
        out: dict[int, str] = {}
        for w, k in zip(which.tolist(), land.tolist(), strict=True):
            i = int(ok[w])
            line = index.lines[int(np.searchsorted(index.canon, places.edge[i]))]
            if i in out or shapely.intersects(line, polys[k]):
                continue
            own = self._own_road(polys[k], points[w])
            if own is not None:
                out[i] = own  # a road on the point's own land: reached by its boat
                continue
            name = self.land[k][0] or "una isla o islote sin nombre"
            out[i] = (
                f"el punto está en {name} (OpenStreetMap), donde la red no tiene caminos; el "
                f"camino más cercano, a {places.access_m[i] / 1000:.1f} km, está en otra masa "
                "de tierra, al otro lado del agua. Si un barco llega allí, agréguelo al horario"
            )
        # a point inside several polygons (an islet in a lake of an island) keeps the innermost
        return {i: why for i, why in out.items() if not self._on_own_land(places, i, polys, tree)}

    def _own_road(self, polygon, point):
        """(edge, fraction, metres, anchor) of the nearest road on the point's own land, or None."""
        import shapely

        net = self.network
        index = net._edge_index()
        cand = index.tree.query(polygon, predicate="intersects")
        cand = cand[index.main[cand]] if len(cand) else cand
        if not len(cand):
            return None
        d = shapely.distance(index.lines[cand], point)
        k = int(cand[np.argmin(d)])
        if d.min() > net.max_snap_m:
            return None
        line = index.lines[k]
        t = float(shapely.line_locate_point(line, point, normalized=True))
        e = int(index.canon[k])
        anchor = int(net.edge_u[e] if t < 0.5 else net.edge_v[e])
        return (e, t, float(d.min()), anchor)

    def _on_own_land(self, places: Places, i: int, polys, tree) -> bool:
        """Say whether some land polygon holds both the point and its road (nested land)."""
        import shapely

        net = self.network
        point = shapely.points(net._xy(places.lon[i : i + 1], places.lat[i : i + 1]))[0]
        index = net._edge_index()
        line = index.lines[int(np.searchsorted(index.canon, places.edge[i]))]
        return any(
            shapely.intersects(line, polys[k]) for k in tree.query(point, predicate="within")
        )

    def _find_ramps(self) -> dict[int, tuple[str, str]]:
        """Dead-end road nodes where a boat line lands: {node: (line name, terminal name)}."""
        net = self.network
        terms = self.terminals
        if terms.edge is None or not hasattr(net, "_layers"):
            return {}
        leaf = net._layers["walk"].leaf
        ramps: dict[int, tuple[str, str]] = {}
        for link in self.links:
            for k, name in (
                (link.from_terminal, link.origin),
                (link.to_terminal, link.destination),
            ):
                if not terms.ok[k] or terms.edge[k] < 0:
                    continue
                e, t = int(terms.edge[k]), float(terms.along[k])
                node = int(net.edge_u[e] if t < 0.5 else net.edge_v[e])
                if leaf[node]:
                    ramps.setdefault(node, (link.line_name, name))
        return ramps

    def matrix(
        self,
        origins: pd.DataFrame,
        destinations: pd.DataFrame | None = None,
        depart_at: dt.datetime | None = None,
        *,
        on_foot: bool = False,
    ) -> pd.DataFrame:
        """Long table ``from_id, to_id, travel_time_s`` (NaN = unreachable).

        `origins` and `destinations` have columns ``id, lat, lon``; destinations
        default to the origins. Times include waits for boats.
        """
        destinations = origins if destinations is None else destinations
        seconds = self.matrix_array(
            self.snap(origins["lon"].to_numpy(), origins["lat"].to_numpy()),
            self.snap(destinations["lon"].to_numpy(), destinations["lat"].to_numpy()),
            _require_time(depart_at),
            on_foot=on_foot,
        )
        seconds[~np.isfinite(seconds)] = np.nan
        return pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "travel_time_s": seconds.ravel(),
            }
        )

    def matrix_array(
        self,
        origins: Places,
        destinations: Places,
        depart_at: dt.datetime,
        *,
        on_foot: bool = False,
        vehicle_at: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """Seconds from each origin to each destination (inf = unreachable)."""
        start = WALK if on_foot else DRIVE
        best, _, _ = self._arrivals(
            origins,
            destinations,
            start,
            depart_at,
            self.horizon_h * 3600,
            self._pickup(vehicle_at),
        )
        return best

    def matrix_arrays(
        self,
        origins: Places,
        destinations: Places,
        times: Iterable[dt.datetime],
        *,
        on_foot: bool = False,
    ) -> Iterator[np.ndarray]:
        """Yield :meth:`matrix_array` for each departure time; the road part is computed once."""
        start = WALK if on_foot else DRIVE
        static = self._static(origins, destinations, start)
        for t in times:
            best, _, _ = self._combine(static, start, t, self.horizon_h * 3600)
            yield best

    def journey(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_at: dt.datetime,
        *,
        on_foot: bool = False,
        vehicle_at: tuple[float, float] | None = None,
        labels: tuple[str, str] = ("origen", "destino"),
    ) -> Journey:
        """Fastest journey between two (lon, lat) points leaving at `depart_at`.

        `on_foot` starts without a vehicle; `vehicle_at` is where a vehicle is
        parked (a pier): arriving there by boat, the journey continues driving.
        """
        a, b, base, refused = journey_ends(self, origin, destination, depart_at, labels)
        if refused is not None:
            return refused
        depart_at = base["depart_at"]
        start = WALK if on_foot else DRIVE
        pickup = self._pickup(vehicle_at)
        horizon = self.horizon_h * 3600
        best, choice, search = self._arrivals(a, b, start, depart_at, horizon, pickup)
        if not np.isfinite(best[0, 0]):
            return Journey(**base, reason=self._explain(a, b, start, depart_at, labels, pickup))
        chain = self._chain(int(choice[0, 0]), search, start)
        legs = self._simulate(a, b, chain, start, depart_at, labels, horizon, pickup)
        return Journey(**base, legs=tuple(legs))

    def _chain(self, choice: int, search: _Search, start: int) -> list[tuple[int, int]]:
        """Return [(link index, boarding layer), ...] of the chosen journey, in order."""
        chain: list[tuple[int, int]] = []
        if choice < 0:
            return chain
        n_term = len(self.terminals)
        layer, k = divmod(choice, n_term)
        for _ in range(4 * len(self.links) + 2):
            li = int(search.alight_link[layer, 0, k])
            board = int(search.alight_board_layer[layer, 0, k])
            chain.append((li, board))
            frm = self.links[li].from_terminal
            previous = int(search.ready_from[board, 0, frm])
            if previous < 0:
                break
            layer, k = board, previous
        chain.reverse()
        if chain and chain[0][1] != start:
            msg = "búsqueda inconsistente"  # pragma: no cover - defensive
            raise AssertionError(msg)
        return chain

    def _simulate(
        self, a: Places, b: Places, chain, start: int, t0, labels, horizon_s, pickup=None
    ) -> list[Leg]:
        """Walk the chosen sequence of boats forward, taking the best departures."""
        legs: list[Leg] = []
        t = t0
        here, here_name, layer = a, labels[0], start
        departures = self._departures(t0, horizon_s)
        margin = self.boarding_margin_min * 60

        def pier_name(name: str) -> str:
            # A terminal named like an end of the journey («Isla Quenac») is told apart from it,
            # so that no leg reads «de Isla Quenac a Isla Quenac».
            return f"Embarcadero {name}" if name in labels else name

        for li, _board in chain:
            link = self.links[li]
            pier = self.terminals.take([link.from_terminal])
            origin, destination = pier_name(link.origin), pier_name(link.destination)
            t = self._road_leg(legs, here, pier, here_name, origin, layer, t)
            dep, best, rows = departures[li]
            i = int(np.searchsorted(dep, (t - t0).total_seconds() + margin, side="left"))
            # the departure that gives the best arrival from here on (FIFO)
            i += int(np.flatnonzero(np.array([r[1] for r in rows[i:]]) == best[i])[0])
            depart_at = t0 + dt.timedelta(seconds=rows[i][0])
            arrive_at = t0 + dt.timedelta(seconds=rows[i][1])
            legs.append(Leg("espera", origin, origin, t, depart_at))
            legs.append(
                Leg(
                    "barco",
                    origin,
                    destination,
                    depart_at,
                    arrive_at,
                    distance_m=_line_length(link.geometry),
                    geometry=link.geometry,
                    line_id=link.line_id,
                    line_name=link.line_name,
                    service_id=rows[i][2],
                    assumed=link.assumed,
                )
            )
            t = arrive_at
            if link.passengers_only:
                layer = WALK
            if pickup is not None and pickup[link.to_terminal]:
                layer = DRIVE
            here, here_name = self.terminals.take([link.to_terminal]), destination
        self._road_leg(legs, here, b, here_name, labels[1], layer, t)
        return legs

    def _road_leg(self, legs, a: Places, b: Places, name_a, name_b, layer, t) -> dt.datetime:
        coords, metres, seconds = self.network.path(a, b, LAYERS[layer])
        if seconds < 1:
            return t
        arrive = t + dt.timedelta(seconds=seconds)
        kind = "conducir" if layer == DRIVE else "caminar"
        legs.append(Leg(kind, name_a, name_b, t, arrive, metres, tuple(coords)))
        return arrive

    def _explain(self, a: Places, b: Places, start, t0, labels, pickup=None) -> str:
        """Spanish reason why `b` cannot be reached from `a` within the horizon."""
        week = 8 * 86400.0
        best, choice, search = self._arrivals(a, b, start, t0, week, pickup)
        horizon = f"{self.horizon_h:g} h"
        if np.isfinite(best[0, 0]):
            chain = self._chain(int(choice[0, 0]), search, start)
            legs = self._simulate(a, b, chain, start, t0, labels, week, pickup)
            # the boat that makes the journey too late is the one waited for longest
            waits = [
                (legs[i - 1].duration_s, leg)
                for i, leg in enumerate(legs)
                if leg.kind == "barco" and legs[i - 1].kind == "espera"
            ]
            boat = max(waits, key=lambda w: w[0])[1]
            return (
                f"no hay barco a tiempo en las próximas {horizon}; la primera salida útil es "
                f"{boat.line_name} {_when(boat.depart_at)} desde {boat.start}"
                f" (la línea opera {_service_days(self, boat.line_id)})"
            )
        return (
            f"no hay conexión por camino ni por barco entre {labels[0]} y {labels[1]} "
            "(ninguna línea de barco del horario llega a ese lugar)"
        )

    def last_boat_home(
        self,
        origin: tuple[float, float],
        home: tuple[float, float],
        day: dt.date,
        *,
        latest_arrival: dt.time = dt.time(23, 59),
        on_foot: bool = False,
        vehicle_at: tuple[float, float] | None = None,
        labels: tuple[str, str] = ("visita", "base"),
    ) -> LastDeparture | None:
        """Latest time to leave `origin` on `day` and be `home` by `latest_arrival`.

        Arrival is monotone in the leaving time (FIFO boats), so the answer is
        found by bisection to the minute. Returns None if even leaving at 00:00
        does not arrive in time.
        """
        deadline = dt.datetime.combine(day, latest_arrival)
        a = self.snap([origin[0]], [origin[1]])
        b = self.snap([home[0]], [home[1]])
        start = WALK if on_foot else DRIVE
        pickup = self._pickup(vehicle_at)
        static = self._static(a, b, start)  # the same for every leaving time

        def arrives_in_time(minute: int) -> bool:
            t = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minute)
            best, _, _ = self._combine(static, start, t, self.horizon_h * 3600, pickup)
            return (
                bool(np.isfinite(best[0, 0]))
                and t + dt.timedelta(seconds=float(best[0, 0])) <= deadline
            )

        last = latest_arrival.hour * 60 + latest_arrival.minute
        if not arrives_in_time(0):
            return None
        lo, hi = 0, last
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if arrives_in_time(mid):
                lo = mid
            else:
                hi = mid - 1
        leave = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=lo)
        journey = self.journey(
            origin, home, leave, on_foot=on_foot, vehicle_at=vehicle_at, labels=labels
        )
        return LastDeparture(leave, journey)

    def isochrone(
        self,
        origin: tuple[float, float],
        minutes: float,
        depart_at: dt.datetime,
        *,
        on_foot: bool = False,
    ) -> Isochrone:
        """Area reachable within `minutes` leaving `origin` at `depart_at` (boats included)."""
        import shapely

        depart_at = _require_time(depart_at)
        budget = minutes * 60.0
        a = self.snap([origin[0]], [origin[1]])
        start = WALK if on_foot else DRIVE
        to_terms = self.network.times(a, self.terminals, LAYERS[start])
        search = self._search(to_terms, start, depart_at, budget)
        parts = [self.network.reach(a, np.zeros(1), budget, LAYERS[start])]
        boats = set()
        for layer in (DRIVE, WALK):
            arrive = search.alight[layer, 0]
            seeds = np.flatnonzero(arrive <= budget)
            if len(seeds):
                terms = self.terminals.take(seeds)
                parts.append(self.network.reach(terms, arrive[seeds], budget, LAYERS[layer]))
                boats.update(self.links[search.alight_link[layer, 0, k]].line_name for k in seeds)
        return Isochrone(
            shapely.union_all(parts), minutes, depart_at, tuple(sorted(boats)), self.approximate
        )

    # -- places and facts ------------------------------------------------------
    def find_place(self, text: str) -> tuple[float, float, str]:
        """Resolve ``"lat,lon"`` or a place name to (lon, lat, label)."""
        parts = text.replace(";", ",").split(",")
        if len(parts) == 2:
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                pass
            else:
                if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not (
                    math.isfinite(lat) and math.isfinite(lon)
                ):
                    msg = (
                        f"Las coordenadas {text!r} no son válidas: escriba 'lat,lon' con la "
                        "latitud entre -90 y 90 y la longitud entre -180 y 180 "
                        "(por ejemplo -42.48,-73.76)."
                    )
                    raise RoutingInputError(msg)
                return lon, lat, f"{lat:.5f},{lon:.5f}"
        candidates = [*self.places, *self._terminal_places()]
        wanted = _normalise(text)
        exact = [c for c in candidates if _normalise(c[0]) == wanted]
        if not exact:
            exact = [c for c in candidates if wanted and wanted in _normalise(c[0])]
        by_name = {c[0]: c for c in exact}
        if len(by_name) == 1 or (exact and len({_normalise(c[0]) for c in exact}) == 1):
            name, lon, lat, _kind = exact[0]
            return lon, lat, name
        if len(by_name) > 1:
            options = ", ".join(sorted(by_name)[:10])
            msg = f"El lugar {text!r} es ambiguo; escriba uno de: {options}."
            raise RoutingInputError(msg)
        close = difflib.get_close_matches(
            wanted, [_normalise(c[0]) for c in candidates], n=5, cutoff=0.6
        )
        hint = f" ¿Quiso decir: {', '.join(close)}?" if close else ""
        msg = (
            f"No se encontró el lugar {text!r} en la red {self.name!r}.{hint} "
            "También puede dar coordenadas como 'lat,lon' (por ejemplo -42.48,-73.76)."
        )
        raise RoutingInputError(msg)

    def _terminal_places(self) -> list[tuple[str, float, float, str]]:
        return [
            (name, float(self.terminals.lon[i]), float(self.terminals.lat[i]), "terminal")
            for i, name in enumerate(self.terminal_names)
        ]

    def info(self) -> dict:
        """Facts about the model, for ``revincula network info``."""
        n_comp, largest = self.network.components()
        return {
            "red": self.name,
            "fuente": self.source,
            "aproximada": self.approximate,
            "nodos": self.network.n_nodes,
            "aristas": self.network.n_edges,
            "componentes": n_comp,
            "componente_mayor": largest,
            "lineas_barco": len({lk.line_id for lk in self.links}),
            "tramos_barco": len(self.links),
            "lineas_supuestas": len({lk.line_id for lk in self.links if lk.assumed}),
            "notas": list(self.notes),
        }


def _elapsed_s(t0: dt.datetime, day: dt.date, minute: int) -> float:
    """Seconds from `t0` to the clock time `minute` (after midnight) of `day`.

    With a zone-aware `t0` (e.g. America/Santiago) this is real elapsed time
    across daylight-saving changes, a clock time that does not exist or occurs
    twice being read as `zoneinfo` does (``fold=0``). Naive times are local
    clock times, as in the rest of the model.
    """
    when = dt.datetime.combine(day, dt.time(0), tzinfo=t0.tzinfo) + dt.timedelta(minutes=minute)
    if t0.tzinfo is None:
        return (when - t0).total_seconds()
    return (when.astimezone(dt.UTC) - t0.astimezone(dt.UTC)).total_seconds()


def _require_time(value) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        msg = "Indique la hora de salida (fecha y hora, por ejemplo 2026-03-10 08:00)."
        raise RoutingInputError(msg)
    return value


def _line_length(coords) -> float:
    xy = np.asarray(coords, dtype=float)
    if len(xy) < 2:
        return 0.0
    return float(haversine_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]).sum())


def _minutes(seconds: float) -> str:
    total = round(seconds / 60)
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"


def _when(t: dt.datetime) -> str:
    return f"el {DAY_NAMES[t.weekday()]} {t:%d-%m-%Y} a las {t:%H:%M}"


def _service_days(model: TravelModel, line_id: str) -> str:
    days = sorted({d for s in model.timetable.services_of(line_id) for d in s.days})
    return ", ".join(DAY_CODES[d] for d in days)


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("-", " ").replace("'", " ").split())
