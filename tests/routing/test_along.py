"""A point a distance along the road (`routing.along.point_along`) on the hand-built network.

Island A of `tests.routing.handbuilt` is nodes 0 - 1 - 2 on the equator, 0.009° apart:
each piece is 0.009° × π/180 × 6,371,008.8 m = 1,000.75 m long (haversine on the equator).
"""

from __future__ import annotations

import math

import pytest

from routing.along import point_along
from tests.routing.handbuilt import NODES
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node

PIECE_M = 0.009 * math.pi / 180 * 6_371_008.8  # 1,000.75 m


@pytest.fixture(scope="module")
def streets():
    return build_model().network


def test_point_along_the_road(streets):
    # 1,500 m from node 0 towards node 2: half-way along the second piece
    found = point_along(streets, node(0), node(2), 1500.0)
    assert found is not None and not found.beyond
    assert found.path_m == pytest.approx(2 * PIECE_M)
    assert found.lon == pytest.approx(NODES[1] + (1500.0 - PIECE_M) / PIECE_M * 0.009)
    assert found.lat == pytest.approx(0.0, abs=1e-12)


def test_zero_is_the_start_and_the_whole_length_is_the_end(streets):
    start = point_along(streets, node(0), node(2), 0.0)
    assert (start.lon, start.lat) == pytest.approx(node(0))
    end = point_along(streets, node(0), node(2), 2 * PIECE_M)
    assert (end.lon, end.lat) == pytest.approx(node(2)) and not end.beyond


def test_beyond_the_end_says_so(streets):
    found = point_along(streets, node(0), node(2), 5000.0)
    assert found.beyond
    assert (found.lon, found.lat) == pytest.approx(node(2))


def test_no_road_across_the_water(streets):
    # nodes 2 and 3 are on different islands: boats are not roads
    assert point_along(streets, node(0), node(3), 100.0) is None


def test_negative_distance_is_refused(streets):
    with pytest.raises(ValueError, match="distance_m"):
        point_along(streets, node(0), node(2), -1.0)
