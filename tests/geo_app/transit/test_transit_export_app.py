"""The app's GTFS export carries the imported feeds too (`geo_app.transit.service.export_feed`).

Stored: the hand-made Chiloé feed of `tests.routing.transit_chiloe` (imported,
dated 2026) and the demo's entered line; the export re-imported as one feed
gives the same journeys as the stored timetables. SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from geo_app import create_app
from geo_app.demo.seed import DEMO_LINES
from geo_app.demo.seed import DEMO_STOPS
from geo_app.transit import service
from geo_app.travel import app_model
from geo_app.travel import stored_feeds
from routing.gtfs import read_gtfs
from routing.transit import TransitModel
from tests.accounts import login
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import DALCAHUE_PLAZA
from tests.routing.transit_chiloe import MOCOPULLI
from tests.routing.transit_chiloe import write_feed


@pytest.fixture
def app(db_url, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": db_url})
    territory = app.extensions["revincula.territory"]
    with app.extensions["revincula.db"]() as session, session.begin():
        data = write_feed(tmp_path, name="buses-chiloe.zip").read_bytes()
        service.import_feed(session, data, "buses-chiloe.zip", territory=territory,
                            source="prueba")  # fmt: skip
        service.save_lines(session, DEMO_STOPS, DEMO_LINES, version="*", actor="prueba")
    yield app
    app.extensions["revincula.engine"].dispose()


def _key(journey):
    return (
        journey.arrive_at,
        tuple((leg.kind, leg.start, leg.end, leg.depart_at) for leg in journey.legs),
    )


def test_export_with_the_imported_feed_reimports_to_the_same_journeys(app, tmp_path):
    path = tmp_path / "todo.zip"
    with app.extensions["revincula.db"]() as session:
        counts = service.export_feed(
            session, app.extensions["revincula.territory"], path,
            valid_from=dt.date(2026, 3, 1), valid_to=dt.date(2026, 3, 31),
        )  # fmt: skip
        stored = stored_feeds(session)
    assert counts["gtfs_importados"] == ["buses-chiloe"] and counts["lineas_importadas"] == 1
    reread = read_gtfs(path, territory=service.territory_box(app.extensions["revincula.territory"]))
    assert {"R1", "castro-dalcahue"} <= set(reread.routes["route_id"])
    base = app_model(app)
    direct = TransitModel(base, stored)
    again = TransitModel(base, [reread], boats=False)
    # Tuesday 10 March 06:50, Terminal Castro (imported) to Dalcahue Plaza: the imported
    # LV-0700 bus, 07:00 -> 07:40 (the entered line leaves from its own stop, 140 m away)
    j = again.journey(CASTRO, DALCAHUE_PLAZA, dt.datetime(2026, 3, 10, 6, 50))
    assert [(leg.kind, leg.depart_at.strftime("%H:%M")) for leg in j.legs][:2] == [
        ("espera", "06:50"),
        ("bus", "07:00"),
    ]
    bus = j.legs[1]
    assert (bus.line_id, bus.service_id, bus.arrive_at) == (
        "R1",
        "LV-0700",
        dt.datetime(2026, 3, 10, 7, 40),
    )
    places = [CASTRO, MOCOPULLI, DALCAHUE_PLAZA, base.find_place("Achao")[:2],
              base.find_place("Curaco de Vélez")[:2]]  # fmt: skip
    compared = 0
    for day in (10, 14, 15):  # Tuesday, Saturday, Sunday 15 (the imported exception)
        for hhmm in ("00:00", "06:50", "09:10", "13:45"):
            when = dt.datetime(2026, 3, day, *map(int, hhmm.split(":")))
            for a in places:
                for b in places:
                    if a != b:
                        assert _key(direct.journey(a, b, when)) == _key(again.journey(a, b, when))
                        compared += 1
    assert compared == 240


def test_the_page_export_holds_the_imported_feed(app):
    client = login(app.test_client(), app, "profesional")
    exported = client.get("/transporte/exportar.zip")
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.data)) as zf:
        routes = zf.read("routes.txt").decode()
        sources = zf.read("revincula_fuentes.txt").decode()
    assert "R1" in routes and "castro-dalcahue" in routes
    assert "R1,horario,GTFS buses-chiloe: prueba" in sources
