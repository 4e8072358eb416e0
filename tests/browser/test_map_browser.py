"""Real headless Chromium (Debian's) loads the map with all outside network blocked."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "build" / "screenshots" / "mapa.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Falta chromium de Debian: ejecute `make chromium` (make test lo instala).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_map_loads_offline_with_school_markers(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    console_errors: list[str] = []
    blocked: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    page.on("requestfailed", lambda r: failed.append(r.url))

    def only_local(route):
        host = urlparse(route.request.url).hostname
        if host in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(live_server + "/")
    page.wait_for_function(
        "window.revincula && (window.revincula.ready || window.revincula.errors.length)",
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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"}
            else route.abort()
        ),
    )
    page.goto(live_server + "/")
    page.wait_for_function("window.revincula && window.revincula.ready", timeout=20_000)
    page.fill("input[name=desde]", "Castro")
    page.fill("input[name=hasta]", "Achao")
    page.click("#journey-form button")
    page.wait_for_function("window.revincula.journey !== undefined", timeout=20_000)
    result = page.locator("#journey-result")
    assert "red aproximada" in result.inner_text()
    assert "Barco Canal Dalcahue" in result.inner_text()
    assert page.locator("#journey-result ol.legs li").count() == 4
    # a dashed boat leg is drawn on the map
    assert page.locator("path.leaflet-interactive[stroke-dasharray='8 6']").count() >= 1
    page.screenshot(path=str(SCREENSHOT.with_name("viaje.png")))
    assert errors == []
    page.close()
