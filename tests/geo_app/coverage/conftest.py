"""Shared set-up: an app on each backend with synthetic cases spread over the territory."""

from __future__ import annotations

import time

import numpy as np
import pytest

from geo_app import create_app
from geo_app.cases.counts import CATEGORY_ORDER
from geo_app.store.models import Case
from geo_app.store.models import Student

N_CASES = 300


def add_synthetic_cases(app, n: int = N_CASES, seed: int = 7) -> None:
    """Insert `n` synthetic cases (RUNs from 95,000,000: no person has them) near schools.

    Points are school locations (public, Mineduc) moved by ~0.5 km at random, so
    that cases fall in every comuna and on several islands, most counts small.
    """
    territory = app.extensions["revincula.territory"]
    schools = territory.schools[territory.schools["has_location"]].to_crs(4326)
    rng = np.random.default_rng(seed)
    picks = schools.sample(n, replace=True, random_state=seed)
    with app.extensions["revincula.db"]() as session, session.begin():
        for i, (_, school) in enumerate(picks.iterrows()):
            student = Student(run=95_000_000 + i, dv="0", synthetic=True)
            session.add(student)
            session.add(
                Case(
                    student=student,
                    rbd=int(school["rbd"]),
                    comuna=school["comuna_name"],
                    lon=None if i % 17 == 0 else float(school.geometry.x + rng.normal(0, 0.005)),
                    lat=None if i % 17 == 0 else float(school.geometry.y + rng.normal(0, 0.005)),
                    geocode_method="sin_ubicacion" if i % 17 == 0 else "manual",
                    category=CATEGORY_ORDER[int(rng.integers(0, len(CATEGORY_ORDER)))],
                    in_latest_list=True,
                )
            )


@pytest.fixture
def cov_app(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    add_synthetic_cases(app)
    yield app
    app.extensions["revincula.engine"].dispose()


def wait_run(client, run_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/cobertura/{run_id}/estado").get_json()
        if state["estado"] in {"listo", "fallido"}:
            return state
        time.sleep(0.2)
    msg = "el cálculo de cobertura no terminó"
    raise AssertionError(msg)


def run_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return int(response.headers["Location"].rsplit("corrida=", 1)[1])
