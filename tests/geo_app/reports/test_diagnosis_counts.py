"""The diagnosis from database counts equals the diagnosis from one row per case and month.

`geo_app.reports.service` counts in SQL (``GROUP BY`` of the cases, of the months each
case was listed in as bit masks, of the percentages) and hands the counts to
`layers.diagnosis`; the straightforward way reads every case and attendance row. Both
run here on SQLite and PostgreSQL on a hand-built dataset of five synthetic cases over
four imported months with a gap (June not imported), worked out by hand:

========  =====  =====  =====  =====  ================================================
case      03     04     05     07     home comuna, school, latest list
========  =====  =====  =====  =====  ================================================
A         40     60     86     45     Castro, RBD 8001 (Castro), listed: crítica
B         92     —      (none)  —     Castro, RBD 8001, not listed
C         —      98     —      70     Ancud, RBD 8169 (Curaco de Vélez), listed: grave
D         —      —      84.9   —      Ancud, RBD 8169, not listed
E         40     —      —      —      Castro, no RBD, not listed
========  =====  =====  =====  =====  ================================================

(B's May row has no percentage: listed, «sin dato».)

Flow (the month before is the previous month *imported*: May for July):
March 3 listed, 3 new; April 2 listed (A continues, C new), B and E leave; May 3 listed
(A continues, B comes back, D new), C leaves; July 2 listed (A continues, C comes back),
B and D leave.
Trend: March 2 crítica (A, E) + 1 normal (B); April 1 grave (A) + 1 destacada (C);
May 1 reiterada (A) + 1 grave (D) + 1 sin dato (B); July 1 crítica (A) + 1 grave (C).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import select

from geo_app.reports import service
from geo_app.scope import Scope
from geo_app.store.models import Attendance
from geo_app.store.models import Case
from geo_app.store.models import Student
from layers.diagnosis import NO_SCHOOL
from layers.diagnosis import area_table
from layers.diagnosis import category_trend
from layers.diagnosis import list_flow
from layers.diagnosis import top_rates

MONTHS = ("2026-03", "2026-04", "2026-05", "2026-07")
#        name, home comuna, rbd, category, listed, method, rezago, reinsercion, aulas, pcts
CASES = [
    ("A", "Castro", 8001, "critica", True, "localidad", 2, True, False,
     {"2026-03": 40.0, "2026-04": 60.0, "2026-05": 86.0, "2026-07": 45.0}),
    ("B", "Castro", 8001, "normal", False, "escuela", 0, None, None,
     {"2026-03": 92.0, "2026-05": None}),
    ("C", "Ancud", 8169, "grave", True, "escuela", 0, None, True,
     {"2026-04": 98.0, "2026-07": 70.0}),
    ("D", "Ancud", 8169, "grave", False, "localidad", None, False, False, {"2026-05": 84.9}),
    ("E", "Castro", None, "critica", False, "sin_ubicacion", 1, None, None, {"2026-03": 40.0}),
]  # fmt: skip
ADMIN = Scope(username="t", role="admin")
CASTRO = Scope(username="t", role="profesional", comunas=("Castro",))


@pytest.fixture
def db(sessions):
    with sessions() as session, session.begin():
        for n, row in enumerate(CASES, start=1):
            name, comuna, rbd, category, listed, method, rezago, reins, aulas, pcts = row
            session.add(Student(id=n, run=90_000_000 + n, dv="0", given_names=name,
                                surnames="Sintético", synthetic=True))  # fmt: skip
            session.add(Case(id=n, student_id=n, rbd=rbd, comuna=comuna, category=category,
                             in_latest_list=listed, geocode_method=method, rezago=rezago,
                             eligible_reinsercion=reins, eligible_aulas=aulas))  # fmt: skip
            session.flush()
            session.add_all(Attendance(case_id=n, period=p, pct=x) for p, x in pcts.items())
    with sessions() as session:
        yield session


def _straightforward(db, scope: Scope, territory, since=None, until=None) -> dict:
    """The diagnosis from one row per case and per attendance row, read one by one."""
    rows = []
    for case in db.scalars(scope.cases(select(Case))):
        rows.append({"case_id": case.id, "rbd": case.rbd, "category": case.category,
                     "in_latest_list": case.in_latest_list,
                     "located": case.geocode_method not in service.FALLBACK_METHODS,
                     "rezago": case.rezago, "eligible_reinsercion": case.eligible_reinsercion,
                     "eligible_aulas": case.eligible_aulas,
                     "synthetic": case.student.synthetic})  # fmt: skip
    cases = pd.DataFrame(rows)
    in_scope = scope.cases(select(Case.id))
    attendance = pd.DataFrame(
        db.execute(
            select(Attendance.case_id, Attendance.period, Attendance.pct).where(
                Attendance.case_id.in_(in_scope)
            )
        ).all(),
        columns=["case_id", "period", "pct"],
    )
    attendance["pct"] = pd.to_numeric(attendance["pct"])
    schools = territory.schools
    by_school = area_table(cases, schools, "establecimiento")
    by_island = area_table(cases, schools, "isla")
    return {
        "by_comuna": area_table(cases, schools, "comuna"),
        "by_island": by_island,
        "by_school": by_school,
        "top_schools": top_rates(by_school, 10),
        "top_islands": top_rates(by_island, 10),
        "flow": list_flow(attendance, since, until),
        "trend": category_trend(attendance, since, until),
        "n_cases": int(cases["in_latest_list"].sum()),
        "synthetic": bool(cases["synthetic"].all()),
    }


def _enrolment(territory, comuna: str) -> int:
    schools = territory.schools
    slep = schools[schools["is_slep"] & (schools["comuna_name"] == comuna)]
    return int(slep["enrolment"].sum())


def test_counts_give_the_hand_worked_figures(db, territory):
    diag = service.diagnosis(db, ADMIN, territory, None, None)
    flow = diag.flow.set_index("periodo")
    assert list(flow.index) == list(MONTHS)
    assert flow["en_lista"].tolist() == [3, 2, 3, 2]
    assert flow["nuevos"].tolist() == [3, 1, 1, 0]
    assert flow["continuan"].tolist()[1:] == [1, 1, 1]
    assert flow["vuelven"].tolist() == [0, 0, 1, 1]
    assert flow["salen"].tolist()[1:] == [2, 1, 2]
    assert pd.isna(flow.loc["2026-03", "continuan"]) and pd.isna(flow.loc["2026-03", "salen"])
    trend = diag.trend[diag.trend["casos"] > 0]
    assert sorted(trend.itertuples(index=False, name=None)) == sorted([
        ("2026-03", "critica", 2), ("2026-03", "normal", 1),
        ("2026-04", "grave", 1), ("2026-04", "destacada", 1),
        ("2026-05", "reiterada", 1), ("2026-05", "grave", 1), ("2026-05", "sin_dato", 1),
        ("2026-07", "critica", 1), ("2026-07", "grave", 1),
    ])  # fmt: skip
    comunas = diag.by_comuna.set_index("area")
    castro, curaco = comunas.loc["Castro"], comunas.loc["Curaco de Vélez"]
    assert (castro["casos"], castro["critica"], castro["grave"]) == (1, 1, 0)
    assert (curaco["casos"], curaco["critica"], curaco["grave"]) == (1, 0, 1)
    assert castro["tasa_grave"] == pytest.approx(100 / _enrolment(territory, "Castro"))
    assert curaco["tasa_grave"] == pytest.approx(100 / _enrolment(territory, "Curaco de Vélez"))
    assert (castro["ubicados"], castro["en_escuela"], castro["rezago_2"]) == (1, 0, 1)
    assert (curaco["ubicados"], curaco["en_escuela"], curaco["rezago_2"]) == (0, 1, 0)
    assert (castro["elegible_reinsercion"], castro["elegible_aulas"]) == (1, 0)
    assert (curaco["elegible_reinsercion"], curaco["elegible_aulas"]) == (0, 1)
    assert NO_SCHOOL not in comunas.index  # E (no RBD) is not in the latest list
    assert (diag.n_cases, diag.synthetic) == (2, True)


def test_castro_scope_flow_by_hand(db, territory):
    flow = service.diagnosis(db, CASTRO, territory, None, None).flow.set_index("periodo")
    assert flow["en_lista"].tolist() == [3, 1, 2, 1]  # A, B, E; A; A, B; A
    assert flow["nuevos"].tolist() == [3, 0, 0, 0]
    assert flow["continuan"].tolist()[1:] == [1, 1, 1]
    assert flow["vuelven"].tolist() == [0, 0, 1, 0]
    assert flow["salen"].tolist()[1:] == [2, 0, 1]


@pytest.mark.parametrize("scope", [ADMIN, CASTRO], ids=["todas", "castro"])
@pytest.mark.parametrize(
    ("since", "until"), [(None, None), ("2026-04", None), ("2026-04", "2026-05"), (None, "2026-03")]
)
def test_counts_equal_the_straightforward_computation(db, territory, scope, since, until):
    fast = service.diagnosis(db, scope, territory, since, until)
    slow = _straightforward(db, scope, territory, since, until)
    for name in ("by_comuna", "by_island", "by_school", "top_schools", "top_islands", "flow",
                 "trend"):  # fmt: skip
        assert_frame_equal(getattr(fast, name), slow[name], obj=name)
    assert (fast.n_cases, fast.synthetic) == (slow["n_cases"], slow["synthetic"])
    assert fast.periods == list(slow["flow"]["periodo"])


def test_cache_follows_the_data_version(db, territory):
    cache = service.DiagnosisCache()
    first = service.diagnosis(db, ADMIN, territory, None, None, cache)
    again = service.diagnosis(db, ADMIN, territory, None, None, cache)
    assert again.flow is first.flow  # same data version: the counts are reused
    db.add(Attendance(case_id=4, period="2026-07", pct=99.0))  # D back in July
    db.commit()
    changed = service.diagnosis(db, ADMIN, territory, None, None, cache)
    assert changed.flow is not first.flow
    july = changed.flow.set_index("periodo").loc["2026-07"]
    assert (july["continuan"], july["salen"]) == (2, 1)  # A and D (listed in May); B leaves
    db.get(Case, 3).category = "normal"  # an edit: its lock version changes
    db.commit()
    edited = service.diagnosis(db, ADMIN, territory, None, None, cache)
    assert edited.by_comuna.set_index("area").loc["Curaco de Vélez", "grave"] == 0
    other = service.diagnosis(db, CASTRO, territory, None, None, cache)
    assert other.flow["en_lista"].tolist() == [3, 1, 2, 1]  # another scope, another entry
