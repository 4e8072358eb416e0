"""The case workflow the visits move, and what the next plan learns, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from geo_app.planning.plans import candidate_visits
from geo_app.planning.service import recorded_visits
from geo_app.store.models import Case
from geo_app.store.models import PlanRow
from geo_app.store.models import StageChange
from geo_app.store.models import utcnow
from layers.workflow import load_workflow
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.field.test_visits import app  # noqa: F401 - fixture
from tests.geo_app.field.test_visits import case_ids
from tests.geo_app.field.test_visits import db
from tests.geo_app.field.test_visits import gestora  # noqa: F401 - fixture
from tests.geo_app.field.test_visits import publish
from tests.geo_app.field.test_visits import record
from tests.geo_app.field.test_visits import send
from tests.lists import HEADER
from tests.lists import SYNTHETIC_ROWS


def case(app, case_id) -> Case:  # noqa: F811 - app is the fixture's value
    with db(app) as session:
        return session.get(Case, case_id)


def proposals(app, case_id) -> list[StageChange]:  # noqa: F811
    with db(app) as session:
        query = select(StageChange).where(StageChange.case_id == case_id).order_by(StageChange.id)
        return list(session.scalars(query))


def stage_form(client, case_id, **fields):
    version = case(client.application, case_id).version
    data = {"csrf": csrf(client), "version": str(version), **fields}
    return client.post(f"/casos/{case_id}/etapa", data=data)


def test_visits_propose_stages_the_profesional_confirms_corrects_and_closes(app, gestora):  # noqa: F811
    first, second, *_ = case_ids(app)
    publish(app, {first: "castro", second: "castro"})
    send(gestora, [record(first, resultado="nadie_en_casa")])
    assert proposals(app, first) == []  # no contact: the stage does not move
    send(gestora, [record(first, resultado="contacto_apoderado", barreras=["trabajo"],
                          derivacion={"tipo": "cesfam", "nombre": ""})])  # fmt: skip
    (proposal,) = proposals(app, first)
    assert (proposal.from_stage, proposal.proposed_stage, proposal.status) == (
        "alerta", "accion", "propuesta",
    )  # fmt: skip
    assert case(app, first).stage == "alerta"  # nothing moves before the profesional decides

    profesional = login(app.test_client(), app, "profesional")
    page = profesional.get(f"/casos/{first}").get_data(as_text=True)
    assert "Propuesta (visita)" in page and "Visita: Contacto con apoderado" in page
    assert "derivación: cesfam" in page
    assert login(app.test_client(), app, "gestor", username="gestora").post(
        f"/casos/{first}/etapa", data={"csrf": "x"}
    ).status_code in (400, 403)
    stale = profesional.post(f"/casos/{first}/etapa", data={
        "csrf": csrf(profesional), "version": "999", "accion": "confirmar",
        "propuesta": str(proposal.id)})  # fmt: skip
    assert stale.status_code == 409
    # a correction: the profesional confirms «diagnóstico» instead of the proposed «acción»
    done = stage_form(profesional, first, accion="confirmar", propuesta=str(proposal.id),
                      etapa="diagnostico")  # fmt: skip
    assert done.status_code == 302
    assert case(app, first).stage == "diagnostico"
    (decided,) = proposals(app, first)
    assert (decided.status, decided.to_stage, decided.proposed_stage) == (
        "confirmada", "diagnostico", "accion",
    )  # fmt: skip
    assert "corrige la propuesta" in profesional.get(f"/casos/{first}").get_data(as_text=True)

    # closing: «revinculado y estable» needs 3 months of follow-up; another reason closes
    refused = stage_form(profesional, first, accion="mover", etapa="cerrado",
                         motivo="revinculado_estable")  # fmt: skip
    assert refused.status_code == 400 and "3 meses" in refused.get_data(as_text=True)
    no_reason = stage_form(profesional, first, accion="mover", etapa="cerrado")
    assert no_reason.status_code == 400
    assert stage_form(profesional, first, accion="mover", etapa="cerrado",
                      motivo="fuera_del_territorio").status_code == 302  # fmt: skip
    closed = case(app, first)
    assert closed.stage == "cerrado" and closed.closed_reason == "fuera_del_territorio"
    # a record made before the closing still arrives: stored, shown as a conflict
    late = send(gestora, [record(first, resultado="contacto_estudiante")]).get_json()
    assert late["resultados"][0]["estado"] == "guardado"
    assert "cerrado" in late["resultados"][0]["motivo"]
    assert "conflicto" in profesional.get(f"/casos/{first}").get_data(as_text=True)
    # ... and a closed case is out of the next plan
    with db(app) as session:
        assert str(first) not in {v.id for v in candidate_visits(session)}


def test_late_flags_deadlines_as_settings_and_the_list_filters(app):  # noqa: F811
    first, second, *_ = case_ids(app)
    with db(app) as session, session.begin():
        session.get(Case, first).stage_since = utcnow() - dt.timedelta(days=30)  # alerta: 7 days
        late = session.get(Case, second)
        late.stage, late.stage_since = "contacto", utcnow() - dt.timedelta(days=3)
    admin = login(app.test_client(), app)

    def listed(query: str) -> set[int]:
        body = admin.get(f"/casos?{query}").get_data(as_text=True)
        return {i for i in case_ids(app) if f'href="/casos/{i}"' in body}

    assert listed("atrasado=si") == {first}
    assert listed("etapa=contacto") == {second}
    assert listed("etapa=contacto&atrasado=si") == set()
    app.config["CASE_STAGE_DAYS"] = {"alerta": 60, "contacto": 2}
    assert listed("atrasado=si") == {second}
    page = admin.get(f"/casos/{second}").get_data(as_text=True)
    assert "atrasado" in page and "Contacto" in page


def test_outcomes_feed_the_location_and_the_next_plan(app, gestora):  # noqa: F811
    first, second, third, fourth = case_ids(app)
    publish(app, {first: "castro", second: "castro", third: "castro", fourth: "castro"})
    before = case(app, second)
    send(gestora, [
        record(first, resultado="direccion_erronea"),
        record(second, resultado="contacto_estudiante",
               gps={"lat": before.lat + 0.001, "lon": before.lon, "precision": 8}),
        record(third, resultado="contacto_estudiante",
               gps={"lat": 0.5 + case(app, third).lat, "lon": case(app, third).lon,
                    "precision": 900}),
        # nobody home at 10:05 in Santiago: try again in the afternoon
        record(fourth, resultado="nadie_en_casa"),
    ])  # fmt: skip
    assert case(app, first).location_doubtful
    moved = case(app, second)
    assert moved.geocode_method == "gps" and abs(moved.lat - (before.lat + 0.001)) < 1e-9
    assert moved.located_by == "gestora"
    assert case(app, third).geocode_method != "gps"  # a poor fix never moves the point
    with db(app) as session:
        visits = {v.id: v for v in candidate_visits(session)}
    assert str(first) not in visits  # doubtful location: out until someone places it again
    split = load_workflow().retry_split
    assert visits[str(fourth)].window == (split, dt.time(17, 30))
    assert "reintentar" in visits[str(fourth)].label
    assert visits[str(second)].window is None

    admin = login(app.test_client(), app)
    listed = admin.get("/casos?ubicacion_dudosa=si").get_data(as_text=True)
    assert f'href="/casos/{first}"' in listed and f'href="/casos/{second}"' not in listed
    # the profesional undoes the GPS point: the previous point comes back (5 decimals)
    undo = admin.post(f"/casos/{second}/ubicacion/deshacer-gps",
                      data={"csrf": csrf(admin), "version": str(moved.version)})  # fmt: skip
    assert undo.status_code == 302
    back = case(app, second)
    assert back.geocode_method == before.geocode_method
    assert abs(back.lat - before.lat) < 1e-5 and abs(back.lon - before.lon) < 1e-5


def test_a_reimport_showing_attendance_proposes_revinculado(app):  # noqa: F811
    first, *_ = case_ids(app)
    with db(app) as session, session.begin():
        session.get(Case, first).stage = "accion"
    admin = login(app.test_client(), app)
    row = SYNTHETIC_ROWS[0].replace(";40;", ";95;")
    data = {"csrf": csrf(admin), "mes": "2026-09",
            "archivo": (io.BytesIO((HEADER + row).encode()), "septiembre.csv")}  # fmt: skip
    preview = admin.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    done = admin.post(f"/importar/{key}/confirmar", data={"csrf": csrf(admin), "solo_validas": "0"})
    assert done.status_code == 302
    (proposal,) = proposals(app, first)
    assert (proposal.proposed_stage, proposal.source) == ("revinculado", "importacion")
    assert "95" in proposal.note


def test_the_replan_form_marks_as_done_the_stops_with_a_record(app, gestora):  # noqa: F811
    first, second, *_ = case_ids(app)
    plan_id = publish(app, {first: "castro", second: "castro"})
    with db(app) as session, session.begin():
        plan = session.get(PlanRow, plan_id)
        plan.inputs = {"visitas": [{"id": str(first)}, {"id": str(second)}]}
    # 13:05 UTC on Monday 9 March 2026 is in the plan's week (Santiago time)
    send(gestora, [record(first, resultado="nadie_en_casa")])
    send(gestora, [record(second, momento_dispositivo="2026-03-01T13:00:00Z")])  # the week before
    with db(app) as session:
        done = recorded_visits(session, session.get(PlanRow, plan_id))
    assert done == {str(first): "Nadie en casa"}
