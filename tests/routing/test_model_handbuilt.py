"""Travel model on the hand-built two-island network of `tests.routing.handbuilt`."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from routing.boats import Suspension
from tests.routing.handbuilt import NODES
from tests.routing.handbuilt import PIER_A
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node


def test_passenger_lancha_then_walk_beats_the_ferry():
    j = build_model().journey(node(0), node(4), at("07:30"))
    # drive 0->2 (1,200 s) 07:50; lancha 08:10-08:20; walk 3->4 (800 s) -> 08:33:20
    # (the ferry would give 08:00-08:30 + 600 s driving = 08:40)
    assert [leg.kind for leg in j.legs] == ["conducir", "espera", "barco", "caminar"]
    assert j.boat_legs[0].line_id == "lancha"
    assert j.arrive_at == at("08:33:20")
    assert j.seconds("espera") == 20 * 60


def test_wait_for_the_next_departure_after_missing_one():
    j = build_model().journey(node(0), node(4), at("07:55"))
    # at the pier 08:15: lancha gone, next ferry 09:00, arrive B 09:30, drive 600 s
    assert j.boat_legs[0].line_id == "ferry"
    assert j.boat_legs[0].depart_at == at("09:00")
    assert j.seconds("espera") == 45 * 60
    assert j.arrive_at == at("09:40")
    assert [leg.kind for leg in j.legs][-1] == "conducir"  # the ferry carries the vehicle


def test_boarding_margin_applies():
    # at the pier 08:05; with a 5 min margin the 08:10 lancha is still caught (08:05 + 5 = 08:10)
    j = build_model(margin=5).journey(node(0), node(4), at("07:45"))
    assert j.boat_legs[0].depart_at == at("08:10")
    # one minute later it is missed and the 09:00 ferry is next
    j = build_model(margin=5).journey(node(0), node(4), at("07:46"))
    assert j.boat_legs[0].depart_at == at("09:00")


def test_after_the_last_boat_of_friday_there_is_nothing_within_24_hours():
    j = build_model().journey(node(0), node(4), at("09:45", day=13))  # Friday
    assert not j.reachable
    assert "lancha el lunes 16-03-2026 a las 08:10" in j.reason
    assert "lu, ma, mi, ju, vi" in j.reason
    # on Thursday the same trip waits for Friday's first boat instead (within 24 h)
    k = build_model().journey(node(0), node(4), at("10:05", day=12))
    assert k.boat_legs[0].depart_at == at("08:10", day=13)


def test_suspended_day():
    # lancha suspended on Tuesday: the ferry at 08:00 is taken instead
    model = build_model(
        [Suspension("lancha", dt.date(2026, 3, 10), dt.date(2026, 3, 10), "temporal")]
    )
    j = model.journey(node(0), node(4), at("07:30", day=10))
    assert j.boat_legs[0].line_id == "ferry"
    assert j.arrive_at == at("08:40", day=10)
    # both lines suspended: next is Wednesday 08:10, more than 24 h later
    both = build_model(
        [
            Suspension(line, dt.date(2026, 3, 10), dt.date(2026, 3, 10))
            for line in ("lancha", "ferry")
        ]
    )
    j = both.journey(node(0), node(4), at("07:30", day=10))
    assert not j.reachable
    assert "miércoles 11-03-2026" in j.reason


def test_same_island_needs_no_boat_and_other_island_without_line_is_unreachable():
    model = build_model()
    j = model.journey(node(0), node(2), at("07:30"))
    assert j.travel_time_s == 1200
    assert not j.boat_legs
    # from B back to A there are only afternoon ferries: 08:00 on B waits until 15:00
    j = model.journey(node(4), node(0), at("08:00"))
    assert j.boat_legs[0].depart_at == at("15:00")
    assert j.arrive_at == at("15:50")


def test_matrix_agrees_with_journeys_and_marks_unreachable_as_nan():
    model = build_model()
    points = pd.DataFrame({"id": list("abcde"), "lat": 0.0, "lon": NODES})
    table = model.matrix(points, depart_at=at("07:30")).set_index(["from_id", "to_id"])
    for i, a in enumerate("abcde"):
        for j, b in enumerate("abcde"):
            journey = model.journey(node(i), node(j), at("07:30"))
            got = table.loc[(a, b), "travel_time_s"]
            assert got == pytest.approx(journey.travel_time_s, abs=1e-6)
    assert table.loc[("a", "e"), "travel_time_s"] == 3800  # 07:30 -> 08:33:20
    friday = model.matrix(points, depart_at=at("18:00", day=13)).set_index(["from_id", "to_id"])
    assert np.isnan(friday.loc[("a", "e"), "travel_time_s"])
    assert friday.loc[("a", "c"), "travel_time_s"] == 1200


def test_on_foot_from_the_start():
    j = build_model().journey(node(0), node(4), at("07:00"), on_foot=True)
    # walk 0->2 1,600 s: 07:26:40; lancha 08:10-08:20; walk 800 s
    assert [leg.kind for leg in j.legs] == ["caminar", "espera", "barco", "caminar"]
    assert j.arrive_at == at("08:33:20")


def test_vehicle_waiting_at_the_pier_is_picked_up():
    model = build_model()
    # on foot on B, vehicle parked at pier A: back to node 0 driving from pier A
    j = model.journey(node(4), node(0), at("14:00"), on_foot=True, vehicle_at=PIER_A)
    assert [leg.kind for leg in j.legs] == ["caminar", "espera", "barco", "conducir"]
    assert j.arrive_at == at("15:50")


def test_last_boat_home():
    model = build_model()
    last = model.last_boat_home(node(4), node(0), dt.date(2026, 3, 9))
    # drive 600 s to pier B for the 17:00 ferry: leave by 16:50, home 17:50
    assert last.leave_by == at("16:50")
    assert last.journey.arrive_at == at("17:50")
    earlier = model.last_boat_home(
        node(4), node(0), dt.date(2026, 3, 9), latest_arrival=dt.time(17, 0)
    )
    assert earlier.leave_by == at("14:50")
    assert (
        model.last_boat_home(node(4), node(0), dt.date(2026, 3, 9), latest_arrival=dt.time(9, 0))
        is None
    )


def test_isochrone_crosses_only_when_the_boat_fits():
    import shapely

    model = build_model()
    far_end = shapely.Point(NODES[4], 0.0)
    short = model.isochrone(node(0), 40, at("07:30"))
    assert not short.geometry.buffer(1e-4).contains(far_end)
    long = model.isochrone(node(0), 70, at("07:30"))
    assert long.geometry.buffer(1e-4).contains(far_end)
    assert "lancha" in long.boats
