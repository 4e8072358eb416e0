"""/api/alcance: the map's isochrone in each travel mode, «transporte público» included.

The demo's entered bus line (every value `supuesto`) leaves «Terminal rural
Castro (demo)» (-42.4797, -73.7640) every 30 min from 07:00 and reaches
«Dalcahue centro (demo)» (-42.3777, -73.6510) 40 min later. Leaving the
terminal at 06:55 on Tuesday 10 March 2026 with 60 min: bus 07:00 -> 07:40,
then 15 min of walking around Dalcahue centro, so the area holds Dalcahue
centro; on foot the 15 km to Dalcahue take more than 3 h, so it does not.
SQLite and PostgreSQL.
"""

from __future__ import annotations

import html

import pytest
import shapely
from shapely.geometry import shape

from geo_app import create_app
from geo_app.demo.seed import DEMO_LINES
from geo_app.demo.seed import DEMO_STOPS
from geo_app.transit import service
from routing.transit import NO_TRANSIT_REASON
from tests.accounts import login

QUERY = {"desde": "-42.4797,-73.7640", "minutos": "60", "salida": "2026-03-10 06:55"}
DALCAHUE_CENTRO = shapely.Point(-73.6510, -42.3777)


@pytest.fixture
def app(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    yield app
    app.extensions["revincula.engine"].dispose()


def test_isochrone_by_bus_and_on_foot_and_unavailable_without_timetable(app):
    client = login(app.test_client(), app, "mesa")
    refused = client.get("/api/alcance", query_string={**QUERY, "modo": "transporte_publico"})
    assert refused.status_code == 400 and refused.get_json()["error"] == NO_TRANSIT_REASON
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert 'id="isochrone-button"' in page and "no inventa horarios" in page
    with app.extensions["revincula.db"]() as session, session.begin():
        service.save_lines(session, DEMO_STOPS, DEMO_LINES, version="*", actor="prueba")
    by_bus = client.get("/api/alcance", query_string={**QUERY, "modo": "transporte_publico"})
    assert by_bus.status_code == 200, by_bus.get_json()
    body = by_bus.get_json()
    props = body["properties"]
    assert props["modo_etiqueta"] == "Transporte público" and props["lineas"] == [
        "Castro - Dalcahue (supuesto)"
    ]
    assert props["red_aproximada"] and "lineas-ingresadas" in props["fuente_red"]
    bus_area = shape(body["geometry"])
    assert bus_area.contains(DALCAHUE_CENTRO)
    on_foot = client.get("/api/alcance", query_string={**QUERY, "modo": "a_pie"}).get_json()
    foot_area = shape(on_foot["geometry"])
    assert on_foot["properties"]["modo"] == "a_pie" and on_foot["properties"]["lineas"] == []
    assert not foot_area.contains(DALCAHUE_CENTRO)
    assert bus_area.buffer(1e-9).contains(foot_area)  # the bus only adds to the walk
    # on Sunday the demo line does not run: the area is the walk's, and it says why
    on_sunday = {**QUERY, "salida": "2026-03-15 06:55", "modo": "transporte_publico"}
    sunday = client.get("/api/alcance", query_string=on_sunday).get_json()
    assert not shape(sunday["geometry"]).contains(DALCAHUE_CENTRO)
    assert "Ningún horario de buses o colectivos" in sunday["properties"]["aviso"]


def test_bad_minutes_and_places_are_explained(app):
    client = login(app.test_client(), app, "profesional")
    for minutes in ("0", "999", "una hora"):
        bad = client.get(
            "/api/alcance", query_string={**QUERY, "minutos": minutes, "modo": "a_pie"}
        )
        assert bad.status_code == 400 and "entre 1 y 240" in bad.get_json()["error"]
    nowhere = client.get("/api/alcance", query_string={**QUERY, "desde": "Atlántida"})
    assert nowhere.status_code == 400 and nowhere.get_json()["error"]
