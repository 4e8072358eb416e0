"""Coverage in the mode «transporte público» (`layers.coverage.Coverage`).

The hand-made Chiloé case of `tests.routing.transit_chiloe` (walking 1 m/s in
straight lines; bus R1 Castro -> Mocopulli -> Dalcahue Plaza; the Dalcahue -
Quinchao ferry with a 5 min boarding margin) plus one bus back, trip
``LV-1600``: Dalcahue Plaza 16:00, Mocopulli 16:20, Terminal Castro 16:40,
Monday to Friday. A posta stands at the house on Quinchao (600 m north of the
ramp), open every day 08:30-17:00. 2026-03-09 is a Monday.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest

from layers.coverage import SANTIAGO
from layers.coverage import AddedDeparture
from layers.coverage import Coverage
from layers.coverage import Scenario
from layers.coverage import apply_scenario
from routing.gtfs import read_gtfs
from routing.transit import TransitModel
from routing.transit import TransitUnavailableError
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import FEED_FILES
from tests.routing.transit_chiloe import QUINCHAO_HOUSE
from tests.routing.transit_chiloe import north
from tests.routing.transit_chiloe import travel_model
from tests.routing.transit_chiloe import write_feed

FILES = dict(FEED_FILES)
FILES["trips.txt"] += "R1,LV,LV-1600\n"
FILES["stop_times.txt"] += (
    "LV-1600,16:00:00,16:00:00,DALC,1\nLV-1600,16:20:00,16:20:00,MOCO,2\n"
    "LV-1600,16:40:00,16:40:00,CASTRO,3\n"
)


def at(day: int, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-03-{day:02d} {hhmm}").replace(tzinfo=SANTIAGO)


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    feed = read_gtfs(write_feed(tmp_path_factory.mktemp("g"), FILES))
    return TransitModel(travel_model(), [feed])


@pytest.fixture(scope="module")
def origins():
    points = [CASTRO, north(CASTRO, -1500)]
    return gpd.GeoDataFrame(
        {"origin_id": ["castro", "sur"]},
        geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
        crs=4326,
    )


@pytest.fixture(scope="module")
def services():
    return gpd.GeoDataFrame(
        {
            "service_id": ["posta-quinchao"],
            "service_type": ["posta"],
            "name": ["Posta Quinchao (prueba)"],
            "usable": [True],
            "days": ["lu,ma,mi,ju,vi,sa,do"],
            "opens": ["08:30"],
            "closes": ["17:00"],
        },
        geometry=gpd.points_from_xy([QUINCHAO_HOUSE[0]], [QUINCHAO_HOUSE[1]]),
        crs=4326,
    )


def test_nearest_by_bus_and_ferry_says_its_mode(transit, origins, services):
    coverage = Coverage(transit, origins, mode="transporte_publico")
    assert coverage.mode_label == "en transporte público (a pie, bus o colectivo y lancha)"
    table = coverage.nearest(services, at(10, "06:50"), types=["posta"])
    # Castro: bus 07:00-07:40, ramp 07:45, ferry 07:50-08:00, walk 600 s -> 08:10 = 80 min;
    # 1,500 m south: stop 07:15, bus 08:00, ferry 09:30-09:40 -> 09:50 = 180 min
    assert table["minutes"].tolist() == [80, 180]
    assert table["band"].tolist() == ["≤ 120 min", "más de 120 min (mismo día)"]
    assert table["service_id"].tolist() == ["posta-quinchao"] * 2
    # on foot (no bus): the 14.7 km walk to the ramp, ferry 12:00 -> 12:20 = 330 min
    on_foot = Coverage(transit, origins, mode="a_pie").nearest(
        services, at(10, "06:50"), types=["posta"]
    )
    assert on_foot["minutes"].iloc[0] == 330


def test_same_day_round_trip_comes_home_on_the_bus(transit, origins, services):
    coverage = Coverage(transit, origins, mode="transporte_publico")
    trip = coverage.round_trip(services, "posta", at(10, "06:50"), stay_min=60)
    castro = trip.iloc[0]
    # arrive 08:10, wait for 08:30, stay until 09:30; walk to the ramp 09:40, ready 09:45,
    # ferry back 13:00-13:10, walk 300 m to Dalcahue Plaza 13:15, bus LV-1600 16:00 -> Castro
    # 16:40 (walking the 14.7 km from the ramp would reach Castro at about 17:15)
    assert castro["arrive_at"] == at(10, "08:10")
    assert castro["start_at"] == at(10, "08:30")
    assert castro["leave_at"] == at(10, "09:30")
    assert castro["home_at"] == at(10, "16:40")
    assert castro["same_day"]
    # home by 16:30 is not possible: the last bus is the way back
    late = coverage.round_trip(
        services, "posta", at(10, "06:50"), stay_min=60, home_by=dt.time(16, 30)
    )
    assert not late["same_day"].iloc[0]
    assert late["reason"].iloc[0] == (
        "no se vuelve a casa el mismo día (no hay bus o barco de vuelta a tiempo, "
        "o la vuelta termina después de medianoche)"
    )


def test_week_best_typical_and_worst_day(transit, origins, services):
    coverage = Coverage(transit, origins, mode="transporte_publico")
    week = coverage.week(services, at(10, "06:50"), types=["posta"],
                         weekdays="lu,ma,mi,ju,vi,sa,do")  # fmt: skip
    castro = week.iloc[0]
    # Monday to Friday 80 min (bus LV-0700); Saturday 14: bus SD-0900 -> ramp 09:45, ready
    # 09:50, ferry 10:30 -> 10:50 = 240 min; Sunday 15: SD removed, FEST 11:00 -> ferry 12:00
    # -> 12:20 = 330 min (walking to the ramp catches the same ferry)
    assert (castro["best_min"], castro["median_min"], castro["worst_min"]) == (80, 80, 330)
    assert (castro["best_day"], castro["worst_day"]) == ("lunes", "domingo")


def test_not_reached_today_names_buses_and_boats(transit, origins, services):
    coverage = Coverage(transit, origins, mode="transporte_publico")
    # Tuesday 18:30: no ferry to Quinchao until Wednesday 07:00; walking to the ramp
    # (14.7 km, 22:35) catches it: Quinchao 07:10, the posta 07:20
    table = coverage.nearest(services, at(10, "18:30"), types=["posta"])
    assert np.isnan(table["minutes"].iloc[0])
    assert table["band"].iloc[0] == "no se llega hoy"
    assert table["reason"].iloc[0] == (
        "no se llega hoy: no hay bus, colectivo ni barco a tiempo; se llega el miércoles "
        "a las 07:20"
    )


def test_an_added_sailing_in_a_whatif_is_used_by_public_transport(transit, origins, services):
    # the 1,500 m-south origin reaches the ramp at 08:45 (ready 08:50): a sailing at 08:50
    # brings it to Quinchao at 09:00 and the posta at 09:10 = 140 min instead of 180
    scenario = Scenario("lancha extra", add_departures=(
        AddedDeparture("dalcahue-quinchao", "Dalcahue", "08:50", "ma"),))  # fmt: skip
    after_services, after_model = apply_scenario(services, transit, scenario)
    assert isinstance(after_model, TransitModel)
    after = Coverage(after_model, origins, mode="transporte_publico")
    minutes = after.nearest(after_services, at(10, "06:50"), types=["posta"])["minutes"]
    assert minutes.tolist() == [80, 140]


def test_public_transport_needs_a_timetable(origins):
    with pytest.raises(TransitUnavailableError, match="no está disponible"):
        Coverage(travel_model(), origins, mode="transporte_publico")
    with pytest.raises(ValueError, match="desconocido"):
        Coverage(travel_model(), origins, mode="avión")
