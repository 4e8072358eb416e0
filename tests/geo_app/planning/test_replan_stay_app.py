"""Re-planning after the boat back from a stay is cancelled, through the app (issue 17 item 13).

The case: Gestora Castro sleeps on Isla Quinchao (Curaco de Vélez) on Monday
and the Dalcahue ferry does not sail on Tuesday. The re-plan from Tuesday must
not fail: she stays a second night, with the reason, and comes back on
Wednesday; the other gestor keeps a plan. Synthetic cases and gestores.
"""

from __future__ import annotations

import datetime as dt

from geo_app.planning.plans import ReplanRequest
from geo_app.planning.plans import create_replan
from geo_app.planning.plans import run_plan
from geo_app.store.models import PlanRow
from geo_app.travel import app_model
from routing.boats import Suspension
from tests.accounts import csrf
from tests.geo_app.planning.test_planning_app import MONDAY
from tests.geo_app.planning.test_planning_app import app  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import client  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import create
from tests.geo_app.planning.test_planning_app import replay_all
from tests.geo_app.planning.test_planning_app import stored
from tests.geo_app.planning.test_planning_app import wait_done

TUESDAY = MONDAY + dt.timedelta(days=1)
STAY = {"aloja_gestor_1": "castro", "aloja_noche_1": MONDAY.isoformat(),
        "aloja_lugar_1": "Curaco de Vélez", "aloja_sale_1": "07:40"}  # fmt: skip


def planned_with_stay(client) -> int:  # noqa: F811
    plan_id = create(client, gestores=("castro", "corto"), **STAY)
    assert wait_done(client, plan_id)["estado"] == "listo"
    return plan_id


def check_extended(app, new: PlanRow) -> None:  # noqa: F811
    assert new.job_state == "listo", new.error
    nights = [(s["gestor_id"], s["noche"], s["lugar"]) for s in new.inputs["alojamientos"]]
    assert nights == [
        ("castro", "2026-03-09", "Curaco de Vélez"),
        ("castro", "2026-03-10", "Curaco de Vélez"),
    ]
    (note,) = new.result["avisos"]
    assert note.startswith("Gestora Castro (sintética) sigue en Curaco de Vélez (el martes 10-03")
    assert "se planifica también la noche del martes 10-03 allí" in note
    days = {(d["gestor_id"], d["dia"]): d for d in new.result["dias"]}
    assert days[("castro", "2026-03-11")]["sale_de"] == "Curaco de Vélez"
    tuesday = days.get(("castro", "2026-03-10"))
    assert tuesday is None or tuesday["duerme_en"] == "Curaco de Vélez"
    assert all(d["factible"] for d in new.result["dias"])
    replay_all(app, new)


def test_the_service_extends_the_stay_instead_of_failing(app, client):  # noqa: F811
    plan_id = planned_with_stay(client)
    request = ReplanRequest(TUESDAY, suspensions=(Suspension.on_day("dalcahue-quinchao", TUESDAY),))
    sessions = app.extensions["revincula.db"]
    with sessions() as session, session.begin():
        new_id = create_replan(session, session.get(PlanRow, plan_id), request, actor="t").id
    run_plan(sessions, app_model(app), new_id)
    check_extended(app, stored(app, new_id))


def test_the_web_form_re_plan_shows_the_extended_stay(app, client):  # noqa: F811
    plan_id = planned_with_stay(client)
    form = {"csrf": csrf(client), "desde": TUESDAY.isoformat(),
            "linea_1": "dalcahue-quinchao", "dia_1": TUESDAY.isoformat(), "hora_1": ""}  # fmt: skip
    response = client.post(f"/planificacion/{plan_id}/replanificar", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    new_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    assert wait_done(client, new_id)["estado"] == "listo"
    check_extended(app, stored(app, new_id))
    page = client.get(f"/planificacion/{new_id}").get_data(as_text=True)
    assert "El cálculo falló" not in page
    assert "Cambios del re-plan" in page and "sigue en Curaco de Vélez" in page
