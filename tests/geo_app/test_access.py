"""Every route of the URL map, for every role and for anonymous visitors.

The expected status of each (endpoint, role) is written here by hand, not read
from the app: a new route without an entry fails the walk, and a role that
gains or loses access by accident fails it too. Every response is also searched
for personal data the role must never receive (names, RUNs, addresses, phones,
a case's coordinates).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import url_for
from sqlalchemy import select

from geo_app import create_app
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.planning.plans import candidate_visits
from geo_app.planning.plans import create_plan
from geo_app.planning.plans import publish
from geo_app.planning.plans import run_plan
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import Student
from geo_app.store.models import User
from geo_app.travel import app_model
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import sign_in

HEADER = (
    "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna;Teléfono\r\n"
)
ROWS = (
    "90.000.001-4;Aurora;Sintética Uno;07/03/2012;8001;7° básico;40;Sector Pid Pid s/n;Castro;"
    "+56 9 1111 2201\r\n"
    "90.000.002-2;Bruno;Sintético Dos;01/06/2011;8001;8° básico;60;Pob. Gamboa;Castro;"
    "+56 9 1111 2202\r\n"
    "90.000.003-0;Clara;Sintética Tres;01/06/2011;8169;8° básico;45;Sector Huyar Alto;"
    "Curaco de Vélez;+56 9 1111 2203\r\n"
    "90.000.004-9;Diego;Sintético Cuatro;01/06/2010;8169;1° medio;30;Huyar Bajo;"
    "Curaco de Vélez;+56 9 1111 2204\r\n"
)
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,4
"""
ROLES = ("anon", "admin", "profesional", "gestor", "mesa")
A, S, R, L, F, N, U = 200, 302, 401, 403, 403, 404, 400  # shorthands for the table below


def row(anon, admin, profesional, gestor, mesa):
    return dict(zip(ROLES, (anon, admin, profesional, gestor, mesa), strict=True))


# GET: exact status per role. profesional = Castro only; gestor = castro; mesa = every comuna.
GET = {
    "static": row(A, A, A, A, A),
    "accounts.login": row(A, S, S, S, S),
    "accounts.account": row(S, A, A, A, A),
    "accounts.users": row(S, A, L, L, L),
    "accounts.audit_log": row(S, A, L, L, L),
    "accounts.audit_export": row(S, A, L, L, L),
    "territory.index": row(S, A, A, A, A),
    "territory.layer_geojson": row(R, A, A, A, A),
    "territory.journey": row(R, A, A, A, A),
    "territory.isochrone": row(R, A, A, A, A),
    "territory.summary": row(S, A, A, A, A),
    "territory.summary_geojson": row(R, A, A, A, A),
    "cases.case_list": row(S, A, A, A, L),
    "cases.case_detail": row(S, A, A, A, L),
    "cases.cases_geojson": row(R, A, A, A, L),
    "cases.cases_summary": row(R, A, A, A, A),
    "cases.import_form": row(S, A, A, L, L),
    "cases.import_preview": row(S, A, N, L, L),  # an upload is only seen by its sender
    "cases.import_rejected": row(S, A, N, L, L),
    "cases.import_batch": row(S, A, N, L, L),  # batch by admin, profesional limited to Castro
    "cases.import_job_state": row(R, N, N, L, L),  # the pending upload has no store job yet
    "cases.import_stored": row(S, S, N, L, L),  # not stored yet: back to its review
    "places.places": row(S, A, A, L, L),
    "places.places_geojson": row(R, A, A, L, L),
    "places.example_file": row(S, A, A, L, L),
    "planning.plan_list": row(S, A, A, L, L),
    "planning.plan_detail": row(S, A, A, L, L),
    "planning.plan_state": row(R, A, A, L, L),
    "planning.plan_geojson": row(R, A, A, L, L),
    "field.day": row(S, A, A, A, L),
    "field.taxonomy": row(R, A, A, A, L),
    "field.session_info": row(R, A, A, A, A),
    "field.service_worker": row(A, A, A, A, A),  # no data: the offline logic only
    "field.offline_page": row(A, A, A, A, A),
    "reports.diagnosis_page": row(S, A, A, L, A),  # the mesa: protected totals only
    "reports.diagnosis_pdf": row(S, A, A, L, L),
    "reports.diagnosis_table": row(S, A, A, L, L),
    "reports.report_job": row(S, N, N, L, L),  # job 1 is an import's review, not a report
    "reports.report_job_state": row(R, N, N, L, L),
    "reports.mesa_table": row(S, A, A, L, A),
    "reports.summary_export": row(S, A, A, A, A),  # as the Resumen page; a mesa: protected
    "reports.activity_page": row(S, A, A, L, L),
    "reports.nomina_page": row(S, A, A, L, L),
    "reports.case_export": row(S, A, A, L, L),
    "reports.plan_export": row(S, A, A, L, L),
    "reports.plan_gpx": row(S, A, A, A, L),  # the gestor's own day
    "transit.page": row(S, A, A, L, L),
    "coverage.page": row(S, A, A, A, A),
    "coverage.services_page": row(S, A, A, A, A),
    "coverage.compare": row(S, U, U, U, U),  # no runs chosen: a Spanish 400
    "coverage.run_state": row(R, N, N, N, N),  # no coverage run in this world
    "coverage.run_json": row(R, N, N, N, N),
    "coverage.run_cells": row(R, N, N, N, N),
    "coverage.run_services": row(R, N, N, N, N),
    "coverage.run_export": row(S, N, N, N, N),
    "coverage.run_map": row(S, N, N, N, N),
    "coverage.map_file_page": row(S, N, N, N, N),
    "coverage.map_file_state": row(R, N, N, N, N),
    "coverage.map_file_download": row(S, N, N, N, N),
    "coverage.service_edit": row(S, N, N, F, F),  # no such service; staff only
    "transit.export_gtfs": row(S, A, A, L, L),
    "transit.gtfs_job": row(S, N, N, L, L),  # job 1 is an import's review, not a GTFS import
    "transit.gtfs_job_state": row(R, N, N, L, L),
}
# POST: roles allowed (anything but 401/403/500 is fine for them: the walk sends empty
# forms); every other role gets 403, anonymous visitors are sent to the login page.
POST = {
    "accounts.login": set(ROLES),
    "accounts.logout": {"admin", "profesional", "gestor", "mesa"},
    "accounts.account": {"admin", "profesional", "gestor", "mesa"},
    "accounts.user_add": {"admin"},
    "accounts.user_edit": {"admin"},
    "cases.case_move": {"admin", "profesional", "gestor"},
    "cases.case_search": {"admin", "profesional", "gestor"},
    "cases.import_upload": {"admin", "profesional"},
    "cases.import_mapping": {"admin", "profesional"},
    "cases.import_confirm": {"admin", "profesional"},
    "cases.import_retry": {"admin", "profesional"},
    "places.import_file": {"admin", "profesional"},
    "places.correct": {"admin", "profesional"},
    "places.retire": {"admin", "profesional"},
    "places.restore": {"admin", "profesional"},
    "places.review": {"admin", "profesional"},
    "planning.plan_create": {"admin", "profesional"},
    "planning.plan_move": {"admin", "profesional"},
    "planning.plan_publish": {"admin", "profesional"},
    "planning.plan_retry": {"admin", "profesional"},
    "planning.plan_replan": {"admin", "profesional"},
    "field.post_visits": {"admin", "profesional", "gestor"},
    "cases.case_stage": {"admin", "profesional"},
    "cases.case_undo_gps": {"admin", "profesional"},
    "transit.import_gtfs": {"admin", "profesional"},
    "reports.report_job_retry": {"admin", "profesional"},
    "transit.remove_gtfs": {"admin", "profesional"},
    "transit.gtfs_job_retry": {"admin", "profesional"},
    "transit.save_lines": {"admin", "profesional"},
    "coverage.run_create": {"admin", "profesional", "gestor", "mesa"},
    "coverage.whatif": {"admin", "profesional", "gestor", "mesa"},
    "coverage.services_import": {"admin", "profesional"},
    "coverage.services_change": {"admin", "profesional"},
    "coverage.service_save": {"admin", "profesional"},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app with 4 cases (2 Castro, 2 Curaco de Vélez), a published Castro plan, 4 users."""
    url = f"sqlite:///{tmp_path_factory.mktemp('walk') / 'walk.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "walk", "DATABASE_URL": url})
    add_user(app, "admin.prueba", "admin")
    admin = app.test_client()
    sign_in(admin, "admin.prueba")
    data = {"csrf": csrf(admin), "mes": "2026-08"}
    data["archivo"] = (io.BytesIO((HEADER + ROWS).encode()), "lista.csv")
    preview = admin.post("/importar", data=data, content_type="multipart/form-data")
    token = preview.headers["Location"].rsplit("/", 1)[-1]
    done = admin.post(f"/importar/{token}/confirmar", data={"csrf": csrf(admin)})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    # a second upload left pending (for the preview routes)
    data["archivo"] = (io.BytesIO((HEADER + ROWS).encode()), "otra.csv")
    data["csrf"] = csrf(admin)
    pending = admin.post("/importar", data=data, content_type="multipart/form-data")
    pending_token = pending.headers["Location"].rsplit("/", 1)[-1]

    sessions = app.extensions["revincula.db"]
    model = app_model(app)
    rows = read_gestores_csv(GESTORES.encode(), model.find_place)
    with sessions() as session, session.begin():
        gestores = save_gestores(session, rows, synthetic=True)
        visits = candidate_visits(session, comunas=["Castro"])
        plan = create_plan(
            session, dt.date(2026, 3, 9), gestores, visits, seconds=1, actor="t", synthetic=True
        )
        plan_id = plan.id
    run_plan(sessions, model, plan_id)
    with sessions() as session, session.begin():
        plan = session.get(PlanRow, plan_id)
        publish(session, plan, "t", expected_version=plan.version)
        first_day = plan.result["dias"][0]["dia"]
    add_user(app, "profesional.castro", "profesional", comunas="Castro")
    add_user(app, "gestora.castro", "gestor", gestor="castro")
    add_user(app, "mesa.prueba", "mesa")

    _place_by_hand(admin, sessions)
    with sessions() as session:
        cases = session.scalars(select(Case).join(Student)).all()
        people = {
            c.id: {
                "comuna": c.comuna,
                "secrets": [
                    c.student.given_names,
                    c.student.surnames,
                    str(c.student.run),
                    f"{c.student.run:,}".replace(",", "."),
                    c.address,
                    *(k.phone for k in c.contacts),
                ],
                "point": (c.lon, c.lat) if c.geocode_method != "escuela" else None,
            }
            for c in cases
        }
        assigned = set(session.scalars(select(PlanStop.case_id)))
        batch_id = session.scalar(select(ImportBatch.id))
        user_id = session.scalar(select(User.id).where(User.username == "mesa.prueba"))
    # a case placed at a public place (a school or health post of the gazetteer) has the
    # coordinates of that public feature: only the other points are personal
    from geo_app.territory.service import LAYERS

    public = set()
    for layer in LAYERS:
        public |= _numbers(admin.get(f"/api/capas/{layer}.geojson").get_data(as_text=True))
    for person in people.values():
        if person["point"] and round(person["point"][0], 6) in public:
            person["point"] = None
    assert any(p["point"] for p in people.values()), "no case with a personal point to check"
    castro = sorted(i for i, p in people.items() if p["comuna"] == "Castro")
    assert assigned and assigned <= set(castro), "the Castro plan must visit Castro cases only"
    yield {
        "app": app,
        "people": people,
        "assigned": assigned,
        "values": {
            "case_id": min(assigned),
            "plan_id": plan_id,
            "batch_id": batch_id,
            "token": pending_token,
            "layer": "escuelas",
            "user_id": user_id,
            "filename": "css/app.css",
            "row_id": 1,
            "fmt": "csv",
            "name": "comunas",
            "gestor": "castro",
            "day": first_day,
            "run_id": 1,
            "job_id": 1,
            "file_id": 1,
            "service_id": "no-existe",
        },
    }
    app.extensions["revincula.engine"].dispose()


def _place_by_hand(admin, sessions):
    """Move each case's pin ~150 m by hand, so that every case has a point of its own."""
    with sessions() as session:
        cases = [(c.id, c.lon, c.lat, c.version) for c in session.scalars(select(Case))]
    for case_id, lon, lat, version in cases:
        for dx, dy in ((0.0013, 0.0009), (-0.0013, -0.0009), (0.0013, -0.0009), (-0.0013, 0.0009)):
            form = {"csrf": csrf(admin), "lon": f"{lon + dx:.6f}", "lat": f"{lat + dy:.6f}"}
            admin.post(f"/casos/{case_id}/ubicacion", data={**form, "version": str(version)})
            with sessions() as session:
                if session.get(Case, case_id).geocode_method == "manual":
                    break
        else:  # pragma: no cover - every point above was in the sea
            pytest.fail(f"could not place case {case_id} on land")


def _client(world, role):
    app = world["app"]
    client = app.test_client()
    client.get("/ingresar")  # an anonymous session has a CSRF token too
    if role != "anon":
        username = {
            "admin": "admin.prueba",
            "profesional": "profesional.castro",
            "gestor": "gestora.castro",
            "mesa": "mesa.prueba",
        }[role]
        assert sign_in(client, username).status_code == 302
    return client


def _url(app, rule, values):
    missing = set(rule.arguments) - set(values)
    assert not missing, f"no test value for {missing} in {rule}"
    with app.test_request_context():
        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def _forbidden(world, role):
    """Strings the role must never receive, and the coordinates it must not see."""
    people = world["people"]
    if role == "admin":
        return [], []
    if role == "profesional":
        hidden = [p for p in people.values() if p["comuna"] != "Castro"]
    elif role == "gestor":
        hidden = [p for i, p in people.items() if i not in world["assigned"]]
    else:  # mesa and anonymous: nothing about any single case
        hidden = list(people.values())
    strings = [s for p in hidden for s in p["secrets"] if s]
    points = [p["point"] for p in hidden if p["point"]]
    return strings, points


def _numbers(body: str) -> set[float]:
    return {float(x) for x in re.findall(r"-?\d+\.\d{3,}", body)}


def _text(response) -> str:
    """The response as text to search; a PDF's and a zip's text is read out of them."""
    if response.mimetype == "application/zip":
        import zipfile

        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    if response.mimetype == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    return response.get_data(as_text=True)


def _leaks(body: str, strings, points) -> list[str]:
    found = [s for s in strings if s in body]
    numbers = _numbers(body)
    found += [f"{lon},{lat}" for lon, lat in points if round(lon, 6) in numbers]
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(world, role):
    app = world["app"]
    values = world["values"]
    rules = list(app.url_map.iter_rules())
    endpoints = {r.endpoint for r in rules}
    assert endpoints == set(GET) | set(POST), "a route was added or removed: update the tables"
    client = _client(world, role)
    strings, points = _forbidden(world, role)
    checked = 0
    # every GET first (the POSTs below may import, publish or consume an upload)
    walk = [("GET", r) for r in rules if "GET" in r.methods]
    walk += [("POST", r) for r in rules if "POST" in r.methods and r.endpoint != "accounts.logout"]
    for method, rule in walk:
        url = _url(app, rule, values)
        if rule.endpoint == "territory.journey":
            url += "?desde=Castro&hasta=Achao&salida=2026-03-10T08:00"
        if rule.endpoint == "territory.isochrone":
            url += "?desde=Castro&minutos=30&salida=2026-03-10T08:00"
        if method == "GET":
            response = client.get(url)
            expected = GET[rule.endpoint][role]
            assert response.status_code == expected, (rule.endpoint, role, response.status_code)
            if response.status_code == 302 and role == "anon":
                assert response.headers["Location"].startswith("/ingresar")
            body = _text(response)
            response.close()  # static files are streamed from disk
            leaks = _leaks(body, strings, points)
            assert not leaks, (rule.endpoint, role, leaks)
            checked += 1
        else:
            response = client.post(url, data={"csrf": csrf(client)})
            allowed = role in POST[rule.endpoint]
            if role == "anon" and not allowed and rule.rule.startswith("/api/"):
                assert response.status_code == 401, (rule.endpoint, response.status_code)
            elif role == "anon" and not allowed:
                assert response.status_code == 302, (rule.endpoint, response.status_code)
                assert response.headers["Location"].startswith("/ingresar")
            elif not allowed:
                assert response.status_code == 403, (rule.endpoint, role, response.status_code)
            elif rule.endpoint == "accounts.login":  # empty credentials
                assert response.status_code == 401
            else:
                assert response.status_code not in (401, 403, 500), (rule.endpoint, role)
            assert not _leaks(response.get_data(as_text=True), strings, points)
            checked += 1
    assert checked >= len(GET) + len(POST) - 1
    # last: signing out (allowed to every signed-in role; anonymous is sent to the login page)
    out = client.post("/salir", data={"csrf": csrf(client)})
    assert out.status_code == 302
    assert out.headers["Location"].startswith("/ingresar")


def test_scope_hides_other_comunas_and_unassigned_cases(world):
    people, assigned = world["people"], world["assigned"]
    curaco = min(i for i, p in people.items() if p["comuna"] != "Castro")
    castro_unassigned = [i for i, p in people.items() if p["comuna"] == "Castro"]
    admin, prof, gestor = (_client(world, r) for r in ("admin", "profesional", "gestor"))
    assert admin.get(f"/casos/{curaco}").status_code == 200
    assert prof.get(f"/casos/{curaco}").status_code == 404
    assert gestor.get(f"/casos/{curaco}").status_code == 404
    for case_id in castro_unassigned:
        assert prof.get(f"/casos/{case_id}").status_code == 200
        expected = 200 if case_id in assigned else 404
        assert gestor.get(f"/casos/{case_id}").status_code == expected
    ids = {f["properties"]["id"] for f in gestor.get("/api/casos.geojson").get_json()["features"]}
    assert ids == assigned
    ids = {f["properties"]["id"] for f in prof.get("/api/casos.geojson").get_json()["features"]}
    assert ids == {i for i, p in people.items() if p["comuna"] == "Castro"}
    # a gestor cannot ask for another gestor's day, nor move a case outside their list
    form = {"csrf": csrf(gestor), "lat": "-42.6", "lon": "-73.6", "version": "1"}
    assert gestor.post(f"/casos/{curaco}/ubicacion", data=form).status_code == 404
    listing = gestor.get("/casos").get_data(as_text=True)
    assert "Clara" not in listing and "Diego" not in listing


def test_mesa_gets_counts_with_small_cells_hidden(world):
    mesa = _client(world, "mesa")
    summary = mesa.get("/api/casos/resumen").get_json()
    assert all(v in ("<10", 0) for v in summary["por_categoria"].values())  # 4 cases in all
    rows = mesa.get("/api/agregados/comunas.geojson").get_json()["features"]
    assert {f["properties"]["comuna"] for f in rows} == {"Castro", "Curaco de Vélez"}
    assert all(f["properties"]["total"] == "<10" for f in rows)
    admin = _client(world, "admin")
    rows = admin.get("/api/agregados/comunas.geojson").get_json()["features"]
    assert sorted(f["properties"]["total"] for f in rows) == [2, 2]


def test_every_view_declares_its_roles(world):
    """Deny by default: a view without `allow(...)` is refused even to an administrator."""
    from geo_app.security import allow

    app = world["app"]
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "allowed_roles", None) or getattr(view, "is_public", False), endpoint
    assert allow("admin")(lambda: None).allowed_roles == {"admin"}


def test_audit_records_views_exports_and_changes_without_personal_data(world):
    admin = _client(world, "admin")
    case_id = world["values"]["case_id"]
    admin.get(f"/casos/{case_id}")
    page = admin.get(f"/admin/auditoria?caso={case_id}").get_data(as_text=True)
    assert "admin.prueba" in page and f"caso {case_id}" in page
    export = admin.get("/admin/auditoria.csv")
    assert export.headers["Content-Disposition"].startswith('attachment; filename="auditoria_')
    text = export.get_data(as_text=True)
    assert f";ver;caso;{case_id};1;{case_id};" in text
    for person in world["people"].values():
        for secret in person["secrets"]:
            assert secret not in text
    latest = admin.get("/admin/auditoria?accion=exportar").get_data(as_text=True)
    assert "auditoria" in latest  # the export itself was recorded
