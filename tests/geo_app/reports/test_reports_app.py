"""Diagnosis page, tables, PDF, CLI and GPX on SQLite and PostgreSQL.

Two monthly synthetic lists (RUNs in the 90-million range, tests/lists.py):
July: Aurora 40 %, Bruno 60 % (RBD 8001, Castro), Clara 45 % (RBD 8169, Curaco de Vélez).
August: Aurora 40 %, Bruno 90 %, Diego 30 % (RBD 8169). Worked out by hand:
- latest list: Aurora (crítica), Bruno (normal), Diego (crítica); Clara left the list;
- by school comuna: Castro 2 cases (1 crítica, 1 normal), Curaco de Vélez 1 (crítica);
- flow: July 3 listed, 3 new; August 3 listed, 1 new (Diego), 2 continue, 1 leaves (Clara);
- trend: July 2 crítica (40, 45) + 1 grave (60); August 2 crítica + 1 normal.
"""

from __future__ import annotations

import datetime as dt
import io

import gpxpy
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

from geo_app import create_app
from geo_app.cli import main
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import PlanRow
from geo_app.travel import app_model
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import login
from tests.accounts import sign_in
from tests.lists import HEADER
from tests.lists import SYNTHETIC_ROWS

AURORA, BRUNO, CLARA, DIEGO = SYNTHETIC_ROWS
JULY = [AURORA, BRUNO, CLARA]
AUGUST = [AURORA, BRUNO.replace(";60;", ";90;"), DIEGO]
NAMES = ("Aurora", "Bruno", "Clara", "Diego")
GESTORES = """codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas
castro,Gestora Castro (sintética),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,2
otro,Gestor Otro (sintético),Castro,"lu,ma,mi,ju,vi",08:30,17:30,si,2
"""
MONDAY = dt.date(2026, 3, 9)


@pytest.fixture
def app(db_url):
    # "today" is the planned week's Monday: planning or publishing a past week is refused
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url, "TODAY": MONDAY})
    yield app
    app.extensions["revincula.engine"].dispose()


def _import(client, month: str, rows: list[str]) -> None:
    token = csrf(client)
    body = (HEADER + "".join(rows)).encode("utf-8")
    data = {"csrf": token, "mes": month, "archivo": (io.BytesIO(body), "l.csv")}
    preview = client.post("/importar", data=data, content_type="multipart/form-data")
    key = preview.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    done = client.post(f"/importar/{key}/confirmar", data={"csrf": token, "solo_validas": "0"})
    assert done.status_code == 302


@pytest.fixture
def client(app):
    client = login(app.test_client(), app)
    _import(client, "2026-07", JULY)
    _import(client, "2026-08", AUGUST)
    model = app_model(app)
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, read_gestores_csv(GESTORES.encode(), model.find_place),
                      synthetic=True)  # fmt: skip
    return client


def _slep_enrolment(app, comuna: str) -> int:
    schools = app.extensions["revincula.territory"].schools
    return int(schools[schools["is_slep"] & (schools["comuna_name"] == comuna)]["enrolment"].sum())


def test_diagnosis_page_has_the_hand_worked_figures(app, client):
    page = client.get("/informes").get_data(as_text=True)
    assert "<strong>3</strong> casos en la última lista" in page
    assert "2026-07 a 2026-08 (2)" in page
    flow = page.split('id="tabla-flujo"')[1].split("</table>")[0]
    assert "<td>2026-07</td><td>3</td><td>3</td><td>—</td><td>0</td><td>—</td>" in flow
    assert "<td>2026-08</td><td>3</td><td>1</td><td>2</td><td>0</td><td>1</td>" in flow
    comunas = page.split('id="tabla-comunas"')[1].split("</table>")[0]
    castro = _slep_enrolment(app, "Castro")
    rate = f"{100 * 1 / castro:.1f}"  # one crítica among Castro's SLEP enrolment
    assert f"<td>Castro</td><td>{castro}</td><td>2</td><td>1</td><td>0</td>" in comunas
    assert f"<td>{rate}</td>" in comunas
    assert "<svg" in page and 'id="chart-tendencia"' in page  # the chart, drawn offline
    assert not any(name in page for name in NAMES)  # totals only


def test_tables_download_as_csv_and_xlsx(client):
    csv_text = client.get("/informes/tabla/tendencia.csv").get_data(as_text=True)
    assert "Mes,Categoría,Casos" in csv_text
    assert "2026-07,Crítica,2" in csv_text and "2026-07,Grave,1" in csv_text
    assert "2026-08,Crítica,2" in csv_text and "2026-08,Normal,1" in csv_text
    response = client.get("/informes/tabla/flujo.xlsx?desde=2026-08")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Mes", "En la lista", "Nuevos", "Continúan", "Vuelven",
                           "Salen de la lista")  # fmt: skip
    assert rows[1][:6] == ("2026-08", 3, 1, 2, 0, 1) and len(rows) == 2
    assert client.get("/informes/tabla/otra.csv").status_code == 404
    assert client.get("/informes/tabla/flujo.pdf").status_code == 400


def test_bad_months_are_explained(client):
    response = client.get("/informes?desde=2026-13")
    assert response.status_code == 400
    assert "debe ser un mes como 2026-03" in response.get_data(as_text=True)
    response = client.get("/informes?desde=2026-08&hasta=2026-07")
    assert "inviértalos" in response.get_data(as_text=True)


def test_pdf_report_text(client):
    response = client.get("/informes/diagnostico.pdf?desde=2026-07&hasta=2026-08")
    assert response.mimetype == "application/pdf"
    assert "diagnostico_territorial_2026-07_2026-08.pdf" in response.headers["Content-Disposition"]
    pages = PdfReader(io.BytesIO(response.data)).pages
    text = " ".join(" ".join(p.extract_text() for p in pages).split())  # cells wrap lines
    assert "Diagnóstico territorial de inasistencia escolar" in text
    assert "Curaco de Vélez" in text and "datos del servicio" in text  # imported, not demo
    assert "Directorio Oficial de Establecimientos Mineduc 2025" in text
    assert not any(name in text for name in NAMES)


def test_gestor_gets_no_report_and_mesa_only_protected_totals(app, client):
    gestor = login(app.test_client(), app, "gestor", gestor="castro")
    assert gestor.get("/informes").status_code == 403
    mesa = login(app.test_client(), app, "mesa")
    for url in ("/informes/diagnostico.pdf", "/informes/tabla/comunas.csv", "/casos/exportar.csv"):
        assert mesa.get(url).status_code == 403, url
    page = mesa.get("/informes").get_data(as_text=True)
    assert 'id="mesa-comunas"' in page and 'id="mesa-isla"' not in page
    table = page.split('id="mesa-comunas"')[1].split("</table>")[0]
    # 3 cases in all: every non-zero count (1, 2 and the totals of 3) is below k = 10
    assert "<td>Castro</td>" in table and "<td>&lt;10</td>" in table
    assert not any(f"<td>{n}</td>" in table for n in range(1, 10))
    assert "supresión complementaria" in page and "Tasa" not in page
    csv_text = mesa.get("/informes/mesa/comunas.csv").get_data(as_text=True)
    assert csv_text.startswith("Por comuna del establecimiento,Crítica,Grave")
    assert not any(f",{n}," in csv_text or csv_text.endswith(f",{n}") for n in range(1, 10))
    assert mesa.get("/informes/mesa/escuelas.csv").status_code == 404


def test_cli_report_pdf_and_table(app, client, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    out = tmp_path / "informe.pdf"
    result = CliRunner().invoke(main, ["report", "diagnosis", "--desde", "2026-07", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 casos en la última lista)" in result.output
    assert out.read_bytes().startswith(b"%PDF")
    table = tmp_path / "comunas.csv"
    result = CliRunner().invoke(
        main, ["report", "diagnosis", "--tabla", "comunas", "-o", str(table)]
    )
    assert result.exit_code == 0, result.output
    assert "Curaco de Vélez" in table.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["report", "diagnosis", "--hasta", "agosto", "-o", str(out)])
    assert bad.exit_code == 2 and "debe ser un mes como 2026-03" in bad.output


def test_gpx_of_a_published_gestor_day(app, client):
    from tests.geo_app.planning.test_planning_app import create
    from tests.geo_app.planning.test_planning_app import wait_done

    plan_id = create(client)
    assert wait_done(client, plan_id)["estado"] == "listo"
    with app.extensions["revincula.db"]() as session:
        plan = session.get(PlanRow, plan_id)
        day = plan.result["dias"][0]
    client.post(f"/planificacion/{plan_id}/publicar",
                data={"csrf": csrf(client), "version": plan.version})  # fmt: skip
    url = f"/planificacion/{plan_id}/castro/{day['dia']}.gpx"
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    gpx = gpxpy.parse(response.get_data(as_text=True))
    assert len(gpx.waypoints) == len(day["paradas"]) >= 1
    first = day["paradas"][0]
    assert gpx.waypoints[0].name.startswith("1. ")
    assert (gpx.waypoints[0].latitude, gpx.waypoints[0].longitude) == (first["lat"], first["lon"])
    assert gpx.tracks and sum(len(s.points) for s in gpx.tracks[0].segments) > 2
    assert not any(name in response.get_data(as_text=True) for name in NAMES)
    sheet = client.get(f"/terreno?gestor=castro&dia={day['dia']}").get_data(as_text=True)
    assert url in sheet  # Mi día links to it
    assert url in client.get(f"/planificacion/{plan_id}").get_data(as_text=True)
    book = load_workbook(io.BytesIO(client.get(f"/planificacion/{plan_id}/exportar.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:6] == ("dia", "gestor_id", "gestor", "orden", "visita_id", "etiqueta")
    assert len(rows) - 1 == plan.result["totales"]["visitas"]
    assert not any(name in str(rows) for name in NAMES)
    csv_text = client.get(f"/planificacion/{plan_id}/exportar.csv").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == len(rows)
    # A gestor gets its own day only
    add_user(app, "otro.gestor", "gestor", gestor="otro")
    other = app.test_client()
    sign_in(other, "otro.gestor")
    assert other.get(url).status_code == 404
    own = login(app.test_client(), app, "gestor", username="gestora.c", gestor="castro")
    assert own.get(url).status_code == 200
    assert client.get(f"/planificacion/{plan_id}/castro/2026-03-15.gpx").status_code == 404
    assert client.get(f"/planificacion/{plan_id}/castro/15-03-2026.gpx").status_code == 400


def test_case_list_export_with_filters_formula_safe_and_audited(app, client):
    from sqlalchemy import select

    from geo_app.store.models import AuditEntry

    risky = AURORA.replace("Sector Pid Pid s/n", "=HYPERLINK(1) Pid Pid")
    _import(client, "2026-09", [risky, BRUNO, DIEGO])
    page = client.get("/casos?comuna=Castro").get_data(as_text=True)
    assert "/casos/exportar.csv?comuna=Castro" in page
    csv_text = client.get("/casos/exportar.csv?comuna=Castro").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("caso,run,nombres,apellidos,rbd,establecimiento")
    assert len(lines) == 3 and "Aurora" in csv_text and "Bruno" in csv_text
    assert "Diego" not in csv_text  # Curaco de Vélez, filtered out
    assert "'=HYPERLINK(1)" in csv_text  # a spreadsheet shows it, does not run it
    book = load_workbook(io.BytesIO(client.get("/casos/exportar.xlsx").data))
    assert book.active.max_row == 1 + 3  # as the list by default: the latest list's 3 cases
    book = load_workbook(io.BytesIO(client.get("/casos/exportar.xlsx?en_lista=todos").data))
    assert book.active.max_row == 1 + 4  # Clara too, who left the list
    with app.extensions["revincula.db"]() as session:
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.target == "lista_casos", AuditEntry.action == "exportar"
            )
        ).first()
    assert entry is not None and len(entry.case_ids.split(",")) == 2
    mesa = login(app.test_client(), app, "mesa")
    assert mesa.get("/casos/exportar.csv").status_code == 403


def test_nomina_from_the_confirmed_stages(app, client, db_url, tmp_path, monkeypatch):
    import datetime as dt

    from sqlalchemy import select

    from geo_app.cases.workflow import decide_stage
    from geo_app.scope import Scope
    from geo_app.store.models import Case
    from geo_app.store.models import Student

    admin = Scope(username="t", role="admin")
    with app.extensions["revincula.db"]() as session, session.begin():
        ids = dict(session.execute(select(Student.given_names, Case.id).join(Case)).all())

    def move(name, stage, day, reason=""):
        with app.extensions["revincula.db"]() as session, session.begin():
            case = session.get(Case, ids[name])
            decide_stage(session, admin, case.id, action="mover", stage=stage, reason=reason,
                         actor="t", now=dt.datetime.fromisoformat(f"{day}T10:00"),
                         expected_version=case.version)  # fmt: skip

    move("Aurora", "contacto", "2026-07-01")
    move("Aurora", "revinculado", "2026-07-20")  # 3 whole months by 2026-10-20
    move("Bruno", "contacto", "2026-08-01")
    page = client.get("/informes/nomina?fecha=2026-10-25").get_data(as_text=True)
    table = page.split('id="tabla-nomina"')[1].split("</table>")[0]
    assert "Aurora" in table and "Bruno" in table and "Diego" not in table  # not a participant
    assert "<td>2026-07-20</td><td>3</td>" in table and "seguimiento cumplido" in table
    assert "en proceso" in table  # Bruno: in contact, not enrolled
    book = load_workbook(io.BytesIO(client.get("/informes/nomina?fecha=2026-10-25&xlsx=1").data))
    rows = list(book["nomina"].iter_rows(values_only=True))
    assert rows[0][:3] == ("caso", "run", "nombres") and len(rows) == 3
    assert [r[0] for r in book["columnas"].iter_rows(values_only=True)][1:4] == [
        "caso", "run", "nombres"]  # fmt: skip
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    out = tmp_path / "nomina.xlsx"
    result = CliRunner().invoke(main, ["report", "nomina", "--fecha", "2026-08-15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 participantes al 15-08-2026" in result.output
    early = list(load_workbook(out)["nomina"].iter_rows(values_only=True))
    assert {r[-1] for r in early[1:]} == {"en seguimiento", "en proceso"}  # < 1 month enrolled


def _pdf_text(data: bytes, tmp_path) -> str:
    """The PDF's text as pdftotext (poppler-utils, `make pdflibs`) reads it, one line."""
    import subprocess

    path = tmp_path / "informe.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True)
    return " ".join(out.stdout.split())


def _ids(app) -> dict[str, int]:
    from sqlalchemy import select

    from geo_app.store.models import Case
    from geo_app.store.models import Student

    with app.extensions["revincula.db"]() as session:
        return dict(session.execute(select(Student.given_names, Case.id).join(Case)).all())


def _leg(kind, seconds, metres=0):
    return {"tipo": kind, "duracion_s": seconds, "distancia_m": metres, "geometria": [],
            "linea": ""}  # fmt: skip


def test_team_activity_by_hand_on_the_page_pdf_and_files(app, client, tmp_path):
    """A hand-made published plan (Monday 9 March 2026, ISO week 2026-W11) for castro:
    Aurora (drive 3600 s / 30 km, boat 1800 s), Bruno (walk 600 s / 500 m), home by road
    (1800 s / 15 km). The gestora records Aurora (guardian reached, barrier «trabajo»,
    referral to a CESFAM) and Bruno (nobody home), then corrects Bruno's record (student
    reached). By hand: 1 day, 2 planned, 2 records stand, 2 of the plan, 2 contacts, 0
    without contact, 1 with barriers, 1 referral; driving 1.5 h, boat 0.5 h, walking
    600/3600 = 0.17 → 0.2 h, 45.5 km, 1 crossing."""
    import uuid

    from geo_app.store.models import PlanStop
    from geo_app.store.models import utcnow

    ids = _ids(app)
    day = {"dia": "2026-03-09", "gestor_id": "castro", "gestor": "Gestora Castro (sintética)",
           "paradas": [{"visita_id": str(ids["Aurora"]), "tramos": [_leg("conducir", 3600, 30_000),
                                                                   _leg("barco", 1800)]},
                       {"visita_id": str(ids["Bruno"]), "tramos": [_leg("caminar", 600, 500)]}],
           "regreso": [_leg("conducir", 1800, 15_000)]}  # fmt: skip
    with app.extensions["revincula.db"]() as session, session.begin():
        plan = PlanRow(week_start=MONDAY, status="publicado", job_state="listo", inputs={},
                       result={"dias": [day]}, published_at=utcnow(), synthetic=True)  # fmt: skip
        session.add(plan)
        session.flush()
        for seq, name in enumerate(("Aurora", "Bruno")):
            session.add(PlanStop(plan_id=plan.id, case_id=ids[name], gestor_code="castro",
                                 day=MONDAY, seq=seq,
                                 start_at=dt.datetime(2026, 3, 9, 10 + seq)))  # fmt: skip
    gestora = login(app.test_client(), app, "gestor", username="gestora", gestor="castro")
    bruno = str(uuid.uuid4())
    records = [
        {"uuid": str(uuid.uuid4()), "caso": ids["Aurora"], "resultado": "contacto_apoderado",
         "barreras": ["trabajo"], "derivacion": {"tipo": "cesfam"},
         "momento_dispositivo": "2026-03-09T13:05:00Z"},
        {"uuid": bruno, "caso": ids["Bruno"], "resultado": "nadie_en_casa",
         "momento_dispositivo": "2026-03-09T14:05:00Z"},
        {"uuid": str(uuid.uuid4()), "caso": ids["Bruno"], "resultado": "contacto_estudiante",
         "corrige": bruno, "momento_dispositivo": "2026-03-10T14:05:00Z"},
    ]  # fmt: skip
    sent = gestora.post("/api/visitas", json=records, headers={"X-CSRF-Token": csrf(gestora)})
    assert sent.get_json()["guardados"] == 3, sent.get_json()
    page = client.get("/informes").get_data(as_text=True)
    visits = page.split('id="tabla-actividad"')[1].split("</table>")[0]
    assert ("<td>2026-W11</td><td>Gestora Castro (sintética)</td><td>1</td><td>2</td><td>2</td>"
            "<td>2</td><td>2</td><td>0</td><td>0</td><td>1</td><td>1</td>") in visits  # fmt: skip
    times = page.split('id="tabla-actividad-tiempos"')[1].split("</table>")[0]
    assert ("<td>1.5</td><td>0.2</td><td>0.5</td><td>0.0</td><td>0.0</td><td>45.5</td>"
            "<td>1</td>") in times  # fmt: skip
    barriers = page.split('id="tabla-barreras"')[1].split("</table>")[0]
    assert "<td>Trabajo (propio o en el hogar)</td><td>1</td>" in barriers
    assert "<td>CESFAM o CECOSF</td><td>1</td>" in page.split('id="tabla-derivaciones"')[1]
    assert not any(name in page for name in NAMES)
    own = client.get("/informes/actividad?desde=2026-03&hasta=2026-03").get_data(as_text=True)
    assert 'id="tabla-actividad"' in own and "2026-W11" in own
    later = client.get("/informes/actividad?desde=2026-04").get_data(as_text=True)
    assert "2026-W11" not in later
    book = load_workbook(io.BytesIO(client.get("/informes/tabla/actividad.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("Semana ISO", "Lunes", "Gestor", "Días planificados",
                       "Visitas planificadas", "Visitas registradas",
                       "Planificadas y registradas", "Con contacto", "Sin contacto",
                       "Dirección errónea o mudanza", "Con barreras", "Derivaciones",
                       "Conduciendo (h, plan)", "A pie (h, plan)", "En barco (h, plan)",
                       "En bus o colectivo (h, plan)", "Esperando (h, plan)", "Km (plan)",
                       "Cruces en barco (plan)")  # fmt: skip
    assert rows[1] == ("2026-W11", "2026-03-09", "Gestora Castro (sintética)", 1, 2, 2, 2, 2,
                       0, 0, 1, 1, 1.5, 0.2, 0.5, 0, 0, 45.5, 1)  # fmt: skip
    csv_text = client.get("/informes/tabla/barreras.csv").get_data(as_text=True)
    assert csv_text.splitlines() == ["Semana ISO,Gestor,Barrera,Visitas",
                                     "2026-W11,Gestora Castro (sintética),"
                                     "Trabajo (propio o en el hogar),1"]  # fmt: skip
    text = _pdf_text(client.get("/informes/diagnostico.pdf").data, tmp_path)
    assert "Actividad del equipo por semana y gestor" in text
    assert "Trabajo (propio o en el hogar)" in text and "CESFAM o CECOSF" in text
    assert not any(name in text for name in NAMES)


def test_nomina_due_dates_delivery_by_download_and_late_flag(app, client, db_url, tmp_path,
                                                             monkeypatch):  # fmt: skip
    from sqlalchemy import select

    from geo_app.store.models import AuditEntry

    # No setting: the project starts with the first list (2026-07-01); initial due 01-11-2026.
    page = client.get("/informes/nomina").get_data(as_text=True)
    dues = page.split('id="tabla-plazos"')[1].split("</table>")[0]
    assert "mes de la primera lista importada (2026-07)" in page
    assert "<td>Nómina inicial</td><td>01-11-2026</td>" in dues and "Pendiente" in dues
    assert "Atrasada" not in dues
    # Started 2026-03-01, seen on 2026-08-01: the initial nómina was due 01-07-2026.
    app.config.update(PROJECT_START="2026-03-01", TODAY=dt.date(2026, 8, 1))
    page = client.get("/informes/nomina").get_data(as_text=True)
    dues = page.split('id="tabla-plazos"')[1].split("</table>")[0]
    assert (
        "<td>Nómina inicial</td><td>01-07-2026</td><td>—</td><td><strong>Atrasada</strong>" in dues
    )
    assert 'id="nominas-atrasadas"' in page
    assert client.get("/informes/nomina?xlsx=1").status_code == 200  # the delivery
    with app.extensions["revincula.db"]() as session:
        at = session.scalars(
            select(AuditEntry.at).where(
                AuditEntry.target == "nomina", AuditEntry.action == "exportar"
            )
        ).one()
    from geo_app.reports.service import _local_day

    delivered = _local_day(at)
    page = client.get("/informes/nomina").get_data(as_text=True)
    dues = page.split('id="tabla-plazos"')[1].split("</table>")[0]
    assert (f"<td>Nómina inicial</td><td>01-07-2026</td><td>{delivered:%d-%m-%Y}</td>"
            "<td><strong>Atrasada</strong> (entregada después del plazo)") in dues  # fmt: skip
    app.config["PROJECT_START"] = "marzo"
    bad = client.get("/informes/nomina")
    assert bad.status_code == 400 and "REVINCULA_PROJECT_START" in bad.get_data(as_text=True)
    # The command writes the nómina, audits it as a delivery and names late nóminas.
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_PROJECT_START", "2025-01-01")
    out = tmp_path / "nomina.xlsx"
    result = CliRunner().invoke(main, ["report", "nomina", "--fecha", "2026-08-15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Atrasada: Nómina inicial (vencía el 01-05-2025)" in result.output
    with app.extensions["revincula.db"]() as session:
        cli = session.scalars(
            select(AuditEntry).where(AuditEntry.username == "cli", AuditEntry.target == "nomina")
        ).one()
    assert cli.action == "exportar" and "2026-08-15" in cli.detail


def test_summary_downloads_with_totals_and_the_mesa_gets_no_identity(app, client):
    # Latest list by home comuna: Castro Aurora (crítica) and Bruno (normal); Curaco de
    # Vélez Diego (crítica); all three located.
    csv_text = client.get("/resumen/exportar.csv").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0] == ("Comuna del domicilio,Total,Ubicados,Crítica,Grave,Reiterada,"
                        "Sin matrícula,Normal,Destacada,Sin dato")  # fmt: skip
    assert lines[1:] == ["Castro,2,2,1,0,0,0,1,0,0", "Curaco de Vélez,1,1,1,0,0,0,0,0,0",
                         "Total,3,3,2,0,0,0,1,0,0"]  # fmt: skip
    assert "/resumen/exportar.xlsx" in client.get("/resumen").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(client.get("/resumen/exportar.xlsx").data)).active
    assert sheet.title == "resumen" and sheet.max_row == 4
    assert [c.value for c in sheet[4]][:3] == ["Total", 3, 3]
    mesa = login(app.test_client(), app, "mesa")
    runs = ("90000001", "90.000.001", "90.000.002", "90.000.004")
    for url in ("/resumen/exportar.csv", "/informes/mesa/comunas.csv"):
        text = mesa.get(url).get_data(as_text=True)
        assert "<10" in text and "Total,3" not in text, url
        assert not any(n in text for n in NAMES) and not any(r in text for r in runs), url
        assert not any(f",{n}," in text or text.rstrip().endswith(f",{n}") for n in range(1, 10))
    for url in ("/resumen/exportar.xlsx", "/informes/mesa/comunas.xlsx"):
        cells = [v for row in load_workbook(io.BytesIO(mesa.get(url).data)).active.iter_rows(
            values_only=True) for v in row]  # fmt: skip
        assert not any(isinstance(v, int) and 0 < v < 10 for v in cells), url
        assert not any(str(v).startswith(NAMES) or str(v)[:2] == "90" for v in cells), url
