"""Real headless Chromium: plan a synthetic week from the form, see it on the map, publish it,
and open a gestor's day on a phone-sized screen."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_app.demo.seed import demo_gestor_rows
from geo_app.planning.gestores import save_gestores
from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
MONDAY = dt.date(2026, 11, 23)

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def planning_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("plan") / "demo.sqlite"
    app, _ = seeded_app(db, case_context, seed=5, scale=0.05, today=TODAY)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, demo_gestor_rows(app), synthetic=True)
    add_user(app, "gestora.castro", "gestor", gestor="castro")
    with serve(app) as base:
        yield base
    app.extensions["revincula.engine"].dispose()


def test_plan_from_the_form_map_publish_and_the_day_on_a_phone(planning_server, browser):
    base = planning_server
    local = open_local_page(browser, 1400, 900, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/planificacion")
    page.fill("input[name=semana]", MONDAY.isoformat())
    page.fill("input[name=casos]", "60")
    page.fill("input[name=segundos]", "3")
    page.click("text=Planificar la semana")
    page.wait_for_selector("#plan-map", timeout=90_000)  # progress page reloads when done
    page.wait_for_function(
        "() => window.revincula && window.revincula.planFeatures > 0", timeout=20_000
    )
    assert page.locator(".stop-marker").count() > 5
    assert "visitas planificadas" in page.locator("#totals").inner_text()
    assert page.locator("#unassigned tr").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "planificacion.png"))
    page.click("#publish")
    page.wait_for_selector("text=Plan publicado")
    assert "publicado" in page.locator("h1").inner_text()
    # the same plan on a phone: nothing wider than the screen (the re-plan form's tables
    # scroll inside their boxes; a fieldset would otherwise grow to the table's width)
    narrow = open_local_page(browser, 390, 844, base=base, user="admin.prueba")
    narrow.page.goto(page.url)
    narrow.page.wait_for_selector("table.absence-grid", state="attached")
    right = (
        "() => Math.max(...[...document.querySelectorAll('.plan-page fieldset')].map("
        "f => f.getBoundingClientRect().right))"
    )
    assert narrow.page.evaluate(right) <= 390

    # The gestora's own account on a phone: her day, with no gestor chooser; another
    # gestor's day cannot be asked for.
    phone = open_local_page(browser, 390, 800, base=base, user="gestora.castro")
    phone.page.goto(base + "/terreno?gestor=ancud")
    assert phone.page.locator("select[name=gestor]").count() == 0
    assert "Gestora Castro" in phone.page.locator("form.filters").inner_text()
    # today (2026 or later) has no visits: the page shows the next published day
    phone.page.wait_for_function(
        "() => window.revincula && window.revincula.stops > 0", timeout=20_000
    )
    assert phone.page.locator(".stop").count() >= 1
    assert (
        phone.page.locator("a:has-text('Abrir en navegación')")
        .first.get_attribute("href")
        .startswith("geo:")
    )
    phone.page.screenshot(path=str(SCREENSHOTS / "terreno.png"), full_page=True)
    assert local.errors == [] and local.blocked == []
    assert phone.errors == [] and phone.blocked == []
