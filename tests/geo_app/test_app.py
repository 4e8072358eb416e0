from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from geo_app import create_app
from geo_app.cli import main
from layers.territory import TerritoryDataError
from tests.accounts import login

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_factory_uses_test_config(app):
    assert app.testing
    assert app.config["TILE_URL"] == ""


def test_factory_refuses_broken_territory(data_copy):
    (data_copy / "horarios_barcos.csv").write_text("servicio_id\nx\n", encoding="utf-8")
    with pytest.raises(TerritoryDataError, match=r"horarios_barcos\.csv"):
        create_app({"TESTING": True, "TERRITORY_DIR": str(data_copy)})


def test_environment_overrides_config(monkeypatch, tmp_path):
    monkeypatch.setenv("REVINCULA_TILE_URL", "http://127.0.0.1:8080/{z}/{x}/{y}.png")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    assert app.config["TILE_URL"].startswith("http://127.0.0.1:8080")
    page = login(app.test_client(), app).get("/").get_data(as_text=True)
    assert "127.0.0.1:8080" in page  # the configured tile layer is passed to the map


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
    assert "https://" not in page
    assert "http://" not in page


def test_static_assets_are_served_locally(client):
    for path in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/js/map.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert "sourceMappingURL" not in body
        response.close()


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


def test_cli_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "territory"):
        assert command in result.output


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
