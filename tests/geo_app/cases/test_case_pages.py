"""Case pages through Flask: upload → preview → confirm, list, detail, pins, map layer."""

from __future__ import annotations

import io
import re

import pytest

from geo_app import create_app
from tests.accounts import csrf
from tests.accounts import login
from tests.lists import HEADER

ANA = "12.345.678-5;Ana;Pérez Soto;07/03/2012;8001;7° básico;80,5;Sector Pid Pid s/n;Castro\r\n"
LUIS = "7.654.321-6;Luis;Gómez;01/06/2011;8169;8° básico;45;Sector Huyar Alto;Curaco de Vélez\r\n"
BAD = "11.111.111-2;Sin;Dígito;01/06/2011;99999;8° básico;170;x;Castro\r\n"


@pytest.fixture
def client(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    client = login(app.test_client(), app)
    yield client
    from geo_app import jobs

    jobs.join_all()  # an import job still finishing would hold a connection past the dispose
    for engine_owner in (app.extensions["revincula.db"],):
        engine_owner.kw["bind"].dispose()


def upload(client, text: str, name="lista.csv", mes="2026-08"):
    data = {"csrf": csrf(client), "mes": mes, "archivo": (io.BytesIO(text.encode("utf-8")), name)}
    response = client.post("/importar", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


def confirm(client, preview_url: str, only_valid=False):
    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    return client.post(
        f"/importar/{token}/confirmar",
        data={"csrf": csrf(client), "solo_validas": "1" if only_valid else "0"},
    )


def test_upload_preview_confirm_and_browse(client):
    preview = upload(client, HEADER + ANA + LUIS)
    page = client.get(preview).get_data(as_text=True)
    assert 'id="n-valid">2<' in page and 'id="n-new">2<' in page
    assert "Importar las 2 filas" in page
    done = confirm(client, preview)
    assert done.status_code == 302 and "/importar/lote/" in done.headers["Location"]
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "2</b> nuevos" in report
    listing = client.get("/casos").get_data(as_text=True)
    assert "Ana Pérez Soto" in listing and "Inasistencia crítica" in listing
    assert "12.345.678-5" in listing
    only_critical = client.get("/casos?categoria=critica").get_data(as_text=True)
    assert "Luis Gómez" in only_critical and "Ana Pérez" not in only_critical
    by_comuna = client.get("/casos?comuna=Castro").get_data(as_text=True)
    assert "Ana Pérez" in by_comuna and "Luis Gómez" not in by_comuna
    searched = client.post("/casos/buscar", data={"csrf": csrf(client), "q": "7654321"})
    assert "7654321" not in searched.headers["Location"]  # the search stays on the server
    by_search = client.get(searched.headers["Location"]).get_data(as_text=True)
    assert "Luis Gómez" in by_search and "Ana Pérez" not in by_search
    assert "Ana Pérez" in client.get("/casos?q=7654321").get_data(as_text=True)  # q ignored
    case_id = re.search(r'href="/casos/(\d+)">12\.345', listing).group(1)
    detail = client.get(f"/casos/{case_id}").get_data(as_text=True)
    assert "2026-08" in detail and "Sector o localidad reconocido" in detail
    layer = client.get("/api/casos.geojson").get_json()
    assert len(layer["features"]) == 2
    props = layer["features"][0]["properties"]
    assert set(props) == {
        "id",
        "categoria",
        "prioridad",
        "metodo",
        "confianza",
        "comuna",
        "rbd",
        "sintetico",
    }  # fmt: skip  (no names on the map layer)


def test_file_with_errors_offers_only_valid_rows_and_a_download(client):
    preview = upload(client, HEADER + ANA + BAD)
    page = client.get(preview).get_data(as_text=True)
    # only Spanish for the user: the messages, never the internal codes behind them
    assert "no está en el directorio Mineduc" in page and "dígito verificador" in page
    assert "fuera de 0 a 100 %" in page
    assert "rbd_unknown" not in page and "run_check_digit" not in page
    assert "attendance_range" not in page
    assert "Importar las" not in page and "Importar solo la fila válida" in page
    token = preview.rsplit("/", 1)[-1]
    rejected = client.get(f"/importar/{token}/rechazadas.csv")
    text = rejected.data.decode("utf-8-sig")
    assert text.splitlines()[1].startswith("3;11.111.111-2")
    refused = confirm(client, preview, only_valid=False)  # a tampered form: still all-or-nothing
    assert refused.status_code == 302
    follow = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "no se importó nada" in follow
    assert client.get("/api/casos.geojson").get_json()["features"] == []
    assert confirm(client, preview, only_valid=True).status_code == 302
    assert len(client.get("/api/casos.geojson").get_json()["features"]) == 1


def test_unknown_headers_go_through_the_mapping_step(client):
    text = "Codigo;Alumno;Colegio;Pct\r\n12345678-5;Ana Pérez;8001;70\r\n"
    preview = upload(client, text)
    page = client.get(preview).get_data(as_text=True)
    assert "Asignar columnas" in page and "Faltan columnas obligatorias" in page
    assert "missing_columns" not in page
    token = preview.rsplit("/", 1)[-1]
    form = {"csrf": csrf(client), "col0": "run", "col1": "nombre_completo", "col2": "rbd",
            "col3": "asistencia"}  # fmt: skip
    assert client.post(f"/importar/{token}/columnas", data=form).status_code == 302
    page = client.get(preview).get_data(as_text=True)
    assert "Importar la fila" in page
    # the next file with the same headers needs no mapping
    again = client.get(upload(client, text)).get_data(as_text=True)
    assert "Importar la fila" in again


def test_unreadable_upload_and_missing_csrf(client):
    preview = upload(client, "", name="vacio.csv")
    response = client.get(preview)
    assert response.status_code == 422 and "vacío" in response.get_data(as_text=True)
    no_token = client.post("/importar", data={"mes": "2026-08"})
    assert no_token.status_code == 400


def test_pin_move_from_the_page(client):
    confirm(client, upload(client, HEADER + ANA))
    layer = client.get("/api/casos.geojson").get_json()
    case_id = layer["features"][0]["properties"]["id"]
    form = {"csrf": csrf(client), "lat": "-42.47", "lon": "-73.70", "version": "1"}
    assert client.post(f"/casos/{case_id}/ubicacion", data=form).status_code == 302
    detail = client.get(f"/casos/{case_id}").get_data(as_text=True)
    assert "Ubicado a mano en el mapa" in detail and "admin.prueba" in detail
    stale = client.post(f"/casos/{case_id}/ubicacion", data=form | {"lon": "-73.71"})
    assert stale.status_code == 409
    assert "Otra persona" in client.get(f"/casos/{case_id}").get_data(as_text=True)


def test_a_check_digit_column_under_an_unknown_header_is_asked_for(client):
    # «Control» holds the RUN's check digit (90000004 → 9): the page asks for its mapping
    text = "RUN;Control;Nombres;RBD;Asistencia\r\n90000004;9;Julia;8001;40\r\n"
    preview = upload(client, text)
    page = client.get(preview).get_data(as_text=True)
    assert "Asignar columnas" in page and "parece ser el dígito verificador" in page
    token = preview.rsplit("/", 1)[-1]
    form = {"csrf": csrf(client), "col0": "run", "col1": "dv", "col2": "nombres", "col3": "rbd",
            "col4": "asistencia"}  # fmt: skip
    assert client.post(f"/importar/{token}/columnas", data=form).status_code == 302
    assert "Importar la fila" in client.get(preview).get_data(as_text=True)


def test_a_header_only_file_offers_nothing_to_import(client):
    page = client.get(upload(client, HEADER)).get_data(as_text=True)
    assert "Todas las filas son válidas" not in page
    assert "solo trae el encabezado" in page and "No hay nada que importar" in page


def _drop_from_latest_list(client, name: str) -> None:
    from sqlalchemy import select

    from geo_app.store.models import Case
    from geo_app.store.models import Student

    with client.application.extensions["revincula.db"]() as session, session.begin():
        case = session.scalar(select(Case).join(Student).where(Student.given_names == name))
        case.in_latest_list = False


def test_default_list_counts_what_the_map_counts_and_says_so(client):
    confirm(client, upload(client, HEADER + ANA + LUIS))
    _drop_from_latest_list(client, "Luis")
    listing = client.get("/casos").get_data(as_text=True)
    assert "Casos en la última lista" in listing
    assert re.search(r'id="cases-total">1<', listing)
    assert "Ana Pérez" in listing and "Luis Gómez" not in listing
    assert "<b>1</b> más ya no está en la lista" in listing
    gone = client.get("/casos?en_lista=no").get_data(as_text=True)
    assert "Casos que ya no están en la última lista" in gone
    assert "Luis Gómez" in gone and "Ana Pérez" not in gone
    both = client.get("/casos?en_lista=todos").get_data(as_text=True)
    assert "Luis Gómez" in both and "Ana Pérez" in both
    assert re.search(r'id="cases-total">2<', both)
    # The map's panel counts the same cases as the default list, and says how many are drawn.
    panel = client.get("/").get_data(as_text=True)
    counted = r"id=.count-cases.><b>1</b> caso en la última lista, <b>1</b> en el mapa"
    assert re.search(counted, panel)
    assert "de 281 en el directorio Mineduc 2025; 1 sin coordenadas" in panel


def test_pages_past_the_end_are_clamped_and_empty_lists_say_why(client):
    empty = client.get("/casos?pagina=99999").get_data(as_text=True)
    assert "Página 99999" not in empty
    assert "Todavía no hay casos" in empty and "Importe una lista" in empty
    confirm(client, upload(client, HEADER + ANA + LUIS))
    far = client.get("/casos?pagina=99999").get_data(as_text=True)
    assert "La página 99999 no existe: se muestra la página 1 de 1" in far
    assert "Ana Pérez" in far
    none = client.get("/casos?comuna=Quellón").get_data(as_text=True)
    assert "Ningún caso coincide con estos filtros" in none
    assert "Importe una lista" not in none
    negative = client.get("/casos?pagina=-3").get_data(as_text=True)
    assert "Ana Pérez" in negative
