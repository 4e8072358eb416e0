"""Weekly plans through the app and the CLI, on SQLite and PostgreSQL.

Four synthetic cases (RUNs in the 90-million range) in Castro and on Isla
Quinchao (Curaco de Vélez, reached by the Dalcahue ferry); two synthetic
gestores. Every stored plan is replayed again and must be feasible.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import pytest
from click.testing import CliRunner

from geo_app import create_app
from geo_app import jobs
from geo_app.cli import main
from geo_app.planning import plans as app_plans
from geo_app.planning.gestores import GestorFileError
from geo_app.planning.gestores import gestor_of
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import GestorRow
from geo_app.store.models import PlanRow
from geo_app.travel import app_model
from routing.planning import Gestor
from routing.planning import Stay
from routing.planning import Visit
from routing.planning import simulate_day
from tests.accounts import csrf
from tests.accounts import login
from tests.lists import HEADER
from tests.lists import SYNTHETIC_ROWS

ROWS = "".join(SYNTHETIC_ROWS)
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,2
corto,Gestor de media hora (sintético),Castro,"lu",08:30,09:00,si,2
"""
MONDAY = dt.date(2026, 3, 9)
NAMES = ("Aurora", "Bruno", "Clara", "Diego")


@pytest.fixture
def app(db_url):
    # "today" is the plan week's Monday: a past week is refused (see test_plan_form_errors.py)
    config = {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url, "TODAY": MONDAY}
    app = create_app(config)
    yield app
    jobs.join_all()  # a plan job still running would hold a connection past the dispose
    app.extensions["revincula.engine"].dispose()


@pytest.fixture
def client(app):
    client = login(app.test_client(), app)
    token = csrf(client)
    data = {"csrf": token, "mes": "2026-08", "archivo": (io.BytesIO(ROWS_BYTES), "l.csv")}
    preview = client.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    done = client.post(f"/importar/{key}/confirmar", data={"csrf": token, "solo_validas": "0"})
    assert done.status_code == 302
    model = app_model(app)
    rows = read_gestores_csv(GESTORES.encode(), model.find_place)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, rows, synthetic=True)
    return client


ROWS_BYTES = (HEADER + ROWS).encode("utf-8")


def wait_done(client, plan_id: int, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/planes/{plan_id}/estado").get_json()
        if state["estado"] in {"listo", "fallido"}:
            return state
        time.sleep(0.2)
    msg = "el plan no terminó"
    raise AssertionError(msg)


def create(client, gestores=("castro",), seconds=1, **extra) -> int:
    response = client.post(
        "/planificacion",
        data={"csrf": csrf(client), "semana": MONDAY.isoformat(), "gestor": list(gestores),
              "casos": "50", "segundos": str(seconds), **extra},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def stored(app, plan_id: int) -> PlanRow:
    with app.extensions["revincula.db"]() as session:
        return session.get(PlanRow, plan_id)


def replay_all(app, plan: PlanRow) -> None:
    """Replay every stored day; it must be feasible and match the stored times."""
    model = app_model(app)
    gestores = {g["id"]: Gestor.from_dict(g) for g in plan.inputs["gestores"]}
    visits = {v["id"]: Visit.from_dict(v) for v in plan.inputs["visitas"]}
    stays = [Stay.from_dict(s) for s in plan.inputs.get("alojamientos", [])]
    for day in plan.result["dias"]:
        again = simulate_day(
            model,
            gestores[day["gestor_id"]],
            dt.date.fromisoformat(day["dia"]),
            [visits[s["visita_id"]] for s in day["paradas"]],
            stays=stays,
        )
        assert day["factible"] and again.feasible, again.problem
        assert again.end_at.isoformat() == day["fin"]


def test_plan_job_page_publish_and_the_gestors_day(app, client):
    plan_id = create(client)
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "Plan" in page
    assert wait_done(client, plan_id)["estado"] == "listo"
    plan = stored(app, plan_id)
    replay_all(app, plan)
    totals = plan.result["totales"]
    assert totals["visitas"] == 4  # 2 a day: Castro, and Quinchao across the Dalcahue ferry
    ferry_days = [d for d in plan.result["dias"] if d["totales"]["barcos"]]
    assert ferry_days and all("Dalcahue" in json.dumps(d) for d in ferry_days)
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "4</strong> visitas planificadas" in page
    assert all(name in page for name in NAMES)  # names for the people planning
    assert "red aproximada" in page and "sintético" in page
    geo = client.get(f"/api/planes/{plan_id}.geojson").get_data(as_text=True)
    assert '"barco"' in geo
    assert not any(name in geo for name in NAMES)  # map data carries case ids only
    response = client.post(
        f"/planificacion/{plan_id}/publicar", data={"csrf": csrf(client), "version": plan.version}
    )
    assert response.status_code == 302
    assert stored(app, plan_id).status == "publicado"
    day = ferry_days[0]["dia"]
    sheet = client.get(f"/terreno?gestor=castro&dia={day}").get_data(as_text=True)
    assert "Tome el barco" in sheet and "Abrir en navegación" in sheet
    assert "Clara" in sheet or "Diego" in sheet
    assert "Imprimir hoja del día" in sheet
    empty = client.get("/terreno?gestor=castro&dia=2026-03-15").get_data(as_text=True)
    assert "No hay visitas publicadas" in empty


def test_an_overnight_stay_from_the_plan_form_ends_one_day_and_starts_the_next(app, client):
    stay = {"aloja_gestor_1": "castro", "aloja_noche_1": MONDAY.isoformat(),
            "aloja_lugar_1": "Curaco de Vélez", "aloja_sale_1": "07:40"}  # fmt: skip
    plan_id = create(client, **stay)
    assert wait_done(client, plan_id)["estado"] == "listo"
    plan = stored(app, plan_id)
    assert plan.inputs["alojamientos"][0]["lugar"] == "Curaco de Vélez"
    replay_all(app, plan)  # with the stay: Monday ends there, Tuesday starts there
    days = {d["dia"]: d for d in plan.result["dias"]}
    monday, tuesday = days["2026-03-09"], days["2026-03-10"]
    assert monday["duerme_en"] == "Curaco de Vélez" and monday["sale_de"] is None
    assert tuesday["sale_de"] == "Curaco de Vélez" and tuesday["duerme_en"] is None
    assert tuesday["inicio"] == "2026-03-10T07:40:00"  # the hour given for that morning only
    assert all(d["inicio"].endswith("T08:30:00") for k, d in days.items() if k != "2026-03-10")
    assert "Dalcahue" in json.dumps(monday)  # the ferry to Quinchao on Monday
    assert "Dalcahue" in json.dumps(tuesday)  # and back to Castro on Tuesday
    assert plan.result["totales"]["visitas"] == 4
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "Alojamiento: Curaco de Vélez" in page and "sale de Curaco de Vélez" in page
    client.post(
        f"/planificacion/{plan_id}/publicar", data={"csrf": csrf(client), "version": plan.version}
    )
    sheet = client.get("/terreno?gestor=castro&dia=2026-03-09").get_data(as_text=True)
    assert "llega al alojamiento" in sheet and "Curaco de Vélez" in sheet
    sheet = client.get("/terreno?gestor=castro&dia=2026-03-10").get_data(as_text=True)
    assert "Sale de <strong>Curaco de Vélez</strong>" in sheet


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"aloja_gestor_1": "corto", "aloja_noche_1": "2026-03-09", "aloja_lugar_1": "Achao"},
         "fila 1: el gestor &#39;corto&#39; no está entre los gestores del plan"),
        ({"aloja_gestor_1": "castro", "aloja_noche_1": "2026-03-16", "aloja_lugar_1": "Achao"},
         "la noche 16-03-2026 no es de la semana del plan"),
        ({"aloja_gestor_1": "castro", "aloja_noche_1": "lunes", "aloja_lugar_1": "Achao"},
         "no es una fecha; use AAAA-MM-DD"),
        ({"aloja_gestor_1": "castro", "aloja_noche_1": "2026-03-09", "aloja_lugar_1": ""},
         "falta el lugar del alojamiento"),
        ({"aloja_gestor_1": "castro", "aloja_noche_1": "2026-03-09", "aloja_lugar_1": "Achao",
          "aloja_sale_1": "7 y media"}, "no es una hora; use HH:MM"),
    ],
)  # fmt: skip
def test_stay_rows_with_problems_create_no_plan(app, client, row, message):
    response = client.post(
        "/planificacion",
        data={"csrf": csrf(client), "semana": MONDAY.isoformat(), "gestor": ["castro"],
              "casos": "50", "segundos": "1", **row},
    )  # fmt: skip
    assert response.status_code == 400  # the form again, as typed, with the row at fault
    page = response.get_data(as_text=True)
    assert message in page and "No se creó el plan" in page
    assert 'class="stay-row field-error"' in page
    assert f'value="{row["aloja_noche_1"]}"' in page
    with app.extensions["revincula.db"]() as session:
        assert session.query(PlanRow).count() == 0


def test_a_stay_the_planner_refuses_fails_the_job_with_the_reason(app, client):
    # Friday night away, and nobody works on Saturday to come back
    friday = {"aloja_gestor_1": "castro", "aloja_noche_1": "2026-03-13",
              "aloja_lugar_1": "Achao"}  # fmt: skip
    plan_id = create(client, **friday)
    assert wait_done(client, plan_id)["estado"] == "fallido"
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "no trabaja en el plan el sábado 14-03" in page
    assert "RoutingInputError" not in page


def test_move_is_checked_by_replay_and_stale_forms_get_409(app, client):
    plan_id = create(client, gestores=("castro", "corto"))
    assert wait_done(client, plan_id)["estado"] == "listo"
    plan = stored(app, plan_id)
    assert {d["gestor_id"] for d in plan.result["dias"]} == {"castro"}  # 30 min fits no visit
    visit = plan.result["dias"][0]["paradas"][0]["visita_id"]
    refused = client.post(
        f"/planificacion/{plan_id}/mover",
        data={"csrf": csrf(client), "version": plan.version, "visita": visit,
              "destino": f"corto|{MONDAY.isoformat()}"},
        follow_redirects=True,
    )  # fmt: skip
    text = refused.get_data(as_text=True)
    assert "No cabe en ese día" in text and "fin de la jornada (09:00)" in text
    assert stored(app, plan_id).version == plan.version  # nothing saved
    moved = client.post(
        f"/planificacion/{plan_id}/mover",
        data={"csrf": csrf(client), "version": plan.version, "visita": visit,
              "destino": "sin_asignar"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Cambio guardado" in moved.get_data(as_text=True)
    after = stored(app, plan_id)
    assert after.version == plan.version + 1
    assert any(
        u["visita_id"] == visit and u["motivo"] == "retirada" for u in after.result["sin_asignar"]
    )
    replay_all(app, after)
    stale = client.post(
        f"/planificacion/{plan_id}/mover",
        data={"csrf": csrf(client), "version": plan.version, "visita": visit,
              "destino": f"castro|{MONDAY.isoformat()}"},
    )  # fmt: skip
    assert stale.status_code == 409
    assert "otra persona" in stale.get_data(as_text=True)
    back = client.post(
        f"/planificacion/{plan_id}/mover",
        data={"csrf": csrf(client), "version": after.version, "visita": visit,
              "destino": f"castro|{(MONDAY + dt.timedelta(days=3)).isoformat()}"},
    )  # fmt: skip
    assert back.status_code == 302
    replay_all(app, stored(app, plan_id))


def test_replan_from_the_plan_page_after_a_suspended_ferry(app, client):
    """The form pins an agreed visit, drops a done one and moves the island visits off the day
    the Dalcahue ferry does not run; the result is a new draft, computed as a background job."""
    plan_id = create(client)
    assert wait_done(client, plan_id)["estado"] == "listo"
    plan = stored(app, plan_id)
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "Re-planificar el resto de la semana" in page
    assert "Canal Dalcahue (Dalcahue - Isla Quinchao)" in page  # boat lines to choose from
    ferry_day = next(d for d in plan.result["dias"] if d["totales"]["barcos"])
    # the two Castro visits (Pid Pid, Gamboa) lie west of -73.65; Quinchao's east of it
    land = [(s["visita_id"], d["dia"]) for d in plan.result["dias"] for s in d["paradas"]
            if s["lon"] < -73.65]  # fmt: skip
    assert len(land) == 2
    (done, _), (agreed, agreed_day) = land
    form = {
        "csrf": csrf(client), "desde": MONDAY.isoformat(), "hecha": [done], "acordada": [agreed],
        "linea_1": "dalcahue-quinchao", "dia_1": ferry_day["dia"], "hora_1": "",
    }  # fmt: skip
    response = client.post(f"/planificacion/{plan_id}/replanificar", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    new_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    assert new_id != plan_id
    assert wait_done(client, new_id)["estado"] == "listo"
    new = stored(app, new_id)
    assert new.status == "borrador"
    replay_all(app, new)
    where = {s["visita_id"]: d["dia"] for d in new.result["dias"] for s in d["paradas"]}
    assert done not in where  # visited already: out of the pool
    assert where[agreed] == agreed_day  # agreed with the family: same day
    assert ferry_day["dia"] not in {d["dia"] for d in new.result["dias"] if d["totales"]["barcos"]}
    assert new.result["totales"]["visitas"] == 3  # both island visits on another day
    page = client.get(f"/planificacion/{new_id}").get_data(as_text=True)
    assert f"Re-planificado del plan {plan_id}" in page
    assert "Barco Canal Dalcahue (Dalcahue - Isla Quinchao): sin servicio todo el día" in page
    assert "Visitas ya hechas: 1." in page
    assert stored(app, plan_id).result == plan.result  # the source plan is untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"desde": ""}, "Elija desde qué día"),
        ({"desde": "2026-03-15"}, "no es un día de trabajo de la semana del plan"),
        ({"hecha": ["X"], "acordada": ["X"]}, "hecha y acordada a la vez: X"),
        ({"linea_1": "nada"}, "La línea &#39;nada&#39; no existe"),
        ({"linea_1": "dalcahue-quinchao", "dia_1": "2026-03-20"}, "de la semana del plan"),
        ({"linea_1": "dalcahue-quinchao", "dia_1": "2026-03-10", "hora_1": "8h"}, "HH:MM"),
        ({"ausente": "nadie|2026-03-10"}, "no está en este plan"),
    ],
)
def test_replan_form_problems_are_explained_and_nothing_is_created(app, client, change, message):
    plan_id = create(client)
    assert wait_done(client, plan_id)["estado"] == "listo"
    form = {"csrf": csrf(client), "desde": MONDAY.isoformat(), **change}
    response = client.post(f"/planificacion/{plan_id}/replanificar", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.extensions["revincula.db"]() as session:
        assert session.query(PlanRow).count() == 1


def test_a_failing_job_is_visible_keeps_nothing_and_can_be_retried(app, client, monkeypatch):
    def broken(*_args, **_kwargs):
        msg = "fallo inyectado a mitad del cálculo"
        raise RuntimeError(msg)

    monkeypatch.setattr(app_plans, "plan_week", broken)
    plan_id = create(client)
    assert wait_done(client, plan_id)["estado"] == "fallido"
    with app.extensions["revincula.db"]() as session:
        plan = session.get(PlanRow, plan_id)
        assert plan.result is None and not plan.stops
    page = client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    assert "El cálculo falló" in page and "fallo inyectado" in page
    monkeypatch.undo()
    retry = client.post(f"/planificacion/{plan_id}/reintentar", data={"csrf": csrf(client)})
    assert retry.status_code == 302
    assert wait_done(client, plan_id)["estado"] == "listo"
    replay_all(app, stored(app, plan_id))


def test_cli_plan_writes_files_and_publishes(app, client, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_TODAY", MONDAY.isoformat())
    gestores = tmp_path / "gestores.csv"
    gestores.write_text(GESTORES, encoding="utf-8")
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        main,
        ["plan", "--week", MONDAY.isoformat(), "--gestores", str(gestores), "--segundos", "1",
         "-o", str(out), "--publicar"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Visitas planificadas: 4" in result.output
    data = json.loads((out / "plan.json").read_text())
    assert data["totales"]["visitas"] == 4
    csv_text = (out / "plan.csv").read_text()
    assert "Dalcahue" in csv_text
    assert not any(name in csv_text + json.dumps(data) for name in NAMES)
    assert "Sin asignar" in (out / "resumen.txt").read_text() or data["totales"]["sin_asignar"] == 0
    with app.extensions["revincula.db"]() as session:
        plans = session.query(PlanRow).filter_by(status="publicado").all()
        assert len(plans) == 1
        replay_all(app, plans[0])
    # the Dalcahue ferry is suspended on the day the Quinchao visits were planned
    quinchao = [d for d in data["dias"] if d["totales"]["barcos"]]
    ferry_day = quinchao[0]["dia"]
    again = CliRunner().invoke(
        main,
        ["replan", str(plans[0].id), "--desde", MONDAY.isoformat(),
         "--suspension", f"dalcahue-quinchao:{ferry_day}", "--ausente", "corto:2026-03-09"],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "re-planificado desde 09-03-2026" in again.output
    with app.extensions["revincula.db"]() as session:
        new = session.query(PlanRow).filter_by(status="borrador").one()
        assert new.inputs["replanificar"]["de"] == plans[0].id
        days = {d["dia"]: d for d in new.result["dias"]}
        assert ferry_day not in days or not days[ferry_day]["totales"]["barcos"]
        assert new.result["totales"]["visitas"] == 4  # the island visits moved to another day
    unknown = CliRunner().invoke(
        main,
        ["replan", str(plans[0].id), "--desde", "2026-03-09", "--suspension", "nada:2026-03-09"],
    )
    assert unknown.exit_code == 1 and "no existe en el horario" in unknown.output
    stays = tmp_path / "alojamientos.csv"
    stays.write_text("gestor,noche,lugar,sale\ncastro,2026-03-11,Achao,07:45\n", encoding="utf-8")
    away = CliRunner().invoke(
        main,
        ["plan", "--week", MONDAY.isoformat(), "--gestores", str(gestores), "--segundos", "1",
         "--alojamientos", str(stays), "-o", str(tmp_path / "fuera")],
    )  # fmt: skip
    assert away.exit_code == 0, away.output
    days = {d["dia"]: d for d in json.loads((tmp_path / "fuera" / "plan.json").read_text())["dias"]}
    assert days["2026-03-11"]["duerme_en"] == "Achao" and days["2026-03-12"]["sale_de"] == "Achao"
    assert days["2026-03-12"]["inicio"] == "2026-03-12T07:45:00"
    stays.write_text("gestor,noche,lugar\nnadie,2026-03-11,Achao\ncastro,miércoles,Achao\n")
    wrong = CliRunner().invoke(
        main,
        ["plan", "--week", MONDAY.isoformat(), "--gestores", str(gestores),
         "--alojamientos", str(stays)],
    )  # fmt: skip
    assert wrong.exit_code == 1
    assert "Archivo de alojamientos con problemas" in wrong.output
    assert "fila 2: el gestor 'nadie' no está" in wrong.output
    assert "fila 3: la noche 'miércoles' no es una fecha" in wrong.output
    bad = tmp_path / "malo.csv"
    bad.write_text("codigo,nombre\nx,y\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["plan", "--week", MONDAY.isoformat(), "--gestores", str(bad)]
    )
    assert result.exit_code == 1
    assert "Faltan columnas en el archivo de gestores: base" in result.output


def test_gestores_file_problems_are_listed_together(app):
    model = app_model(app)
    text = (
        "codigo,nombre,base,dias,inicio,fin\n"
        "a,Uno,Castro,lu,09:00,08:00\n"
        "b,Dos,Castro,lunes,08:00,17:00\n"
        "a,Tres,Castro,lu,08:00,17:00\n"
    )
    with pytest.raises(GestorFileError) as err:
        read_gestores_csv(text.encode(), model.find_place)
    message = str(err.value)
    assert "fila 2: `inicio` 09:00 debe ser antes de `fin` 08:00" in message
    assert "fila 3: días desconocidos ['lunes']" in message
    assert "el código 'a' se repite" in message
    row = GestorRow(**read_gestores_csv(GESTORES.encode(), model.find_place)[0])
    assert gestor_of(row).weekdays == frozenset(range(5))


def test_cli_vrptw_ends_with_the_checked_result(tmp_path):
    from tests.routing.test_vrptw import TINY

    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    result = CliRunner().invoke(main, ["vrptw", str(path), "--seconds", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "vehicles=2 distance=100.00"
    assert "factible (verificado)" in result.output
