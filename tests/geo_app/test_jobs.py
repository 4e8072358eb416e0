"""Long work on RQ workers: a plan queued in a real Redis, computed by a real worker, once.

Uses the Redis at 127.0.0.1, database 15 (REVINCULA_TEST_REDIS to change it: a team's queue
in database 0 is never touched), with a queue of its own per test;
skipped when no Redis answers unless REVINCULA_REQUIRE_REDIS=1 (set by `make test`).
"""

from __future__ import annotations

import os
import secrets

import pytest
from click.testing import CliRunner

from geo_app import create_app
from geo_app import jobs
from geo_app.cli import main
from geo_app.store.models import PlanRow
from geo_app.worker import work
from tests.accounts import login

REDIS_URL = os.environ.get("REVINCULA_TEST_REDIS", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.enable_socket


@pytest.fixture
def redis_queue_name():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisDown as err:
        if os.environ.get("REVINCULA_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis no responde en {REDIS_URL}: {err}")
        pytest.skip("Redis no disponible (defina REVINCULA_TEST_REDIS)")
    name = f"revincula-prueba-{secrets.token_hex(4)}"
    yield name
    from rq import Queue

    Queue(name, connection=connection).delete(delete_jobs=True)
    connection.close()


@pytest.fixture
def app(db_url, redis_queue_name):
    from tests.geo_app.planning.test_planning_app import MONDAY

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url, "TODAY": MONDAY,
                      "REDIS_URL": REDIS_URL, "JOB_QUEUE": redis_queue_name,
                      "JOB_WAIT_S": 0})  # fmt: skip
    yield app
    app.extensions["revincula.engine"].dispose()


def _plan(app, plan_id: int) -> PlanRow:
    with app.extensions["revincula.db"]() as session:
        return session.get(PlanRow, plan_id)


def test_a_plan_waits_in_redis_until_a_worker_computes_it_once(app):
    from tests.geo_app.planning.test_planning_app import ROWS_BYTES  # same 4 synthetic cases
    from tests.geo_app.planning.test_planning_app import create

    client = _client_with_cases_and_gestores(app, ROWS_BYTES)
    plan_id = create(client)
    queue = jobs.queue(app)
    assert queue.count == 1  # queued in Redis, not run by the web process
    assert _plan(app, plan_id).job_state == "en_cola"
    assert work(app, burst=True, fork=False)
    plan = _plan(app, plan_id)
    assert plan.job_state == "listo" and plan.result["totales"]["visitas"] == 4
    version = plan.version
    # the same job delivered again (a worker restarted mid-job): computed once
    jobs.submit(app, f"plan-{plan_id}", "geo_app.planning.plans:plan_job", plan_id)
    assert queue.count == 1
    work(app, burst=True, fork=False)
    assert _plan(app, plan_id).version == version
    assert queue.count == 0


def _client_with_cases_and_gestores(app, rows: bytes):
    import io

    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.planning.gestores import save_gestores
    from geo_app.travel import app_model
    from tests.accounts import csrf
    from tests.geo_app.planning.test_planning_app import GESTORES

    client = login(app.test_client(), app)
    token = csrf(client)
    data = {"csrf": token, "mes": "2026-08", "archivo": (io.BytesIO(rows), "l.csv")}
    preview = client.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    work(app, burst=True, fork=False)  # the import's review and store are RQ jobs too
    client.post(f"/importar/{key}/confirmar", data={"csrf": token, "solo_validas": "0"})
    work(app, burst=True, fork=False)
    found = read_gestores_csv(GESTORES.encode(), app_model(app).find_place)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, found, synthetic=True)
    return client


def test_worker_command_needs_a_queue_and_drains_it(monkeypatch, db_url, redis_queue_name):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    refused = CliRunner().invoke(main, ["worker", "--burst"])
    assert refused.exit_code == 1 and "defina REVINCULA_REDIS_URL" in refused.output
    monkeypatch.setenv("REVINCULA_REDIS_URL", REDIS_URL.replace("//", "//:secreto@"))
    monkeypatch.setenv("REVINCULA_JOB_QUEUE", redis_queue_name)
    drained = CliRunner().invoke(main, ["worker", "--burst"])
    assert drained.exit_code == 0, drained.output
    assert redis_queue_name in drained.output and "secreto" not in drained.output


def test_every_job_target_is_preloaded_before_the_worker_forks():
    """Each ``"geo_app.module:function"`` a job is submitted with is in `JOB_MODULES`."""
    import re
    from pathlib import Path

    from geo_app.worker import JOB_MODULES

    root = Path(__file__).resolve().parents[2] / "geo_app"
    found = set()
    for path in root.rglob("*.py"):
        found |= set(re.findall(r'"(geo_app(?:\.\w+)+):\w+"', path.read_text(encoding="utf-8")))
    assert len(found) >= 6  # imports (review, store), plans, coverage, map files, PDF, GTFS
    assert found <= set(JOB_MODULES), found - set(JOB_MODULES)


def test_a_forking_worker_stores_an_import_with_the_context_built_before_the_fork(app, monkeypatch):
    """RQ's default worker forks a child per job: the child inherits the preloaded context."""
    import io
    import sys

    from geo_app.store.models import Case
    from geo_app.worker import JOB_MODULES
    from geo_app.worker import preload
    from tests.accounts import csrf
    from tests.geo_app.planning.test_planning_app import ROWS_BYTES

    preload(app)
    assert "revincula.cases" in app.extensions
    assert all(module in sys.modules for module in JOB_MODULES)
    client = login(app.test_client(), app)
    token = csrf(client)
    data = {"csrf": token, "mes": "2026-08", "archivo": (io.BytesIO(ROWS_BYTES), "l.csv")}
    key = client.post("/importar", data=data, content_type="multipart/form-data")
    key = key.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert work(app, burst=True, fork=True)  # the review runs in a child process
    client.post(f"/importar/{key}/confirmar", data={"csrf": token, "solo_validas": "0"})
    monkeypatch.setenv("REVINCULA_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("REVINCULA_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REVINCULA_JOB_QUEUE", app.config["JOB_QUEUE"])
    done = CliRunner().invoke(main, ["worker", "--burst", "--aislar"])  # and the store
    assert done.exit_code == 0, done.output
    with app.extensions["revincula.db"]() as session:
        assert session.query(Case).count() == 4
