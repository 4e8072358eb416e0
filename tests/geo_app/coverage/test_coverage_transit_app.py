"""/cobertura and ``revincula coverage`` in the mode «transporte público».

Without a bus or colectivo timetable the mode is shown disabled with the reason
and refused by the form and the CLI; with the demo's entered line (Castro -
Dalcahue, every value `supuesto`) it is the form's default, runs, says which
mode and which timetables its figures use, and is never slower than walking and
boats (the hand-worked times are in tests/layers/test_coverage_transit.py).
SQLite and PostgreSQL.
"""

from __future__ import annotations

import html

import pandas as pd
from click.testing import CliRunner

from geo_app.cli import main
from geo_app.demo.seed import DEMO_LINES
from geo_app.demo.seed import DEMO_STOPS
from geo_app.store.models import CoverageRun
from geo_app.transit import service as transit_service
from routing.transit import NO_TRANSIT_REASON
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.coverage.conftest import run_id_of
from tests.geo_app.coverage.conftest import wait_run

FORM = {"tipo": "posta", "fecha": "2026-03-10", "hora": "08:00", "umbral": "60"}
TRANSIT_LABEL = "en transporte público (a pie, bus o colectivo y lancha)"


def _save_demo_lines(app):
    with app.extensions["revincula.db"]() as session, session.begin():
        transit_service.save_lines(session, DEMO_STOPS, DEMO_LINES, version="*", actor="prueba")


def _checked_mode(page: str) -> str:
    start = page.index('name="modo"', page.index('id="coverage-form"'))
    inputs = page[start - 40 : page.index("</fieldset>", start)].split("<input")
    return next(i.split('value="')[1].split('"')[0] for i in inputs if " checked" in i)


def _run(client, mode: str, service_type: str) -> int:
    form = {**FORM, "tipo": service_type, "modo": mode}
    response = client.post("/cobertura", data={"csrf": csrf(client), **form})
    run_id = run_id_of(response)
    assert wait_run(client, run_id)["estado"] == "listo"
    return run_id


def test_without_a_timetable_the_mode_is_disabled_with_its_reason(
    cov_app, db_url, tmp_path, monkeypatch
):
    mesa = login(cov_app.test_client(), cov_app, "mesa")
    page = html.unescape(mesa.get("/cobertura").get_data(as_text=True))
    assert 'value="transporte_publico" disabled' in page
    assert NO_TRANSIT_REASON in page
    assert _checked_mode(page) == "a_pie"
    refused = mesa.post(
        "/cobertura", data={"csrf": csrf(mesa), **FORM, "modo": "transporte_publico"}
    )
    assert refused.status_code == 302 and "corrida=" not in refused.headers["Location"]
    flashed = html.unescape(mesa.get("/cobertura").get_data(as_text=True))
    assert "no está disponible" in flashed and "no inventa horarios" in flashed
    with cov_app.extensions["revincula.db"]() as session:
        assert session.query(CoverageRun).count() == 0
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    cli = CliRunner().invoke(main, ["coverage", "--servicio", "posta", "--at", "2026-03-10 08:00",
                                    "--transporte-publico", "-o", str(tmp_path / "x")])  # fmt: skip
    assert cli.exit_code != 0 and "no está disponible" in cli.output
    assert not (tmp_path / "x").exists()


def test_with_a_bus_line_it_is_the_default_and_never_slower_than_walking(cov_app):
    _save_demo_lines(cov_app)
    mesa = login(cov_app.test_client(), cov_app, "mesa")
    page = mesa.get("/cobertura").get_data(as_text=True)
    assert _checked_mode(page) == "transporte_publico"
    # hospitals: the bus brings the cells along Castro - Dalcahue nearer to Castro's
    transit_id = _run(mesa, "transporte_publico", "hospital")
    foot_id = _run(mesa, "a_pie", "hospital")
    body = mesa.get(f"/api/cobertura/{transit_id}.json").get_json()
    assert body["modo"] == TRANSIT_LABEL
    labels = " ".join(body["etiquetas"])
    assert f"Modo: {TRANSIT_LABEL}" in labels
    assert "lineas-ingresadas (líneas ingresadas en Revincula)" in labels
    assumed = "Horario supuesto en las líneas de bus o colectivo Castro - Dalcahue (supuesto)"
    assert assumed in labels
    shown = mesa.get(f"/cobertura?corrida={transit_id}").get_data(as_text=True)
    assert "transporte público" in shown and TRANSIT_LABEL in html.unescape(shown)
    with cov_app.extensions["revincula.db"]() as session:
        transit = session.get(CoverageRun, transit_id)
        foot = session.get(CoverageRun, foot_id).result["celdas"]
        assert transit.params["modo"] == "transporte_publico" and transit.params["a_pie"]
        cells = transit.result["celdas"]
    assert cells.keys() == foot.keys()
    minutes = pd.DataFrame(
        {c: [cells[c][0], foot[c][0]] for c in cells}, index=["bus", "pie"]
    ).T.astype(float)
    assert not (minutes["bus"].fillna(1e6) > minutes["pie"].fillna(1e6)).any()
    assert (minutes["bus"].fillna(1e6) < minutes["pie"].fillna(1e6)).any()  # along the bus line
    # two runs of different modes are not compared
    compare = mesa.get(f"/cobertura/comparar?a={transit_id}&b={foot_id}")
    assert "mismo tipo de servicio, día, hora y modo" in compare.get_data(as_text=True)


def test_cli_transit_coverage_prints_its_mode(cov_app, db_url, tmp_path, monkeypatch):
    _save_demo_lines(cov_app)
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["coverage", "--servicio", "posta", "--at",
                                       "2026-03-10 08:00", "--transporte-publico",
                                       "-o", str(tmp_path / "t")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert TRANSIT_LABEL in result.output and "lineas-ingresadas" in result.output
    times = pd.read_csv(tmp_path / "t" / "tiempos.csv")
    assert (times.loc[times["minutos"].isna(), "motivo"].str.len() > 0).all()
    both = CliRunner().invoke(
        main, ["coverage", "--servicio", "posta", "--a-pie", "--transporte-publico"]
    )
    assert both.exit_code != 0 and "no los dos" in both.output
