"""Public transport on the hand-made Chiloé case of `tests.routing.transit_chiloe`.

Walking is 1 m/s in straight lines, so every walking time below is metres;
2026-03-10 is a Tuesday, 2026-03-14 a Saturday, 2026-03-08 and 2026-03-15 Sundays.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from routing.gtfs import read_gtfs
from routing.transit import NO_TRANSIT_REASON
from routing.transit import TransitModel
from routing.transit import TransitParams
from routing.transit import TransitUnavailableError
from routing.transit import mode_options
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import DALCAHUE_PLAZA
from tests.routing.transit_chiloe import MOCOPULLI
from tests.routing.transit_chiloe import QUINCHAO_HOUSE
from tests.routing.transit_chiloe import at
from tests.routing.transit_chiloe import north
from tests.routing.transit_chiloe import travel_model
from tests.routing.transit_chiloe import write_feed

TERRITORY = (-73.90, -42.60, -73.40, -42.30)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    return read_gtfs(write_feed(tmp_path_factory.mktemp("gtfs")), territory=TERRITORY)


@pytest.fixture(scope="module")
def transit(feed):
    return TransitModel(travel_model(), [feed])


def _kinds(journey):
    return [leg.kind for leg in journey.legs]


def _close(t: dt.datetime, expected: dt.datetime) -> bool:
    return abs((t - expected).total_seconds()) < 0.01


def test_bus_to_dalcahue_then_the_ferry_with_its_boarding_margin(transit):
    j = transit.journey(CASTRO, QUINCHAO_HOUSE, at(10, "06:50"))
    # Tuesday: wait 06:50-07:00 at Terminal Castro (walk 0 m); bus LV-0700 07:00-07:40 to
    # Dalcahue Plaza; walk 300 m = 300 s to the ramp (07:45); the ferry needs the 5 min
    # boarding margin: 07:45 + 5 = 07:50, so the 07:50 ferry is caught (exactly on time);
    # Quinchao 08:00; walk 600 m = 600 s -> 08:10.
    assert _kinds(j) == ["espera", "bus", "caminar", "espera", "barco", "caminar"]
    bus, boat = j.legs[1], j.legs[4]
    assert (bus.start, bus.end, bus.line_id, bus.service_id) == (
        "Terminal Castro",
        "Dalcahue Plaza",
        "R1",
        "LV-0700",
    )
    assert (bus.depart_at, bus.arrive_at) == (at(10, "07:00"), at(10, "07:40"))
    assert boat.line_id == "dalcahue-quinchao"
    assert boat.depart_at == at(10, "07:50")
    assert _close(j.arrive_at, at(10, "08:10"))
    assert "sube en Terminal Castro a las 07:00" in j.describe()


def test_boat_margin_is_a_parameter(feed):
    # with a 6 min margin the traveller is ready at 07:51: next ferry 08:30 -> 08:40 + 600 s
    slow = TransitModel(travel_model(), [feed], params=TransitParams(boat_boarding_min=6))
    j = slow.journey(CASTRO, QUINCHAO_HOUSE, at(10, "06:50"))
    assert j.boat_legs[0].depart_at == at(10, "08:30")
    assert _close(j.arrive_at, at(10, "08:50"))


def test_walk_to_the_stop_within_the_limit_and_beyond_it(feed, transit):
    home = north(CASTRO, -1500)  # 1,500 m south of Terminal Castro: 25 min walk
    j = transit.journey(home, QUINCHAO_HOUSE, at(10, "06:30"))
    # 06:30 + 1,500 s = 06:55 at the stop, bus 07:00: same arrival as from the terminal
    assert _kinds(j)[:3] == ["caminar", "espera", "bus"]
    assert _close(j.legs[0].arrive_at, at(10, "06:55"))
    assert _close(j.arrive_at, at(10, "08:10"))
    # with a 20 min limit the stop is out of reach: only the walk to the ramp and the boat
    short = TransitModel(travel_model(), [feed], params=TransitParams(max_walk_min=20))
    k = short.journey(home, QUINCHAO_HOUSE, at(10, "06:30"))
    assert "bus" not in _kinds(k)
    assert _kinds(k)[0] == "caminar"
    assert k.legs[0].end == "Dalcahue"
    assert k.arrive_at > j.arrive_at


def test_sunday_service_and_its_calendar_exception(transit):
    # Sunday 8 March (SD runs): bus 09:00-09:40, ramp 09:45, ready 09:50, ferry 10:30-10:40,
    # walk 600 s -> 10:50
    normal = transit.journey(CASTRO, QUINCHAO_HOUSE, at(8, "08:30"))
    assert normal.legs[1].service_id == "SD-0900"
    assert _close(normal.arrive_at, at(8, "10:50"))
    # Sunday 15 March: SD removed, FEST added; bus 11:00-11:40, ramp 11:45, ready 11:50,
    # ferry 12:00-12:10, walk 600 s -> 12:20
    special = transit.journey(CASTRO, QUINCHAO_HOUSE, at(15, "08:30"))
    assert special.legs[1].service_id == "FEST-1100"
    assert special.legs[1].depart_at == at(15, "11:00")
    assert _close(special.arrive_at, at(15, "12:20"))


def test_stop_without_time_is_interpolated(transit):
    # FEST-1100 has no time at Mocopulli: halfway between 11:00 and 11:40 is 11:20
    j = transit.journey(MOCOPULLI, DALCAHUE_PLAZA, at(15, "11:00"))
    assert j.legs[1].depart_at == at(15, "11:20")
    assert j.arrive_at == at(15, "11:40")


def test_trip_past_midnight_belongs_to_its_service_day(transit):
    # Saturday's SD-2340 leaves Castro 23:40 and reaches Dalcahue at 24:20 = Sunday 00:20
    j = transit.journey(CASTRO, DALCAHUE_PLAZA, at(14, "23:30"))
    assert _kinds(j) == ["espera", "bus"]
    assert j.arrive_at == at(15, "00:20")
    # at Sunday 00:00 the same Saturday trip still passes Mocopulli at 24:05 = 00:05
    k = transit.journey(MOCOPULLI, DALCAHUE_PLAZA, at(15, "00:00"))
    assert (k.legs[1].service_id, k.legs[1].depart_at) == ("SD-2340", at(15, "00:05"))
    assert k.arrive_at == at(15, "00:20")
    # Sunday 15 at 23:30 there is no SD-2340 (SD removed that day); Monday's first bus
    # arrives 07:40, walking the 14.4 km arrives about 03:30: the walk wins
    w = transit.journey(CASTRO, DALCAHUE_PLAZA, at(15, "23:30"))
    assert _kinds(w) == ["caminar"]
    assert w.arrive_at < at(16, "07:40")


def test_matrix_agrees_with_journeys(transit):
    points = [CASTRO, MOCOPULLI, north(CASTRO, -1500), DALCAHUE_PLAZA, QUINCHAO_HOUSE]
    places = transit.snap([p[0] for p in points], [p[1] for p in points])
    for when in (at(10, "06:50"), at(15, "08:30"), at(14, "23:30")):
        matrix = transit.matrix_array(places, places, when)
        for i, a in enumerate(points):
            for k, b in enumerate(points):
                expected = transit.journey(a, b, when).travel_time_s
                if np.isnan(expected):
                    assert np.isinf(matrix[i, k])
                else:
                    assert matrix[i, k] == pytest.approx(expected, abs=0.01)
    # the long form (from_id, to_id, travel_time_s) of the same matrix
    ids = ["castro", "moco", "sur", "plaza", "casa"]
    table = transit.matrix(
        pd.DataFrame({"id": ids, "lat": [p[1] for p in points], "lon": [p[0] for p in points]}),
        depart_at=at(10, "06:50"),
    )
    row = table[(table["from_id"] == "castro") & (table["to_id"] == "casa")]
    assert row["travel_time_s"].iloc[0] == pytest.approx(80 * 60, abs=0.01)  # 06:50 -> 08:10
    # the day's departures computed at once give the same rows
    times = [at(10, "06:50"), at(15, "08:30")]
    both = list(transit.matrix_arrays(places, places, times))
    assert np.allclose(both[1], transit.matrix_array(places, places, times[1]), equal_nan=True)


def test_a_vehicle_is_the_base_model(transit):
    base = travel_model()
    assert (
        transit.journey(CASTRO, QUINCHAO_HOUSE, at(10, "06:50"), on_foot=False).describe()
        == base.journey(CASTRO, QUINCHAO_HOUSE, at(10, "06:50")).describe()
    )


def test_last_departure_to_catch_the_bus_and_ferry(transit):
    found = transit.last_boat_home(
        CASTRO, QUINCHAO_HOUSE, dt.date(2026, 3, 10), latest_arrival=dt.time(8, 15)
    )
    # arriving by 08:15 needs the 07:00 bus (-> 08:10); the 08:00 bus reaches the ramp at
    # 08:45, ferry 09:30: too late. So leave Terminal Castro at 07:00 at the latest.
    assert found.leave_by == at(10, "07:00")
    assert _close(found.journey.arrive_at, at(10, "08:10"))


def test_isochrone_grows_along_the_bus_and_across_the_ferry(transit):
    import shapely

    walk_only = transit.isochrone(CASTRO, 30, at(10, "07:00"))
    longer = transit.isochrone(CASTRO, 90, at(10, "07:00"))
    # 90 min: bus to Dalcahue (07:40), ferry 07:50-08:00, 30 min walking on Quinchao
    assert longer.lines == ("1 Castro - Dalcahue",)
    assert longer.boats == ("dalcahue-quinchao",)
    assert longer.geometry.contains(shapely.Point(*QUINCHAO_HOUSE))
    assert not walk_only.geometry.contains(shapely.Point(*DALCAHUE_PLAZA))


def test_unreachable_within_the_horizon_says_when_it_is_possible(transit):
    # Quinchao after Tuesday's last ferry (18:00) within 24 h... the next day's 07:00 ferry
    # is within 24 h, so ask with a 6 h horizon
    short = TransitModel(travel_model(), transit.feeds[1:], params=TransitParams(horizon_h=6))
    j = short.journey(CASTRO, QUINCHAO_HOUSE, at(10, "18:30"))
    assert not j.reachable
    assert "miércoles 11-03-2026" in j.reason
    assert "dalcahue-quinchao" in j.reason


def test_no_bus_timetable_means_no_mode(feed):
    with pytest.raises(TransitUnavailableError, match="no está disponible"):
        TransitModel(travel_model(), [])
    options = {o["modo"]: o for o in mode_options(None)}
    assert not options["transporte_publico"]["disponible"]
    assert options["transporte_publico"]["motivo"] == NO_TRANSIT_REASON
    assert options["a_pie"]["disponible"]
    assert all(o["disponible"] for o in mode_options(TransitModel(travel_model(), [feed])))


def test_service_note_outside_the_feed_dates(transit):
    assert transit.service_note(dt.date(2026, 3, 10)) == ""
    note = transit.service_note(dt.date(2027, 3, 10))
    assert "Ningún horario de buses" in note
    assert "01-01-2026 a 31-12-2026" in note
