"""Real headless Chromium: the mesa opens /cobertura, runs «posta rural, a pie y en lancha,
martes 08:00», sees the bands on H3 cells, the protected tables and the gaps, the
same-day round trip and the week per island and the places lacking several services;
adds a posta on Isla Chaulinec by clicking the map and a 17:00 sailing to it, and sees
before and after. Screenshots at 1366×900 and 390×844 in build/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.accounts import add_user

from .conftest import SCREENSHOTS
from .conftest import open_local_page
from .conftest import seeded_app
from .conftest import serve

TODAY = dt.date(2026, 11, 2)
pytestmark = [pytest.mark.browser, pytest.mark.enable_socket]


@pytest.fixture(scope="module")
def coverage_server(tmp_path_factory, case_context):
    db = tmp_path_factory.mktemp("cobertura") / "cobertura.sqlite"
    app, _ = seeded_app(db, case_context, seed=11, scale=0.1, today=TODAY)
    add_user(app, "mesa.chiloe", "mesa")
    with serve(app) as base:
        yield base
    app.extensions["revincula.engine"].dispose()


def _run(page, base):
    page.goto(base + "/cobertura", wait_until="networkidle")
    page.select_option("#tipo", "posta")
    page.fill("input[name=fecha]", "2026-03-10")
    page.fill("input[name=hora]", "08:00")
    page.check("input[name=modo][value=a_pie]")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_selector("#result", timeout=240_000)
    page.wait_for_function(
        "() => window.revincula && window.revincula.ready.cells > 0"
        " && window.revincula.ready.services > 0 && window.revincula.ready.boats > 0",
        timeout=60_000,
    )


def _band_cells(page) -> list[str]:
    return page.eval_on_selector_all("table.band-table td", "cells => cells.map(c => c.innerText)")


def test_mesa_runs_coverage_sees_protected_counts_and_a_whatif(coverage_server, browser):
    base = coverage_server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    local = open_local_page(browser, 1366, 900, base=base, user="mesa.chiloe")
    page = local.page
    _run(page, base)
    # transit is shown unavailable with the reason
    assert page.locator("input[name=modo][value=transporte_publico]").is_disabled()
    assert "no hay horarios de buses" in page.locator(".transit-reason").inner_text()
    labels = page.locator("#labels").inner_text()
    assert "Red aproximada" in labels and "Horario supuesto" in labels
    cells = _band_cells(page)
    assert "<10" in cells
    assert not any(re.fullmatch(r"[1-9]", c) for c in cells)  # no count 1..9
    assert page.locator("#gaps tbody tr").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "cobertura.png"))
    page.locator("#gaps").screenshot(path=str(SCREENSHOTS / "cobertura_brechas.png"))
    page.locator(".side-by-side").first.screenshot(path=str(SCREENSHOTS / "cobertura_tablas.png"))
    # the same-day round trip and the week per island; places lacking several services
    assert page.locator("#trips tbody tr").count() >= 3
    assert "de lunes a viernes" in page.locator("#trips-note").inner_text()
    assert page.locator("#multi-gaps tbody tr").count() >= 1
    gap_counts = page.eval_on_selector_all(
        "#multi-gaps tbody td:nth-child(4)", "cells => cells.map(c => c.innerText)"
    )
    assert not any(re.fullmatch(r"[1-9]", c) for c in gap_counts)  # protected like the tables
    page.locator("#trips").screenshot(path=str(SCREENSHOTS / "cobertura_ida_vuelta.png"))
    page.locator("#multi-gaps").screenshot(path=str(SCREENSHOTS / "cobertura_carencias.png"))
    # a posta on Isla Chaulinec, by clicking the map at its point
    page.evaluate("() => window.revincula.coverageMap.setView([-42.6439, -73.2784], 12)")
    page.wait_for_timeout(400)
    page.evaluate(  # the map's own click event at the island's point
        "() => window.revincula.coverageMap.fire('click', {latlng: L.latLng(-42.6439, -73.2784)})"
    )
    point = page.input_value("#whatif-point")
    assert point.startswith("-42.6") and ",-73.2" in point
    page.fill("#whatif-form input[name=nombre_escenario]", "Posta en Chaulinec")
    # and a later sailing back to the island, in the same scenario
    page.select_option("#whatif-link", "achao-chaulinec|Achao")
    page.fill("#whatif-boat-time", "17:00")
    page.click("#whatif-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    flashes = page.locator(".flash.error")
    assert flashes.count() == 0, flashes.first.inner_text()
    page.wait_for_selector("#diff-isla", timeout=240_000)
    assert page.locator("table.band-table[data-capa='después']").count() >= 2
    page.wait_for_function("() => window.revincula && window.revincula.ready.cells > 0")
    page.screenshot(path=str(SCREENSHOTS / "cobertura_escenario.png"))
    page.locator(".side-by-side").first.screenshot(
        path=str(SCREENSHOTS / "cobertura_escenario_tablas.png")
    )
    page.locator("#diff-isla").screenshot(path=str(SCREENSHOTS / "cobertura_diferencia.png"))
    changes = page.locator("#scenario-changes").inner_text()
    assert "Salida de barco agregada: línea achao-chaulinec desde Achao a las 17:00" in changes
    assert "→" in page.locator("#trips tbody").inner_text()  # before → after
    page.locator("#whatif").screenshot(path=str(SCREENSHOTS / "cobertura_quesi.png"))
    page.locator("#trips").screenshot(path=str(SCREENSHOTS / "cobertura_ida_vuelta_escenario.png"))
    # downloads answer (CSV and XLSX)
    for link in ("#export-csv", "#export-xlsx"):
        href = page.get_attribute(link, "href")
        response = page.request.get(base + href)
        assert response.status == 200 and len(response.body()) > 200
    assert local.errors == [] and local.blocked == [] and local.failed == []
    page.close()
    phone = open_local_page(browser, 390, 844, base=base, user="mesa.chiloe")
    phone.page.goto(base + "/cobertura?corrida=1", wait_until="networkidle")
    phone.page.wait_for_function("() => window.revincula && window.revincula.ready.cells > 0")
    phone.page.screenshot(path=str(SCREENSHOTS / "cobertura_movil.png"), full_page=True)
    assert phone.errors == [] and phone.blocked == []
    phone.page.close()
