"""Real headless Chromium: the plan form refuses a past week before sending and, on a server
error, names the field and keeps what was typed (issue 17 item 14)."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_app.demo.seed import demo_gestor_rows
from geo_app.planning.gestores import save_gestores

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 4)  # a Wednesday: the week of 2026-11-02 is current, 2026-10-26 past

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def form_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("form") / "demo.sqlite"
    app, _ = seeded_app(db, case_context, seed=3, scale=0.03, today=TODAY)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, demo_gestor_rows(app), synthetic=True)
    with serve(app) as base:
        yield base
    app.extensions["revincula.engine"].dispose()


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_the_plan_form_names_the_wrong_field_and_keeps_the_rest(
    form_server, browser, width, height
):
    base = form_server
    local = open_local_page(browser, width, height, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/planificacion")
    # the browser itself does not send a week before this one
    assert page.get_attribute("input[name=semana]", "min") == "2026-11-02"
    page.fill("input[name=semana]", "2026-10-26")
    assert page.evaluate("document.querySelector('input[name=semana]').validity.rangeUnderflow")
    page.fill("input[name=semana]", "2026-11-09")
    page.fill("input[name=casos]", "77")
    page.fill("input[name=segundos]", "2")
    page.click("#stays summary")
    page.select_option("select[name=aloja_gestor_1]", "castro")
    page.fill("input[name=aloja_noche_1]", "2026-11-10")
    page.fill("input[name=aloja_sale_1]", "07:10")
    page.click("text=Planificar la semana")
    page.wait_for_selector("#form-error")
    assert "Alojamientos: fila 1: falta el lugar del alojamiento" in page.inner_text("#form-error")
    assert page.input_value("input[name=casos]") == "77"
    assert page.input_value("input[name=segundos]") == "2"
    assert page.input_value("input[name=semana]") == "2026-11-09"
    assert page.input_value("input[name=aloja_noche_1]") == "2026-11-10"
    assert page.input_value("select[name=aloja_gestor_1]") == "castro"
    assert page.locator(".stay-row.field-error").count() == 1
    assert page.locator("details#stays[open]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / f"plan_form_error_{width}.png"), full_page=True)
    assert local.errors == [] and local.blocked == []
