"""Points attach to the nearest point of the nearest edge (issue 17, item 8).

Points used to be attached to a node, sometimes a far one: two points 299 m
apart on one Malta road took 411 s, and a point to itself 97–393 s. The edge is
split virtually at the point's projection: the distance along the edge counts,
in the directions the edge can be driven; a point to itself takes 0 s.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from routing.nearest import static_nearest
from routing.nearest import static_times
from routing.streets import StreetNetwork
from tests.conftest import TEST_DATA

TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)
STEP = 0.009  # degrees of longitude at the equator, about 1,000 m
M_PER_DEG = 1000.0 / STEP


def _network() -> StreetNetwork:
    """Two-way street 0-1, then a one-way loop 1->2->3->1 (a roundabout of 1 km sides).

    Every edge is 1,000 m and 600 s by vehicle; 800 s on foot at 4.5 km/h.
    """
    lon = np.array([0.0, STEP, 2 * STEP, 1.5 * STEP])
    lat = np.array([0.0, 0.0, 0.0, -0.866 * STEP])
    pairs = [(0, 1), (1, 0), (1, 2), (2, 3), (3, 1)]
    u = np.array([a for a, _ in pairs])
    v = np.array([b for _, b in pairs])
    return StreetNetwork(
        lon,
        lat,
        u,
        v,
        np.full(len(u), 1000.0),
        np.full(len(u), 600.0),
        np.arange(0, 2 * len(u) + 1, 2),
        np.ravel(np.column_stack([lon[u], lon[v]])),
        np.ravel(np.column_stack([lat[u], lat[v]])),
        walk_kmh=4.5,
        access_kmh=15.0,
    )


def _at(net, *fractions_on_edge):
    """Snap points at (edge node a, node b, fraction) positions, optionally moved north (m)."""
    lon, lat = [], []
    for a, b, f, *north in fractions_on_edge:
        lon.append(net.node_lon[a] + f * (net.node_lon[b] - net.node_lon[a]))
        lat.append(
            net.node_lat[a]
            + f * (net.node_lat[b] - net.node_lat[a])
            + (north[0] if north else 0) / M_PER_DEG
        )
    return net.snap(lon, lat)


def test_two_points_on_a_two_way_street_are_joined_along_it():
    net = _network()
    p = _at(net, (0, 1, 0.25), (0, 1, 0.75))
    t = net.times(p, p, "drive")
    np.testing.assert_allclose(t, [[0, 300], [300, 0]], atol=1e-6)
    np.testing.assert_allclose(net.times(p, p, "walk"), [[0, 400], [400, 0]], atol=1e-6)
    coords, metres, seconds = net.path(p.take([0]), p.take([1]), "drive")
    assert seconds == pytest.approx(300)
    assert metres == pytest.approx(500, rel=1e-6)
    assert coords[0] == pytest.approx((0.25 * STEP, 0.0))
    assert coords[-1] == pytest.approx((0.75 * STEP, 0.0))


def test_a_one_way_edge_is_driven_only_forward_but_walked_both_ways():
    net = _network()
    p = _at(net, (1, 2, 0.25), (1, 2, 0.75))
    t = net.times(p, p, "drive")
    assert t[0, 1] == pytest.approx(300)
    # back: on to node 2 (150 s), round the loop 2->3->1 (1,200 s), then 150 s along the edge
    assert t[1, 0] == pytest.approx(1500)
    assert net.times(p, p, "walk")[1, 0] == pytest.approx(400)
    _coords, metres, seconds = net.path(p.take([1]), p.take([0]), "drive")
    assert seconds == pytest.approx(1500)
    assert metres == pytest.approx(2500, rel=1e-3)


def test_the_distance_along_the_edge_counts_at_the_edge_speed():
    net = _network()
    # a point 100 m north of the middle of 0-1 and the node 1 itself
    p = _at(net, (0, 1, 0.5, 100.0))
    assert p.edge[0] in (0, 1)
    assert p.along[0] == pytest.approx(0.5)
    assert p.access_m[0] == pytest.approx(100, rel=1e-3)
    node1 = net.snap([STEP], [0.0])
    # 100 m off the road at 15 km/h (24 s) plus 500 m of road at 6 km/min (300 s)
    assert net.times(p, node1, "drive")[0, 0] == pytest.approx(24 + 300, rel=1e-3)
    assert net.times(p, p, "drive")[0, 0] == 0.0


def test_a_point_to_itself_is_zero_also_off_the_road():
    net = _network()
    p = _at(net, (0, 1, 0.3, 250.0), (1, 2, 0.6, -40.0), (2, 3, 0.0))
    np.testing.assert_array_equal(np.diag(net.times(p, p, "drive")), 0.0)
    np.testing.assert_array_equal(np.diag(net.times(p, p, "walk")), 0.0)


def test_nearest_and_times_see_the_same_edge_split():
    net = _network()
    points = _at(net, (1, 2, 0.75), (0, 1, 0.1), (2, 3, 0.5))
    facilities = _at(net, (1, 2, 0.25), (0, 1, 0.9))
    forward = net.times(points, facilities, "drive")
    seconds, index = static_nearest(net, points, facilities, "drive")
    np.testing.assert_allclose(seconds, forward.min(axis=1))
    np.testing.assert_array_equal(index, forward.argmin(axis=1))
    np.testing.assert_allclose(static_times(net, points, facilities, "drive"), forward)


# -- the Malta case ---------------------------------------------------------------
def test_two_points_299_m_apart_on_one_malta_road(malta):
    points = pd.read_csv(TEST_DATA / "osm" / "cases" / "malta_points_on_one_road.csv")
    table = malta.matrix(points, depart_at=TUESDAY_8).set_index(["from_id", "to_id"])
    seconds = table["travel_time_s"]
    assert seconds["P1", "P1"] == 0 and seconds["P2", "P2"] == 0
    # about 1 minute (was 411 s); the same road both ways
    assert 30 < seconds["P1", "P2"] < 90
    assert 30 < seconds["P2", "P1"] < 90
    j = malta.journey(
        tuple(points.loc[0, ["lon", "lat"]]), tuple(points.loc[1, ["lon", "lat"]]), TUESDAY_8
    )
    assert j.travel_time_s == pytest.approx(seconds["P1", "P2"], abs=1)
    assert 0.28 < j.legs[0].distance_m / 1000 < 0.35


def test_journey_seconds_equal_matrix_seconds_off_the_nodes(malta):
    net = malta.network
    rng = np.random.default_rng(3)
    nodes = rng.choice(net._main, 12, replace=False)
    lon = net.node_lon[nodes] + rng.uniform(-0.0008, 0.0008, 12)
    lat = net.node_lat[nodes] + rng.uniform(-0.0008, 0.0008, 12)
    places = malta.snap(lon, lat)
    assert (places.edge >= 0).all()
    matrix = net.times(places, places, "drive")
    assert (np.diag(matrix) == 0).all()
    for i, k in [(0, 1), (2, 3), (4, 5), (6, 7)]:
        _coords, _metres, seconds = net.path(places.take([i]), places.take([k]), "drive")
        assert seconds == pytest.approx(matrix[i, k], rel=1e-9)
