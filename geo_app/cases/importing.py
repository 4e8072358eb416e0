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

from geo_app.accounts.users import set_active
from geo_app.cases.context import CaseContext
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
from layers.geocode import Location
from layers.intake import HeaderMatch
from layers.intake import IntakeResult
from layers.intake import Issue
from layers.intake import RawTable
from layers.intake import match_headers
from layers.intake import read_table
from layers.intake import validate
from layers.synthetic import is_synthetic_run
from layers.text import count_label
from layers.text import number_es
from layers.workflow import load_workflow

__all__ = [
    "LIST_MODES",
    "ImportRejectedError",
    "Prepared",
    "SchoolShortfall",
    "ScopeIssue",
    "apply_import",
    "location_label",
    "mapping_change",
    "prepare_import",
    "save_mapping",
    "set_location",
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
    result = validate(
        table,
        match,
        known_rbds=context.schools,
        known_comunas=context.comunas,
        known_names=_known_names(session, scope),
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
        saved_mapping=saved,
    )
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
    ).join(Case, Case.student_id == Student.id)
    existing = {row[0]: tuple(row[1:]) for row in session.execute(query)}
    visible = existing
    if scope is not None:
        allowed = set(session.scalars(scope.cases(select(Case.id))))
        visible = {run: old for run, old in existing.items() if old[1] in allowed}
    _refuse_out_of_scope(prepared, context, scope, set(existing) - set(visible))
    runs = {r["run"] for r in result.records}
    prepared.new_runs = sorted(runs - set(existing))
    prepared.updated_runs = sorted(runs & set(existing))
    prepared.updated_case_ids = sorted(visible[run][1] for run in prepared.updated_runs)
    file_rbds = Counter(r["rbd"] for r in result.records)
    prepared.missing_runs = sorted(
        run
        for run, (rbd, _, in_list, *_rest) in visible.items()
        if in_list and rbd in file_rbds and run not in runs
    )
    prepared.shortfalls = _shortfalls(context, visible, file_rbds, prepared.missing_runs)
    geocoder = current_geocoder(session, context)  # bundled sources + the team's entries
    to_locate = []
    for record in result.records:
        old = existing.get(record["run"])
        if old is not None and (
            old[3] == "manual" or (old[4], old[5], old[6]) == _place_fields(record)
        ):
            prepared.locations[record["row"]] = Location(old[7], old[8], old[3], 0.0, "sin cambio")
            continue
        to_locate.append(record)
    # each distinct address reading is located once (lists repeat sectors and siblings)
    located = geocoder.locate_many(
        (r["address"], r["sector"], _comuna_for(context, r), r["rbd"]) for r in to_locate
    )
    for record, location in zip(to_locate, located, strict=True):
        prepared.locations[record["row"]] = location
    return prepared


def _refuse_out_of_scope(
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

    Raises
    ------
    ImportRejectedError
        The file has errors and `only_valid` is False, the file itself is invalid,
        it holds cases of comunas outside `comunas`, or `list_mode` is needed and None.
    """
    if list_mode not in (None, *LIST_MODES):
        msg = f"Tipo de lista «{list_mode}» desconocido: elija «completa» o «adicion»."
        raise ImportRejectedError(msg)
    result = prepared.result
    if result.file_errors:
        msg = "El archivo no se puede importar: " + " ".join(i.message for i in result.file_errors)
        raise ImportRejectedError(msg)
    if result.errors and not only_valid:
        msg = (
            f"El archivo tiene {count_label(len(result.errors), 'error')} en "
            f"{count_label(len(result.rejected), 'fila')}: "
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
    synthetic = synthetic or all(is_synthetic_run(r["run"]) for r in result.records)
    demo_disabled = [] if synthetic else _close_demo_accounts(session, actor)
    if prepared.shortfalls and list_mode is None:
        msg = (
            "Antes de marcar a alguien como «ya no están en la lista», diga si el archivo es la "
            "lista completa de sus establecimientos o una adición. "
            + "; ".join(s.sentence() for s in prepared.shortfalls)
            + ". Si es una adición, no se marca a nadie."
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
