"""Reading, validating, entering and exporting timetables (`routing.gtfs`, `routing.lines`)."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from routing._errors import RoutingInputError
from routing.boats import Suspension
from routing.boats import parse_timetable
from routing.gtfs import GtfsError
from routing.gtfs import read_gtfs
from routing.gtfs import timetable_feed
from routing.gtfs import write_gtfs
from routing.lines import parse_lines
from routing.model import TravelModel
from routing.transit import TransitModel
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import DALCAHUE_PLAZA
from tests.routing.transit_chiloe import DALCAHUE_RAMP
from tests.routing.transit_chiloe import FEED_FILES
from tests.routing.transit_chiloe import FERRY
from tests.routing.transit_chiloe import MOCOPULLI
from tests.routing.transit_chiloe import QUINCHAO_HOUSE
from tests.routing.transit_chiloe import QUINCHAO_RAMP
from tests.routing.transit_chiloe import at
from tests.routing.transit_chiloe import network
from tests.routing.transit_chiloe import north
from tests.routing.transit_chiloe import write_feed

TERRITORY = (-73.90, -42.60, -73.40, -42.30)


def _broken(tmp_path, **changes):
    files = dict(FEED_FILES)
    for name, text in changes.items():
        file = name.replace("_txt", ".txt")
        if text is None:
            files.pop(file)
        else:
            files[file] = text
    return write_feed(tmp_path, files, name="roto.zip")


def test_missing_files_are_listed_together(tmp_path):
    path = _broken(tmp_path, stops_txt=None, calendar_txt=None, calendar_dates_txt=None)
    with pytest.raises(GtfsError) as err:
        read_gtfs(path)
    assert len(err.value.problems) == 2
    assert "falta el archivo stops.txt" in str(err.value)
    assert "faltan calendar.txt y calendar_dates.txt" in str(err.value)
    # the fix works: put the files back
    assert read_gtfs(write_feed(tmp_path)).summary()["viajes"] == 5


def test_a_missing_file_does_not_hide_the_bad_cells_of_the_others(tmp_path):
    # issue 23 walk: a zip without stops.txt whose times and dates are also malformed
    # listed only the missing file; fixing it then revealed the rest one round at a time.
    stop_times = FEED_FILES["stop_times.txt"].replace("08:20:00,08:20:00", "8:61,08:20:00", 1)
    calendar = FEED_FILES["calendar.txt"].replace("20260101", "2026-01-01", 1)
    assert stop_times != FEED_FILES["stop_times.txt"] and calendar != FEED_FILES["calendar.txt"]
    path = _broken(tmp_path, stops_txt=None, stop_times_txt=stop_times, calendar_txt=calendar)
    with pytest.raises(GtfsError) as err:
        read_gtfs(path)
    assert err.value.problems == (
        "falta el archivo stops.txt (obligatorio en GTFS)",
        "stop_times.txt: `arrival_time` no es una hora HH:MM:SS válida (las horas pueden pasar "
        "de 24) en 1 fila(s) (fila 6: '8:61')",
        "calendar.txt: `start_date` no es AAAAMMDD en 1 fila(s) (fila 2: '2026-01-01')",
    )
    # a cell gtfs-kit cannot parse does not hide a bad time either
    unparsable = FEED_FILES["stop_times.txt"].replace("CASTRO,1", "CASTRO,uno", 1)
    unparsable = unparsable.replace("07:20:00,07:20:00", "07:20,07:20:00", 1)
    with pytest.raises(GtfsError) as err:
        read_gtfs(_broken(tmp_path, stop_times_txt=unparsable))
    text = "\n".join(err.value.problems)
    assert "`stop_sequence` no es un número en 1 fila(s) (fila 2: 'uno')" in text
    assert "`arrival_time` no es una hora HH:MM:SS válida" in text and "'07:20'" in text
    assert len(err.value.problems) == 2


def test_every_problem_of_a_feed_at_once_and_nothing_is_kept(tmp_path):
    stops = FEED_FILES["stops.txt"] + "SCL,Santiago,-33.45,-70.66\n"
    routes = FEED_FILES["routes.txt"] + "AVION,rural,2,Avión,1100\n"
    trips = FEED_FILES["trips.txt"] + "R1,NUNCA,SIN-CAL\nAVION,LV,VUELO\n"
    stop_times = (
        FEED_FILES["stop_times.txt"].replace(
            "LV-0800,08:20:00,08:20:00", "LV-0800,08:61:00,08:20:00"
        )
        + "SIN-CAL,10:00:00,10:00:00,CASTRO,1\nSIN-CAL,10:30:00,10:30:00,NOEXISTE,2\n"
        + "VUELO,10:00:00,10:00:00,SCL,1\nVUELO,09:00:00,09:00:00,CASTRO,2\n"
    )
    path = _broken(
        tmp_path, stops_txt=stops, routes_txt=routes, trips_txt=trips, stop_times_txt=stop_times
    )
    with pytest.raises(GtfsError) as err:
        read_gtfs(path, territory=TERRITORY)
    text = "\n".join(err.value.problems)
    assert "`route_type` no es un tipo de transporte usable" in text  # air
    assert "SIN-CAL" not in text or "NUNCA" in text
    assert "'NUNCA'" in text and "no tiene calendario" in text  # trip with no calendar
    assert "'08:61:00'" in text  # not a clock time
    assert "'NOEXISTE'" in text and "no existe en stops.txt" in text
    assert "anterior a la salida de la parada previa" in text  # VUELO goes back in time
    assert "Santiago" in text and "fuera de la caja" in text  # outside the territory
    assert len(err.value.problems) == 6
    assert "no se importó (nada se cargó)" in str(err.value)


def test_cells_that_are_not_numbers(tmp_path):
    stops = FEED_FILES["stops.txt"].replace("-42.43", "abc")
    with pytest.raises(GtfsError, match=r"stop_lat` no es un número en 1 fila.*'abc'"):
        read_gtfs(_broken(tmp_path, stops_txt=stops))
    decimal_commas = FEED_FILES["stops.txt"].replace("-42.48,", "-42,48,")
    with pytest.raises(GtfsError, match="más valores que columnas"):
        read_gtfs(_broken(tmp_path, stops_txt=decimal_commas))


def test_not_a_zip(tmp_path):
    path = tmp_path / "feed.zip"
    path.write_text("hola")
    with pytest.raises(GtfsError, match="no es un archivo zip válido"):
        read_gtfs(path)
    with pytest.raises(RoutingInputError, match="No existe el archivo GTFS"):
        read_gtfs(tmp_path / "otro.zip")


def test_times_past_24_hours_are_kept(tmp_path):
    feed = read_gtfs(write_feed(tmp_path))
    late = feed.stop_times[feed.stop_times["trip_id"] == "SD-2340"]
    assert late["arrival_s"].tolist() == [
        23 * 3600 + 40 * 60,
        24 * 3600 + 5 * 60,
        24 * 3600 + 20 * 60,
    ]


STOPS = (
    "parada_id,nombre,lat,lon,ubicacion_fuente\n"
    f"CASTRO,Terminal Castro,{CASTRO[1]},{CASTRO[0]},plano municipal (sintético)\n"
    f"MOCO,Mocopulli,{MOCOPULLI[1]},{MOCOPULLI[0]},supuesto: cruce de la ruta 5\n"
    f"DALC,Dalcahue Plaza,{DALCAHUE_PLAZA[1]:.9f},{DALCAHUE_PLAZA[0]},plano municipal (sintético)\n"
)
LINE_HEADER = (
    "servicio_id,linea_id,linea,tipo,tipo_fuente,paradas,tiempos_min,tiempos_fuente,dias,"
    "dias_fuente,frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,"
    "ultima_salida,ultima_salida_fuente,salidas,salidas_fuente,nota\n"
)
LINES = LINE_HEADER + (
    "r1-lv,R1,1 Castro - Dalcahue,bus,letrero del terminal,CASTRO MOCO DALC,0 20 40,supuesto,"
    '"lu,ma,mi,ju,vi",letrero del terminal,60,letrero del terminal,07:00,letrero,08:00,letrero,,,\n'
    "r1-sd,R1,1 Castro - Dalcahue,bus,letrero del terminal,CASTRO MOCO DALC,0 25 40,supuesto,"
    '"sa,do",letrero del terminal,,,,,,,09:00 23:40,letrero del terminal,\n'
    "c1,C1,Colectivo Dalcahue - Castro,colectivo,supuesto,DALC CASTRO,0 35,supuesto,"
    '"lu,ma,mi,ju,vi",supuesto,,,,,,,12:00 18:00,supuesto,\n'
)


def test_entered_lines_become_trips():
    feed = parse_lines(STOPS, LINES)
    assert sorted(feed.trips["trip_id"]) == [
        "c1-1200",
        "c1-1800",
        "r1-lv-0700",
        "r1-lv-0800",
        "r1-sd-0900",
        "r1-sd-2340",
    ]
    late = feed.stop_times[feed.stop_times["trip_id"] == "r1-sd-2340"]
    assert late["departure_s"].tolist() == [85200, 86700, 87600]  # 23:40, 24:05, 24:20
    assert set(feed.routes["kind"]) == {"bus", "colectivo"}
    assert feed.routes.set_index("route_id")["assumed"].all()  # every line has a supuesto value


def test_entered_lines_problems_are_listed_together():
    bad = LINE_HEADER + (
        "x1,X,X,tranvia,,CASTRO NADA,0 10 20,,lu,fuente,,,,,,,25:00,fuente,\n"
        "x1,X,X,bus,fuente,CASTRO,0,fuente,lu,,,,,,,,07:00,,\n"
    )
    with pytest.raises(RoutingInputError) as err:
        parse_lines(STOPS, bad)
    text = str(err.value)
    for expected in (
        "`tipo`='tranvia' no es válido",
        "las paradas NADA no están",
        "`tiempos_min`='0 10 20' debe tener",
        "horario inválido",
        "`servicio_id` repetido",
        "`paradas` necesita al menos dos paradas",
        "`dias` tiene valor pero `dias_fuente` está vacío",
    ):
        assert expected in text


def _journey_key(journey):
    return (
        journey.arrive_at,
        tuple(
            (leg.kind, leg.start, leg.end, leg.depart_at, leg.line_id, leg.service_id, leg.assumed)
            for leg in journey.legs
        ),
    )


def test_export_and_reimport_give_the_same_journeys(tmp_path):
    timetable = parse_timetable(FERRY).with_suspensions(
        (
            Suspension.on_day("dalcahue-quinchao", dt.date(2026, 3, 11)),
            Suspension.on_day("dalcahue-quinchao", dt.date(2026, 3, 12), 7 * 60 + 50),
        )
    )
    model = TravelModel(network(), timetable, name="chiloe-prueba", approximate=True)
    lines = parse_lines(STOPS, LINES)
    direct = TransitModel(model, [lines])
    path = write_gtfs(
        [timetable_feed(timetable), lines],
        tmp_path / "chiloe.zip",
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 12, 31),
    )
    with zipfile.ZipFile(path) as zf:
        assert "revincula_fuentes.txt" in zf.namelist()
    feed = read_gtfs(path, territory=TERRITORY)
    # the ferry's values all have sources ("test"); both entered lines have a supuesto
    assert set(feed.routes.loc[feed.routes["assumed"], "route_id"]) == {"R1", "C1"}
    again = TransitModel(model, [feed], boats=False)
    points = [CASTRO, MOCOPULLI, DALCAHUE_PLAZA, QUINCHAO_HOUSE, north(DALCAHUE_RAMP, 900)]
    compared = 0
    for day in (10, 11, 12, 14, 15):  # Tue, Wed (ferry suspended), Thu (07:50 cancelled), Sat, Sun
        for hhmm in ("00:10", "06:30", "07:40", "11:00", "17:30", "23:30"):
            for a in points:
                for b in points:
                    if a != b:
                        one = direct.journey(a, b, at(day, hhmm))
                        two = again.journey(a, b, at(day, hhmm))
                        assert _journey_key(one) == _journey_key(two)
                        compared += 1
    assert compared == 600
    # the suspensions travel too: no ferry on Wednesday, the 07:50 ferry missing on Thursday
    wednesday = again.journey(DALCAHUE_RAMP, QUINCHAO_RAMP, at(11, "08:00"))
    assert wednesday.boat_legs[0].depart_at == at(12, "07:00")
    thursday = again.journey(DALCAHUE_RAMP, QUINCHAO_RAMP, at(12, "07:40"))
    assert thursday.boat_legs[0].depart_at == at(12, "08:30")
