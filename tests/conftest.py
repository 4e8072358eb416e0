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
