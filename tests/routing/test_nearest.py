"""Multi-source nearest-facility search (`routing.nearest`) against forward searches."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from routing.nearest import NearestSearch
from routing.nearest import pair_times
from tests.routing.handbuilt import HEADER
from tests.routing.handbuilt import NODES
from tests.routing.handbuilt import PIER_A
from tests.routing.handbuilt import PIER_B
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import row

DAY_S = 86400.0
SANTIAGO = ZoneInfo("America/Santiago")


def _points(model, nodes):
    return model.snap([NODES[i] for i in nodes], [0.0] * len(nodes))


def test_nearest_on_the_two_islands_matches_the_hand_worked_times():
    model = build_model()
    origins = _points(model, range(5))
    search = NearestSearch(model, origins)
    # facilities: node 4 (island B) and node 1 (island A)
    result = search.nearest(_points(model, [4, 1]), at("07:30"), DAY_S)
    # A side: node 1 is 600 s from nodes 0 and 2, 0 s from itself; B side: node 4 by road
    assert result.travel_time_s.tolist() == [600.0, 0.0, 600.0, 600.0, 0.0]
    assert result.facility.tolist() == [1, 1, 1, 0, 0]
    # only island B: nodes 0, 1 and 2 take the 08:10 lancha and walk 800 s -> 08:33:20
    only_b = search.nearest(_points(model, [4]), at("07:30"), DAY_S)
    assert only_b.travel_time_s.tolist() == [3800.0, 3800.0, 3800.0, 600.0, 0.0]


def test_on_foot_the_walk_to_the_pier_still_catches_the_lancha():
    model = build_model()
    search = NearestSearch(model, _points(model, [0]), on_foot=True)
    # walk 0->2 1,600 s (07:56:40), lancha 08:10-08:20, walk 800 s -> 08:33:20
    assert search.nearest(_points(model, [4]), at("07:30"), DAY_S).travel_time_s[0] == 3800.0


def test_ties_go_to_the_lowest_facility_index():
    model = build_model()
    search = NearestSearch(model, _points(model, [1]))
    # nodes 0 and 2 are both 600 s from node 1
    assert search.nearest(_points(model, [2, 0]), at("07:30"), DAY_S).facility[0] == 0
    assert search.nearest(_points(model, [0, 2]), at("07:30"), DAY_S).facility[0] == 0
    # the same point twice
    assert search.nearest(_points(model, [3, 3]), at("07:30"), DAY_S).facility[0] == 0


def test_no_boat_within_the_horizon_is_unreachable():
    model = build_model()
    search = NearestSearch(model, _points(model, [0]))
    result = search.nearest(_points(model, [4]), at("09:45", day=13), DAY_S)  # Friday
    assert result.travel_time_s[0] == np.inf
    assert result.facility[0] == -1


@pytest.mark.parametrize(("hhmm", "day"), [("07:30", 9), ("08:05", 10), ("16:00", 12)])
@pytest.mark.parametrize("on_foot", [False, True])
def test_equals_the_forward_matrix_on_the_hand_built_network(hhmm, day, on_foot):
    model = build_model()
    origins = _points(model, range(5))
    search = NearestSearch(model, origins, on_foot=on_foot)
    for facilities in ([4], [0, 3], [2, 4, 1], [3]):
        fac = _points(model, facilities)
        forward = model.matrix_array(origins, fac, at(hhmm, day), on_foot=on_foot)
        got = search.nearest(fac, at(hhmm, day), model.horizon_h * 3600)
        np.testing.assert_allclose(got.travel_time_s, forward.min(axis=1))
        to_each = search.to_each(fac, at(hhmm, day), model.horizon_h * 3600)
        np.testing.assert_allclose(to_each, forward)


def test_equals_a_forward_search_on_malta_for_200_origins(malta):
    rng = np.random.default_rng(7)
    net = malta.network
    nodes = rng.choice(net.n_nodes, 200, replace=False)
    origins = malta.snap(net.node_lon[nodes], net.node_lat[nodes])
    search = NearestSearch(malta, origins)
    depart = dt.datetime(2026, 3, 10, 8, 0)
    for size in (1, 5, 40):
        picks = rng.choice(net.n_nodes, size, replace=False)
        fac = malta.snap(net.node_lon[picks] + 0.0005, net.node_lat[picks])
        forward = malta.matrix_array(origins, fac, depart)
        got = search.nearest(fac, depart, malta.horizon_h * 3600)
        np.testing.assert_allclose(got.travel_time_s, forward.min(axis=1), rtol=1e-9)
        # the facility named is one of those at that time
        rows = np.flatnonzero(np.isfinite(got.travel_time_s))
        np.testing.assert_allclose(
            forward[rows, got.facility[rows]], forward[rows].min(axis=1), rtol=1e-9
        )


def _weekend_model():
    # a Saturday/Sunday lancha A -> B at 00:30 and 01:30, crossing 10 min
    text = "\n".join(
        [
            HEADER,
            row(
                "w-ab", "noche", ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros",
                "00:30 01:30", 10, days="sa,do",
            ),
        ]
    )  # fmt: skip
    return build_model(timetable_csv=text)


def test_boat_waits_count_real_time_across_the_april_clock_change():
    model = _weekend_model()
    a, b = _points(model, [2]), _points(model, [3])
    # Saturday 4 April 2026 23:00 (UTC-3, first 23:00) -> clocks go back at midnight;
    # the 00:30 boat of Sunday (UTC-4) leaves 2 h 30 min later, not 1 h 30 min
    t0 = dt.datetime(2026, 4, 4, 23, 0, tzinfo=SANTIAGO)
    assert model.matrix_array(a, b, t0)[0, 0] == 2.5 * 3600 + 600
    # the same clock times without a zone keep the wall-clock difference
    assert model.matrix_array(a, b, t0.replace(tzinfo=None))[0, 0] == 1.5 * 3600 + 600


def test_boat_waits_count_real_time_across_the_september_clock_change():
    model = _weekend_model()
    a, b = _points(model, [2]), _points(model, [3])
    # Saturday 5 September 2026 23:00 (UTC-4); Sunday's 00:00-00:59 does not exist and the
    # 01:30 boat (UTC-3) leaves 1 h 30 min later; the 00:30 one is the same instant as 01:30
    t0 = dt.datetime(2026, 9, 5, 23, 0, tzinfo=SANTIAGO)
    assert model.matrix_array(a, b, t0)[0, 0] == 1.5 * 3600 + 600


def test_pair_times_start_each_trip_at_its_own_time():
    model = build_model()
    a = _points(model, [0, 0, 3])
    b = _points(model, [4, 4, 0])
    start = np.array([0.0, 30 * 60.0, 6 * 3600.0])  # 07:30, 08:00 and 13:30
    arrive, layer = pair_times(
        model, a, b, start, at("07:30"), DAY_S, start_layer=np.array([0, 0, 0])
    )
    # 07:30: lancha -> 08:33:20 (on foot); 08:00: at the pier 08:20, ferry 09:00 -> 09:40 by car;
    # 13:30 from node 3: pier B 13:40, ferry 15:00 -> 15:30, drive 1,200 s -> 15:50
    assert arrive.tolist() == [3800.0, 2 * 3600 + 600, 8 * 3600 + 1200]
    assert layer.tolist() == [1, 0, 0]


def _aimed_vs_full(network, graph, seeds, seed_s, labels, goals, limit=np.inf):
    """`_toward` at each goal pair against the full `_multi_source` field (bit for bit)."""
    from routing.nearest import _lower_bound_scale
    from routing.nearest import _multi_source
    from routing.nearest import _node_xy
    from routing.nearest import _toward

    indptr, indices, weights = graph
    n = len(indptr) - 1
    full, full_label, _ = _multi_source(
        indptr, indices, weights, seeds, seed_s, labels, np.zeros(n, np.bool_), np.full(n, np.inf)
    )
    x, y = _node_xy(network)
    scale = _lower_bound_scale(graph, x, y)
    work = (np.full(n, np.inf), np.full(n, -1, np.int64), np.full(n, np.inf),
            np.full(n, -1, np.int64), np.empty(n, np.int64), np.empty(n, np.int64))  # fmt: skip
    checked = 0
    for goal in goals:
        goal_s = np.array([0.0, 0.0])
        got, got_label = _toward(indptr, indices, weights, seeds, seed_s, labels, x, y, scale,
                                 goal, goal_s, limit, *work)  # fmt: skip
        # each node: never shorter than the truth; the better of the two: exact within the limit
        assert (got >= full[goal]).all()
        best, best_label = _via(goal_s, got, got_label)
        truth, truth_label = _via(goal_s, full[goal], full_label[goal])
        if best <= limit:
            assert (best, best_label) == (truth, truth_label)
            checked += 1
        else:
            assert truth > limit * (1 - 1e-9) - 1e-6
        # the workspace is left as found
        assert np.isinf(work[0]).all() and (work[1] == -1).all() and (work[3] == -1).all()
    return scale, checked


def _via(goal_s, seconds, label):
    """Better of a point's two nodes, lowest label on ties (the rule of `_via_nodes`)."""
    cand = goal_s + seconds
    best = float(cand.min())
    tied = [int(lab) for c, lab in zip(cand, label, strict=True) if c == best and lab >= 0]
    return best, min(tied) if tied and np.isfinite(best) else -1


def test_the_aimed_walk_search_equals_the_full_search_bit_for_bit_on_malta(malta):
    from routing.nearest import _reverse_graph

    net = malta.network
    graph = _reverse_graph(net, "walk")
    rng = np.random.default_rng(11)
    for size in (1, 5, 80):
        seeds = rng.choice(net.n_nodes, size, replace=False)
        # two seeds on one node and a second seed at the same time: ties by the lowest label
        seeds = np.concatenate([seeds, seeds[:1]])
        seed_s = np.concatenate([rng.uniform(0, 60, size).round(), [0.0]])
        labels = np.arange(len(seeds))[::-1].copy()
        goals = rng.choice(net.n_nodes, (25, 2))
        scale, checked = _aimed_vs_full(net, graph, seeds, seed_s, labels, goals)
        assert checked > 0
        _aimed_vs_full(net, graph, seeds, seed_s, labels, goals, limit=900.0)
    # walking at 4.5 km/h no path beats 0.8 s per metre of straight line
    assert 0.79 < scale <= 0.8


def test_the_lower_bound_holds_where_an_edge_is_shorter_than_its_straight_line():
    from routing.nearest import _lower_bound_scale
    from routing.nearest import _node_xy
    from routing.streets import StreetNetwork

    # nodes 0-1-2 on a line 1,000 m apart, but the edge 1-2 says 100 m (a tunnel, a bad length)
    step = 1000 / 111_195.0
    lon = np.array([0.0, step, 2 * step])
    lat = np.zeros(3)
    u, v = np.array([0, 1, 1, 2]), np.array([1, 0, 2, 1])
    length = np.array([1000.0, 1000.0, 100.0, 100.0])
    net = StreetNetwork(lon, lat, u, v, length, length * 0.6, np.arange(0, 9, 2),
                        np.ravel(np.column_stack([lon[u], lon[v]])), np.zeros(8))  # fmt: skip
    from routing.nearest import _reverse_graph

    graph = _reverse_graph(net, "walk")
    scale = _lower_bound_scale(graph, *_node_xy(net))
    assert scale < 0.08 + 1e-6  # 100 m in 80 s over 1,000 m of straight line
    # from a facility at node 2, node 0 is 1,100 m = 880 s away (the bound must not cut it)
    _, checked = _aimed_vs_full(net, graph, np.array([2]), np.array([0.0]), np.array([0]),
                                [np.array([0, 0])])  # fmt: skip
    assert checked == 1
    from routing.nearest import _toward

    work = (np.full(3, np.inf), np.full(3, -1), np.full(3, np.inf), np.full(3, -1),
            np.empty(3, np.int64), np.empty(3, np.int64))  # fmt: skip
    got, label = _toward(*graph, np.array([2]), np.array([0.0]), np.array([0]), *_node_xy(net),
                         scale, np.array([0, 1]), np.zeros(2), np.inf, *work)  # fmt: skip
    assert got[1] == 80.0 and label[1] == 0
    # aimed at node 0 alone: 880 s, found through the short edge
    got, label = _toward(*graph, np.array([2]), np.array([0.0]), np.array([0]), *_node_xy(net),
                         scale, np.array([0, 0]), np.zeros(2), np.inf, *work)  # fmt: skip
    assert got.tolist() == [880.0, 880.0] and label.tolist() == [0, 0]
