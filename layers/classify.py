"""Classification of a case: attendance category, rezago escolar, eligibility, priority.

The rules are data (``layers/rules/*.toml``, each with a version and its
source); this module only applies them. Definitions:

- **Attendance category** (Mineduc): destacada ≥ 97 %, normal ≥ 90 %,
  reiterada ≥ 85 %, grave < 85 %; *crítica* is a subset of grave below a
  configurable threshold (default 50 %, not confirmed officially); *riesgosa*
  means one more absent day this month would make the month grave.
- **Rezago escolar**: age on 31 March of the year (Chile's age cut-off) minus 6
  gives the number of grades that should have been passed; rezago is how many
  fewer were (seed 002: "correlación edad/último curso aprobado, estimando el
  ingreso a 1° básico a los 6 años").
- **Years out of school**: full calendar years without enrolment before the
  evaluation year, ``evaluation year − last year with enrolment − 1``.
- **Eligibility** (2020 rules): see ``reinsercion_2020.toml``. The Aulas de
  Reingreso condition "not enrolled in the project's school in the last 12
  months" depends on a specific project and is not evaluated here.
- **Priority** 0–100: points from ``[priority]`` added and capped at 100.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "CATEGORY_LABELS",
    "Classification",
    "Eligibility",
    "age_in_months",
    "attendance_category",
    "classify",
    "eligibility_aulas",
    "eligibility_reinsercion",
    "is_riesgosa",
    "load_rules",
    "priority_score",
    "rezago_escolar",
    "years_out_of_school",
]

RULES_DIR = Path(__file__).resolve().parent / "rules"
ATTENDANCE_RULES = "asistencia_mineduc.toml"
ELIGIBILITY_RULES = "reinsercion_2020.toml"
GRAVE_BELOW = 85.0

CATEGORY_LABELS: dict[str, str] = {
    "destacada": "Asistencia destacada",
    "normal": "Asistencia normal",
    "reiterada": "Inasistencia reiterada",
    "grave": "Inasistencia grave",
    "critica": "Inasistencia crítica",
    "sin_matricula": "Sin matrícula",
    "sin_dato": "Sin dato de asistencia",
}


@cache
def load_rules(name: str) -> dict[str, Any]:
    """Read one rules file of ``layers/rules`` (cached)."""
    with (RULES_DIR / name).open("rb") as handle:
        return tomllib.load(handle)


def attendance_category(pct: float | None, *, critical_below: float | None = None) -> str:
    """Mineduc category of an attendance percentage (``None`` → ``"sin_dato"``).

    Parameters
    ----------
    pct
        Attendance in % (0–100).
    critical_below
        Threshold of *inasistencia crítica*; default from the rules file (50 %).
    """
    if pct is None:
        return "sin_dato"
    rules = load_rules(ATTENDANCE_RULES)
    if critical_below is None:
        critical_below = float(rules["critica"]["below_pct"])
    for category in rules["categories"]:
        if pct >= category["min_pct"]:
            key = category["key"]
            if key == "grave" and pct < critical_below:
                return "critica"
            return key
    return "grave"


def is_riesgosa(days_present: int | None, days_total: int | None) -> bool:
    """Whether one more absent day this month would take the month below 85 %.

    Only a month that is not already grave can be riesgosa; without the days
    the answer is False.
    """
    if days_present is None or not days_total:
        return False
    now = 100.0 * days_present / days_total
    after = 100.0 * days_present / (days_total + 1)
    return now >= GRAVE_BELOW > after


def age_in_months(born: dt.date, on: dt.date) -> int:
    """Completed months of age on a date (10 years exactly = 120)."""
    months = (on.year - born.year) * 12 + (on.month - born.month)
    if on.day < born.day:
        months -= 1
    return months


def rezago_escolar(
    born: dt.date | None,
    on: dt.date,
    *,
    last_grade_passed: int | None = None,
    current_grade: int | None = None,
) -> int | None:
    """Years of gap between age and the last grade passed (0 when on track, None if unknown).

    Grades are 1–12 (1° básico … 4° medio). Without the last grade passed, an
    enrolled student's current grade minus one is used.
    """
    if born is None:
        return None
    if last_grade_passed is None:
        if current_grade is None:
            return None
        last_grade_passed = max(current_grade - 1, 0)
    entry = int(load_rules(ELIGIBILITY_RULES)["school_entry_age"])
    cutoff = dt.date(on.year, 3, 31)
    age = age_in_months(born, cutoff) // 12
    expected = min(max(age - entry, 0), 12)
    return max(expected - last_grade_passed, 0)


def years_out_of_school(status: str, last_enrolment_year: int | None, year: int) -> int | None:
    """Full years without enrolment before `year` (0 if enrolled now; None if unknown)."""
    if status == "matriculado":
        return 0
    if last_enrolment_year is None:
        return None
    return max(year - last_enrolment_year - 1, 0)


@dataclass(frozen=True)
class Eligibility:
    """Eligibility for one line of the programme: True, False or None (missing data)."""

    eligible: bool | None
    reasons: tuple[str, ...] = ()


def _age_text(months: int) -> str:
    return f"{months // 12} años {months % 12} meses"


def _check(
    rule: dict[str, Any],
    *,
    age_months: int | None,
    min_months: int,
    max_months: int,
    years_out: int | None,
    nee_permanente: bool | None,
) -> Eligibility:
    reasons: list[str] = []
    unknown: list[str] = []
    if age_months is None:
        unknown.append("falta la fecha de nacimiento")
    elif not min_months <= age_months <= max_months:
        reasons.append(
            f"edad {_age_text(age_months)} fuera del tramo "
            f"{_age_text(min_months)} a {_age_text(max_months)}"
        )
    if years_out is None:
        unknown.append("falta el último año con matrícula")
    elif years_out < rule["min_years_out"]:
        reasons.append(f"{years_out} año(s) fuera del sistema; se exige {rule['min_years_out']}")
    if nee_permanente and rule.get("excludes_nee_permanente"):
        reasons.append("NEE permanente: derivar a los dispositivos del Ministerio")
    if reasons:
        return Eligibility(False, tuple(reasons + unknown))
    if unknown:
        return Eligibility(None, tuple(unknown))
    return Eligibility(True, ())


def eligibility_reinsercion(
    born: dt.date | None,
    on: dt.date,
    *,
    status: str,
    last_enrolment_year: int | None,
    nee_permanente: bool | None = None,
) -> Eligibility:
    """Proyectos de Reinserción: 10 to 17y11m at enrolment, ≥ 2 years out, not enrolled."""
    rule = load_rules(ELIGIBILITY_RULES)["reinsercion"]
    if status == "matriculado" and rule["must_not_be_enrolled"]:
        return Eligibility(False, ("está matriculado",))
    return _check(
        rule,
        age_months=age_in_months(born, on) if born else None,
        min_months=rule["min_age_months"],
        max_months=rule["max_age_months"],
        years_out=years_out_of_school(status, last_enrolment_year, on.year),
        nee_permanente=nee_permanente,
    )


def eligibility_aulas(
    born: dt.date | None,
    project_year: int,
    *,
    status: str,
    last_enrolment_year: int | None,
    nee_permanente: bool | None = None,
    ceia: bool = False,
) -> Eligibility:
    """Aulas de Reingreso: 10 to 17y11m on 1 March (CEIA 14–21), no enrolment the year before."""
    rule = load_rules(ELIGIBILITY_RULES)["aulas"]
    low, high = (
        (rule["ceia_min_age_months"], rule["ceia_max_age_months"])
        if ceia
        else (rule["min_age_months"], rule["max_age_months"])
    )
    march = dt.date(project_year, 3, 1)
    years_out = None if status == "matriculado" else last_enrolment_year
    return _check(
        rule,
        age_months=age_in_months(born, march) if born else None,
        min_months=low,
        max_months=high,
        years_out=(
            years_out_of_school(status, years_out, project_year) if years_out is not None else None
        ),
        nee_permanente=nee_permanente,
    )


def priority_score(
    category: str,
    *,
    riesgosa: bool = False,
    rezago: int | None = None,
    reinsercion: bool | None = None,
    aulas: bool | None = None,
    age_months: int | None = None,
    provisional_run: bool = False,
) -> float:
    """Priority 0–100 from the weights of ``[priority]`` in the 2020 rules file."""
    weights = load_rules(ELIGIBILITY_RULES)["priority"]
    score = float(weights.get(category, 0))
    if riesgosa and category not in ("grave", "critica"):
        score += weights["riesgosa"]
    if rezago:
        score += weights["per_year_rezago"] * min(rezago, weights["max_rezago_years"])
    if reinsercion:
        score += weights["elegible_reinsercion"]
    if aulas:
        score += weights["elegible_aulas"]
    if age_months is not None and age_months < 14 * 12:
        score += weights["under_14"]
    if provisional_run:
        score += weights["provisional_run"]
    return min(score, 100.0)


@dataclass(frozen=True)
class Classification:
    """Everything derived from one case's data on one date."""

    category: str
    riesgosa: bool
    rezago: int | None
    reinsercion: Eligibility
    aulas: Eligibility
    priority: float
    rules: tuple[str, ...] = field(default=())


def classify(
    *,
    pct: float | None,
    days_present: int | None = None,
    days_total: int | None = None,
    status: str = "matriculado",
    born: dt.date | None = None,
    grade_level: int | None = None,
    last_grade_passed: int | None = None,
    last_enrolment_year: int | None = None,
    nee_permanente: bool | None = None,
    provisional_run: bool = False,
    ceia: bool = False,
    on: dt.date,
    critical_below: float | None = None,
) -> Classification:
    """Classify one case on date `on` (project year for Aulas = the next March on or after `on`)."""
    if status != "matriculado" and pct is None:
        category = "sin_matricula"
    else:
        category = attendance_category(pct, critical_below=critical_below)
    riesgosa = category in ("reiterada", "normal", "destacada") and is_riesgosa(
        days_present, days_total
    )
    rezago = rezago_escolar(
        born,
        on,
        last_grade_passed=last_grade_passed,
        current_grade=grade_level if status == "matriculado" else None,
    )
    reinsercion = eligibility_reinsercion(
        born,
        on,
        status=status,
        last_enrolment_year=last_enrolment_year,
        nee_permanente=nee_permanente,
    )
    project_year = on.year if on.month < 3 else on.year + 1
    aulas = eligibility_aulas(
        born,
        project_year,
        status=status,
        last_enrolment_year=last_enrolment_year,
        nee_permanente=nee_permanente,
        ceia=ceia,
    )
    score = priority_score(
        category,
        riesgosa=riesgosa,
        rezago=rezago,
        reinsercion=reinsercion.eligible,
        aulas=aulas.eligible,
        age_months=age_in_months(born, on) if born else None,
        provisional_run=provisional_run,
    )
    rules = (
        load_rules(ATTENDANCE_RULES)["version"],
        load_rules(ELIGIBILITY_RULES)["version"],
        load_rules(ELIGIBILITY_RULES)["priority"]["version"],
    )
    return Classification(category, riesgosa, rezago, reinsercion, aulas, score, rules)
