"""Places page, case pins that confirm a sector, and the case list's location columns (Flask).

Cases and place names are synthetic (RUNs 90.000.011–90.000.014).
"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import GazetteerRow
from geo_app.store.models import Student
from tests.accounts import csrf
from tests.accounts import login

HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"
ROWS = (
    "90.000.011-1;Ada;Sintética;07/03/2012;8001;7° básico;40;Sector Nueva Esperanza s/n;Castro\r\n"
    "90.000.013-8;Leo;Sintético;01/06/2011;8001;8° básico;45;Sector Pid Pid s/n;Castro\r\n"
    "90.000.014-6;Mar;Sintética;01/06/2011;8001;8° básico;45;Pid Pid casa 4;Castro\r\n"
)
PID_ID = "castro|localidad|pid pid"


@pytest.fixture
def app(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    yield app
    app.extensions["revincula.engine"].dispose()


@pytest.fixture
def client(app):
    client = login(app.test_client(), app)
    data = {"csrf": csrf(client), "mes": "2026-10",
            "archivo": (io.BytesIO((HEADER + ROWS).encode()), "lista.csv")}  # fmt: skip
    preview = client.post("/importar", data=data, content_type="multipart/form-data")
    token = preview.headers["Location"].rsplit("/", 1)[-1]
    done = client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(client)})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return client


def case_of(app, run: int) -> Case:
    with app.extensions["revincula.db"]() as session:
        return session.scalar(select(Case).join(Student).where(Student.run == run))


def rows(app) -> list[GazetteerRow]:
    with app.extensions["revincula.db"]() as session:
        return session.scalars(select(GazetteerRow).order_by(GazetteerRow.id)).all()


def flashes(client) -> str:
    return client.get("/lugares").get_data(as_text=True)


def test_only_staff_open_the_places_page(app):
    mesa = login(app.test_client(), app, "mesa")  # the gestor is in tests/geo_app/test_access.py
    assert mesa.get("/lugares").status_code == 403
    assert mesa.get("/api/lugares.geojson").status_code == 403
    prof = login(app.test_client(), app, "profesional")
    page = prof.get("/lugares?q=pid").get_data(as_text=True)
    assert "Pid Pid" in page and "Fuentes del nomenclátor" in page
    assert "Who&#39;s On First" in page and "GeoNames (http://www.geonames.org, CC-BY)" in page


def test_search_select_see_conflict_and_map_layer(client):
    page = client.get("/lugares?filtro=conflictos").get_data(as_text=True)
    assert "Chacao Viejo" in page and "6,8 km" in page
    chosen = client.get("/lugares?lugar=ancud|localidad|chacao viejo").get_data(as_text=True)
    assert 'id="place-conflict"' in chosen and "otra fuente lo ubica a 6,8 km" in chosen
    assert "WOF 1243145973" in chosen and "lejos del resto" in chosen
    layer = client.get("/api/lugares.geojson?q=chacao viejo&lugar=ancud|localidad|chacao viejo")
    features = layer.get_json()["features"]
    places = [f for f in features if not f["properties"].get("entrada")]
    entries = [f for f in features if f["properties"].get("entrada")]
    assert places[0]["properties"]["conflicto"] and places[0]["properties"]["seleccionado"]
    assert {e["properties"]["ref"] for e in entries} == {"WOF 102018001", "WOF 1243145973"}
    assert client.get("/lugares?lugar=nada|localidad|nada").status_code == 404


def test_import_from_the_page_all_or_nothing(client, app):
    bad = "nombre;comuna;lat;lon;fuente\r\nX;Castro;-42,52;;sintético\r\nY;Osorno;-42,5;-73,7;s\r\n"
    client.post("/lugares/importar", content_type="multipart/form-data", data={
        "csrf": csrf(client), "archivo": (io.BytesIO(bad.encode()), "malo.csv")})  # fmt: skip
    page = flashes(client)
    assert "Fila 2: falta la longitud" in page
    assert "malo.csv: 2 problemas; no se guardó nada" in page
    assert rows(app) == []
    good = "nombre;comuna;lat;lon;fuente\r\nNueva Esperanza;Castro;-42,52;-73,70;sintético\r\n"
    client.post("/lugares/importar", content_type="multipart/form-data", data={
        "csrf": csrf(client), "archivo": (io.BytesIO(good.encode()), "ine.csv")})  # fmt: skip
    page = flashes(client)
    assert "ine.csv: 1 lugar válido" in page and "1 caso reubicado" in page
    assert [r.name for r in rows(app)] == ["Nueva Esperanza"]
    assert case_of(app, 90000011).geocode_method == "localidad"
    with app.extensions["revincula.db"]() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target == "nomenclator")).all()
        assert audit[-1].case_ids == str(case_of(app, 90000011).id)


def test_correct_a_place_from_the_page_moves_its_cases(client, app):
    form = {"csrf": csrf(client), "lugar": PID_ID, "lat": "-42.415", "lon": "-73.765", "q": "pid"}
    response = client.post("/lugares/corregir", data=form)
    assert response.status_code == 302 and "q=pid" in response.headers["Location"]
    assert "Pid Pid corregido: 2 casos reubicados" in flashes(client)
    for run in (90000013, 90000014):
        case = case_of(app, run)
        assert (case.lat, case.lon) == pytest.approx((-42.415, -73.765))
        assert case.geocode_method == "confirmado"
    history = client.get(f"/casos/{case_of(app, 90000013).id}").get_data(as_text=True)
    assert "lugar Pid Pid corregido" in history
    bad = client.post("/lugares/corregir", data={"csrf": csrf(client), "lugar": PID_ID,
                                                 "lat": "-42.1", "lon": "-73.1"})  # fmt: skip
    assert bad.status_code == 400 and "en el mar" in bad.get_data(as_text=True)


def test_an_account_of_another_comuna_sees_but_cannot_change(app, client):
    ancud = login(app.test_client(), app, "profesional", username="p.ancud", comunas="Ancud")
    page = ancud.get(f"/lugares?lugar={PID_ID}").get_data(as_text=True)
    assert "fuera de las comunas de su cuenta" in page and 'id="correct-form"' not in page
    refused = ancud.post("/lugares/corregir", data={
        "csrf": csrf(ancud), "lugar": PID_ID, "lat": "-42.415", "lon": "-73.765"})  # fmt: skip
    assert refused.status_code == 403
    retire = {"csrf": csrf(ancud), "ref": "WOF 1293071993"}
    assert ancud.post("/lugares/retirar", data=retire).status_code == 403


def test_retire_and_restore_from_the_page(client, app):
    client.post("/lugares/retirar", data={"csrf": csrf(client), "ref": "WOF 1293071993"})
    (row,) = rows(app)
    assert row.kind == "retiro" and row.created_by == "admin.prueba"
    page = flashes(client)
    assert "WOF 1293071993 retirada" in page and "Deshacer retiro" in page
    client.post(f"/lugares/restaurar/{row.id}", data={"csrf": csrf(client)})
    assert rows(app)[0].retired


def test_a_pin_on_a_case_confirms_its_sector_for_the_others(client, app):
    leo = case_of(app, 90000013)
    page = client.get(f"/casos/{leo.id}").get_data(as_text=True)
    assert 'id="pin-sector" value="Pid Pid"' in page and 'id="pin-gps"' in page
    # Pid Pid: three sources within 263 m, written out: «alta» (layers.geocode)
    assert 'id="geocode-confidence"><span class="badge conf-level conf-level-alta">alta<' in page
    assert "DEIS 133547" in page  # the point's source
    client.post(f"/casos/{leo.id}/ubicacion", data={
        "csrf": csrf(client), "lat": "-42.41", "lon": "-73.77", "version": str(leo.version),
        "confirmar": "1", "sector": "Pid Pid"})  # fmt: skip
    page = client.get(f"/casos/{leo.id}").get_data(as_text=True)
    assert "Sector «Pid Pid» confirmado en este punto" in page
    assert "1 caso más reubicado" in page
    assert "Lugares confirmados desde este caso" in page
    mar = case_of(app, 90000014)
    assert mar.geocode_method == "confirmado"
    assert (mar.lat, mar.lon) == pytest.approx((-42.41, -73.77))
    (row,) = rows(app)
    assert (row.origin, row.case_id, row.created_by) == ("pin", leo.id, "admin.prueba")
    team = client.get("/lugares?filtro=equipo").get_data(as_text=True)
    assert "confirmado (pin)" in team and f"caso {leo.id}" in team


def test_a_poor_gps_fix_keeps_the_pin_and_says_why_no_sector(client, app):
    leo = case_of(app, 90000013)
    client.post(f"/casos/{leo.id}/ubicacion", data={
        "csrf": csrf(client), "lat": "-42.41", "lon": "-73.77", "version": str(leo.version),
        "precision": "240", "confirmar": "1", "sector": "Pid Pid"})  # fmt: skip
    page = client.get(f"/casos/{leo.id}").get_data(as_text=True)
    assert "Ubicación guardada (GPS)" in page
    assert "El sector no quedó confirmado: la precisión del GPS es de 240 m" in page
    assert rows(app) == [] and case_of(app, 90000013).geocode_match == "GPS ±240 m"


def test_the_case_list_shows_method_confidence_source_and_offers_low_confidence_first(client):
    listing = client.get("/casos").get_data(as_text=True)
    assert "<th>Ubicación: método, confianza y fuente</th>" in listing
    # Ada: the school (baja); Leo and Mar: Pid Pid, corroborated and written out (alta)
    assert "confianza baja" in listing and "confianza alta" in listing
    assert re.search(r"conf-level-alta\">alta: 2<", listing)
    assert re.search(r"conf-level-baja\">baja: 1<", listing)
    assert "fuente: RBD 8001" in listing and "DEIS 133547" in listing
    assert re.search(r'id="pin-first" href="/casos\?confianza=baja&amp;orden=confianza"', listing)
    first = client.get("/casos?orden=confianza").get_data(as_text=True)
    names = re.findall(r"<td>(\w+) Sint", first)
    assert names == ["Ada", "Leo", "Mar"] or names == ["Ada", "Mar", "Leo"]  # baja first
    only_low = client.get("/casos?confianza=baja&orden=confianza").get_data(as_text=True)
    assert "Ada Sintética" in only_low and "Leo Sintético" not in only_low
    only_high = client.get("/casos?confianza=alta").get_data(as_text=True)
    assert "Leo Sintético" in only_high and "Mar Sintética" in only_high
    assert "Ada Sintética" not in only_high
    assert "bench/geocode.py" in listing  # where the meaning of each level is measured


def test_the_map_sources_panel_shows_the_gazetteer_licence_and_attribution(client):
    page = client.get("/").get_data(as_text=True).replace("&#39;", "'")
    assert 'id="source-wof"' in page and "CC0 + CC-BY (GeoNames, Quattroshapes)" in page
    assert "Global Map of Chile" in page
    assert "Datos de Who's On First (licencia:" in page and "Data from" not in page


def test_the_places_page_shows_an_example_file_that_imports(client, app):
    page = client.get("/lugares").get_data(as_text=True).replace("&#39;", "'")
    assert 'id="import-example"' in page and "nombre;comuna;lat;lon;fuente" in page
    assert "Datos de Who's On First (licencia:" in page and "Includes data" not in page
    example = client.get("/lugares/ejemplo.csv")
    assert example.status_code == 200 and example.mimetype == "text/csv"
    text = example.data.decode("utf-8-sig")
    assert text.splitlines()[1] in page and "ejemplo sintético" in text
    # the example is a valid file: a review (nothing saved) accepts its two rows
    client.post("/lugares/importar", content_type="multipart/form-data", data={
        "csrf": csrf(client), "revisar": "1",
        "archivo": (io.BytesIO(example.data), "nomenclator_ejemplo.csv")})  # fmt: skip
    assert "nomenclator_ejemplo.csv: 2 lugares válidos, 0 ya estaban." in flashes(client)
    assert rows(app) == []
