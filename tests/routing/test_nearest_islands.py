"""Nearest service across islands with a timetable, answers worked out by hand.

Three islands on a hand-built network (walking 4.5 km/h: 1,000 m = 800 s;
driving 600 s per 1,000 m):

* island A: village (node 0) - 1,000 m - pier A (node 1);
* island B: pier B (node 2) - 1,000 m - posta B (node 3), and a long road
  around from the village: 0 - 5,000 m - 4 - 5,000 m - 3 (a causeway), so
  walking around takes 8,000 s and driving around 6,000 s;
* island C: pier C (node 5) - 1,000 m - posta C (node 6), no road to it.

Lanchas (passengers only, boarding margin 5 min): A -> B at 08:10 and 10:00
(10 min), Monday to Friday; A -> C at 09:00 (20 min) only Monday, Wednesday and
Friday. 2026-03-10 is a Tuesday.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from layers.coverage import Coverage
from routing.boats import parse_timetable
from routing.model import TravelModel
from routing.nearest import NearestSearch
from routing.streets import StreetNetwork
from tests.routing.handbuilt import HEADER
from tests.routing.handbuilt import STEP
from tests.routing.handbuilt import row

NORTH, SOUTH = 0.045, -0.045  # about 5 km
LON = np.array([0.0, STEP, 2 * STEP, 3 * STEP, 1.5 * STEP, STEP, 2 * STEP])
LAT = np.array([0.0, 0.0, 0.0, 0.0, SOUTH, NORTH, NORTH])
EDGES = [(0, 1, 1000.0), (2, 3, 1000.0), (0, 4, 5000.0), (4, 3, 5000.0), (5, 6, 1000.0)]
PIER_A, PIER_B, PIER_C = (LON[1], 0.0), (LON[2], 0.0), (LON[5], NORTH)
TIMETABLE = "\n".join(
    [
        HEADER,
        row("l-ab", "lancha-b", ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros",
            "08:10 10:00", 10),
        row("l-ac", "lancha-c", ("A", PIER_A), ("C", PIER_C), "lancha", "solo_pasajeros",
            "09:00", 20, days="lu,mi,vi"),
    ]
)  # fmt: skip
DAY_S = 86400.0


def _model() -> TravelModel:
    both = EDGES + [(b, a, m) for a, b, m in EDGES]
    u = np.array([a for a, _, _ in both])
    v = np.array([b for _, b, _ in both])
    length = np.array([m for _, _, m in both])
    coords = np.ravel(np.column_stack([LON[u], LON[v]]))
    lats = np.ravel(np.column_stack([LAT[u], LAT[v]]))
    streets = StreetNetwork(
        LON, LAT, u, v, length, length * 0.6, np.arange(0, 2 * len(u) + 1, 2), coords, lats,
        walk_kmh=4.5,
    )  # fmt: skip
    return TravelModel(streets, parse_timetable(TIMETABLE), name="islas", boarding_margin_min=5)


@pytest.fixture(scope="module")
def model() -> TravelModel:
    return _model()


def _at(model, nodes):
    return model.snap(LON[nodes], LAT[nodes])


def _tuesday(hhmm: str, day: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-03-{day:02d} {hhmm}")


def test_at_the_pier_just_too_late_waits_for_the_next_lancha(model):
    search = NearestSearch(model, _at(model, [1]), on_foot=True)
    posta_b = _at(model, [3])
    # 08:04 + 5 min margin = 08:09: the 08:10 lancha, 08:20 at B, walk 800 s -> 08:33:20
    assert search.nearest(posta_b, _tuesday("08:04"), DAY_S).travel_time_s[0] == 1760.0
    # 08:06 + 5 = 08:11 misses it: the 10:00 one, 10:10, walk -> 10:23:20 (8,240 s), still
    # better than walking back to the village and around (800 + 8,000 s)
    found = search.nearest(posta_b, _tuesday("08:06"), DAY_S)
    assert (found.travel_time_s[0], found.facility[0]) == (8240.0, 0)


def test_walking_around_beats_waiting_for_the_next_lancha(model):
    search = NearestSearch(model, _at(model, [0]), on_foot=True)
    posta_b = _at(model, [3])
    # 07:30: pier A 07:43:20, the 08:10 lancha, posta B 08:33:20 -> 3,800 s
    assert search.nearest(posta_b, _tuesday("07:30"), DAY_S).travel_time_s[0] == 3800.0
    # 08:06: pier A 08:19:20 misses it; the 10:00 one would give 8,240 s, around is 8,000 s
    assert search.nearest(posta_b, _tuesday("08:06"), DAY_S).travel_time_s[0] == 8000.0


def test_a_driver_left_on_foot_by_the_lancha_or_driving_around(model):
    search = NearestSearch(model, _at(model, [0]))
    posta_b = _at(model, [3])
    # 07:30: drive 600 s to pier A, the 08:10 lancha (the car stays), walk 800 s -> 3,800 s
    assert search.nearest(posta_b, _tuesday("07:30"), DAY_S).travel_time_s[0] == 3800.0
    # 08:06: pier A 08:16 misses it; driving around takes 6,000 s (the 10:00 lancha 8,240 s)
    assert search.nearest(posta_b, _tuesday("08:06"), DAY_S).travel_time_s[0] == 6000.0


def test_no_lancha_to_the_island_that_day_is_unreachable(model):
    search = NearestSearch(model, _at(model, [0]), on_foot=True)
    posta_c = _at(model, [6])
    end_of_tuesday = 16 * 3600.0
    found = search.nearest(posta_c, _tuesday("08:00"), end_of_tuesday)
    assert (found.travel_time_s[0], found.facility[0]) == (np.inf, -1)
    # Wednesday 08:00: pier A 08:13:20, the 09:00 lancha, 09:20 at C, walk -> 09:33:20
    wednesday = search.nearest(posta_c, _tuesday("08:00", day=11), DAY_S)
    assert (wednesday.travel_time_s[0], wednesday.facility[0]) == (5600.0, 0)
    # with posta B too, the nearest reachable on Tuesday is B (index 0), 8,000 s around
    both = search.nearest(_at(model, [3, 6]), _tuesday("08:06"), end_of_tuesday)
    assert (both.travel_time_s[0], both.facility[0]) == (8000.0, 0)


def test_the_mesa_reads_why_island_c_is_not_reached_today(model):
    origins = gpd.GeoDataFrame(
        {"origin_id": ["aldea-a"]}, geometry=[Point(LON[0], LAT[0])], crs=4326
    )
    services = gpd.GeoDataFrame(
        {
            "service_id": ["posta-c"],
            "name": ["Posta isla C (sintético)"],
            "service_type": ["posta"],
            "usable": [True],
            "days": ["lu-do"],
        },
        geometry=[Point(LON[6], LAT[6])],
        crs=4326,
    )
    table = Coverage(model, origins, on_foot=True).nearest(
        services, _tuesday("08:00"), types=["posta"]
    )
    assert np.isnan(table["minutes"].iloc[0])
    assert table["reason"].iloc[0] == (
        "no se llega hoy: no hay barco a tiempo; se llega el miércoles a las 09:33"
    )


@pytest.mark.parametrize("on_foot", [True, False])
@pytest.mark.parametrize(
    "when", [_tuesday("07:30"), _tuesday("08:04"), _tuesday("08:06"), _tuesday("08:00", 11)]
)
def test_equals_a_forward_search_to_every_facility(model, on_foot, when):
    origins = _at(model, list(range(7)))
    search = NearestSearch(model, origins, on_foot=on_foot)
    for nodes in ([3], [6], [3, 6], [0, 6], [2]):
        fac = _at(model, nodes)
        forward = model.matrix_array(origins, fac, when, on_foot=on_foot)
        got = search.nearest(fac, when, DAY_S)
        np.testing.assert_allclose(got.travel_time_s, forward.min(axis=1))
        np.testing.assert_allclose(search.to_each(fac, when, DAY_S), forward)
