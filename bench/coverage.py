"""Coverage benchmark: nearest service of every type for every origin, what-if, Malta.

Prints, measured in this same run (median of 3 after a warm-up):

* Chiloé, approximate network: every origin (H3 cells + census zones + schools
  + 300 synthetic case points on school locations) to the nearest service of
  every type at one departure (Tuesday 08:00, on foot and by boat), with the
  static part computed from scratch ("cold") and reused ("warm"); a what-if
  recount (a posta added on Isla Chaulinec); the same-day round trip, the week
  (Monday to Friday) and a what-if sailing for one type, as ratios to one
  departure of that type; the same in the mode «transporte
  público» with the demo's entered bus line (Castro - Dalcahue, `supuesto`) and
  the boats, as a ratio to the on-foot figure;
* Malta OpenStreetMap network (16.5k nodes): every node to the nearest of each
  of 5 facility sets at 08:00 with the Gozo ferries' waits, against networkx
  ``multi_source_dijkstra_path_length`` on the same graph with ferries as fixed
  edges (static times, the reference), and the exactness check on 200 origins
  against a forward per-origin search to every facility.

Run: ``python bench/coverage.py``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.coverage import AddedDeparture  # noqa: E402
from layers.coverage import AddedService  # noqa: E402
from layers.coverage import Coverage  # noqa: E402
from layers.coverage import Scenario  # noqa: E402
from layers.coverage import apply_scenario  # noqa: E402
from layers.origins import grid_origins  # noqa: E402
from layers.origins import school_origins  # noqa: E402
from layers.origins import zone_origins  # noqa: E402
from layers.services import build_registry  # noqa: E402
from layers.territory import load_territory  # noqa: E402
from routing.nearest import NearestSearch  # noqa: E402
from routing.network import build_network  # noqa: E402
from routing.network import load_network  # noqa: E402

PBF = ROOT / "tests" / "data" / "osm" / "malta-2018-08-27.osm.pbf"
TIMETABLE = ROOT / "tests" / "data" / "osm" / "malta_horarios_barcos.csv"
TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)


def timed(fn, repeat: int = 3):
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def chiloe() -> None:
    try:
        from geo_app.coverage import territory_model  # the layout after issue 16, if any
    except ImportError:
        from geo_app.travel import territory_model
    territory = load_territory()
    model = territory_model(territory)
    services = build_registry(territory)
    cells, _ = grid_origins(territory)
    rng = np.random.default_rng(42)
    schools = school_origins(territory)
    cases = schools.sample(300, replace=True, random_state=42).reset_index(drop=True)
    cases["origin_id"] = [f"caso-sintetico-{i}" for i in range(len(cases))]
    cases["kind"], cases["cases"], cases["enrolment"] = "caso", 1, 0
    cases["geometry"] = gpd.points_from_xy(
        cases.geometry.x + rng.normal(0, 0.005, len(cases)),
        cases.geometry.y + rng.normal(0, 0.005, len(cases)),
    )
    origins = gpd.GeoDataFrame(
        pd.concat(
            [cells.drop(columns=["cell_geometry"]), zone_origins(territory), schools, cases],
            ignore_index=True,
        ),
        geometry="geometry",
        crs=4326,
    )
    start = time.perf_counter()
    coverage = Coverage(model, origins, on_foot=True)
    setup_s = time.perf_counter() - start

    def cold():
        coverage.search._static.clear()
        return coverage.nearest(services, TUESDAY_8)

    cold_s, table = timed(cold)
    warm_s, _ = timed(lambda: coverage.nearest(services, TUESDAY_8))
    scenario = Scenario("posta en Chaulinec", (AddedService("posta", -73.5722, -42.6288),))
    after, _ = apply_scenario(services, model, scenario, territory)
    whatif_s, changed = timed(lambda: coverage.nearest(after, TUESDAY_8, types=["posta"]))
    before = table[table["service_type"] == "posta"]["minutes"].to_numpy()
    moved = int((changed["minutes"].fillna(1e9).to_numpy() < np.nan_to_num(before, nan=1e9)).sum())
    n_types = table["service_type"].nunique()
    print(f"Chiloé (red aproximada, a pie y en lancha, martes 08:00): {len(origins)} orígenes")
    print(f"  preparar orígenes (snap + tiempos a terminales): {setup_s:.2f} s")
    print(f"  {n_types} tipos de servicio, estático desde cero: {cold_s:.2f} s (meta ≤ 2 s)")
    print(f"  {n_types} tipos, parte estática reutilizada: {warm_s:.2f} s")
    print(
        f"  qué pasa si (posta agregada): {whatif_s:.3f} s (meta ≤ 1 s); {moved} orígenes mejoran"
    )
    one_s, _ = timed(lambda: coverage.nearest(services, TUESDAY_8, types=["posta"]))
    trip_s, trip = timed(lambda: coverage.round_trip(services, "posta", TUESDAY_8))
    week_s, _ = timed(lambda: coverage.week(services, TUESDAY_8, types=["posta"]))
    sailing = Scenario("", add_departures=(AddedDeparture("achao-alao", "Achao", "17:00"),))
    sailing_s, _ = timed(lambda: _with_sailing(services, model, origins, sailing))
    print(f"  posta, una salida (base de las razones): {one_s:.3f} s")
    print(
        f"  ida y vuelta en el día (posta, 60 min allí): {trip_s:.2f} s "
        f"({trip_s / one_s:.0f}× una salida); {int(trip['same_day'].sum())} orígenes vuelven"
    )
    print(f"  semana (posta, lunes a viernes): {week_s:.2f} s ({week_s / one_s:.0f}× una salida)")
    print(
        f"  qué pasa si (salida de barco agregada: modelo, orígenes y posta de nuevo): "
        f"{sailing_s:.2f} s ({sailing_s / one_s:.0f}× una salida)"
    )
    chiloe_transit(model, origins, services, after, cold_s, warm_s)


def chiloe_transit(model, origins, services, after, foot_cold_s, foot_warm_s) -> None:
    from geo_app.demo.seed import DEMO_LINES
    from geo_app.demo.seed import DEMO_STOPS
    from routing.lines import parse_lines
    from routing.transit import TransitModel

    feed = parse_lines(DEMO_STOPS, DEMO_LINES, name="lineas-demo")
    start = time.perf_counter()
    transit = TransitModel(model, [feed])
    coverage = Coverage(transit, origins, mode="transporte_publico")
    setup_s = time.perf_counter() - start

    def cold():
        coverage.search._static.clear()
        coverage.search._alight.clear()
        return coverage.nearest(services, TUESDAY_8)

    cold_s, table = timed(cold)
    warm_s, _ = timed(lambda: coverage.nearest(services, TUESDAY_8))
    whatif_s, _ = timed(lambda: coverage.nearest(after, TUESDAY_8, types=["posta"]))
    trip_s, trips = timed(lambda: coverage.round_trip(services, "posta", TUESDAY_8), repeat=1)
    n_types = table["service_type"].nunique()
    print(
        f"Chiloé, transporte público (línea de demostración Castro–Dalcahue + barcos): "
        f"{len(transit.stop_ids)} paradas, {len(transit.trip_ids)} viajes"
    )
    print(f"  preparar modelo y orígenes (caminatas a paradas): {setup_s:.2f} s")
    print(
        f"  {n_types} tipos, desde cero: {cold_s:.2f} s (meta ≤ 2 s; "
        f"{cold_s / foot_cold_s:.1f}× a pie y en lancha)"
    )
    print(f"  {n_types} tipos, caminatas reutilizadas: {warm_s:.2f} s "
          f"({warm_s / foot_warm_s:.1f}× a pie)")  # fmt: skip
    print(f"  qué pasa si (posta agregada): {whatif_s:.3f} s (meta ≤ 1 s)")
    print(f"  ida y vuelta en el día a la posta (todos los orígenes): {trip_s:.2f} s, "
          f"{int(trips['same_day'].sum())} de {len(trips)} vuelven el mismo día")  # fmt: skip


def _with_sailing(services, model, origins, scenario):
    after, after_model = apply_scenario(services, model, scenario)
    return Coverage(after_model, origins, on_foot=True).nearest(after, TUESDAY_8, types=["posta"])


def malta() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = build_network(PBF, timetable_csv=TIMETABLE, cache_dir=tmp, name="malta")
        model = load_network(path)
    net = model.network
    rng = np.random.default_rng(42)
    nodes = np.arange(net.n_nodes)
    origins = model.snap(net.node_lon, net.node_lat)
    sets = [rng.choice(net.n_nodes, size, replace=False) for size in (5, 10, 20, 40, 80)]
    facilities = [model.snap(net.node_lon[s], net.node_lat[s]) for s in sets]
    horizon = model.horizon_h * 3600

    def ours():
        search = NearestSearch(model, origins)
        return [search.nearest(f, TUESDAY_8, horizon) for f in facilities]

    ours_s, results = timed(ours)
    # networkx reference: static drive graph plus vehicle ferries as fixed edges, reversed
    layer = net._layers["drive"]
    graph = nx.DiGraph()
    tails = np.repeat(nodes, np.diff(layer.indptr))
    graph.add_weighted_edges_from(
        zip(layer.indices.tolist(), tails.tolist(), layer.weights.tolist(), strict=True)
    )
    for link in model.links:
        if not link.passengers_only:
            graph.add_edge(
                int(model.terminals.anchor[link.to_terminal]),
                int(model.terminals.anchor[link.from_terminal]),
                weight=link.services[0].crossing_min * 60.0,
            )

    def reference():
        return [
            nx.multi_source_dijkstra_path_length(graph, set(facility.anchor.tolist()))
            for facility in facilities
        ]

    nx_s, _ = timed(reference)
    sample = rng.choice(net.n_nodes, 200, replace=False)
    worst = 0.0
    for facility, result in zip(facilities, results, strict=True):
        forward = model.matrix_array(origins.take(sample), facility, TUESDAY_8).min(axis=1)
        got = result.travel_time_s[sample]
        same = np.isfinite(forward) == np.isfinite(got)
        finite = np.isfinite(forward)
        worst = max(worst, float(np.abs(forward[finite] - got[finite]).max(initial=0.0)))
        assert same.all(), "reachability differs from the forward search"
    print(f"Malta ({net.n_nodes} nodos, 5 conjuntos de 5 a 80 servicios, con esperas de ferry):")
    print(f"  Revincula NearestSearch (todo incluido): {ours_s:.3f} s (meta ≤ 0,3 s)")
    print(f"  networkx multi_source_dijkstra (estático, 5 conjuntos): {nx_s:.3f} s")
    print(f"  razón networkx / Revincula: {nx_s / ours_s:.1f}× (meta ≥ 5×)")
    print(f"  exactitud en 200 orígenes × 5 conjuntos: diferencia máxima {worst:.2e} s")


if __name__ == "__main__":
    chiloe()
    malta()
