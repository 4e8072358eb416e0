"""Map files of a coverage run: self-contained HTML (folium), GeoJSON, A4 PDF/PNG by a job.

Synthetic cases (see conftest); SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from html.parser import HTMLParser

from PIL import Image
from pypdf import PdfReader

from tests.accounts import login
from tests.geo_app.coverage.test_coverage_app import _run

K = 10


class _Resources(HTMLParser):
    """Every attribute of the HTML that would load something (or link) outside the file."""

    def __init__(self):
        super().__init__()
        self.outside, self.scripts, self.styles = [], 0, 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.styles += tag == "style"
        for name, value in attrs:
            if (
                name in {"src", "href", "srcset", "data", "action", "poster"}
                and value
                and not (value.startswith(("data:", "#", "javascript:")))
            ):
                self.outside.append((tag, name, value))


def _clients(app):
    return login(app.test_client(), app, "mesa"), login(app.test_client(), app, "profesional")


def _band_totals(body: dict) -> dict[str, str]:
    table = [t for t in body["tablas"] if t["valor"] == "cases" and t["tabla"] == "comuna"][-1]
    total = next(r for r in table["rows"] if r["label"] == "Total")
    return dict(zip(table["columns"], total["cells"], strict=True))


def _wait_file(client, location: str, timeout: float = 120.0) -> str:
    """Follow a printable map's page until its job ends; return the page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(location).get_data(as_text=True)
        if 'id="map-file-ready"' in page or 'id="map-file-failed"' in page:
            return page
        assert 'id="map-file-progress"' in page  # progress shown while it runs
        time.sleep(0.3)
    msg = "el mapa no terminó"
    raise AssertionError(msg)


def test_html_map_is_self_contained_with_legend_and_protected_counts(cov_app):
    mesa, _ = _clients(cov_app)
    run_id = _run(mesa)
    page = mesa.get(f"/cobertura?corrida={run_id}").get_data(as_text=True)
    assert f"/cobertura/{run_id}/mapa.html" in page and f"/cobertura/{run_id}/mapa.pdf" in page
    response = mesa.get(f"/cobertura/{run_id}/mapa.html")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    # nothing outside the file: no remote or relative script, style, image, frame or import
    tags = _Resources()
    tags.feed(text)
    assert tags.scripts >= 1 and tags.styles >= 1  # Leaflet inlined
    assert tags.outside == [], tags.outside[:5]
    styles = " ".join(re.findall(r"<style>(.*?)</style>", text, re.S))
    assert "leaflet-container" in styles and "@import" not in styles
    assert not re.search(r"url\((?!data:|#)", styles)  # Leaflet's images are data: URIs
    assert "cdn." not in text and "tile.openstreetmap" not in text
    assert "L.map(" in text or "L.map (" in text  # Leaflet's code is inlined, the map made with it
    assert "Leaflet 1.9.4" in text or '"1.9.4"' in text
    body = mesa.get(f"/api/cobertura/{run_id}.json").get_json()
    legend = html.unescape(text.split('id="rv-legend"', 1)[1])
    for band, count in _band_totals(body).items():
        if band != "Total":
            assert band in legend and count in legend
    assert "<10" in legend and "reserva estadística" in legend
    assert "Red aproximada" in legend and "Generado el" in legend and "Fuente:" in legend
    # the mesa's map holds cells and services, never a case or a count per cell
    assert "caso-" not in text and "95000" not in text
    assert not re.search(r'"(?:casos|cases)"\s*:', text)


def test_geojson_has_bands_and_cells_and_no_people(cov_app):
    mesa, _ = _clients(cov_app)
    run_id = _run(mesa)
    response = mesa.get(f"/cobertura/{run_id}/mapa.geojson")
    assert response.status_code == 200
    body = json.loads(response.get_data())
    kinds = [f["properties"]["capa"] for f in body["features"]]
    cells = mesa.get(f"/api/cobertura/{run_id}/celdas.geojson").get_json()["features"]
    assert kinds.count("celda") == len(cells) > 1000
    bands = [f for f in body["features"] if f["properties"]["capa"] == "banda"]
    assert bands and sum(f["properties"]["celdas"] for f in bands) == len(cells)
    assert {f["geometry"]["type"] for f in bands} <= {"Polygon", "MultiPolygon"}
    assert body["properties"]["etiquetas"] and "Fuente" in body["properties"]["fuente"]
    assert "caso" not in json.dumps([f["properties"] for f in body["features"]])


def test_pdf_and_png_are_a4_made_by_a_job_with_legend_date_source(cov_app):
    mesa, staff = _clients(cov_app)
    run_id = _run(mesa)
    body = mesa.get(f"/api/cobertura/{run_id}.json").get_json()
    response = mesa.get(f"/cobertura/{run_id}/mapa.pdf")
    assert response.status_code == 302
    location = response.headers["Location"]
    page = _wait_file(mesa, location)
    assert 'id="map-file-ready"' in page
    link = re.search(r'href="([^"]+/descargar)"', page).group(1)
    pdf = mesa.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.4) < 1.5 and abs(float(box.height) - 841.7) < 1.5  # A4 pt
    text = reader.pages[0].extract_text()
    flat = re.sub(r"\s+", " ", text)
    assert "Tiempo al más cercano" in flat and "Fuente:" in flat and "Generado el" in flat
    assert "Red aproximada" in flat and "reserva estadística" in flat
    for band, count in _band_totals(body).items():
        if band != "Total":
            assert f"{band}: {count} casos" in flat
    # asking again reuses the same file (no second job)
    assert mesa.get(f"/cobertura/{run_id}/mapa.pdf").headers["Location"] == location
    # the mesa's file is not handed to another audience, nor the staff's to the mesa
    assert staff.get(link).status_code == 404
    png = staff.get(f"/cobertura/{run_id}/mapa.png")
    staff_page = _wait_file(staff, png.headers["Location"])
    staff_link = re.search(r'href="([^"]+/descargar)"', staff_page).group(1)
    assert mesa.get(staff_link).status_code == 404
    image = Image.open(io.BytesIO(staff.get(staff_link).data))
    width, height = image.size
    assert abs(width - 1240) <= 1 and abs(height - 1754) <= 1  # A4 at 150 dpi
    assert abs(height / width - 297 / 210) < 0.002


def test_map_of_an_unfinished_or_unknown_run_is_refused_in_spanish(cov_app):
    mesa, _ = _clients(cov_app)
    assert mesa.get("/cobertura/999/mapa.html").status_code == 404
    run_id = _run(mesa)
    response = mesa.get(f"/cobertura/{run_id}/mapa.svg")
    assert response.status_code == 404 and "mapa.html" in response.get_data(as_text=True)
