"""Map weight benchmark: bytes and time of the map's first load, compressed and not.

Seeds the demo's synthetic caseload (three monthly lists, real import path) into a
temporary SQLite, signs in as an administrator, and loads what the map page loads: the
page, every public layer (schools, health, comunas, islands, boats) and the case layer.
Prints, in this same run, each response's size plain and with ``Accept-Encoding: br,
gzip`` (the baseline is the plain size), the time of each, and what a revisit costs with
the layers' ETags (304, no body). Static files (Leaflet, our JS) are not counted: they
are served once and cached by version.

Goal (issue 22): the map ready at province zoom with ≤ 300 KB.

Run: ``python bench/map.py [--scale 1.0]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_app import create_app  # noqa: E402
from geo_app.demo.seed import seed_cases  # noqa: E402
from tests.accounts import login  # noqa: E402

URLS = [
    "/",
    "/api/capas/comunas.geojson",
    "/api/capas/islas.geojson",
    "/api/capas/escuelas.geojson",
    "/api/capas/salud.geojson",
    "/api/capas/barcos.geojson",
    "/api/casos.geojson",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the demo caseload")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="revincula-map-"))
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": f"sqlite:///{folder / 'm.sqlite'}"}
    )
    seed_cases(app, folder / "listas", seed=42, scale=args.scale, echo=lambda *_: None)
    client = login(app.test_client(), app)
    total_plain = total_packed = total_again = 0
    print(f"{'recurso':32s} {'sin comprimir':>14s} {'comprimido':>11s} {'razón':>6s} "
          f"{'tiempo':>8s} {'revisita':>9s}")  # fmt: skip
    for url in URLS:
        plain = client.get(url)
        start = time.perf_counter()
        packed = client.get(url, headers={"Accept-Encoding": "br, gzip"})
        elapsed = time.perf_counter() - start
        etag = packed.headers.get("ETag")
        revisit = {"Accept-Encoding": "br, gzip", "If-None-Match": etag or ""}
        again = client.get(url, headers=revisit) if etag else packed
        total_plain += len(plain.data)
        total_packed += len(packed.data)
        total_again += len(again.data) if again.status_code != 304 else 0
        ratio = len(plain.data) / max(len(packed.data), 1)
        second = "304" if again.status_code == 304 else f"{len(again.data) // 1024} KB"
        print(f"{url:32s} {len(plain.data) // 1024:11d} KB {len(packed.data) // 1024:8d} KB "
              f"{ratio:5.1f}× {elapsed * 1000:6.0f} ms {second:>9s}")  # fmt: skip
    print(f"{'total':32s} {total_plain // 1024:11d} KB {total_packed // 1024:8d} KB "
          f"{total_plain / total_packed:5.1f}×   revisita: {total_again // 1024} KB "
          "(solo lo personal, que no se guarda)")  # fmt: skip


if __name__ == "__main__":
    main()
