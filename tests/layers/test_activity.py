"""Team activity per gestor and ISO week, worked out by hand on two plan days and five records.

Plan (published): Monday 2026-03-09 (ISO week 2026-W11) for «castro»: cases 1 and 2; legs
drive 1800 s / 20,000 m, boat 1200 s, wait 600 s, walk 300 s / 400 m; home: drive 900 s /
10,000 m. Wednesday 2026-03-18 (W12) for «castro»: case 3, one bus ride of 3600 s.

Records: case 1 on Monday by castro, contact with the guardian, barriers «trabajo» and
«sin_barco», referral to a CESFAM — then corrected (same visit, barrier «trabajo» only);
case 2 on Tuesday by castro: nobody home; case 9 (not planned) on Thursday by castro: wrong
address; case 3 on Sunday 2026-03-22 (still W12) by «ancud»: contact, referral by name only.

By hand, W11 castro: 1 day, 2 planned, 3 records stand (the correction replaces the first),
2 of the plan (cases 1, 2), 1 contact, 1 no contact, 1 wrong address, 1 with barriers, 0
referrals (the correction has none); hours: drive (1800 + 900) / 3600 = 0.75 → 0.8 (numpy
rounds half to even), boat 0.33 → 0.3, wait 0.17 → 0.2, walk 0.08 → 0.1;
km (20,000 + 400 + 10,000) / 1000 = 30.4; 1 crossing.
W12 castro: 1 day, 1 planned, 0 records, bus 1.0 h. W12 ancud: 0 planned, 1 record, 1 contact,
1 referral («otro»), del_plan 0 (case 3 was castro's).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from layers.activity import effective_visits
from layers.activity import iso_week
from layers.activity import team_activity

KINDS = {
    "contacto_apoderado": "contacto",
    "nadie_en_casa": "sin_contacto",
    "direccion_erronea": "ubicacion",
}


def _leg(kind, seconds, metres=0):
    return {"tipo": kind, "duracion_s": seconds, "distancia_m": metres}


DAYS = [
    {
        "dia": "2026-03-09", "gestor_id": "castro", "gestor": "Gestora Castro",
        "paradas": [
            {"visita_id": "1", "tramos": [_leg("conducir", 1800, 20_000), _leg("barco", 1200),
                                          _leg("espera", 600)]},
            {"visita_id": "2", "tramos": [_leg("caminar", 300, 400)]},
        ],
        "regreso": [_leg("conducir", 900, 10_000)],
    },
    {
        "dia": "2026-03-18", "gestor_id": "castro", "gestor": "Gestora Castro",
        "paradas": [{"visita_id": "3", "tramos": [_leg("bus", 3600)]}],
        "regreso": [],
    },
]  # fmt: skip


def _visit(uuid, case, gestor, day, outcome, barriers=(), referral="", corrects=None):
    return {
        "uuid": uuid, "corrects": corrects, "case_id": case, "gestor_id": gestor,
        "gestor": {"castro": "Gestora Castro", "ancud": "Gestor Ancud"}[gestor],
        "day": dt.date.fromisoformat(day), "outcome": outcome, "barriers": list(barriers),
        "referral_type": referral,
    }  # fmt: skip


VISITS = pd.DataFrame([
    _visit("a", 1, "castro", "2026-03-09", "contacto_apoderado", ["trabajo", "sin_barco"],
           "cesfam"),
    _visit("b", 1, "castro", "2026-03-09", "contacto_apoderado", ["trabajo"], corrects="a"),
    _visit("c", 2, "castro", "2026-03-10", "nadie_en_casa"),
    _visit("d", 9, "castro", "2026-03-12", "direccion_erronea"),
    _visit("e", 3, "ancud", "2026-03-22", "contacto_apoderado", referral="otro"),
])  # fmt: skip


def test_iso_week_of_a_sunday_is_the_week_before_monday():
    assert iso_week(dt.date(2026, 3, 22)) == ("2026-W12", dt.date(2026, 3, 16))
    assert iso_week(dt.date(2027, 1, 1)) == ("2026-W53", dt.date(2026, 12, 28))


def test_a_correction_replaces_what_it_corrects_along_a_chain():
    chain = pd.DataFrame({"uuid": ["x", "y", "z", "w"], "corrects": [None, "x", "y", None]})
    assert list(effective_visits(chain)["uuid"]) == ["z", "w"]


def test_weekly_activity_by_hand():
    activity = team_activity(DAYS, VISITS, KINDS)
    rows = {(r["semana"], r["gestor"]): r for r in activity.weekly.to_dict("records")}
    assert list(rows) == [("2026-W11", "Gestora Castro"), ("2026-W12", "Gestor Ancud"),
                          ("2026-W12", "Gestora Castro")]  # fmt: skip
    w11 = rows[("2026-W11", "Gestora Castro")]
    assert w11["lunes"] == dt.date(2026, 3, 9)
    assert (w11["dias"], w11["visitas_plan"], w11["visitas_hechas"], w11["del_plan"]) == (
        1,
        2,
        3,
        2,
    )
    assert (w11["contacto"], w11["sin_contacto"], w11["ubicacion"]) == (1, 1, 1)
    assert (w11["con_barreras"], w11["derivaciones"]) == (1, 0)
    hours = (w11["conduce_h"], w11["barco_h"], w11["espera_h"], w11["a_pie_h"])
    assert hours == (0.8, 0.3, 0.2, 0.1)
    assert (w11["km"], w11["cruces"], w11["bus_h"]) == (30.4, 1, 0.0)
    castro12 = rows[("2026-W12", "Gestora Castro")]
    assert (castro12["visitas_plan"], castro12["visitas_hechas"], castro12["bus_h"]) == (1, 0, 1.0)
    ancud = rows[("2026-W12", "Gestor Ancud")]
    assert (ancud["dias"], ancud["visitas_plan"], ancud["visitas_hechas"]) == (0, 0, 1)
    assert (ancud["del_plan"], ancud["contacto"], ancud["derivaciones"]) == (0, 1, 1)


def test_barriers_and_referrals_count_the_records_that_stand():
    activity = team_activity(DAYS, VISITS, KINDS)
    assert activity.barriers.values.tolist() == [["2026-W11", "Gestora Castro", "trabajo", 1]]
    assert activity.referrals.values.tolist() == [["2026-W12", "Gestor Ancud", "otro", 1]]


def test_nothing_planned_nor_visited_is_an_empty_table():
    empty = pd.DataFrame(columns=VISITS.columns)
    activity = team_activity([], empty, KINDS)
    assert activity.weekly.empty and activity.barriers.empty and activity.referrals.empty
    only_plan = team_activity(DAYS[:1], empty, KINDS).weekly
    assert only_plan[["visitas_plan", "visitas_hechas", "del_plan"]].values.tolist() == [[2, 0, 0]]
