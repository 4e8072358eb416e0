"""Set-based import writes (issue 22): the rows the row-by-row path stored, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cases import storing
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Contact
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student
from tests.geo_app.cases.import_scenario import TABLES
from tests.geo_app.cases.import_scenario import TODAY
from tests.geo_app.cases.import_scenario import _month_files
from tests.geo_app.cases.import_scenario import dump_store
from tests.geo_app.cases.import_scenario import run_scenario

GOLDEN = Path(__file__).parents[2] / "data" / "imports" / "scenario_store.json"


def test_the_store_holds_what_the_row_by_row_import_stored(sessions, case_context, monkeypatch):
    """Four imports (new, updated, missing, refused, unchanged rows; stages and a pin moved)."""
    monkeypatch.setattr(storing, "SLICE_ROWS", 50)  # several slices per table
    run_scenario(sessions, case_context)
    stored = dump_store(sessions)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for model in TABLES:
        name = model.__table__.name
        assert len(stored[name]) == len(golden[name]), name
        for ours, theirs in zip(stored[name], golden[name], strict=True):
            assert ours == theirs, name


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("month", [0, 1])
def test_a_bad_row_in_the_last_slice_rolls_back_everything(
    sessions, case_context, monkeypatch, month
):
    """New cases (month 0) and updates of stored ones (month 1): nothing of the file remains."""
    monkeypatch.setattr(storing, "SLICE_ROWS", 50)
    files = _month_files(case_context)
    if month == 1:
        with sessions() as session, session.begin():
            prepared = prepare_import(session, case_context, files[0], "a.csv", today=TODAY)
            apply_import(session, case_context, prepared, actor="prueba", synthetic=True)
    before = dump_store(sessions)
    refused = pytest.raises(Exception, match=r"(?i)null|constraint")
    with sessions() as session, refused, session.begin():
        prepared = prepare_import(session, case_context, files[1], "b.csv", today=TODAY)
        records = prepared.result.records
        assert len(records) > 4 * storing.SLICE_ROWS
        records[-1]["run"], records[-1]["dv"] = 1, None  # a new student the database refuses
        apply_import(session, case_context, prepared, actor="prueba", synthetic=True,
                     list_mode="completa")  # fmt: skip
    assert dump_store(sessions) == before
    expected = 0 if month == 0 else 1
    assert _count(sessions, ImportBatch) == expected
    for model in (Student, Case, Attendance, Contact):
        assert (_count(sessions, model) > 0) == (month == 1)
    assert _count(sessions, Change) == 0
