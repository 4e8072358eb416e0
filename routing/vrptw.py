"""Plain VRPTW (capacities and time windows) on OR-Tools: fewest vehicles, then distance.

This is the yardstick of the planning core: the same OR-Tools routing set-up,
measured against the published best-known solutions of the Solomon (1987)
instances (``data/vrp``). Conventions follow SINTEF's table: Euclidean
distance in double precision, travel time equal to distance, every route
leaves the depot at its ready time and is back by its due date.

The search has three phases within the time budget:

1. **Fewer vehicles**: a first solution with a large fixed cost per vehicle,
   then repeatedly empty the route with the fewest customers and ask guided
   local search to place them on the others (customers are optional at a
   prohibitive penalty, so a start always exists); success lowers the fleet.
2. **Distance, ruin and recreate**: OR-Tools' iterated local search with
   SISR ruins (slack induction by string removals, Christiaens & Vanden
   Berghe 2020) on the best fleet found, from a fresh start. Its answer is
   kept only when it serves every customer and is shorter.
3. **Distance, guided local search** from the best solution for the rest of
   the time.

Times are scaled to integers by rounding *up* (:data:`SCALE`), so a solution
the solver accepts is feasible in exact arithmetic; :func:`check_solution`
re-checks it in double precision before anything is reported. A window
narrower than one scaled unit (``10.0004–10.0004``) is widened to the units
around it and its service is lengthened by one unit, so the solver's times
stay upper bounds of the true ones; the exact check has the last word.

Before any search, :func:`impossible_customers` names each customer that no
vehicle can serve whatever the others do (a window that closes before it
opens, a demand above the capacity, a window that closes before the fastest
vehicle can arrive, no way back to the depot in time); :func:`solve_vrptw`
raises :class:`VrptwInfeasibleError` with them, in Spanish, instead of searching.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from routing._errors import RoutingInputError
from routing._ortools import GREEDY_DESCENT
from routing._ortools import read_routes
from routing._ortools import search_parameters

__all__ = [
    "VrptwInfeasibleError",
    "VrptwInstance",
    "VrptwSolution",
    "check_solution",
    "impossible_customers",
    "read_solomon",
    "solve_vrptw",
]

SCALE = 1000
VEHICLE_COST = 10**9
DROP_PENALTY = 10**11
SISR_STRING = 10  # longest string of consecutive customers one ruin removes
SISR_REMOVED = 20  # customers removed per ruin, on average
SISR_TEMPERATURE = 10.0  # initial annealing temperature, in distance units
RUIN_SHARE = 0.9  # of the time left after the vehicle phase


class VrptwInfeasibleError(RoutingInputError):
    """No plan can serve every customer; `customers` maps each one named to its reason.

    The message (Spanish) lists every customer with its reason; the depot is 0.
    """

    def __init__(self, message: str, customers: dict[int, str] | None = None):
        super().__init__(message)
        self.customers = dict(customers or {})


@dataclass(frozen=True)
class VrptwInstance:
    """A VRPTW instance; index 0 is the depot.

    `matrix` (travel distance = time) defaults to Euclidean distances between
    the coordinates.
    """

    name: str
    vehicles: int
    capacity: int
    x: np.ndarray
    y: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    matrix: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of customers (depot excluded)."""
        return len(self.demand) - 1

    def distances(self) -> np.ndarray:
        """Return the distance (= travel time) matrix."""
        if self.matrix is not None:
            return self.matrix
        return np.hypot(self.x[:, None] - self.x[None, :], self.y[:, None] - self.y[None, :])


@dataclass(frozen=True)
class VrptwSolution:
    """Routes (customer indices, depot excluded) of one instance."""

    instance: VrptwInstance
    routes: tuple[tuple[int, ...], ...]
    seconds: float = 0.0

    @property
    def vehicles(self) -> int:
        """Number of non-empty routes."""
        return sum(1 for r in self.routes if r)

    @property
    def distance(self) -> float:
        """Total distance in double precision."""
        d = self.instance.distances()
        total = 0.0
        for route in self.routes:
            if route:
                path = [0, *route, 0]
                total += float(sum(d[a, b] for a, b in pairwise(path)))
        return total

    def problems(self) -> list[str]:
        """Return what makes the solution infeasible (empty list: feasible)."""
        return check_solution(self.instance, self.routes)


def read_solomon(path: str | Path) -> VrptwInstance:
    """Read an instance in Solomon's text format (name, VEHICLE, CUSTOMER blocks)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        msg = f"No se pudo leer {path}: {err}. Indique un archivo de texto en formato Solomon."
        raise RoutingInputError(msg) from err
    words = [line.split() for line in lines]
    try:
        vi = next(i for i, w in enumerate(words) if w[:1] == ["VEHICLE"])
        vehicles, capacity = (int(v) for v in words[vi + 2][:2])
        ci = next(i for i, w in enumerate(words) if w[:1] == ["CUSTOMER"])
        rows = [w for w in words[ci + 1 :] if w and w[0].isdigit()]
        table = np.array([[float(v) for v in w[:7]] for w in rows])
    except (StopIteration, ValueError, IndexError) as err:
        msg = (
            f"{path.name} no está en formato Solomon: se esperan las secciones VEHICLE "
            "(número y capacidad) y CUSTOMER (7 columnas numéricas por fila)."
        )
        raise RoutingInputError(msg) from err
    if table.ndim != 2 or table.shape[1] != 7 or int(table[0, 0]) != 0:
        msg = f"{path.name}: la tabla CUSTOMER debe empezar con el depósito (cliente 0)."
        raise RoutingInputError(msg)
    return VrptwInstance(
        name=(words[0][0] if words and words[0] else path.stem),
        vehicles=vehicles,
        capacity=capacity,
        x=table[:, 1],
        y=table[:, 2],
        demand=table[:, 3].astype(int),
        ready=table[:, 4],
        due=table[:, 5],
        service=table[:, 6],
    )


def impossible_customers(inst: VrptwInstance) -> dict[int, str]:
    """Return {customer: reason in Spanish} for customers no vehicle can ever serve.

    Each test looks at one customer alone (a vehicle going straight from the
    depot at its opening): a window that closes before it opens, a demand
    above the vehicle capacity, an earliest arrival after the window closes,
    and no return to the depot before it closes. Key 0 is the depot's own
    window. An empty dict does not prove the whole instance feasible (the
    fleet may still be too small); :func:`solve_vrptw` names those after
    the search.
    """
    bad: dict[int, str] = {}
    d = inst.distances()
    ready0, due0 = float(inst.ready[0]), float(inst.due[0])
    if not due0 >= ready0:
        bad[0] = f"el horario del depósito cierra ({due0:g}) antes de abrir ({ready0:g})"
        return bad
    for c in range(1, inst.size + 1):
        ready, due = float(inst.ready[c]), float(inst.due[c])
        values = (ready, due, float(inst.service[c]), float(d[0, c]), float(d[c, 0]))
        if not all(math.isfinite(v) for v in values):
            bad[c] = "tiene un valor no numérico o infinito en su fila"
        elif due < ready:
            bad[c] = f"su ventana cierra ({due:g}) antes de abrir ({ready:g})"
        elif inst.service[c] < 0 or inst.demand[c] < 0:
            bad[c] = "tiene una demanda o un tiempo de servicio negativos"
        elif inst.demand[c] > inst.capacity:
            bad[c] = (
                f"su demanda ({inst.demand[c]}) excede la capacidad del vehículo ({inst.capacity})"
            )
        else:
            arrive = ready0 + float(d[0, c])
            if arrive > due + 1e-9:
                bad[c] = (
                    f"ningún vehículo llega a tiempo: saliendo del depósito a las {ready0:g} "
                    f"llega a las {arrive:.2f} y su ventana cierra a las {due:g}"
                )
                continue
            back = max(arrive, ready) + float(inst.service[c]) + float(d[c, 0])
            if back > due0 + 1e-9:
                bad[c] = (
                    f"ningún vehículo vuelve a tiempo: tras atenderlo llega al depósito a las "
                    f"{back:.2f} y el depósito cierra a las {due0:g}"
                )
    return bad


def _infeasible_message(name: str, bad: dict[int, str]) -> str:
    lines = [
        ("el depósito: " if c == 0 else f"cliente {c}: ") + reason
        for c, reason in sorted(bad.items())
    ]
    what = (
        "cliente que no se puede atender" if len(bad) == 1 else "clientes que no se pueden atender"
    )
    return (
        f"{name}: {len(bad)} {what}:\n  "
        + "\n  ".join(lines)
        + "\nCorrija su ventana, su demanda o su posición, o quítelo de la instancia."
    )


def check_solution(inst: VrptwInstance, routes) -> list[str]:
    """Check capacity, time windows, depot return and that each customer is served once."""
    d = inst.distances()
    problems = []
    seen: list[int] = [c for r in routes for c in r]
    missing = sorted(set(range(1, inst.size + 1)) - set(seen))
    if missing:
        problems.append(f"clientes sin atender: {missing[:10]}")
    if len(seen) != len(set(seen)):
        problems.append("un cliente aparece en más de una ruta")
    if sum(1 for r in routes if r) > inst.vehicles:
        problems.append(f"usa más de {inst.vehicles} vehículos")
    for n, route in enumerate(routes, start=1):
        if not route:
            continue
        if inst.demand[list(route)].sum() > inst.capacity:
            problems.append(f"ruta {n}: excede la capacidad {inst.capacity}")
        t, here = float(inst.ready[0]), 0
        for c in route:
            t = max(t + d[here, c], float(inst.ready[c]))
            if t > inst.due[c] + 1e-9:
                problems.append(f"ruta {n}: llega al cliente {c} a {t:.2f} > {inst.due[c]:g}")
            t += float(inst.service[c])
            here = c
        if t + d[here, 0] > inst.due[0] + 1e-9:
            problems.append(f"ruta {n}: vuelve al depósito después de {inst.due[0]:g}")
    return problems


class _Model:
    """An OR-Tools model of the instance with a given fleet size."""

    def __init__(self, inst: VrptwInstance, fleet: int, *, reduce: bool = True):
        """Build the model; `reduce` adds the fleet cost and lets customers be dropped.

        Without `reduce` (the distance phase) the objective is distance alone:
        guided local search scales its penalties by the objective, and a huge
        fixed cost would drown the distances it should be improving.
        """
        from ortools.constraint_solver import pywrapcp

        self.inst = inst
        d = inst.distances()
        cost = np.round(d * SCALE).astype(np.int64)
        opens = np.ceil(inst.ready * SCALE - 1e-6).astype(np.int64)
        closes = np.floor(inst.due * SCALE + 1e-6).astype(np.int64)
        # A window narrower than one unit: from the unit below its opening to
        # the unit above its closing, with a service one unit longer so later
        # times stay upper bounds; check_solution then decides in exact terms.
        narrow = opens > closes
        narrow[0] = False
        opens[narrow] = np.floor(inst.ready[narrow] * SCALE).astype(np.int64)
        closes[narrow] = np.ceil(inst.due[narrow] * SCALE).astype(np.int64)
        self.opens, self.closes = opens, closes
        travel = (
            np.ceil(d * SCALE - 1e-6).astype(np.int64)
            + (np.ceil(inst.service * SCALE - 1e-6).astype(np.int64) + narrow)[:, None]
        )
        n = len(inst.demand)
        self.manager = pywrapcp.RoutingIndexManager(n, fleet, 0)
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost.tolist()))
        if reduce:
            routing.SetFixedCostOfAllVehicles(VEHICLE_COST)
        horizon = math.ceil(float(inst.due[0]) * SCALE)
        routing.AddDimension(
            routing.RegisterTransitMatrix(travel.tolist()), horizon, horizon, False, "tiempo"
        )
        dim = routing.GetDimensionOrDie("tiempo")
        for c in range(1, n):
            index = self.manager.NodeToIndex(c)
            dim.CumulVar(index).SetRange(int(opens[c]), int(closes[c]))
            if reduce:
                routing.AddDisjunction([index], DROP_PENALTY)
        start = math.ceil(inst.ready[0] * SCALE)
        for v in range(fleet):
            dim.CumulVar(routing.Start(v)).SetRange(start, horizon)
            dim.CumulVar(routing.End(v)).SetRange(start, horizon)
        demand = [int(q) for q in inst.demand]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitVector(demand), 0, [inst.capacity] * fleet, True, "carga"
        )

    def solve(self, seconds: float, routes: list[list[int]] | None = None):
        """Run guided local search, from `routes` if given; return routes or None."""
        params = search_parameters(seconds, first="PATH_CHEAPEST_ARC")
        routing = self.routing
        if routes is None:
            solution = routing.SolveWithParameters(params)
        else:
            routing.CloseModelWithParameters(params)
            start = routing.ReadAssignmentFromRoutes(routes, True)
            solution = routing.SolveFromAssignmentWithParameters(start, params) if start else None
        if solution is None:
            return None
        return read_routes(self.manager, routing, solution)

    def ruin_and_recreate(self, seconds: float):
        """Run iterated local search with SISR ruins from a fresh start; return routes or None.

        OR-Tools runs it only from its own first solution, so it cannot
        continue from the routes of the vehicle phase.
        """
        params = search_parameters(seconds, first="PATH_CHEAPEST_ARC")
        params.local_search_metaheuristic = GREEDY_DESCENT
        params.use_iterated_local_search = True
        ils = params.iterated_local_search_parameters
        sisr = ils.ruin_recreate_parameters.ruin_strategies.add().sisr
        sisr.max_removed_sequence_size = SISR_STRING
        sisr.avg_num_removed_visits = SISR_REMOVED
        sisr.bypass_factor = 0.01
        annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
        annealing.initial_temperature = SISR_TEMPERATURE * SCALE
        annealing.final_temperature = SISR_TEMPERATURE * SCALE / 1000
        solution = self.routing.SolveWithIteratedLocalSearch(params)
        if solution is None:
            return None
        return read_routes(self.manager, self.routing, solution)


def solve_vrptw(
    inst: VrptwInstance,
    seconds: float = 30.0,
    *,
    progress: Callable[[str], None] | None = None,
) -> VrptwSolution:
    """Solve `inst` within about `seconds`: fewest vehicles first, then distance.

    Raises :class:`VrptwInfeasibleError` naming each customer that cannot be served
    and why (before searching when one customer alone is impossible, after it
    when the fleet is too small), and :class:`RoutingInputError` for anything
    else OR-Tools refuses; never OR-Tools' bare «CP Solver fail».
    """
    bad = impossible_customers(inst)
    if bad:
        raise VrptwInfeasibleError(_infeasible_message(inst.name, bad), bad)
    try:
        return _solve(inst, seconds, progress)
    except RoutingInputError:
        raise
    except Exception as err:  # OR-Tools raises a bare Exception («CP Solver fail»)
        msg = (
            f"{inst.name}: el optimizador no pudo construir el modelo ({err}). Revise que "
            "las ventanas, demandas y tiempos de servicio sean números válidos."
        )
        raise RoutingInputError(msg) from err


def _solve(inst, seconds, progress) -> VrptwSolution:
    say = progress or (lambda _m: None)
    clock = time.perf_counter()
    deadline = clock + seconds
    best = _Model(inst, inst.vehicles).solve(0.25 * seconds)
    if best is None or _dropped(inst, best):
        _fleet_too_small(inst, best)
    best = [r for r in best if r]
    say(f"inicio: {len(best)} vehículos")
    reduce_until = clock + 0.7 * seconds
    while len(best) > 1 and time.perf_counter() < reduce_until:
        shorter = sorted(best, key=len)[1:]
        slice_s = min(max(1.0, 0.15 * seconds), reduce_until - time.perf_counter())
        if slice_s <= 0.2:
            break
        found = _Model(inst, len(best) - 1).solve(slice_s, shorter)
        if found is None or _dropped(inst, found):
            break
        best = [r for r in found if r]
        say(f"{len(best)} vehículos")
    remaining = deadline - time.perf_counter()
    if remaining > 2.0:
        found = _Model(inst, len(best)).ruin_and_recreate(RUIN_SHARE * remaining)
        if found is not None and not _dropped(inst, found):
            found = [r for r in found if r]
            if len(found) <= len(best) and _length(inst, found) < _length(inst, best):
                best = found
                say(f"ruina y reconstrucción: {_length(inst, best):.2f}")
    remaining = deadline - time.perf_counter()
    if remaining > 0.5:
        found = _Model(inst, len(best), reduce=False).solve(remaining, best)
        if found is not None and not _dropped(inst, found):
            best = [r for r in found if r]
    return VrptwSolution(inst, tuple(tuple(r) for r in best), time.perf_counter() - clock)


def _fleet_too_small(inst: VrptwInstance, best) -> None:
    """Raise VrptwInfeasibleError naming the customers the first search left out."""
    served = {c for r in best or [] for c in r}
    left = [c for c in range(1, inst.size + 1) if c not in served]
    total = int(inst.demand[1:].sum())
    fleet = f"{inst.vehicles} vehículos de capacidad {inst.capacity}"
    if total > inst.vehicles * inst.capacity:
        reason = f"la demanda total ({total}) excede la de {fleet}"
    else:
        reason = f"no caben con sus ventanas en {fleet} (cada uno por separado sí es posible)"
    bad = dict.fromkeys(left, reason)
    raise VrptwInfeasibleError(_infeasible_message(inst.name, bad), bad)


def _length(inst: VrptwInstance, routes: list[list[int]]) -> float:
    return VrptwSolution(inst, tuple(tuple(r) for r in routes)).distance


def _dropped(inst: VrptwInstance, routes: list[list[int]]) -> int:
    return inst.size - sum(len(r) for r in routes)
