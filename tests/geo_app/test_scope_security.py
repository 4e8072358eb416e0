"""Issue 25: a scoped account tries to reach or change data outside its scope, and fails.

Accounts: ``profesional.castro`` (profesional, Castro only), ``gestora.castro`` (gestor)
and ``mesa.prueba`` (mesa); ``admin.prueba`` sets the data up. Every test runs on SQLite
and on PostgreSQL (`db_url`). All people here are synthetic.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.planning.plans import candidate_visits
from geo_app.planning.plans import create_plan
from geo_app.planning.plans import published_day
from geo_app.planning.plans import run_plan
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import GestorRow
from geo_app.store.models import HeaderMapping
from geo_app.store.models import ImportBatch
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import Student
from geo_app.travel import app_model
from layers.intake import format_run
from layers.intake import run_check_digit
from tests.accounts import PASSWORD
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import sign_in

HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"
CASTRO_RBD, CURACO_RBD = 8001, 8169
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,4
curaco,Gestor Curaco (sintético),Curaco de Vélez,"lu,ma,mi,ju,vi",08:30,17:30,si,4
"""
ACCOUNTS = {
    "admin": "admin.prueba",
    "profesional": "profesional.castro",
    "gestor": "gestora.castro",
    "mesa": "mesa.prueba",
}
ATTACKERS = ("profesional", "gestor", "mesa")


def run_text(number: int) -> str:
    """A RUN as people type it, with its right check digit."""
    return format_run(number, run_check_digit(number))


def row(number: int, given: str, surname: str, rbd: int, comuna: str, pct: int = 40) -> str:
    return (
        f"{run_text(number)};{given};{surname};07/03/2012;{rbd};7° básico;{pct};"
        f"Sector sintético {number % 1000};{comuna}\r\n"
    )


# Castro: 10 students of school 8001; Curaco de Vélez: 2 of school 8169 (all synthetic)
CASTRO = [row(90_000_000 + i, f"Nombre{i}", "Sintético Castro", CASTRO_RBD, "Castro")
          for i in range(1, 11)]  # fmt: skip
CURACO = [
    row(91_000_001, "Clarisa", "Reservada Curaco", CURACO_RBD, "Curaco de Vélez"),
    row(91_000_002, "Dionisio", "Reservado Curaco", CURACO_RBD, "Curaco de Vélez"),
]
CURACO_SECRETS = ("Clarisa", "Reservada Curaco", "Dionisio", "Reservado Curaco")


def upload(client, text: str, name: str = "lista.csv"):
    data = {"csrf": csrf(client), "mes": "2026-08"}
    data["archivo"] = (io.BytesIO(text.encode("utf-8")), name)
    return client.post("/importar", data=data, content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"].rsplit("/", 1)[-1]


def confirm(client, token: str, **form):
    return client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client), **form})


@pytest.fixture
def world(db_url):
    """An app with 10 Castro and 2 Curaco cases, gestores castro and curaco, four accounts."""
    app = create_app({"TESTING": True, "SECRET_KEY": "scope", "DATABASE_URL": db_url})
    sessions = app.extensions["revincula.db"]
    rows = read_gestores_csv(GESTORES.encode(), app_model(app).find_place)
    with sessions() as session, session.begin():
        save_gestores(session, rows, synthetic=True)
    add_user(app, ACCOUNTS["admin"], "admin")
    add_user(app, ACCOUNTS["profesional"], "profesional", comunas="Castro")
    add_user(app, ACCOUNTS["gestor"], "gestor", gestor="castro")
    add_user(app, ACCOUNTS["mesa"], "mesa")
    admin = client_for(app, "admin")
    done = confirm(admin, token_of(upload(admin, HEADER + "".join(CASTRO + CURACO))))
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    yield app
    app.extensions["revincula.engine"].dispose()


def client_for(app, role: str):
    client = app.test_client()
    assert sign_in(client, ACCOUNTS[role]).status_code == 302
    return client


def curaco_cases(app) -> list[tuple]:
    with app.extensions["revincula.db"]() as session:
        query = (
            select(Student.given_names, Student.surnames, Case.comuna, Case.in_latest_list,
                   Case.address, Case.version)
            .join(Case)
            .where(Case.rbd == CURACO_RBD, Case.comuna == "Curaco de Vélez")
            .order_by(Student.run)
        )  # fmt: skip
        return [tuple(r) for r in session.execute(query)]


def in_list(app, rbd: int) -> int:
    with app.extensions["revincula.db"]() as session:
        query = select(Case.id).where(Case.rbd == rbd, Case.in_latest_list)
        return len(session.scalars(query).all())


# --------------------------------------------------------------------------- items 1 and 2


@pytest.mark.parametrize("role", ATTACKERS)
def test_an_import_never_echoes_nor_changes_a_case_outside_the_scope(world, role):
    """Items 1-2: a Castro file re-using a Curaco RUN under another name and comuna."""
    before = curaco_cases(world)
    client = client_for(world, role)
    attack = HEADER + row(91_000_001, "Intruso", "Atacante", CASTRO_RBD, "Castro", pct=99)
    attack = attack.replace("Sector sintético 1;", "Calle del atacante;")
    attack += CASTRO[0].replace(";40;", ";55;")  # an in-scope row, imported
    attack += row(92_000_777, "Nuevo", "Fuera", CURACO_RBD, "Curaco de Vélez")  # out-of-scope
    response = upload(client, attack)
    if role != "profesional":  # only staff import
        assert response.status_code == 403
        assert curaco_cases(world) == before
        return
    token = token_of(response)
    page = client.get(f"/importar/{token}").get_data(as_text=True)
    csv_text = client.get(f"/importar/{token}/rechazadas.csv").get_data(as_text=True)
    for text in (page, csv_text):
        assert not [s for s in CURACO_SECRETS if s in text], "stored data echoed"
        assert "Sector sintético 1;" not in text  # the stored address
        assert "su cuenta no puede cambiar" in text  # the reason, revealing nothing
        assert "fuera del ámbito de su cuenta" in text  # the new out-of-scope comuna
    assert 'id="scope-refused"' in page
    # all-or-nothing without «solo válidas»; with it, only the Castro row is stored
    assert confirm(client, token).status_code == 302
    assert curaco_cases(world) == before
    done = confirm(client, token, solo_validas="1", lista="adicion")
    assert "/importar/lote/" in done.headers["Location"]
    assert curaco_cases(world) == before  # the Curaco case neither moved nor changed
    with world.extensions["revincula.db"]() as session:
        pct = session.scalar(select(Case.latest_pct).join(Student).where(Student.run == 90_000_001))
        assert pct == 55.0
        assert session.scalar(select(Student.id).where(Student.run == 92_000_777)) is None
        query = select(AuditEntry).where(AuditEntry.target == "importacion")
        entry = session.scalars(query.order_by(AuditEntry.id)).all()[-1]
        assert entry.username == ACCOUNTS["profesional"] and entry.case_ids


def test_an_all_comunas_account_still_sees_the_stored_name_it_may_see(world):
    """Item 1's other side: the name check keeps working where the account may see the case."""
    admin = client_for(world, "admin")
    token = token_of(upload(admin, HEADER + row(91_000_001, "Otro", "Nombre", CURACO_RBD,
                                                 "Curaco de Vélez")))  # fmt: skip
    page = admin.get(f"/importar/{token}").get_data(as_text=True)
    assert "Clarisa Reservada Curaco" in page  # the admin may see it: name_mismatch names it


# --------------------------------------------------------------------------- item 3 and 17.4


@pytest.mark.parametrize("role", ATTACKERS)
def test_a_small_file_cannot_mark_another_comunas_students(world, role):
    """Item 3: one row for the Curaco school, typed as Castro, marks no Curaco student."""
    before = curaco_cases(world)
    client = client_for(world, role)
    response = upload(client, HEADER + row(93_000_001, "Una", "Fila", CURACO_RBD, "Castro"))
    if role != "profesional":
        assert response.status_code == 403
    else:
        token = token_of(response)
        page = client.get(f"/importar/{token}").get_data(as_text=True)
        assert '<b id="n-missing">0</b>' in page
        for mode in ("completa", "adicion", None):
            form = {"lista": mode} if mode else {}
            confirm(client, token, **form)
    assert curaco_cases(world) == before
    assert all(case[3] for case in before)  # both still «en la lista»


def test_a_file_far_short_of_a_schools_list_asks_before_marking_anyone(world):
    """Issue 17 item 4: 2 rows of a 10-student school: complete list or addition?"""
    client = client_for(world, "profesional")
    token = token_of(upload(client, HEADER + CASTRO[0] + CASTRO[1]))
    page = client.get(f"/importar/{token}").get_data(as_text=True)
    assert 'id="list-mode"' in page
    assert "2 filas en el archivo; 10 en la lista anterior; 8 no vienen" in page
    refused = confirm(client, token)  # no answer: nothing is stored, no one is dropped
    assert refused.status_code == 302 and refused.headers["Location"].endswith(token)
    flashed = client.get(f"/importar/{token}").get_data(as_text=True)
    assert "lista completa" in flashed and "8 quedarán marcados" in flashed
    assert in_list(world, CASTRO_RBD) == 10
    done = confirm(client, token, lista="adicion")
    assert "/importar/lote/" in done.headers["Location"]
    assert in_list(world, CASTRO_RBD) == 10  # an addition marks no one
    token = token_of(upload(client, HEADER + CASTRO[0] + CASTRO[1]))
    assert "/importar/lote/" in confirm(client, token, lista="completa").headers["Location"]
    assert in_list(world, CASTRO_RBD) == 2  # the complete list, said so: 8 marked
    assert in_list(world, CURACO_RBD) == 2  # the other comuna's school untouched


def test_a_file_with_most_of_the_list_marks_the_rest_without_asking(world):
    client = client_for(world, "profesional")
    token = token_of(upload(client, HEADER + "".join(CASTRO[:9])))
    assert 'id="list-mode"' not in client.get(f"/importar/{token}").get_data(as_text=True)
    assert "/importar/lote/" in confirm(client, token).headers["Location"]
    assert in_list(world, CASTRO_RBD) == 9


# --------------------------------------------------------------------------- item 5


ODD_HEADER = "Codigo;Alumno;Colegio;Pct;Lugar;Apoderado\r\n"
ODD_ROW = f"{run_text(90_000_001)};Nombre1 Sintético Castro;8001;61;Sector X;Tutor Sintético\r\n"


def save_mapping_as(client, token: str, address_column: int) -> None:
    form = {"csrf": csrf(client), "col0": "run", "col1": "nombre_completo", "col2": "rbd",
            "col3": "asistencia", f"col{address_column}": "direccion"}  # fmt: skip
    assert client.post(f"/importar/{token}/columnas", data=form).status_code == 302


@pytest.mark.parametrize("role", ATTACKERS)
def test_a_saved_mapping_belongs_to_its_account_is_shown_and_audited(world, role):
    """Item 5: someone maps «Apoderado» as the address; no one else's import is re-mapped."""
    attacker = client_for(world, role)
    response = upload(attacker, ODD_HEADER + ODD_ROW)
    if role == "profesional":
        save_mapping_as(attacker, token_of(response), address_column=5)  # guardian as address
    else:
        assert response.status_code == 403
    admin = client_for(world, "admin")
    token = token_of(upload(admin, ODD_HEADER + ODD_ROW))
    page = admin.get(f"/importar/{token}").get_data(as_text=True)
    assert "Asignar columnas" in page  # the admin's import is not silently re-mapped
    save_mapping_as(admin, token, address_column=4)
    page = admin.get(f"/importar/{token}").get_data(as_text=True)
    assert 'id="saved-mapping"' in page and "Lugar → " in page  # shown before it applies
    assert "columnas=1" in page  # and can be changed
    changed = admin.get(f"/importar/{token}?columnas=1").get_data(as_text=True)
    assert "Guardar asignación" in changed
    with world.extensions["revincula.db"]() as session:
        owners = sorted(session.scalars(select(HeaderMapping.owner)))
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.target == "asignacion_columnas")
        ).all()
    expected = sorted([ACCOUNTS["admin"]] + ([ACCOUNTS[role]] if role == "profesional" else []))
    assert owners == expected
    assert {e.username for e in entries} == set(expected)
    assert any("Lugar: - → direccion" in e.detail for e in entries)


# --------------------------------------------------------------------------- item 15


@pytest.mark.parametrize("role", ATTACKERS)
def test_a_scoped_account_sees_only_its_own_imports(world, role):
    client = client_for(world, role)
    page = client.get("/importar")
    if role != "profesional":
        assert page.status_code == 403
        return
    text = page.get_data(as_text=True)
    assert ACCOUNTS["admin"] not in text and "lista.csv" not in text
    assert client.get("/importar/lote/1").status_code == 404


# --------------------------------------------------------------------------- item 4

WEEK = dt.date(2026, 3, 9)


def computed_plan(app, comuna: str, gestor: str) -> int:
    """A computed (not yet published) plan of `comuna`'s cases for one gestor; its id."""
    sessions = app.extensions["revincula.db"]
    with sessions() as session, session.begin():
        gestores = session.scalars(select(GestorRow).where(GestorRow.code == gestor)).all()
        visits = candidate_visits(session, comunas=[comuna], limit=3)
        plan_id = create_plan(session, WEEK, gestores, visits, seconds=1, actor="t").id
    run_plan(sessions, app_model(app), plan_id)
    with sessions() as session:
        assert session.scalars(select(PlanStop.gestor_code).where(PlanStop.plan_id == plan_id))
    return plan_id


def publish_as(client, app, plan_id: int):
    with app.extensions["revincula.db"]() as session:
        version = session.get(PlanRow, plan_id).version
    form = {"csrf": csrf(client), "version": str(version), "confirmar_pasada": "1"}
    return client.post(f"/planificacion/{plan_id}/publicar", data=form)


def statuses(app) -> dict[int, str]:
    with app.extensions["revincula.db"]() as session:
        return dict(session.execute(select(PlanRow.id, PlanRow.status)).all())


@pytest.mark.parametrize("role", ATTACKERS)
def test_publishing_never_archives_a_plan_the_account_cannot_open(world, role):
    """Item 4: the Curaco team's published week survives a Castro publication."""
    admin = client_for(world, "admin")
    curaco = computed_plan(world, "Curaco de Vélez", "curaco")
    assert publish_as(admin, world, curaco).status_code == 302
    castro = computed_plan(world, "Castro", "castro")
    client = client_for(world, role)
    response = publish_as(client, world, castro)
    if role != "profesional":
        assert response.status_code == 403
        assert statuses(world) == {curaco: "publicado", castro: "borrador"}
        return
    assert response.status_code == 302
    assert statuses(world) == {curaco: "publicado", castro: "publicado"}  # they coexist
    # each gestor's day comes from their own team's plan
    with world.extensions["revincula.db"]() as session:
        for code, plan_id in (("curaco", curaco), ("castro", castro)):
            days = [published_day(session, code, WEEK + dt.timedelta(days=i)) for i in range(5)]
            assert {found[0].id for found in days} == {plan_id}
    # a Curaco plan that uses the Castro gestor: the Castro profesional cannot replace it
    shared = computed_plan(world, "Curaco de Vélez", "castro")
    admin_publishes = publish_as(admin, world, shared)
    assert admin_publishes.status_code == 302  # the admin may open both: castro's replaced
    assert statuses(world)[castro] == "archivado"
    again = computed_plan(world, "Castro", "castro")
    refused = publish_as(client, world, again)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "castro" in text and "otro equipo" in text
    assert statuses(world)[shared] == "publicado" and statuses(world)[again] == "borrador"
    assert statuses(world)[curaco] == "publicado"


# --------------------------------------------------------------------------- item 13


def test_a_gestor_opens_only_cases_of_current_and_recent_weeks(world):
    """Item 13: a plan published 38 weeks ago no longer opens its cases to the gestor."""
    admin = client_for(world, "admin")
    old = computed_plan(world, "Castro", "castro")  # the week of 2026-03-09
    assert publish_as(admin, world, old).status_code == 302
    this_week = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    sessions = world.extensions["revincula.db"]
    with sessions() as session, session.begin():
        gestores = session.scalars(select(GestorRow).where(GestorRow.code == "castro")).all()
        visits = candidate_visits(session, comunas=["Curaco de Vélez"], limit=3)
        current = create_plan(session, this_week, gestores, visits, seconds=1, actor="t").id
    run_plan(sessions, app_model(world), current)
    assert publish_as(admin, world, current).status_code == 302
    with sessions() as session:
        stops = dict(session.execute(select(PlanStop.plan_id, PlanStop.case_id)).all())
        old_case = session.scalar(select(PlanStop.case_id).where(PlanStop.plan_id == old))
        new_case = session.scalar(select(PlanStop.case_id).where(PlanStop.plan_id == current))
    assert stops and old_case != new_case
    world.config["GESTOR_WEEKS_BACK"] = 2
    gestora = client_for(world, "gestor")
    assert gestora.get(f"/casos/{new_case}").status_code == 200
    assert gestora.get(f"/casos/{old_case}").status_code == 404
    listed = gestora.get("/casos").get_data(as_text=True)
    assert f"/casos/{new_case}" in listed and f'/casos/{old_case}"' not in listed
    world.config["GESTOR_WEEKS_BACK"] = 60  # the setting: a longer bound opens it again
    assert gestora.get(f"/casos/{old_case}").status_code == 200


# --------------------------------------------------------------------------- item 14


@pytest.mark.parametrize("role", ATTACKERS)
def test_huge_ids_and_pages_are_not_found_and_every_500_is_logged(world, role, monkeypatch, caplog):
    """Item 14: numbers above 2⁶³ give 404/200, never an unlogged 500; a 500 logs its trace."""
    world.config["TESTING"] = False  # the real error handling, as users get it
    client = client_for(world, role)
    huge = str(2**64)
    for url in (f"/casos/{huge}", f"/planificacion/{huge}", f"/importar/lote/{huge}"):
        assert client.get(url).status_code in {403, 404}, url
    listed = client.get(f"/casos?pagina={huge}").status_code
    assert listed == (403 if role == "mesa" else 200)
    import geo_app.cases.service as cases_service

    def failing(*args, **kwargs):
        msg = "Aurora Sintética 90.000.001-4"  # what a database error could quote
        raise RuntimeError(msg)

    monkeypatch.setattr(cases_service, "counts_summary", failing)  # an injected fault
    with caplog.at_level("ERROR", logger="geo_app.security"):
        response = client.get("/api/casos/resumen")
    assert response.status_code == 500
    lines = [r.getMessage() for r in caplog.records if r.name == "geo_app.security"]
    assert lines and "RuntimeError" in lines[0] and "failing" in lines[0]
    assert "Aurora" not in " ".join(lines) and "90.000.001" not in " ".join(lines)


# --------------------------------------------------------------------------- item 7


def add_demo_account(app, username: str, role: str, **scope) -> None:
    from geo_app.accounts.users import create_user

    known = list(app.extensions["revincula.territory"].comunas["comuna_name"])
    with app.extensions["revincula.db"]() as session, session.begin():
        create_user(session, username, PASSWORD, role, known_comunas=known, demo=True, **scope)


def test_real_data_closes_the_demo_accounts(world):
    """Item 7: published demo passwords stop working once real data is imported."""
    demo = {"profesional": "demo.profesional", "gestor": "demo.gestora", "mesa": "demo.mesa"}
    add_demo_account(world, demo["profesional"], "profesional", comunas="Castro")
    add_demo_account(world, demo["gestor"], "gestor", gestor_code="castro")
    add_demo_account(world, demo["mesa"], "mesa")
    sessions = {}
    for role, name in demo.items():
        sessions[role] = world.test_client()
        assert sign_in(sessions[role], name).status_code == 302
    # a list whose every RUN is synthetic is not real data: nothing is closed
    real = client_for(world, "profesional")
    token = token_of(upload(real, HEADER + "".join(CASTRO[:9])))
    done = confirm(real, token)
    flashed = real.get(done.headers["Location"]).get_data(as_text=True)
    assert "/importar/lote/" in done.headers["Location"]
    assert "Se desactivaron las cuentas de demostración" not in flashed
    for role in demo:
        assert sessions[role].get("/cuenta").status_code == 200  # still signed in
    with world.extensions["revincula.db"]() as session:
        assert session.scalar(select(ImportBatch.synthetic).order_by(ImportBatch.id.desc()))
    # one RUN outside the synthetic range makes it real data (80.000.001: a fake record,
    # a number the Registro Civil has not given)
    outside = row(80_000_001, "Nombre", "Fuera del rango sintético", CASTRO_RBD, "Castro")
    # a demo account cannot bring real data in
    demo_prof = sessions["profesional"]
    token = token_of(upload(demo_prof, HEADER + "".join(CASTRO[:9]) + outside))
    refused = confirm(demo_prof, token)
    page = demo_prof.get(refused.headers["Location"]).get_data(as_text=True)
    assert "cuenta de demostración" in page
    # a real account can, and every demo account is closed with it
    token = token_of(upload(real, HEADER + "".join(CASTRO[:9]) + outside))
    done = confirm(real, token)
    assert "/importar/lote/" in done.headers["Location"]
    flashed = real.get(done.headers["Location"]).get_data(as_text=True)
    assert "Se desactivaron las cuentas de demostración" in flashed
    for role, name in demo.items():
        assert sessions[role].get("/cuenta").status_code == 302  # signed out
        assert sign_in(world.test_client(), name).status_code == 401


# --------------------------------------------------------------------------- item 11


def audited(app, target: str) -> list[AuditEntry]:
    with app.extensions["revincula.db"]() as session:
        query = select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.id)
        return list(session.scalars(query))


@pytest.mark.parametrize("role", ATTACKERS)
def test_every_read_of_personal_data_is_audited_with_its_case_ids(world, role):
    """Item 11: case layer, plan map (home points), uploads, previews and moves leave a row."""
    plan_id = computed_plan(world, "Castro", "castro")
    client = client_for(world, role)
    layer = client.get("/api/casos.geojson")
    plan_map = client.get(f"/api/planes/{plan_id}.geojson")
    uploaded = upload(client, HEADER + CASTRO[0])
    if role == "mesa":
        assert {layer.status_code, plan_map.status_code, uploaded.status_code} == {403}
        assert not audited(world, "mapa_casos") and not audited(world, "mapa_plan")
        return
    ids = [f["properties"]["id"] for f in layer.get_json()["features"]]
    entry = audited(world, "mapa_casos")[-1]
    assert entry.username == ACCOUNTS[role] and entry.case_ids == ",".join(map(str, sorted(ids)))
    if role == "gestor":  # no plan pages, no imports for a gestor
        assert {plan_map.status_code, uploaded.status_code} == {403}
        return
    visits = sorted(int(f["properties"]["visita_id"]) for f in plan_map.get_json()["features"]
                    if f["properties"]["tipo"] == "visita")  # fmt: skip
    assert visits and audited(world, "mapa_plan")[-1].case_ids == ",".join(map(str, visits))
    token = token_of(uploaded)
    assert audited(world, "archivo_importacion")[-1].target_id == token[:12]
    client.get(f"/importar/{token}")
    preview = audited(world, "revision_importacion")[-1]
    assert preview.username == ACCOUNTS[role] and preview.case_ids  # the case it would update
    with world.extensions["revincula.db"]() as session:
        version = session.get(PlanRow, plan_id).version
    form = {"csrf": csrf(client), "visita": str(visits[0]), "destino": "sin_asignar",
            "version": str(version)}  # fmt: skip
    client.post(f"/planificacion/{plan_id}/mover", data=form)
    assert audited(world, "mover_visita")[-1].case_ids == str(visits[0])
