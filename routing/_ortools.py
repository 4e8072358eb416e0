"""Small helpers shared by the weekly planner and the VRPTW solver (OR-Tools routing)."""

from __future__ import annotations

from ortools.constraint_solver import pywrapcp
from ortools.constraint_solver import routing_enums_pb2

__all__ = ["GREEDY_DESCENT", "read_routes", "search_parameters"]

_FIRST = routing_enums_pb2.FirstSolutionStrategy
GREEDY_DESCENT = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
FIRST_SOLUTIONS = {
    name: getattr(_FIRST, name)
    for name in (
        "PARALLEL_CHEAPEST_INSERTION",
        "PATH_CHEAPEST_ARC",
        "SAVINGS",
        "CHRISTOFIDES",
        "LOCAL_CHEAPEST_INSERTION",
    )
}


def search_parameters(
    seconds: float,
    *,
    first: str = "PARALLEL_CHEAPEST_INSERTION",
    guided: bool = True,
    solution_limit: int | None = None,
):
    """Return routing search parameters: a first solution then guided local search.

    `seconds` bounds the whole search; `solution_limit` stops earlier (used
    where a deterministic answer matters more than the last percent).
    """
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTIONS[first]
    if guided:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
    params.time_limit.FromMilliseconds(max(1, round(seconds * 1000)))
    if solution_limit:
        params.solution_limit = solution_limit
    return params


def read_routes(manager, routing, solution) -> list[list[int]]:
    """Return each vehicle's visited nodes (starts and ends excluded)."""
    routes = []
    for v in range(manager.GetNumberOfVehicles()):
        index = routing.Start(v)
        nodes = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            nodes.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(nodes)
    return routes
