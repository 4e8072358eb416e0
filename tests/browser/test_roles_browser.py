"""Real headless Chromium: every role signs in and opens every page of its menu.

Each page must answer 200, load all its scripts, styles and data from this
machine (nothing blocked, nothing failed) and raise no script error; a case
page is opened from the case list where the role has one. A synthetic week
is published first, so the gestora has cases and a day to open.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest

from geo_app.demo.seed import demo_gestor_rows
from geo_app.planning.plans import compute_week
from tests.accounts import add_user

from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
MONDAY = dt.date(2026, 11, 23)
ROLES = {
    "admin.prueba": "admin",
    "profesional.castro": "profesional",
    "gestora.castro": "gestor",
    "mesa.prueba": "mesa",
}
# The menu of each role, as base.html draws it (a page missing from a menu fails here too).
MENUS = {
    "admin": {"/", "/casos", "/resumen", "/importar", "/lugares", "/planificacion", "/transporte",
              "/informes", "/terreno", "/admin/usuarios", "/admin/auditoria", "/cobertura"},
    "profesional": {"/", "/casos", "/resumen", "/importar", "/lugares", "/planificacion",
                    "/transporte", "/informes", "/terreno", "/cobertura"},
    "gestor": {"/", "/casos", "/resumen", "/terreno", "/cobertura"},
    "mesa": {"/", "/resumen", "/informes", "/cobertura"},
}  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def role_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("roles") / "roles.sqlite"
    app, _ = seeded_app(db, case_context, seed=7, scale=0.05, today=TODAY)
    compute_week(
        app, demo_gestor_rows(app), MONDAY, seconds=2, limit=60, actor="prueba", synthetic=True
    )
    add_user(app, "profesional.castro", "profesional", comunas="Castro")
    add_user(app, "gestora.castro", "gestor", gestor="castro")
    add_user(app, "mesa.prueba", "mesa", comunas="Castro, Dalcahue")
    with serve(app) as base:
        yield base
    app.extensions["revincula.engine"].dispose()


@pytest.mark.parametrize("username", sorted(ROLES))
def test_every_role_walks_every_page_of_its_menu(role_server, browser, username):
    base = role_server
    local = open_local_page(browser, 1280, 800, base=base, user=username)
    page = local.page
    page.goto(base + "/", wait_until="networkidle")  # its data too, before moving on
    menu = page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.href)")
    paths = {urlparse(url).path for url in menu}
    assert paths == MENUS[ROLES[username]]
    visited = []
    for path in [*sorted(paths), "/cuenta"]:
        response = page.goto(base + path, wait_until="networkidle")
        assert response.status == 200, (username, path, response.status)
        assert page.locator("h1").first.is_visible(), (username, path)
        assert "Sin acceso" not in page.locator("h1").first.inner_text(), (username, path)
        visited.append(path)
        if path == "/casos":  # one case page, from the list
            link = page.locator("table.cases tbody tr a").first
            assert link.count() == 1, (username, "no case in the list")
            link.click()
            page.wait_for_load_state("networkidle")
            assert page.url.startswith(base + "/casos/")
            page.wait_for_function("() => window.revincula && window.revincula.caseMap")
            visited.append(urlparse(page.url).path)
    assert local.errors == [], (username, local.errors)
    assert local.blocked == [], (username, local.blocked)
    assert local.failed == [], (username, local.failed)
    assert len(visited) == len(paths) + 1 + ("/casos" in paths)
    page.close()
