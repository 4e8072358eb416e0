"""A three-month import scenario and a dump of everything it stores, for `test_import_store`.

The dump of the scenario as stored by the row-by-row ORM import (commit af547f0, before
issue 22's set-based writes) is kept in ``tests/data/imports/scenario_store.json``; the
set-based import must store exactly the same rows. Regenerate it only when the rules of
classification or import change on purpose:

    python -m tests.geo_app.cases.import_scenario > tests/data/imports/scenario_store.json
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from sqlalchemy import select
from sqlalchemy import update

from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.cases.service import move_pin
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import ImportBatch
from geo_app.store.models import StageChange
from geo_app.store.models import Student
from layers.synthetic import SyntheticCaseload
from layers.synthetic import generate_caseload
from layers.synthetic import monthly_file

TODAY = dt.date(2026, 11, 2)
TABLES = (ImportBatch, Student, Case, Attendance, Contact, Change, StageChange)


def _month_files(context) -> list[bytes]:
    """Three monthly lists of 240 synthetic students, the third edited by hand."""
    students = generate_caseload(context.territory, context.geocoder, seed=1, today=TODAY).students
    caseload = SyntheticCaseload(students.sample(240, random_state=0).reset_index(drop=True), 1)
    files = [monthly_file(caseload, period, i) for i, period in
             enumerate(("2026-08", "2026-09", "2026-10"))]  # fmt: skip
    lines = files[2].decode("utf-8-sig").split("\r\n")
    for i in range(1, len(lines) - 1, 9):  # a new address on every 9th row
        cells = lines[i].split(";")
        if i % 2:
            cells[12] = "Sector Rilán s/n"
        else:
            cells[13] = ""  # an empty cell erases nothing
        lines[i] = ";".join(cells)
    for i in range(2, len(lines) - 1, 11):  # another guardian on every 11th row
        cells = lines[i].split(";")
        cells[15], cells[16] = "+56 9 1234 5678", "Apoderado Sintético"
        lines[i] = ";".join(cells)
    bad = lines[1].split(";")
    bad[1] = "K" if bad[1] != "K" else "0"  # a wrong check digit: the row is refused
    lines.insert(len(lines) - 1, ";".join(bad))
    files[2] = "\r\n".join(lines).encode("utf-8")
    return files


def whole_import(session, context, data: bytes, filename: str, **choices) -> None:
    """Import `data` the usual way: `prepare_import`, then `apply_import`."""
    prepared = prepare_import(session, context, data, filename, today=TODAY)
    apply_import(session, context, prepared, actor="prueba", synthetic=True, **choices)


def run_scenario(sessions, context, importer=whole_import) -> None:
    """Import three months, then the third again as an addition (nothing changes).

    Between the first and second, stages and a pin are changed by hand. `importer`
    takes ``(session, context, data, filename, only_valid=, list_mode=)``.
    """
    files = _month_files(context)
    periods = ("2026-08", "2026-09", "2026-10", "2026-10")
    for month, (data, period) in enumerate(zip([*files, files[2]], periods, strict=True)):
        with sessions() as session, session.begin():
            importer(session, context, data, f"{period}.csv", only_valid=month >= 2,
                     list_mode="adicion" if month == 3 else "completa")  # fmt: skip
        if month == 0:
            with sessions() as session, session.begin():
                session.execute(update(Case).where(Case.id % 5 == 0).values(stage="contacto"))
                session.execute(update(Case).where(Case.id % 7 == 0).values(stage="accion"))
                case = session.get(Case, 3)
                move_pin(session, context, 3, case.lon + 0.001, case.lat, actor="prueba",
                         expected_version=case.version)  # fmt: skip


def _value(value):
    if isinstance(value, dt.datetime):
        return "<fecha-hora>"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


def dump_store(sessions) -> dict[str, list[dict]]:
    """Every row of the import's tables, by id; instants as ``<fecha-hora>`` (they differ)."""
    out = {}
    with sessions() as session:
        for model in TABLES:
            table = model.__table__
            rows = session.execute(select(table).order_by(table.c.id)).mappings()
            out[table.name] = [{k: _value(v) for k, v in row.items()} for row in rows]
    return out


def main() -> None:
    import tempfile
    from pathlib import Path

    from geo_app.cases.context import CaseContext
    from geo_app.store import make_engine
    from geo_app.store import make_sessionmaker
    from geo_app.store import upgrade
    from layers.territory import load_territory

    context = CaseContext.from_territory(load_territory())
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'escenario.sqlite'}"
        upgrade(url)
        engine = make_engine(url)
        run_scenario(make_sessionmaker(engine), context)
        json.dump(dump_store(make_sessionmaker(engine)), sys.stdout, ensure_ascii=False,
                  indent=0, sort_keys=True)  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    main()
