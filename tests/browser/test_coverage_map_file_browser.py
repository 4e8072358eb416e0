"""Real headless Chromium: the mesa downloads the HTML map of a coverage run, and the file,
opened from disk with every network request refused, draws the cells, the services and
the legend (Leaflet inlined). Screenshot at 1366×900 in build/screenshots/.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve
from .test_coverage_browser import _run

TODAY = dt.date(2026, 11, 2)
pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def map_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("mapa") / "mapa.sqlite"
    app, _ = seeded_app(db, case_context, seed=11, scale=0.1, today=TODAY)
    add_user(app, "mesa.chiloe", "mesa")
    with serve(app) as base:
        yield base
    app.extensions["revincula.engine"].dispose()


def test_downloaded_html_map_renders_offline(map_server, browser, tmp_path):
    local = open_local_page(browser, 1366, 900, base=map_server, user="mesa.chiloe")
    _run(local.page, map_server)
    with local.page.expect_download() as info:
        local.page.click("#export-html")
    path = tmp_path / "mapa.html"
    info.value.save_as(path)
    local.page.close()

    # a fresh page that may load nothing at all but the file itself
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    requested, errors = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def offline(route):
        requested.append(route.request.url)
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", offline)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector(".leaflet-container canvas", timeout=20_000)
    painted = page.evaluate(
        """() => {
          let n = 0;
          for (const c of document.querySelectorAll('.leaflet-container canvas')) {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4 * 16) { if (d[i] > 0) { n++; } }
          }
          return n;
        }"""
    )
    legend = page.inner_text("#rv-legend")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cobertura-mapa-html-offline.png"))
    page.close()
    assert errors == []
    assert [u for u in requested if not u.startswith(("file://", "data:"))] == []
    assert painted > 1000, painted  # cells drawn on Leaflet's canvas (0 when blank)
    assert "Tiempo al más cercano" in legend and "no se llega hoy" in legend
    assert "Red aproximada" in legend and "Generado el" in legend
    assert "<10" in legend or "reserva" not in legend
