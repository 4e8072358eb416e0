"""Plain VRPTW: a hand-made instance whose optimum is worked out, and Solomon C101."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing import RoutingInputError
from routing.vrptw import check_solution
from routing.vrptw import read_solomon
from routing.vrptw import solve_vrptw

SOLOMON = Path(__file__).resolve().parents[2] / "data" / "vrp" / "solomon"

# Depot at (0, 0) open 0-100. Customer 1 at (10, 0) must start by 15; customer 2 at
# (-10, 0) opens at 40; customer 3 at (0, 30) must start by 32. Capacity 3, no service.
# 1 and 3 never share a route (1 then 3 arrives at 41.6 > 32; 3 then 1 at 61.6 > 15),
# nor 2 and 3 (3 then 2 arrives at 61.6 > 60; 2 then 3 at 71.6 > 32). So two vehicles
# at least, and the only two-vehicle plan is {1, 2} (waits at 2 until 40; 10 + 20 + 10)
# plus {3} (30 + 30): distance 100.
TINY = """TINY

VEHICLE
NUMBER     CAPACITY
  3          3

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0       0          0          0          0        100          0
    1      10          0          1          0         15          0
    2     -10          0          1         40         60          0
    3       0         30          1          0         32          0
"""


def test_tiny_instance_has_the_worked_out_optimum(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    inst = read_solomon(path)
    assert inst.size == 3
    assert inst.capacity == 3
    assert check_solution(inst, [(1, 2), (3,)]) == []
    assert check_solution(inst, [(1,), (3, 2)]) != []
    solution = solve_vrptw(inst, seconds=2)
    assert solution.problems() == []
    assert solution.vehicles == 2
    assert solution.distance == pytest.approx(100.0)
    assert sorted(solution.routes) == [(1, 2), (3,)]


def test_check_solution_names_each_violation(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY)
    inst = read_solomon(path)
    problems = check_solution(inst, [(3, 1), (2,)])
    assert any("cliente 1" in p for p in problems)
    assert check_solution(inst, [(1, 2)]) == ["clientes sin atender: [3]"]


def test_solomon_c101_reaches_the_proven_optimum():
    inst = read_solomon(SOLOMON / "C101.txt")
    assert (inst.size, inst.vehicles, inst.capacity) == (100, 25, 200)
    solution = solve_vrptw(inst, seconds=5)
    assert solution.problems() == []
    assert solution.vehicles == 10
    assert solution.distance == pytest.approx(828.94, rel=0.01)


def test_not_solomon_format_is_explained(tmp_path):
    path = tmp_path / "mal.txt"
    path.write_text("hola\n1 2 3\n")
    with pytest.raises(RoutingInputError, match="formato Solomon"):
        read_solomon(path)
