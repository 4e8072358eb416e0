"""Bus and colectivo lines entered by hand, as a table like the boat timetable.

Two CSV tables (UTF-8, comma separated), every value with its source or the
word ``supuesto``:

``paradas``
    ``parada_id, nombre, lat, lon, ubicacion_fuente`` — stops placed on the map (WGS84).
``lineas``
    one row per line, direction and service period: ``servicio_id, linea_id,
    linea, tipo`` (``bus`` or ``colectivo``), ``tipo_fuente``, ``paradas`` (stop
    ids in order, separated by spaces), ``tiempos_min`` (minutes from the first
    stop to each stop, e.g. ``0 25 40``), ``tiempos_fuente``, ``dias`` and the
    schedule columns of the boat timetable (``frecuencia_min``, ``primera_salida``,
    ``ultima_salida`` or ``salidas``, each with its ``_fuente``), ``nota``.

`parse_lines` validates both tables (every problem listed at once, in Spanish)
and returns a `TransitFeed` with one trip per departure, so entered lines travel
the same way as GTFS imports and can be exported with `routing.gtfs.write_gtfs`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from routing._errors import RoutingInputError
from routing.boats import _REQUIRED_COLUMNS as _TIMETABLE_COLUMNS
from routing.boats import ASSUMPTION_WORD
from routing.boats import _cell
from routing.boats import _parse_days
from routing.boats import _parse_pattern
from routing.gtfs import OPEN_END
from routing.gtfs import OPEN_START
from routing.gtfs import WEEKDAYS
from routing.gtfs import TransitFeed

__all__ = ["LINE_COLUMNS", "LINE_KINDS", "STOP_COLUMNS", "parse_lines", "read_lines"]

STOP_COLUMNS: tuple[str, ...] = ("parada_id", "nombre", "lat", "lon", "ubicacion_fuente")
# the schedule columns are those of the boat timetable, from `dias` to `salidas_fuente`
_SCHEDULE = _TIMETABLE_COLUMNS[
    _TIMETABLE_COLUMNS.index("dias") : _TIMETABLE_COLUMNS.index("salidas_fuente") + 1
]
LINE_COLUMNS: tuple[str, ...] = (
    "servicio_id",
    "linea_id",
    "linea",
    "tipo",
    "tipo_fuente",
    "paradas",
    "tiempos_min",
    "tiempos_fuente",
    *_SCHEDULE,
)
# GTFS route type of each kind: 3 bus; 1501 communal taxi (extended route types).
LINE_KINDS: dict[str, int] = {"bus": 3, "colectivo": 1501}
_SOURCED: tuple[tuple[str, str], ...] = (
    ("tipo", "tipo_fuente"),
    ("tiempos_min", "tiempos_fuente"),
    ("dias", "dias_fuente"),
    ("frecuencia_min", "frecuencia_fuente"),
    ("primera_salida", "primera_salida_fuente"),
    ("ultima_salida", "ultima_salida_fuente"),
    ("salidas", "salidas_fuente"),
)


def read_lines(
    stops_path: str | Path, lines_path: str | Path, *, name: str = "lineas"
) -> TransitFeed:
    """Read the two CSV files of entered lines (see `parse_lines`)."""
    stops_path, lines_path = Path(stops_path), Path(lines_path)
    return parse_lines(
        stops_path.read_text(encoding="utf-8-sig"),
        lines_path.read_text(encoding="utf-8-sig"),
        name=name,
        source=f"líneas ingresadas ({stops_path.name}, {lines_path.name})",
    )


def _rows(text: str, columns: tuple[str, ...], label: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        msg = (
            f"La tabla de {label} no tiene las columnas: {', '.join(missing)}. "
            "Agréguelas (pueden quedar vacías si no aplican)."
        )
        raise RoutingInputError(msg)
    return list(reader)


def _stops(rows, problems: list[str]) -> dict[str, dict]:
    stops: dict[str, dict] = {}
    for n, row in enumerate(rows, start=2):
        where = f"paradas fila {n}"
        stop_id = _cell(row, "parada_id", where, problems)
        name = _cell(row, "nombre", where, problems)
        coords = []
        for column, limit in (("lat", 90), ("lon", 180)):
            raw = _cell(row, column, where, problems)
            try:
                value = float(raw)
            except ValueError:
                if raw:
                    problems.append(
                        f"{where}: `{column}`={raw!r} no es un número; use punto decimal."
                    )
                value = float("nan")
            if raw and not -limit <= value <= limit:
                problems.append(f"{where}: `{column}`={raw!r} está fuera de -{limit}..{limit}.")
            coords.append(value)
        if not (row.get("ubicacion_fuente") or "").strip():
            problems.append(
                f"{where}: falta `ubicacion_fuente`; indique la fuente o escriba "
                f"'{ASSUMPTION_WORD}'."
            )
        if stop_id in stops:
            problems.append(f"{where}: `parada_id`={stop_id!r} está repetido; use ids únicos.")
        stops[stop_id] = {
            "stop_id": stop_id,
            "stop_name": name or stop_id,
            "stop_lat": coords[0],
            "stop_lon": coords[1],
        }
    return stops


def _route(row, stops, where: str, problems: list[str]) -> tuple[str, list[str], list[int]] | None:
    start = len(problems)
    kind = _cell(row, "tipo", where, problems)
    if kind and kind not in LINE_KINDS:
        problems.append(f"{where}: `tipo`={kind!r} no es válido; use {' o '.join(LINE_KINDS)}.")
    ids = (row.get("paradas") or "").split()
    unknown = [s for s in ids if s not in stops]
    if len(ids) < 2:
        problems.append(f"{where}: `paradas` necesita al menos dos paradas separadas por espacio.")
    if unknown:
        problems.append(
            f"{where}: las paradas {', '.join(unknown)} no están en la tabla de paradas."
        )
    raw = (row.get("tiempos_min") or "").split()
    try:
        minutes = [int(m) for m in raw]
    except ValueError:
        minutes = []
    if len(minutes) != len(ids) or not minutes or minutes[0] != 0 or minutes != sorted(minutes):
        problems.append(
            f"{where}: `tiempos_min`={row.get('tiempos_min')!r} debe tener un número entero de "
            "minutos por parada, desde 0 en la primera y sin retroceder (por ejemplo 0 25 40)."
        )
    return None if len(problems) > start else (kind, ids, minutes)


def _service(row, n: int, stops, seen: set[str], problems: list[str]):
    """Validate one row of the lines table; None if it has problems."""
    service_id = _cell(row, "servicio_id", f"líneas fila {n}", problems)
    where = f"líneas fila {n} ({service_id or 'sin id'})"
    line_id = _cell(row, "linea_id", where, problems)
    if service_id in seen:
        problems.append(f"{where}: `servicio_id` repetido; use ids únicos.")
    seen.add(service_id)
    start = len(problems)
    route = _route(row, stops, where, problems)
    raw_days = _cell(row, "dias", where, problems)
    try:
        days = _parse_days(raw_days) if raw_days else frozenset()
    except ValueError:
        problems.append(f"{where}: `dias`={raw_days!r} no es válido; use lu,ma,mi,ju,vi,sa,do.")
        days = frozenset()
    departures, _headway = _parse_pattern(row, where, problems)
    for value_column, source_column in _SOURCED:
        if (row.get(value_column) or "").strip() and not (row.get(source_column) or "").strip():
            problems.append(
                f"{where}: `{value_column}` tiene valor pero `{source_column}` está vacío; "
                f"indique la fuente o escriba '{ASSUMPTION_WORD}'."
            )
    if len(problems) > start or route is None:
        return None
    return service_id, line_id, route, days, departures


def parse_lines(
    stops_text: str, lines_text: str, *, name: str = "lineas", source: str = "líneas ingresadas"
) -> TransitFeed:
    """Validate the entered stops and lines (CSV texts) and return them as a `TransitFeed`.

    Days have no dates: services run from `routing.gtfs.OPEN_START` to
    `routing.gtfs.OPEN_END`. A line is `assumed` when any of its values or stop
    locations has the source ``supuesto``.

    Raises
    ------
    RoutingInputError
        Listing every problem of both tables, each with how to fix it.
    """
    problems: list[str] = []
    stops = _stops(_rows(stops_text, STOP_COLUMNS, "paradas"), problems)
    assumed_stops = set()
    for row in _rows(stops_text, STOP_COLUMNS, "paradas"):
        if (row.get("ubicacion_fuente") or "").strip().lower().startswith(ASSUMPTION_WORD):
            assumed_stops.add((row.get("parada_id") or "").strip())
    routes, trips, times, calendar, sources = {}, [], [], [], []
    seen: set[str] = set()
    for n, row in enumerate(_rows(lines_text, LINE_COLUMNS, "líneas"), start=2):
        parsed = _service(row, n, stops, seen, problems)
        if parsed is None:
            continue
        service_id, line_id, route, days, departures = parsed
        kind, ids, minutes = route
        used = [(v, (row.get(s) or "").strip()) for v, s in _SOURCED if (row.get(v) or "").strip()]
        assumed = any(src.lower().startswith(ASSUMPTION_WORD) for _, src in used) or any(
            s in assumed_stops for s in ids
        )
        entry = routes.setdefault(
            line_id,
            {
                "route_id": line_id,
                "route_name": (row.get("linea") or line_id).strip(),
                "route_type": LINE_KINDS[kind],
                "kind": kind,
                "assumed": False,
            },
        )
        entry["assumed"] = entry["assumed"] or assumed
        sources += [
            {"route_id": line_id, "field": f"{service_id}.{v}", "source": src} for v, src in used
        ]
        calendar.append(
            {
                "service_id": service_id,
                **{d: i in days for i, d in enumerate(WEEKDAYS)},
                "start_date": OPEN_START,
                "end_date": OPEN_END,
            }
        )
        for minute in departures:
            trip_id = f"{service_id}-{minute // 60:02d}{minute % 60:02d}"
            trips.append(
                {
                    "trip_id": trip_id,
                    "route_id": line_id,
                    "service_id": service_id,
                    "headsign": stops[ids[-1]]["stop_name"],
                }
            )
            for k, (stop, offset) in enumerate(zip(ids, minutes, strict=True)):
                t = (minute + offset) * 60
                times.append((trip_id, k, stop, t, t, k < len(ids) - 1, k > 0))
    if problems:
        msg = f"Las líneas ingresadas tienen {len(problems)} problema(s):\n- " + "\n- ".join(
            problems
        )
        raise RoutingInputError(msg)
    used_stops = {t[2] for t in times}
    columns = [
        "trip_id",
        "stop_sequence",
        "stop_id",
        "arrival_s",
        "departure_s",
        "pickup",
        "drop_off",
    ]
    return TransitFeed(
        name=name,
        source=source,
        stops=pd.DataFrame(
            [s for k, s in stops.items() if k in used_stops],
            columns=["stop_id", "stop_name", "stop_lat", "stop_lon"],
        ),
        routes=pd.DataFrame(
            list(routes.values()),
            columns=["route_id", "route_name", "route_type", "kind", "assumed"],
        ),
        trips=pd.DataFrame(trips, columns=["trip_id", "route_id", "service_id", "headsign"]),
        stop_times=pd.DataFrame(times, columns=columns)
        .sort_values(["trip_id", "stop_sequence"])
        .reset_index(drop=True),
        calendar=pd.DataFrame(
            calendar, columns=["service_id", *WEEKDAYS, "start_date", "end_date"]
        ),
        calendar_dates=pd.DataFrame(columns=["service_id", "date", "exception_type"]),
        frequencies=pd.DataFrame(
            columns=["trip_id", "start_s", "end_s", "headway_s", "exact_times"]
        ),
        sources=pd.DataFrame(sources, columns=["route_id", "field", "source"]),
    )
