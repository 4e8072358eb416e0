"""The team that visits: gestores and their overnight stays, from CSV files or the plan form.

Rows are checked all at once and every problem is reported together, in
Spanish, with its line number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.store.models import GestorRow
from routing import RoutingInputError
from routing.boats import DAY_CODES
from routing.planning import Gestor
from routing.planning import Stay

__all__ = [
    "GestorFileError",
    "gestor_of",
    "place_finder",
    "read_gestores_csv",
    "read_stays_csv",
    "save_gestores",
    "stay_of",
]

GESTOR_COLUMNS = ("codigo", "nombre", "base")
STAY_COLUMNS = ("gestor", "noche", "lugar")


class GestorFileError(ValueError):
    """A gestores file that cannot be used; the message lists every problem in Spanish."""


def gestor_of(row: GestorRow) -> Gestor:
    """Return the planning gestor of a stored row."""
    return Gestor(
        row.code,
        row.base_lon,
        row.base_lat,
        name=row.name,
        base_label=row.base_label,
        weekdays=frozenset(DAY_CODES.index(d) for d in row.weekdays.split(",") if d),
        start=dt.time.fromisoformat(row.start),
        end=dt.time.fromisoformat(row.end),
        lunch_min=row.lunch_min,
        vehicle=row.vehicle,
        skills=frozenset(s for s in row.skills.split(";") if s),
        max_visits=row.max_visits,
    )


def read_gestores_csv(data: bytes, find_place) -> list[dict]:
    """Parse a gestores CSV into column dicts of :class:`GestorRow`.

    Columns: ``codigo, nombre, base`` (a place name or ``lat,lon``), and optional
    ``dias`` (``lu,ma,mi,ju,vi``), ``inicio``, ``fin``, ``vehiculo`` (si/no),
    ``habilidades`` (separated by ``;``), ``max_visitas``, ``almuerzo_min``.
    `find_place(text)` returns ``(lon, lat, label)``. Every problem is collected
    and reported together.
    """
    rows, problems, codes = [], [], []
    for n, row in _csv_rows(data, GESTOR_COLUMNS, "gestores"):
        codes.append(row.get("codigo", ""))
        try:
            rows.append(_gestor_row(row, find_place))
        except ValueError as err:
            problems.append(f"fila {n}: {err}")
    problems += [
        f"el código {c!r} se repite" for c in sorted({c for c in codes if codes.count(c) > 1})
    ]
    if problems or not rows:
        msg = "Archivo de gestores con problemas:\n- " + "\n- ".join(problems or ["no tiene filas"])
        raise GestorFileError(msg)
    return rows


def _csv_rows(data: bytes, columns: tuple[str, ...], what: str):
    """Yield ``(line number, row)`` of a CSV (``,`` or ``;``) with lower-case, stripped keys."""
    text = data.decode("utf-8-sig", errors="replace")
    sample = text.splitlines()[0] if text else ""
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if sample.count(";") else ",")
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in columns if c not in headers]
    if missing:
        msg = (
            f"Faltan columnas en el archivo de {what}: {', '.join(missing)}. La primera fila "
            f"debe tener al menos: {', '.join(columns)}."
        )
        raise GestorFileError(msg)
    for n, raw in enumerate(reader, start=2):
        yield n, {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}


def read_stays_csv(data: bytes, find_place, gestor_codes) -> list[Stay]:
    """Parse an overnight stays CSV: ``gestor, noche, lugar`` (one row per night away).

    ``gestor`` is a gestor code, ``noche`` the date (AAAA-MM-DD) of the night
    spent away, ``lugar`` a place name or ``lat,lon``; the optional ``sale``
    (HH:MM) is when the next morning starts, for a boat that sails before the
    usual start. Every problem is collected and reported together.
    """
    stays, problems = [], []
    for n, row in _csv_rows(data, STAY_COLUMNS, "alojamientos"):
        try:
            stay = stay_of(
                row["gestor"],
                row["noche"],
                row["lugar"],
                find_place,
                gestor_codes,
                leave=row.get("sale", ""),
            )
            stays.append(stay)
        except ValueError as err:
            problems.append(f"fila {n}: {err}")
    if problems:
        msg = "Archivo de alojamientos con problemas:\n- " + "\n- ".join(problems)
        raise GestorFileError(msg)
    return stays


def place_finder(model):
    """Return ``find(text) -> (lon, lat, label)`` on `model`'s places; ValueError in Spanish."""

    def find(text: str):
        try:
            return model.find_place(text)
        except RoutingInputError as err:
            raise ValueError(str(err)) from err

    return find


def stay_of(
    code: str, night: str, place: str, find_place, gestor_codes, *, leave: str = ""
) -> Stay:
    """Build one overnight stay from text fields; ValueError in Spanish when one is wrong.

    `leave` (HH:MM, optional) is when the morning after starts.
    """
    if code not in set(gestor_codes):
        msg = f"el gestor {code!r} no está entre los gestores del plan"
        raise ValueError(msg)
    try:
        day = dt.date.fromisoformat(night)
    except ValueError as err:
        msg = f"la noche {night!r} no es una fecha; use AAAA-MM-DD"
        raise ValueError(msg) from err
    if not place:
        msg = "falta el lugar del alojamiento (nombre de un lugar o lat,lon)"
        raise ValueError(msg)
    try:
        start = dt.time.fromisoformat(leave) if leave else None
    except ValueError as err:
        msg = f"la hora de salida {leave!r} no es una hora; use HH:MM, por ejemplo 06:45"
        raise ValueError(msg) from err
    lon, lat, label = find_place(place)
    return Stay(code, day, lon, lat, label, start)


def _gestor_row(row: dict, find_place) -> dict:
    if not row.get("codigo") or not row.get("nombre"):
        msg = "`codigo` y `nombre` son obligatorios"
        raise ValueError(msg)
    lon, lat, label = find_place(row["base"])
    days = [d.strip() for d in (row.get("dias") or "lu,ma,mi,ju,vi").split(",") if d.strip()]
    unknown = [d for d in days if d not in DAY_CODES]
    if unknown:
        msg = f"días desconocidos {unknown}; use lu, ma, mi, ju, vi, sa, do separados por coma"
        raise ValueError(msg)
    start, end = (row.get("inicio") or "08:30"), (row.get("fin") or "17:30")
    try:
        if dt.time.fromisoformat(start) >= dt.time.fromisoformat(end):
            msg = f"`inicio` {start} debe ser antes de `fin` {end}"
            raise ValueError(msg)
        max_visits = int(row.get("max_visitas") or 6)
        lunch = int(row.get("almuerzo_min") or 45)
    except ValueError as err:
        if "`inicio`" in str(err):
            raise
        msg = "horas como HH:MM y `max_visitas`, `almuerzo_min` como números enteros"
        raise ValueError(msg) from err
    vehicle = (row.get("vehiculo") or "si").lower() not in {"no", "n", "0", "false"}
    return {
        "code": row["codigo"],
        "name": row["nombre"],
        "base_label": label,
        "base_lon": lon,
        "base_lat": lat,
        "weekdays": ",".join(days),
        "start": start,
        "end": end,
        "vehicle": vehicle,
        "skills": row.get("habilidades", ""),
        "max_visits": max_visits,
        "lunch_min": lunch,
    }


def save_gestores(
    session: Session, rows: list[dict], *, synthetic: bool = False
) -> list[GestorRow]:
    """Insert or update gestores by code."""
    out = []
    for values in rows:
        row = session.scalar(select(GestorRow).where(GestorRow.code == values["code"]))
        if row is None:
            row = GestorRow(synthetic=synthetic, **values)
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        out.append(row)
    session.flush()
    return out
