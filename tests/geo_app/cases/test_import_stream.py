"""A list imported in chunks (issue 22): same rows stored, all or nothing, progress by rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cases import storing
from geo_app.cases.importing import LOCATING
from geo_app.cases.importing import READING
from geo_app.cases.importing import STORING
from geo_app.cases.importing import STREAMING
from geo_app.cases.importing import VALIDATING
from geo_app.cases.importing import ImportRejectedError
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.cases.importing import stream_import
from geo_app.store import make_engine
from geo_app.store import make_sessionmaker
from geo_app.store import upgrade
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from layers.intake import rejected_rows_csv
from tests.geo_app.cases.import_scenario import TABLES
from tests.geo_app.cases.import_scenario import TODAY
from tests.geo_app.cases.import_scenario import _month_files
from tests.geo_app.cases.import_scenario import dump_store
from tests.geo_app.cases.import_scenario import run_scenario

CHUNK = 50  # 240 rows: five chunks
BATCH_FIELDS = ("n_rows", "n_valid", "n_rejected", "n_new", "n_updated", "n_unchanged",
                "n_missing", "period", "status", "synthetic", "geocode_summary")  # fmt: skip


def _streamer(folder: Path):
    def importer(session, context, data, filename, **choices):
        path = folder / filename
        path.write_bytes(data)
        outcome = stream_import(session, context, path, filename, actor="prueba", synthetic=True,
                                today=TODAY, chunk_rows=CHUNK, **choices)  # fmt: skip
        if outcome.rejected_path is not None:
            outcome.rejected_path.unlink()

    return importer


def test_a_streamed_import_stores_what_the_whole_file_import_stored(
    sessions, case_context, monkeypatch, tmp_path
):
    """The four-import scenario in chunks of 50 rows: the rows the whole-file import stores.

    The reference is the whole-file import of the same scenario into a fresh SQLite
    database (the golden dump of `test_import_store` pins that one).
    """
    monkeypatch.setattr(storing, "SLICE_ROWS", 20)
    run_scenario(sessions, case_context, importer=_streamer(tmp_path))
    stored = dump_store(sessions)
    url = f"sqlite:///{tmp_path / 'entero.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    run_scenario(make_sessionmaker(engine), case_context)
    golden = dump_store(make_sessionmaker(engine))
    engine.dispose()
    for model in TABLES:
        name = model.__table__.name
        assert len(stored[name]) == len(golden[name]), name
        for ours, theirs in zip(stored[name], golden[name], strict=True):
            if model is ImportBatch:  # the report keeps the first issues, not every one
                ours, theirs = ({k: row[k] for k in BATCH_FIELDS} for row in (ours, theirs))
            assert ours == theirs, name


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _bad_last_row(files: list[bytes]) -> bytes:
    """The second month's list with its last row's check digit wrong."""
    lines = files[1].decode("utf-8-sig").split("\r\n")
    cells = lines[-2].split(";")
    cells[1] = "K" if cells[1] != "K" else "0"
    lines[-2] = ";".join(cells)
    return "\r\n".join(lines).encode("utf-8")


@pytest.mark.parametrize("month", [0, 1])
def test_a_bad_row_in_the_last_chunk_rolls_back_every_chunk_stored(
    sessions, case_context, tmp_path, month
):
    """New cases (month 0) and updates (month 1): the chunks before it are not kept."""
    files = _month_files(case_context)
    if month == 1:
        with sessions() as session, session.begin():
            _streamer(tmp_path)(session, case_context, files[0], "a.csv", list_mode="completa")
    before = dump_store(sessions)
    path = tmp_path / "b.csv"
    path.write_bytes(_bad_last_row(files) if month == 1 else _bad_last_row([b"", files[0]]))
    stored_meanwhile = []

    def progress(done, total, phase):
        if phase == STREAMING and done < total:
            with session.no_autoflush:
                stored_meanwhile.append(session.scalar(select(func.count(Case.id))))

    with (
        sessions() as session,
        pytest.raises(ImportRejectedError, match="1 error en 1 fila: no se importó nada"),
        session.begin(),
    ):
        stream_import(session, case_context, path, "b.csv", actor="prueba", synthetic=True,
                      today=TODAY, chunk_rows=CHUNK, list_mode="completa",
                      progress=progress)  # fmt: skip
    assert len(stored_meanwhile) >= 4
    assert stored_meanwhile[-1] > 0  # chunks were written before the last one failed
    assert dump_store(sessions) == before
    assert _count(sessions, ImportBatch) == month


def test_a_fault_midway_leaves_nothing(sessions, case_context, tmp_path):
    """An error raised while the third chunk is stored (the job stopped): all rolled back."""
    path = tmp_path / "a.csv"
    path.write_bytes(_month_files(case_context)[0])

    def progress(done, total, phase):
        if phase == STREAMING and done == 3 * CHUNK:
            msg = "corte"
            raise RuntimeError(msg)

    with sessions() as session, pytest.raises(RuntimeError, match="corte"), session.begin():
        stream_import(session, case_context, path, "a.csv", actor="prueba", synthetic=True,
                      today=TODAY, chunk_rows=CHUNK, progress=progress)  # fmt: skip
    assert _count(sessions, ImportBatch) == 0
    assert _count(sessions, Case) == 0


def _rising_to_total(seen: list[tuple[int, int, str]], phase: str) -> list[int]:
    done = [d for d, _, p in seen if p == phase]
    totals = {t for _, t, p in seen if p == phase and t}
    assert len(totals) == 1, phase
    assert done == sorted(done), phase
    assert done[-1] == totals.pop(), phase
    return done


def test_progress_counts_rows_within_each_phase(sessions, case_context, tmp_path):
    """Streamed: rows read, then rows stored, chunk after chunk; whole: every 50 rows."""
    files = _month_files(case_context)
    seen = []
    with sessions() as session, session.begin():
        prepared = prepare_import(session, case_context, files[0], "a.csv", today=TODAY,
                                  progress=lambda *a: seen.append(a), every=CHUNK)  # fmt: skip
        apply_import(session, case_context, prepared, actor="prueba", synthetic=True,
                     progress=lambda *a: seen.append(a), every=CHUNK)  # fmt: skip
    assert _rising_to_total(seen, VALIDATING) == [50, 100, 150, 200, 240]
    assert _rising_to_total(seen, LOCATING) == [50, 100, 150, 200, 240]
    assert _rising_to_total(seen, STORING) == [50, 100, 150, 200, 240]
    phases = [p for _, _, p in seen]
    assert phases == sorted(phases, key=[VALIDATING, LOCATING, STORING].index)
    path = tmp_path / "b.csv"
    path.write_bytes(files[1])
    seen = []
    with sessions() as session, session.begin():
        outcome = stream_import(session, case_context, path, "b.csv", actor="prueba",
                                synthetic=True, today=TODAY, chunk_rows=CHUNK,
                                list_mode="completa",
                                progress=lambda *a: seen.append(a))  # fmt: skip
    assert _rising_to_total(seen, READING)[-1] == 227
    assert _rising_to_total(seen, STREAMING) == [50, 100, 150, 200, 227]
    assert outcome.batch.n_updated + outcome.batch.n_unchanged == 227


def test_rejected_rows_and_duplicates_across_chunks(sessions, case_context, tmp_path):
    """A RUN repeated 200 rows later (another chunk) is found; rejected rows go to a file."""
    files = _month_files(case_context)
    lines = files[2].decode("utf-8-sig").split("\r\n")
    lines.insert(len(lines) - 1, lines[3])  # the third student again, in the last chunk
    data = "\r\n".join(lines).encode("utf-8")
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    with sessions() as session, session.begin():
        whole = prepare_import(session, case_context, data, "c.csv", today=TODAY)
    last = max(whole.table.row_numbers)
    assert [i.code for i in whole.result.errors if i.row == last] == ["duplicate_run"]
    with sessions() as session, session.begin():
        outcome = stream_import(session, case_context, path, "c.csv", actor="prueba",
                                synthetic=True, today=TODAY, chunk_rows=CHUNK, only_valid=True,
                                list_mode="completa")  # fmt: skip
    assert outcome.counts == whole.result.counts()
    assert [i.as_dict() for i in outcome.issues] == [i.as_dict() for i in whole.result.issues]
    expected = rejected_rows_csv(whole.table.headers, whole.result)
    assert outcome.rejected_path.read_bytes().decode("utf-8") == expected
    outcome.rejected_path.unlink()
    assert outcome.batch.n_valid == len(whole.result.records)
    assert outcome.batch.n_rejected == len(whole.result.rejected) == 2
    assert _count(sessions, Case) == len(whole.result.records)


def test_one_student_in_two_chunks_is_one_new_student_as_in_the_whole_file(
    sessions, case_context, tmp_path
):
    """A «Mes» column with July and August of a new student, one row per chunk."""
    from tests.geo_app.cases.test_case_store import ANA
    from tests.geo_app.cases.test_case_store import HEADER
    from tests.geo_app.cases.test_case_store import LUIS

    header = HEADER.replace("Apoderado;Teléfono\r\n", "Apoderado;Teléfono;Mes\r\n")
    rows = (
        ANA.format(pct="80").replace("\r\n", ";2026-07\r\n"),
        LUIS.format(pct="70").replace("\r\n", ";2026-08\r\n"),
        ANA.format(pct="87").replace("\r\n", ";2026-08\r\n"),
    )
    path = tmp_path / "meses.csv"
    path.write_bytes((header + "".join(rows)).encode())
    with sessions() as session, session.begin():
        stream_import(session, case_context, path, path.name, actor="prueba", synthetic=True,
                      today=TODAY, chunk_rows=1)  # fmt: skip
    stored = dump_store(sessions)
    url = f"sqlite:///{tmp_path / 'entero.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    whole = make_sessionmaker(engine)
    with whole() as session, session.begin():
        prepared = prepare_import(session, case_context, path.read_bytes(), path.name,
                                  today=TODAY)  # fmt: skip
        apply_import(session, case_context, prepared, actor="prueba", synthetic=True)
    golden = dump_store(whole)
    engine.dispose()
    assert len(stored["students"]) == 2 and len(stored["attendance"]) == 3
    for model in TABLES:
        name = model.__table__.name
        for ours, theirs in zip(stored[name], golden[name], strict=True):
            if model is ImportBatch:
                ours, theirs = ({k: row[k] for k in BATCH_FIELDS} for row in (ours, theirs))
            assert ours == theirs, name
    assert stored["import_batches"][0]["n_new"] == 2 and stored["case_history"] == []
