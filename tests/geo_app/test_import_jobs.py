"""An import's review and store as jobs: through a real Redis + RQ worker and through threads.

The request answers at once (``JOB_WAIT_S`` 0) with a page that polls; the review and the
store run in the worker (RQ ``SimpleWorker`` in burst, in this process) or in a thread; a
failed job keeps its upload, says why in Spanish and runs again with «Reintentar»;
confirming twice, or a job delivered twice, stores once; a job left queued by a web
restart runs when its page is polled. Redis as in `tests/geo_app/test_jobs.py` (a queue
of its own per test; skipped without Redis unless REVINCULA_REQUIRE_REDIS=1).
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from geo_app import create_app
from geo_app import jobs
from geo_app.cases import import_jobs
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from geo_app.store.models import JobRow
from geo_app.store.models import User
from geo_app.worker import work
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.cases.test_case_pages import ANA
from tests.geo_app.cases.test_case_pages import BAD
from tests.geo_app.cases.test_case_pages import LUIS
from tests.geo_app.test_jobs import REDIS_URL
from tests.geo_app.test_jobs import redis_queue_name  # noqa: F401 - a fixture
from tests.lists import HEADER

pytestmark = pytest.mark.enable_socket


def _app(db_url, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url,
                       "JOB_WAIT_S": 0, **config})  # fmt: skip


@pytest.fixture
def rq_app(db_url, redis_queue_name):  # noqa: F811 - the fixture imported above
    app = _app(db_url, REDIS_URL=REDIS_URL, JOB_QUEUE=redis_queue_name)
    yield app
    app.extensions["revincula.engine"].dispose()


@pytest.fixture
def thread_app(db_url):
    app = _app(db_url)
    yield app
    jobs.join_all()
    app.extensions["revincula.engine"].dispose()


def _upload(client, text: str, name: str = "lista.csv") -> str:
    data = {"csrf": csrf(client), "mes": "2026-08", "archivo": (io.BytesIO(text.encode()), name)}
    response = client.post("/importar", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[-1]


def _confirm(client, token: str, only_valid: bool = False):
    data = {"csrf": csrf(client), "solo_validas": "1" if only_valid else "0"}
    return client.post(f"/importar/{token}/confirmar", data=data)


def _count(app, model) -> int:
    with app.extensions["revincula.db"]() as session:
        return session.scalar(select(func.count()).select_from(model))


def _uploaded(app, token: str) -> bool:
    return (
        import_jobs.PendingUploads.in_instance(app.instance_path).folder / f"{token}.bin"
    ).is_file()


def test_review_and_store_wait_in_redis_until_a_worker_runs_them_once(rq_app):
    client = login(rq_app.test_client(), rq_app)
    queue = jobs.queue(rq_app)
    token = _upload(client, HEADER + ANA + LUIS)
    assert queue.count == 1  # the review waits in Redis: the request did not read the file
    page = client.get(f"/importar/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="en_cola"' in text and "Revisando" in text
    state = client.get(f"/api/importar/{token}/estado?etapa=revision").get_json()
    assert state["estado"] == "en_cola" and state["hechas"] == 0

    assert work(rq_app, burst=True, fork=False)
    state = client.get(f"/api/importar/{token}/estado?etapa=revision").get_json()
    assert (state["estado"], state["hechas"], state["total"]) == ("listo", 2, 2)
    review = client.get(f"/importar/{token}").get_data(as_text=True)
    assert 'id="n-valid">2<' in review and 'id="n-new">2<' in review

    stored = _confirm(client, token)
    assert stored.headers["Location"].endswith(f"/importar/{token}/guardado")
    assert _confirm(client, token).status_code == 302  # confirmed twice: still one job
    assert queue.count == 1
    waiting = client.get(f"/importar/{token}/guardado").get_data(as_text=True)
    assert "Guardando la importación" in waiting and _count(rq_app, Case) == 0
    assert _uploaded(rq_app, token)  # kept until the job ends

    work(rq_app, burst=True, fork=False)
    done = client.get(f"/importar/{token}/guardado")
    assert "/importar/lote/" in done.headers["Location"]
    assert _count(rq_app, Case) == 2 and _count(rq_app, ImportBatch) == 1
    assert not _uploaded(rq_app, token)  # stored: the minors' data left the instance folder
    state = client.get(f"/api/importar/{token}/estado").get_json()
    assert (state["estado"], state["hechas"], state["total"]) == ("listo", 2, 2)

    # the same store delivered again (a worker restarted mid-job), and a third confirm
    with rq_app.extensions["revincula.db"]() as session:
        row = import_jobs.token_job(session, import_jobs.STORE, token, "admin.prueba")
    jobs.submit(rq_app, "again", import_jobs.TARGETS[import_jobs.STORE], row.id, row.attempt)
    work(rq_app, burst=True, fork=False)
    again = _confirm(client, token)
    assert "/importar/lote/" in again.headers["Location"]
    assert _count(rq_app, ImportBatch) == 1 and queue.count == 0


def test_threads_run_the_same_jobs_without_redis(thread_app):
    client = login(thread_app.test_client(), thread_app)
    token = _upload(client, HEADER + ANA + BAD)
    jobs.join_all()
    review = client.get(f"/importar/{token}").get_data(as_text=True)
    assert "Importar solo la fila válida" in review
    rejected = client.get(f"/importar/{token}/rechazadas.csv").data.decode("utf-8-sig")
    assert rejected.splitlines()[1].startswith("3;11.111.111-2")  # written by the review job
    refused = _confirm(client, token, only_valid=False)  # a tampered form: all-or-nothing
    jobs.join_all()
    if refused.headers["Location"].endswith("/guardado"):  # answered before the job ended
        refused = client.get(refused.headers["Location"])
        assert "no se importó nada" in refused.get_data(as_text=True)
    assert _count(thread_app, Case) == 0 and _uploaded(thread_app, token)
    _confirm(client, token, only_valid=True)  # the failed store runs again with the new choice
    jobs.join_all()
    done = client.get(f"/importar/{token}/guardado")
    assert "/importar/lote/" in done.headers["Location"]
    assert _count(thread_app, Case) == 1 and not _uploaded(thread_app, token)


def test_a_failed_store_keeps_its_upload_says_why_and_retries(rq_app):
    client = login(rq_app.test_client(), rq_app)
    token = _upload(client, HEADER + ANA)
    work(rq_app, burst=True, fork=False)
    _confirm(client, token)
    sessions = rq_app.extensions["revincula.db"]
    with sessions() as session, session.begin():  # the account is closed before the worker runs
        session.execute(update(User).where(User.username == "admin.prueba").values(active=False))
    work(rq_app, burst=True, fork=False)
    with sessions() as session, session.begin():
        session.execute(update(User).where(User.username == "admin.prueba").values(active=True))
    page = client.get(f"/importar/{token}/guardado")
    text = page.get_data(as_text=True)
    assert "La importación no se guardó" in text and "ya no está activa" in text
    assert "Reintentar" in text and _uploaded(rq_app, token) and _count(rq_app, Case) == 0

    retried = client.post(f"/importar/{token}/reintentar", data={"csrf": csrf(client)})
    assert retried.headers["Location"].endswith("/guardado")
    work(rq_app, burst=True, fork=False)
    assert "/importar/lote/" in client.get(f"/importar/{token}/guardado").headers["Location"]
    assert _count(rq_app, Case) == 1 and not _uploaded(rq_app, token)
    with sessions() as session:
        assert session.scalar(select(JobRow.attempt).where(JobRow.kind == import_jobs.STORE)) == 2


def test_an_unreadable_file_fails_its_review_in_spanish(thread_app):
    client = login(thread_app.test_client(), thread_app)
    token = _upload(client, "esto no es una planilla", name="lista.xlsx")
    jobs.join_all()
    page = client.get(f"/importar/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "No se pudo revisar el archivo" in text
    assert "No se pudo leer el archivo" in text and "Reintentar" in text
    assert _uploaded(thread_app, token)
    retried = client.post(f"/importar/{token}/reintentar",
                          data={"csrf": csrf(client), "etapa": "revision"})  # fmt: skip
    assert retried.status_code == 302
    jobs.join_all()
    with thread_app.extensions["revincula.db"]() as session:
        assert session.scalar(select(JobRow.attempt).where(JobRow.kind == import_jobs.REVIEW)) == 2


def test_a_review_left_queued_by_a_restart_runs_when_polled(db_url, redis_queue_name):  # noqa: F811
    queued = _app(db_url, REDIS_URL=REDIS_URL, JOB_QUEUE=redis_queue_name)
    token = _upload(login(queued.test_client(), queued), HEADER + ANA)
    sessions = queued.extensions["revincula.db"]
    with sessions() as session, session.begin():  # its web process went away a minute ago
        session.execute(update(JobRow).values(updated_at=dt.datetime.now(dt.UTC)
                                              - dt.timedelta(minutes=1)))  # fmt: skip
    queued.extensions["revincula.engine"].dispose()
    restarted = _app(db_url)  # the same database, now without Redis: threads run the jobs
    client = login(restarted.test_client(), restarted)
    client.get(f"/api/importar/{token}/estado?etapa=revision")
    jobs.join_all()
    assert 'id="n-new">1<' in client.get(f"/importar/{token}").get_data(as_text=True)
    restarted.extensions["revincula.engine"].dispose()


def test_a_job_runs_once_per_attempt(thread_app):
    client = login(thread_app.test_client(), thread_app)
    token = _upload(client, HEADER + ANA)
    jobs.join_all()
    _confirm(client, token)
    jobs.join_all()
    with thread_app.extensions["revincula.db"]() as session:
        row = import_jobs.token_job(session, import_jobs.STORE, token, "admin.prueba")
    import_jobs.store_job(thread_app, row.id, row.attempt)  # delivered again
    import_jobs.store_job(thread_app, row.id, row.attempt + 1)  # an attempt that never was
    assert _count(thread_app, ImportBatch) == 1


def test_the_diagnosis_pdf_is_made_by_a_worker_and_downloaded_by_its_owner(rq_app):
    client = login(rq_app.test_client(), rq_app)
    token = _upload(client, HEADER + ANA + LUIS)  # (the diagnosis of no case at all fails)
    work(rq_app, burst=True, fork=False)
    _confirm(client, token)
    work(rq_app, burst=True, fork=False)
    asked = client.get("/informes/diagnostico.pdf?desde=2026-07&hasta=2026-08")
    job_page = asked.headers["Location"]
    assert "/informes/trabajo/" in job_page
    assert 'data-state="en_cola"' in client.get(job_page).get_data(as_text=True)
    other = login(rq_app.test_client(), rq_app, "profesional")
    assert other.get(job_page).status_code == 404  # a report is its owner's
    work(rq_app, burst=True, fork=False)
    pdf = client.get(job_page)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "diagnostico_territorial_2026-07_2026-08.pdf" in pdf.headers["Content-Disposition"]


def test_a_report_for_reversed_months_fails_in_spanish_and_retries(thread_app):
    client = login(thread_app.test_client(), thread_app)
    job_page = client.get("/informes/diagnostico.pdf?desde=2026-08&hasta=2026-07")
    jobs.join_all()
    page = client.get(job_page.headers["Location"]).get_data(as_text=True)
    assert "No se pudo hacer el informe PDF" in page and "inviértalos" in page
    assert "Reintentar" in page


def _probe_job(app, job_id: int, attempt: int) -> None:
    """A job that reports 3 of 10 rows from deep inside, then returns what its row said."""

    def body(run):
        jobs.progress(3, 10, "Probando")
        with app.extensions["revincula.db"]() as session:
            row = session.get(JobRow, run.job_id)
            return {"visto": [row.done, row.total, row.message]}

    jobs.run_tracked(app, job_id, attempt, body)


def test_code_inside_a_job_reports_its_rows(thread_app):
    target = "tests.geo_app.test_import_jobs:_probe_job"
    job_id, handle = jobs.ensure(thread_app, "prueba", "prueba:1", target, owner="", params={})
    state = jobs.wait(thread_app, job_id, handle, seconds=60)
    assert state["estado"] == "listo"
    with thread_app.extensions["revincula.db"]() as session:
        seen = session.get(JobRow, job_id).result["visto"]
    if thread_app.extensions["revincula.engine"].dialect.name == "sqlite":
        assert seen == [0, 0, "En curso"]  # not written: see jobs.progress
    else:
        assert seen == [3, 10, "Probando"]
    assert jobs.ensure(thread_app, "prueba", "prueba:1", target, owner="", params={})[1] is None
    jobs.progress(1, 1)  # outside a job: nothing to record, no error


def test_reviews_echoing_minors_data_do_not_outlive_their_upload(thread_app):
    client = login(thread_app.test_client(), thread_app)
    stored, pending = _upload(client, HEADER + ANA), _upload(client, HEADER + LUIS)
    jobs.join_all()
    _confirm(client, stored)
    jobs.join_all()
    sessions = thread_app.extensions["revincula.db"]
    with sessions() as session:
        assert import_jobs.token_job(session, import_jobs.REVIEW, stored, "admin.prueba") is None
        assert import_jobs.token_job(session, import_jobs.REVIEW, pending, "admin.prueba")
    assert import_jobs.sweep_jobs(thread_app) == 0  # a fresh review stays
    with sessions() as session, session.begin():  # nine hours later
        session.execute(update(JobRow).values(updated_at=dt.datetime.now(dt.UTC)
                                              - dt.timedelta(hours=9)))  # fmt: skip
    assert import_jobs.sweep_jobs(thread_app) == 1  # the pending review; the store stays
    assert _count(thread_app, JobRow) == 1


def _runner_died(app, token: str) -> None:
    """The store job was claimed (``en_curso``) by a runner that then died, a second ago."""
    with app.extensions["revincula.db"]() as session, session.begin():
        row = import_jobs.token_job(session, import_jobs.STORE, token, "admin.prueba")
        row.state, row.message, row.updated_at = "en_curso", "En curso", dt.datetime.now(dt.UTC)


def _state(client, token: str) -> dict:
    return client.get(f"/api/importar/{token}/estado?etapa=guardado").get_json()


def test_a_store_whose_thread_died_with_its_process_can_be_retried(thread_app):
    """A restart mid-store: shown interrupted at once (not an hour later), and retried."""
    client = login(thread_app.test_client(), thread_app)
    token = _upload(client, HEADER + ANA)
    jobs.join_all()
    with thread_app.extensions["revincula.db"]() as session, session.begin():
        # claimed by a thread of a web process that was restarted a second later
        params = {"token": token, "only_valid": False, "list_mode": None, "ip": "", "n_rows": 1}
        session.add(JobRow(kind=import_jobs.STORE, key=import_jobs._key(import_jobs.STORE, token),
                           owner="admin.prueba", attempt=1, state="en_curso", params=params,
                           message="En curso", created_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    state = _state(client, token)
    assert state["estado"] == "fallido" and "se interrumpió" in state["error"]
    retried = client.post(f"/importar/{token}/reintentar", data={"csrf": csrf(client)})
    assert retried.headers["Location"].endswith("/guardado")
    jobs.join_all()
    assert "/importar/lote/" in client.get(f"/importar/{token}/guardado").headers["Location"]
    assert _count(thread_app, Case) == 1


@pytest.mark.parametrize("runner", ["hilo", "rq"])
def test_a_running_job_is_not_taken_for_dead(thread_app, rq_app, runner):
    """While a thread or an RQ worker runs a job, the poll says «en curso»."""
    app = thread_app if runner == "hilo" else rq_app
    gate = threading.Event()
    _GATES["abierta"] = gate
    target = "tests.geo_app.test_import_jobs:_gated_job"
    job_id, handle = jobs.ensure(app, "prueba", "prueba:compuerta", target, owner="",
                                 params={})  # fmt: skip
    seen = []

    def poll() -> None:  # as the page does, while the job runs
        deadline = time.monotonic() + 30
        with app.extensions["revincula.db"]() as session:
            while session.get(JobRow, job_id).state != "en_curso" and time.monotonic() < deadline:
                session.expire_all()
                time.sleep(0.02)
            seen.append(jobs.job_state(session.get(JobRow, job_id), app)["estado"])
        gate.set()

    if runner == "rq":  # RQ's worker needs the main thread (signals): the poll runs beside it
        poller = threading.Thread(target=poll)
        poller.start()
        work(app, burst=True)
        poller.join(60)
    else:
        poll()
        handle.join(60)
    assert seen == ["en_curso"]
    with app.extensions["revincula.db"]() as session:
        assert jobs.job_state(session.get(JobRow, job_id), app)["estado"] == "listo"


_GATES: dict[str, threading.Event] = {}


def _gated_job(app, job_id: int, attempt: int) -> None:
    jobs.run_tracked(app, job_id, attempt, lambda _run: _GATES["abierta"].wait(60) and {})


def test_a_store_whose_rq_worker_was_killed_can_be_retried(rq_app):
    """``kill -9`` of the worker mid-store: its key in Redis is no longer renewed."""
    client = login(rq_app.test_client(), rq_app)
    token = _upload(client, HEADER + ANA)
    work(rq_app, burst=True, fork=False)
    _confirm(client, token)
    jobs.queue(rq_app).empty()  # taken from the queue by a worker that was then killed
    _runner_died(rq_app, token)
    state = _state(client, token)
    assert state["estado"] == "fallido" and "se interrumpió" in state["error"]
    client.post(f"/importar/{token}/reintentar", data={"csrf": csrf(client)})
    work(rq_app, burst=True, fork=False)
    assert "/importar/lote/" in client.get(f"/importar/{token}/guardado").headers["Location"]
    assert _count(rq_app, Case) == 1
