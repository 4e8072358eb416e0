"""Planning benchmark: the Chiloé demo week, and Solomon VRPTW against the best-known
solutions, with VROOM (pyvroom, exploration level 5) run in the same script.

    .venv/bin/python bench/planning.py                  # everything (about 40 min)
    .venv/bin/python bench/planning.py --skip-chiloe --part 1/2   # half the instances
    .venv/bin/python bench/planning.py --seconds 10 --instances C101,R101
    .venv/bin/python bench/planning.py --skip-solomon --chiloe-seconds 15

Prints figures and ratios; nothing is asserted. VROOM needs `pip install pyvroom`
(`make bench` installs the `bench` extra).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.planning import PlanParams  # noqa: E402
from routing.planning import plan_week  # noqa: E402
from routing.vrptw import VrptwSolution  # noqa: E402
from routing.vrptw import read_solomon  # noqa: E402
from routing.vrptw import solve_vrptw  # noqa: E402

SOLOMON = ROOT / "data" / "vrp" / "solomon"
BKS = ROOT / "data" / "vrp" / "solomon_bks.csv"
VROOM_SCALE = 1000


def chiloe_week(seconds: float, factor: float) -> None:
    """Plan the demo week (300 candidates, 6 gestores x 5 days, its two nights on Isla Quehui)
    at `seconds` and x`factor`."""
    from geo_app import create_app
    from geo_app.demo.seed import DEMO_GESTORES
    from geo_app.demo.seed import demo_stay_list
    from geo_app.demo.seed import seed_cases
    from geo_app.planning.gestores import gestor_of
    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.planning.plans import candidate_visits
    from geo_app.store.models import GestorRow
    from geo_app.travel import app_model

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite"})
        seed_cases(app, Path(tmp) / "demo", seed=2026, scale=1.0, echo=lambda _m: None)
        model = app_model(app)
        rows = read_gestores_csv(DEMO_GESTORES.encode(), model.find_place)
        gestores = [gestor_of(GestorRow(**r)) for r in rows]
        with app.extensions["revincula.db"]() as session:
            visits = candidate_visits(session, limit=300)
        app.extensions["revincula.engine"].dispose()
    monday = dt.date(2026, 11, 23)
    days = [monday + dt.timedelta(days=i) for i in range(5)]
    stays = demo_stay_list(model, monday, [g.id for g in gestores])
    print(
        f"\n== Chiloé demo week: {len(visits)} candidates, {len(gestores)} gestores x 5 days, "
        f"{len(stays)} nights away =="
    )
    results = []
    for budget in (seconds, seconds * factor):
        params = PlanParams(seconds=budget)
        start = time.perf_counter()
        plan = plan_week(model, visits, gestores, days, stays=stays, params=params)
        wall = time.perf_counter() - start
        totals = plan.totals()
        results.append((budget, wall, plan.objective(params), totals, plan.stats))
        print(
            f"budget {budget:>6.0f} s: plan in {wall:6.1f} s"
            f" (matrices {plan.stats['segundos_matrices']} s,"
            f" solver {plan.stats['segundos_optimizacion']} s); visits {totals['visitas']},"
            f" priority {totals['prioridad_cubierta']:.0f}/{totals['prioridad_total']:.0f},"
            f" travel {_travel_h(totals):.1f} h,"
            f" days with boats {totals['dias_con_barco']}, repaired visits"
            f" {plan.stats['visitas_reparadas']}, objective {plan.objective(params):,.0f}"
        )
    (_, _, base, *_), (_, _, long, *_) = results
    print(f"objective at {seconds:g} s / objective at {seconds * factor:g} s = {base / long:.4f}")


def _travel_h(totals: dict) -> float:
    return (totals["conducir_s"] + totals["caminar_s"] + totals["barco_s"]) / 3600


def vroom_solve(inst, level: int = 5) -> tuple[VrptwSolution, float]:
    """Solve with VROOM on an integer matrix (x1000, rounded up); return routes and seconds."""
    import vroom

    d = inst.distances()
    durations = np.ceil(d * VROOM_SCALE - 1e-6).astype(np.int64)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=durations)
    horizon = math.floor(inst.due[0] * VROOM_SCALE)
    problem.add_vehicle(
        [
            vroom.Vehicle(
                v,
                start=0,
                end=0,
                capacity=[inst.capacity],
                time_window=vroom.TimeWindow(math.ceil(inst.ready[0] * VROOM_SCALE), horizon),
            )
            for v in range(inst.vehicles)
        ]
    )
    problem.add_job(
        [
            vroom.Job(
                c,
                location=c,
                delivery=[int(inst.demand[c])],
                default_service=math.ceil(inst.service[c] * VROOM_SCALE),
                time_windows=[
                    vroom.TimeWindow(
                        math.ceil(inst.ready[c] * VROOM_SCALE),
                        math.floor(inst.due[c] * VROOM_SCALE),
                    )
                ],
            )
            for c in range(1, inst.size + 1)
        ]
    )
    start = time.perf_counter()
    solution = problem.solve(exploration_level=level, nb_threads=1)
    seconds = time.perf_counter() - start
    steps = solution.routes
    jobs = steps[steps["type"] == "job"]
    routes = tuple(
        tuple(int(i) for i in group.sort_values("arrival")["id"])
        for _, group in jobs.groupby("vehicle_id")
    )
    return VrptwSolution(inst, routes, seconds), seconds


def solomon(seconds: float, names: list[str], use_vroom: bool) -> None:
    """Solve each instance; print vehicles and distance gaps to the best-known solutions."""
    bks = pd.read_csv(BKS).set_index("instance")
    print(f"\n== Solomon VRPTW, {len(names)} instances, OR-Tools {seconds:g} s each ==")
    print(f"{'inst':6} {'BKS':>12} | {'ours':>12} {'gap':>7} | {'VROOM':>12} {'gap':>7} {'s':>5}")
    rows = []
    for name in names:
        inst = read_solomon(SOLOMON / f"{name}.txt")
        best = bks.loc[name]
        ours = solve_vrptw(inst, seconds)
        row = {"inst": name, "bks_v": best.vehicles, "bks_d": best.distance}
        row.update(ours_v=ours.vehicles, ours_d=ours.distance, ours_ok=not ours.problems())
        line = f"{name:6} {best.vehicles:3d} {best.distance:8.2f} |"
        line += f" {ours.vehicles:3d} {ours.distance:8.2f}"
        line += f" {100 * (ours.distance / best.distance - 1):+6.2f}%"
        if use_vroom:
            theirs, vs = vroom_solve(inst)
            row.update(vroom_v=theirs.vehicles, vroom_d=theirs.distance, vroom_s=vs)
            row["vroom_ok"] = not theirs.problems()
            line += f" | {theirs.vehicles:3d} {theirs.distance:8.2f}"
            line += f" {100 * (theirs.distance / best.distance - 1):+6.2f}% {vs:5.1f}"
        print(line + ("" if row["ours_ok"] else "  INFEASIBLE"), flush=True)
        rows.append(row)
    table = pd.DataFrame(rows)
    print()
    for who in ("ours", "vroom") if use_vroom else ("ours",):
        same = table[table[f"{who}_v"] == table["bks_v"]]
        gap = 100 * (same[f"{who}_d"] / same["bks_d"] - 1)
        extra = int((table[f"{who}_v"] - table["bks_v"]).clip(lower=0).sum())
        label = "OR-Tools (ours)" if who == "ours" else "VROOM level 5"
        print(
            f"{label:16}: BKS vehicles on {len(same)}/{len(table)}, extra vehicles {extra}, "
            f"mean distance gap where vehicles match {gap.mean():+.2f}%, "
            f"all feasible: {bool(table[f'{who}_ok'].all())}"
        )
    if use_vroom:
        _head_to_head(table)


def _head_to_head(table: pd.DataFrame) -> None:
    """Compare on the same instances: where both reach the BKS fleet, and pair by pair."""
    both = table[(table["ours_v"] == table["bks_v"]) & (table["vroom_v"] == table["bks_v"])]
    if len(both):
        ours = 100 * (both["ours_d"] / both["bks_d"] - 1)
        theirs = 100 * (both["vroom_d"] / both["bks_d"] - 1)
        print(
            f"both at BKS vehicles on {len(both)}: mean gap ours {ours.mean():+.2f}% vs "
            f"VROOM {theirs.mean():+.2f}%"
        )
    key_ours = list(zip(table["ours_v"], table["ours_d"].round(2), strict=True))
    key_vroom = list(zip(table["vroom_v"], table["vroom_d"].round(2), strict=True))
    wins = sum(a < b for a, b in zip(key_ours, key_vroom, strict=True))
    ties = sum(a == b for a, b in zip(key_ours, key_vroom, strict=True))
    print(
        f"fewest vehicles then distance, instance by instance: ours better on {wins}, "
        f"equal on {ties}, VROOM better on {len(table) - wins - ties} (of {len(table)})"
    )


def main() -> None:
    """Parse arguments and run the selected parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per Solomon instance")
    parser.add_argument("--instances", default="all", help="comma-separated names or 'all'")
    parser.add_argument("--chiloe-seconds", type=float, default=15.0)
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--skip-chiloe", action="store_true")
    parser.add_argument("--skip-solomon", action="store_true")
    parser.add_argument("--skip-vroom", action="store_true")
    parser.add_argument("--part", default="1/1", help="K/N: every N-th instance from the K-th")
    args = parser.parse_args()
    if not args.skip_chiloe:
        chiloe_week(args.chiloe_seconds, args.factor)
    if not args.skip_solomon:
        names = (
            sorted(p.stem for p in SOLOMON.glob("*.txt"))
            if args.instances == "all"
            else args.instances.split(",")
        )
        part, parts = (int(v) for v in args.part.split("/"))
        names = names[part - 1 :: parts]
        use_vroom = not args.skip_vroom
        if use_vroom:
            try:
                import vroom  # noqa: F401
            except ImportError:
                print("pyvroom no está instalado: se omite VROOM (make bench lo instala).")
                use_vroom = False
        solomon(args.seconds, names, use_vroom)


if __name__ == "__main__":
    main()
