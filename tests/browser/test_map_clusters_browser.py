"""The map with more cases than the point limit: counts per zone from the server at the
province, the cases themselves when zoomed in (issue 22 item 3), in headless Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func
from sqlalchemy import select

from geo_app.store.models import Case

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]
TODAY = dt.date(2026, 9, 1)
LIMIT = 60  # points per view; the seeded caseload is several times larger


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("grupos") / "demo.sqlite"
    app, _ = seeded_app(db, case_context, seed=11, scale=0.05, today=TODAY)
    app.config["MAP_POINT_LIMIT"] = LIMIT
    with app.extensions["revincula.db"]() as session:
        located = session.scalar(
            select(func.count()).where(Case.lon.is_not(None), Case.in_latest_list)
        )
    assert located > 3 * LIMIT
    with serve(app) as base:
        yield base, located, app
    app.extensions["revincula.engine"].dispose()


def test_province_gets_zone_counts_and_a_town_gets_its_cases(seeded, browser):
    base, located, app = seeded
    local = open_local_page(browser, 1280, 800, base=base, user="admin.prueba")
    page, errors, blocked = local.page, local.errors, local.blocked
    page.goto(base + "/")
    page.wait_for_function("() => window.revincula && window.revincula.cases", timeout=20_000)
    counts = page.evaluate("window.revincula.cases")
    assert counts["modo"] == "grupos" and counts["total"] == located  # all of Chiloé in view
    badges = page.locator(".case-cluster.server-cluster:not(.sw)")
    assert badges.count() == counts["celdas"] > 3
    shown = sum(int(t.replace(".", "")) for t in badges.all_inner_texts())
    assert shown == located
    assert "casos en esta zona (sintéticos)" in badges.first.get_attribute("title")
    label = page.locator(".leaflet-control-layers-overlays").inner_text()
    assert f"Casos ubicados ({located} en la vista, agrupados por zona)" in label
    page.screenshot(path=str(SCREENSHOTS / "casos_por_zona.png"))
    # a click on the biggest zone zooms to it
    zoom = page.evaluate("window.revincula.map.getZoom()")
    biggest = max(
        range(badges.count()), key=lambda i: int(badges.nth(i).inner_text().replace(".", ""))
    )
    badges.nth(biggest).click()
    first_url = page.evaluate("window.revincula.casesUrl")
    page.wait_for_function(
        f"""() => window.revincula.map.getZoom() > {zoom}
        && window.revincula.casesUrl !== {first_url!r}""",
        timeout=10_000,
    )  # the zone's counts
    # Castro's centre at zoom 16, a small view: its cases come one by one (however many:
    # urban addresses without streets share the town's point)
    page.evaluate("window.revincula.map.setView([-42.4815, -73.7650], 16, {animate: false})")
    page.wait_for_function("() => window.revincula.cases.modo === 'puntos'", timeout=10_000)
    points = page.evaluate("window.revincula.cases")
    url = page.evaluate("window.revincula.casesUrl")
    west, south, east, north = map(float, url.split("bbox=")[1].split("&")[0].split(","))
    with app.extensions["revincula.db"]() as session:
        in_view = session.scalar(
            select(func.count()).where(
                Case.in_latest_list, Case.lon.between(west, east), Case.lat.between(south, north)
            )
        )
    assert points["total"] == in_view > 0 and points["completo"] is False
    # every case is drawn: one marker each, or one count marker for many at one point
    markers, cases, stacks = page.evaluate(
        """() => { const ls = window.revincula.layers.casos.getLayers();
        return [ls.length, ls.reduce((s, m) => s + (m.options.cases || 1), 0),
                ls.filter(m => m.feature.properties.pila).length]; }"""
    )
    assert cases == points["total"] and stacks == points["pilas"]
    assert markers == points["total"] - sum(
        n - 1 for n in page.evaluate(
            """() => window.revincula.layers.casos.getLayers()
            .filter(m => m.feature.properties.pila).map(m => m.options.cases)"""
        )
    )  # fmt: skip
    assert page.locator(
        ".case-marker:not(.sw), .case-cluster:not(.server-cluster):not(.sw)"
    ).count()
    assert errors == [] and blocked == []
    page.close()
