"""VRPTW faults of issue 17 item 11: fractional and inverted windows, impossible customers.

The four Solomon-format files in ``tests/data/cases_2026_11/vrptw`` are the
case collection's inputs (see the README there); the siblings are built here,
each with its answer worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routing import RoutingInputError
from routing.vrptw import VrptwInfeasibleError
from routing.vrptw import VrptwInstance
from routing.vrptw import check_solution
from routing.vrptw import impossible_customers
from routing.vrptw import read_solomon
from routing.vrptw import solve_vrptw

CASES = Path(__file__).resolve().parents[1] / "data" / "cases_2026_11" / "vrptw"


def instance(rows, vehicles=3, capacity=100, name="SIBLING") -> VrptwInstance:
    """rows: (x, y, demand, ready, due, service), depot first."""
    t = np.array(rows, dtype=float)
    return VrptwInstance(
        name, vehicles, capacity, t[:, 0], t[:, 1], t[:, 2].astype(int), t[:, 3], t[:, 4], t[:, 5]
    )


FOUR = [
    (50, 50, 0, 0, 1000, 0),
    (60, 50, 10, 0, 900, 10),
    (50, 60, 10, 0, 900, 10),
    (40, 50, 10, 0, 900, 10),
    (50, 40, 10, 0, 900, 10),
]


def test_the_control_case_is_solved():
    solution = solve_vrptw(read_solomon(CASES / "tw_ok.txt"), seconds=1)
    assert solution.problems() == []
    assert solution.vehicles == 1


def test_a_point_window_with_a_fraction_is_solved_and_served_on_time():
    # Customer 5 at (55, 55) must start at exactly 10.0004 (7.07 from the depot: it waits).
    inst = read_solomon(CASES / "tw_fraction_point.txt")
    assert impossible_customers(inst) == {}
    solution = solve_vrptw(inst, seconds=1)
    assert solution.problems() == []
    assert sorted(c for r in solution.routes for c in r) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("ready", "due"),
    [
        (10.0004, 10.0004),  # the case: narrower than one scaled unit
        (10.0001, 10.0009),  # inside one unit, not a point
        (7.07107, 7.07107),  # 2e-6 after the arrival at 7.0710678 (sqrt 50)
        (20.12345678, 20.12345679),
        (8.0, 8.0),  # an integer point window: arrival at 7.07 waits
    ],
)
def test_narrow_fractional_windows_are_solved(ready, due):
    inst = instance([*FOUR, (55, 55, 10, ready, due, 0.5)])
    solution = solve_vrptw(inst, seconds=1)
    assert solution.problems() == []
    assert check_solution(inst, solution.routes) == []


def test_a_chain_of_point_windows_keeps_the_later_ones_on_time():
    # Two point windows 7.0711 apart on one line (the exact distance rounded up):
    # the solver must not start the second one early because the first was rounded.
    d = float(np.hypot(5, 5))
    rows = [
        (50, 50, 0, 0, 100, 0),
        (55, 55, 1, 10.0004, 10.0004, 0),
        (60, 60, 1, 10.0004 + d + 0.0003, 10.0004 + d + 0.0003, 0),
    ]
    solution = solve_vrptw(instance(rows, vehicles=2), seconds=1)
    assert solution.problems() == []


def test_an_inverted_window_names_the_customer_in_spanish():
    with pytest.raises(VrptwInfeasibleError) as err:
        solve_vrptw(read_solomon(CASES / "tw_inverted.txt"), seconds=1)
    assert err.value.customers == {5: "su ventana cierra (400) antes de abrir (500)"}
    assert "cliente 5: su ventana cierra (400) antes de abrir (500)" in str(err.value)
    assert "CP Solver" not in str(err.value)


def test_an_unreachable_customer_is_named_with_the_times():
    with pytest.raises(VrptwInfeasibleError) as err:
        solve_vrptw(read_solomon(CASES / "tw_unreachable.txt"), seconds=1)
    assert list(err.value.customers) == [5]
    assert "llega a las 100.00 y su ventana cierra a las 50" in err.value.customers[5]
    assert "cliente 5: ningún vehículo llega a tiempo" in str(err.value)


def test_every_impossible_customer_is_named_at_once():
    rows = [
        (50, 50, 0, 0, 200, 0),
        (60, 50, 10, 0, 150, 10),  # fine
        (50, 60, 10, 90, 30, 10),  # inverted
        (50, 40, 150, 0, 150, 10),  # demand above the capacity 100
        (50, 150, 10, 0, 180, 10),  # reachable (100) but back at 210 > 200
        (250, 50, 10, 0, 150, 10),  # 200 away: too late
    ]
    bad = impossible_customers(instance(rows))
    assert sorted(bad) == [2, 3, 4, 5]
    assert bad[2] == "su ventana cierra (30) antes de abrir (90)"
    assert bad[3] == "su demanda (150) excede la capacidad del vehículo (100)"
    assert "vuelve a tiempo" in bad[4] and "210.00" in bad[4]
    assert "llega a las 200.00" in bad[5]
    with pytest.raises(VrptwInfeasibleError) as err:
        solve_vrptw(instance(rows), seconds=1)
    assert "4 clientes que no se pueden atender" in str(err.value)


def test_a_depot_that_closes_before_it_opens_is_named():
    rows = [(50, 50, 0, 100, 50, 0), (60, 50, 10, 0, 900, 10)]
    with pytest.raises(VrptwInfeasibleError, match="el depósito: el horario del depósito cierra"):
        solve_vrptw(instance(rows), seconds=1)


def test_a_fleet_too_small_names_who_is_left_out():
    # Each customer alone is fine, but 3 × 60 > 1 vehicle × 100.
    rows = [(50, 50, 0, 0, 1000, 0)] + [(50 + k, 50, 60, 0, 900, 1) for k in (5, 10, 15)]
    with pytest.raises(VrptwInfeasibleError) as err:
        solve_vrptw(instance(rows, vehicles=1), seconds=1)
    assert len(err.value.customers) == 2
    assert "la demanda total (180) excede la de 1 vehículos de capacidad 100" in str(err.value)
    # Two point windows at the same time 20 apart, one vehicle: one is left out, with the reason.
    rows = [(50, 50, 0, 0, 1000, 0), (60, 50, 1, 20, 20, 0), (40, 50, 1, 20, 20, 0)]
    with pytest.raises(VrptwInfeasibleError) as err:
        solve_vrptw(instance(rows, vehicles=1), seconds=1)
    assert len(err.value.customers) == 1
    assert "no caben con sus ventanas" in str(err.value)


def test_non_numeric_values_are_named_not_a_solver_failure():
    rows = [*FOUR, (55, 55, 10, float("nan"), 100, 0)]
    with pytest.raises(VrptwInfeasibleError, match="cliente 5: tiene un valor no numérico"):
        solve_vrptw(instance(rows), seconds=1)
    assert issubclass(VrptwInfeasibleError, RoutingInputError)
