"""`revincula plan` with the case collection's afternoon shift (issue 17 item 12).

``tests/data/cases_2026_11/plan/afternoon_1415.csv``: one gestora working
14:15–18:00; the lunch window is 12:30–14:00, so no day has lunch, every day
is feasible and the replay agrees.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from geo_app.cli import main
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from tests.geo_app.planning.test_planning_app import MONDAY
from tests.geo_app.planning.test_planning_app import app  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import client  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import replay_all

CASE = (
    Path(__file__).resolve().parents[2] / "data" / "cases_2026_11" / "plan" / "afternoon_1415.csv"
)


def plan_cli(db_url: str, out: Path, monkeypatch, *extra: str):
    """Run ``revincula plan`` for the afternoon shift on MONDAY (Castro); return the result."""
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_TODAY", MONDAY.isoformat())
    result = CliRunner().invoke(
        main,
        ["plan", "--week", MONDAY.isoformat(), "--gestores", str(CASE), "--comuna", "Castro",
         "-o", str(out), *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def test_an_afternoon_shift_is_planned_without_lunch(app, client, db_url, tmp_path, monkeypatch):  # noqa: F811
    out = tmp_path / "plan"
    plan_cli(db_url, out, monkeypatch, "--segundos", "2", "--guardar")
    data = json.loads((out / "plan.json").read_text())
    assert data["dias"], data
    for day in data["dias"]:
        assert day["factible"], day
        assert day["almuerzo"] is None
        assert day["inicio"].endswith("T14:15:00")
    with app.extensions["revincula.db"]() as session:
        (plan,) = session.query(PlanRow).all()
        replay_all(app, plan)


def test_without_guardar_the_plan_is_only_shown_and_it_says_so(app, client, db_url, tmp_path,  # noqa: F811
                                                             monkeypatch):  # fmt: skip
    out = tmp_path / "plan"
    result = plan_cli(db_url, out, monkeypatch, "--segundos", "1")
    assert "no se guardó en la base" in result.output and "--guardar" in result.output
    assert "/planificacion/" not in result.output
    assert json.loads((out / "plan.json").read_text())["dias"]
    with app.extensions["revincula.db"]() as session:
        assert session.query(PlanRow).count() == 0
        assert session.query(PlanStop).count() == 0
