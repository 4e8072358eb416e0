"""Hand-built timetables whose answers were worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from routing import RoutingInputError
from routing.boats import read_timetable

HEADER = (
    "servicio_id,linea_id,linea,origen,origen_lat,origen_lon,destino,destino_lat,destino_lon,"
    "terminales_fuente,modo,modo_fuente,transporta,transporta_fuente,dias,dias_fuente,"
    "frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,ultima_salida,"
    "ultima_salida_fuente,salidas,salidas_fuente,cruce_min,cruce_fuente,nota"
)
# A ferry every 30 min from 07:00 with an off-grid last departure at 20:45, every day;
# a passenger boat from the island at 07:30 and back at 14:00 on Mon/Wed/Fri.
ROWS = [
    "f-ida,ferry,Ferry,A,-42.0,-73.0,B,-42.1,-73.1,s,transbordador,s,vehiculos_y_pasajeros,s,"
    '"lu,ma,mi,ju,vi,sa,do",s,30,s,07:00,s,20:45,s,,,15,s,',
    "f-vta,ferry,Ferry,B,-42.1,-73.1,A,-42.0,-73.0,s,transbordador,s,vehiculos_y_pasajeros,s,"
    '"lu,ma,mi,ju,vi,sa,do",s,30,s,07:15,s,20:15,s,,,15,s,',
    "l-out,lancha,Lancha,Isla,-42.2,-73.2,A,-42.0,-73.0,s,lancha,supuesto,solo_pasajeros,supuesto,"
    '"lu,mi,vi",supuesto,,,,,,,07:30,supuesto,60,supuesto,',
    "l-in,lancha,Lancha,A,-42.0,-73.0,Isla,-42.2,-73.2,s,lancha,supuesto,solo_pasajeros,supuesto,"
    '"lu,mi,vi",supuesto,,,,,,,14:00,supuesto,60,supuesto,',
]
TUESDAY = dt.date(2026, 3, 10)


@pytest.fixture
def timetable(tmp_path):
    path = tmp_path / "horarios.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    suspensions = tmp_path / "suspensiones.csv"
    suspensions.write_text("linea_id,desde,hasta,motivo\nferry,2026-03-12,2026-03-12,temporal\n")
    return read_timetable(path, suspensions_path=suspensions)


def at(day, hh, mm):
    return dt.datetime.combine(day, dt.time(hh, mm))


def test_frequency_waits_for_next_grid_departure(timetable):
    dep = timetable.next_departure("ferry", "A", at(TUESDAY, 8, 1))
    assert dep.depart_at == at(TUESDAY, 8, 30)  # grid 07:00, 07:30, 08:00, 08:30
    assert dep.arrive_at == at(TUESDAY, 8, 45)
    assert dep.service_id == "f-ida"
    # exactly on a departure: take it
    assert timetable.next_departure("ferry", "A", at(TUESDAY, 7, 0)).depart_at == at(TUESDAY, 7, 0)


def test_off_grid_last_departure_and_after_it(timetable):
    # grid ends 20:30; the stated last departure 20:45 also sails
    assert timetable.next_departure("ferry", "A", at(TUESDAY, 20, 31)).depart_at == at(
        TUESDAY, 20, 45
    )
    # after the last boat: the first one next morning
    assert timetable.next_departure("ferry", "A", at(TUESDAY, 20, 46)).depart_at == at(
        TUESDAY + dt.timedelta(days=1), 7, 0
    )
    last = timetable.last_departure("ferry", "B", TUESDAY)
    assert last.depart_at == at(TUESDAY, 20, 15)
    assert last.arrive_at == at(TUESDAY, 20, 30)


def test_suspended_day_skips_to_the_next(timetable):
    thursday = dt.date(2026, 3, 12)
    assert timetable.is_suspended("ferry", thursday)
    assert timetable.last_departure("ferry", "A", thursday) is None
    dep = timetable.next_departure("ferry", "A", at(thursday, 6, 0))
    assert dep.depart_at == at(thursday + dt.timedelta(days=1), 7, 0)


def test_passenger_boat_on_its_days_only(timetable):
    # Tuesday 15:00: next boat to the island is Wednesday 14:00, arriving 15:00.
    dep = timetable.next_departure("lancha", "A", at(TUESDAY, 15, 0))
    assert dep.depart_at == at(TUESDAY + dt.timedelta(days=1), 14, 0)
    assert dep.arrive_at == at(TUESDAY + dt.timedelta(days=1), 15, 0)
    assert timetable.last_departure("lancha", "Isla", TUESDAY) is None
    service = timetable.services_of("lancha")[0]
    assert service.passengers_only
    assert {"salidas", "dias", "cruce_min"} <= service.assumed
    assert "lu, mi, vi: salidas 07:30" in service.summary()


def test_unknown_line_and_terminal_say_what_exists(timetable):
    with pytest.raises(RoutingInputError, match="Líneas disponibles: ferry, lancha"):
        timetable.next_departure("nope", "A", at(TUESDAY, 8, 0))
    with pytest.raises(RoutingInputError, match="Orígenes válidos: A, B"):
        timetable.next_departure("ferry", "Z", at(TUESDAY, 8, 0))


def test_invalid_rows_are_all_reported(tmp_path):
    bad = [
        ROWS[0].replace("transbordador,s", "submarino,s"),
        ROWS[1].replace(",15,s,", ",-5,s,"),
        ROWS[2].replace("07:30,supuesto", "07:30,"),
        ROWS[3].replace(",,,,,,,14:00", ",20,s,08:00,s,09:00,s,14:00"),
    ]
    path = tmp_path / "h.csv"
    path.write_text("\n".join([HEADER, *bad]) + "\n", encoding="utf-8")
    with pytest.raises(RoutingInputError) as info:
        read_timetable(path)
    message = str(info.value)
    assert "4 problema(s)" in message
    assert "`modo`='submarino' no es válido" in message
    assert "`cruce_min`='-5'" in message
    assert "`salidas` tiene valor pero `salidas_fuente` está vacío" in message
    assert "pero no ambas" in message


def test_missing_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("servicio_id,linea_id\nx,y\n", encoding="utf-8")
    with pytest.raises(RoutingInputError, match="no tiene las columnas: linea, origen"):
        read_timetable(path)
