"""Routing benchmark on the Malta OpenStreetMap extract (boats included).

Prints, for matrices of 100, 500 and 1,000 points (``numpy.random.default_rng(42)``,
drawn from the main road network of both Malta and Gozo), the time of:

* Revincula's boat-aware matrix at a departure time (waits for the Gozo ferry);
* networkx single-source Dijkstra from every origin (static: ferries as fixed
  edges of crossing time, no waits) — the baseline of the issue — twice: on the
  osmnx ``MultiDiGraph`` itself with a ``travel_time`` attribute (how the
  reference figure in docs/BENCHMARKS was taken, and what an osmnx user runs),
  and on a plain ``DiGraph`` built from our CSR (a faster, leaner baseline);
* scipy.sparse.csgraph.dijkstra with all origins at once (static, same graph);
* Valhalla (pyvalhalla ``timedistancematrix``, tiles built from the same PBF)
  when a Python 3.12 virtualenv with pyvalhalla is given with ``--valhalla-python``;

plus the same boat-aware matrices for points *off* the nodes (random points along
random edges of the same islands, each moved up to 30 m off the road: they are
snapped onto the edge and the edge is split virtually) against the on-node
figure of this same run, the snapping time, one journey, one isochrone and the
peak RSS. Run: ``make bench`` or
``python bench/travel.py [--quick] [--valhalla-python PATH]``.
Ratios are measured in this same run; absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.network import NetworkParams  # noqa: E402
from routing.network import build_network  # noqa: E402
from routing.network import load_network  # noqa: E402

PBF = ROOT / "tests" / "data" / "osm" / "malta-2018-08-27.osm.pbf"
TIMETABLE = ROOT / "tests" / "data" / "osm" / "malta_horarios_barcos.csv"
DEPART = dt.datetime(2026, 3, 10, 8, 0)
VALHALLA_SCRIPT = Path(__file__).with_name("valhalla_matrix.py")


def timed(fn, repeat: int = 3):
    """Median seconds of `repeat` runs after one warm-up run; returns (seconds, result)."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def static_graph(model):
    """The drive layer plus each vehicle ferry as a fixed edge of its crossing time."""
    streets = model.network
    layer = streets._layers["drive"]
    u = np.repeat(np.arange(streets.n_nodes), np.diff(layer.indptr))
    v, w = layer.indices, layer.weights
    extra_u, extra_v, extra_w = [], [], []
    for link in model.links:
        if link.passengers_only:
            continue
        extra_u.append(model.terminals.anchor[link.from_terminal])
        extra_v.append(model.terminals.anchor[link.to_terminal])
        extra_w.append(link.services[0].crossing_min * 60.0)
    u = np.concatenate([u, extra_u]).astype(np.int64)
    v = np.concatenate([v, extra_v]).astype(np.int64)
    w = np.concatenate([w, extra_w])
    n = streets.n_nodes
    return sp.csr_matrix((w, (u, v)), shape=(n, n))


def osmnx_graph(model, params):
    """The osmnx MultiDiGraph of the same PBF, with our edge times and the car ferries."""
    from routing.network import _read_osm_file
    from routing.network import edge_speed_kmh

    with tempfile.TemporaryDirectory() as tmp:
        graph = _read_osm_file(PBF, params, Path(tmp))[0]
    for _a, _b, data in graph.edges(data=True):
        speed = edge_speed_kmh(
            data.get("highway"), data.get("surface"), data.get("maxspeed"), params
        )
        data["travel_time"] = data.get("length", 0.0) / (speed / 3.6)
    osm_ids = list(graph.nodes)  # node i of our network is osm_ids[i] (same build order)
    assert len(osm_ids) == model.network.n_nodes
    for link in model.links:
        if not link.passengers_only:
            graph.add_edge(
                osm_ids[model.terminals.anchor[link.from_terminal]],
                osm_ids[model.terminals.anchor[link.to_terminal]],
                travel_time=link.services[0].crossing_min * 60.0,
            )
    return graph, osm_ids


def sample_points(model, n: int, seed: int = 42):
    """`n` road nodes from the main networks of the two largest islands."""
    streets = model.network
    main = streets._main
    sizes = streets._weak_size[main]
    islands = np.unique(streets._weak[main][sizes >= np.sort(np.unique(sizes))[-2]])
    pool = main[np.isin(streets._weak[main], islands)]
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(pool, size=n, replace=False))


def sample_off_node(model, n: int, seed: int = 43) -> tuple[np.ndarray, np.ndarray]:
    """`n` points along random main edges (uniform fraction), moved up to 30 m off the road."""
    import shapely

    streets = model.network
    index = streets._edge_index()
    weak = streets._weak[streets.edge_u[index.canon]]
    sizes = np.bincount(streets._weak)
    islands = np.argsort(sizes)[-2:]
    pool = np.flatnonzero(index.main & np.isin(weak, islands))
    rng = np.random.default_rng(seed)
    picks = rng.choice(pool, size=n, replace=False)
    on_road = shapely.line_interpolate_point(
        index.lines[picks], rng.uniform(0, 1, n), normalized=True
    )
    xy = shapely.get_coordinates(on_road) + rng.uniform(-30, 30, (n, 2)) / np.sqrt(2)
    lonlat = shapely.get_coordinates(streets._to_lonlat(shapely.multipoints(xy)))
    return lonlat[:, 0], lonlat[:, 1]


def run_valhalla(python: str, nodes_lonlat: np.ndarray, sizes, workdir: Path) -> dict:
    """Run the Valhalla matrix in its own interpreter; return {n: seconds}."""
    points = workdir / "points.json"
    points.write_text(json.dumps(nodes_lonlat.tolist()))
    out = subprocess.run(
        [
            python,
            str(VALHALLA_SCRIPT),
            str(PBF),
            str(points),
            str(workdir / "tiles"),
            ",".join(map(str, sizes)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(f"Valhalla failed: {out.stderr.strip()[-500:]}")
        return {}
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip networkx at 1,000 points")
    parser.add_argument("--valhalla-python", default=None, help="python with pyvalhalla (3.12)")
    args = parser.parse_args()

    cache = ROOT / "build" / "bench-networks"
    start = time.perf_counter()
    path = build_network(
        PBF,
        timetable_csv=TIMETABLE,
        params=NetworkParams(road_filter="drive"),
        cache_dir=cache,
        name="malta-drive",
    )
    model = load_network(path)
    print(f"network: {path.name} ({time.perf_counter() - start:.1f} s incl. build if not cached)")
    print(
        f"  nodes {model.network.n_nodes:,}, edges {model.network.n_edges:,}, "
        f"boat links {len(model.links)}"
    )

    sizes = (100, 500, 1000)
    nodes = sample_points(model, max(sizes))
    lon, lat = model.network.node_lon[nodes], model.network.node_lat[nodes]
    gozo = model.network._weak[nodes] != np.bincount(model.network._weak).argmax()
    print(f"  points: {len(nodes)} ({int(gozo.sum())} on Gozo)")
    places = model.snap(lon, lat)
    matrix_graph = static_graph(model)
    graph = nx.from_scipy_sparse_array(matrix_graph, create_using=nx.DiGraph)
    multigraph, osm_ids = osmnx_graph(model, NetworkParams(road_filter="drive"))

    valhalla = {}
    if args.valhalla_python:
        with tempfile.TemporaryDirectory() as tmp:
            valhalla = run_valhalla(
                args.valhalla_python, np.column_stack([lon, lat]), sizes, Path(tmp)
            )

    print(
        "\n   N   revincula(boats)   scipy(static)   nx-osmnx   nx-DiGraph   valhalla   "
        "x scipy   x nx-osmnx   x nx-DiGraph   x valhalla   unreachable  boat-wait pairs"
    )
    for n in sizes:
        sub = places.take(np.arange(n))
        ours, result = timed(lambda sub=sub: model.matrix_array(sub, sub, DEPART))
        sci, static = timed(lambda n=n: dijkstra(matrix_graph, indices=nodes[:n])[:, nodes[:n]])
        if args.quick and n == 1000:
            nx_multi = nx_plain = float("nan")
        else:
            start = time.perf_counter()
            for o in nodes[:n]:
                nx.single_source_dijkstra_path_length(
                    multigraph, osm_ids[int(o)], weight="travel_time"
                )
            nx_multi = time.perf_counter() - start
            start = time.perf_counter()
            for o in nodes[:n]:
                nx.single_source_dijkstra_path_length(graph, int(o), weight="weight")
            nx_plain = time.perf_counter() - start
        vh = valhalla.get(n, float("nan"))
        unreachable = int((~np.isfinite(result)).sum())
        waited = int((result > static + 1).sum())
        print(
            f"{n:5d}   {ours:12.3f} s   {sci:10.3f} s   {nx_multi:7.2f} s   {nx_plain:8.2f} s"
            f"   {vh:7.2f} s   {sci / ours:6.1f}x   {nx_multi / ours:8.1f}x   "
            f"{nx_plain / ours:9.1f}x   {vh / ours:8.1f}x   {unreachable:8d}   {waited:8d}"
        )

    # the same matrices for points off the nodes (snapped onto edges), in this same run
    off_lon, off_lat = sample_off_node(model, max(sizes))
    snap_s, off_places = timed(lambda: model.snap(off_lon, off_lat), repeat=3)
    print(
        f"\nsnapping {max(sizes)} points off the nodes onto edges: {snap_s * 1000:.0f} ms "
        f"({int((off_places.edge >= 0).sum())} on an edge)"
    )
    print("   N   on-node matrix   off-node matrix   off/on")
    for n in sizes:
        on_s, _ = timed(
            lambda n=n: model.matrix_array(
                places.take(np.arange(n)), places.take(np.arange(n)), DEPART
            )
        )
        sub = off_places.take(np.arange(n))
        off_s, off = timed(lambda sub=sub: model.matrix_array(sub, sub, DEPART))
        assert (np.diag(off) == 0).all()
        print(f"{n:5d}   {on_s:12.3f} s   {off_s:13.3f} s   {off_s / on_s:6.2f}x")

    # one journey from Gozo to Malta (it must wait for the ferry)
    a, b = places.take([np.flatnonzero(gozo)[0]]), places.take([np.flatnonzero(~gozo)[0]])
    pa = (float(a.lon[0]), float(a.lat[0]))
    pb = (float(b.lon[0]), float(b.lat[0]))
    journey_s, journey = timed(lambda: model.journey(pa, pb, DEPART), repeat=10)
    print(f"\none journey ({len(journey.boat_legs)} boat legs): {journey_s * 1000:.1f} ms")
    valletta = model.find_place("Valletta")
    iso_s, _iso = timed(lambda: model.isochrone(valletta[:2], 15, DEPART), repeat=5)
    print(f"isochrone Valletta 15 min: {iso_s * 1000:.1f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
