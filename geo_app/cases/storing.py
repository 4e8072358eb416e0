"""Set-based writes of an import: the rows of a prepared file stored in slices (issue 22).

`geo_app.cases.importing.apply_import` checks the file and creates its batch; this module
computes, per row, what the row-by-row ORM import did (same fields, same history entries
in the same order, same classification) over plain dicts, then writes each table in
slices of `SLICE_ROWS` rows:

- inserts: ``executemany`` on SQLite, ``COPY … FROM STDIN`` through psycopg on PostgreSQL;
- updates: the new values go to a temporary table (filled the same way), then one
  ``UPDATE … FROM`` per slice; cases keep their optimistic lock (``version`` checked and
  increased), as the ORM did.

Everything runs in the caller's transaction: on any error the caller rolls back and
nothing of the file remains. Ids are taken before the inserts (PostgreSQL: the table's
sequence; SQLite: after the largest id, as SQLite itself does), in the order the ORM used.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from operator import itemgetter

from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo_app.cases.context import CaseContext
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import Student
from layers.classify import classify
from layers.geocode import Location

__all__ = [
    "SLICE_ROWS",
    "TableWriter",
    "among",
    "location_fields",
    "location_label",
    "store_rows",
]

STORING = "Guardando las filas"  # the phase, as an import's progress names it
SLICE_ROWS = 10_000  # rows per executemany, COPY or UPDATE … FROM

STUDENTS: Table = Student.__table__
CASES: Table = Case.__table__
ATTENDANCE: Table = Attendance.__table__
CONTACTS: Table = Contact.__table__
CHANGES: Table = Change.__table__

# Case fields copied from an import record; a change of any of them is recorded in history.
CASE_FIELDS = (
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
STUDENT_FIELDS = (
    ("given_names", "given_names"),
    ("surnames", "surnames"),
    ("birth_date", "birth_date"),
    ("nee_permanente", "nee_permanente"),
)
DERIVED_FIELDS = ("category", "priority", "eligible_reinsercion", "eligible_aulas", "rezago")
_LOCATION_COLUMNS = (
    "lon", "lat", "geocode_method", "geocode_score", "geocode_match", "geocode_source",
    "geocode_note", "located_by", "located_at", "island",
)  # fmt: skip
# What an import may change on a stored case (besides version and updated_at).
_CASE_UPDATED = (
    *(attr for _, attr in CASE_FIELDS), *_LOCATION_COLUMNS, *DERIVED_FIELDS, "riesgosa",
    "latest_period", "latest_pct", "eligibility_notes", "rules_version", "in_latest_list",
    "last_batch_id",
)  # fmt: skip
CONFLICT = (
    "Otra persona cambió {n} caso(s) mientras se importaba la lista: no se importó nada. "
    "Vuelva a importar el archivo."
)


def location_fields(
    location: Location, now: dt.datetime, island_of: Callable[[float, float], str]
) -> dict:
    """Return the case columns a geocoded `location` sets: point, island, method, score, source.

    `island_of` names the island of a point (lon, lat in WGS84), e.g.
    `CaseContext.island_of`.
    """
    return {
        "lon": location.lon,
        "lat": location.lat,
        "geocode_method": location.method,
        "geocode_score": location.score,
        "geocode_match": location.matched[:200],
        "geocode_source": location.source[:300],
        "geocode_note": location.note[:300],
        "located_by": "geocodificador",
        "located_at": now,
        "island": island_of(location.lon, location.lat),
    }


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def location_label(lon: float | None, lat: float | None, method: str) -> str:
    """Describe a location for a case's history (``lat, lon (method)`` or ``sin ubicación``)."""
    if lon is None or lat is None:
        return "sin ubicación"
    return f"{lat:.5f}, {lon:.5f} ({method})"


def among(session: Session, column, keys: Sequence):
    """Return the clause «`column` is one of `keys`», bound as one value, not one per key.

    PostgreSQL gets an array (``= ANY(…)``), SQLite a JSON list (``IN json_each(…)``):
    a query with 10,000 keys is not 10,000 placeholders to parse.
    """
    name = f"{column.table.name}.{column.name}"
    if session.get_bind().dialect.name == "postgresql":
        return text(f"{name} = ANY(:keys)").bindparams(keys=list(keys))
    return text(f"{name} IN (SELECT value FROM json_each(:keys))").bindparams(
        keys=json.dumps(list(keys))
    )


def _slices(values: Sequence, size: int | None = None) -> Iterable[Sequence]:
    size = size or SLICE_ROWS
    for start in range(0, len(values), size):
        yield values[start : start + size]


class TableWriter:
    """Slice-wise inserts and updates on the connection of `session` (its transaction).

    Values are Python values as the ORM holds them (dates, aware datetimes, booleans);
    on SQLite they go through each column type's bind processor, as SQLAlchemy does.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.postgresql = self.dialect.name == "postgresql"

    def _bind(self, table: Table, column: str):
        """Return the converter of `column` values for the driver (None: as they are)."""
        return table.c[column].type.dialect_impl(self.dialect).bind_processor(self.dialect)

    def _converters(self, table: Table, columns: Sequence[str]) -> list[tuple[int, Callable]]:
        """Positions and converters of the columns whose values sqlite3 cannot take as they are.

        Strings, numbers and booleans go as they are; dates and instants are written as
        SQLAlchemy writes them (its own text format), so the ORM reads them back.
        """
        native = (str, int, float, bool)
        out = []
        for i, name in enumerate(columns):
            process = self._bind(table, name)
            if process is not None and table.c[name].type.python_type not in native:
                out.append((i, process))
        return out

    def next_ids(self, table: Table, n: int) -> list[int]:
        """Take `n` ids for new rows of `table`, in increasing order."""
        if n == 0:
            return []
        if self.postgresql:
            sequence = self.connection.scalar(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
            )
            ids = self.connection.scalars(
                text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
                {"s": sequence, "n": n},
            ).all()
            return sorted(ids)
        top = self.connection.scalar(select(func.max(table.c.id))) or 0
        return list(range(top + 1, top + n + 1))

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[tuple], into=None):
        """Insert `rows` (tuples in `columns` order) into `table` (or the table named `into`)."""
        name = into or table.name
        listed = ", ".join(columns)
        for part in _slices(rows):
            if self.postgresql:
                raw = self.connection.connection.driver_connection
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY {name} ({listed}) FROM STDIN") as copy,
                ):
                    for row in part:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                converted = part
                converters = self._converters(table, columns)
                if converters:
                    converted = [list(r) for r in part]
                    for i, process in converters:
                        known: dict = {None: None}  # instants and dates repeat a lot
                        for r in converted:
                            value = r[i]
                            if value not in known:
                                known[value] = process(value)
                            r[i] = known[value]
                    converted = [tuple(r) for r in converted]
                self.connection.exec_driver_sql(
                    f"INSERT INTO {name} ({listed}) VALUES ({marks})", converted
                )

    def update(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple],
        *,
        versioned: bool = False,
        constants: dict | None = None,
    ) -> None:
        """Set `columns` of the rows of `table` whose id is each tuple's first value.

        Tuples are ``(id, *columns)``, or ``(id, version, *columns)`` when `versioned`:
        a row whose version changed meanwhile is not updated and the whole import fails
        (`StaleDataError`, message in Spanish); the others get version + 1. `constants`
        (column: value) are set on every row.

        Raises
        ------
        sqlalchemy.orm.exc.StaleDataError
            Some versioned row was changed by someone else during the import.
        """
        if not rows:
            return
        keys = ("id", "version") if versioned else ("id",)
        temp = f"tmp_import_{table.name}"
        listed = ", ".join((*keys, *columns))
        if self.postgresql:
            self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "
                f"SELECT {listed} FROM {table.name} WITH NO DATA"
            )
        else:
            self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {temp} AS SELECT {listed} FROM {table.name} WHERE 0"
            )
        sets = [f"{c} = {temp}.{c}" for c in columns]
        params = {}
        for i, (column, value) in enumerate((constants or {}).items()):
            sets.append(f"{column} = :c{i}")
            bind = None if self.postgresql or value is None else self._bind(table, column)
            params[f"c{i}"] = value if bind is None else bind(value)
        where = f"{table.name}.id = {temp}.id"
        if versioned:
            sets.append(f"version = {table.name}.version + 1")
            where += f" AND {table.name}.version = {temp}.version"
        statement = text(f"UPDATE {table.name} SET {', '.join(sets)} FROM {temp} WHERE {where}")
        for part in _slices(rows):
            self.insert(table, (*keys, *columns), part, into=temp)
            done = self.connection.execute(statement, params).rowcount
            if versioned and done != len(part):
                raise StaleDataError(CONFLICT.format(n=len(part) - done))
            self.connection.exec_driver_sql(f"DELETE FROM {temp}")
        # on an error the transaction is rolled back, and the temporary table with it
        self.connection.exec_driver_sql(f"DROP TABLE {temp}")


def _defaults(table: Table, now: dt.datetime) -> dict[str, object]:
    """Return what the ORM puts in a column left unset on a new row (its Python-side default).

    Callable defaults (the instants ``created_at``, ``updated_at``) are evaluated once:
    every row of the import gets `now` or the same instant.
    """
    out = {}
    for column in table.columns:
        default = column.default
        if default is None:
            continue
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    if "created_at" in out:
        out["created_at"] = now
    return out


def _rows_for_insert(table: Table, objects: list[dict], now: dt.datetime) -> tuple:
    """Columns and tuples for new rows: each value set on the dict, else the column's default.

    The id column is left to the database unless the dicts carry ids.
    """
    defaults = _defaults(table, now)
    with_id = bool(objects) and "id" in objects[0]
    columns = [c.name for c in table.columns if with_id or c.name != "id"]
    base = dict.fromkeys(columns) | {c: v for c, v in defaults.items() if c in columns}
    row_of = itemgetter(*columns)
    return columns, [row_of(base | obj) for obj in objects]


def _load(session: Session, table: Table, column: str, keys: list, names: Iterable[str]):
    """Return the rows of `table` whose `column` is in `keys`, as dicts of `names`, by id."""
    out = []
    chosen = [table.c[n] for n in names]
    for part in _slices(keys):
        query = select(*chosen).where(among(session, table.c[column], part)).order_by(table.c.id)
        out.extend(dict(row) for row in session.execute(query).mappings())
    return out


class _Island:
    """`CaseContext.island_of` remembered per point (geocoded points repeat a lot)."""

    def __init__(self, context: CaseContext) -> None:
        self.context, self.known = context, {}

    def __call__(self, lon, lat) -> str:
        key = (lon, lat)
        if key not in self.known:
            self.known[key] = self.context.island_of(lon, lat)
        return self.known[key]


def store_rows(  # noqa: C901 - one pass over the rows, as the ORM loop did
    session: Session,
    context: CaseContext,
    prepared,
    batch_id: int,
    *,
    actor: str,
    synthetic: bool,
    missing_runs: set[int],
    propose: Callable[[list[int]], object],
    progress: Callable[[int, int, str], object] | None = None,
    every: int = 5_000,
    outcome: dict[int, str] | None = None,
) -> tuple[Counter, int]:
    """Store the valid rows of `prepared` for the import `batch_id`; mark `missing_runs`.

    `propose` is called with the ids of the returning cases that may be proposed
    «revinculado» (their attendance was stored). Returns the counts (``new``,
    ``updated``, ``unchanged``) and the number of cases marked «ya no están en la lista».
    `progress` is called as ``progress(rows done, rows, STORING)`` every `every` rows
    and once they are all written. `outcome` maps each RUN stored so far by this
    import to ``"new"``, ``"updated"`` or ``"unchanged"`` and is updated in place: a
    streamed import shares it across its chunks, so that a student its earlier chunk
    created (another month of the same file) stays one new student, without history
    entries, as in a whole-file import; the counts returned are those of this call's RUNs.

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        The database refused a row (the caller rolls back: nothing remains).
    sqlalchemy.orm.exc.StaleDataError
        Someone else changed a case meanwhile.
    """
    records = prepared.result.records
    now = dt.datetime.now(dt.UTC)
    session.flush()
    runs = [r["run"] for r in records]
    names = ("id", "run", "run_provisional", *(a for _, a in STUDENT_FIELDS))
    students = {s["run"]: s for s in _load(session, STUDENTS, "run", runs, names)}
    names = ("id", "student_id", "version", *_CASE_UPDATED)
    student_ids = [s["id"] for s in students.values()]
    cases = {c["student_id"]: c for c in _load(session, CASES, "student_id", student_ids, names)}
    attendance: dict[int, list[dict]] = {}
    contacts: dict[int, set] = {}
    case_ids = [c["id"] for c in cases.values()]
    names = ("id", "case_id", "period", "pct", "days_present", "days_total")
    for row in _load(session, ATTENDANCE, "case_id", case_ids, names):
        attendance.setdefault(row["case_id"], []).append(row)
    for row in _load(session, CONTACTS, "case_id", case_ids, ("id", "case_id", "name", "phone")):
        contacts.setdefault(row["case_id"], set()).add((row["name"], row["phone"]))
    writer = TableWriter(session)
    n_new = len({r["run"] for r in records} - students.keys())
    new_student_ids = iter(writer.next_ids(STUDENTS, n_new))
    new_case_ids = iter(writer.next_ids(CASES, n_new))
    island = _Island(context)
    changes: list[tuple] = []
    new_students, new_cases, new_attendance, new_contacts = [], [], [], []
    updated_students: dict[int, dict] = {}
    updated_cases: list[dict] = []
    created_cases: list[dict] = []  # made by an earlier chunk of this streamed import
    updated_attendance: list[dict] = []
    outcome = {} if outcome is None else outcome  # RUN -> "new", "updated" or "unchanged"
    returning: list[int] = []
    # A RUN's earlier row in this file (a «Mes» column: another month of the same student)
    in_file: dict[int, tuple[dict, dict, list, set, bool]] = {}

    for done, record in enumerate(records):
        if progress is not None and done and done % every == 0:
            progress(done, len(records), STORING)
        earlier = in_file.get(record["run"])
        if earlier is not None:
            student, case, case_attendance, known_contacts, is_new = earlier
        elif (student := students.get(record["run"])) is None:
            is_new = True
            student = {
                "id": next(new_student_ids), "run": record["run"], "dv": record["dv"],
                "synthetic": synthetic, "run_provisional": record["run_provisional"],
            }  # fmt: skip
            case = {"id": next(new_case_ids), "student_id": student["id"],
                    "first_batch_id": batch_id, "version": 1}  # fmt: skip
            new_students.append(student)
            new_cases.append(case)
            case_attendance: list[dict] = []
            known_contacts: set = set()
        else:
            is_new = False
            case = cases[student["id"]]
        # created by an earlier chunk of this streamed import: still a new student
        created_here = not is_new and outcome.get(record["run"]) == "new"
        if earlier is None and not is_new:
            case_attendance = attendance.setdefault(case["id"], [])
            known_contacts = contacts.setdefault(case["id"], set())
        if earlier is None:
            in_file[record["run"]] = (student, case, case_attendance, known_contacts, is_new)
        case_id = case["id"]

        def record_change(name: str, old: object, new: object, case_id=case_id,
                          quiet=created_here) -> None:  # fmt: skip
            if quiet:  # a case this import created has no history of its own import
                return
            changes.append((now, actor, case_id, batch_id, "importacion", name, _text(old),
                            _text(new)))  # fmt: skip

        changed = False
        for key, attr in STUDENT_FIELDS:
            new = record[key]
            if new in (None, "") and key != "nee_permanente":
                continue
            old = student.get(attr)
            if old != new:
                if not is_new:
                    record_change(attr, old, new)
                    changed = True
                    updated_students[student["id"]] = student
                student[attr] = new
        for key, attr in CASE_FIELDS:
            new = record[key]
            old = case.get(attr)
            if new in (None, "") and old not in (None, ""):
                continue  # an empty cell never erases what we know
            if old != new:
                if not is_new:
                    record_change(attr, old, new)
                    changed = True
                case[attr] = new
        # an older month's list (a backfill) does not put back in the latest list a student
        # whose newer month is stored and who is no longer in the latest list
        newer = (case.get("latest_period") or "") > (record["period"] or "")
        if not case.get("in_latest_list") and not is_new and not newer:
            record_change("in_latest_list", False, True)
        case["in_latest_list"] = case.get("in_latest_list") or is_new or not newer
        case["last_batch_id"] = batch_id
        location = prepared.locations.get(record["row"])
        if location is not None and location.matched != "sin cambio":
            if not is_new and (case["lon"], case["lat"]) != (location.lon, location.lat):
                record_change(
                    "ubicacion",
                    location_label(case["lon"], case["lat"], case["geocode_method"]),
                    location_label(location.lon, location.lat, location.method),
                )
                changed = True
            case.update(location_fields(location, now, island))
        period = record["period"]
        stored = next((a for a in case_attendance if a["period"] == period), None)
        if stored is None:
            stored = {"case_id": case_id, "period": period}
            case_attendance.append(stored)
            new_attendance.append(stored)
            changed = changed or not is_new
        else:
            if (stored["pct"], stored["days_present"], stored["days_total"]) != (
                record["pct"],
                record["days_present"],
                record["days_total"],
            ):
                record_change(f"asistencia {period}", stored["pct"], record["pct"])
                changed = True
            updated_attendance.append(stored)
        stored["pct"] = record["pct"]
        stored["days_present"] = record["days_present"]
        stored["days_total"] = record["days_total"]
        stored["batch_id"] = batch_id
        if record["guardian"] or record["phone"]:
            pair = (record["guardian"], record["phone"])
            if pair not in known_contacts:
                known_contacts.add(pair)
                new_contacts.append({"case_id": case_id, "name": pair[0], "phone": pair[1],
                                     "batch_id": batch_id})  # fmt: skip
                changed = changed or not is_new
        changed |= _reclassify(context, case, student, case_attendance, prepared.today,
                               record_change, is_new)  # fmt: skip
        if is_new or created_here:
            outcome[record["run"]] = "new"
        else:
            changed = changed or outcome.get(record["run"]) == "updated"
            outcome[record["run"]] = "updated" if changed else "unchanged"
        if not is_new and earlier is None:  # written once, with every month of the file
            if created_here:  # still at version 1, as the whole-file import leaves it
                created_cases.append(case)
            else:
                returning.append(case_id)
                updated_cases.append(case)

    counts = Counter(outcome[run] for run in in_file)
    for table, objects in ((STUDENTS, new_students), (CASES, new_cases)):
        writer.insert(table, *_rows_for_insert(table, objects, now))
    writer.insert(ATTENDANCE, *_rows_for_insert(ATTENDANCE, new_attendance, now))
    writer.insert(CONTACTS, *_rows_for_insert(CONTACTS, new_contacts, now))
    change_columns = ("at", "actor", "case_id", "batch_id", "source", "field", "old", "new")
    writer.insert(CHANGES, change_columns, changes)
    writer.update(STUDENTS, [a for _, a in STUDENT_FIELDS],
                  [(s["id"], *(s[a] for _, a in STUDENT_FIELDS))
                   for s in updated_students.values()])  # fmt: skip
    case_row = itemgetter("id", "version", *_CASE_UPDATED)
    writer.update(CASES, _CASE_UPDATED, [case_row(c) for c in updated_cases],
                  versioned=True, constants={"updated_at": now})  # fmt: skip
    writer.update(CASES, _CASE_UPDATED, [(c["id"], *case_row(c)[2:]) for c in created_cases],
                  constants={"updated_at": now})  # fmt: skip
    columns = ("pct", "days_present", "days_total", "batch_id")
    writer.update(ATTENDANCE, columns,
                  [(a["id"], *(a[c] for c in columns)) for a in updated_attendance])  # fmt: skip
    for obj in list(session.identity_map.values()):  # the ORM's copies of these rows are stale
        if isinstance(obj, Student | Case | Attendance | Contact):
            session.expire(obj)
    propose(returning)
    n_missing = _mark_missing(session, writer, missing_runs, actor, batch_id, now)
    if progress is not None:
        progress(len(records), len(records), STORING)
    return counts, n_missing


def _mark_missing(session, writer: TableWriter, runs: set[int], actor, batch_id, now) -> int:
    """Mark the listed cases of `runs` «ya no están en la lista» (history entry each)."""
    if not runs:
        return 0
    marked = []
    for part in _slices(sorted(runs)):
        query = (
            select(CASES.c.id, CASES.c.version)
            .join(STUDENTS, STUDENTS.c.id == CASES.c.student_id)
            .where(among(session, STUDENTS.c.run, part), CASES.c.in_latest_list)
            .order_by(STUDENTS.c.run)
        )
        marked.extend(session.execute(query).all())
    writer.insert(
        CHANGES,
        ("at", "actor", "case_id", "batch_id", "source", "field", "old", "new"),
        [(now, actor, i, batch_id, "importacion", "in_latest_list", "True", "False")
         for i, _ in marked],
    )  # fmt: skip
    writer.update(CASES, ("in_latest_list",), [(i, v, False) for i, v in marked],
                  versioned=True, constants={"updated_at": now})  # fmt: skip
    return len(runs)


def _reclassify(context, case, student, case_attendance, today, record_change, is_new) -> bool:
    """Recompute the derived fields from the latest month; True if any changed."""
    latest = max(case_attendance, key=lambda a: a["period"], default=None)
    result = classify(
        pct=latest["pct"] if latest else None,
        days_present=latest["days_present"] if latest else None,
        days_total=latest["days_total"] if latest else None,
        status=case.get("status"),
        born=student.get("birth_date"),
        grade_level=case.get("grade_level"),
        last_grade_passed=case.get("last_grade_passed"),
        last_enrolment_year=case.get("last_enrolment_year"),
        nee_permanente=student.get("nee_permanente"),
        provisional_run=student.get("run_provisional"),
        ceia=case.get("rbd") in context.ceia_rbds,
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
    for name in DERIVED_FIELDS:
        old = case.get(name)
        if old != new_values[name]:
            if not is_new and name == "category":
                record_change(name, old, new_values[name])
                changed = True
            case[name] = new_values[name]
    case["riesgosa"] = result.riesgosa
    case["latest_period"] = latest["period"] if latest else None
    case["latest_pct"] = latest["pct"] if latest else None
    notes = []
    if result.reinsercion.reasons:
        notes.append("Reinserción: " + "; ".join(result.reinsercion.reasons))
    if result.aulas.reasons:
        notes.append("Aulas de Reingreso: " + "; ".join(result.aulas.reasons))
    case["eligibility_notes"] = "\n".join(notes)
    case["rules_version"] = ", ".join(result.rules)
    return changed
