"""`revincula route`, `revincula matrix` and `revincula network` from the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_app.cli import main


@pytest.fixture
def runner(monkeypatch, malta_network_dir):
    monkeypatch.setenv("REVINCULA_NETWORK_DIR", str(malta_network_dir))
    return CliRunner()


def test_route_chiloe_prints_each_leg_in_spanish(runner):
    result = runner.invoke(main, ["route", "Castro", "Achao", "--at", "2026-03-10 08:00"])
    assert result.exit_code == 0, result.output
    assert "Barco Canal Dalcahue" in result.output
    assert "Espera en Dalcahue" in result.output
    assert "red aproximada" in result.output


def test_route_malta_with_network_option_as_json(runner):
    result = runner.invoke(
        main,
        [
            "route",
            "Valletta",
            "Victoria",
            "--at",
            "2026-03-10 08:00",
            "--network",
            "malta",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["alcanzable"]
    assert not data["red_aproximada"]
    assert [t["linea_id"] for t in data["tramos"] if t["tipo"] == "barco"] == ["gozo"]


def test_route_unreachable_exits_2_with_reason(runner):
    result = runner.invoke(main, ["route", "Castro", "Isla Quenac", "--at", "2026-03-10 08:00"])
    assert result.exit_code == 2
    assert "Sin viaje posible" in result.output


def test_route_bad_inputs_are_explained(runner):
    result = runner.invoke(main, ["route", "Castro", "Narnia", "--at", "2026-03-10 08:00"])
    assert result.exit_code != 0
    assert "No se encontró el lugar 'Narnia'" in result.output
    result = runner.invoke(main, ["route", "Castro", "Achao", "--at", "mañana"])
    assert result.exit_code != 0
    assert "AAAA-MM-DD HH:MM" in result.output
    result = runner.invoke(
        main, ["route", "Castro", "Achao", "--at", "2026-03-10 08:00", "--network", "nada"]
    )
    assert result.exit_code != 0
    assert "network build" in result.output


def test_matrix_writes_long_form_csv(runner, tmp_path):
    points = tmp_path / "puntos.csv"
    points.write_text(
        "id;lat;lon\nvalletta;35.89898;14.51368\nvictoria;36.04289;14.23985\nmar;35.6;14.0\n"
    )
    out = tmp_path / "matriz.csv"
    result = runner.invoke(
        main,
        ["matrix", str(points), "--at", "2026-03-10 08:00", "-o", str(out), "--network", "malta"],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["from_id", "to_id", "travel_time_s"]
    assert len(table) == 9
    crossing = table.query("from_id == 'victoria' and to_id == 'valletta'")["travel_time_s"].iloc[0]
    assert crossing > 25 * 60
    assert table.query("from_id == 'mar' or to_id == 'mar'")["travel_time_s"].isna().all()
    assert "sin viaje posible" in result.output


def test_matrix_rejects_bad_points_file_listing_every_problem(runner, tmp_path):
    points = tmp_path / "malo.csv"
    points.write_text("id,lat,lon\na,-42.5,-73.7\na,noventa,-73.7\n,-42.5,-200\n")
    result = runner.invoke(
        main, ["matrix", str(points), "--at", "2026-03-10 08:00", "-o", str(tmp_path / "x.csv")]
    )
    assert result.exit_code != 0
    for text in (
        "fila 3: `lat`='noventa'",
        "fila 4: `lon`='-200'",
        "fila 4: falta `id`",
        "'a' está repetido",
    ):
        assert text in result.output
    assert not (tmp_path / "x.csv").exists()


def test_network_info_and_build(runner, tmp_path):
    result = runner.invoke(main, ["network", "info"])
    assert result.exit_code == 0, result.output
    assert "Red aproximada: sí" in result.output
    assert "Canal de Chacao" in result.output
    result = runner.invoke(main, ["network", "info", "--network", "malta"])
    assert "Nodos: " in result.output
    assert "Gozo Channel" in result.output
    from tests.conftest import MALTA_PBF
    from tests.conftest import MALTA_TIMETABLE

    result = runner.invoke(
        main,
        [
            "network",
            "build",
            "--osm",
            str(MALTA_PBF),
            "--horario",
            str(MALTA_TIMETABLE),
            "--nombre",
            "malta",
        ],
    )
    assert result.exit_code == 0, result.output  # reused from the cache
    assert "--network malta" in result.output


def test_app_uses_the_configured_network_for_travel_and_streets(malta_network_dir, tmp_path):
    """REVINCULA_NETWORK=malta: plans route on the OSM network; imports geocode its streets."""
    from geo_app import create_app
    from geo_app.cases.context import case_context
    from geo_app.travel import app_model

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    network = str(next(malta_network_dir.glob("malta-*.npz")))
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url, "NETWORK": network})
    with app.app_context():
        model = app_model(app)
        assert model.name == "malta"
        assert not model.approximate
        streets = case_context(app).geocoder.streets
        assert len(streets) > 5000
        # Malta lies outside every Chiloé comuna: its streets never match a Chiloé case
        assert {s.comuna for s in streets} == {"-"}


def test_missing_network_stops_the_app_with_the_reason(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("REVINCULA_NETWORK", "chiloe")
    monkeypatch.setenv("REVINCULA_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "No existe la red" in result.output
    assert "revincula network build" in result.output
