"""Re-planning when the boat back from a stay is cancelled (issue 17 item 13).

Hand-built network (``tests/routing/handbuilt.py``) with one passenger lancha:
A->B at 14:00 and B->A at 09:00, Monday to Friday, so island B needs a night
at the posada. Gestora A sleeps there on Monday; gestor C never goes to the
island. 2026-03-09 is a Monday. Every re-plan returns a plan, replayed again
with the stays it used.
"""

from __future__ import annotations

import datetime as dt

from routing.boats import Suspension
from routing.planning import Stay
from routing.planning import plan_week
from routing.planning import replan
from tests.routing.test_planning import AFTERNOON_OUT
from tests.routing.test_planning import FAST
from tests.routing.test_planning import MONDAY
from tests.routing.test_planning import WEEK
from tests.routing.test_planning import build_model
from tests.routing.test_planning import check_feasible
from tests.routing.test_planning import gestor
from tests.routing.test_planning import posada
from tests.routing.test_planning import visit

TUESDAY, WEDNESDAY = WEEK[1], WEEK[2]
BACK_MIN = 9 * 60  # the 09:00 lancha B->A


def setting():
    model = build_model(timetable_csv=AFTERNOON_OUT)
    gestores = [gestor(), gestor(id="c", name="Gestor C (sintético)")]
    visits = [
        visit("isla", 4, priority=30, required_gestor="g1"),
        visit("isla-2", 3, priority=20, required_gestor="g1"),
        *[visit(f"tierra-{i}", i % 2, priority=10, duration_min=60) for i in range(6)],
    ]
    stays = [posada()]
    plan = plan_week(model, visits, gestores, WEEK, stays=stays, params=FAST)
    check_feasible(plan, model, gestores, stays)
    return model, gestores, stays, plan


def cancelled(*days):
    return [Suspension.on_day("lancha-tarde", d, BACK_MIN) for d in days]


def test_a_cancelled_boat_back_extends_the_stay_with_the_reason():
    model, gestores, stays, plan = setting()
    again = replan(
        plan, model, gestores, WEEK, from_day=TUESDAY, suspensions=cancelled(TUESDAY),
        stays=stays, params=FAST,
    )  # fmt: skip
    nights = [(s.gestor_id, s.night) for s in again.stays]
    assert nights == [("g1", MONDAY), ("g1", TUESDAY)]
    (note,) = again.notes
    assert note.startswith("Gestora A sigue en Posada isla B (sintético) (el martes 10-03, ")
    assert "se planifica también la noche del martes 10-03 allí" in note
    assert again.decisions == []
    suspended = build_model(timetable_csv=AFTERNOON_OUT, suspensions=cancelled(TUESDAY))
    check_feasible(again, suspended, gestores, again.stays)
    tuesday = [d for d in again.days if d.gestor_id == "g1" and d.day == TUESDAY]
    wednesday = [d for d in again.days if d.gestor_id == "g1" and d.day == WEDNESDAY]
    assert not tuesday or tuesday[0].end_place == "Posada isla B (sintético)"
    assert wednesday and wednesday[0].start_place == "Posada isla B (sintético)"
    assert [b.depart_at.time() for b in wednesday[0].boats][:1] == [dt.time(9)]
    assert any(d.gestor_id == "c" and d.stops for d in again.days)
    assert again.to_dict()["avisos"] == [note]


def test_two_cancelled_mornings_extend_two_nights():
    model, gestores, stays, plan = setting()
    again = replan(
        plan, model, gestores, WEEK, from_day=TUESDAY,
        suspensions=cancelled(TUESDAY, WEDNESDAY), stays=stays, params=FAST,
    )  # fmt: skip
    assert [s.night for s in again.stays] == [MONDAY, TUESDAY, WEDNESDAY]
    assert len(again.notes) == 2 and "miércoles 11-03" in again.notes[1]
    suspended = build_model(timetable_csv=AFTERNOON_OUT, suspensions=cancelled(TUESDAY, WEDNESDAY))
    check_feasible(again, suspended, gestores, again.stays)


def test_no_way_back_in_the_week_says_what_the_profesional_must_decide():
    model, gestores, stays, plan = setting()
    again = replan(
        plan, model, gestores, WEEK, from_day=TUESDAY, suspensions=cancelled(*WEEK[1:]),
        stays=stays, params=FAST,
    )  # fmt: skip
    (decision,) = again.decisions
    assert decision.startswith(
        "Gestora A está en Posada isla B (sintético) y no tiene regreso a Base A"
    )
    assert "Decida cómo vuelve" in decision
    assert "martes 10-03, miércoles 11-03, jueves 12-03, viernes 13-03" in decision
    assert not [d for d in again.days if d.gestor_id == "g1" and d.day >= TUESDAY]
    assert any(d.gestor_id == "c" and d.stops for d in again.days)  # the others still planned


def test_a_stay_not_reached_yet_is_dropped_with_the_reason():
    model, gestores, stays, plan = setting()
    # From Monday, with Tuesday's boat back cancelled: she has not left yet, so the
    # stay is dropped (she sleeps at home) and the island visits wait, with their reason.
    again = replan(
        plan, model, gestores, WEEK, from_day=MONDAY, suspensions=cancelled(TUESDAY),
        stays=stays, params=FAST,
    )  # fmt: skip
    (note,) = again.notes
    assert note.startswith("Se quita el alojamiento de Gestora A en Posada isla B (sintético)")
    assert note.endswith("Duerme en Base A.")
    assert again.stays == []
    assert {"isla", "isla-2"} <= {u.visit_id for u in again.unassigned}
    # The boat out on Monday suspended: the same, with that reason.
    out = [Suspension.on_day("lancha-tarde", MONDAY, 14 * 60)]
    again = replan(plan, model, gestores, WEEK, from_day=MONDAY, suspensions=out, stays=stays,
                   params=FAST)  # fmt: skip
    assert "la noche del lunes 09-03: ese día, sin visitas," in again.notes[0]


def test_a_stay_whose_morning_is_now_an_absence_is_dropped():
    model, gestores, stays, plan = setting()
    again = replan(
        plan, model, gestores, WEEK, from_day=MONDAY, absences=[("g1", TUESDAY)],
        stays=stays, params=FAST,
    )  # fmt: skip
    assert "no trabaja el martes 10-03" in again.notes[0]
    assert Stay.from_dict(posada().to_dict()) == posada()
