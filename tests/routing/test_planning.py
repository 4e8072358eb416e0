"""Weekly planning on the hand-built two-island network (answers worked out by hand).

Island A: nodes 0-1-2 (pier A at node 2), island B: nodes 3-4 (pier B at 3);
each edge is 1 km, 10 min by vehicle. A->B: ferry 08:00, 09:00, 10:00 (30 min)
and a passenger lancha at 08:10; B->A: ferry 15:00 and 17:00. 2026-03-09 is a
Monday. Every plan is replayed again here and must be feasible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from routing.boats import Suspension
from routing.planning import Gestor
from routing.planning import Pin
from routing.planning import PlanParams
from routing.planning import Stay
from routing.planning import Visit
from routing.planning import plan_week
from routing.planning import replan
from routing.planning import simulate_day
from tests.routing.handbuilt import HEADER
from tests.routing.handbuilt import PIER_A
from tests.routing.handbuilt import PIER_B
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node
from tests.routing.handbuilt import row

MONDAY = dt.date(2026, 3, 9)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(5)]
FAST = PlanParams(seconds=1)


def gestor(**kw) -> Gestor:
    x, y = node(0)
    base = {"id": "g1", "name": "Gestora A", "lon": x, "lat": y, "base_label": "Base A"}
    base.update(start=dt.time(8), end=dt.time(16))
    return Gestor(**{**base, **kw})


def visit(vid: str, at_node: int, **kw) -> Visit:
    x, y = node(at_node)
    return Visit(vid, x, y, label=f"Caso {vid} (sintético)", **kw)


def check_feasible(plan, model, gestores, stays=()):
    """Replay every day of `plan` and compare it with what the planner returned."""
    by_id = {g.id: g for g in gestores}
    for day in plan.days:
        assert day.feasible, day.problem
        visits = [plan.visits[s.visit_id] for s in day.stops]
        again = simulate_day(model, by_id[day.gestor_id], day.day, visits, stays=stays)
        assert again.feasible, again.problem
        assert again.end_at == day.end_at
        assert [s.start_at for s in again.stops] == [s.start_at for s in day.stops]
    planned = [s.visit_id for d in plan.days for s in d.stops]
    assert len(planned) == len(set(planned))
    assert set(planned).isdisjoint(u.visit_id for u in plan.unassigned)
    assert set(planned) | {u.visit_id for u in plan.unassigned} == set(plan.visits)


def test_the_only_feasible_day_waits_for_the_15_00_ferry_and_lunches_in_the_wait():
    model = build_model()
    g = gestor()
    plan = plan_week(model, [visit("isla", 4)], [g], [MONDAY], params=FAST)
    check_feasible(plan, model, [g])
    (day,) = plan.days
    (stop,) = day.stops
    # 08:00 drive 20 min to pier A, lancha gone: ferry 09:00-09:30, drive 10 min -> 09:40
    assert stop.arrive_at == at("09:40")
    assert [b.depart_at for b in day.boats] == [at("09:00"), at("15:00")]
    # back at pier B 10:35, waits for the 15:00 ferry; home 15:50 (17:00 would be 17:50)
    assert day.end_at == at("15:50")
    assert day.seconds("espera") == (40 + 265) * 60  # 08:20-09:00 and 10:35-15:00
    assert day.lunch == (at("12:30"), at("13:15"))  # taken during the wait at pier B
    # leaving the visit 10 min before the 15:00 ferry is the latest that still gets home
    assert day.last_boat["salir_antes_de"] == at("14:50").isoformat()
    assert day.last_boat["sale"] == at("15:00").isoformat()
    assert not plan.unassigned


def test_a_day_missing_the_last_boat_is_infeasible_with_the_reason():
    model = build_model()
    late = gestor(start=dt.time(10, 30), end=dt.time(16))
    day = simulate_day(model, late, MONDAY, [visit("isla", 4)])
    # 10:30 at base: pier A at 10:50, the last ferry out (10:00) is gone: Tuesday's 08:00
    # ferry, the visit, the 15:00 ferry back and home at 15:50 the next day
    assert not day.feasible
    assert day.problem == (
        "llega a Base A recién el martes 10-03 a las 15:50: no hay barco para volver en el día"
    )


def one_lancha(line: str, days: str) -> str:
    """Timetable with one passenger lancha: A->B at 09:00, B->A at 14:00 (30 min), on `days`."""
    return "\n".join(
        [
            HEADER,
            row("ab", line, ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros",
                "09:00", 30, days=days),
            row("ba", line, ("B", PIER_B), ("A", PIER_A), "lancha", "solo_pasajeros",
                "14:00", 30, days=days),
        ]
    )  # fmt: skip


ONLY_WEDNESDAY = one_lancha("lancha-mi", "mi")


def test_the_island_visit_moves_to_the_day_the_boat_runs():
    model = build_model(timetable_csv=ONLY_WEDNESDAY)
    g = gestor()
    visits = [visit("isla", 4, priority=30), visit("tierra", 1, priority=10)]
    plan = plan_week(model, visits, [g], WEEK, params=FAST)
    check_feasible(plan, model, [g])
    days = {s.visit_id: d.day for d in plan.days for s in d.stops}
    assert days["isla"] == dt.date(2026, 3, 11)  # Wednesday
    (wed,) = [d for d in plan.days if d.day == dt.date(2026, 3, 11)]
    # with a vehicle: drive to the pier, the lancha carries no vehicles, walk on B
    kinds = [leg.kind for leg in wed.stops[-1].legs if leg.kind != "espera"] if wed else []
    assert "barco" in kinds
    assert "caminar" in [leg.kind for leg in wed.legs]
    assert not plan.unassigned


def test_unassigned_visits_each_get_their_reason():
    saturday_only = one_lancha("sab", "sa")
    model = build_model(timetable_csv=saturday_only)
    g = gestor(max_visits=1)
    visits = [
        visit("isla", 4, priority=50),
        visit("lancha-propia", 1, skills=frozenset({"embarcacion"})),
        visit("noche", 1, window=(dt.time(19), dt.time(20))),
        visit("alta", 1, priority=50),
        visit("baja", 0, priority=1),
    ]
    plan = plan_week(model, visits, [g], [MONDAY], params=FAST)
    check_feasible(plan, model, [g])
    reasons = {u.visit_id: u for u in plan.unassigned}
    assert plan.assigned_ids() == {"alta"}
    assert reasons["isla"].reason == "sin_barco"
    assert "sá" in reasons["isla"].message  # the line operates on Saturdays
    assert reasons["lancha-propia"].reason == "sin_gestor"
    assert "embarcacion" in reasons["lancha-propia"].message
    assert reasons["noche"].reason == "fuera_de_horario"
    assert "fin de la jornada (16:00)" in reasons["noche"].message
    assert reasons["baja"].reason == "capacidad"


def test_replan_after_a_cancelled_sailing_keeps_the_agreed_visit():
    model = build_model()
    g = gestor()
    visits = [visit("isla", 4, priority=30), visit("acordada", 1, priority=5)]
    days = WEEK[:2]
    first = plan_week(model, visits, [g], days, pins=[Pin("acordada", "g1", MONDAY)], params=FAST)
    check_feasible(first, model, [g])
    where = {s.visit_id: d.day for d in first.days for s in d.stops}
    assert where["acordada"] == MONDAY
    # put the island visit on Monday too, then the Monday 15:00 ferry back is cancelled
    forced = plan_week(
        model,
        visits,
        [g],
        days,
        pins=[Pin("acordada", "g1", MONDAY), Pin("isla", "g1", MONDAY)],
        params=FAST,
    )
    assert {s.visit_id for d in forced.days if d.day == MONDAY for s in d.stops} == {
        "isla",
        "acordada",
    }
    cancelled = Suspension("ferry", MONDAY, MONDAY, "temporal", first_min=900, last_min=900)
    again = replan(
        forced, model, [g], days, from_day=MONDAY, keep=["acordada"], suspensions=[cancelled]
    )
    new_model = build_model([cancelled])
    check_feasible(again, new_model, [g])
    where = {s.visit_id: d.day for d in again.days for s in d.stops}
    assert where == {"acordada": MONDAY, "isla": WEEK[1]}  # the 17:00 ferry is too late


def test_replan_with_an_absent_gestor_moves_visits_to_the_other():
    model = build_model()
    a = gestor()
    b = gestor(id="g2", name="Gestor B")
    visits = [visit("v1", 1, priority=10), visit("v2", 1, priority=10)]
    first = plan_week(model, visits, [a, b], [MONDAY], params=FAST)
    again = replan(first, model, [a, b], [MONDAY], from_day=MONDAY, absences=[("g1", MONDAY)])
    check_feasible(again, model, [a, b])
    assert {d.gestor_id for d in again.days} == {"g2"}
    assert again.assigned_ids() == {"v1", "v2"}


def test_priority_decides_what_fits_and_skills_and_required_gestor_are_respected():
    model = build_model()
    walker = gestor(id="w", name="Sin vehículo", vehicle=False, max_visits=3)
    driver = gestor(id="d", name="Con vehículo", max_visits=3)
    visits = [
        visit("lejos", 4, skills=frozenset({"vehiculo"}), priority=20),
        visit("de-w", 1, required_gestor="w", priority=5),
        visit("pref-d", 0, preferred_gestor="d", priority=5),
    ]
    plan = plan_week(model, visits, [walker, driver], [MONDAY], params=FAST)
    check_feasible(plan, model, [walker, driver])
    who = {s.visit_id: d.gestor_id for d in plan.days for s in d.stops}
    assert who == {"lejos": "d", "de-w": "w", "pref-d": "d"}


def test_bad_input_is_reported_in_spanish():
    model = build_model()
    with pytest.raises(ValueError, match="mismo `id`"):
        plan_week(model, [visit("a", 1), visit("a", 0)], [gestor()], [MONDAY], params=FAST)
    with pytest.raises(ValueError, match="No hay gestores"):
        plan_week(model, [visit("a", 1)], [], [MONDAY], params=FAST)


def afternoon_out(back: str) -> str:
    """Timetable with one passenger lancha: A->B at 14:00, B->A at `back` (30 min)."""
    return "\n".join(
        [
            HEADER,
            row("ab", "lancha-tarde", ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros",
                "14:00", 30),
            row("ba", "lancha-tarde", ("B", PIER_B), ("A", PIER_A), "lancha", "solo_pasajeros",
                back, 30),
        ]
    )  # fmt: skip


# The lancha crosses A->B only at 14:00 and B->A only at 09:00 (30 min, passengers only):
# nobody can go to island B and come back the same day.
AFTERNOON_OUT = afternoon_out("09:00")


def posada(night: dt.date = MONDAY) -> Stay:
    x, y = node(4)
    return Stay("g1", night, x, y, "Posada isla B (sintético)")


def test_an_island_without_a_boat_back_the_same_day_needs_a_planned_stay():
    model = build_model(timetable_csv=AFTERNOON_OUT)
    g = gestor()
    visits = [visit("isla", 4, priority=30), visit("tierra", 1, priority=10)]
    days = WEEK[:2]
    alone = plan_week(model, visits, [g], days, params=FAST)
    check_feasible(alone, model, [g])
    assert alone.assigned_ids() == {"tierra"}
    (why,) = alone.unassigned
    assert why.visit_id == "isla" and why.reason == "sin_barco"

    stays = [posada()]
    plan = plan_week(model, visits, [g], days, stays=stays, params=FAST)
    check_feasible(plan, model, [g], stays)
    assert plan.assigned_ids() == {"isla", "tierra"}
    monday, tuesday = plan.days
    # Monday: drive to pier A (08:20), the 14:00 lancha, walk 800 s to the posada
    assert (monday.start_place, monday.end_place) == ("", "Posada isla B (sintético)")
    assert [b.depart_at for b in monday.boats] == [at("14:00")]
    assert monday.legs[-1].kind == "caminar"
    # Tuesday starts at the posada on foot: walk to pier B, the 09:00 lancha, then the car
    # left at pier A on Monday drives home (10 min per edge): 09:30 + 20 min
    assert tuesday.start_place == "Posada isla B (sintético)" and tuesday.end_place == ""
    assert [b.depart_at for b in tuesday.boats] == [at("09:00", day=10)]
    kinds = [leg.kind for leg in tuesday.legs if leg.kind != "espera"]
    assert kinds[kinds.index("barco") + 1 :][:1] == ["conducir"]
    assert kinds[0] == "caminar"
    if not tuesday.stops:  # the island visit was done on Monday, before the posada
        assert tuesday.end_at == at("09:50", day=10)
    assert plan.to_dict()["dias"][0]["duerme_en"] == "Posada isla B (sintético)"


# The only lancha back from island B sails at 07:00, before the working day (08:00).
DAWN_BACK = afternoon_out("07:00")


def test_the_morning_after_a_stay_can_start_early_for_the_dawn_boat():
    model = build_model(timetable_csv=DAWN_BACK)
    g = gestor()
    visits = [visit("isla", 4, priority=30), visit("tierra", 1, priority=10)]
    days = WEEK[:2]
    with pytest.raises(ValueError, match=r"no sirve: el martes 10-03, sin visitas, llega a"):
        plan_week(model, visits, [g], days, stays=[posada()], params=FAST)
    late = replace(posada(), leave=dt.time(16, 30))
    with pytest.raises(ValueError, match=r"saldría de Posada .* a las 16:30 del martes 10-03"):
        plan_week(model, visits, [g], days, stays=[late], params=FAST)

    stays = [replace(posada(), leave=dt.time(6, 30))]
    plan = plan_week(model, visits, [g], days, stays=stays, params=FAST)
    check_feasible(plan, model, [g], stays)
    assert plan.assigned_ids() == {"isla", "tierra"}
    tuesday = plan.days[1]
    # 06:30 at the posada, walk 800 s to pier B, the 07:00 lancha to pier A (07:30)
    assert tuesday.start_at == at("06:30", day=10)
    assert [b.depart_at for b in tuesday.boats] == [at("07:00", day=10)]
    assert Stay.from_dict(stays[0].to_dict()) == stays[0]
    assert stays[0].to_dict()["sale"] == "06:30"


def test_a_stay_that_cannot_work_is_refused_in_spanish():
    model = build_model(timetable_csv=AFTERNOON_OUT)
    g = gestor()
    visits = [visit("isla", 4)]
    with pytest.raises(ValueError, match="no trabaja en el plan el martes 10-03"):
        plan_week(model, visits, [g], [MONDAY], stays=[posada()], params=FAST)
    with pytest.raises(ValueError, match="no es un gestor de este plan"):
        plan_week(model, visits, [g], WEEK[:2], stays=[replace(posada(), gestor_id="x")])
    early = gestor(end=dt.time(13))  # the 14:00 lancha leaves after the working day
    with pytest.raises(ValueError, match=r"El alojamiento en Posada isla B .* no sirve"):
        plan_week(model, visits, [early], WEEK[:2], stays=[posada()], params=FAST)
