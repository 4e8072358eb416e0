"""Public transport timetables as GTFS: reading, validating, converting and writing.

A `TransitFeed` holds one timetable in GTFS shape (stops, routes, trips, stop
times, calendars, calendar exceptions, frequencies) with times as integer
seconds after the start of the service day. It comes from

* a GTFS zip (`read_gtfs`), validated all-or-nothing with every problem listed
  in Spanish at once;
* the territory's boat timetable (`timetable_feed`): one trip per sailing;
* lines entered by hand (`routing.lines.parse_lines`).

GTFS feeds are read and written with gtfs-kit (MIT, maintained: release 13.0.1
of 2026-08); it does no validation of its own (its author points to the Java
canonical validator, which is not available offline), so the checks here are
ours. Times past 24:00:00 are kept as GTFS defines them: seconds after
"noon minus 12 h" of the service day, so 25:10:00 on Saturday's service is
01:10 on Sunday (we take noon minus 12 h as midnight: local clock times, off by
one hour on the two daylight-saving change days). Stop times without a time
(non-timepoints) are interpolated linearly in stop order between the timed
stops around them.

Route types (GTFS basic and extended, developers.google.com/transit/gtfs/
reference/extended-route-types) are grouped in the kinds a journey shows:
``bus`` (3, 11, 200-299 coach, 700-799, 800-899), ``colectivo`` (1500-1599
taxi services but 1502, e.g. 1501 communal taxi), ``barco`` (4, 1000-1099,
1200-1299, 1502 water taxi) and ``tren`` (rail, metro, tram, aerial lift,
funicular). Air (1100-1199) and unknown types are refused.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from routing._errors import RoutingInputError
from routing.boats import Timetable

__all__ = [
    "OPEN_END",
    "OPEN_START",
    "GtfsError",
    "TransitFeed",
    "disjoint_ids",
    "prefixed",
    "read_gtfs",
    "route_kind",
    "timetable_feed",
    "write_gtfs",
]

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# Validity of timetables that state days of the week but no dates (boats, entered lines).
OPEN_START = dt.date(2000, 1, 1)
OPEN_END = dt.date(2099, 12, 31)
ASSUMED_COLUMN = "revincula_supuesto"
SOURCES_FILE = "revincula_fuentes.txt"
_MAX_EXAMPLES = 3
_REQUIRED: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id", "stop_lat", "stop_lon"),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
    "calendar": ("service_id", *WEEKDAYS, "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
}


class GtfsError(RoutingInputError):
    """A feed that cannot be used; `problems` lists every problem found (Spanish)."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        msg = (
            f"El GTFS {name!r} no se importó (nada se cargó): tiene {len(problems)} "
            "problema(s):\n- " + "\n- ".join(problems)
        )
        super().__init__(msg)


def route_kind(route_type: int) -> str | None:
    """Return the journey kind of a GTFS `route_type` (see module docstring), None if refused."""
    t = int(route_type)
    if t in (4, 1502) or 1000 <= t <= 1099 or 1200 <= t <= 1299:
        return "barco"
    if 1500 <= t <= 1599:
        return "colectivo"
    if t in (3, 11) or 200 <= t <= 299 or 700 <= t <= 899:
        return "bus"
    if t in (0, 1, 2, 5, 6, 7, 12) or 100 <= t <= 199 or 400 <= t <= 499 or 900 <= t <= 999:
        return "tren"
    if 1300 <= t <= 1499:
        return "tren"
    return None


@dataclass(frozen=True)
class TransitFeed:
    """One public transport timetable in GTFS shape (see module docstring).

    Attributes
    ----------
    name
        Short identifier of the feed (unique among the feeds of a model).
    source
        Where the timetable comes from (file, publisher, licence), for provenance.
    stops
        ``stop_id, stop_name, stop_lat, stop_lon`` (WGS84), only stops with departures.
    routes
        ``route_id, route_name, route_type, kind, assumed``; `kind` is
        ``bus | colectivo | barco | tren`` and `assumed` is True when any value
        of the line's timetable is ``supuesto``.
    trips
        ``trip_id, route_id, service_id, headsign``.
    stop_times
        ``trip_id, stop_sequence, stop_id, arrival_s, departure_s, pickup, drop_off``
        sorted by trip and sequence; seconds after the start of the service day
        (may exceed 86,400); `pickup`/`drop_off` False where GTFS says 1 (none).
    calendar
        ``service_id, monday..sunday (bool), start_date, end_date`` (`datetime.date`).
    calendar_dates
        ``service_id, date, exception_type`` (1 added, 2 removed).
    frequencies
        ``trip_id, start_s, end_s, headway_s, exact_times``.
    sources
        ``route_id, field, source``: the source of each value (boats, entered lines).
    warnings
        Spanish notes about accepted oddities (ignored files, unused stops).
    """

    name: str
    source: str
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    frequencies: pd.DataFrame
    sources: pd.DataFrame = field(default_factory=lambda: _frame(("route_id", "field", "source")))
    warnings: tuple[str, ...] = ()

    @property
    def has_land_transport(self) -> bool:
        """True if any route is not a boat (a bus, colectivo or train)."""
        return bool((self.routes["kind"] != "barco").any())

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        """First and last date with service according to the calendars (None if none)."""
        dates = list(self.calendar["start_date"]) + list(self.calendar["end_date"])
        added = self.calendar_dates.loc[self.calendar_dates["exception_type"] == 1, "date"]
        dates += list(added)
        if not dates:
            return None
        return min(dates), max(dates)

    def summary(self) -> dict:
        """Return counts for screens and logs (no personal data)."""
        kinds = self.routes["kind"].value_counts().to_dict()
        span = self.date_range
        return {
            "nombre": self.name,
            "fuente": self.source,
            "paradas": len(self.stops),
            "lineas": len(self.routes),
            "lineas_por_tipo": {k: int(v) for k, v in kinds.items()},
            "viajes": len(self.trips),
            "vigencia": None if span is None else [span[0].isoformat(), span[1].isoformat()],
            "lineas_supuestas": int(self.routes["assumed"].sum()),
            "avisos": list(self.warnings),
        }


def _frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


# -- reading -------------------------------------------------------------------
def read_gtfs(
    path: str | Path,
    *,
    name: str | None = None,
    territory=None,
    source: str = "",
) -> TransitFeed:
    """Read and validate a GTFS feed (zip or folder) with gtfs-kit.

    Parameters
    ----------
    path
        GTFS zip file or folder of ``.txt`` files.
    name
        Identifier of the feed (default: the file name without extension).
    territory
        Where stops may lie: a shapely geometry in WGS84 (e.g. the comunas) or a
        ``(min_lon, min_lat, max_lon, max_lat)`` box; None skips the check.
    source
        Provenance text kept with the feed (publisher, date, licence).

    Returns
    -------
    TransitFeed

    Raises
    ------
    GtfsError
        Listing every problem found (missing files or columns, bad times or
        dates, broken references, trips with no calendar, stops outside the
        territory...). Nothing of a refused feed is kept.
    """
    path = Path(path)
    name = name or path.stem
    if not path.exists():
        msg = f"No existe el archivo GTFS {str(path)!r}; revise la ruta."
        raise RoutingInputError(msg)
    present, problems = _list_tables(path)
    if problems:
        # A missing file stops the reading, but the files that are there are still checked
        # cell by cell so that every problem is listed at once (issue 23).
        raise GtfsError(name, problems + (_cell_problems(path) if present else []))
    import gtfs_kit  # here, not at the top: importing it (folium, geopandas) takes ~2 s

    try:
        raw = gtfs_kit.read_feed(path, dist_units="km")
    except (ValueError, TypeError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise GtfsError(name, _parse_problems(path, err)) from err
    tables = {t: getattr(raw, t) for t in _REQUIRED}
    warnings = [
        f"{t}.txt se ignora (no se usa para calcular viajes)"
        for t in ("transfers", "fare_attributes", "fare_rules", "pathways")
        if f"{t}.txt" in present
    ]
    extra = _read_extra(path)
    return _validate(name, tables, territory, source or f"GTFS {path.name}", warnings, extra)


def _list_tables(path: Path) -> tuple[set[str], list[str]]:
    """Return the file names present and the problems of missing files."""
    if path.is_dir():
        names = {p.name for p in path.iterdir() if p.is_file()}
    else:
        try:
            with zipfile.ZipFile(path) as zf:
                names = {Path(n).name for n in zf.namelist() if not n.endswith("/")}
        except zipfile.BadZipFile:
            return set(), [f"{path.name!r} no es un archivo zip válido; exporte el GTFS de nuevo."]
    problems = [
        f"falta el archivo {table}.txt (obligatorio en GTFS)"
        for table in ("stops", "routes", "trips", "stop_times")
        if f"{table}.txt" not in names
    ]
    if "calendar.txt" not in names and "calendar_dates.txt" not in names:
        problems.append(
            "faltan calendar.txt y calendar_dates.txt: sin calendario no se sabe qué días "
            "opera cada viaje (incluya al menos uno)"
        )
    return names, problems


def _open_table(path: Path, table: str) -> pd.DataFrame | None:
    """Read one table as text (for diagnosing what gtfs-kit could not parse)."""
    options = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}
    if path.is_dir():
        file = path / f"{table}.txt"
        return pd.read_csv(file, **options) if file.is_file() else None
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if Path(member).name == f"{table}.txt":
                with zf.open(member) as handle:
                    return pd.read_csv(handle, **options)
    return None


_NUMERIC: dict[str, tuple[str, ...]] = {
    "stops": ("stop_lat", "stop_lon", "location_type"),
    "routes": ("route_type",),
    "stop_times": ("stop_sequence", "pickup_type", "drop_off_type"),
    "calendar": WEEKDAYS,
    "calendar_dates": ("exception_type",),
    "frequencies": ("headway_secs", "exact_times"),
}


_CLOCKS: dict[str, tuple[str, ...]] = {
    "stop_times": ("arrival_time", "departure_time"),
    "frequencies": ("start_time", "end_time"),
}
_DATES: dict[str, tuple[str, ...]] = {
    "calendar": ("start_date", "end_date"),
    "calendar_dates": ("date",),
}
_CLOCK_PROBLEM = "no es una hora HH:MM:SS válida (las horas pueden pasar de 24)"


def _cell_problems(path: Path) -> list[str]:
    """List the cells that are not numbers, GTFS times or dates, reading every table as text.

    Used when the feed cannot be read whole (a missing file, a cell gtfs-kit cannot
    parse), so those cells are reported together with the first problem.
    """
    problems: list[str] = []
    checks = [
        (_NUMERIC, lambda t: pd.to_numeric(t, errors="coerce").isna(), "no es un número"),
        (_CLOCKS, lambda t: pd.Series(_clock_seconds(t)[1], index=t.index), _CLOCK_PROBLEM),
        (_DATES, lambda t: pd.Series(_dates(t)[1], index=t.index), "no es AAAAMMDD"),
    ]
    try:
        for columns_of, is_bad, what in checks:
            for table, columns in columns_of.items():
                df = _open_table(path, table)
                if df is None:
                    continue
                df.columns = [c.strip() for c in df.columns]
                for column in columns:
                    if column not in df.columns:
                        continue
                    text = df[column].str.strip()
                    bad = (text != "") & is_bad(text)
                    if bad.any():
                        problems.append(
                            _examples(f"{table}.txt", column, df.index[bad], text[bad], what)
                        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as inner:
        problems.append(f"no se pudo leer como CSV UTF-8: {inner}")
    return problems


def _parse_problems(path: Path, err: Exception) -> list[str]:
    """List the cells gtfs-kit could not parse (and every other bad cell)."""
    return _cell_problems(path) or [f"no se pudo leer: {err}"]


def _read_extra(path: Path) -> pd.DataFrame | None:
    """Read our sources file when the feed was exported by Revincula."""
    try:
        return _open_table(path, Path(SOURCES_FILE).stem)
    except (ValueError, pd.errors.ParserError):
        return None


def _examples(file: str, column: str, index, values, what: str) -> str:
    """One problem line: count and a few row numbers with their values."""
    rows = list(index)
    shown = ", ".join(
        f"fila {i + 2}: {v!r}"
        for i, v in zip(rows[:_MAX_EXAMPLES], list(values)[:_MAX_EXAMPLES], strict=True)
    )
    more = f" y {len(rows) - _MAX_EXAMPLES} más" if len(rows) > _MAX_EXAMPLES else ""
    return f"{file}: `{column}` {what} en {len(rows)} fila(s) ({shown}{more})"


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().fillna("")


def _clock_seconds(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse GTFS times ``H:MM:SS`` (hours may pass 24); return (seconds or NaN, bad mask)."""
    text = _text(series)
    parts = text.str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    ok = parts[0].notna().to_numpy()
    seconds = np.full(len(text), np.nan)
    if ok.any():
        p = parts[ok].astype(int)
        seconds[ok] = (p[0] * 3600 + p[1] * 60 + p[2]).to_numpy()
    bad = (text != "").to_numpy() & ~ok
    return seconds, bad


def _dates(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = _text(series)
    parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    bad = parsed.isna().to_numpy()
    return parsed.dt.date, bad


def _missing_columns(tables: dict) -> list[str]:
    problems = []
    for table, columns in _REQUIRED.items():
        df = tables.get(table)
        if df is None:
            continue
        missing = [c for c in columns if c not in df.columns]
        if missing:
            problems.append(f"{table}.txt: faltan las columnas {', '.join(missing)}")
    return problems


def _duplicates(file: str, df: pd.DataFrame, columns: list[str], problems: list[str]) -> None:
    dup = df.duplicated(columns, keep="first")
    if dup.any():
        values = df.loc[dup, columns].astype(str).agg("/".join, axis=1)
        problems.append(_examples(file, "/".join(columns), df.index[dup], values, "repetido"))


def _validate(name, tables, territory, source, warnings, extra) -> TransitFeed:
    """Check every table (collecting all problems) and normalise them."""
    problems = _missing_columns(tables)
    if problems:
        raise GtfsError(name, problems)
    empty = [t for t in ("stops", "routes", "trips", "stop_times") if tables[t] is None]
    if empty:
        raise GtfsError(name, [f"{t}.txt está vacío" for t in empty])
    ragged = [
        f"{t}.txt: hay filas con más valores que columnas en el encabezado (¿comas decimales "
        "o comillas sin cerrar?); corrija esas filas"
        for t, df in tables.items()
        if df is not None and not isinstance(df.index, pd.RangeIndex)
    ]
    if ragged:
        raise GtfsError(name, ragged)
    stops = _check_stops(tables["stops"], problems)
    routes = _check_routes(tables["routes"], problems)
    calendar, calendar_dates = _check_calendars(tables, problems)
    trips = _check_trips(tables["trips"], routes, calendar, calendar_dates, problems)
    stop_times = _check_stop_times(tables["stop_times"], trips, stops, problems)
    frequencies = _check_frequencies(tables["frequencies"], trips, problems)
    used = stops[stops["stop_id"].isin(stop_times["stop_id"])]
    _check_territory(used, territory, problems)
    if not problems and trips.empty:
        problems.append("trips.txt no tiene viajes")
    if problems:
        raise GtfsError(name, problems)
    unused = len(stops) - len(used)
    if unused:
        warnings.append(f"{unused} parada(s) sin horarios se ignoran")
    assumed = set()
    sources = _frame(("route_id", "field", "source"))
    if extra is not None and {"route_id", "campo", "fuente"} <= set(extra.columns):
        sources = pd.DataFrame(
            {"route_id": extra["route_id"], "field": extra["campo"], "source": extra["fuente"]}
        )
        supuesto = sources["source"].str.lower().str.startswith("supuesto")
        assumed = set(sources.loc[supuesto, "route_id"])
    if ASSUMED_COLUMN in tables["routes"].columns:
        flags = _text(tables["routes"][ASSUMED_COLUMN]) == "1"
        assumed |= set(routes.loc[flags.to_numpy(), "route_id"])
    routes["assumed"] = routes["route_id"].isin(assumed)
    return TransitFeed(
        name=name,
        source=source,
        stops=used.reset_index(drop=True),
        routes=routes,
        trips=trips,
        stop_times=stop_times,
        calendar=calendar,
        calendar_dates=calendar_dates,
        frequencies=frequencies,
        sources=sources,
        warnings=tuple(warnings),
    )


def _flag(problems: list[str], file: str, column: str, bad, index, values, what: str) -> None:
    """Add one problem line when any row is `bad` (a mask over `index` and `values`)."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        values = np.asarray(list(values), dtype=object)
        problems.append(_examples(file, column, np.asarray(index)[bad], values[bad], what))


def _check_stops(df: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"stop_id": _text(df["stop_id"])})
    out["stop_name"] = _text(df["stop_name"]) if "stop_name" in df.columns else out["stop_id"]
    out.loc[out["stop_name"] == "", "stop_name"] = out["stop_id"]
    lat = pd.to_numeric(df["stop_lat"], errors="coerce").astype(float).to_numpy()
    lon = pd.to_numeric(df["stop_lon"], errors="coerce").astype(float).to_numpy()
    out["stop_lat"], out["stop_lon"] = lat, lon
    location = _integers(df, "location_type", 0)
    placed = location <= 2  # stops, stations and entrances must have coordinates
    good = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    values = [f"{a},{o}" for a, o in zip(lat, lon, strict=True)]
    _flag(
        problems,
        "stops.txt",
        "stop_lat/stop_lon",
        placed & ~good,
        df.index,
        values,
        "fuera de rango",
    )
    _duplicates("stops.txt", out, ["stop_id"], problems)
    return out


def _integers(df: pd.DataFrame, column: str, default: int) -> np.ndarray:
    if column not in df.columns:
        return np.full(len(df), default, dtype=int)
    return pd.to_numeric(df[column], errors="coerce").fillna(default).astype(int).to_numpy()


def _check_routes(df: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"route_id": _text(df["route_id"])})
    names = [
        _text(df[c]) if c in df.columns else pd.Series("", index=df.index)
        for c in ("route_short_name", "route_long_name")
    ]
    out["route_name"] = (names[0] + " " + names[1]).str.strip().to_numpy()
    out.loc[out["route_name"] == "", "route_name"] = out["route_id"]
    route_type = pd.to_numeric(df["route_type"], errors="coerce")
    out["route_type"] = route_type.fillna(-1).astype(int).to_numpy()
    out["kind"] = [route_kind(t) for t in out["route_type"]]
    _flag(
        problems,
        "routes.txt",
        "route_type",
        out["kind"].isna(),
        df.index,
        df["route_type"],
        "no es un tipo de transporte usable (bus 3/7xx, colectivo 15xx, barco 4/12xx, tren...)",
    )
    _duplicates("routes.txt", out, ["route_id"], problems)
    return out


def _check_calendars(tables, problems: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    cal = tables["calendar"]
    calendar = pd.DataFrame(columns=["service_id", *WEEKDAYS, "start_date", "end_date"])
    if cal is not None:
        calendar = pd.DataFrame({"service_id": _text(cal["service_id"])})
        for day in WEEKDAYS:
            flags = pd.to_numeric(cal[day], errors="coerce")
            _flag(
                problems,
                "calendar.txt",
                day,
                ~flags.isin([0, 1]),
                cal.index,
                cal[day],
                "debe ser 0 o 1",
            )
            calendar[day] = (flags == 1).to_numpy()
        for column in ("start_date", "end_date"):
            dates, bad = _dates(cal[column])
            _flag(problems, "calendar.txt", column, bad, cal.index, cal[column], "no es AAAAMMDD")
            calendar[column] = dates.to_numpy()
        ok = calendar["start_date"].notna() & calendar["end_date"].notna()
        backwards = ok & (calendar["end_date"] < calendar["start_date"])
        _flag(
            problems,
            "calendar.txt",
            "end_date",
            backwards,
            cal.index,
            cal["end_date"],
            "es anterior a start_date",
        )
        _duplicates("calendar.txt", calendar, ["service_id"], problems)
    table = tables["calendar_dates"]
    calendar_dates = pd.DataFrame(columns=["service_id", "date", "exception_type"])
    if table is not None:
        dates, bad = _dates(table["date"])
        _flag(
            problems,
            "calendar_dates.txt",
            "date",
            bad,
            table.index,
            table["date"],
            "no es AAAAMMDD",
        )
        kind = pd.to_numeric(table["exception_type"], errors="coerce")
        _flag(
            problems,
            "calendar_dates.txt",
            "exception_type",
            ~kind.isin([1, 2]),
            table.index,
            table["exception_type"],
            "debe ser 1 (se agrega) o 2 (se quita)",
        )
        calendar_dates = pd.DataFrame(
            {
                "service_id": _text(table["service_id"]),
                "date": dates.to_numpy(),
                "exception_type": kind.fillna(0).astype(int).to_numpy(),
            }
        )
    return calendar, calendar_dates


def _check_trips(df, routes, calendar, calendar_dates, problems: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "trip_id": _text(df["trip_id"]),
            "route_id": _text(df["route_id"]),
            "service_id": _text(df["service_id"]),
        }
    )
    out["headsign"] = _text(df["trip_headsign"]) if "trip_headsign" in df.columns else ""
    _duplicates("trips.txt", out, ["trip_id"], problems)
    _flag(
        problems,
        "trips.txt",
        "route_id",
        ~out["route_id"].isin(routes["route_id"]),
        df.index,
        out["route_id"],
        "no existe en routes.txt",
    )
    services = set(calendar["service_id"]) | set(calendar_dates["service_id"])
    _flag(
        problems,
        "trips.txt",
        "service_id",
        ~out["service_id"].isin(services),
        df.index,
        out["service_id"],
        "no tiene calendario (no está en calendar.txt ni en "
        "calendar_dates.txt): viaje sin días de operación",
    )
    return out


def _check_stop_times(df, trips, stops, problems: list[str]) -> pd.DataFrame:
    file = "stop_times.txt"
    out = pd.DataFrame({"trip_id": _text(df["trip_id"]), "stop_id": _text(df["stop_id"])})
    out["row"] = df.index.to_numpy()
    sequence = pd.to_numeric(df["stop_sequence"], errors="coerce")
    out["stop_sequence"] = sequence.fillna(-1).astype(int).to_numpy()
    out["pickup"] = _integers(df, "pickup_type", 0) != 1
    out["drop_off"] = _integers(df, "drop_off_type", 0) != 1
    arrival, bad_a = _clock_seconds(df["arrival_time"])
    departure, bad_d = _clock_seconds(df["departure_time"])
    what = _CLOCK_PROBLEM
    _flag(problems, file, "arrival_time", bad_a, df.index, df["arrival_time"], what)
    _flag(problems, file, "departure_time", bad_d, df.index, df["departure_time"], what)
    out["arrival_s"] = np.where(np.isnan(arrival), departure, arrival)
    out["departure_s"] = np.where(np.isnan(departure), arrival, departure)
    for column, known, table in (
        ("trip_id", trips["trip_id"], "trips"),
        ("stop_id", stops["stop_id"], "stops"),
    ):
        _flag(
            problems,
            file,
            column,
            ~out[column].isin(known),
            df.index,
            out[column],
            f"no existe en {table}.txt",
        )
    _flag(
        problems,
        file,
        "stop_sequence",
        sequence.isna() | (sequence < 0),
        df.index,
        df["stop_sequence"],
        "debe ser un entero >= 0",
    )
    _duplicates(file, out, ["trip_id", "stop_sequence"], problems)
    out = out.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    _check_trip_times(out, trips, problems)
    out["arrival_s"] = _interpolate(out["arrival_s"].to_numpy()).astype(np.int64)
    out["departure_s"] = _interpolate(out["departure_s"].to_numpy()).astype(np.int64)
    return out.drop(columns="row")


def _check_trip_times(out: pd.DataFrame, trips: pd.DataFrame, problems: list[str]) -> None:
    """Each trip: at least two stops, first and last timed, times never going back."""
    file, rows, trip = "stop_times.txt", out["row"], out["trip_id"].to_numpy()
    size = out.groupby("trip_id", sort=False)["stop_id"].transform("size").to_numpy()
    first = ~out["trip_id"].duplicated(keep="first").to_numpy()
    last = ~out["trip_id"].duplicated(keep="last").to_numpy()
    arrival = out["arrival_s"].to_numpy()
    departure = out["departure_s"].to_numpy()
    _flag(
        problems,
        file,
        "trip_id",
        first & (size < 2),
        rows,
        trip,
        "tiene una sola parada (un viaje necesita al menos dos)",
    )
    _flag(
        problems,
        file,
        "arrival_time",
        (first | last) & np.isnan(arrival),
        rows,
        trip,
        "falta en la primera o última parada del viaje",
    )
    _flag(
        problems,
        file,
        "departure_time",
        departure < arrival,
        rows,
        trip,
        "es anterior a arrival_time",
    )
    # times along a trip, ignoring untimed stops: each arrival >= the previous timed departure
    timed_dep = pd.Series(departure).where(~np.isnan(departure))
    previous = timed_dep.groupby(trip).ffill().groupby(trip).shift(1).to_numpy()
    _flag(
        problems,
        file,
        "arrival_time",
        ~first & (arrival < previous),
        rows,
        trip,
        "es anterior a la salida de la parada previa del mismo viaje",
    )
    _flag(
        problems,
        "trips.txt",
        "trip_id",
        ~trips["trip_id"].isin(out["trip_id"]),
        trips.index,
        trips["trip_id"],
        "no tiene horarios en stop_times.txt",
    )


def _interpolate(values: np.ndarray) -> np.ndarray:
    """Fill NaN linearly by position between known values (trips start and end timed)."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    pos = np.arange(len(values))
    filled = values.copy()
    filled[missing] = np.interp(pos[missing], pos[~missing], values[~missing])
    return np.round(filled)


def _check_frequencies(df, trips, problems: list[str]) -> pd.DataFrame:
    columns = ("trip_id", "start_s", "end_s", "headway_s", "exact_times")
    if df is None:
        return _frame(columns)
    start, bad_s = _clock_seconds(df["start_time"])
    end, bad_e = _clock_seconds(df["end_time"])
    headway = pd.to_numeric(df["headway_secs"], errors="coerce").to_numpy(dtype=float)
    bad = bad_s | bad_e | np.isnan(start) | np.isnan(end) | ~(headway > 0) | ~(end > start)
    values = [
        f"{a}-{b} cada {h}"
        for a, b, h in zip(df["start_time"], df["end_time"], df["headway_secs"], strict=True)
    ]
    _flag(
        problems,
        "frequencies.txt",
        "start_time/end_time/headway_secs",
        bad,
        df.index,
        values,
        "inválido (horas HH:MM:SS, fin posterior al inicio, intervalo > 0 s)",
    )
    trip_id = _text(df["trip_id"])
    _flag(
        problems,
        "frequencies.txt",
        "trip_id",
        ~trip_id.isin(trips["trip_id"]),
        df.index,
        trip_id,
        "no existe en trips.txt",
    )
    ok = ~bad
    return pd.DataFrame(
        {
            "trip_id": trip_id[ok].to_numpy(),
            "start_s": start[ok].astype(np.int64),
            "end_s": end[ok].astype(np.int64),
            "headway_s": headway[ok].astype(np.int64),
            "exact_times": _integers(df, "exact_times", 0)[ok],
        }
    )


def _check_territory(stops: pd.DataFrame, territory, problems: list[str]) -> None:
    if territory is None or stops.empty:
        return
    lon, lat = stops["stop_lon"].to_numpy(), stops["stop_lat"].to_numpy()
    if isinstance(territory, tuple):
        x0, y0, x1, y1 = territory
        inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        where = f"la caja {territory!r}"
    else:
        import shapely

        shapely.prepare(territory)
        inside = shapely.contains_xy(territory, lon, lat)
        where = "los polígonos del territorio"
    values = [
        f"{n} ({a:.5f},{o:.5f})" for n, a, o in zip(stops["stop_name"], lat, lon, strict=True)
    ]
    found: list[str] = []
    _flag(
        found, "stops.txt", "stop_lat/stop_lon", ~inside, stops.index, values, f"fuera de {where}"
    )
    problems += [f"{p}; revise las coordenadas o importe el GTFS de este territorio" for p in found]


# -- the boat timetable as a feed ------------------------------------------------
def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "x"


def timetable_feed(timetable: Timetable, *, name: str = "barcos", source: str = "") -> TransitFeed:
    """Return the boat timetable as a `TransitFeed`: one two-stop trip per sailing.

    Each boat service (line, direction, period) becomes a GTFS service with its
    days of the week, valid from `OPEN_START` to `OPEN_END` (the timetable has no
    dates); whole-day suspensions become removed dates (exception 2), and a
    single cancelled sailing gets a service of its own with that date removed.
    Terminals become stops (id from the name; same name at other coordinates
    gets a suffix).
    """
    stop_rows: dict[tuple, dict] = {}

    def stop_id(name_: str, lat: float, lon: float) -> str:
        key = (name_, round(lat, 5), round(lon, 5))
        if key not in stop_rows:
            base = _slug(name_)
            taken = {r["stop_id"] for r in stop_rows.values()}
            sid = base if base not in taken else f"{base}-{len(stop_rows)}"
            stop_rows[key] = {"stop_id": sid, "stop_name": name_, "stop_lat": lat, "stop_lon": lon}
        return stop_rows[key]["stop_id"]

    routes: dict[str, dict] = {}
    trips, times, calendar, removed, sources = [], [], [], [], []
    suspensions = timetable.suspensions
    for s in timetable.services:
        a = stop_id(s.origin, s.origin_lat, s.origin_lon)
        b = stop_id(s.destination, s.destination_lat, s.destination_lon)
        route = routes.setdefault(
            s.line_id,
            {
                "route_id": s.line_id,
                "route_name": s.line_name,
                "route_type": 4,
                "kind": "barco",
                "assumed": False,
            },
        )
        route["assumed"] = route["assumed"] or bool(s.assumed)
        sources += [
            {"route_id": s.line_id, "field": f"{s.service_id}.{f}", "source": src}
            for f, src in s.sources
        ]
        days = {day: i in s.days for i, day in enumerate(WEEKDAYS)}
        calendar.append(
            {"service_id": s.service_id, **days, "start_date": OPEN_START, "end_date": OPEN_END}
        )
        for sus in suspensions:
            if sus.line_id == s.line_id and sus.whole_day:
                removed += [(s.service_id, d) for d in _days_between(sus.start, sus.end)]
        for minute in s.departures_min:
            trip_id = f"{s.service_id}-{minute // 60:02d}{minute % 60:02d}"
            service_id = s.service_id
            cancelled = [
                d
                for sus in suspensions
                if sus.line_id == s.line_id and not sus.whole_day
                for d in _days_between(sus.start, sus.end)
                if sus.first_min <= minute <= sus.last_min
            ]
            if cancelled:
                service_id = f"{s.service_id}~{trip_id}"
                calendar.append(
                    {
                        "service_id": service_id,
                        **days,
                        "start_date": OPEN_START,
                        "end_date": OPEN_END,
                    }
                )
                removed += [(service_id, d) for d in cancelled]
                removed += [
                    (service_id, d)
                    for sus in suspensions
                    if sus.line_id == s.line_id and sus.whole_day
                    for d in _days_between(sus.start, sus.end)
                ]
            trips.append(
                {
                    "trip_id": trip_id,
                    "route_id": s.line_id,
                    "service_id": service_id,
                    "headsign": s.destination,
                }
            )
            dep, arr = minute * 60, (minute + s.crossing_min) * 60
            times.append((trip_id, 0, a, dep, dep))
            times.append((trip_id, 1, b, arr, arr))
    stop_times = pd.DataFrame(
        times, columns=["trip_id", "stop_sequence", "stop_id", "arrival_s", "departure_s"]
    )
    stop_times["pickup"] = stop_times["stop_sequence"] == 0
    stop_times["drop_off"] = stop_times["stop_sequence"] == 1
    return TransitFeed(
        name=name,
        source=source or "horario de barcos del territorio",
        stops=pd.DataFrame(
            list(stop_rows.values()), columns=["stop_id", "stop_name", "stop_lat", "stop_lon"]
        ),
        routes=pd.DataFrame(
            list(routes.values()),
            columns=["route_id", "route_name", "route_type", "kind", "assumed"],
        ),
        trips=pd.DataFrame(trips, columns=["trip_id", "route_id", "service_id", "headsign"]),
        stop_times=stop_times.sort_values(["trip_id", "stop_sequence"]).reset_index(drop=True),
        calendar=pd.DataFrame(
            calendar, columns=["service_id", *WEEKDAYS, "start_date", "end_date"]
        ),
        calendar_dates=pd.DataFrame(
            [(sid, d, 2) for sid, d in dict.fromkeys(removed)],
            columns=["service_id", "date", "exception_type"],
        ),
        frequencies=_frame(("trip_id", "start_s", "end_s", "headway_s", "exact_times")),
        sources=pd.DataFrame(sources, columns=["route_id", "field", "source"]),
    )


def _days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


# -- writing -------------------------------------------------------------------
def _hms(seconds) -> list[str]:
    return [f"{int(s) // 3600:02d}:{int(s) % 3600 // 60:02d}:{int(s) % 60:02d}" for s in seconds]


_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "stop_id": ("stops", "stop_times"),
    "route_id": ("routes", "trips", "sources"),
    "trip_id": ("trips", "stop_times", "frequencies"),
    "service_id": ("trips", "calendar", "calendar_dates"),
}


def _feed_ids(feed: TransitFeed) -> dict[str, set]:
    return {
        column: {v for table in tables for v in getattr(feed, table)[column]}
        for column, tables in _ID_COLUMNS.items()
    }


def prefixed(feed: TransitFeed, prefix: str) -> TransitFeed:
    """Return `feed` with every stop, route, trip and service id prefixed by `prefix`."""
    changes = {}
    for column, tables in _ID_COLUMNS.items():
        for table in tables:
            df = changes.get(table, getattr(feed, table)).copy()
            df[column] = prefix + df[column].astype(str)
            changes[table] = df
    return replace(feed, **changes)


def disjoint_ids(feeds: list[TransitFeed], renamable: set[str]) -> list[TransitFeed]:
    """Return `feeds` with the ids of the `renamable` ones (by name) made unique.

    A renamable feed that shares any stop, route, trip or service id with an
    earlier feed gets all its ids prefixed with ``"<name>:"`` (`prefixed`), so
    that merging the feeds into one GTFS (`write_gtfs`) keeps every trip on its
    own calendar. The other feeds are returned unchanged.
    """
    taken: dict[str, set] = {column: set() for column in _ID_COLUMNS}
    out = []
    for feed in feeds:
        ids = _feed_ids(feed)
        if feed.name in renamable and any(ids[c] & taken[c] for c in ids):
            feed = prefixed(feed, f"{feed.name}:")
            ids = _feed_ids(feed)
        for column in taken:
            taken[column] |= ids[column]
        out.append(feed)
    return out


def _clashes(feeds: list[TransitFeed]) -> list[str]:
    seen: dict[str, dict] = {column: {} for column in _ID_COLUMNS}
    clashes = []
    for feed in feeds:
        for column, values in _feed_ids(feed).items():
            for value in sorted(values & seen[column].keys())[:3]:
                clashes.append(f"`{column}` {value!r} ({seen[column][value]} y {feed.name})")
            for value in values:
                seen[column].setdefault(value, feed.name)
    return clashes


def write_gtfs(
    feeds: list[TransitFeed],
    path: str | Path,
    *,
    valid_from: dt.date,
    valid_to: dt.date,
    publisher: str = "Revincula",
) -> Path:
    """Write `feeds` (the territory's boats, entered lines, imported GTFS) as one GTFS zip.

    Calendars without dates (boats and entered lines run from `OPEN_START` to
    `OPEN_END`) are clipped to ``valid_from..valid_to``, with their exceptions;
    dated calendars (imported GTFS) keep their own dates and exceptions, so the
    export re-imports to the same journeys. ``feed_info.txt`` spans both.
    Assumed lines carry ``revincula_supuesto=1`` in routes.txt and every
    value's source goes to ``revincula_fuentes.txt`` (extra file and column,
    ignored by other GTFS readers); a line without sources of its own gets the
    source of its feed (field ``horario``).

    Raises
    ------
    RoutingInputError
        If two feeds use the same id for stops, lines, trips or services
        (`disjoint_ids` renames them first where that is allowed).
    """
    import gtfs_kit

    if valid_to < valid_from:
        msg = f"`valid_to`={valid_to} es anterior a `valid_from`={valid_from}."
        raise RoutingInputError(msg)
    clashes = _clashes(feeds)
    if clashes:
        msg = (
            "No se puede exportar: hay ids repetidos entre los horarios ("
            + ", ".join(clashes[:6])
            + "); cambie el id de la línea o parada ingresada."
        )
        raise RoutingInputError(msg)
    parts = {
        k: []
        for k in (
            "stops",
            "routes",
            "trips",
            "stop_times",
            "calendar",
            "calendar_dates",
            "frequencies",
            "sources",
        )
    }
    for feed in feeds:
        for key in parts:
            parts[key].append(getattr(feed, key))
        described = set(feed.sources["route_id"])
        parts["sources"].append(
            pd.DataFrame(
                {
                    "route_id": [r for r in feed.routes["route_id"] if r not in described],
                    "field": "horario",
                    "source": f"GTFS {feed.name}: {feed.source}",
                }
            )
        )
    merged = {k: pd.concat(v, ignore_index=True) if v else None for k, v in parts.items()}
    calendar = merged["calendar"].copy()
    undated = np.array(
        [a == OPEN_START and b == OPEN_END
         for a, b in zip(calendar["start_date"], calendar["end_date"], strict=True)],
        dtype=bool,
    )  # fmt: skip
    calendar["start_date"] = np.where(undated, valid_from, calendar["start_date"])
    calendar["end_date"] = np.where(undated, valid_to, calendar["end_date"])
    for day in WEEKDAYS:
        calendar[day] = calendar[day].astype(int)
    calendar_dates = merged["calendar_dates"]
    clipped = set(calendar.loc[undated, "service_id"])
    keep = [
        sid not in clipped or valid_from <= d <= valid_to
        for sid, d in zip(calendar_dates["service_id"], calendar_dates["date"], strict=True)
    ]
    calendar_dates = calendar_dates[np.asarray(keep, dtype=bool)].copy()
    dates = [*calendar["start_date"], *calendar["end_date"], *calendar_dates["date"]]
    feed_start, feed_end = min([valid_from, *dates]), max([valid_to, *dates])
    calendar_dates["date"] = [d.strftime("%Y%m%d") for d in calendar_dates["date"]]
    calendar["start_date"] = [d.strftime("%Y%m%d") for d in calendar["start_date"]]
    calendar["end_date"] = [d.strftime("%Y%m%d") for d in calendar["end_date"]]
    routes = merged["routes"]
    st = merged["stop_times"]
    frequencies = merged["frequencies"]
    out = gtfs_kit.Feed(
        dist_units="km",
        agency=pd.DataFrame(
            {
                "agency_id": ["revincula"],
                "agency_name": [publisher],
                "agency_url": ["https://example.invalid/revincula"],
                "agency_timezone": ["America/Santiago"],
                "agency_lang": ["es"],
            }
        ),
        stops=merged["stops"][["stop_id", "stop_name", "stop_lat", "stop_lon"]],
        routes=pd.DataFrame(
            {
                "route_id": routes["route_id"],
                "agency_id": "revincula",
                "route_short_name": "",
                "route_long_name": routes["route_name"],
                "route_type": routes["route_type"].astype(int),
                ASSUMED_COLUMN: routes["assumed"].astype(int),
            }
        ),
        trips=merged["trips"].rename(columns={"headsign": "trip_headsign"}),
        stop_times=pd.DataFrame(
            {
                "trip_id": st["trip_id"],
                "arrival_time": _hms(st["arrival_s"]),
                "departure_time": _hms(st["departure_s"]),
                "stop_id": st["stop_id"],
                "stop_sequence": st["stop_sequence"].astype(int),
                "pickup_type": np.where(st["pickup"].astype(bool), 0, 1),
                "drop_off_type": np.where(st["drop_off"].astype(bool), 0, 1),
            }
        ),
        calendar=calendar,
        calendar_dates=calendar_dates if len(calendar_dates) else None,
        frequencies=(
            pd.DataFrame(
                {
                    "trip_id": frequencies["trip_id"],
                    "start_time": _hms(frequencies["start_s"]),
                    "end_time": _hms(frequencies["end_s"]),
                    "headway_secs": frequencies["headway_s"].astype(int),
                    "exact_times": frequencies["exact_times"].astype(int),
                }
            )
            if len(frequencies)
            else None
        ),
        feed_info=pd.DataFrame(
            {
                "feed_publisher_name": [publisher],
                "feed_publisher_url": ["https://example.invalid/revincula"],
                "feed_lang": ["es"],
                "feed_start_date": [feed_start.strftime("%Y%m%d")],
                "feed_end_date": [feed_end.strftime("%Y%m%d")],
            }
        ),
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_file(path)
    sources = merged["sources"].rename(columns={"field": "campo", "source": "fuente"})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(SOURCES_FILE, sources.to_csv(index=False))
    return path
