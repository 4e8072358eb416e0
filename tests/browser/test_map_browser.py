"""Real headless Chromium (Debian's) loads the map with all outside network blocked."""

from __future__ import annotations

import pytest

from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import serve

SCREENSHOT = SCREENSHOTS / "mapa.png"

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def live_server(app):
    add_user(app, "admin.prueba", "admin")
    with serve(app) as base:
        yield base


def test_map_loads_offline_with_school_markers(live_server, browser):
    local = open_local_page(browser, 1280, 800, base=live_server, user="admin.prueba")
    page, blocked, failed = local.page, local.blocked, local.failed
    console_errors = local.errors
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/")
    page.wait_for_function(
        "() => window.revincula && (window.revincula.ready || window.revincula.errors.length)",
        timeout=20_000,
    )
    assert page.evaluate("window.revincula.errors") == [], console_errors
    loaded = page.evaluate("window.revincula.loaded")
    assert loaded == {"comunas": 10, "islas": 62, "escuelas": 280, "salud": 141, "barcos": 16}
    assert page.evaluate("window.revincula.layers.escuelas.getLayers().length") == 280
    # Markers or clusters of schools are drawn in the map pane.
    visible = page.locator(".school-marker, .school-cluster").count()
    assert visible > 10
    assert page.locator(".leaflet-control-layers-overlays label").count() >= 8
    assert page.locator(".legend").first.is_visible()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    # Zoom into Castro: individual school markers appear (clustering off at zoom 13).
    page.evaluate("window.revincula.map.setView([-42.48, -73.765], 14)")
    page.wait_for_timeout(500)
    assert page.locator(".school-marker.slep").count() > 3
    assert blocked == []
    assert failed == []
    assert console_errors == []
    page.close()


def test_journey_form_draws_the_boat_leg_and_the_approximate_flag(live_server, browser):
    local = open_local_page(browser, 1280, 900, base=live_server, user="admin.prueba")
    page, errors = local.page, local.errors
    page.goto(live_server + "/")
    page.wait_for_function("() => window.revincula && window.revincula.ready", timeout=20_000)
    page.fill("input[name=desde]", "Castro")
    page.fill("input[name=hasta]", "Achao")
    page.click("#journey-form button")
    page.wait_for_function("() => window.revincula.journey !== undefined", timeout=20_000)
    result = page.locator("#journey-result")
    assert "red aproximada" in result.inner_text()
    assert "Barco Canal Dalcahue" in result.inner_text()
    assert page.locator("#journey-result ol.legs li").count() == 4
    # a dashed boat leg is drawn on the map
    assert page.locator("path.leaflet-interactive[stroke-dasharray='8 6']").count() >= 1
    page.screenshot(path=str(SCREENSHOT.with_name("viaje.png")))
    assert errors == []
    page.close()
