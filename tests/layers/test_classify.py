"""Attendance categories, riesgosa, rezago, eligibility (2020 rules) and priority."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.classify import age_in_months
from layers.classify import attendance_category
from layers.classify import classify
from layers.classify import eligibility_aulas
from layers.classify import eligibility_reinsercion
from layers.classify import is_riesgosa
from layers.classify import load_rules
from layers.classify import priority_score
from layers.classify import rezago_escolar


@pytest.mark.parametrize(
    ("pct", "category"),
    [(100, "destacada"), (97, "destacada"), (96.99, "normal"), (90, "normal"),
     (89.99, "reiterada"), (85, "reiterada"), (84.99, "grave"), (50, "grave"),
     (49.99, "critica"), (0, "critica"), (None, "sin_dato")],
)  # fmt: skip
def test_attendance_category_edges(pct, category):
    assert attendance_category(pct) == category


def test_critical_threshold_is_a_setting():
    assert attendance_category(45) == "critica"
    assert attendance_category(45, critical_below=40) == "grave"
    assert load_rules("asistencia_mineduc.toml")["critica"]["below_pct"] == 50.0


@pytest.mark.parametrize(
    ("present", "total", "expected"),
    [(17, 20, True),  # 85.0 % now; 17/21 = 80.95 % after one more absence
     (18, 20, False),  # 90 % -> 85.7 %: still not grave
     (16, 20, False),  # already grave
     (None, 20, False), (5, 0, False)],
)  # fmt: skip
def test_riesgosa(present, total, expected):
    assert is_riesgosa(present, total) is expected


def test_age_in_months():
    assert age_in_months(dt.date(2016, 11, 21), dt.date(2026, 11, 21)) == 120
    assert age_in_months(dt.date(2016, 11, 21), dt.date(2026, 11, 20)) == 119
    assert age_in_months(dt.date(2008, 12, 21), dt.date(2026, 11, 21)) == 215


def test_rezago_uses_age_on_31_march_and_entry_at_6():
    on = dt.date(2026, 11, 21)
    # 14 on 31 March 2026 -> should have passed 8 grades; passed 6 -> 2 years behind
    assert rezago_escolar(dt.date(2012, 3, 7), on, last_grade_passed=6) == 2
    # turns 14 on 1 April: 13 on the cut-off -> should have passed 7
    assert rezago_escolar(dt.date(2012, 4, 1), on, last_grade_passed=6) == 1
    # enrolled in 7° básico -> passed 6
    assert rezago_escolar(dt.date(2012, 3, 7), on, current_grade=7) == 2
    assert rezago_escolar(dt.date(2014, 1, 1), on, current_grade=7) == 0
    assert rezago_escolar(None, on, current_grade=7) is None
    assert rezago_escolar(dt.date(2012, 3, 7), on) is None


class TestReinsercion:
    on = dt.date(2026, 11, 21)

    def check(self, born, last_year=2023, status="sin_matricula", nee=None):
        return eligibility_reinsercion(
            born, self.on, status=status, last_enrolment_year=last_year, nee_permanente=nee
        )

    def test_exactly_ten_is_eligible(self):
        assert self.check(dt.date(2016, 11, 21)).eligible is True
        result = self.check(dt.date(2016, 11, 22))
        assert result.eligible is False and "9 años 11 meses" in result.reasons[0]

    def test_seventeen_years_eleven_months_is_the_limit(self):
        assert self.check(dt.date(2008, 12, 21)).eligible is True  # 17 y 11 m
        assert self.check(dt.date(2008, 11, 21)).eligible is False  # 18 y 0 m

    def test_two_full_years_out(self):
        # last enrolled 2023: out in 2024 and 2025 before the 2026 evaluation
        assert self.check(dt.date(2012, 1, 1), last_year=2023).eligible is True
        result = self.check(dt.date(2012, 1, 1), last_year=2024)
        assert result.eligible is False and "se exige 2" in result.reasons[0]

    def test_enrolled_and_nee_and_missing_data(self):
        assert self.check(dt.date(2012, 1, 1), status="matriculado").eligible is False
        nee = self.check(dt.date(2012, 1, 1), nee=True)
        assert nee.eligible is False and "NEE" in nee.reasons[0]
        unknown = self.check(None)
        assert unknown.eligible is None and "fecha de nacimiento" in unknown.reasons[0]


class TestAulas:
    def check(self, born, last_year=2024, ceia=False):
        return eligibility_aulas(
            born, 2026, status="sin_matricula", last_enrolment_year=last_year, ceia=ceia
        )

    def test_age_on_first_of_march(self):
        assert self.check(dt.date(2016, 3, 1)).eligible is True  # exactly 10 on 1 March
        assert self.check(dt.date(2016, 3, 2)).eligible is False
        assert self.check(dt.date(2008, 4, 1)).eligible is True  # 17 y 11 m on 1 March
        assert self.check(dt.date(2008, 3, 1)).eligible is False  # 18

    def test_ceia_range(self):
        assert self.check(dt.date(2006, 1, 1), ceia=True).eligible is True  # 20
        assert self.check(dt.date(2013, 1, 1), ceia=True).eligible is False  # 13

    def test_no_enrolment_the_year_before(self):
        assert self.check(dt.date(2012, 1, 1), last_year=2024).eligible is True
        assert self.check(dt.date(2012, 1, 1), last_year=2025).eligible is False


def test_priority_points_worked_by_hand():
    # sin matrícula 45 + rezago 3 x 5 + reinserción 10 + aulas 5 + under 14: 5 = 80
    score = priority_score(
        "sin_matricula", rezago=3, reinsercion=True, aulas=True, age_months=13 * 12
    )
    assert score == 80
    assert priority_score("grave") == 30
    assert priority_score("reiterada", riesgosa=True) == 30  # 10 + 20
    assert (
        priority_score(
            "critica", rezago=9, reinsercion=True, aulas=True, age_months=100, provisional_run=True
        )
        == 85
    )  # 40+20+10+5+5+5; fmt: skip
    assert priority_score("destacada") == 0


def test_classify_puts_it_together():
    result = classify(
        pct=None, status="sin_matricula", born=dt.date(2012, 3, 7), last_grade_passed=4,
        last_enrolment_year=2023, on=dt.date(2026, 11, 21),
    )  # fmt: skip
    assert result.category == "sin_matricula"
    assert result.rezago == 4
    assert result.reinsercion.eligible is True
    assert result.aulas.eligible is True  # project year 2027: 14 on 1 March, out since 2024
    assert result.priority == 45 + 4 * 5 + 10 + 5
    assert "reinsercion-2020" in result.rules
