"""Lunch (issue 17 item 12): only in shifts that span the lunch window, always inside it.

Hand-built two-island network of ``tests/routing/handbuilt.py`` (edges 10 min by
vehicle); the default lunch window is 12:30–14:00 and lunch lasts 45 minutes,
so it starts between 12:30 and 13:15. 2026-03-09 is a Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from routing.planning import Gestor
from routing.planning import PlanParams
from routing.planning import Visit
from routing.planning import lunch_problem
from routing.planning import plan_week
from routing.planning import simulate_day
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node

MONDAY = dt.date(2026, 3, 9)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(5)]


def gestor(start: str, end: str, **kw) -> Gestor:
    x, y = node(0)
    return Gestor(
        "g1", x, y, name="Gestora A (sintética)", base_label="Base A",
        start=dt.time.fromisoformat(start), end=dt.time.fromisoformat(end), **kw,
    )  # fmt: skip


def visit(vid: str, at_node: int, **kw) -> Visit:
    x, y = node(at_node)
    return Visit(vid, x, y, label=f"Caso {vid} (sintético)", **kw)


@pytest.mark.parametrize(
    ("start", "end", "takes"),
    [
        ("14:15", "18:00", False),  # the case: afternoon shift, after the window
        ("08:30", "12:00", False),  # morning shift, before the window
        ("08:30", "13:30", False),  # ends inside the window
        ("13:00", "18:00", False),  # starts inside the window
        ("08:30", "17:30", True),
        ("12:30", "14:00", True),  # exactly the window
    ],
)
def test_only_shifts_spanning_the_window_take_lunch(start, end, takes):
    assert gestor(start, end).takes_lunch is takes


def test_an_afternoon_shift_gets_no_lunch_and_is_feasible():
    model = build_model()
    g = gestor("14:15", "18:00")
    day = simulate_day(model, g, MONDAY, [visit("a", 1, duration_min=60), visit("b", 2)])
    assert day.feasible, day.problem
    assert day.lunch is None
    assert day.stops[0].start_at == at("14:25")  # straight to work: no lunch at 14:15


def test_a_whole_week_of_afternoon_shifts_has_no_lunch():
    model = build_model()
    g = gestor("14:15", "18:00")
    visits = [visit(f"v{i}", 1 + i % 2, duration_min=45) for i in range(6)]
    plan = plan_week(model, visits, [g], WEEK, params=PlanParams(seconds=1))
    assert plan.days
    for day in plan.days:
        assert day.feasible, day.problem
        assert day.lunch is None
        assert day.start_at.time() == dt.time(14, 15)


def test_lunch_is_inside_the_window_before_a_long_visit():
    # Arrives at 08:10; a 5-hour visit ends at 13:10 and lunch 13:10–13:55 still fits.
    model = build_model()
    g = gestor("08:00", "17:00")
    day = simulate_day(model, g, MONDAY, [visit("a", 1, duration_min=300)])
    assert day.feasible, day.problem
    assert day.lunch == (at("13:10"), at("13:55"))
    # 10 minutes more (would end 13:20, too late to lunch inside the window after it):
    # lunch goes first, 12:30–13:15, the visit after it, and the day ends too late.
    longer = simulate_day(model, g, MONDAY, [visit("a", 1, duration_min=310)])
    assert longer.lunch == (at("12:30"), at("13:15"))
    assert longer.stops[0].start_at == at("13:15")
    assert longer.problem == "llega a Base A a las 18:35, después del fin de la jornada (17:00)"
    # A shorter day, home before 13:15, lunches at home: no lunch in the plan, feasible.
    short = simulate_day(model, g, MONDAY, [visit("a", 1, duration_min=200)])
    assert short.feasible and short.lunch is None


def test_lunch_moves_a_visit_that_would_run_through_the_window():
    # Two visits: the first ends 12:50, the second (2 h) would cover the whole window.
    model = build_model()
    g = gestor("08:00", "17:00")
    day = simulate_day(
        model, g, MONDAY, [visit("a", 1, duration_min=270), visit("b", 2, duration_min=120)]
    )
    assert day.feasible, day.problem
    begin, end = day.lunch
    assert at("12:30") <= begin and end <= at("14:00")
    assert day.stops[1].start_at >= end


def test_every_lunch_of_a_planned_week_is_inside_its_window():
    model = build_model()
    g = gestor("08:30", "17:30")
    visits = [visit(f"v{i}", 1 + i % 2, duration_min=90) for i in range(12)]
    plan = plan_week(model, visits, [g], WEEK, params=PlanParams(seconds=1))
    for day in plan.days:
        assert day.feasible, day.problem
        if day.lunch:
            assert at("12:30").time() <= day.lunch[0].time()
            assert day.lunch[1].time() <= dt.time(14)
        assert lunch_problem(g, day) == ""


def test_the_replay_calls_a_lunch_outside_the_window_infeasible():
    model = build_model()
    g = gestor("08:30", "17:30")
    day = simulate_day(model, g, MONDAY, [visit("a", 1)])
    assert day.feasible
    moved = replace(day, lunch=(at("14:15"), at("15:00")))
    assert (
        lunch_problem(g, moved) == "almuerzo 14:15–15:00 fuera de la hora de almuerzo (12:30–14:00)"
    )
    early = replace(day, lunch=(at("12:00"), at("12:45")))
    assert "fuera de la hora de almuerzo" in lunch_problem(g, early)
    short = replace(day, lunch=(at("12:30"), at("12:50")))
    assert lunch_problem(g, short) == "almuerzo de menos de 45 minutos"
    afternoon = gestor("14:15", "18:00")
    assert "no abarca la hora de almuerzo" in lunch_problem(afternoon, moved)
    # A day that works through the whole window with no lunch is not feasible either.
    skipped = replace(day, lunch=None, end_at=at("16:00"))
    assert lunch_problem(g, skipped) == "no quedan 45 minutos de almuerzo entre 12:30 y 14:00"
    # A day back home before 13:15 lunches at home: nothing to say.
    assert lunch_problem(g, replace(day, lunch=None, end_at=at("11:00"))) == ""
