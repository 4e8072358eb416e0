"""Nearest facility by public transport (`routing.transit_nearest`) on the hand-made Chiloé case.

Walking is 1 m/s in straight lines (`tests.routing.transit_chiloe`), so walking
seconds are metres; 2026-03-10 is a Tuesday. The answers are worked out in the
comments from the case's timetable; every one is also checked against the
forward search of `TransitModel.matrix_array` to each facility.
"""

from __future__ import annotations

import numpy as np
import pytest

from routing.gtfs import read_gtfs
from routing.transit import TransitModel
from routing.transit_nearest import TransitNearestSearch
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import MOCOPULLI
from tests.routing.transit_chiloe import QUINCHAO_HOUSE
from tests.routing.transit_chiloe import at
from tests.routing.transit_chiloe import north
from tests.routing.transit_chiloe import travel_model
from tests.routing.transit_chiloe import write_feed

DAY_S = 86400.0
SOUTH_OF_CASTRO = north(CASTRO, -1500)  # 1,500 m: a 25 min walk to Terminal Castro
NEAR_MOCOPULLI = north(MOCOPULLI, 600)  # 600 m: a 10 min walk from the Mocopulli stop
FAR_FROM_MOCOPULLI = north(MOCOPULLI, 2000)  # 2,000 m: beyond the 30 min walk from a stop


@pytest.fixture(scope="module")
def transit(tmp_path_factory):
    return TransitModel(travel_model(), [read_gtfs(write_feed(tmp_path_factory.mktemp("g")))])


def _places(model, points):
    return model.snap([p[0] for p in points], [p[1] for p in points])


ORIGINS = [CASTRO, SOUTH_OF_CASTRO, QUINCHAO_HOUSE]


def test_nearest_by_bus_and_ferry_matches_the_hand_worked_times(transit):
    origins = _places(transit, ORIGINS)
    search = TransitNearestSearch(transit, origins)
    t0 = at(10, "06:50")
    only_quinchao = search.nearest(_places(transit, [QUINCHAO_HOUSE]), t0, DAY_S)
    # Castro: bus 07:00-07:40, ramp 07:45, ferry 07:50-08:00, walk 600 s -> 08:10 = 80 min.
    # 1,500 m south: at the stop 07:15, bus 08:00-08:40, ramp 08:45, ready 08:50, ferry
    # 09:30-09:40, walk 600 s -> 09:50 = 180 min. The house itself: 0.
    assert only_quinchao.travel_time_s == pytest.approx([4800.0, 10800.0, 0.0], abs=0.01)
    both = search.nearest(_places(transit, [QUINCHAO_HOUSE, NEAR_MOCOPULLI]), t0, DAY_S)
    # Castro: bus 07:00 to Mocopulli 07:20, walk 600 s -> 07:30 = 40 min (facility 1);
    # 1,500 m south: bus 08:00, Mocopulli 08:20, walk -> 08:30 = 100 min (facility 1).
    assert both.travel_time_s == pytest.approx([2400.0, 6000.0, 0.0], abs=0.01)
    assert both.facility.tolist() == [1, 1, 0]


def test_a_stop_farther_than_the_walk_limit_does_not_serve(transit):
    origins = _places(transit, [CASTRO])
    search = TransitNearestSearch(transit, origins)
    far = _places(transit, [FAR_FROM_MOCOPULLI])
    got = search.nearest(far, at(10, "06:50"), DAY_S).travel_time_s[0]
    # 2,000 m from Mocopulli is more than 30 min: no egress there, so the answer is the
    # direct walk from Castro (the bus to Dalcahue Plaza only goes farther away)
    walk = transit.model.network.times(origins, far, "walk")[0, 0]
    assert got == pytest.approx(walk)
    assert got > 2400.0 + 2000.0


def test_ties_go_to_the_lowest_facility_index(transit):
    search = TransitNearestSearch(transit, _places(transit, [CASTRO]))
    twice = _places(transit, [NEAR_MOCOPULLI, NEAR_MOCOPULLI])
    result = search.nearest(twice, at(10, "06:50"), DAY_S)
    assert result.travel_time_s[0] == pytest.approx(2400.0, abs=0.01)
    assert result.facility[0] == 0


def test_horizon_and_calendar_exceptions(transit):
    search = TransitNearestSearch(transit, _places(transit, [CASTRO]))
    facility = _places(transit, [NEAR_MOCOPULLI])
    # Sunday 8 March: SD 09:00, Mocopulli 09:20, walk 600 s -> 09:30 = 60 min
    assert search.nearest(facility, at(8, "08:30"), DAY_S).travel_time_s[0] == pytest.approx(
        3600.0, abs=0.01
    )
    # Sunday 15 March: SD removed, FEST 11:00 passes Mocopulli at 11:20 (interpolated) ->
    # 11:30 = 180 min; the direct walk is then the nearest way: 6,159.7 m north (0.05° +
    # 600 m) and 4,307 m west (0.0525° × 111,195 m × cos 42.45°) make 7,516 m, 125 min
    walk = transit.model.network.times(search.origins, facility, "walk")[0, 0]
    assert walk == pytest.approx(7516.35, abs=0.01)
    assert search.nearest(facility, at(15, "08:30"), DAY_S).travel_time_s[0] == walk
    # a 59 min horizon on the 8th: not reached (the direct walk is longer still)
    late = search.nearest(facility, at(8, "08:30"), 3540.0)
    assert np.isinf(late.travel_time_s[0])
    assert late.facility[0] == -1


def test_equals_the_forward_search_to_every_facility(transit):
    points = [*ORIGINS, MOCOPULLI, north(QUINCHAO_HOUSE, 3000), north(CASTRO, 900)]
    facilities = [QUINCHAO_HOUSE, NEAR_MOCOPULLI, FAR_FROM_MOCOPULLI, north(CASTRO, -400)]
    origins, fac = _places(transit, points), _places(transit, facilities)
    search = TransitNearestSearch(transit, origins)
    for t0 in (at(10, "06:50"), at(14, "23:30"), at(15, "08:30"), at(10, "18:30")):
        forward = transit.matrix_array(origins, fac, t0)
        got = search.nearest(fac, t0, DAY_S)
        assert got.travel_time_s == pytest.approx(forward.min(axis=1), abs=1e-6)
        each = search.to_each(fac, t0, DAY_S)
        assert np.allclose(each, forward, atol=1e-6, equal_nan=False)


def test_journeys_each_at_its_own_time_equal_single_journeys(transit):
    origins = _places(transit, ORIGINS)
    search = TransitNearestSearch(transit, origins)
    t0 = at(10, "06:50")
    starts = np.array([0.0, 1800.0, 9000.0, 45000.0])
    a = _places(transit, [CASTRO, CASTRO, QUINCHAO_HOUSE, QUINCHAO_HOUSE])
    b = _places(transit, [QUINCHAO_HOUSE, QUINCHAO_HOUSE, CASTRO, CASTRO])
    got = search.pair_times(a, b, starts, t0, DAY_S)
    # 06:50 -> 08:10 (80 min); 07:20: bus 08:00, ferry 09:30, 09:50 (180 min after 06:50)
    assert got[:2] == pytest.approx([4800.0, 10800.0], abs=0.01)
    for i, start in enumerate(starts):
        leave = t0 + np.timedelta64(int(start), "s").item()
        j = transit.journey((a.lon[i], a.lat[i]), (b.lon[i], b.lat[i]), leave, labels=("a", "b"))
        expected = start + j.travel_time_s if j.reachable else np.inf
        if np.isfinite(expected) and expected <= DAY_S:
            assert got[i] == pytest.approx(expected, abs=1e-6)
        else:
            assert np.isinf(got[i])
