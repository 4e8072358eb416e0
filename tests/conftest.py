from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geo_app import create_app
from layers.territory import DEFAULT_DATA_DIR
from layers.territory import load_territory

TEST_DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def territory():
    return load_territory()


@pytest.fixture(scope="session")
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    return app.test_client()


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
