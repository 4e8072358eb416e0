"""Real headless Chromium on the places page «Lugares»: search, conflicts on the map, a correction.

Screenshots at 1366×900 and 390×844 in build/screenshots (lugares_*.png).
"""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("lugares") / "demo.sqlite"
    app, n_cases = seeded_app(db, case_context, seed=5, scale=0.05, today=TODAY)
    with serve(app) as base:
        yield base, n_cases
    app.extensions["revincula.engine"].dispose()


# one place per size: the first correction makes its place the team's (no longer red)
@pytest.mark.parametrize(
    ("width", "height", "name", "km", "lat_range"),
    [(1366, 900, "Chacao Viejo", "6,8 km", (-42.0, -41.7)),
     (390, 844, "Coquiao", "3,1 km", (-42.1, -41.9))],
)  # fmt: skip
def test_places_page_shows_conflicts_and_corrects_a_place(
    seeded_server, browser, width, height, name, km, lat_range
):
    base, _ = seeded_server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    local = open_local_page(browser, width, height, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/lugares?filtro=conflictos")
    page.wait_for_function("() => window.revincula && window.revincula.placesMap", timeout=20_000)
    page.wait_for_selector("path.place-marker", timeout=20_000)
    n_markers = page.locator("path.place-marker").count()
    n_rows = page.locator("#places-table tbody tr").count()
    assert n_markers == n_rows > 10  # every place with a conflict is on the map
    fills = page.eval_on_selector_all(
        "path.place-marker", "els => els.map(e => e.getAttribute('fill'))"
    )
    assert fills.count("#b42318") >= n_markers - 1  # red: sources more than 2 km apart
    page.screenshot(path=str(SCREENSHOTS / f"lugares_conflictos_{width}.png"), full_page=False)
    # a place with a conflict: its sources on the map, the one far off marked
    page.click(f"#places-table a:text('{name}')")
    page.wait_for_selector("#place-conflict")
    page.wait_for_selector("path.entry-marker", timeout=20_000)
    assert page.locator("path.entry-marker").count() == 2
    assert km in page.inner_text("#place-conflict")
    assert page.locator("tr.outlier").count() == 1
    # a click on the map fills the correction form; saving moves the place
    page.locator("#places-map").scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the map's fit to the place's sources
    page.screenshot(path=str(SCREENSHOTS / f"lugares_antes_{width}.png"))
    box = page.locator("#places-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75)  # off markers
    lat = float(page.input_value("#fix-lat"))
    assert lat_range[0] < lat < lat_range[1]
    page.screenshot(path=str(SCREENSHOTS / f"lugares_lugar_{width}.png"), full_page=True)
    page.click("#correct-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert f"{name} corregido" in page.inner_text(".flash.ok")
    page.wait_for_selector("#team-rows td:text('corrección')")
    page.screenshot(path=str(SCREENSHOTS / f"lugares_corregido_{width}.png"), full_page=False)
    page.locator("#team-rows").scroll_into_view_if_needed()
    assert "Global Map of Chile" in page.inner_text("#gazetteer-sources")
    page.screenshot(path=str(SCREENSHOTS / f"lugares_equipo_{width}.png"), full_page=False)
    assert local.errors == [] and local.blocked == [] and local.failed == []
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_least_sure_cases_first_and_the_pin_form_names_the_sector(
    seeded_server, browser, width, height
):
    base, _ = seeded_server
    local = open_local_page(browser, width, height, base=base, user="admin.prueba")
    page = local.page
    page.goto(base + "/casos")
    page.click("#pin-first")
    page.wait_for_selector("table.cases tbody tr")
    levels = page.locator("table.cases .conf-level").all_inner_texts()
    assert levels and set(levels) == {"confianza baja"}
    page.screenshot(path=str(SCREENSHOTS / f"casos_baja_primero_{width}.png"))
    page.goto(base + "/casos?confianza=media")
    page.locator("table.cases tbody tr a").first.click()
    page.wait_for_selector("#pin-form")
    assert page.input_value("#pin-sector")  # a recognised sector is offered to confirm
    assert page.inner_text("#geocode-confidence").startswith("media")
    page.locator("#pin-form").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"caso_pin_sector_{width}.png"))
    assert local.errors == [] and local.blocked == []
    page.close()
