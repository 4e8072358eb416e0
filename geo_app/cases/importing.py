"""Importing a list of students: preview, then one transaction that classifies and locates.

`layers.intake`, `layers.classify` and `layers.geocode` are pure; this module
owns the database transaction and the history of changes. The web pages, the
``revincula import`` command and the demo all import through here.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.accounts.users import set_active
from geo_app.cases.context import CaseContext
from geo_app.cases.storing import STORING
from geo_app.cases.storing import among
from geo_app.cases.storing import location_fields
from geo_app.cases.storing import location_label
from geo_app.cases.storing import store_rows
from geo_app.cases.workflow import propose_from_attendance
from geo_app.places.stored import current_geocoder
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import HeaderMapping
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student
from geo_app.store.models import User
from geo_app.store.models import utcnow
from layers.export import safe_row
from layers.geocode import Location
from layers.intake import CHUNK_ROWS
from layers.intake import HeaderMatch
from layers.intake import IntakeResult
from layers.intake import Issue
from layers.intake import RawTable
from layers.intake import ReadLimits
from layers.intake import TableStream
from layers.intake import match_headers
from layers.intake import read_table
from layers.intake import rejected_row_cells
from layers.intake import scan_stream
from layers.intake import validate
from layers.synthetic import is_synthetic_run
from layers.text import count_label
from layers.text import number_es
from layers.workflow import load_workflow

__all__ = [
    "ISSUES_KEPT",
    "LIST_MODES",
    "LOCATING",
    "READING",
    "REVIEWING",
    "STORING",
    "STREAMING",
    "VALIDATING",
    "ImportRejectedError",
    "Prepared",
    "Progress",
    "SchoolShortfall",
    "ScopeIssue",
    "StoreView",
    "StreamOutcome",
    "StreamReview",
    "apply_import",
    "locate_records",
    "location_label",
    "mapping_change",
    "prepare_import",
    "refuse_out_of_scope",
    "save_mapping",
    "set_location",
    "store_view",
    "stream_import",
    "stream_review",
]

# How a file relates to the schools' previous lists: the complete list (students absent from
# it are marked «ya no están en la lista») or an addition (no one is marked).
LIST_MODES = ("completa", "adicion")
# A file is "far short" of a school's previous list when it has less than this share of it.
SHORTFALL_SHARE = 0.5
OUT_OF_SCOPE_ROW = (
    "Este RUN corresponde a un caso que su cuenta no puede cambiar: la fila no se importa. "
    "Quítela, o pida a un administrador que la importe."
)
COMUNA_OUT_OF_SCOPE_ROW = (
    "La comuna {value} está fuera del ámbito de su cuenta: la fila no se importa. Quítela, o "
    "pida a un administrador que la importe."
)


# Phases of an import, as its progress reports them (rows done of the total within each).
VALIDATING = "Validando las filas"
LOCATING = "Ubicando las direcciones"
Progress = Callable[[int, int, str], object]  # (rows done, rows in the phase, phase)


class ImportRejectedError(ValueError):
    """The import was refused as a whole; nothing was stored."""


class ScopeIssue(Issue):
    """A row refused because the importing account may not create or change its case.

    Its message says nothing of the stored record (not even that its name differs).
    """

    @property
    def severity(self) -> str:
        """Always ``"error"``: the row is not imported."""
        return "error"


@dataclass(frozen=True)
class SchoolShortfall:
    """A school whose rows in the file are far fewer than its previous list (issue 17 item 4).

    `n_previous` counts the school's cases in the account's scope that were in the
    latest list; `n_missing` those of them absent from the file.
    """

    rbd: int
    name: str
    n_file: int
    n_previous: int
    n_missing: int

    def sentence(self) -> str:
        """Spanish description with the numbers."""
        return (
            f"RBD {self.rbd} {self.name}: el archivo trae {count_label(self.n_file, 'fila')} y su "
            f"lista anterior tenía {count_label(self.n_previous, 'estudiante')}; si es la lista "
            f"completa, {number_es(self.n_missing)} "
            f"{'quedará marcado' if self.n_missing == 1 else 'quedarán marcados'} "
            "«ya no están en la lista»"
        )


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
    shortfalls: list[SchoolShortfall] = field(default_factory=list)
    saved_mapping: HeaderMapping | None = None  # the account's saved mapping, if applied
    scope_refused: list[int] = field(default_factory=list)  # rows refused for scope
    updated_case_ids: list[int] = field(default_factory=list)  # for the audit log

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


def _known_names(session: Session, scope: Scope | None) -> dict[int, str]:
    """Return stored full names by RUN, only of cases `scope` may see (None = every case)."""
    query = select(Student.run, Student.given_names, Student.surnames).join(
        Case, Case.student_id == Student.id
    )
    if scope is not None:
        query = scope.cases(query)
    rows = session.execute(query)
    return {run: " ".join(p for p in (g, s) if p) for run, g, s in rows}


def _saved_mapping(session: Session, signature: str, owner: str) -> HeaderMapping | None:
    """Return the mapping `owner` saved for files with these headers ("" = command line)."""
    return session.scalar(
        select(HeaderMapping).where(
            HeaderMapping.signature == signature, HeaderMapping.owner == owner
        )
    )


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
    scope: Scope | None = None,
    owner: str = "",
    progress: Progress | None = None,
    every: int = 5_000,
) -> Prepared:
    """Read and validate a file and compare it with the store; nothing is written.

    `scope` is the importing account's (None: a command, every case). Only cases in
    it are compared: a row matching a stored case outside it, or of a comuna outside
    it, is refused with a `ScopeIssue` that reveals nothing of the stored record;
    stored names are echoed only for cases in scope; «ya no están en la lista» and the
    schools whose list the file falls far short of (`Prepared.shortfalls`) count only
    cases in scope.

    The mapping `owner` saved earlier for the same headers is used when `mapping` is
    None (``prepared.saved_mapping`` says so, for the page to show it).
    `header_row` (row number, or two consecutive ones) overrides the header row that
    `read_table` finds; ``prepared.table.header_rows`` says which was used and
    ``prepared.table.head`` holds the file's first lines to choose another.

    `progress`, when given, is called as ``progress(done, total, phase)`` (rows, Spanish
    phase) every `every` rows while validating (``VALIDATING``) and locating
    (``LOCATING``), and once each phase ends with ``done == total``.

    Raises
    ------
    layers.intake.IntakeError
        The file cannot be read as a table.
    """
    today = today or dt.date.today()
    table = read_table(data, filename, header_row=header_row)
    saved = None
    if mapping is None:
        saved = _saved_mapping(session, table.signature, owner)
        mapping = saved.mapping if saved is not None else None
    match = match_headers(table.headers, mapping, rows=table.rows)
    view = store_view(session, context, scope)
    result = validate(
        table,
        match,
        known_rbds=context.schools,
        known_comunas=context.comunas,
        known_names=view.names,
        period=period,
        today=today,
        on_rows=None if progress is None else lambda n: progress(n, len(table.rows), VALIDATING),
        every=every,
    )
    prepared = Prepared(
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        table=table,
        match=match,
        result=result,
        period=period,
        today=today,
        saved_mapping=saved,
    )
    refuse_out_of_scope(prepared, context, scope, set(view.existing) - set(view.visible))
    existing, visible = view.existing, view.visible
    runs = {r["run"] for r in result.records}
    prepared.new_runs = sorted(runs - set(existing))
    prepared.updated_runs = sorted(runs & set(existing))
    prepared.updated_case_ids = sorted(visible[run][1] for run in prepared.updated_runs)
    file_rbds = Counter(r["rbd"] for r in result.records)
    prepared.missing_runs = missing_from(
        visible, file_rbds, runs, {r["period"] for r in result.records}
    )
    prepared.shortfalls = _shortfalls(context, visible, file_rbds, prepared.missing_runs)
    prepared.locations = locate_records(context, view, result.records, progress, every)
    return prepared


@dataclass
class StoreView:
    """What an import compares a file with, read once before it: cases, names, geocoder.

    ``existing`` maps every stored RUN to ``(rbd, case id, in latest list, geocode
    method, address, sector, comuna, lon, lat, latest period)``; ``visible`` only those in the
    account's scope; ``names`` their full names (`_known_names`).
    """

    existing: dict[int, tuple]
    visible: dict[int, tuple]
    names: dict[int, str]
    geocoder: object


def missing_from(visible: dict, file_rbds, runs: set[int], periods: set) -> list[int]:
    """Return the RUNs of the latest lists of the file's schools that the file lacks.

    `visible` maps a RUN to its `store_view` tuple. A student whose latest stored month
    is after every month of the file is never among them: an older month's list (a
    backfill) says nothing about who is in a newer one.
    """
    last = max((p for p in periods if p), default="")
    return sorted(
        run
        for run, (rbd, _, in_list, *_rest, latest) in visible.items()
        if in_list and rbd in file_rbds and run not in runs and (latest or "") <= last
    )


def store_view(session: Session, context: CaseContext, scope: Scope | None) -> StoreView:
    """Read what an import of an account with `scope` (None: every case) compares with."""
    query = select(
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
        Case.latest_period,
    ).join(Case, Case.student_id == Student.id)
    existing = {row[0]: tuple(row[1:]) for row in session.execute(query)}
    visible = existing
    if scope is not None:
        allowed = set(session.scalars(scope.cases(select(Case.id))))
        visible = {run: old for run, old in existing.items() if old[1] in allowed}
    geocoder = current_geocoder(session, context)  # bundled sources + the team's entries
    return StoreView(existing, visible, _known_names(session, scope), geocoder)


def locate_records(
    context: CaseContext,
    view: StoreView,
    records: list[dict],
    progress: Progress | None = None,
    every: int = 5_000,
) -> dict:
    """Return row number -> `Location` of `records`; a stored place unchanged is kept.

    A case located by hand, or whose address, sector and comuna did not change, keeps
    its point (method «sin cambio»); each distinct address reading of the others is
    located once (lists repeat sectors and siblings). `progress` as in `prepare_import`
    (phase ``LOCATING``, rows of `records`).
    """
    locations: dict[int, Location] = {}
    to_locate = []
    for record in records:
        old = view.existing.get(record["run"])
        if old is not None and (
            old[3] == "manual" or (old[4], old[5], old[6]) == _place_fields(record)
        ):
            locations[record["row"]] = Location(old[7], old[8], old[3], 0.0, "sin cambio")
            continue
        to_locate.append(record)
    skipped, total = len(records) - len(to_locate), len(records)

    def readings():
        for i, r in enumerate(to_locate):
            if progress is not None and i and i % every == 0:
                progress(skipped + i, total, LOCATING)
            yield r["address"], r["sector"], _comuna_for(context, r), r["rbd"]

    located = view.geocoder.locate_many(readings())
    for record, location in zip(to_locate, located, strict=True):
        locations[record["row"]] = location
    if progress is not None:
        progress(total, total, LOCATING)
    return locations


def refuse_out_of_scope(
    prepared: Prepared, context: CaseContext, scope: Scope | None, hidden_runs: set[int]
) -> None:
    """Move to the rejected rows those the account may not import (in place).

    A row is refused when its RUN is a stored case outside `scope` (the message says
    nothing of that case) or when its comuna is outside the account's comunas.
    """
    result = prepared.result
    if scope is None or scope.all_comunas or not result.records:
        return
    raw = dict(zip(prepared.table.row_numbers, prepared.table.rows, strict=True))
    run_header = prepared.table.headers[prepared.match.columns["run"]]
    kept = []
    for record in result.records:
        number, comuna = record["row"], _comuna_for(context, record)
        if record["run"] in hidden_runs:
            issue = ScopeIssue(number, run_header, "", "fuera_de_ambito", OUT_OF_SCOPE_ROW)
        elif not scope.comuna_allowed(comuna):
            shown = f"«{comuna}»" if comuna else "(sin comuna)"
            message = COMUNA_OUT_OF_SCOPE_ROW.format(value=shown)
            issue = ScopeIssue(number, "comuna", comuna, "comuna_fuera_de_ambito", message)
        else:
            kept.append(record)
            continue
        result.issues.append(issue)
        result.rejected[number] = raw[number]
        prepared.scope_refused.append(number)
    result.records = kept
    result.periods = dict(sorted(Counter(r["period"] for r in kept).items()))


def _shortfalls(
    context: CaseContext, visible: dict, file_rbds: Counter, missing_runs: list[int]
) -> list[SchoolShortfall]:
    """Schools whose rows in the file are less than `SHORTFALL_SHARE` of their previous list."""
    previous = Counter(old[0] for old in visible.values() if old[2])
    missing = Counter(visible[run][0] for run in missing_runs)
    out = []
    for rbd, n_file in sorted(file_rbds.items()):
        if missing[rbd] and n_file < SHORTFALL_SHARE * previous[rbd]:
            name = context.schools.get(rbd, {}).get("name", "")
            out.append(SchoolShortfall(rbd, name, n_file, previous[rbd], missing[rbd]))
    return out


def _place_fields(record: dict) -> tuple[str, str, str]:
    return (record["address"], record["sector"], record["comuna"])


def _comuna_for(context: CaseContext, record: dict) -> str:
    """Return the comuna of the home, or of the school when the file does not say."""
    return record["comuna"] or context.schools.get(record["rbd"], {}).get("comuna", "")


def save_mapping(
    session: Session, table: RawTable, mapping: dict[str, str], *, owner: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """Remember `owner`'s column mapping for files with the same headers.

    Returns ``(before, after)``: the mapping saved before ({} if none) and the new one,
    for the audit log. Another account's mappings are neither read nor changed.
    """
    saved = _saved_mapping(session, table.signature, owner)
    if saved is None:
        session.add(HeaderMapping(owner=owner, signature=table.signature, mapping=dict(mapping)))
        return {}, dict(mapping)
    before = dict(saved.mapping)
    saved.mapping, saved.updated_at = dict(mapping), utcnow()
    return before, dict(mapping)


def mapping_change(before: dict[str, str], after: dict[str, str]) -> str:
    """Describe a mapping change for the audit log: ``header: old → new`` (column names only)."""
    changed = [
        f"{header[:30]}: {before.get(header) or '-'} → {after.get(header) or '-'}"
        for header in after
        if before.get(header, "") != after.get(header, "")
    ]
    return "; ".join(changed) or "sin cambios"


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
        "issues": [i.as_dict() for i in prepared.result.issues],
        "rejected_rows": sorted(prepared.result.rejected),
    }


NO_VALID_ROWS = "El archivo no tiene filas válidas para importar."


def _file_errors_message(issues: list[Issue]) -> str:
    return "El archivo no se puede importar: " + " ".join(i.message for i in issues)


def _errors_message(n_errors: int, n_rejected: int) -> str:
    return (
        f"El archivo tiene {count_label(n_errors, 'error')} en {count_label(n_rejected, 'fila')}: "
        "no se importó nada. Corrija las filas y vuelva a subirlo, o elija importar solo "
        "las filas válidas."
    )


def _outside_message(outside: list[str]) -> str:
    return (
        f"El archivo trae casos de comunas fuera de su ámbito ({', '.join(outside)}): no "
        "se importó nada. Quite esas filas o pida a un administrador que lo importe."
    )


def _shortfalls_message(shortfalls: list[SchoolShortfall]) -> str:
    return (
        "Antes de marcar a alguien como «ya no están en la lista», diga si el archivo es la "
        "lista completa de sus establecimientos o una adición. "
        + "; ".join(s.sentence() for s in shortfalls)
        + ". Si es una adición, no se marca a nadie."
    )


def _check_list_mode(list_mode: str | None) -> None:
    if list_mode not in (None, *LIST_MODES):
        msg = f"Tipo de lista «{list_mode}» desconocido: elija «completa» o «adicion»."
        raise ImportRejectedError(msg)


def apply_import(
    session: Session,
    context: CaseContext,
    prepared: Prepared,
    *,
    only_valid: bool = False,
    actor: str = "",
    synthetic: bool = False,
    comunas: tuple[str, ...] = (),
    list_mode: str | None = None,
    progress: Progress | None = None,
    every: int = 5_000,
) -> ImportBatch:
    """Store a prepared file: all rows, or only the valid ones when the user chose so.

    Runs inside the caller's transaction; on any exception the caller rolls
    back and nothing of the file remains. `comunas`, when given, are the only
    comunas the importing account may touch.

    Real data disables every active demo account first, in the same transaction
    (``batch.report["demo_desactivadas"]`` names them); importing it with a demo
    account is refused. A file is synthetic when the caller says so or when every
    imported RUN is in the synthetic range (`layers.synthetic.is_synthetic_run`):
    then the demo accounts stay open and the students are marked synthetic.

    `list_mode` says what the file is for its schools: ``"completa"`` (their students
    absent from it are marked «ya no están en la lista»), ``"adicion"`` (no one is
    marked) or None: marked as for a complete list, unless the file falls far short of
    some school's previous list (`Prepared.shortfalls`), when the import is refused
    until the user says which (no one is ever dropped silently).

    `progress` as in `prepare_import` (phase ``STORING``, valid rows, every `every`).

    Raises
    ------
    ImportRejectedError
        The file has errors and `only_valid` is False, the file itself is invalid,
        it holds cases of comunas outside `comunas`, or `list_mode` is needed and None.
    """
    _check_list_mode(list_mode)
    result = prepared.result
    if result.file_errors:
        raise ImportRejectedError(_file_errors_message(result.file_errors))
    if result.errors and not only_valid:
        raise ImportRejectedError(_errors_message(len(result.errors), len(result.rejected)))
    if not result.records:
        raise ImportRejectedError(NO_VALID_ROWS)
    if comunas:
        found = {_comuna_for(context, r) or "sin comuna" for r in result.records}
        if outside := sorted(found - set(comunas)):
            raise ImportRejectedError(_outside_message(outside))
    synthetic = synthetic or all(is_synthetic_run(r["run"]) for r in result.records)
    demo_disabled = [] if synthetic else _close_demo_accounts(session, actor)
    if prepared.shortfalls and list_mode is None:
        raise ImportRejectedError(_shortfalls_message(prepared.shortfalls))
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
        report={
            **_report(prepared),
            "lista": list_mode or "completa",
            "demo_desactivadas": demo_disabled,
        },
        geocode_summary=prepared.geocode_summary(),
    )
    session.add(batch)
    session.flush()
    missing = set(prepared.missing_runs) if list_mode != "adicion" else set()
    counts, n_missing = store_rows(
        session, context, prepared, batch.id, actor=actor, synthetic=synthetic,
        missing_runs=missing, propose=lambda ids: _propose(session, ids, actor),
        progress=progress, every=every,
    )  # fmt: skip
    batch.n_new, batch.n_updated = counts["new"], counts["updated"]
    batch.n_unchanged, batch.n_missing = counts["unchanged"], n_missing
    session.flush()
    return batch


def _propose(session: Session, case_ids: list[int], actor: str) -> None:
    """Propose «revinculado» for the returning cases attending again (in `case_ids` order)."""
    flow = load_workflow()
    order = {case_id: i for i, case_id in enumerate(case_ids)}
    found = [
        case
        for part in _chunks(case_ids)
        for case in session.scalars(
            select(Case).where(
                among(session, Case.__table__.c.id, part), Case.latest_pct >= flow.attending_pct
            )
        )
    ]
    propose_from_attendance(session, sorted(found, key=lambda c: order[c.id]), actor=actor)


def _close_demo_accounts(session: Session, actor: str) -> list[str]:
    """Before real data comes in, disable the demo accounts (their passwords are published).

    Returns the user names disabled (their sessions end).

    Raises
    ------
    ImportRejectedError
        `actor` is itself an active demo account: real data cannot be imported with it.
    """
    demo = list(session.scalars(select(User).where(User.demo, User.active).order_by(User.id)))
    if any(user.username == actor for user in demo):
        msg = (
            "Está usando una cuenta de demostración, cuya contraseña es pública: con ella no se "
            "importan datos reales. Cree una cuenta propia («revincula user add») e importe con "
            "ella; al hacerlo, las cuentas de demostración se desactivan solas."
        )
        raise ImportRejectedError(msg)
    for user in demo:
        set_active(user, False)
    return [user.username for user in demo]


def set_location(context: CaseContext, case: Case, location: Location, now: dt.datetime) -> None:
    """Put the geocoder's `location` on `case`: point, island, method, score, match, source."""
    for name, value in location_fields(location, now, context.island_of).items():
        setattr(case, name, value)


def _chunks(values: list, size: int = 10_000):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --------------------------------------------------------------------------- streaming

ISSUES_KEPT = 50  # issues of each kind a streamed import's report keeps (all are counted)
READING = "Leyendo el archivo"
STREAMING = "Validando, ubicando y guardando las filas"
REVIEWING = "Validando y ubicando las filas"


@dataclass
class StreamOutcome:
    """What `stream_import` stored and found.

    ``issues`` holds the first `ISSUES_KEPT` issues of each code (``counts`` counts them
    all); ``rejected_path`` is the CSV of the rejected rows with their errors
    (`layers.intake.rejected_rows_csv`'s format, written as they come), or None when no
    row was rejected: the caller deletes it. ``updated_case_ids`` are the stored cases in
    the account's scope the file named (for the audit log, as `Prepared.updated_case_ids`).
    """

    batch: ImportBatch
    n_rows: int
    counts: dict[str, int]
    issues: list[Issue]
    rejected_path: Path | None
    updated_case_ids: list[int] = field(default_factory=list)


@dataclass
class StreamReview:
    """What `stream_review` found in a file, nothing written: the streamed import's preview.

    The counts are those of `Prepared` (rows, valid, rejected, new, updated, missing,
    refused for scope, errors, warnings); ``issues`` the first `ISSUES_KEPT` of each code;
    ``geocode`` rows by geocoding method; ``file_errors`` what makes the whole file
    unimportable (empty, a required column missing, RUNs without their digit);
    ``rejected_path`` the rejected rows' CSV (None when none was rejected: the caller
    deletes it).
    """

    filename: str
    table: RawTable  # the header and first rows (`TableStream.head`)
    match: HeaderMatch
    saved_mapping: HeaderMapping | None
    n_rows: int
    n_valid: int
    n_rejected: int
    n_new: int
    n_updated: int
    n_missing: int
    n_scope_refused: int
    n_errors: int
    n_warnings: int
    issues: list[Issue]
    geocode: dict[str, int]
    shortfalls: list[SchoolShortfall]
    updated_case_ids: list[int]
    file_errors: list[Issue]
    rejected_path: Path | None

    @property
    def can_import_all(self) -> bool:
        """True when every row is valid (as `Prepared.can_import_all`)."""
        return not self.n_errors and not self.file_errors and bool(self.n_valid)

    @property
    def can_import_valid(self) -> bool:
        """True when the file itself is fine and at least one row is valid."""
        return not self.file_errors and bool(self.n_valid)


class _Spill:
    """The rejected rows and their errors, written to a CSV file as they are found."""

    def __init__(self, headers: list[str], path: Path | None) -> None:
        self.headers, self.path, self.file, self.writer, self.n = headers, path, None, None, 0

    def add(self, result: IntakeResult) -> None:
        if not result.rejected:
            return
        if self.file is None:
            if self.path is None:
                handle, name = tempfile.mkstemp(prefix="revincula-rechazadas-", suffix=".csv")
                os.close(handle)
                self.path = Path(name)
            self.file = self.path.open("w", encoding="utf-8-sig", newline="")
            self.writer = csv.writer(self.file, delimiter=";", lineterminator="\r\n")
            self.writer.writerow(safe_row(["fila", *self.headers, "errores"]))  # as the page's
        for cells in rejected_row_cells(self.headers, result):
            self.writer.writerow(cells)
            self.n += 1

    def close(self) -> Path | None:
        if self.file is not None:
            self.file.close()
        return self.path if self.n else None


@dataclass
class _Tally:
    """What a streamed pass keeps of the chunks it validated: counts, first issues, RUNs."""

    counts: Counter = field(default_factory=Counter)
    kept: list[Issue] = field(default_factory=list)
    runs: set[int] = field(default_factory=set)
    file_rbds: Counter = field(default_factory=Counter)
    periods: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)
    found_comunas: set[str] = field(default_factory=set)
    outcome: dict[int, str] = field(default_factory=dict)  # RUN -> new, updated, unchanged
    n_errors: int = 0
    n_rejected: int = 0
    n_valid: int = 0
    n_scope_refused: int = 0
    all_synthetic: bool = True

    def note(self, issues: list[Issue]) -> None:
        for issue in issues:
            self.counts[issue.code] += 1
            if self.counts[issue.code] <= ISSUES_KEPT:
                self.kept.append(issue)

    def add(self, context: CaseContext, prepared: Prepared) -> None:
        result, records = prepared.result, prepared.result.records
        self.note(result.issues)
        self.n_errors += len(result.errors)
        self.n_rejected += len(result.rejected)
        self.n_scope_refused += len(prepared.scope_refused)
        self.n_valid += len(records)
        self.runs.update(r["run"] for r in records)
        self.file_rbds.update(r["rbd"] for r in records)
        self.periods.update(r["period"] for r in records)
        self.found_comunas.update(_comuna_for(context, r) or "sin comuna" for r in records)
        self.all_synthetic = self.all_synthetic and all(is_synthetic_run(r["run"]) for r in records)

    def missing(self, view: StoreView) -> list[int]:
        """Return the RUNs in scope of the file's schools' latest lists absent from the file."""
        return missing_from(view.visible, self.file_rbds, self.runs, set(self.periods))


@dataclass
class _Opened:
    """A file opened for a streamed pass: its chunks, headers' match and whole-file state."""

    stream: TableStream
    match: HeaderMatch
    state: object  # layers.intake.ValidationState
    saved: HeaderMapping | None


def _open_stream(
    session: Session,
    path: str | Path,
    filename: str,
    *,
    owner: str,
    mapping: dict[str, str] | None,
    header_row: int | tuple[int, ...] | None,
    period: str | None,
    chunk_rows: int,
    limits: ReadLimits | None,
    report: Progress,
) -> _Opened:
    """Open `path` in chunks and read it once (its rows, months and attendance scale).

    The headers are matched with `mapping`, or `owner`'s saved mapping when it is None;
    `report` gets the rows read (phase ``READING``).
    """
    stream = TableStream(str(path), filename, chunk_rows=chunk_rows, header_row=header_row,
                         limits=limits)  # fmt: skip
    head = stream.head
    saved = None
    if mapping is None:
        saved = _saved_mapping(session, head.signature, owner)
        mapping = saved.mapping if saved is not None else None
    match = match_headers(head.headers, mapping, rows=head.rows)
    state = scan_stream(stream, match, period, progress=lambda n: report(n, 0, READING))
    report(state.n_rows, state.n_rows, READING)
    return _Opened(stream, match, state, saved)


def _stream_pass(
    context: CaseContext,
    opened: _Opened,
    view: StoreView,
    scope: Scope | None,
    known: dict,
    spill: _Spill,
    tally: _Tally,
    each: Callable[[Prepared], object],
    report: Progress,
    phase: str,
) -> list[Issue]:
    """Validate the file chunk by chunk (refusing rows out of `scope`), tally each, call `each`.

    Returns the file errors of the first chunk that has any (the pass stops there: no row
    of such a file can be imported), else [].
    """
    hidden = set(view.existing) - set(view.visible)
    done = 0
    for chunk in opened.stream.chunks():
        result = validate(chunk, opened.match, state=opened.state, **known)
        prepared = Prepared(filename="", sha256="", table=chunk, match=opened.match,
                            result=result, period=known["period"],
                            today=known["today"])  # fmt: skip
        refuse_out_of_scope(prepared, context, scope, hidden)
        if result.file_errors:
            return result.file_errors
        tally.add(context, prepared)
        spill.add(result)
        each(prepared)
        done += len(chunk.rows)
        report(done, opened.state.n_rows, phase)
    return []


def _known(context: CaseContext, view: StoreView, period: str | None, today: dt.date) -> dict:
    return {"known_rbds": context.schools, "known_comunas": context.comunas,
            "known_names": view.names, "period": period, "today": today}  # fmt: skip


def stream_review(
    session: Session,
    context: CaseContext,
    path: str | Path,
    filename: str,
    *,
    period: str | None = None,
    mapping: dict[str, str] | None = None,
    scope: Scope | None = None,
    owner: str = "",
    today: dt.date | None = None,
    chunk_rows: int = CHUNK_ROWS,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
    rejected_to: Path | None = None,
) -> StreamReview:
    """Preview a file of any length in bounded memory, as `prepare_import` does; nothing is written.

    The same reading, validation, scope refusal, comparison with the store, locating and
    school shortfalls as `stream_import` (so its counts are what confirming would store),
    chunk by chunk; only counts, the first `ISSUES_KEPT` issues of each kind, the RUNs
    and RBDs stay in memory, and the rejected rows go to a CSV file
    (`StreamReview.rejected_path`, at `rejected_to` if given). `mapping` and `owner` as
    in `prepare_import`; `limits` bound the CSV read (`layers.intake.STREAM_LIMITS` by
    default). `progress` reports ``READING``, then ``REVIEWING`` after each chunk.

    Raises
    ------
    layers.intake.IntakeError
        The file cannot be read as a table, or is beyond `limits`.
    """
    today = today or dt.date.today()
    report = progress or (lambda *_: None)
    opened = _open_stream(session, path, filename, owner=owner, mapping=mapping,
                          header_row=None, period=period, chunk_rows=chunk_rows, limits=limits,
                          report=report)  # fmt: skip
    head, state = opened.stream.head, opened.state
    view = store_view(session, context, scope)
    known = _known(context, view, period, today)
    tally = _Tally(kept=[*state.reading_notes()])
    tally.counts.update(i.code for i in tally.kept)
    spill = _Spill(head.headers, rejected_to)

    def locate(prepared: Prepared) -> None:
        found = locate_records(context, view, prepared.result.records)
        tally.methods.update(loc.method for loc in found.values())

    try:
        if not state.n_rows:
            file_errors = validate(replace(head, rows=[], row_numbers=[]), opened.match,
                                   **known).file_errors  # fmt: skip
        else:
            file_errors = _stream_pass(context, opened, view, scope, known, spill, tally,
                                       locate, report, REVIEWING)  # fmt: skip
        if not file_errors and (issue := state.file_issue(head.headers, opened.match)):
            file_errors = [issue]
    finally:
        rejected_path = spill.close()
    tally.note(file_errors)
    missing = tally.missing(view)
    return StreamReview(
        filename=filename, table=head, match=opened.match, saved_mapping=opened.saved,
        n_rows=state.n_rows, n_valid=tally.n_valid, n_rejected=tally.n_rejected,
        n_new=len(tally.runs - set(view.existing)),
        n_updated=len(tally.runs & set(view.existing)), n_missing=len(missing),
        n_scope_refused=tally.n_scope_refused, n_errors=tally.n_errors + len(file_errors),
        n_warnings=sum(tally.counts.values()) - tally.n_errors - len(file_errors),
        issues=tally.kept, geocode=dict(tally.methods),
        shortfalls=_shortfalls(context, view.visible, tally.file_rbds, missing),
        updated_case_ids=sorted(view.visible[run][1] for run in tally.runs & set(view.visible)),
        file_errors=file_errors, rejected_path=rejected_path,
    )  # fmt: skip


def stream_import(  # noqa: C901 - the import's steps in order, chunk by chunk
    session: Session,
    context: CaseContext,
    path: str | Path,
    filename: str,
    *,
    actor: str = "",
    synthetic: bool = False,
    only_valid: bool = False,
    list_mode: str | None = None,
    period: str | None = None,
    mapping: dict[str, str] | None = None,
    header_row: int | tuple[int, ...] | None = None,
    today: dt.date | None = None,
    scope: Scope | None = None,
    comunas: tuple[str, ...] = (),
    chunk_rows: int = CHUNK_ROWS,
    limits: ReadLimits | None = None,
    progress: Progress | None = None,
    rejected_to: Path | None = None,
) -> StreamOutcome:
    """Import a file of any length in bounded memory, in the caller's one transaction.

    The file (a CSV streamed from disk; an XLSX within `layers.intake.ReadLimits`) is
    read once to count its rows and decide its month and attendance scale
    (`layers.intake.scan_stream`), then again in chunks of `chunk_rows` rows: each is
    validated (`validate` with the file's `ValidationState`: duplicates across chunks
    are found), refused by scope as in `prepare_import`, located and stored
    (`storing.store_rows`). Only counts, the first `ISSUES_KEPT` issues of each kind and
    the sets of RUNs and RBDs stay in memory; rejected rows go to a CSV file
    (`StreamOutcome.rejected_path`, at `rejected_to` if given). `limits` bound the CSV
    read (`layers.intake.STREAM_LIMITS` by default).

    All-or-nothing as `apply_import`, with the same rules and messages, checked when the
    file has been read: on any `ImportRejectedError` (or database error) raised, even
    after the last chunk, the caller rolls back and nothing of the file remains.

    `progress(done, total, phase)` reports rows read (``READING``), then rows validated,
    located and stored (``STREAMING``), after each chunk; each phase ends at its total.

    Raises
    ------
    layers.intake.IntakeError
        The file cannot be read as a table, or is beyond `limits`.
    ImportRejectedError
        As `apply_import`.
    """
    _check_list_mode(list_mode)
    today = today or dt.date.today()
    report = progress or (lambda *_: None)
    opened = _open_stream(session, path, filename, owner=scope.username if scope else "",
                          mapping=mapping, header_row=header_row, period=period,
                          chunk_rows=chunk_rows, limits=limits, report=report)  # fmt: skip
    head, match, state = opened.stream.head, opened.match, opened.state
    view = store_view(session, context, scope)
    known = _known(context, view, period, today)
    if not state.n_rows:
        empty = validate(replace(head, rows=[], row_numbers=[]), match, **known)
        raise ImportRejectedError(_file_errors_message(empty.file_errors))
    batch = ImportBatch(actor=actor, filename=filename, sha256=_sha256(path),
                        file_kind=head.kind, encoding=head.encoding, delimiter=head.delimiter,
                        period=None, status="completa", synthetic=synthetic,
                        n_rows=state.n_rows)  # fmt: skip
    session.add(batch)
    session.flush()
    tally = _Tally(kept=[*state.reading_notes()])
    tally.counts.update(i.code for i in tally.kept)
    spill = _Spill(head.headers, rejected_to)

    def store(prepared: Prepared) -> None:
        records = prepared.result.records
        if records and (only_valid or not tally.n_errors):  # else: rejected at the end anyway
            prepared.locations = locate_records(context, view, records)
            tally.methods.update(loc.method for loc in prepared.locations.values())
            store_rows(
                session, context, prepared, batch.id, actor=actor, synthetic=synthetic,
                missing_runs=set(), propose=lambda ids: _propose(session, ids, actor),
                outcome=tally.outcome,  # a RUN in several chunks (months) is one student
            )  # fmt: skip

    try:
        file_errors = _stream_pass(context, opened, view, scope, known, spill, tally, store,
                                   report, STREAMING)  # fmt: skip
    finally:
        rejected_path = spill.close()
    try:
        if file_errors:
            raise ImportRejectedError(_file_errors_message(file_errors))
        if (issue := state.file_issue(head.headers, match)) is not None:
            raise ImportRejectedError(_file_errors_message([issue]))
        if tally.n_errors and not only_valid:
            raise ImportRejectedError(_errors_message(tally.n_errors, tally.n_rejected))
        if not tally.n_valid:
            raise ImportRejectedError(NO_VALID_ROWS)
        if comunas and (outside := sorted(tally.found_comunas - set(comunas))):
            raise ImportRejectedError(_outside_message(outside))
        if not synthetic and tally.all_synthetic:  # as apply_import: every RUN synthetic
            synthetic = True
            new_students = select(Case.student_id).where(Case.first_batch_id == batch.id)
            session.execute(
                Student.__table__.update()
                .where(Student.__table__.c.id.in_(new_students))
                .values(synthetic=True)
            )
        demo_disabled = [] if synthetic else _close_demo_accounts(session, actor)
        missing = tally.missing(view)
        shortfalls = _shortfalls(context, view.visible, tally.file_rbds, missing)
        if shortfalls and list_mode is None:
            raise ImportRejectedError(_shortfalls_message(shortfalls))
        n_missing = 0
        if missing and list_mode != "adicion":
            nothing = IntakeResult(records=[], issues=[])
            marker = Prepared(filename=filename, sha256=batch.sha256, table=head, match=match,
                              result=nothing, period=period, today=today)  # fmt: skip
            _, n_missing = store_rows(session, context, marker, batch.id, actor=actor,
                                      synthetic=synthetic, missing_runs=set(missing),
                                      propose=lambda _ids: None)  # fmt: skip
    except BaseException:
        if rejected_path is not None and rejected_to is None:
            rejected_path.unlink(missing_ok=True)
        raise
    ordered_periods = dict(sorted(tally.periods.items()))
    batch.period = max(ordered_periods, default=period)
    batch.status = "solo_validas" if tally.n_errors else "completa"
    batch.synthetic = synthetic
    batch.n_valid, batch.n_rejected = tally.n_valid, tally.n_rejected
    totals = Counter(tally.outcome.values())
    batch.n_new, batch.n_updated = totals["new"], totals["updated"]
    batch.n_unchanged, batch.n_missing = totals["unchanged"], n_missing
    batch.geocode_summary = dict(tally.methods)
    batch.report = {
        "headers": head.headers,
        "encoding": head.encoding,
        "delimiter": head.delimiter,
        "ignored_columns": match.ignored,
        "header_rows": list(head.header_rows),
        "periods": ordered_periods,
        "period_given": period,
        "counts": dict(tally.counts),
        "issues": [i.as_dict() for i in tally.kept],
        "issues_kept_per_code": ISSUES_KEPT,
        "rejected_rows": [],  # in the rejected rows' file (too many to keep here)
        "lista": list_mode or "completa",
        "demo_desactivadas": demo_disabled,
        "por_partes": True,
    }
    session.flush()
    updated = sorted(view.visible[run][1] for run in tally.runs & set(view.visible))
    return StreamOutcome(batch, state.n_rows, dict(tally.counts), tally.kept, rejected_path,
                         updated)  # fmt: skip


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
