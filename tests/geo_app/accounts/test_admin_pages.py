"""Admin pages a new admin meets: the audit log's filters say when a value is ignored, pages past
the end are clamped, and the comuna multi-select shows every comuna (issue 24 item 4)."""

from __future__ import annotations

import re

import pytest

from geo_app import create_app
from tests.accounts import login


@pytest.fixture
def client(tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"}
    )
    yield login(app.test_client(), app)
    app.extensions["revincula.engine"].dispose()


def test_invalid_audit_filters_are_named_not_ignored_in_silence(client):
    page = client.get("/admin/auditoria?desde=2026-13-45&caso=abc").get_data(as_text=True)
    assert "«Desde»: «2026-13-45» no es una fecha; use AAAA-MM-DD o DD-MM-AAAA" in page
    assert "«Caso»: «abc» no es un número de caso" in page
    chilean = client.get("/admin/auditoria?desde=01-01-2020").get_data(as_text=True)
    assert "no es una fecha" not in chilean
    assert "<td>ingreso</td>" in chilean  # the sign-in of this test, after 2020
    crossed = client.get("/admin/auditoria?desde=2026-03-10&hasta=2026-03-01")
    text = crossed.get_data(as_text=True)
    assert "«Desde» (10-03-2026) es posterior a «Hasta» (01-03-2026)" in text
    assert "Ningún registro coincide con estos filtros" in text


def test_audit_pages_past_the_end_are_clamped(client):
    page = client.get("/admin/auditoria?pagina=500").get_data(as_text=True)
    assert "La página 500 no existe: se muestra la página 1 de 1" in page
    assert "<td>ingreso</td>" in page


def test_the_comuna_multi_select_shows_every_comuna(client):
    page = client.get("/admin/usuarios").get_data(as_text=True)
    sizes = re.findall(r'<select name="comunas" multiple size="(\d+)"', page)
    assert sizes and all(int(s) == 10 for s in sizes)
