"""A real public feed (Cairns, TransLink 2014; tests/data/gtfs/README.md) read and queried.

Walking is the approximate network on one land mass drawn around the stops, and
the Connection Scan results are checked against the plain fixpoint search of
`tests.routing.transit_reference` (an independent, simpler computation).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import shapely

from routing.approximate import ApproximateNetwork
from routing.boats import Timetable
from routing.gtfs import read_gtfs
from routing.model import TravelModel
from routing.transit import TransitModel
from tests.routing.transit_reference import reference_arrivals

CAIRNS = Path(__file__).parents[1] / "data" / "gtfs" / "cairns_gtfs.zip"
CAIRNS_BOX = (145.55, -17.20, 145.85, -16.65)
TUESDAY = dt.datetime(2014, 6, 10, 7, 30)


def cairns_model(feed) -> TransitModel:
    land = shapely.MultiPoint(
        list(zip(feed.stops["stop_lon"], feed.stops["stop_lat"], strict=True))
    )
    network = ApproximateNetwork([("Cairns", land.convex_hull.buffer(0.01))])
    return TransitModel(TravelModel(network, Timetable(()), name="cairns"), [feed])


@pytest.fixture(scope="module")
def feed():
    return read_gtfs(CAIRNS, territory=CAIRNS_BOX, source="TransLink Cairns 2014 (CC BY)")


@pytest.fixture(scope="module")
def model(feed):
    return cairns_model(feed)


def test_the_real_feed_is_read_whole(feed):
    facts = feed.summary()
    assert (facts["paradas"], facts["lineas"], facts["viajes"]) == (416, 22, 1339)
    assert facts["lineas_por_tipo"] == {"bus": 22}
    assert facts["vigencia"] == ["2014-05-26", "2014-12-28"]
    # public holidays: the weekday service removed and the Sunday one added
    assert len(feed.calendar_dates) == 9


def test_outside_the_territory_is_refused(feed):
    from routing.gtfs import GtfsError

    with pytest.raises(GtfsError, match="fuera de la caja"):
        read_gtfs(CAIRNS, territory=(-74.5, -43.5, -72.5, -41.5))  # Chiloé


def test_journeys_and_matrix_agree_with_the_plain_search(feed, model):
    rng = np.random.default_rng(7)
    pick = rng.choice(len(feed.stops), size=12, replace=False)
    lon = feed.stops["stop_lon"].to_numpy()[pick] + rng.normal(0, 0.002, 12)
    lat = feed.stops["stop_lat"].to_numpy()[pick] + rng.normal(0, 0.002, 12)
    places = model.snap(lon, lat)
    matrix = model.matrix_array(places, places, TUESDAY)
    assert np.isfinite(matrix).all()
    assert (np.diag(matrix) == 0).all()
    used_bus = 0
    for i in range(3):
        expected = reference_arrivals(
            model.feeds,
            model.model.network,
            places.take([i]),
            places,
            TUESDAY,
            max_walk_s=model.max_walk_s,
            max_transfer_s=model.max_transfer_s,
            transfer_slack_s=model.transfer_slack_s,
            boat_slack_s=model.boat_slack_s,
            horizon_s=model.horizon_s,
        )
        assert matrix[i] == pytest.approx(expected, abs=1e-6)
        for k in range(len(places)):
            j = model.journey((lon[i], lat[i]), (lon[k], lat[k]), TUESDAY)
            assert j.travel_time_s == pytest.approx(matrix[i, k], abs=0.01)
            used_bus += any(leg.kind == "bus" for leg in j.legs)
            times = [j.depart_at] + [leg.arrive_at for leg in j.legs]
            assert times == sorted(times)
    assert used_bus >= 10  # most pairs ride a bus


def test_sunday_holiday_runs_the_sunday_service(model):
    # Monday 2014-06-09 (Queen's Birthday): Weekday removed, Sunday service added
    holiday = model._active(dt.date(2014, 6, 9))
    monday = model._active(dt.date(2014, 6, 16))
    keys = model.feeds[0].calendar["service_id"].tolist()
    sunday = keys.index("CNS2014-CNS_MUL-Sunday-00")
    weekday = keys.index("CNS2014-CNS_MUL-Weekday-00")
    assert holiday[sunday] and not holiday[weekday]
    assert monday[weekday] and not monday[sunday]
