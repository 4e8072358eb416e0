"""Boat timetables: lines, terminals, service patterns and departure queries.

A timetable is read from an editable CSV file (one row per line, direction and
service period) in which every value carries its source, or the word
``supuesto`` when it is an assumption. Times are local clock times in minutes
after midnight; days are the Spanish two-letter codes ``lu ma mi ju vi sa do``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from routing._errors import RoutingInputError

__all__ = [
    "DAY_CODES",
    "MODES",
    "TRANSPORT_KINDS",
    "BoatService",
    "Departure",
    "Suspension",
    "Timetable",
    "parse_timetable",
    "read_timetable",
]

DAY_CODES: tuple[str, ...] = ("lu", "ma", "mi", "ju", "vi", "sa", "do")
MODES: tuple[str, ...] = ("transbordador", "barcaza", "lancha")
TRANSPORT_KINDS: tuple[str, ...] = ("vehiculos_y_pasajeros", "solo_pasajeros")
ASSUMPTION_WORD = "supuesto"
MINUTES_PER_DAY = 24 * 60

_REQUIRED_COLUMNS: tuple[str, ...] = (
    "servicio_id",
    "linea_id",
    "linea",
    "origen",
    "origen_lat",
    "origen_lon",
    "destino",
    "destino_lat",
    "destino_lon",
    "terminales_fuente",
    "modo",
    "modo_fuente",
    "transporta",
    "transporta_fuente",
    "dias",
    "dias_fuente",
    "frecuencia_min",
    "frecuencia_fuente",
    "primera_salida",
    "primera_salida_fuente",
    "ultima_salida",
    "ultima_salida_fuente",
    "salidas",
    "salidas_fuente",
    "cruce_min",
    "cruce_fuente",
)
# Value columns whose non-empty value must name a source in the paired column.
_SOURCED: tuple[tuple[str, str], ...] = (
    ("origen_lat", "terminales_fuente"),
    ("modo", "modo_fuente"),
    ("transporta", "transporta_fuente"),
    ("dias", "dias_fuente"),
    ("frecuencia_min", "frecuencia_fuente"),
    ("primera_salida", "primera_salida_fuente"),
    ("ultima_salida", "ultima_salida_fuente"),
    ("salidas", "salidas_fuente"),
    ("cruce_min", "cruce_fuente"),
)


@dataclass(frozen=True)
class Departure:
    """One sailing taken from a terminal: when it leaves and when it arrives."""

    service_id: str
    line_id: str
    depart_at: dt.datetime
    arrive_at: dt.datetime


@dataclass(frozen=True)
class Suspension:
    """A dated interruption of a line (weather, tides, breakdown), inclusive dates.

    ``first_min``/``last_min`` (minutes after midnight, inclusive) narrow it to
    the departures of that span each day, e.g. one cancelled sailing.
    """

    line_id: str
    start: dt.date
    end: dt.date
    reason: str = ""
    first_min: int = 0
    last_min: int = 24 * 60 - 1

    @classmethod
    def on_day(cls, line_id: str, day: dt.date, minute: int | None = None) -> Suspension:
        """One day of `line_id` without service, or only its departure at `minute` cancelled."""
        if minute is None:
            return cls(line_id, day, day, "suspendida")
        return cls(line_id, day, day, "cancelada", minute, minute)

    @property
    def whole_day(self) -> bool:
        """Return True if every departure of the covered days is cancelled."""
        return self.first_min <= 0 and self.last_min >= 24 * 60 - 1

    def covers(self, day: dt.date) -> bool:
        """Return True if the suspension applies (at least in part) on `day`."""
        return self.start <= day <= self.end

    def cancels(self, day: dt.date, minute: int) -> bool:
        """Return True if the departure at `minute` after midnight of `day` is cancelled."""
        return self.covers(day) and self.first_min <= minute <= self.last_min


@dataclass(frozen=True)
class BoatService:
    """One direction and service period of a boat line.

    Either a frequency (``headway_min`` between ``first_min`` and ``last_min``,
    minutes after midnight) or explicit ``departures_min``. ``crossing_min`` is
    the sailing time in minutes. ``assumed`` lists the fields whose source is
    ``supuesto``.
    """

    service_id: str
    line_id: str
    line_name: str
    origin: str
    origin_lat: float
    origin_lon: float
    destination: str
    destination_lat: float
    destination_lon: float
    mode: str
    transport: str
    days: frozenset[int]
    crossing_min: int
    departures_min: tuple[int, ...]
    headway_min: int | None = None
    assumed: frozenset[str] = field(default_factory=frozenset)
    sources: tuple[tuple[str, str], ...] = ()
    note: str = ""

    @property
    def passengers_only(self) -> bool:
        """Return True if the service carries no vehicles."""
        return self.transport == "solo_pasajeros"

    def departures_on(self, day: dt.date) -> tuple[int, ...]:
        """Return departure minutes after midnight on `day` (ignoring suspensions)."""
        if day.weekday() not in self.days:
            return ()
        return self.departures_min

    def summary(self) -> str:
        """Return a one-line Spanish summary of the schedule."""
        days = _days_label(self.days)
        if self.headway_min is not None:
            first = _hhmm(self.departures_min[0])
            last = _hhmm(self.departures_min[-1])
            when = f"cada {self.headway_min} min de {first} a {last}"
        else:
            when = "salidas " + ", ".join(_hhmm(m) for m in self.departures_min)
        cargo = "solo pasajeros" if self.passengers_only else "vehículos y pasajeros"
        return f"{days}: {when}; cruce {self.crossing_min} min; {cargo}"


@dataclass(frozen=True)
class Timetable:
    """All boat services of a territory plus dated suspensions."""

    services: tuple[BoatService, ...]
    suspensions: tuple[Suspension, ...] = ()

    @property
    def line_ids(self) -> tuple[str, ...]:
        """Return the distinct line ids, in file order."""
        return tuple(dict.fromkeys(s.line_id for s in self.services))

    def services_of(self, line_id: str) -> tuple[BoatService, ...]:
        """Return the services of one line; raise a clear error for an unknown line."""
        found = tuple(s for s in self.services if s.line_id == line_id)
        if not found:
            msg = (
                f"La línea `line_id`={line_id!r} no existe en el horario. "
                f"Líneas disponibles: {', '.join(self.line_ids)}."
            )
            raise RoutingInputError(msg)
        return found

    def is_suspended(self, line_id: str, day: dt.date) -> bool:
        """Return True if `line_id` is suspended all day on `day`."""
        return any(s.line_id == line_id and s.whole_day and s.covers(day) for s in self.suspensions)

    def is_cancelled(self, line_id: str, day: dt.date, minute: int) -> bool:
        """Return True if the departure of `line_id` at `minute` on `day` does not sail."""
        return any(s.line_id == line_id and s.cancels(day, minute) for s in self.suspensions)

    def with_suspensions(self, suspensions: tuple[Suspension, ...]) -> Timetable:
        """Return a copy with extra suspensions (e.g. a cancelled sailing today)."""
        return Timetable(self.services, self.suspensions + tuple(suspensions))

    def _departures_from(
        self, line_id: str, terminal: str, day: dt.date
    ) -> list[tuple[int, BoatService]]:
        if self.is_suspended(line_id, day):
            return []
        services = [s for s in self.services_of(line_id) if s.origin == terminal]
        if not services:
            terminals = sorted({s.origin for s in self.services_of(line_id)})
            msg = (
                f"La terminal `terminal`={terminal!r} no es origen de la línea {line_id!r}. "
                f"Orígenes válidos: {', '.join(terminals)}."
            )
            raise RoutingInputError(msg)
        return sorted(
            (m, s)
            for s in services
            for m in s.departures_on(day)
            if not self.is_cancelled(line_id, day, m)
        )

    def next_departure(
        self, line_id: str, terminal: str, t: dt.datetime, *, horizon_days: int = 7
    ) -> Departure | None:
        """Return the first departure of `line_id` from `terminal` at or after `t`.

        Looks ahead at most `horizon_days` days; returns None if nothing sails.
        """
        for offset in range(horizon_days + 1):
            day = t.date() + dt.timedelta(days=offset)
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=t.tzinfo)
            for minute, service in self._departures_from(line_id, terminal, day):
                depart = midnight + dt.timedelta(minutes=minute)
                if depart >= t:
                    arrive = depart + dt.timedelta(minutes=service.crossing_min)
                    return Departure(service.service_id, line_id, depart, arrive)
        return None

    def last_departure(self, line_id: str, terminal: str, day: dt.date) -> Departure | None:
        """Return the last departure of `line_id` from `terminal` on `day`, or None."""
        departures = self._departures_from(line_id, terminal, day)
        if not departures:
            return None
        minute, service = departures[-1]
        depart = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minute)
        arrive = depart + dt.timedelta(minutes=service.crossing_min)
        return Departure(service.service_id, line_id, depart, arrive)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_label(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "todos los días"
    if days == frozenset(range(5)):
        return "lu a vi"
    return ", ".join(DAY_CODES[d] for d in sorted(days))


def _parse_clock(value: str) -> int:
    hours, _, minutes = value.strip().partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(value)
    return h * 60 + m


def _parse_days(value: str) -> frozenset[int]:
    codes = [c.strip().lower() for c in value.split(",") if c.strip()]
    if not codes:
        raise ValueError(value)
    return frozenset(DAY_CODES.index(c) for c in codes)


def _cell(row: dict[str, str], column: str, where: str, problems: list[str]) -> str:
    """Return the stripped cell; record a problem if it is empty."""
    value = (row.get(column) or "").strip()
    if not value:
        problems.append(f"{where}: falta `{column}`; complete la celda.")
    return value


def _parse_coords(row: dict[str, str], where: str, problems: list[str]) -> dict[str, float]:
    coords: dict[str, float] = {}
    for column in ("origen_lat", "origen_lon", "destino_lat", "destino_lon"):
        raw = _cell(row, column, where, problems)
        try:
            coords[column] = float(raw) if raw else 0.0
        except ValueError:
            problems.append(f"{where}: `{column}`={raw!r} no es un número; use punto decimal.")
            coords[column] = 0.0
    for column in ("origen_lat", "destino_lat"):
        if not -90 <= coords[column] <= 90:
            problems.append(f"{where}: `{column}`={coords[column]!r} está fuera de -90..90.")
    return coords


def _parse_choice(
    row: dict[str, str], column: str, allowed: tuple[str, ...], where: str, problems: list[str]
) -> str:
    value = _cell(row, column, where, problems)
    if value and value not in allowed:
        problems.append(f"{where}: `{column}`={value!r} no es válido; use {' o '.join(allowed)}.")
    return value


def _parse_scalars(
    row: dict[str, str], where: str, problems: list[str]
) -> tuple[frozenset[int], int]:
    """Parse the service days and the crossing minutes."""
    days: frozenset[int] = frozenset()
    raw_days = _cell(row, "dias", where, problems)
    try:
        days = _parse_days(raw_days) if raw_days else days
    except ValueError:
        problems.append(
            f"{where}: `dias`={raw_days!r} no es válido; use códigos separados por coma "
            f"({','.join(DAY_CODES)})."
        )
    raw_crossing = _cell(row, "cruce_min", where, problems)
    crossing = int(raw_crossing) if raw_crossing.isdigit() else 0
    if raw_crossing and crossing <= 0:
        problems.append(
            f"{where}: `cruce_min`={raw_crossing!r} debe ser un número entero de minutos > 0."
        )
    return days, crossing


def _check_sources(row: dict[str, str], where: str, problems: list[str]) -> None:
    for value_column, source_column in _SOURCED:
        if (row.get(value_column) or "").strip() and not (row.get(source_column) or "").strip():
            problems.append(
                f"{where}: `{value_column}` tiene valor pero `{source_column}` está vacío; "
                f"indique la fuente o escriba '{ASSUMPTION_WORD}'."
            )


def _parse_row(row: dict[str, str], line_no: int, problems: list[str]) -> BoatService | None:
    start = len(problems)
    service_id = _cell(row, "servicio_id", f"fila {line_no}", problems)
    where = f"fila {line_no} ({service_id or 'sin id'})"
    line_id = _cell(row, "linea_id", where, problems)
    coords = _parse_coords(row, where, problems)
    mode = _parse_choice(row, "modo", MODES, where, problems)
    transport = _parse_choice(row, "transporta", TRANSPORT_KINDS, where, problems)
    days, crossing = _parse_scalars(row, where, problems)
    departures, headway = _parse_pattern(row, where, problems)

    _check_sources(row, where, problems)
    origin = _cell(row, "origen", where, problems)
    destination = _cell(row, "destino", where, problems)
    if len(problems) > start:
        return None
    assumed = frozenset(
        value_column
        for value_column, source_column in _SOURCED
        if (row.get(value_column) or "").strip()
        and row[source_column].strip().lower().startswith(ASSUMPTION_WORD)
    )
    sources = tuple(
        (value_column, row[source_column].strip())
        for value_column, source_column in _SOURCED
        if (row.get(value_column) or "").strip()
    )
    return BoatService(
        service_id=service_id,
        line_id=line_id,
        line_name=(row.get("linea") or line_id).strip(),
        origin=origin,
        origin_lat=coords["origen_lat"],
        origin_lon=coords["origen_lon"],
        destination=destination,
        destination_lat=coords["destino_lat"],
        destination_lon=coords["destino_lon"],
        mode=mode,
        transport=transport,
        days=days,
        crossing_min=crossing,
        departures_min=departures,
        headway_min=headway,
        assumed=assumed,
        sources=sources,
        note=(row.get("nota") or "").strip(),
    )


def _parse_pattern(
    row: dict[str, str], where: str, problems: list[str]
) -> tuple[tuple[int, ...], int | None]:
    """Expand a frequency or an explicit list into sorted departure minutes."""
    raw_freq = (row.get("frecuencia_min") or "").strip()
    raw_list = (row.get("salidas") or "").strip()
    if bool(raw_freq) == bool(raw_list):
        problems.append(
            f"{where}: indique `frecuencia_min` (con primera y última salida) o `salidas` "
            "(horas separadas por espacio), pero no ambas."
        )
        return (), None
    try:
        if raw_list:
            minutes = sorted({_parse_clock(v) for v in raw_list.replace(";", " ").split()})
            return tuple(minutes), None
        headway = int(raw_freq)
        first = _parse_clock(row.get("primera_salida") or "")
        last = _parse_clock(row.get("ultima_salida") or "")
    except ValueError:
        problems.append(
            f"{where}: horario inválido (frecuencia={raw_freq!r}, "
            f"primera={row.get('primera_salida')!r}, última={row.get('ultima_salida')!r}, "
            f"salidas={raw_list!r}); use minutos enteros y horas HH:MM."
        )
        return (), None
    if headway <= 0 or last < first:
        problems.append(
            f"{where}: la frecuencia debe ser > 0 y la última salida no puede ser anterior "
            "a la primera (un servicio que cruza la medianoche se escribe en dos filas)."
        )
        return (), None
    minutes = list(range(first, last + 1, headway))
    if minutes[-1] != last:
        minutes.append(last)  # the stated last departure sails even off the grid
    return tuple(minutes), headway


def read_timetable(path: str | Path, *, suspensions_path: str | Path | None = None) -> Timetable:
    """Read and validate a boat timetable CSV file.

    Parameters
    ----------
    path
        CSV file, UTF-8, comma separated, with the columns of `_REQUIRED_COLUMNS`.
    suspensions_path
        Optional CSV with ``linea_id,desde,hasta,motivo`` (dates ``YYYY-MM-DD``).

    Returns
    -------
    Timetable

    Raises
    ------
    RoutingInputError
        Listing every problem found in the file, each with how to fix it.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    return parse_timetable(text, path.name, suspensions_path=suspensions_path)


def parse_timetable(
    text: str, name: str = "horario", *, suspensions_path: str | Path | None = None
) -> Timetable:
    """Validate timetable CSV `text` (see `read_timetable`); `name` is used in messages."""
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        msg = (
            f"El horario de barcos {name!r} no tiene las columnas: "
            f"{', '.join(missing)}. Agréguelas (pueden quedar vacías si no aplican)."
        )
        raise RoutingInputError(msg)
    services = [_parse_row(row, n, problems) for n, row in enumerate(reader, start=2)]
    seen: set[str] = set()
    for service in services:
        if service is not None and service.service_id in seen:
            problems.append(f"`servicio_id`={service.service_id!r} está repetido; use ids únicos.")
        if service is not None:
            seen.add(service.service_id)
    suspensions = _read_suspensions(Path(suspensions_path), problems) if suspensions_path else ()
    if problems:
        msg = f"El horario de barcos {name!r} tiene {len(problems)} problema(s):\n- " + (
            "\n- ".join(problems)
        )
        raise RoutingInputError(msg)
    return Timetable(tuple(s for s in services if s is not None), suspensions)


def _read_suspensions(path: Path, problems: list[str]) -> tuple[Suspension, ...]:
    out: list[Suspension] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            try:
                start = dt.date.fromisoformat(row["desde"].strip())
                end = dt.date.fromisoformat((row.get("hasta") or row["desde"]).strip())
            except (KeyError, ValueError):
                problems.append(
                    f"{path.name} fila {n}: fechas inválidas; "
                    "use `desde` y `hasta` como AAAA-MM-DD."
                )
                continue
            out.append(Suspension(row["linea_id"].strip(), start, end, (row.get("motivo") or "")))
    return tuple(out)
