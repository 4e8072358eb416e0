"""/cobertura: the same-day round trip and the week per island, places lacking several
services with protected counts, and a what-if boat departure saved in a scenario.

CESFAM on foot, Monday 2026-03-09 07:00: from Isla Alao the CESFAM of Achao is reached
(the lancha Alao → Achao sails 07:30 on Monday, Wednesday and Friday) but the only boat
back (Achao → Alao, 14:00) has sailed when the hour there ends, so no Alao cell has a
same-day round trip; an added 17:00 sailing Achao → Alao brings some home (worked out
with `layers.coverage.Coverage.round_trip`; the layer's hand-built cases are in
tests/layers/test_coverage_trips.py). Synthetic cases (see conftest); SQLite and PostgreSQL.
"""

from __future__ import annotations

from geo_app.store.models import CoverageRun
from geo_app.store.models import CoverageScenario
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.coverage.conftest import run_id_of
from tests.geo_app.coverage.conftest import wait_run

FORM = {"tipo": "cesfam", "fecha": "2026-03-09", "hora": "07:00", "modo": "a_pie", "umbral": "60"}
K = 10
SAILING = {"salida_tramo": "achao-alao|Achao", "salida_hora": "17:00", "salida_dias": "lu,mi,vi"}


def _count(app, model) -> int:
    with app.extensions["revincula.db"]() as session:
        return session.query(model).count()


def _island_totals(body: dict) -> dict[str, dict[str, str]]:
    """The published island table's row totals of the last layer, per value."""
    layer = body["capas"][-1]
    out: dict[str, dict[str, str]] = {}
    for table in body["tablas"]:
        if table["tabla"] == "isla" and table["capa"] == layer:
            total = table["columns"].index("Total")
            for row in table["rows"]:
                out.setdefault(row["label"], {})[table["valor"]] = row["cells"][total]
    return out


def test_round_trip_week_multi_gaps_and_an_added_sailing(cov_app):
    mesa = login(cov_app.test_client(), cov_app, "mesa")
    staff = login(cov_app.test_client(), cov_app, "profesional")
    run_id = run_id_of(mesa.post("/cobertura", data={"csrf": csrf(mesa), **FORM}))
    assert wait_run(mesa, run_id)["estado"] == "listo"

    # -- the round trip and the week, per island (places: the same for every role)
    exact = staff.get(f"/api/cobertura/{run_id}.json").get_json()
    rows = {r["place"]: r for r in exact["ida_vuelta"]}
    alao = rows["Isla Alao"]
    assert alao["same_day"] == 0 and alao["same_day_before"] is None
    assert alao["no_return"]  # the commonest reason of its cells
    lemuy = rows["Isla Lemuy"]  # a daily ferry and a CESFAM of its own: home early
    assert lemuy["same_day"] > 0 and lemuy["home"] < "12:00"
    for row in exact["ida_vuelta"]:
        assert 0 <= row["same_day"] <= row["cells"]
        if row["days_reached"]:
            assert row["best"] <= (row["typical"] if row["typical"] is not None else 10**6)
            assert row["best_day"] in exact["dias_semana"] and row["worst_day"]
        if row["minutes"] is None:  # unreachable at the departure: always with its reason
            assert row["reason"]
    assert exact["dias_semana"] == ["lunes", "martes", "miércoles", "jueves", "viernes"]
    page = mesa.get(f"/cobertura?corrida={run_id}").get_data(as_text=True)
    assert 'id="trips"' in page and "Ida y vuelta en el día" in page and "Regreso típico" in page
    assert 'id="multi-gaps"' in page and "Lugares sin varios servicios a la vez" in page
    cells = mesa.get(f"/api/cobertura/{run_id}/celdas.geojson").get_json()["features"]
    props = [f["properties"] for f in cells if f["properties"]["isla"] == "Isla Alao"]
    assert props and all(p["ida_vuelta"].startswith("no:") for p in props)
    assert any("no hay barco de vuelta a tiempo" in p["ida_vuelta"] for p in props)
    assert all(p["semana"] for p in props)

    # -- places lacking several services: counts are the published island totals
    for body in (exact, mesa.get(f"/api/cobertura/{run_id}.json").get_json()):
        gaps = body["carencias"]
        assert gaps["umbral"] == 60 and gaps["rows"]
        assert "OLN u OPD (protección de la niñez)" in gaps["sin_servicios"]  # no location
        totals = _island_totals(body)
        for row in gaps["rows"]:
            assert 2 <= row["lacking"] <= row["of"] == len(gaps["tipos"])
            for value in ("cases", "enrolment", "population"):
                assert row[value] == totals.get(row["place"], {}).get(value, "0")
                if not body["exactas"]:
                    assert row[value] in {"<10", "0"} or int(row[value]) >= K
    mesa_gaps = mesa.get(f"/api/cobertura/{run_id}.json").get_json()["carencias"]["rows"]
    assert not any(r["place"] == "Isla Alao" for r in mesa_gaps)  # grouped for the mesa
    assert [(-r["lacking"], r["place"]) for r in mesa_gaps] == sorted(
        (-r["lacking"], r["place"]) for r in mesa_gaps
    )  # the mesa's order reveals no count

    # -- bad sailings are refused in Spanish and nothing is stored
    runs, scenarios = _count(cov_app, CoverageRun), _count(cov_app, CoverageScenario)
    for bad, message in (
        ({**SAILING, "salida_hora": "17h"}, "la hora «17h» no es válida; use HH:MM"),
        ({**SAILING, "salida_tramo": "achao-alao|Chonchi"}, "no sale de «Chonchi»"),
        ({**SAILING, "salida_tramo": ""}, "no el tramo"),
        ({"agregar": "-42.62,-73.55", "abre": "8", "cierra": "12:00"}, "deben ser HH:MM"),
    ):
        data = {"csrf": csrf(mesa), "nombre_escenario": "no se guarda", **bad}
        response = mesa.post(f"/cobertura/{run_id}/escenario", data=data, follow_redirects=True)
        assert message in response.get_data(as_text=True), message
    assert (_count(cov_app, CoverageRun), _count(cov_app, CoverageScenario)) == (runs, scenarios)

    # -- the added sailing, saved in a named scenario: before and after side by side
    data = {"csrf": csrf(mesa), **SAILING, "nombre_escenario": "Lancha de tarde a Alao"}
    new_id = run_id_of(mesa.post(f"/cobertura/{run_id}/escenario", data=data))
    assert wait_run(mesa, new_id)["estado"] == "listo"
    after = staff.get(f"/api/cobertura/{new_id}.json").get_json()
    assert after["capas"] == ["antes", "después"]
    assert after["escenario"]["add_departures"] == [
        {"line_id": "achao-alao", "origin": "Achao", "at": "17:00", "days": "lu,mi,vi"}
    ]
    alao = {r["place"]: r for r in after["ida_vuelta"]}["Isla Alao"]
    assert alao["same_day_before"] == 0 < alao["same_day"]
    assert alao["home"] > "18:00"  # the 17:00 sailing and its crossing
    assert any(label.startswith("Salida de barco hipotética") and "achao-alao" in label
               for label in after["etiquetas"])  # fmt: skip
    assert not any("hipotética" in label for label in exact["etiquetas"])
    with cov_app.extensions["revincula.db"]() as session:
        saved = session.query(CoverageScenario).filter_by(name="Lancha de tarde a Alao").one()
        assert saved.spec["add_departures"][0]["at"] == "17:00"
    page = mesa.get(f"/cobertura?corrida={new_id}").get_data(as_text=True)
    assert "Salida de barco agregada: línea achao-alao desde Achao a las 17:00" in page
    assert "(antes → después)" in page
    # the mesa sees Alao inside «Islas menores de Quinchao», which gains the same cells
    mesa_rows = {r["place"]: r for r in mesa.get(f"/api/cobertura/{new_id}.json").get_json()[
        "ida_vuelta"]}  # fmt: skip
    grouped = mesa_rows["Islas menores de Quinchao"]
    assert grouped["same_day"] - grouped["same_day_before"] == alao["same_day"]
