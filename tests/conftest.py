from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from geo_app import create_app
from layers.territory import DEFAULT_DATA_DIR
from layers.territory import load_territory

TEST_DATA = Path(__file__).parent / "data"
# Tests plan fixed weeks (e.g. 2026-03-09): a gestor's access to old weeks' cases is
# bounded by GESTOR_WEEKS_BACK (issue 25 item 13), so the suite lifts the bound; the
# tests of the bound set it in their app's config, which wins over the environment.
os.environ.setdefault("REVINCULA_GESTOR_WEEKS_BACK", "1000")
# A request that starts a job (an import's review or store, a PDF report) waits this long for
# it before answering with the page that polls (1 s by default): the suite's pages then show
# their results as a person would see them after the progress page; the tests of the polling
# itself (tests/geo_app/test_import_jobs.py) set 0 in their app's config.
os.environ.setdefault("REVINCULA_JOB_WAIT_S", "60")


@pytest.fixture(scope="session")
def territory():
    return load_territory()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'app.sqlite'}"
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url})


# -- databases: every store test runs on SQLite and on PostgreSQL ----------------
PG_ADMIN_URL = os.environ.get(
    "REVINCULA_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_server_url():
    """A PostgreSQL database created for this test session and dropped at its end.

    Skipped when no server answers, unless REVINCULA_REQUIRE_PG=1 (set by
    `make test`), in which case the suite fails.
    """
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        connection = admin.connect()
    except OperationalError as err:
        admin.dispose()
        if os.environ.get("REVINCULA_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL no responde en {PG_ADMIN_URL}: {err}")
        pytest.skip("PostgreSQL no disponible (defina REVINCULA_TEST_PG_ADMIN)")
    name = f"revincula_test_{os.getpid()}_{secrets.token_hex(3)}"
    connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    connection.close()
    admin.dispose()


@pytest.fixture(autouse=True)
def _jobs_end_before_dispose(monkeypatch):
    """Make every engine dispose in a test wait for this process's background threads.

    A job thread (import, plan, report), or the sweeper of a serving (non-TESTING) app,
    still running holds a pooled connection; closing its engine under it leaves that
    PostgreSQL connection to be garbage-collected open (a ResourceWarning in whichever
    test runs next). Fixtures dispose their engines at teardown, so waiting there covers
    them all; sweepers are stopped (a serving app starts one again at its next request).
    """
    from sqlalchemy.engine import Engine

    from geo_app import jobs
    from geo_app.cases.uploads import stop_sweepers

    dispose = Engine.dispose

    def dispose_after_jobs(self, close=True):
        jobs.join_all()
        stop_sweepers()
        dispose(self, close=close)

    monkeypatch.setattr(Engine, "dispose", dispose_after_jobs)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database URL (fresh schema per test) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'casos.sqlite'}"
    url = request.getfixturevalue("pg_server_url")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def sessions(db_url):
    """Session factory on a migrated database."""
    from geo_app.store import make_engine
    from geo_app.store import make_sessionmaker
    from geo_app.store import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def case_context(territory):
    from geo_app.cases.context import CaseContext

    return CaseContext.from_territory(territory)


@pytest.fixture
def client(app):
    """A client signed in as an administrator."""
    from tests.accounts import login

    return login(app.test_client(), app)


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the bundled territory, to break on purpose."""
    target = tmp_path / "chiloe"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


MALTA_PBF = TEST_DATA / "osm" / "malta-2018-08-27.osm.pbf"
MALTA_TIMETABLE = TEST_DATA / "osm" / "malta_horarios_barcos.csv"


@pytest.fixture(scope="session")
def malta_network_dir(tmp_path_factory) -> Path:
    """Folder holding the Malta network built once per test session."""
    from routing.network import build_network

    folder = tmp_path_factory.mktemp("redes")
    build_network(MALTA_PBF, timetable_csv=MALTA_TIMETABLE, cache_dir=folder, name="malta")
    return folder


@pytest.fixture(scope="session")
def malta(malta_network_dir):
    from routing.network import load_network

    return load_network(next(malta_network_dir.glob("malta-*.npz")))


@pytest.fixture(scope="session")
def chiloe_model(territory):
    from geo_app.travel import territory_model

    return territory_model(territory)
