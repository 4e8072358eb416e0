"""Public transport benchmark: journeys and a 1,000 x 1,000 matrix with a real GTFS feed.

Prints:

* one journey with transit on the hand-made Chiloé case (bus Castro - Dalcahue,
  walk to the ramp, Dalcahue - Quinchao ferry; `tests/routing/transit_chiloe.py`)
  and on the Cairns feed: first call (builds the day's connections) and the median
  of repeated calls;
* a 1,000 x 1,000 matrix on the Cairns feed (TransLink 2014, 416 stops, 1,339 trips;
  `tests/data/gtfs/README.md`) over a road-free walking model (the approximate
  network on one land mass around the stops: straight line x 1.35 at 4.5 km/h),
  1,000 points drawn with ``numpy.random.default_rng(42)`` inside it, leaving on
  Tuesday 2014-06-10 at 07:30, timed three ways in this same run:
  - Revincula's matrix (one Connection Scan per origin, in parallel, egress folded in);
  - a plain per-origin search: the same scan called origin by origin from Python,
    egress minimum in numpy, no parallelism;
  - the plain fixpoint search of `tests/routing/transit_reference.py` (pure Python),
    on a sample of origins, extrapolated to 1,000 (and its answers compared).

Run: ``python bench/transit.py [--quick]``. Ratios are measured in this run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.travel import timed  # noqa: E402
from routing.gtfs import read_gtfs  # noqa: E402
from routing.transit import TransitModel  # noqa: E402
from tests.routing import transit_chiloe as chiloe  # noqa: E402
from tests.routing.test_transit_real_feed import CAIRNS  # noqa: E402
from tests.routing.test_transit_real_feed import cairns_model  # noqa: E402
from tests.routing.transit_reference import reference_arrivals  # noqa: E402

TUESDAY = dt.datetime(2014, 6, 10, 7, 30)


def once(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def journeys() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        feed = read_gtfs(chiloe.write_feed(Path(tmp)))
    model = TransitModel(chiloe.travel_model(), [feed])
    when = chiloe.at(10, "06:50")
    cold, j = once(lambda: model.journey(chiloe.CASTRO, chiloe.QUINCHAO_HOUSE, when))
    warm, _ = timed(lambda: model.journey(chiloe.CASTRO, chiloe.QUINCHAO_HOUSE, when), 20)
    kinds = "-".join(leg.kind for leg in j.legs)
    print(
        f"journey Chiloé (bus + ferry, {kinds}): first {cold * 1000:.1f} ms, "
        f"then {warm * 1000:.2f} ms (median of 20)"
    )


def cairns_points(model, n: int, seed: int = 42):
    feed = model.feeds[0]
    land = shapely.MultiPoint(
        list(zip(feed.stops["stop_lon"], feed.stops["stop_lat"], strict=True))
    ).convex_hull
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = land.bounds
    lon, lat = [], []
    while len(lon) < n:
        x, y = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(land, x, y)
        lon.extend(x[inside])
        lat.extend(y[inside])
    return model.snap(np.array(lon[:n]), np.array(lat[:n]))


def per_origin(model, places, t0):
    """The same scan, origin by origin from Python, egress minimum in numpy."""
    static = model._static(places, places)
    window = model._window(t0, model.horizon_s)
    out = np.empty((len(places), len(places)))
    starts = static.eg_ptr[:-1]
    empty = starts == static.eg_ptr[1:]
    for o in range(len(places)):
        lab = model._labels(window, t0, static.access[o], np.zeros(0), np.inf, model.horizon_s)
        values = np.append(lab.alight[static.eg_stop] - lab.t_start + static.eg_s, np.inf)
        best = np.minimum.reduceat(values, starts)
        best[empty] = np.inf
        out[o] = np.minimum(static.direct[o], best)
    out[out > model.horizon_s] = np.inf
    return out


def matrix(n: int, sample: int) -> None:
    feed = read_gtfs(CAIRNS)
    built, model = once(lambda: cairns_model(feed))
    places = cairns_points(model, n)
    print(
        f"Cairns: {len(feed.stops)} stops, {len(feed.trips)} trips; model built in {built:.2f} s; "
        f"{n} points"
    )
    first, ours = once(lambda: model.matrix_array(places, places, TUESDAY))
    ours_s, ours = timed(lambda: model.matrix_array(places, places, TUESDAY))
    plain_s, plain = timed(lambda: per_origin(model, places, TUESDAY), 1)
    same = np.array_equal(np.isinf(ours), np.isinf(plain)) and np.allclose(
        ours[np.isfinite(ours)], plain[np.isfinite(plain)]
    )
    start = time.perf_counter()
    worst = 0.0
    for o in range(sample):
        ref = reference_arrivals(
            model.feeds,
            model.model.network,
            places.take([o]),
            places,
            TUESDAY,
            max_walk_s=model.max_walk_s,
            max_transfer_s=model.max_transfer_s,
            transfer_slack_s=model.transfer_slack_s,
            boat_slack_s=model.boat_slack_s,
            horizon_s=model.horizon_s,
        )
        finite = np.isfinite(ref)
        assert np.array_equal(finite, np.isfinite(ours[o]))
        worst = max(worst, float(np.abs(ref[finite] - ours[o][finite]).max(initial=0)))
    ref_s = (time.perf_counter() - start) / sample * n
    reachable = np.isfinite(ours).mean()
    walking = model.model.network.times(places, places, "walk")
    by_transit = (ours < walking - 1e-9).mean()
    print(
        f"{n}x{n} matrix, leaving {TUESDAY:%Y-%m-%d %H:%M}: {reachable:.1%} pairs reachable; "
        f"median {np.median(ours[np.isfinite(ours)]) / 60:.1f} min"
    )
    print(f"  Revincula (scan per origin, parallel):  {ours_s:8.3f} s   (first call {first:.3f} s)")
    print(
        f"  plain per-origin search (same scan):    {plain_s:8.3f} s   "
        f"ratio {plain_s / ours_s:6.1f}x   same answers: {same}"
    )
    print(
        f"  plain fixpoint search (pure Python):    {ref_s:8.1f} s   "
        f"ratio {ref_s / ours_s:6.0f}x   (extrapolated from {sample} origins; "
        f"max difference {worst:.2g} s)"
    )
    print(f"  pairs faster with transit than walking: {by_transit:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 points, 3 reference origins")
    args = parser.parse_args()
    journeys()
    matrix(200 if args.quick else 1000, 3 if args.quick else 10)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
