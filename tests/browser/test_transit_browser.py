"""Real headless Chromium: the mode «transporte público» unavailable then available, the
«Transporte» page, a journey by bus on the map, and the day of the gestor without a vehicle."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_app.demo.seed import demo_gestor_rows
from geo_app.planning.plans import compute_week
from geo_app.transit.service import save_lines
from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
MONDAY = dt.date(2026, 11, 23)
PHONE = (390, 844)
DESKTOP = (1366, 900)

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def transit_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("transporte") / "demo.sqlite"
    app, _ = seeded_app(db, case_context, seed=7, scale=0.1, today=TODAY)
    add_user(app, "profesional.prueba", "profesional")
    with serve(app) as base:
        yield app, base
    app.extensions["revincula.engine"].dispose()


def _shot(local, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    local.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_transit_unavailable_then_a_bus_on_the_map_and_in_the_gestors_day(transit_server, browser):
    from geo_app.demo.seed import DEMO_LINES
    from geo_app.demo.seed import DEMO_STOPS

    app, base = transit_server
    desk = open_local_page(browser, *DESKTOP, base=base, user="profesional.prueba")
    page = desk.page
    # no timetable: every screen says the mode is unavailable and why
    page.goto(base + "/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    radio = page.locator("input[name=modo][value=transporte_publico]")
    assert radio.is_disabled()
    assert "no inventa horarios" in page.locator("#mode-note-transporte_publico").inner_text()
    page.goto(base + "/transporte")
    assert "no está disponible" in page.locator("#mode-state").inner_text()
    _shot(desk, "transporte-sin-horarios.png")

    # the demo's hand-entered bus line, then a week planned with the gestor without a car
    with app.extensions["revincula.db"]() as session, session.begin():
        save_lines(session, DEMO_STOPS, DEMO_LINES, version="*", synthetic=True)
    rows = [r for r in demo_gestor_rows(app) if r["code"] == "dalcahue"]  # the one without a car
    assert rows and not rows[0]["vehicle"]
    _plan_id, result = compute_week(app, rows, MONDAY, seconds=3, limit=120, synthetic=True)

    page.goto(base + "/transporte")
    assert "está disponible" in page.locator("#mode-state").inner_text()
    assert page.locator("#lines-table td.assumed").count() > 5
    page.wait_for_function("() => window.revincula && window.revincula.stops === 3")
    page.locator("#transit-map").click(position={"x": 200, "y": 150})
    assert "parada-nueva-1,Parada nueva 1," in page.locator("textarea[name=paradas]").input_value()
    _shot(desk, "transporte.png")
    page.goto(base + "/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    page.check("input[name=modo][value=transporte_publico]")
    page.fill("input[name=desde]", "-42.4797,-73.7640")
    page.fill("input[name=hasta]", "-42.3777,-73.6510")
    page.fill("input[name=salida]", "2026-11-24T06:50")
    page.click("#journey-form button[type=submit]")
    page.wait_for_selector("#journey-result ol.legs", timeout=20_000)
    text = page.locator("#journey-result").inner_text()
    assert "Bus Castro - Dalcahue (supuesto)" in text and "horario supuesto" in text
    assert "Transporte público: llegada" in text
    _shot(desk, "viaje-transporte-publico.png")

    rides = [
        d["dia"]
        for d in result["dias"]
        if d["gestor_id"] == "dalcahue"
        and any(
            t["tipo"] == "bus"
            for t in [*[t for s in d["paradas"] for t in s["tramos"]], *d["regreso"]]
        )
    ]
    assert rides, "the gestor without a vehicle takes the bus on some day"
    phone = open_local_page(browser, *PHONE, base=base, user="profesional.prueba")
    phone.page.goto(base + f"/terreno?gestor=dalcahue&dia={rides[0]}")
    assert phone.page.locator(".busbox").count() >= 1
    assert "Tome el bus" in phone.page.locator(".busbox").first.inner_text() or (
        "Regreso" in phone.page.locator(".busbox").first.inner_text()
    )
    phone.page.locator(".busbox").first.scroll_into_view_if_needed()
    phone.page.screenshot(path=str(SCREENSHOTS / "terreno-bus.png"))
    phone.page.goto(base + "/transporte")
    _shot(phone, "transporte-telefono.png")
    assert desk.errors == [] and desk.blocked == []
    assert phone.errors == [] and phone.blocked == []
