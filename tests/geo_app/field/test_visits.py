"""Visit records through ``POST /api/visitas`` on SQLite and PostgreSQL.

Four synthetic cases imported through the real form; a published plan gives
two of them to the gestora «castro» (rows written directly: the planning job
itself is tested in tests/geo_app/planning).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import VisitRecord
from geo_app.store.models import utcnow
from geo_app.travel import app_model
from layers.visits import load_visit_rules
from tests.accounts import csrf
from tests.accounts import login
from tests.lists import HEADER
from tests.lists import SYNTHETIC_ROWS

GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,2
otro,Otro gestor (sintético),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,2
"""
DAY = dt.date(2026, 3, 9)


def field_app(db_url: str, rows: str, gestores_csv: str):
    """An app with the synthetic `rows` imported through the real form and the gestores saved."""
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    admin = login(app.test_client(), app)
    body = (HEADER + rows).encode()
    data = {"csrf": csrf(admin), "mes": "2026-08", "archivo": (io.BytesIO(body), "l.csv")}
    preview = admin.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    admin.post(f"/importar/{key}/confirmar", data={"csrf": csrf(admin), "solo_validas": "0"})
    gestores = read_gestores_csv(gestores_csv.encode(), app_model(app).find_place)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, gestores, synthetic=True)
    return app


@pytest.fixture
def app(db_url):
    app = field_app(db_url, "".join(SYNTHETIC_ROWS), GESTORES)
    yield app
    app.extensions["revincula.engine"].dispose()


def db(app):
    return app.extensions["revincula.db"]()


def case_ids(app) -> list[int]:
    with db(app) as session:
        return list(session.scalars(select(Case.id).order_by(Case.id)))


def publish(app, stops: dict[int, str]) -> int:
    """Publish a plan giving each case of `stops` to a gestor (archiving the previous one)."""
    with db(app) as session, session.begin():
        for old in session.scalars(select(PlanRow).where(PlanRow.status == "publicado")):
            old.status = "archivado"
        plan = PlanRow(week_start=DAY, status="publicado", job_state="listo", inputs={},
                       result={"dias": []}, published_at=utcnow(), synthetic=True)  # fmt: skip
        session.add(plan)
        session.flush()
        for seq, (case_id, gestor) in enumerate(stops.items()):
            start = dt.datetime.combine(DAY, dt.time(10 + seq))
            session.add(PlanStop(plan_id=plan.id, case_id=case_id, gestor_code=gestor,
                                 day=DAY, seq=seq, start_at=start))  # fmt: skip
        return plan.id


def record(case_id: int, **fields) -> dict:
    base = {
        "uuid": str(uuid.uuid4()),
        "caso": case_id,
        "cuenta": "gestora",
        "resultado": "nadie_en_casa",
        # 10:05 in Santiago on 9 March 2026 (summer time, UTC-3)
        "momento_dispositivo": "2026-03-09T13:05:00.000Z",
    }
    return base | fields


@pytest.fixture
def gestora(app):
    return login(app.test_client(), app, "gestor", username="gestora", gestor="castro")


def send(client, records):
    return client.post("/api/visitas", json=records, headers={"X-CSRF-Token": csrf(client)})


def test_a_batch_is_stored_once_per_uuid_and_bad_records_do_not_hold_it_up(app, gestora):
    first, second, third, _ = case_ids(app)
    publish(app, {first: "castro", second: "castro", third: "otro"})
    with db(app) as session:
        case = session.get(Case, first)
        near = {"lat": case.lat + 0.0002, "lon": case.lon, "precision": 12}
    good = [
        record(
            first,
            resultado="contacto_apoderado",
            contactado="madre",
            barreras=["economica", "sin_barco"],
            gps=near,
            derivacion={"tipo": "cesfam", "nombre": "CESFAM Castro"},
            acuerdo="Vuelve a clases el lunes",
            proximo_paso="Llamar al liceo",
            fecha_proximo="2026-03-16",
            nota="sintético",
        ),
        record(second),
    ]
    bad = [
        record(999999),
        record(third),  # never the gestora's
        record(first, resultado="se_fue_a_la_luna"),
        record(first, barreras=["economica", "mala_suerte"]),
        record(first, uuid="no-es-un-uuid"),
        record(first, gps={"lat": "x", "lon": 3}),
        record(first, gps=[1, 2]),
        record(first, cuenta="otra.cuenta"),
        "no es un objeto",
    ]
    answer = send(gestora, [bad[0], good[0], *bad[1:], good[1]]).get_json()
    states = [r["estado"] for r in answer["resultados"]]
    assert states == ["rechazado", "guardado", *["rechazado"] * 8, "guardado"]
    reasons = [r["motivo"] for r in answer["resultados"] if r["estado"] == "rechazado"]
    assert "no existe" in reasons[0] and "nunca estuvo en sus planes" in reasons[1]
    assert "no está en la lista" in reasons[2] and "mala_suerte" in reasons[3]
    assert "mal formado" in reasons[4] and "no es un número" in reasons[5]
    assert "no es un punto" in reasons[6] and "otra.cuenta" in reasons[7]
    assert answer["resultados"][5]["uuid"] == "no-es-un-uuid"
    assert (answer["guardados"], answer["rechazados"]) == (2, 9)

    again = send(gestora, good).get_json()
    assert [r["estado"] for r in again["resultados"]] == ["ya_estaba", "ya_estaba"]
    assert [r["uuid"] for r in again["resultados"]] == [r["uuid"] for r in good]
    with db(app) as session:
        rows = session.scalars(select(VisitRecord).order_by(VisitRecord.id)).all()
        assert len(rows) == 2
        visit = rows[0]
        assert visit.barriers == ["economica", "sin_barco"]
        assert visit.referral == {"tipo": "cesfam", "nombre": "CESFAM Castro"}
        assert visit.next_date == dt.date(2026, 3, 16) and visit.gestor_code == "castro"
        assert 15 < visit.distance_m < 30 and not visit.far and not visit.gps_poor
        assert visit.planned_at == dt.datetime(2026, 3, 9, 10, 0)
        assert visit.minutes_from_plan == 5.0  # 13:05 UTC is 10:05 in Santiago (UTC-3)
        assert visit.rules_version == load_visit_rules().version
        assert rows[1].distance_m is None and rows[1].lon is None
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target == "visitas")).all()
        assert [e.n_records for e in entries] == [2, 0]
        assert entries[0].case_ids == f"{first},{second}"


def test_flags_instead_of_refusals_far_point_bad_fix_future_clock(app, gestora):
    first, second, *_ = case_ids(app)
    publish(app, {first: "castro", second: "castro"})
    with db(app) as session:
        case = session.get(Case, first)
        lon, lat = case.lon, case.lat
    future = (utcnow() + dt.timedelta(days=2)).isoformat()
    answer = send(gestora, [
        record(first, gps={"lat": lat + 0.05, "lon": lon, "precision": 10}),  # ~5.6 km
        record(first, gps={"lat": lat, "lon": lon}),  # no accuracy
        record(first, gps={"lat": lat, "lon": lon, "precision": 2500}),
        record(second, momento_dispositivo=future),
    ]).get_json()  # fmt: skip
    assert [r["estado"] for r in answer["resultados"]] == ["guardado"] * 4
    assert "km del punto del caso" in answer["resultados"][0]["motivo"]
    assert "futuro" in answer["resultados"][3]["motivo"]
    with db(app) as session:
        far, no_acc, huge, ahead = session.scalars(select(VisitRecord).order_by(VisitRecord.id))
        assert far.far and 5000 < far.distance_m < 6000 and not far.gps_poor
        assert no_acc.gps_poor and huge.gps_poor and not huge.far
        assert ahead.future_clock and not far.future_clock
        assert ahead.received_at < ahead.device_at


def test_a_record_for_a_case_reassigned_meanwhile_is_kept_as_a_conflict(app, gestora):
    first, *_ = case_ids(app)
    publish(app, {first: "castro"})
    publish(app, {first: "otro"})  # reassigned before the phone got signal
    original = record(first, resultado="contacto_estudiante")
    answer = send(gestora, [original]).get_json()["resultados"][0]
    assert answer["estado"] == "guardado" and "reasignado" in answer["motivo"]
    fix = record(first, resultado="contacto_apoderado", corrige=original["uuid"])
    orphan = record(first, corrige=str(uuid.uuid4()))
    answers = send(gestora, [fix, orphan]).get_json()["resultados"]
    assert [a["estado"] for a in answers] == ["guardado", "rechazado"]
    assert "aún no tiene" in answers[1]["motivo"]
    with db(app) as session:
        rows = session.scalars(select(VisitRecord).order_by(VisitRecord.id)).all()
        assert [r.outcome for r in rows] == ["contacto_estudiante", "contacto_apoderado"]
        assert rows[1].corrects == original["uuid"] and rows[0].conflict


def test_the_api_refuses_what_is_not_a_list_and_asks_to_log_in(app, gestora):
    response = send(gestora, {"uuid": "x"})
    assert response.status_code == 400 and "lista" in response.get_json()["error"]
    response = gestora.post("/api/visitas", json=[])  # no CSRF token: not a confirmation
    assert response.status_code == 400
    anonymous = app.test_client()
    anonymous.get("/ingresar")
    response = anonymous.post("/api/visitas", json=[], headers={"X-CSRF-Token": csrf(anonymous)})
    assert response.status_code == 401 and "Inicie sesión" in response.get_json()["error"]
    mesa = login(app.test_client(), app, "mesa")
    assert send(mesa, []).status_code == 403
    taxonomy = gestora.get("/api/visitas/taxonomia").get_json()
    keys = {b["clave"] for b in taxonomy["barreras"]}
    assert {"sin_barco", "clima_mareas", "costo_cruce", "embarazo_parentalidad"} <= keys
    assert "nadie_en_casa" in {o["clave"] for o in taxonomy["resultados"]}


def test_the_day_page_shows_last_weeks_visit_as_earlier_not_as_done(app, gestora):
    """A case on this week's plan again: last week's record is «Visita anterior», not ✓."""
    first, *_ = case_ids(app)
    publish(app, {first: "castro"})
    assert send(gestora, [record(first)]).get_json()["guardados"] == 1  # 9 March, 10:05
    week_later = DAY + dt.timedelta(days=7)
    with db(app) as session, session.begin():
        for old in session.scalars(select(PlanRow).where(PlanRow.status == "publicado")):
            old.status = "archivado"
        case = session.get(Case, first)
        start = dt.datetime.combine(week_later, dt.time(11))
        stop = {"visita_id": str(first), "etiqueta": "caso sintético", "lat": case.lat,
                "lon": case.lon, "inicia": start.isoformat(), "llega": start.isoformat(),
                "sale": start.isoformat(), "tramos": []}  # fmt: skip
        day = {"gestor_id": "castro", "dia": week_later.isoformat(), "paradas": [stop],
               "regreso": []}  # fmt: skip
        plan = PlanRow(week_start=week_later, status="publicado", job_state="listo", inputs={},
                       result={"dias": [day]}, published_at=utcnow(), synthetic=True)  # fmt: skip
        session.add(plan)
        session.flush()
        session.add(PlanStop(plan_id=plan.id, case_id=first, gestor_code="castro",
                             day=week_later, seq=0, start_at=start))  # fmt: skip
    page = gestora.get(f"/terreno?dia={week_later.isoformat()}").get_data(as_text=True)
    assert "visit-done" not in page
    assert "Visita anterior, 09-03-2026" in page and "Nadie en casa" in page
    # this week's visit is the stop's own record, and the earlier one stays as context
    later = record(first, resultado="contacto_apoderado",
                   momento_dispositivo="2026-03-16T14:10:00.000Z")  # fmt: skip
    assert send(gestora, [later]).get_json()["guardados"] == 1
    page = gestora.get(f"/terreno?dia={week_later.isoformat()}").get_data(as_text=True)
    assert page.count('class="visit-done"') == 1 and later["uuid"] in page
    assert "Visita anterior, 09-03-2026" in page
