"""The app factory: configuration order, a broken territory refused, the front end served."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from geo_app import create_app
from geo_app.cli import main
from layers.territory import TerritoryDataError
from tests.accounts import login


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


def test_cli_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "territory"):
        assert command in result.output
