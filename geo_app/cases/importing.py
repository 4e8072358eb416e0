"""Importing a list of students: preview, then one transaction that classifies and locates.

`layers.intake`, `layers.classify` and `layers.geocode` are pure; this module
owns the database transaction and the history of changes. The web pages, the
``revincula import`` command and the demo all import through here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import selectinload

from geo_app.cases.context import CaseContext
from geo_app.cases.workflow import propose_from_attendance
from geo_app.places.stored import current_geocoder
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import HeaderMapping
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student
from geo_app.store.models import utcnow
from layers.classify import classify
from layers.geocode import Location
from layers.intake import HeaderMatch
from layers.intake import IntakeResult
from layers.intake import RawTable
from layers.intake import match_headers
from layers.intake import read_table
from layers.intake import validate

__all__ = [
    "ImportRejectedError",
    "Prepared",
    "apply_import",
    "location_label",
    "prepare_import",
    "save_mapping",
    "set_location",
]

# Case fields copied from an import record; a change of any of them is recorded in history.
_CASE_FIELDS = (
    ("rbd", "rbd"),
    ("grade_label", "grade_label"),
    ("grade_level", "grade_level"),
    ("status", "status"),
    ("ultimo_anio_matricula", "last_enrolment_year"),
    ("last_grade_passed", "last_grade_passed"),
    ("address", "address"),
    ("sector", "sector"),
    ("comuna", "comuna"),
)
_STUDENT_FIELDS = (
    ("given_names", "given_names"),
    ("surnames", "surnames"),
    ("birth_date", "birth_date"),
    ("nee_permanente", "nee_permanente"),
)
_DERIVED_FIELDS = ("category", "priority", "eligible_reinsercion", "eligible_aulas", "rezago")


class ImportRejectedError(ValueError):
    """The import was refused as a whole; nothing was stored."""


@dataclass
class Prepared:
    """A validated file waiting for confirmation: report, changes and locations."""

    filename: str
    sha256: str
    table: RawTable
    match: HeaderMatch
    result: IntakeResult
    period: str | None
    today: dt.date
    new_runs: list[int] = field(default_factory=list)
    updated_runs: list[int] = field(default_factory=list)
    missing_runs: list[int] = field(default_factory=list)
    locations: dict[int, Location] = field(default_factory=dict)  # row -> location

    @property
    def can_import_all(self) -> bool:
        """True when every row is valid."""
        return not self.result.errors

    @property
    def can_import_valid(self) -> bool:
        """True when the file itself is fine and at least one row is valid."""
        return not self.result.file_errors and bool(self.result.records)

    def geocode_summary(self) -> dict[str, int]:
        """Count rows by geocoding method."""
        return dict(Counter(loc.method for loc in self.locations.values()))


def _known_names(session: Session) -> dict[int, str]:
    rows = session.execute(select(Student.run, Student.given_names, Student.surnames))
    return {run: " ".join(p for p in (g, s) if p) for run, g, s in rows}


def prepare_import(
    session: Session,
    context: CaseContext,
    data: bytes,
    filename: str,
    *,
    period: str | None = None,
    mapping: dict[str, str] | None = None,
    header_row: int | tuple[int, ...] | None = None,
    today: dt.date | None = None,
) -> Prepared:
    """Read and validate a file and compare it with the store; nothing is written.

    A mapping saved earlier for the same headers is used when `mapping` is None.
    `header_row` (row number, or two consecutive ones) overrides the header row that
    `read_table` finds; ``prepared.table.header_rows`` says which was used and
    ``prepared.table.head`` holds the file's first lines to choose another.

    Raises
    ------
    layers.intake.IntakeError
        The file cannot be read as a table.
    """
    today = today or dt.date.today()
    table = read_table(data, filename, header_row=header_row)
    if mapping is None:
        saved = session.scalar(
            select(HeaderMapping).where(HeaderMapping.signature == table.signature)
        )
        mapping = saved.mapping if saved is not None else None
    match = match_headers(table.headers, mapping, rows=table.rows)
    result = validate(
        table,
        match,
        known_rbds=context.schools,
        known_comunas=context.comunas,
        known_names=_known_names(session),
        period=period,
        today=today,
    )
    prepared = Prepared(
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        table=table,
        match=match,
        result=result,
        period=period,
        today=today,
    )
    runs = {r["run"] for r in result.records}
    existing = {
        row[0]: tuple(row[1:])
        for row in session.execute(
            select(
                Student.run,
                Case.rbd,
                Case.id,
                Case.in_latest_list,
                Case.geocode_method,
                Case.address,
                Case.sector,
                Case.comuna,
                Case.lon,
                Case.lat,
            ).join(Case, Case.student_id == Student.id)
        )
    }
    prepared.new_runs = sorted(runs - set(existing))
    prepared.updated_runs = sorted(runs & set(existing))
    file_rbds = {r["rbd"] for r in result.records}
    prepared.missing_runs = sorted(
        run
        for run, (rbd, _, in_list, *_rest) in existing.items()
        if in_list and rbd in file_rbds and run not in runs
    )
    geocoder = current_geocoder(session, context)  # bundled sources + the team's entries
    for record in result.records:
        old = existing.get(record["run"])
        if old is not None and (
            old[3] == "manual" or (old[4], old[5], old[6]) == _place_fields(record)
        ):
            prepared.locations[record["row"]] = Location(old[7], old[8], old[3], 0.0, "sin cambio")
            continue
        prepared.locations[record["row"]] = geocoder.locate(
            record["address"], record["sector"], _comuna_for(context, record), record["rbd"]
        )
    return prepared


def _place_fields(record: dict) -> tuple[str, str, str]:
    return (record["address"], record["sector"], record["comuna"])


def _comuna_for(context: CaseContext, record: dict) -> str:
    """Return the comuna of the home, or of the school when the file does not say."""
    return record["comuna"] or context.schools.get(record["rbd"], {}).get("comuna", "")


def save_mapping(session: Session, table: RawTable, mapping: dict[str, str]) -> None:
    """Remember a column mapping for files with the same headers."""
    saved = session.scalar(select(HeaderMapping).where(HeaderMapping.signature == table.signature))
    if saved is None:
        session.add(HeaderMapping(signature=table.signature, mapping=dict(mapping)))
    else:
        saved.mapping = dict(mapping)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _report(prepared: Prepared) -> dict:
    return {
        "headers": prepared.table.headers,
        "encoding": prepared.table.encoding,
        "delimiter": prepared.table.delimiter,
        "ignored_columns": prepared.match.ignored,
        "header_rows": list(prepared.table.header_rows),
        "periods": prepared.result.periods,
        "period_given": prepared.period,
        "counts": prepared.result.counts(),
        "issues": [
            {
                "row": i.row,
                "column": i.column,
                "value": i.value,
                "code": i.code,
                "severity": i.severity,
                "message": i.message,
            }
            for i in prepared.result.issues
        ],
        "rejected_rows": sorted(prepared.result.rejected),
    }


def apply_import(  # noqa: C901 - the whole import is one readable transaction
    session: Session,
    context: CaseContext,
    prepared: Prepared,
    *,
    only_valid: bool = False,
    actor: str = "",
    synthetic: bool = False,
    comunas: tuple[str, ...] = (),
) -> ImportBatch:
    """Store a prepared file: all rows, or only the valid ones when the user chose so.

    Runs inside the caller's transaction; on any exception the caller rolls
    back and nothing of the file remains. `comunas`, when given, are the only
    comunas the importing account may touch.

    Raises
    ------
    ImportRejectedError
        The file has errors and `only_valid` is False, the file itself is invalid,
        or it holds cases of comunas outside `comunas`.
    """
    result = prepared.result
    if result.file_errors:
        msg = "El archivo no se puede importar: " + " ".join(i.message for i in result.file_errors)
        raise ImportRejectedError(msg)
    if result.errors and not only_valid:
        msg = (
            f"El archivo tiene {len(result.errors)} error(es) en {len(result.rejected)} fila(s): "
            "no se importó nada. Corrija las filas y vuelva a subirlo, o elija importar solo "
            "las filas válidas."
        )
        raise ImportRejectedError(msg)
    if not result.records:
        msg = "El archivo no tiene filas válidas para importar."
        raise ImportRejectedError(msg)
    if comunas:
        outside = sorted(
            {_comuna_for(context, r) or "sin comuna" for r in result.records} - set(comunas)
        )
        if outside:
            msg = (
                f"El archivo trae casos de comunas fuera de su ámbito ({', '.join(outside)}): no "
                "se importó nada. Quite esas filas o pida a un administrador que lo importe."
            )
            raise ImportRejectedError(msg)
    batch = ImportBatch(
        actor=actor,
        filename=prepared.filename,
        sha256=prepared.sha256,
        file_kind=prepared.table.kind,
        encoding=prepared.table.encoding,
        delimiter=prepared.table.delimiter,
        # the month the stored rows carry (the latest, if several: all are in the report),
        # not the month typed in the form
        period=max(result.periods, default=prepared.period),
        status="solo_validas" if result.errors else "completa",
        synthetic=synthetic,
        n_rows=result.n_rows,
        n_valid=len(result.records),
        n_rejected=len(result.rejected),
        report=_report(prepared),
        geocode_summary=prepared.geocode_summary(),
    )
    session.add(batch)
    session.flush()
    runs = [r["run"] for r in result.records]
    students = {
        s.run: s
        for chunk in _chunks(runs)
        for s in session.scalars(
            select(Student)
            .where(Student.run.in_(chunk))
            .options(
                selectinload(Student.case).selectinload(Case.attendance),
                selectinload(Student.case).selectinload(Case.contacts),
            )
        )
    }
    now = utcnow()

    def record_change(case: Case, name: str, old: object, new: object) -> None:
        session.add(
            Change(at=now, actor=actor, case=case, batch_id=batch.id, source="importacion",
                   field=name, old=_text(old), new=_text(new))
        )  # fmt: skip

    counts = Counter()
    returning: list[Case] = []
    for record in result.records:
        student = students.get(record["run"])
        is_new = student is None
        if is_new:
            student = Student(run=record["run"], dv=record["dv"], synthetic=synthetic)
            student.run_provisional = record["run_provisional"]
            case = Case(student=student, first_batch_id=batch.id)
            session.add(student)
            session.add(case)
        else:
            case = student.case
        changed = False
        for key, attr in _STUDENT_FIELDS:
            new = record[key]
            if new in (None, "") and key != "nee_permanente":
                continue
            if getattr(student, attr) != new:
                if not is_new:
                    record_change(case, attr, getattr(student, attr), new)
                    changed = True
                setattr(student, attr, new)
        for key, attr in _CASE_FIELDS:
            new = record[key]
            old = getattr(case, attr)
            if new in (None, "") and old not in (None, ""):
                continue  # an empty cell never erases what we know
            if old != new:
                if not is_new:
                    record_change(case, attr, old, new)
                    changed = True
                setattr(case, attr, new)
        if not case.in_latest_list and not is_new:
            record_change(case, "in_latest_list", False, True)
        case.in_latest_list = True
        case.last_batch_id = batch.id
        location = prepared.locations.get(record["row"])
        if location is not None and location.matched != "sin cambio":
            if not is_new and (case.lon, case.lat) != (location.lon, location.lat):
                record_change(
                    case,
                    "ubicacion",
                    location_label(case.lon, case.lat, case.geocode_method),
                    location_label(location.lon, location.lat, location.method),
                )
                changed = True
            set_location(context, case, location, now)
        period = record["period"]
        attendance = next((a for a in case.attendance if a.period == period), None)
        if attendance is None:
            attendance = Attendance(period=period)
            case.attendance.append(attendance)
            changed = changed or not is_new
        elif (attendance.pct, attendance.days_present, attendance.days_total) != (
            record["pct"],
            record["days_present"],
            record["days_total"],
        ):
            record_change(case, f"asistencia {period}", attendance.pct, record["pct"])
            changed = True
        attendance.pct = record["pct"]
        attendance.days_present = record["days_present"]
        attendance.days_total = record["days_total"]
        attendance.batch_id = batch.id
        if record["guardian"] or record["phone"]:
            known = {(c.name, c.phone) for c in case.contacts}
            if (record["guardian"], record["phone"]) not in known:
                case.contacts.append(
                    Contact(name=record["guardian"], phone=record["phone"], batch_id=batch.id)
                )
                changed = changed or not is_new
        changed |= _reclassify(context, case, student, prepared.today, record_change, is_new)
        counts["new" if is_new else ("updated" if changed else "unchanged")] += 1
        if not is_new:
            returning.append(case)
    session.flush()
    propose_from_attendance(session, returning, actor=actor)
    missing = set(prepared.missing_runs)
    if missing:
        for chunk in _chunks(sorted(missing)):
            for case in session.scalars(
                select(Case).join(Student).where(Student.run.in_(chunk), Case.in_latest_list)
            ):
                record_change(case, "in_latest_list", True, False)
                case.in_latest_list = False
    batch.n_new, batch.n_updated = counts["new"], counts["updated"]
    batch.n_unchanged, batch.n_missing = counts["unchanged"], len(missing)
    session.flush()
    return batch


def set_location(context: CaseContext, case: Case, location: Location, now: dt.datetime) -> None:
    """Put the geocoder's `location` on `case`: point, island, method, score, match, source."""
    case.lon, case.lat = location.lon, location.lat
    case.geocode_method, case.geocode_score = location.method, location.score
    case.geocode_match = location.matched[:200]
    case.geocode_source = location.source[:300]
    case.geocode_note = location.note[:300]
    case.located_by, case.located_at = "geocodificador", now
    case.island = context.island_of(location.lon, location.lat)


def location_label(lon: float | None, lat: float | None, method: str) -> str:
    """Describe a location for a case's history (``lat, lon (method)`` or ``sin ubicación``)."""
    if lon is None or lat is None:
        return "sin ubicación"
    return f"{lat:.5f}, {lon:.5f} ({method})"


def _chunks(values: list, size: int = 900):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _reclassify(context, case, student, today, record_change, is_new) -> bool:
    """Recompute the derived fields from the latest month; True if any changed."""
    latest = max(case.attendance, key=lambda a: a.period, default=None)
    result = classify(
        pct=latest.pct if latest else None,
        days_present=latest.days_present if latest else None,
        days_total=latest.days_total if latest else None,
        status=case.status,
        born=student.birth_date,
        grade_level=case.grade_level,
        last_grade_passed=case.last_grade_passed,
        last_enrolment_year=case.last_enrolment_year,
        nee_permanente=student.nee_permanente,
        provisional_run=student.run_provisional,
        ceia=case.rbd in context.ceia_rbds,
        on=today,
    )
    new_values = {
        "category": result.category,
        "priority": result.priority,
        "eligible_reinsercion": result.reinsercion.eligible,
        "eligible_aulas": result.aulas.eligible,
        "rezago": result.rezago,
    }
    changed = False
    for name in _DERIVED_FIELDS:
        old = getattr(case, name)
        if old != new_values[name]:
            if not is_new and name == "category":
                record_change(case, name, old, new_values[name])
                changed = True
            setattr(case, name, new_values[name])
    case.riesgosa = result.riesgosa
    case.latest_period = latest.period if latest else None
    case.latest_pct = latest.pct if latest else None
    notes = []
    if result.reinsercion.reasons:
        notes.append("Reinserción: " + "; ".join(result.reinsercion.reasons))
    if result.aulas.reasons:
        notes.append("Aulas de Reingreso: " + "; ".join(result.aulas.reasons))
    case.eligibility_notes = "\n".join(notes)
    case.rules_version = ", ".join(result.rules)
    return changed
