"""Concurrent edits, faults in the middle of an import, and backup/restore round trips."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text

from geo_app import create_app
from geo_app.cases.service import CONFLICT_MESSAGE
from geo_app.cases.service import EditConflictError
from geo_app.cases.service import move_pin
from geo_app.cli import main
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.planning.plans import candidate_visits
from geo_app.planning.plans import create_plan
from geo_app.planning.plans import run_plan
from geo_app.store import make_engine
from geo_app.store.backup import BackupError
from geo_app.store.backup import backup
from geo_app.store.backup import restore
from geo_app.store.models import Base
from geo_app.store.models import Case
from geo_app.travel import app_model
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import login
from tests.accounts import sign_in
from tests.lists import HEADER
from tests.lists import SYNTHETIC_ROWS

ROWS = "".join(SYNTHETIC_ROWS[:3])
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,3
"""


def _app(url):
    return create_app({"TESTING": True, "SECRET_KEY": "r", "DATABASE_URL": url})


def _upload(client, body=HEADER + ROWS):
    data = {"csrf": csrf(client), "mes": "2026-08"}
    data["archivo"] = (io.BytesIO(body.encode()), "lista.csv")
    response = client.post("/importar", data=data, content_type="multipart/form-data")
    return response.headers["Location"].rsplit("/", 1)[-1]


def _import(client):
    token = _upload(client)
    done = client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client)})
    assert done.status_code == 302


@pytest.fixture
def app(db_url):
    app = _app(db_url)
    yield app
    app.extensions["revincula.engine"].dispose()


def _table_rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table, comparable across SQLite and PostgreSQL."""

    def norm(value):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(norm(v) for v in row) for row in rows]
    return out


# --------------------------------------------------------------------------- concurrency


def test_two_sessions_moving_the_same_pin_at_once_lose_nothing(pg_server_url, case_context):
    """Both read version 1, both pass the check, then race to write: exactly one wins."""
    engine = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = _app(pg_server_url)
    app.extensions["revincula.cases"] = case_context
    _import(login(app.test_client(), app))
    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
        case_id, version = case.id, case.version
    both_checked = threading.Barrier(2, timeout=20)
    original = case_context.island_of

    def island_after_both_checked(lon, lat):  # runs after the version check, before the write
        both_checked.wait()
        return original(lon, lat)

    outcomes, points = [], {"ana": (-73.7601, -42.4701), "luis": (-73.7702, -42.4802)}
    lock = threading.Lock()

    def edit(actor):
        try:
            with sessions() as session, session.begin():
                move_pin(session, case_context, case_id, *points[actor], actor=actor,
                         expected_version=version)  # fmt: skip
            result = ("ok", actor)
        except EditConflictError as err:
            result = ("conflicto", str(err))
        with lock:
            outcomes.append(result)

    case_context.island_of = island_after_both_checked
    try:
        threads = [threading.Thread(target=edit, args=(a,)) for a in points]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        case_context.island_of = original
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["conflicto", "ok"], outcomes
    winner = next(who for kind, who in outcomes if kind == "ok")
    assert next(msg for kind, msg in outcomes if kind == "conflicto") == CONFLICT_MESSAGE
    with sessions() as session:
        stored = session.get(Case, case_id)
        assert (stored.lon, stored.lat) == points[winner] and stored.version == version + 1
        assert [c.actor for c in stored.changes] == [winner]  # one change in the history
    app.extensions["revincula.engine"].dispose()


def test_two_browsers_editing_the_same_case_get_a_spanish_409(app):
    first = login(app.test_client(), app)
    _import(first)
    add_user(app, "luis.perez", "profesional")
    second = app.test_client()
    sign_in(second, "luis.perez")
    with app.extensions["revincula.db"]() as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
    form = {"lat": "-42.4701", "lon": "-73.7601", "version": str(case.version)}
    ok = first.post(f"/casos/{case.id}/ubicacion", data={**form, "csrf": csrf(first)})
    assert ok.status_code == 302
    late = second.post(f"/casos/{case.id}/ubicacion", data={**form, "csrf": csrf(second)})
    assert late.status_code == 409
    page = second.get(f"/casos/{case.id}").get_data(as_text=True)
    assert "Otra persona modificó este caso" in page


# --------------------------------------------------------------------------- faults


def test_a_fault_in_the_middle_of_an_import_leaves_nothing_and_can_be_retried(db_url, monkeypatch):
    app = _app(db_url)
    app.config["TESTING"] = False  # the real error handling, as users get it
    client = login(app.test_client(), app)
    engine = app.extensions["revincula.engine"]
    before = _table_rows(engine)
    token = _upload(client)
    from geo_app.cases.storing import TableWriter

    original, calls = TableWriter.insert, {"n": 0}

    def failing(writer, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the students are already written
            msg = "disco lleno (simulado)"
            raise OSError(msg)
        return original(writer, *args, **kwargs)

    monkeypatch.setattr(TableWriter, "insert", failing)
    failed = client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client)})
    assert failed.status_code == 303
    page = client.get(failed.headers["Location"]).get_data(as_text=True)
    assert "La importación falló y no se guardó nada" in page
    after = _table_rows(engine)
    # the audit log and the job's row (its failure and reason) change; nothing else
    changed = {t for t in before if t not in ("audit_log", "jobs") and after[t] != before[t]}
    assert changed == set(), changed
    monkeypatch.setattr(TableWriter, "insert", original)
    retry = client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client)})
    assert retry.status_code == 302 and "/importar/lote/" in retry.headers["Location"]
    with app.extensions["revincula.db"]() as session:
        assert len(session.scalars(select(Case)).all()) == 3
    engine.dispose()


# --------------------------------------------------------------------------- backup


def _populated(url, case_context) -> object:
    """A store with cases, history, a published plan, accounts and audit entries."""
    app = _app(url)
    app.extensions["revincula.cases"] = case_context
    client = login(app.test_client(), app)
    _import(client)
    with app.extensions["revincula.db"]() as session:
        case = session.scalars(select(Case).order_by(Case.id)).first()
    form = {"csrf": csrf(client), "lat": "-42.4701", "lon": "-73.7601", "version": "1"}
    client.post(f"/casos/{case.id}/ubicacion", data=form)
    sessions, model = app.extensions["revincula.db"], app_model(app)
    rows = read_gestores_csv(GESTORES.encode(), model.find_place)
    with sessions() as session, session.begin():
        gestores = save_gestores(session, rows, synthetic=True)
        visits = candidate_visits(session)
        plan = create_plan(
            session, dt.date(2026, 3, 9), gestores, visits, seconds=1, actor="t", synthetic=True
        )
        plan_id = plan.id
    run_plan(sessions, model, plan_id)
    client.get(f"/planificacion/{plan_id}")
    return app


def _fresh(url):
    if url.startswith("sqlite"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.mark.parametrize("target", ["sqlite", "postgresql"])
def test_backup_restores_every_row_on_either_database(
    db_url, target, tmp_path, case_context, pg_server_url
):
    if target == "postgresql" and db_url == pg_server_url:
        pytest.skip("PostgreSQL to PostgreSQL (same server database) runs in the CLI test")
    source = _populated(db_url, case_context)
    engine = source.extensions["revincula.engine"]
    path = tmp_path / "respaldo.jsonl.gz"
    counts = backup(engine, path)
    assert counts["cases"] == 3 and counts["plans"] == 1 and counts["users"] == 1
    assert counts["audit_log"] > 0 and counts["case_history"] >= 1
    original = _table_rows(engine)
    if target == "sqlite":
        target_url = f"sqlite:///{tmp_path / 'restaurada.sqlite'}"
    else:
        target_url = pg_server_url
        _fresh(target_url)
    target_engine = make_engine(target_url)
    header = restore(target_engine, target_url, path)
    assert header["tablas"] == counts
    assert _table_rows(target_engine) == original
    # the restored store works: signing in, new rows get fresh ids, the audit stays append-only
    app = _app(target_url)
    client = app.test_client()
    assert sign_in(client, "admin.prueba").status_code == 302
    assert client.get("/casos").status_code == 200
    with pytest.raises(BackupError, match="ya tiene datos"):
        restore(target_engine, target_url, path)
    target_engine.dispose()
    app.extensions["revincula.engine"].dispose()
    engine.dispose()


def test_damaged_or_foreign_backups_are_refused_and_change_nothing(tmp_path, case_context):
    url = f"sqlite:///{tmp_path / 'origen.sqlite'}"
    source = _populated(url, case_context)
    path = tmp_path / "r.jsonl.gz"
    backup(source.extensions["revincula.engine"], path)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    target_url = f"sqlite:///{tmp_path / 'destino.sqlite'}"
    target = make_engine(target_url)
    cases = [n for n, line in enumerate(lines) if '"t": "cases"' in line]
    edited = lines.copy()
    edited[cases[0]] = edited[cases[0]].replace("Castro", "Ancud")
    truncated = lines[: len(lines) // 2]
    other = lines.copy()
    other[0] = re.sub(r'"revision": "[^"]+"', '"revision": "0001"', other[0])  # any head
    for bad, message in (
        (edited, "alterado"),
        (truncated, "incompleto"),
        (other, "revisión de esquema 0001"),
    ):
        path.write_bytes(gzip.compress("".join(bad).encode()))
        with pytest.raises(BackupError, match=message):
            restore(target, target_url, path)
    path.write_bytes(b"no es gzip")
    with pytest.raises(BackupError, match="No se puede leer"):
        restore(target, target_url, path)
    with target.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).all()
        rows = sum(conn.scalar(text(f"SELECT COUNT(*) FROM {t}")) for (t,) in tables)
    assert rows <= 1  # at most alembic_version: no case, no account
    target.dispose()


def test_backup_and_restore_from_the_cli(pg_server_url, tmp_path, case_context):
    _fresh(pg_server_url)
    source = _populated(pg_server_url, case_context)
    original = _table_rows(source.extensions["revincula.engine"])
    source.extensions["revincula.engine"].dispose()
    runner = CliRunner(env={"REVINCULA_DATABASE_URL": pg_server_url})
    out = tmp_path / "pg.jsonl.gz"
    made = runner.invoke(main, ["backup", "-o", str(out)])
    assert made.exit_code == 0, made.output
    assert "Contiene datos personales" in made.output
    refused = runner.invoke(main, ["restore", str(out)])
    assert refused.exit_code != 0 and "--reemplazar" in refused.output
    # damage the live database, then replace it with the backup
    engine = make_engine(pg_server_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE cases SET comuna = 'Ancud', version = version + 1"))
    done = runner.invoke(main, ["restore", str(out), "--reemplazar"])
    assert done.exit_code == 0, done.output
    restored = _table_rows(engine)
    audit, before = restored.pop("audit_log"), original.pop("audit_log")
    assert restored == original
    # the backup holds its own audit entry, and the restore adds one (issue 25 item 11)
    assert audit[: len(before)] == before
    assert [row[5] for row in audit[len(before) :]] == ["respaldo", "restauracion"]
    engine.dispose()
