"""The «Transporte» page's GTFS upload as a job: a real Redis + RQ worker, and threads.

The request answers at once (``JOB_WAIT_S`` 0) with a page that polls; the feed is
validated and stored by the worker (RQ ``SimpleWorker`` in burst, in this process) or a
thread; a failed import keeps its zip, says why in Spanish and runs again with
«Reintentar». The feed is the hand-made Chiloé bus of `tests.routing.transit_chiloe`.
Redis as in `tests/geo_app/test_jobs.py` (a queue of its own per test).
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func
from sqlalchemy import select

from geo_app import create_app
from geo_app import jobs
from geo_app.store.models import AuditEntry
from geo_app.store.models import JobRow
from geo_app.store.models import TransitFeedRow
from geo_app.transit import gtfs_jobs
from geo_app.worker import work
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.test_jobs import REDIS_URL
from tests.geo_app.test_jobs import redis_queue_name  # noqa: F401 - a fixture
from tests.geo_app.transit.test_transit_app import write_feed_bytes
from tests.routing.transit_chiloe import FEED_FILES

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


def _upload(client, data: bytes, name: str = "buses-chiloe.zip", **form):
    fields = {"csrf": csrf(client), "fuente": "sintético de prueba", **form,
              "archivo": (io.BytesIO(data), name)}  # fmt: skip
    response = client.post("/transporte/gtfs", data=fields, content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


def _feeds(app) -> list[str]:
    with app.extensions["revincula.db"]() as session:
        return list(session.scalars(select(TransitFeedRow.name)))


def _job(app) -> JobRow:
    with app.extensions["revincula.db"]() as session:
        return session.scalar(select(JobRow).where(JobRow.kind == gtfs_jobs.GTFS))


def _kept(app, job: JobRow) -> bool:
    return gtfs_jobs.kept_upload(app.instance_path, job.params["token"]).is_file()


def test_the_upload_waits_in_redis_until_the_worker_stores_it(rq_app):
    client = login(rq_app.test_client(), rq_app, "profesional")
    queue = jobs.queue(rq_app)
    where = _upload(client, write_feed_bytes())
    assert "/transporte/gtfs/trabajo/" in where and queue.count == 1
    page = client.get(where)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="en_cola"' in text
    assert "Importando el GTFS «buses-chiloe.zip»" in text
    job = _job(rq_app)
    state = client.get(f"/api/transporte/gtfs/trabajo/{job.id}/estado").get_json()
    assert state["estado"] == "en_cola"
    assert _feeds(rq_app) == [] and _kept(rq_app, job)  # the request stored nothing

    assert work(rq_app, burst=True, fork=False)
    state = client.get(f"/api/transporte/gtfs/trabajo/{job.id}/estado").get_json()
    assert state["estado"] == "listo" and state["error"] == ""
    done = client.get(where)
    assert done.status_code == 302 and done.headers["Location"].endswith("/transporte")
    page = client.get("/transporte").get_data(as_text=True)
    assert "GTFS «buses-chiloe» importado: 5 viajes." in page
    assert "está disponible" in page and "sintético de prueba" in page
    assert _feeds(rq_app) == ["buses-chiloe"] and not _kept(rq_app, job)  # stored: zip gone
    with rq_app.extensions["revincula.db"]() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.target == "transporte"))
        assert (entry.username, entry.target_id) == ("profesional.prueba", "buses-chiloe")
    # another account cannot see the job
    other = login(rq_app.test_client(), rq_app, "admin")
    assert other.get(where).status_code == 404


def test_a_failed_import_keeps_its_zip_says_why_and_retries(rq_app):
    client = login(rq_app.test_client(), rq_app, "profesional")
    _upload(client, write_feed_bytes())
    work(rq_app, burst=True, fork=False)
    where = _upload(client, write_feed_bytes(), fuente="segunda")  # same name, no «reemplazar»
    work(rq_app, burst=True, fork=False)
    page = client.get(where)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "no se importó" in text
    assert "Ya hay un horario llamado &#39;buses-chiloe&#39;" in text and "Reintentar" in text
    failed = [j for j in _all_jobs(rq_app) if j.state == "fallido"]
    assert len(failed) == 1 and _kept(rq_app, failed[0])

    # the user deletes the old feed, then retries the kept zip
    client.post("/transporte/gtfs/buses-chiloe/borrar", data={"csrf": csrf(client)})
    assert _feeds(rq_app) == []
    retried = client.post(f"{where}/reintentar", data={"csrf": csrf(client)})
    assert retried.headers["Location"].endswith(where)
    work(rq_app, burst=True, fork=False)
    assert client.get(where).headers["Location"].endswith("/transporte")
    with rq_app.extensions["revincula.db"]() as session:
        row = session.scalar(select(TransitFeedRow))
        job = session.get(JobRow, failed[0].id)
    assert row.source == "segunda" and (job.state, job.attempt) == ("listo", 2)
    assert not _kept(rq_app, job)


def _all_jobs(app) -> list[JobRow]:
    with app.extensions["revincula.db"]() as session:
        return list(session.scalars(select(JobRow).where(JobRow.kind == gtfs_jobs.GTFS)))


def test_threads_run_it_without_redis_and_list_every_problem(thread_app):
    client = login(thread_app.test_client(), thread_app, "admin")
    broken = dict(FEED_FILES)
    broken.pop("stops.txt")
    where = _upload(client, write_feed_bytes(broken), name="roto.zip")
    jobs.join_all()
    page = client.get(where)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "stops.txt" in text and "no se importó" in text
    job = _job(thread_app)
    assert job.state == "fallido" and _kept(thread_app, job) and _feeds(thread_app) == []
    client.post(f"{where}/reintentar", data={"csrf": csrf(client)})  # same zip: fails again
    jobs.join_all()
    with thread_app.extensions["revincula.db"]() as session:
        assert session.scalar(select(func.max(JobRow.attempt))) == 2
    assert client.get(where).status_code == 422 and _feeds(thread_app) == []
    # an empty upload is refused in the request, no job
    nothing = {"csrf": csrf(client), "archivo": (io.BytesIO(b""), "v.zip")}
    empty = client.post("/transporte/gtfs", content_type="multipart/form-data", data=nothing)
    assert empty.headers["Location"].endswith("/transporte") and len(_all_jobs(thread_app)) == 1
    assert "El archivo está vacío" in client.get("/transporte").get_data(as_text=True)
    # a good feed with the in-process runner
    _upload(client, write_feed_bytes())
    jobs.join_all()
    assert _feeds(thread_app) == ["buses-chiloe"]
