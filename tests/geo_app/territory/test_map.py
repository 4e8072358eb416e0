"""The map page, its layers, the journey API and the territory commands."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from geo_app.cli import main

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_map_page_has_layers_and_no_external_url(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="map"' in page
    for asset in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
    ):
        assert asset in page
    assert "280</b> establecimientos" in page
    assert "supuesto" in page
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    # the WOF/GeoNames attribution must quote its licence's addresses, as text (never loaded)
    attribution = re.search(r'<small class="attribution">([^<]*)</small>', page)
    assert attribution and "geonames.org" in attribution.group(1)
    text = page.replace(attribution.group(0), "")
    assert "https://" not in text
    assert "http://" not in text


@pytest.mark.parametrize(
    ("layer", "count"),
    [("comunas", 10), ("escuelas", 280), ("salud", 141), ("barcos", 16), ("adultos", 17)],
)
def test_layer_geojson(client, layer, count):
    response = client.get(f"/api/capas/{layer}.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = json.loads(response.get_data(as_text=True))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == count


def test_school_feature_properties(client):
    data = client.get("/api/capas/escuelas.geojson").get_json(force=True)
    school = next(f for f in data["features"] if f["properties"]["rbd"] == 8001)
    assert school["properties"]["name"] == "LICEO POLITECNICO DE CASTRO"
    assert school["properties"]["is_slep"] is True
    assert school["properties"]["enrolment"] == 1242
    lon, lat = school["geometry"]["coordinates"]
    assert lat == pytest.approx(-42.480202)
    assert lon == pytest.approx(-73.768593)


def test_unknown_layer_is_404_in_spanish(client):
    response = client.get("/api/capas/nada.geojson")
    assert response.status_code == 404
    assert "Capa desconocida" in response.get_data(as_text=True)


def test_cli_territory_info_prints_counts():
    result = CliRunner().invoke(main, ["territory", "info"])
    assert result.exit_code == 0, result.output
    assert (
        "281 establecimientos funcionando (190 SLEP; 63 en islas menores; 1 sin coordenadas)"
        in (result.output)
    )
    assert "Isla Lemuy" in result.output
    assert "Curaco de Vélez" in result.output
    assert "sin línea en el horario" in result.output


def test_cli_territory_check_reports_broken_data(data_copy):
    (data_copy / "islas_nombres.csv").write_text("nombre\nx\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["territory", "check", "--datos", str(data_copy)])
    assert result.exit_code == 1
    assert "faltan las columnas lat, lon, fuente" in result.output


def test_journey_api_returns_legs_flagged_approximate(client):
    r = client.get("/api/viaje?desde=Castro&hasta=Achao&salida=2026-03-10 08:00")
    assert r.status_code == 200
    body = r.get_json()
    assert body["alcanzable"]
    assert body["red_aproximada"]
    boats = [t for t in body["tramos"] if t["tipo"] == "barco"]
    assert [t["linea_id"] for t in boats] == ["dalcahue-quinchao"]
    assert boats[0]["supuesto"]
    assert "red aproximada" in body["descripcion"]


def test_journey_api_explains_bad_input(client):
    r = client.get("/api/viaje?desde=Castro&hasta=Narnia&salida=2026-03-10 08:00")
    assert r.status_code == 400
    assert "No se encontró el lugar 'Narnia'" in r.get_json()["error"]
    r = client.get("/api/viaje?desde=Castro&hasta=Achao&salida=ayer")
    assert r.status_code == 400
    assert "AAAA-MM-DD HH:MM" in r.get_json()["error"]
    r = client.get("/api/viaje?desde=Castro&salida=2026-03-10 08:00")
    assert r.status_code == 400


def test_journey_api_unreachable_has_reason(client):
    r = client.get("/api/viaje?desde=Castro&hasta=Isla Quenac&salida=2026-03-10 08:00")
    body = r.get_json()
    assert r.status_code == 200
    assert not body["alcanzable"]
    assert "miércoles" in body["motivo"]
