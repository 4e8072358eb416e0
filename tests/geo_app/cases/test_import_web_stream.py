"""A large CSV imported from the web in chunks (issue 22 items 1-2): review, store, refusals.

The app is configured so that the scenario's 240-row synthetic lists stream
(``IMPORT_STREAM_BYTES`` 1, chunks of 50 rows), standing in for a CSV over the
whole-file limit (200,000 rows) without taking minutes. Jobs run in the in-process
runner (threads) on SQLite and PostgreSQL, and once through a real Redis + RQ worker.
Memory is measured in ``bench/intake.py --web``, not here.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from geo_app import create_app
from geo_app import jobs
from geo_app.cases import import_jobs
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from geo_app.store.models import JobRow
from geo_app.worker import work
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.cases.import_scenario import TABLES
from tests.geo_app.cases.import_scenario import _month_files
from tests.geo_app.cases.import_scenario import dump_store
from tests.geo_app.cases.test_import_stream import BATCH_FIELDS
from tests.geo_app.cases.test_import_stream import _bad_last_row
from tests.geo_app.test_jobs import REDIS_URL
from tests.geo_app.test_jobs import redis_queue_name  # noqa: F401 - a fixture
from tests.layers.test_intake_hostile import GOOD_ROWS
from tests.layers.test_intake_hostile import xlsx

pytestmark = pytest.mark.enable_socket
STREAMED = {"IMPORT_STREAM_BYTES": 1, "IMPORT_CHUNK_ROWS": 50}


def _app(db_url, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url,
                       "JOB_WAIT_S": 0, **config})  # fmt: skip


@pytest.fixture
def streamed_app(db_url):
    app = _app(db_url, **STREAMED)
    yield app
    jobs.join_all()
    app.extensions["revincula.engine"].dispose()


@pytest.fixture(scope="module")
def month_files(case_context):
    return _month_files(case_context)


def _upload(client, data: bytes, name: str = "lista.csv") -> str:
    form = {"csrf": csrf(client), "mes": "2026-08", "archivo": (io.BytesIO(data), name)}
    response = client.post("/importar", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    jobs.join_all()
    return response.headers["Location"].rsplit("/", 1)[-1]


def _review(app, token: str, owner: str = "admin.prueba") -> dict:
    with app.extensions["revincula.db"]() as session:
        row = import_jobs.token_job(session, import_jobs.REVIEW, token, owner)
        return {"state": row.state, "error": row.error, **(row.result or {})}


def _confirm(client, token: str, **form):
    client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client), **form})
    jobs.join_all()
    return client.get(f"/importar/{token}/guardado")


def _count(app, model) -> int:
    with app.extensions["revincula.db"]() as session:
        return session.scalar(select(func.count()).select_from(model))


def _import_months(app, files: list[bytes], client=None, owner="admin.prueba") -> list[dict]:
    """Upload, review and confirm each file as a complete list; return each review."""
    client = client or login(app.test_client(), app)
    reviews = []
    for month, data in enumerate(files):
        token = _upload(client, data, f"mes{month}.csv")
        reviews.append(_review(app, token, owner))
        done = _confirm(client, token, solo_validas="1", lista="completa")
        assert "/importar/lote/" in done.headers.get("Location", ""), done.get_data(as_text=True)
    return reviews


def test_a_streamed_web_import_stores_what_the_whole_file_web_import_stores(
    streamed_app, month_files, tmp_path
):
    """Three months (the third with a bad row) through the app, in chunks and whole.

    The whole-file reference runs through the same pages on a fresh SQLite database.
    """
    streamed = _import_months(streamed_app, month_files)
    whole_app = _app(f"sqlite:///{tmp_path / 'entero.sqlite'}")
    try:
        whole = _import_months(whole_app, month_files)
        ours = dump_store(streamed_app.extensions["revincula.db"])
        theirs = dump_store(whole_app.extensions["revincula.db"])
    finally:
        jobs.join_all()
        whole_app.extensions["revincula.engine"].dispose()
    assert [r["por_partes"] for r in streamed] == [True] * 3
    assert [r["por_partes"] for r in whole] == [False] * 3
    same = ("n_rows", "n_valid", "n_rejected", "n_new", "n_updated", "n_missing", "n_errors",
            "n_warnings", "geocode", "shortfalls", "headers", "sample", "can_import_all",
            "can_import_valid", "updated_case_ids")  # fmt: skip
    for a, b in zip(streamed, whole, strict=True):
        assert {k: a[k] for k in same} == {k: b[k] for k in same}
        assert [(i["row"], i["code"]) for i in a["issues"]] == [
            (i["row"], i["code"]) for i in b["issues"]
        ]
    assert streamed[2]["n_rejected"] == 1 and streamed[1]["n_updated"] > 200
    for model in TABLES:
        name = model.__table__.name
        assert len(ours[name]) == len(theirs[name]), name
        for a, b in zip(ours[name], theirs[name], strict=True):
            if model is ImportBatch:  # a streamed report keeps the first issues, not every one
                a, b = ({k: row[k] for k in BATCH_FIELDS} for row in (a, b))
            assert a == b, name


def test_a_comuna_scoped_account_streams_what_it_would_import_whole(
    streamed_app, month_files, tmp_path
):
    """Rows out of the account's scope are refused by row, streamed as whole; same rows stored.

    Out of scope: rows of other comunas, and of stored cases the account cannot see.
    """
    found = []
    whole_app = _app(f"sqlite:///{tmp_path / 'entero.sqlite'}")
    try:
        for app in (streamed_app, whole_app):
            _import_months(app, month_files[:1])  # the administrator's first list
            castro = login(app.test_client(), app, "profesional", username="castro",
                           comunas="Castro")  # fmt: skip
            found.append(_import_months(app, month_files[1:2], castro, "castro")[0])
            found.append(dump_store(app.extensions["revincula.db"]))
    finally:
        jobs.join_all()
        whole_app.extensions["revincula.engine"].dispose()
    streamed, ours, whole, theirs = found
    assert streamed["por_partes"] and not whole["por_partes"]
    assert 0 < streamed["n_scope_refused"] < streamed["n_rows"]
    for key in ("n_rows", "n_valid", "n_rejected", "n_scope_refused", "n_new", "n_updated",
                "n_missing", "n_errors", "geocode", "shortfalls", "updated_case_ids"):  # fmt: skip
        assert streamed[key] == whole[key], key
    for model in TABLES:
        rows = [ours[model.__table__.name], theirs[model.__table__.name]]
        if model is ImportBatch:
            rows = [[{k: r[k] for k in BATCH_FIELDS} for r in side] for side in rows]
        assert rows[0] == rows[1], model.__table__.name


def test_a_bad_row_late_in_a_streamed_file_refuses_it_and_stores_nothing(streamed_app, month_files):
    client = login(streamed_app.test_client(), streamed_app)
    data = _bad_last_row([b"", month_files[0]])  # the 240th row, in the fifth chunk
    token = _upload(client, data)
    review = _review(streamed_app, token)
    assert review["state"] == "listo" and review["por_partes"]
    assert (review["n_rows"], review["n_valid"], review["n_rejected"]) == (240, 239, 1)
    assert [i["row"] for i in review["issues"] if i["severity"] == "error"] == [241]
    page = client.get(f"/importar/{token}").get_data(as_text=True)
    assert 'id="n-valid">239<' in page and 'id="por-partes"' in page
    assert "Importar solo las 239 filas válidas" in page
    rejected = client.get(f"/importar/{token}/rechazadas.csv").data.decode("utf-8-sig")
    assert len(rejected.splitlines()) == 2 and rejected.splitlines()[1].startswith("241;")

    refused = _confirm(client, token, solo_validas="0", lista="completa")  # a tampered form
    assert "no se importó nada" in refused.get_data(as_text=True)
    assert _count(streamed_app, Case) == 0 and _count(streamed_app, ImportBatch) == 0
    folder = import_jobs.PendingUploads.in_instance(streamed_app.instance_path).folder
    assert (folder / f"{token}.bin").is_file()  # kept: «Reintentar» or import the valid ones

    done = _confirm(client, token, solo_validas="1", lista="completa")
    assert "/importar/lote/" in done.headers["Location"]
    assert _count(streamed_app, Case) == 239 and not (folder / f"{token}.bin").exists()
    with streamed_app.extensions["revincula.db"]() as session:
        batch = session.scalars(select(ImportBatch)).one()
        assert (batch.n_rows, batch.n_valid, batch.n_rejected) == (240, 239, 1)
        assert batch.report["por_partes"] and batch.status == "solo_validas"
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Problemas (1)" in report and "Importado por partes" in report


def test_the_row_bound_of_a_streamed_import_is_configurable(db_url, month_files):
    app = _app(db_url, IMPORT_MAX_ROWS=100, **STREAMED)
    try:
        client = login(app.test_client(), app)
        token = _upload(client, month_files[0])
        review = _review(app, token)
        assert review["state"] == "fallido" and "más de 100 filas" in review["error"]
        page = client.get(f"/importar/{token}")
        assert page.status_code == 422 and "más de 100 filas" in page.get_data(as_text=True)
    finally:
        jobs.join_all()
        app.extensions["revincula.engine"].dispose()


def test_an_xlsx_over_the_limits_is_told_to_come_as_csv(streamed_app):
    """An XLSX is never streamed (its merged ranges come after the rows): read whole, refused."""
    client = login(streamed_app.test_client(), streamed_app)
    token = _upload(client, xlsx(GOOD_ROWS, dimension="A1:XFD1048576"), "grande.xlsx")
    review = _review(streamed_app, token)
    assert review["state"] == "fallido" and "demasiado grande" in review["error"]
    assert "guárdela como CSV" in review["error"] and "por partes" in review["error"]


def test_a_large_upload_is_accepted_past_max_content_length(db_url, month_files):
    """``IMPORT_MAX_BYTES`` bounds the import's upload, ``MAX_CONTENT_LENGTH`` the rest."""
    app = _app(db_url, MAX_CONTENT_LENGTH=1000, IMPORT_MAX_BYTES=2**20, **STREAMED)
    try:
        client = login(app.test_client(), app)
        token = _upload(client, month_files[0])  # ~30 KB
        assert _review(app, token)["n_valid"] == 240
        big = FileStorage(io.BytesIO(b"x" * 2**21), "b.csv")
        form = {"csrf": csrf(client), "archivo": big}
        boundary, body = encode_multipart(form)  # in memory: the client's temporary file
        too_big = client.post(
            "/importar",
            data=body,  # would stay open, the body unread
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert too_big.status_code == 413 and "1 MB" in too_big.get_data(as_text=True)
        # not signed in: the import's larger limit does not apply (nothing big is read)
        boundary, body = encode_multipart(
            {"archivo": FileStorage(io.BytesIO(b"x" * 5000), "b.csv")}
        )
        stranger = app.test_client().post(
            "/importar", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert stranger.status_code == 413 and "1 KB" in stranger.get_data(as_text=True)
    finally:
        jobs.join_all()
        app.extensions["revincula.engine"].dispose()


def test_a_streamed_import_through_a_redis_worker(db_url, redis_queue_name, month_files):  # noqa: F811
    app = _app(db_url, REDIS_URL=REDIS_URL, JOB_QUEUE=redis_queue_name, **STREAMED)
    try:
        client = login(app.test_client(), app)
        form = {"csrf": csrf(client), "mes": "2026-08",
                "archivo": (io.BytesIO(month_files[0]), "lista.csv")}  # fmt: skip
        response = client.post("/importar", data=form, content_type="multipart/form-data")
        token = response.headers["Location"].rsplit("/", 1)[-1]
        assert work(app, burst=True, fork=False)
        state = client.get(f"/api/importar/{token}/estado?etapa=revision").get_json()
        assert (state["estado"], state["hechas"], state["total"]) == ("listo", 240, 240)
        client.post(f"/importar/{token}/confirmar",
                    data={"csrf": csrf(client), "solo_validas": "0"})  # fmt: skip
        assert _count(app, Case) == 0  # waits for the worker
        work(app, burst=True, fork=False)
        done = client.get(f"/importar/{token}/guardado")
        assert "/importar/lote/" in done.headers["Location"]
        assert _count(app, Case) == 240
        with app.extensions["revincula.db"]() as session:
            row = session.scalars(select(JobRow).where(JobRow.kind == import_jobs.STORE)).one()
            assert (row.state, row.total) == ("listo", 240)
    finally:
        app.extensions["revincula.engine"].dispose()
