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
from tests.geo_app.planning.test_planning_app import MONDAY
from tests.geo_app.planning.test_planning_app import app  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import client  # noqa: F401 (fixture)
from tests.geo_app.planning.test_planning_app import replay_all

CASE = (
    Path(__file__).resolve().parents[2] / "data" / "cases_2026_11" / "plan" / "afternoon_1415.csv"
)


def test_an_afternoon_shift_is_planned_without_lunch(app, client, db_url, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REVINCULA_DATABASE_URL", db_url)
    monkeypatch.setenv("REVINCULA_TODAY", MONDAY.isoformat())
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        main,
        ["plan", "--week", MONDAY.isoformat(), "--gestores", str(CASE), "--comuna", "Castro",
         "--segundos", "2", "-o", str(out), "--guardar"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((out / "plan.json").read_text())
    assert data["dias"], data
    for day in data["dias"]:
        assert day["factible"], day
        assert day["almuerzo"] is None
        assert day["inicio"].endswith("T14:15:00")
    with app.extensions["revincula.db"]() as session:
        (plan,) = session.query(PlanRow).all()
        replay_all(app, plan)
