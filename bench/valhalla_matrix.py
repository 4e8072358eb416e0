"""Valhalla side of bench/travel.py; runs in a Python 3.12 virtualenv with pyvalhalla.

Usage: python valhalla_matrix.py PBF POINTS.json TILE_DIR 100,500,1000
Builds the tiles from the PBF (timed separately), then times a
``sources_to_targets`` matrix for each size with the ``timedistancematrix``
algorithm (the complete one: the default CostMatrix drops Malta-Gozo pairs)
and prints one JSON line {n: seconds} (median of 3 after a warm-up).
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import valhalla


def main() -> None:
    pbf, points_file, tile_dir, sizes = sys.argv[1:5]
    tile_dir = Path(tile_dir)
    tile_dir.mkdir(parents=True, exist_ok=True)
    config = valhalla.get_config(tile_extract="", tile_dir=str(tile_dir))
    config["mjolnir"]["tile_extract"] = str(tile_dir.resolve() / "tiles.tar")
    config["service_limits"]["auto"]["max_matrix_location_pairs"] = 2_000_000
    config["service_limits"]["auto"]["max_matrix_distance"] = 10_000_000
    config["thor"]["source_to_target_algorithm"] = "timedistancematrix"
    config_file = tile_dir / "valhalla.json"
    config_file.write_text(json.dumps(config))
    start = time.perf_counter()
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in (
        ["valhalla_build_tiles", "-c", str(config_file), pbf],
        ["valhalla_build_extract", "-c", str(config_file), "-v"],
    ):
        done = subprocess.run(
            [str(bindir / command[0]), *command[1:]], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"{command[0]} failed: {done.stderr[-800:]}")
    print(f"tiles built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    actor = valhalla.Actor(str(config_file))
    points = json.loads(Path(points_file).read_text())
    out = {}
    for n in (int(s) for s in sizes.split(",")):
        locations = [{"lon": lon, "lat": lat} for lon, lat in points[:n]]
        request = json.dumps({"sources": locations, "targets": locations, "costing": "auto"})
        actor.matrix(request)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            actor.matrix(request)
            times.append(time.perf_counter() - t)
        out[n] = statistics.median(times)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
