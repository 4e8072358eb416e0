"""Boat-aware travel time from every origin to the nearest service of each type.

`Coverage` snaps a set of origins (`layers.origins`) to a travel model once and
answers, for a registry of services (`layers.services`):

* `Coverage.nearest`: minutes to the nearest service of each type leaving at a
  day and hour, by vehicle or on foot, boats and their waits included; the
  service reached; the band; the reason when it cannot be reached today;
* `Coverage.round_trip`: leave at the hour, reach the service within its hours,
  stay ``stay_min`` minutes, and be home the same day (yes/no, time home);
* `Coverage.week`: best, median and worst day of a week at the same hour.

Then pure table functions: `band_counts` (cases, enrolment, population per band
× comuna × island × type), `gaps`, `multi_gaps`, the what-if (`Scenario`,
`apply_scenario`, `compare_counts`) and `suggest_sites` (greedy "where to add
next"). Publishing them to a mesa goes through `layers.privacy`.

Days and hours are America/Santiago (`SANTIAGO`): a naive time is read as local
time there and boat waits count real elapsed time across clock changes. The day
ends at local midnight: a service not reached by then is "no se llega hoy".
The travel model is the planner's (`routing.model.TravelModel`); figures on the
approximate network are approximate and say so (``Coverage.approximate``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.services import SERVICE_TYPES
from layers.services import parse_days
from layers.services import parse_hhmm
from routing.boats import DAY_CODES
from routing.boats import BoatService
from routing.boats import Timetable
from routing.nearest import NearestSearch
from routing.nearest import pair_times
from routing.transit import NO_TRANSIT_REASON
from routing.transit import TransitModel
from routing.transit import TransitUnavailableError
from routing.transit_nearest import TransitNearestSearch

__all__ = [
    "DEFAULT_BANDS_MIN",
    "MODE_LABELS",
    "NOT_TODAY",
    "SANTIAGO",
    "TRANSIT",
    "AddedDeparture",
    "AddedService",
    "Coverage",
    "Scenario",
    "apply_scenario",
    "band_counts",
    "band_labels",
    "band_of",
    "compare_counts",
    "gaps",
    "local_time",
    "multi_gaps",
    "round_minutes",
    "suggest_sites",
    "summarise_week",
]

log = logging.getLogger(__name__)

SANTIAGO = ZoneInfo("America/Santiago")
DEFAULT_BANDS_MIN: tuple[int, ...] = (15, 30, 60, 120)
NOT_TODAY = "no se llega hoy"
WEIGHTS = ("cases", "enrolment", "population")
TRANSIT = "transporte_publico"
# How every figure names its travel mode (keys of `routing.transit.MODES`).
MODE_LABELS: dict[str, str] = {
    "vehiculo": "en vehículo (y barco)",
    "a_pie": "a pie y en lancha",
    TRANSIT: "en transporte público (a pie, bus o colectivo y lancha)",
}
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def local_time(when: dt.datetime) -> dt.datetime:
    """Return `when` in America/Santiago (a naive time is taken as local time there)."""
    if when.tzinfo is None:
        return when.replace(tzinfo=SANTIAGO)
    return when.astimezone(SANTIAGO)


def _seconds_until(t0: dt.datetime, day: dt.date, minute: int) -> float:
    """Real seconds from `t0` to clock time `minute` of local `day` (DST-aware)."""
    when = dt.datetime.combine(day, dt.time(0), tzinfo=SANTIAGO) + dt.timedelta(minutes=minute)
    return (when.astimezone(dt.UTC) - t0.astimezone(dt.UTC)).total_seconds()


def _end_of_day_s(t0: dt.datetime) -> float:
    return _seconds_until(t0, t0.date() + dt.timedelta(days=1), 0)


def round_minutes(seconds) -> np.ndarray:
    """Whole minutes shown to users (half up); NaN stays NaN."""
    return np.floor(np.asarray(seconds, dtype=float) / 60.0 + 0.5)


def band_labels(bands_min: tuple[int, ...] = DEFAULT_BANDS_MIN) -> list[str]:
    """Return the band labels in order, the last two being the same day and `NOT_TODAY`."""
    return [
        *(f"≤ {b} min" for b in bands_min),
        f"más de {bands_min[-1]} min (mismo día)",
        NOT_TODAY,
    ]


def band_of(minutes, bands_min: tuple[int, ...] = DEFAULT_BANDS_MIN) -> np.ndarray:
    """Band label of whole minutes (NaN = not reached today).

    A time exactly on an edge belongs to the lower band (15 min is "≤ 15 min");
    the band is taken from the rounded minutes users see, so they always agree.
    """
    minutes = np.asarray(minutes, dtype=float)
    labels = np.array(band_labels(bands_min), dtype=object)
    index = np.searchsorted(np.asarray(bands_min, dtype=float), minutes, side="left")
    index = np.where(np.isnan(minutes), len(bands_min) + 1, index)
    return labels[index]


class Coverage:
    """Origins attached to a travel model, ready for nearest-service questions.

    Parameters
    ----------
    model
        `routing.model.TravelModel` (the planner's; approximate or OpenStreetMap).
    origins
        Origin table (`layers.origins`): ``origin_id`` and WGS84 points.
    on_foot
        True: on foot and by boat (no vehicle); False: by vehicle (and boat).
        Ignored when `mode` is given.
    mode
        A key of `routing.transit.MODES`: ``vehiculo``, ``a_pie`` (on foot and
        by boat) or ``transporte_publico`` (walk, buses, colectivos and boats;
        `model` must then be a `routing.transit.TransitModel`).
    bands_min
        Band edges in minutes.

    Raises
    ------
    routing.transit.TransitUnavailableError
        ``transporte_publico`` with a model that has no public transport timetable.
    ValueError
        An unknown mode.
    """

    def __init__(
        self,
        model,
        origins: gpd.GeoDataFrame,
        *,
        on_foot: bool = False,
        mode: str | None = None,
        bands_min: tuple[int, ...] = DEFAULT_BANDS_MIN,
    ) -> None:
        start = time.perf_counter()
        self.mode = mode or ("a_pie" if on_foot else "vehiculo")
        if self.mode not in MODE_LABELS:
            msg = f"Modo {self.mode!r} desconocido; use {', '.join(MODE_LABELS)}."
            raise ValueError(msg)
        if self.mode == TRANSIT and not isinstance(model, TransitModel):
            raise TransitUnavailableError(NO_TRANSIT_REASON)
        self.model = model
        self.origins = origins.reset_index(drop=True)
        self.on_foot = self.mode != "vehiculo"
        self.bands_min = tuple(bands_min)
        points = self.origins.geometry.to_crs(4326)
        self.places = model.snap(points.x.to_numpy(), points.y.to_numpy())
        if self.mode == TRANSIT:
            self.search = TransitNearestSearch(model, self.places)
        else:
            base = model.model if isinstance(model, TransitModel) else model
            self.search = NearestSearch(base, self.places, on_foot=self.on_foot)
        log.info(
            "coverage origins=%d snapped=%d in %.2f s",
            len(self.origins),
            int(self.places.ok.sum()),
            time.perf_counter() - start,
        )

    @property
    def approximate(self) -> bool:
        """True when the travel model is the approximate network."""
        return bool(self.model.approximate)

    @property
    def mode_label(self) -> str:
        """The travel mode in Spanish, as every figure must say."""
        return MODE_LABELS[self.mode]

    # -- facilities ------------------------------------------------------------
    def _facilities(self, services: gpd.GeoDataFrame, service_type: str, day: dt.date):
        rows = services[(services["service_type"] == service_type) & services["usable"]]
        open_today = [day.weekday() in (parse_days(d) or ()) for d in rows["days"]]
        rows = rows[np.asarray(open_today, dtype=bool)]
        rows = rows.sort_values("service_id", kind="stable")
        points = rows.geometry.to_crs(4326)
        return rows, self.model.snap(points.x.to_numpy(), points.y.to_numpy())

    # -- one departure ---------------------------------------------------------
    def nearest(
        self,
        services: gpd.GeoDataFrame,
        depart_at: dt.datetime,
        *,
        types: list[str] | None = None,
    ) -> pd.DataFrame:
        """Minutes to the nearest service of each type leaving at `depart_at`.

        Returns
        -------
        pandas.DataFrame
            One row per origin and type: ``origin_id, service_type,
            travel_time_s`` (NaN when not reached today), ``minutes`` (whole
            minutes shown), ``band``, ``service_id``, ``service_name``,
            ``reason`` (Spanish, "" when reached).
        """
        t0 = local_time(depart_at)
        horizon = _end_of_day_s(t0)
        types = types or list(SERVICE_TYPES)
        started = time.perf_counter()
        frames = []
        for service_type in types:
            rows, facilities = self._facilities(services, service_type, t0.date())
            key = (service_type, tuple(rows["service_id"]))
            found = self.search.nearest(facilities, t0, horizon, key=key)
            seconds = np.where(np.isfinite(found.travel_time_s), found.travel_time_s, np.nan)
            minutes = round_minutes(seconds)
            ids = np.append(rows["service_id"].to_numpy(dtype=object), "")
            names = np.append(rows["name"].to_numpy(dtype=object), "")
            frames.append(
                pd.DataFrame(
                    {
                        "origin_id": self.origins["origin_id"].to_numpy(),
                        "service_type": service_type,
                        "travel_time_s": seconds,
                        "minutes": minutes,
                        "band": band_of(minutes, self.bands_min),
                        "service_id": ids[found.facility],
                        "service_name": names[found.facility],
                        "reason": self._reasons(found, facilities, service_type, t0, key),
                    }
                )
            )
        log.info(
            "coverage nearest origins=%d types=%d in %.2f s",
            len(self.origins),
            len(types),
            time.perf_counter() - started,
        )
        return pd.concat(frames, ignore_index=True)

    def _reasons(self, found, facilities, service_type, t0, key) -> np.ndarray:
        reasons = np.full(len(self.origins), "", dtype=object)
        missing = found.facility < 0
        if not missing.any():
            return reasons
        label = SERVICE_TYPES[service_type][0].lower()
        day = DAY_NAMES[t0.weekday()]
        if not facilities.ok.any():
            reasons[missing] = f"no hay {label} con ubicación que atienda el {day}"
            return reasons
        week = self.search.nearest(facilities, t0, 8 * 86400.0, key=key)
        vehicles = "bus, colectivo ni barco" if self.mode == TRANSIT else "barco"
        for i in np.flatnonzero(missing):
            if not self.places.ok[i]:
                reasons[i] = f"origen fuera de la red: {self.places.reason[i]}"
            elif np.isfinite(week.travel_time_s[i]):
                arrive = t0 + dt.timedelta(seconds=float(week.travel_time_s[i]))
                arrive = arrive.astimezone(SANTIAGO)
                reasons[i] = (
                    f"{NOT_TODAY}: no hay {vehicles} a tiempo; se llega el "
                    f"{DAY_NAMES[arrive.weekday()]} a las {arrive:%H:%M}"
                )
            else:
                reasons[i] = (
                    "sin conexión por camino ni por barco en una semana "
                    "(ninguna línea del horario de barcos llega a ese lugar)"
                    if self.mode != TRANSIT
                    else "sin conexión a pie, en bus, colectivo ni barco en una semana "
                    "(ninguna línea cargada llega a ese lugar)"
                )
        return reasons

    # -- round trip ------------------------------------------------------------
    def round_trip(
        self,
        services: gpd.GeoDataFrame,
        service_type: str,
        depart_at: dt.datetime,
        *,
        stay_min: float = 60.0,
        home_by: dt.time | None = None,
    ) -> pd.DataFrame:
        """Same-day round trip to a service of `service_type` leaving at `depart_at`.

        Arriving before the service opens means waiting for it; the stay must
        end by closing time; the way back starts when the stay ends (boats
        included) and must end by `home_by` (default: local midnight). The
        service taken is the one that brings the traveller home earliest (an
        exact search: every service that could do better is evaluated). The way
        back uses the same mode as the way out.

        Returns
        -------
        pandas.DataFrame
            ``origin_id, service_id, arrive_at, start_at, leave_at, home_at``
            (local datetimes or NaT), ``same_day`` (bool), ``reason``.
        """
        t0 = local_time(depart_at)
        day = t0.date()
        horizon = _end_of_day_s(t0)
        deadline = horizon if home_by is None else _seconds_until(
            t0, day, home_by.hour * 60 + home_by.minute)  # fmt: skip
        rows, facilities = self._facilities(services, service_type, day)
        n_orig = len(self.origins)
        arrive = self.search.to_each(facilities, t0, horizon)  # O x F
        opens = np.array([_seconds_until(t0, day, parse_hhmm(v)) for v in rows["opens"]])
        closes = np.array([_seconds_until(t0, day, parse_hhmm(v)) for v in rows["closes"]])
        stay = stay_min * 60.0
        start = np.maximum(arrive, opens[None, :])
        feasible = np.isfinite(arrive) & (start + stay <= closes[None, :])
        best_home = np.full(n_orig, np.inf)
        best_f = np.full(n_orig, -1, dtype=np.int64)
        order_key = np.where(feasible, start, np.inf)
        first = np.argmin(order_key, axis=1) if len(rows) else np.zeros(n_orig, dtype=int)
        has = np.isfinite(order_key[np.arange(n_orig), first]) if len(rows) else first < 0
        pairs = [(np.flatnonzero(has), first[has])]
        done = np.zeros_like(feasible)
        for round_number in range(2):
            o_idx, f_idx = pairs[-1]
            if len(o_idx):
                home = self._home(facilities, o_idx, f_idx, start[o_idx, f_idx] + stay, t0, horizon)
                done[o_idx, f_idx] = True
                _keep_best(best_home, best_f, o_idx, f_idx, home)
            if round_number == 0:
                # any other service whose stay ends before the best home time could do better
                rest = feasible & ~done & (start + stay < best_home[:, None])
                pairs.append(np.nonzero(rest))
        same_day = best_home <= deadline
        return self._round_trip_table(
            rows, best_f, arrive, start, stay, best_home, same_day, feasible, t0, service_type
        )

    def _home(self, facilities, o_idx, f_idx, leave_s, t0, horizon) -> np.ndarray:
        if self.mode == TRANSIT:
            return self.search.pair_times(
                facilities.take(f_idx), self.places.take(o_idx), leave_s, t0, horizon
            )
        start_layer = np.full(len(o_idx), 1 if self.on_foot else 0, dtype=np.int64)
        home, _ = pair_times(
            self.search.model,
            facilities.take(f_idx),
            self.places.take(o_idx),
            leave_s,
            t0,
            horizon,
            start_layer=start_layer,
        )
        return home

    def _round_trip_table(
        self, rows, best_f, arrive, start, stay, home, same_day, feasible, t0, service_type
    ) -> pd.DataFrame:
        def clock(seconds):
            return [
                pd.NaT
                if not np.isfinite(s)
                else (t0 + dt.timedelta(seconds=float(s))).astimezone(SANTIAGO)
                for s in seconds
            ]

        n = len(best_f)
        has = best_f >= 0
        pick = np.where(has, best_f, 0)
        idx = np.arange(n)
        arrive_s = np.where(has, arrive[idx, pick] if arrive.size else np.inf, np.inf)
        start_s = np.where(has, start[idx, pick] if start.size else np.inf, np.inf)
        label = SERVICE_TYPES[service_type][0].lower()
        reasons = np.full(n, "", dtype=object)
        reached_any = np.isfinite(arrive).any(axis=1) if arrive.size else np.zeros(n, bool)
        in_hours = feasible.any(axis=1) if feasible.size else np.zeros(n, bool)
        reasons[~reached_any] = f"no se llega hoy a ningún servicio de tipo {label}"
        reasons[reached_any & ~in_hours] = (
            f"se llega, pero no con {stay / 60:.0f} min dentro del horario de atención"
        )
        last = "bus o barco" if self.mode == TRANSIT else "barco"
        reasons[in_hours & ~same_day] = (
            f"no se vuelve a casa el mismo día (no hay {last} de vuelta a tiempo, o la vuelta "
            "termina después de medianoche)"
        )
        ids = rows["service_id"].to_numpy()
        return pd.DataFrame(
            {
                "origin_id": self.origins["origin_id"].to_numpy(),
                "service_type": service_type,
                "service_id": np.where(has, ids[pick] if len(ids) else "", ""),
                "arrive_at": clock(arrive_s),
                "start_at": clock(start_s),
                "leave_at": clock(start_s + stay),
                "home_at": clock(home),
                "same_day": same_day,
                "reason": reasons,
            }
        )

    # -- the week --------------------------------------------------------------
    def week(
        self,
        services: gpd.GeoDataFrame,
        depart_at: dt.datetime,
        *,
        types: list[str] | None = None,
        weekdays: str = "lu,ma,mi,ju,vi",
    ) -> pd.DataFrame:
        """Best, median and worst day of the week of `depart_at`, at the same hour each day.

        The days are `weekdays` of the Monday-to-Sunday week holding `depart_at`.
        A day on which the service is not reached counts as the worst (the median
        is then "not reached" if it falls on such a day; with an even number of
        days the median is the lower middle day).

        Returns
        -------
        pandas.DataFrame
            ``origin_id, service_type, best_min, median_min, worst_min``
            (NaN = not reached), ``days_reached``, ``days``, ``best_day``,
            ``worst_day`` (Spanish day names).
        """
        minutes, names, base = self.week_minutes(services, depart_at, types=types,
                                                 weekdays=weekdays)  # fmt: skip
        summary = summarise_week(minutes, names)
        return pd.concat([base.reset_index(drop=True), summary], axis=1)

    def week_minutes(
        self,
        services: gpd.GeoDataFrame,
        depart_at: dt.datetime,
        *,
        types: list[str] | None = None,
        weekdays: str = "lu,ma,mi,ju,vi",
    ) -> tuple[np.ndarray, list[str], pd.DataFrame]:
        """Minutes to the nearest service on each of `weekdays`, at the hour of `depart_at`.

        Returns
        -------
        tuple
            ``(minutes, names, keys)``: minutes is ``(rows, days)`` float (NaN =
            not reached that day), names the Spanish day names of the columns,
            keys the ``origin_id, service_type`` of each row (as `nearest`).
        """
        t0 = local_time(depart_at)
        monday = t0.date() - dt.timedelta(days=t0.weekday())
        chosen = sorted(parse_days(weekdays) or range(5))
        per_day = []
        for weekday in chosen:
            day = monday + dt.timedelta(days=weekday)
            when = dt.datetime.combine(day, t0.time(), tzinfo=SANTIAGO)
            table = self.nearest(services, when, types=types)
            per_day.append(table["minutes"].to_numpy())
        keys = table[["origin_id", "service_type"]].copy()
        return np.column_stack(per_day), [DAY_NAMES[d] for d in chosen], keys


def summarise_week(minutes: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Best, median and worst of each row of a ``(rows, days)`` minutes matrix.

    NaN (not reached that day) counts as the worst; the median is the lower
    middle day, so it is "not reached" (NaN) when that day is not reached. The
    best and worst day are the first such day in the order given; with no day
    reached both are "". Pure function.

    Returns
    -------
    pandas.DataFrame
        ``best_min, median_min, worst_min`` (NaN = not reached),
        ``days_reached``, ``days``, ``best_day``, ``worst_day``.
    """
    minutes = np.asarray(minutes, dtype=float).reshape(len(minutes), len(names))
    filled = np.where(np.isnan(minutes), np.inf, minutes)
    ordered = np.sort(filled, axis=1)
    reached = np.isfinite(filled).sum(axis=1)
    labels = np.array(names, dtype=object)

    def finite(values):
        return np.where(np.isfinite(values), values, np.nan)

    return pd.DataFrame(
        {
            "best_min": finite(ordered[:, 0]),
            "median_min": finite(ordered[:, (len(names) - 1) // 2]),
            "worst_min": finite(ordered[:, -1]),
            "days_reached": reached,
            "days": len(names),
            "best_day": np.where(reached > 0, labels[np.argmin(filled, axis=1)], ""),
            "worst_day": np.where(reached > 0, labels[np.argmax(filled, axis=1)], ""),
        }
    )


def _keep_best(best_home, best_f, o_idx, f_idx, home) -> None:
    """Keep, per origin, the candidate home earliest (in place); ties keep the lowest index.

    An origin may have several candidates: the best of them is compared with the
    current best. A feasible visit is kept even when no way home is found (inf).
    """
    order = np.lexsort((f_idx, home, o_idx))
    o_s, h_s, f_s = o_idx[order], home[order], f_idx[order]
    first = np.r_[True, o_s[1:] != o_s[:-1]]
    o1, h1, f1 = o_s[first], h_s[first], f_s[first]
    current = np.where(best_f[o1] < 0, np.iinfo(np.int64).max, best_f[o1])
    better = (h1 < best_home[o1]) | ((h1 == best_home[o1]) & (f1 < current))
    best_home[o1[better]] = h1[better]
    best_f[o1[better]] = f1[better]


# -- tables ----------------------------------------------------------------------
def band_counts(
    times: pd.DataFrame,
    origins: pd.DataFrame,
    *,
    by: tuple[str, ...] = ("comuna_name", "island_name"),
    bands_min: tuple[int, ...] = DEFAULT_BANDS_MIN,
) -> pd.DataFrame:
    """Count cases, enrolment and population per type × `by` × band.

    Each origin is counted once per type (its nearest service); every band
    appears, with zeros, in band order.

    Returns
    -------
    pandas.DataFrame
        ``service_type, *by, band, cases, enrolment, population``.
    """
    joined = times[["origin_id", "service_type", "band"]].merge(
        origins[["origin_id", *by, *WEIGHTS]], on="origin_id", how="left", validate="many_to_one"
    )
    for column in by:
        joined[column] = joined[column].fillna("sin dato")
    labels = band_labels(bands_min)
    joined["band"] = pd.Categorical(joined["band"], categories=labels, ordered=True)
    counts = joined.groupby(["service_type", *by, "band"], observed=False)[list(WEIGHTS)].sum()
    counts = counts.reset_index()
    present = joined[["service_type", *by]].drop_duplicates()
    counts = counts.merge(present, on=["service_type", *by])
    counts[list(WEIGHTS)] = counts[list(WEIGHTS)].astype(int)
    return counts.sort_values(["service_type", *by, "band"], kind="stable").reset_index(drop=True)


def gaps(
    times: pd.DataFrame,
    origins: pd.DataFrame,
    service_type: str,
    threshold_min: float,
    *,
    by: str = "island_name",
) -> pd.DataFrame:
    """Places whose origins are beyond `threshold_min` (or not reached today) for a type.

    Ranked by cases affected, then enrolment, then population, then name.

    Returns
    -------
    pandas.DataFrame
        ``place, cases, enrolment, population, origins, worst_min`` (NaN =
        some origin not reached today).
    """
    rows = times[times["service_type"] == service_type].merge(
        origins[["origin_id", by, *WEIGHTS]], on="origin_id"
    )
    beyond = rows[rows["minutes"].isna() | (rows["minutes"] > threshold_min)]
    if beyond.empty:
        return pd.DataFrame(columns=["place", *WEIGHTS, "origins", "worst_min"])
    table = beyond.groupby(beyond[by].fillna("sin dato")).agg(
        cases=("cases", "sum"),
        enrolment=("enrolment", "sum"),
        population=("population", "sum"),
        origins=("origin_id", "size"),
        worst_min=("minutes", lambda m: np.nan if m.isna().any() else m.max()),
    )
    table = table.reset_index().rename(columns={by: "place"})
    return table.sort_values(
        ["cases", "enrolment", "population", "place"],
        ascending=[False, False, False, True],
        kind="stable",
    ).reset_index(drop=True)


def multi_gaps(
    times: pd.DataFrame,
    origins: pd.DataFrame,
    thresholds_min: dict[str, float],
    *,
    by: str = "island_name",
    at_least: int = 2,
) -> pd.DataFrame:
    """Places where the typical origin lacks several services at once.

    A place lacks a type when the median minutes of its origins exceed the
    threshold (or the median origin is not reached today).

    Returns
    -------
    pandas.DataFrame
        ``place, lacking`` (number of types), ``types`` (Spanish labels), and
        the place's ``cases, enrolment, population``; ranked by ``lacking``
        then cases.
    """
    rows = times[times["service_type"].isin(thresholds_min)].merge(
        origins[["origin_id", by]], on="origin_id"
    )
    rows["filled"] = rows["minutes"].fillna(np.inf)
    median = rows.groupby([by, "service_type"])["filled"].median().unstack()
    median = median[[t for t in thresholds_min if t in median.columns]]  # the order given
    limits = pd.Series(thresholds_min).reindex(median.columns)
    lacking = median.gt(limits, axis=1)
    totals = origins.groupby(by)[list(WEIGHTS)].sum()
    out = pd.DataFrame(
        {
            "place": lacking.index,
            "lacking": lacking.sum(axis=1).to_numpy(),
            "types": [
                ", ".join(SERVICE_TYPES[t][0] for t in lacking.columns[row])
                for row in lacking.to_numpy()
            ],
        }
    ).join(totals, on="place")
    out = out[out["lacking"] >= at_least]
    return out.sort_values(
        ["lacking", "cases", "place"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


# -- what-if ---------------------------------------------------------------------
@dataclass(frozen=True)
class AddedService:
    """A service added in a scenario (an itinerant round: a service on given days)."""

    service_type: str
    lon: float
    lat: float
    name: str = "servicio agregado"
    days: str = "lu,ma,mi,ju,vi"
    opens: str = "08:30"
    closes: str = "17:00"


@dataclass(frozen=True)
class AddedDeparture:
    """An extra sailing of an existing line from one of its terminals on given days."""

    line_id: str
    origin: str
    at: str  # "HH:MM"
    days: str = "lu,ma,mi,ju,vi"


@dataclass(frozen=True)
class Scenario:
    """A what-if as plain data (saved and compared by the app as JSON)."""

    name: str = ""
    add_services: tuple[AddedService, ...] = ()
    remove_service_ids: tuple[str, ...] = ()
    add_departures: tuple[AddedDeparture, ...] = ()

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        """Rebuild a scenario saved with `to_dict`."""
        return cls(
            name=data.get("name", ""),
            add_services=tuple(AddedService(**s) for s in data.get("add_services", ())),
            remove_service_ids=tuple(data.get("remove_service_ids", ())),
            add_departures=tuple(AddedDeparture(**d) for d in data.get("add_departures", ())),
        )


def apply_scenario(  # noqa: C901 - one check per kind of change, all reported at once
    services: gpd.GeoDataFrame, model, scenario: Scenario, territory=None
):
    """Return ``(services, model)`` with the scenario applied (inputs are not changed).

    The model is the same object unless departures are added (then a copy with
    the extended timetable, flagged as assumed).

    Raises
    ------
    ValueError
        In Spanish, for an unknown type, a point in the sea (when `territory` is
        given), an hour that is not HH:MM, unknown days or an unknown line.
    """
    problems = []
    added = []
    for i, extra in enumerate(scenario.add_services, start=1):
        if extra.service_type not in SERVICE_TYPES:
            problems.append(f"servicio agregado {i}: tipo {extra.service_type!r} desconocido.")
        opens, closes = parse_hhmm(extra.opens), parse_hhmm(extra.closes)
        if opens is None or closes is None:
            problems.append(
                f"servicio agregado {i}: las horas «{extra.opens}» y «{extra.closes}» deben "
                "ser HH:MM (ej. 08:30 y 17:00)."
            )
        elif closes <= opens:
            problems.append(
                f"servicio agregado {i}: cierra ({extra.closes}) antes de abrir ({extra.opens})."
            )
        if parse_days(extra.days) is None:
            problems.append(f"servicio agregado {i}: días no válidos (ej. «lu,mi,vi»).")
        if territory is not None:
            from layers.services import _offshore_m
            from layers.territory import MAX_OFFSHORE_M

            gap = _offshore_m(territory, extra.lon, extra.lat)
            if gap > MAX_OFFSHORE_M:
                problems.append(
                    f"servicio agregado {i}: el punto está en el mar, a {gap / 1000:.1f} km de "
                    "la costa; elija un punto en tierra."
                )
        added.append(
            {
                "service_id": f"escenario-{i}",
                "service_type": extra.service_type,
                "name": extra.name,
                "location": "manual",
                "location_note": "agregado en el escenario",
                "can_serve": True,
                "reason": "",
                "usable": True,
                "days": extra.days,
                "opens": extra.opens,
                "closes": extra.closes,
                "hours_assumed": False,
                "enrolment": 0,
                "source": f"escenario {scenario.name!r}",
                "geometry": gpd.points_from_xy([extra.lon], [extra.lat])[0],
            }
        )
    unknown = sorted(set(scenario.remove_service_ids) - set(services["service_id"]))
    if unknown:
        problems.append(f"no existen los servicios a quitar: {', '.join(unknown)}.")
    timetable = model.timetable
    extra_boats = []
    for i, dep in enumerate(scenario.add_departures, start=1):
        template = [
            s for s in timetable.services if s.line_id == dep.line_id and s.origin == dep.origin
        ]
        minute, days = parse_hhmm(dep.at), parse_days(dep.days)
        if not template:
            problems.append(
                f"salida agregada {i}: la línea «{dep.line_id}» no sale de «{dep.origin}» "
                "(no existe ese tramo en el horario de barcos)."
            )
        if minute is None:
            problems.append(
                f"salida agregada {i}: la hora «{dep.at}» no es válida; use HH:MM (ej. 16:30)."
            )
        if days is None:
            problems.append(
                f"salida agregada {i}: los días «{dep.days}» no son válidos (ej. «lu,mi,vi»)."
            )
        if template and minute is not None and days is not None:
            extra_boats.append(
                dataclasses.replace(
                    template[0],
                    service_id=f"escenario-{i}-{template[0].service_id}",
                    departures_min=(minute,),
                    headway_min=None,
                    days=days,
                    assumed=template[0].assumed | {"salidas"},
                    note=f"salida agregada en el escenario {scenario.name!r}",
                )
            )
    if problems:
        msg = "El escenario tiene problemas:\n- " + "\n- ".join(problems)
        raise ValueError(msg)
    out = services[~services["service_id"].isin(scenario.remove_service_ids)]
    if added:
        out = pd.concat([out, gpd.GeoDataFrame(added, crs=4326)], ignore_index=True)
    if extra_boats:
        boats: tuple[BoatService, ...] = (*timetable.services, *extra_boats)
        extended = Timetable(boats, timetable.suspensions)
        if isinstance(model, TransitModel):
            model = model.with_timetable(extended)
        else:
            model = dataclasses.replace(model, timetable=extended)
    return out, model


def compare_counts(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Return counts before and after side by side, with the difference of each weight."""
    keys = [c for c in before.columns if c not in WEIGHTS]
    merged = before.merge(after, on=keys, how="outer", suffixes=("_antes", "_despues"))
    for weight in WEIGHTS:
        for side in ("_antes", "_despues"):
            merged[weight + side] = merged[weight + side].fillna(0).astype(int)
        merged[weight + "_diferencia"] = merged[weight + "_despues"] - merged[weight + "_antes"]
    return merged


def suggest_sites(
    coverage: Coverage,
    services: gpd.GeoDataFrame,
    service_type: str,
    candidates: gpd.GeoDataFrame,
    departures: list[dt.datetime],
    *,
    threshold_min: float = 60.0,
    weight: str = "cases",
    n: int = 3,
) -> pd.DataFrame:
    """Greedy "where to add next": the candidate sites that most reduce the weight beyond.

    Each pick maximises the weight of (origin, departure) pairs moved within
    `threshold_min` over all `departures` (e.g. the same hour on each weekday),
    so a site behind a boat that sails three days a week counts on those days
    only. Ties go to the first candidate.

    Returns
    -------
    pandas.DataFrame
        ``rank, candidate, name, reduced`` (weight moved within the threshold,
        summed over departures) and ``remaining`` (weight still beyond).
    """
    weights = coverage.origins[weight].to_numpy(dtype=float)
    points = candidates.geometry.to_crs(4326)
    cand = coverage.model.snap(points.x.to_numpy(), points.y.to_numpy())
    current, columns = [], []
    for when in departures:
        t0 = local_time(when)
        table = coverage.nearest(services, t0, types=[service_type])
        current.append(table["minutes"].fillna(np.inf).to_numpy())
        columns.append(round_minutes(coverage.search.to_each(cand, t0, _end_of_day_s(t0))))
    current_all = np.concatenate(current)
    cols = np.concatenate([np.where(np.isnan(c), np.inf, c) for c in columns], axis=0)
    w = np.tile(weights, len(departures))
    out = []
    remaining = float(w[current_all > threshold_min].sum())
    for rank in range(1, min(n, len(candidates)) + 1):
        beyond = current_all > threshold_min
        gain = (w[:, None] * (beyond[:, None] & (cols <= threshold_min))).sum(axis=0)
        for previous in out:
            gain[previous["_index"]] = -1
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        current_all = np.minimum(current_all, cols[:, best])
        remaining -= float(gain[best])
        out.append(
            {
                "rank": rank,
                "candidate": str(candidates.iloc[best].get("candidate_id", best)),
                "name": str(candidates.iloc[best].get("name", "")),
                "reduced": float(gain[best]),
                "remaining": remaining,
                "_index": best,
            }
        )
    return pd.DataFrame(
        out, columns=["rank", "candidate", "name", "reduced", "remaining", "_index"]
    ).drop(columns="_index")


def day_code(day: dt.date) -> str:
    """Two-letter Spanish code of `day` (``lu`` .. ``do``)."""
    return DAY_CODES[day.weekday()]
