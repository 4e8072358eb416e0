"""A visit's good GPS fix proposes its sector's point; a profesional accepts or discards it.

SQLite and PostgreSQL. Synthetic cases (RUNs 90.000.001–90.000.005) imported
through the real form: two name the sector «Pid Pid» (Castro), the gestora
«castro» visits the first. Points are chosen near the real sector, offsets
by hand: 0.002° of latitude ≈ 222 m.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from geo_app.cases.context import case_context
from geo_app.places.service import PENDING
from geo_app.places.service import VISIT_SOURCE
from geo_app.places.stored import current_gazetteer
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import GazetteerRow
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import Student
from geo_app.store.models import utcnow
from layers.gazetteer import GOOD_GPS_M
from layers.visits import load_visit_rules
from layers.visits import proposes_place
from tests.accounts import csrf
from tests.accounts import login
from tests.geo_app.field.test_visits import field_app
from tests.lists import SYNTHETIC_ROWS

PID_2 = "90.000.005-7;Eva;Sintética Cinco;01/06/2011;8001;8° básico;45;Pid Pid casa 4;Castro\r\n"
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,4
"""
DAY = dt.date(2026, 3, 9)


@pytest.fixture
def app(db_url):
    app = field_app(db_url, "".join(SYNTHETIC_ROWS) + PID_2, GESTORES)
    yield app
    app.extensions["revincula.engine"].dispose()


def db(app):
    return app.extensions["revincula.db"]()


def case_by_run(app, run: int) -> Case:
    with db(app) as session:
        case = session.scalar(select(Case).join(Student).where(Student.run == run))
        session.expunge(case)
        return case


def publish(app, case_ids: list[int]) -> None:
    with db(app) as session, session.begin():
        plan = PlanRow(week_start=DAY, status="publicado", job_state="listo", inputs={},
                       result={"dias": []}, published_at=utcnow(), synthetic=True)  # fmt: skip
        session.add(plan)
        session.flush()
        for seq, case_id in enumerate(case_ids):
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    case_id=case_id,
                    gestor_code="castro",
                    day=DAY,
                    seq=seq,
                    start_at=dt.datetime.combine(DAY, dt.time(10 + seq)),
                )
            )


def visit(case_id: int, lat: float, lon: float, precision: float | None, **fields) -> dict:
    gps = {"lat": lat, "lon": lon} | ({"precision": precision} if precision is not None else {})
    return {
        "uuid": str(uuid.uuid4()), "caso": case_id, "cuenta": "gestora",
        "resultado": "contacto_apoderado", "momento_dispositivo": "2026-03-09T13:05:00.000Z",
        "gps": gps,
    } | fields  # fmt: skip


def send(client, records):
    response = client.post("/api/visitas", json=records, headers={"X-CSRF-Token": csrf(client)})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["resultados"]


def team_rows(app) -> list[GazetteerRow]:
    with db(app) as session:
        rows = session.scalars(select(GazetteerRow).order_by(GazetteerRow.id)).all()
        session.expunge_all()
        return rows


@pytest.fixture
def visited(app):
    """The two «Pid Pid» cases; the first in the gestora's published plan."""
    first, second = case_by_run(app, 90000001), case_by_run(app, 90000005)
    assert "Pid Pid" in first.address and "Pid Pid" in second.address
    publish(app, [first.id])
    gestora = login(app.test_client(), app, "gestor", username="gestora", gestor="castro")
    return gestora, first, second


def test_the_rule_needs_contact_at_the_home_and_a_good_fix():
    rules = load_visit_rules()
    assert proposes_place(rules, "contacto_apoderado", -73.7, GOOD_GPS_M)
    assert not proposes_place(rules, "contacto_apoderado", -73.7, GOOD_GPS_M + 0.5)
    assert not proposes_place(rules, "contacto_apoderado", -73.7, None)  # accuracy unknown
    assert not proposes_place(rules, "contacto_apoderado", None, 5)  # no point
    assert not proposes_place(rules, "nadie_en_casa", -73.7, 5)  # nobody met: maybe not the home
    assert not proposes_place(rules, "se_mudo", -73.7, 5)  # the family lives elsewhere
    assert not proposes_place(rules, "direccion_erronea", -73.7, 5)
    assert not proposes_place(rules, "no_existe", -73.7, 5)


def test_a_good_visit_fix_leaves_a_pending_entry_the_geocoder_does_not_use(app, visited):
    gestora, first, _ = visited
    lat, lon = first.lat + 0.002, first.lon
    answers = send(gestora, [
        visit(first.id, first.lat, first.lon, 150),  # poor fix: nothing proposed
        visit(first.id, first.lat, first.lon, 8, resultado="nadie_en_casa"),  # no contact
        visit(first.id, lat, lon, 12),
    ])  # fmt: skip
    assert [a["estado"] for a in answers] == ["guardado"] * 3
    assert "propuesto" not in answers[0]["motivo"] and "propuesto" not in answers[1]["motivo"]
    assert "punto del sector Pid Pid propuesto para revisión" in answers[2]["motivo"]
    (row,) = team_rows(app)
    assert (row.kind, row.origin, row.source) == (PENDING, "visita", VISIT_SOURCE)
    assert (row.name, row.comuna, row.case_id, row.created_by) == ("Pid Pid", "Castro", first.id,
                                                                   "gestora")  # fmt: skip
    assert (row.lat, row.lon, row.accuracy_m) == pytest.approx((lat, lon, 12.0))
    assert row.created_at is not None and not row.retired
    with db(app) as session:
        gazetteer = current_gazetteer(session, case_context(app))
        assert f"pendiente {row.id}" not in {e.ref for e in gazetteer.entries}
        assert not any(e.family == "confirmado" for e in gazetteer.entries)
    # a second good visit to the same home does not propose the sector twice
    assert "propuesto" not in send(gestora, [visit(first.id, lat, lon, 6)])[0]["motivo"]
    assert len(team_rows(app)) == 1


def test_accepting_fixes_the_sector_for_every_case_naming_it(app, visited):
    gestora, first, second = visited
    lat, lon = first.lat + 0.002, first.lon
    send(gestora, [visit(first.id, lat, lon, 12)])
    (row,) = team_rows(app)
    profesional = login(app.test_client(), app, "profesional", username="prof")
    page = profesional.get("/lugares").get_data(as_text=True)
    assert 'id="pending-rows"' in page and "gps de visita" in page
    assert "Aceptar" in page and "Descartar" in page and f"caso {first.id}" in page
    assert (
        gestora.post(
            f"/lugares/propuesta/{row.id}",
            data={"csrf": csrf(gestora), "decision": "aceptar", "version": row.version},
        ).status_code
        == 403
    )
    response = profesional.post(f"/lugares/propuesta/{row.id}", data={
        "csrf": csrf(profesional), "decision": "aceptar", "version": row.version,
    }, follow_redirects=True)  # fmt: skip
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "aceptada: 1 caso reubicado" in text
    (accepted,) = team_rows(app)
    assert (accepted.kind, accepted.origin, accepted.source) == ("confirmado", "visita",
                                                                 VISIT_SOURCE)  # fmt: skip
    assert accepted.created_by == "gestora" and "aceptado por prof" in accepted.note
    moved = case_by_run(app, 90000005)
    assert (moved.lat, moved.lon) == pytest.approx((lat, lon))
    assert f"confirmado {row.id}" in moved.geocode_source.split("; ")
    kept = case_by_run(app, 90000001)  # the visited home keeps its own GPS point
    assert kept.geocode_method == "gps" and kept.lat == pytest.approx(lat)
    with db(app) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target == "nomenclator")).all()
        assert [(a.username, a.target_id, a.case_ids) for a in audit] == [
            ("prof", f"propuesta {row.id}", str(second.id))
        ]
        assert "aceptada" in audit[0].detail
    # reviewed once: a second click (an old page) is refused in Spanish, nothing changes
    again = profesional.post(
        f"/lugares/propuesta/{row.id}",
        data={"csrf": csrf(profesional), "decision": "descartar", "version": row.version},
    )
    assert again.status_code == 404 and "ya se revisó" in again.get_data(as_text=True)
    assert team_rows(app)[0].kind == "confirmado" and not team_rows(app)[0].retired


def test_discarding_keeps_the_proposal_on_record_and_moves_nothing(app, visited):
    gestora, first, _ = visited
    send(gestora, [visit(first.id, first.lat + 0.002, first.lon, 12)])
    (row,) = team_rows(app)
    before = case_by_run(app, 90000005)
    profesional = login(app.test_client(), app, "profesional", username="prof")
    stale = profesional.post(
        f"/lugares/propuesta/{row.id}",
        data={"csrf": csrf(profesional), "decision": "descartar", "version": row.version + 5},
    )
    assert stale.status_code == 409 and "recargue" in stale.get_data(as_text=True)
    bad = profesional.post(
        f"/lugares/propuesta/{row.id}",
        data={"csrf": csrf(profesional), "decision": "borrar", "version": row.version},
    )
    assert bad.status_code == 400 and "Aceptar" in bad.get_data(as_text=True)
    response = profesional.post(f"/lugares/propuesta/{row.id}", data={
        "csrf": csrf(profesional), "decision": "descartar", "version": row.version,
    }, follow_redirects=True)  # fmt: skip
    assert "descartada: 0 casos reubicados" in response.get_data(as_text=True)
    (discarded,) = team_rows(app)
    assert discarded.kind == PENDING and discarded.retired and discarded.retired_by == "prof"
    after = case_by_run(app, 90000005)
    assert (after.lat, after.lon, after.geocode_source) == (before.lat, before.lon,
                                                            before.geocode_source)  # fmt: skip
    page = profesional.get("/lugares").get_data(as_text=True)
    assert 'id="no-pending"' in page and "descartada" in page
    with db(app) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target == "nomenclator")).all()
        assert [a.target_id for a in audit] == [f"propuesta {row.id}"]
