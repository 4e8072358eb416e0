"""`revincula vrptw` on the case files: an answer or a named reason, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_app.cli import main

CASES = Path(__file__).resolve().parents[2] / "data" / "cases_2026_11" / "vrptw"


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("tw_ok.txt", 0, "TWOK: 4 clientes, factible (verificado)"),
        ("tw_fraction_point.txt", 0, "TWFRAC: 5 clientes, factible (verificado)"),
        ("tw_inverted.txt", 1, "cliente 5: su ventana cierra (400) antes de abrir (500)"),
        ("tw_unreachable.txt", 1, "cliente 5: ningún vehículo llega a tiempo"),
    ],
)
def test_each_case_gives_the_right_answer(name, code, expected):
    result = CliRunner().invoke(main, ["vrptw", str(CASES / name), "--seconds", "1"])
    assert result.exit_code == code, result.output
    assert expected in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "CP Solver" not in result.output
