"""Map weight benchmark: bytes and time of the map's first load with a large caseload.

Seeds one monthly list of about ``--cases`` synthetic students (real import path, as the
demo does) into a temporary SQLite, signs in as an administrator, and loads what the map
page loads at province zoom: the page, every public layer (schools, health, comunas,
islands, boats) and the case layer for the province's view (``bbox`` of Chiloé, zoom 8,
as ``static/js/map.js`` asks it on a 1280 × 800 screen). Prints each response's size
plain and with ``Accept-Encoding: br, gzip``, the time of each (server side, Flask test
client), and what a revisit costs (ETags: 304, no body). Beside it, in this same run,
the baseline: the case layer as it was before issue 22 (every case in scope as a point,
``MAP_POINT_LIMIT`` lifted), and the points of a zoomed-in view (Castro, zoom 15), with
how many markers they make (cases sharing one point come stacked, `map_layer.stacked`).

With ``--navegador`` it also opens the map in headless Chromium (Debian's, ``make
chromium``) served by Werkzeug's threaded server in this process, and times navigation
to "map ready" (public layers drawn and the case layer drawn), with the bytes the page
transferred (Resource Timing ``transferSize``, static files left out), for the new layer
and for the baseline. Playwright's request routing (which keeps the page off the
network) turns the browser's HTTP cache off, so each of the three loads is a first visit.

Static files (Leaflet, our JS) are not counted in the first table: they are served once
and cached by version. Goal (issue 22): the map with 50,000 cases ready in ≤ 1.5 s,
≤ 300 KB at province zoom.

Run: ``python bench/map.py [--cases 50000] [--navegador] [--db sqlite:///ruta.sqlite]``
(``--db`` keeps the seeded database for the next run: seeding 50,000 rows takes minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlalchemy import select  # noqa: E402

from geo_app import create_app  # noqa: E402
from geo_app.store.models import Case  # noqa: E402
from tests.accounts import add_user  # noqa: E402
from tests.accounts import login  # noqa: E402

PUBLIC = [
    "/",
    "/api/capas/comunas.geojson",
    "/api/capas/islas.geojson",
    "/api/capas/escuelas.geojson",
    "/api/capas/salud.geojson",
    "/api/capas/barcos.geojson",
]
PROVINCE_ZOOM = 8  # Chiloé's comunas fitted to a 1280 × 800 window (map pane 960 px wide)
CASTRO = (-73.7650, -42.4815)  # the town's centre, for a zoomed-in view
CASES_AT_SCALE_1 = 6074  # about what generate_caseload(scale=1.0) gives on this territory
TODAY = dt.date(2026, 9, 1)


def snapped_bbox(west: float, south: float, east: float, north: float, zoom: int) -> str:
    """The bbox `static/js/map.js` asks: the view snapped outwards to 360° / 2^zoom."""
    step = 360 / 2**zoom
    box = (
        max(math.floor(west / step) * step, -180),
        max(math.floor(south / step) * step, -90),
        min(math.ceil(east / step) * step, 180),
        min(math.ceil(north / step) * step, 90),
    )
    return ",".join(f"{v:.5f}".rstrip("0").rstrip(".") for v in box)


def seed(app, cases: int) -> int:
    """Import one monthly synthetic list of about `cases` students; return located cases."""
    from geo_app.cases.context import case_context
    from geo_app.cases.importing import apply_import
    from geo_app.cases.importing import prepare_import
    from layers.synthetic import SyntheticCaseload
    from layers.synthetic import generate_caseload
    from layers.synthetic import monthly_file

    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        located = session.scalar(select(func.count()).where(Case.lon.is_not(None)))
    if located:
        print(f"Base ya sembrada: {located} casos ubicados.")
        return located
    context = case_context(app)
    start = time.perf_counter()
    # One seed gives at most the SLEP schools' enrolment (~21,000 at scale ≥ 8); larger
    # caseloads (a national deployment's size) stack caseloads of further seeds, RUNs
    # kept distinct: synthetic volume on this territory, not a plausible province.
    parts, total, seed_n = [], 0, 42
    while total < cases:
        part = generate_caseload(context.territory, context.geocoder, seed=seed_n,
                                 scale=(cases - total) / CASES_AT_SCALE_1, today=TODAY)  # fmt: skip
        parts.append(part.students)
        total += len(part)
        seed_n += 1
    students = pd.concat(parts, ignore_index=True).drop_duplicates("run").head(cases)
    caseload = SyntheticCaseload(students=students, seed=42)
    data = monthly_file(caseload, "2026-08", 0)
    with sessions() as session, session.begin():
        prepared = prepare_import(session, context, data, "sintetica.csv", today=TODAY)
        apply_import(session, context, prepared, actor="bench", synthetic=True)
    with sessions() as session:
        located = session.scalar(select(func.count()).where(Case.lon.is_not(None)))
    print(f"{len(caseload)} estudiantes sintéticos importados ({located} ubicados) "
          f"en {time.perf_counter() - start:.0f} s")  # fmt: skip
    return located


def fetch(client, url: str) -> dict:
    """Plain and compressed sizes, server time of the compressed answer, and a revisit."""
    plain = client.get(url)
    assert plain.status_code == 200, (url, plain.status_code)
    start = time.perf_counter()
    packed = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    elapsed = time.perf_counter() - start
    etag = packed.headers.get("ETag")
    again = None
    if etag:
        again = client.get(url, headers={"Accept-Encoding": "br, gzip", "If-None-Match": etag})
    revisit = (
        len(packed.data) if again is None else (0 if again.status_code == 304 else len(again.data))
    )
    return {"url": url, "plain": len(plain.data), "packed": len(packed.data), "s": elapsed,
            "revisit": revisit, "json": plain.get_json(silent=True)}  # fmt: skip


def row(label: str, r: dict) -> None:
    ratio = r["plain"] / max(r["packed"], 1)
    second = "304" if r["revisit"] == 0 else f"{r['revisit'] / 1024:.0f} KB"
    print(f"{label:34s} {r['plain'] / 1024:10.0f} KB {r['packed'] / 1024:8.1f} KB {ratio:5.1f}× "
          f"{r['s'] * 1000:7.0f} ms {second:>9s}")  # fmt: skip


def browser_ready(app, base_limit: int, province: str) -> None:
    """Time to "map ready" in headless Chromium, new layer and baseline (all points)."""
    import logging

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.browser.conftest import open_local_page
    from tests.browser.conftest import serve

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    executable = shutil.which("chromium")
    if executable is None:
        print("Falta chromium de Debian: ejecute `make chromium`.")
        return
    ready = "() => window.revincula && window.revincula.ready && window.revincula.cases"
    weight = ("() => performance.getEntriesByType('resource').concat("
              "performance.getEntriesByType('navigation'))"
              ".filter(e => !e.name.includes('/static/'))"
              ".reduce((s, e) => s + e.transferSize, 0)")  # fmt: skip
    print(f"\nNavegador (Chromium sin interfaz, servidor Werkzeug de este proceso; {province}):")
    print(f"{'capa de casos':34s} {'listo':>9s} {'transferido':>12s} {'dibujado':>22s}")
    with sync_playwright() as pw, serve(app) as base:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        for label, limit in (("grupos por zona (nueva)", base_limit),
                             ("todos los puntos (antes)", 10**9)):  # fmt: skip
            app.config["MAP_POINT_LIMIT"] = limit
            local = open_local_page(browser, 1280, 800, base=base, user="admin.prueba")
            page = local.page
            page.goto(base + "/casos?pagina=1")  # warm the static files into the cache
            times = []
            for _ in range(3):
                start = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_function(ready, timeout=120_000, polling=20)
                times.append(time.perf_counter() - start)
            sent = page.evaluate(weight)
            cases = page.evaluate("window.revincula.cases")
            drawn = f"{cases['modo']}: {cases.get('celdas', cases['total'])}"
            print(f"{label:34s} {min(times):8.2f}s {sent / 1024:9.0f} KB {drawn:>22s}"
                  f"   (mejor de 3; {', '.join(f'{t:.2f}' for t in times)} s)")  # fmt: skip
            assert local.errors == [], local.errors
            page.close()
        browser.close()
    app.config["MAP_POINT_LIMIT"] = base_limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000, help="estudiantes sintéticos")
    parser.add_argument("--db", default="", help="URL de una base a sembrar o ya sembrada")
    parser.add_argument("--navegador", action="store_true", help="medir también en Chromium")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="revincula-map-"))
    url = args.db or f"sqlite:///{folder / 'm.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": url})
    located = seed(app, args.cases)
    add_user(app, "admin.prueba", "admin")
    client = login(app.test_client(), app, username="admin.prueba")
    limit = app.config["MAP_POINT_LIMIT"]

    territory = app.extensions["revincula.territory"]
    west, south, east, north = territory.comunas.total_bounds
    province = snapped_bbox(west, south, east, north, PROVINCE_ZOOM)
    lon, lat = CASTRO
    town = snapped_bbox(lon - 0.011, lat - 0.006, lon + 0.011, lat + 0.006, 15)
    layer = f"/api/casos.geojson?bbox={province}&zoom={PROVINCE_ZOOM}"

    print(f"\n{located} casos ubicados; vista de provincia bbox={province} zoom={PROVINCE_ZOOM}")
    print(f"{'recurso':34s} {'sin comprimir':>13s} {'comprimido':>11s} {'razón':>6s} "
          f"{'tiempo':>10s} {'revisita':>9s}")  # fmt: skip
    total = {"plain": 0, "packed": 0, "s": 0.0, "revisit": 0}
    for resource in PUBLIC:
        r = fetch(client, resource)
        row(resource, r)
        for key in total:
            total[key] += r[key]
    cases = fetch(client, layer)
    row(f"casos por zona ({cases['json']['modo']})", cases)
    for key in total:
        total[key] += cases[key]
    row("total a zoom de provincia", total)

    app.config["MAP_POINT_LIMIT"] = 10**9
    before = fetch(client, "/api/casos.geojson")
    app.config["MAP_POINT_LIMIT"] = limit
    row("antes: todos los puntos", before)
    base_total = total["packed"] - cases["packed"] + before["packed"]
    print(f"{'total antes':34s} {'':13s} {base_total / 1024:8.1f} KB   capa de casos: "
          f"{before['packed'] / max(cases['packed'], 1):.0f}× más bytes, "
          f"{before['s'] / max(cases['s'], 1e-9):.0f}× más tiempo de servidor")  # fmt: skip
    zoomed = fetch(client, f"/api/casos.geojson?bbox={town}&zoom=15")
    stacks = [f for f in zoomed["json"]["features"] if f["properties"].get("pila")]
    row(f"Castro zoom 15 ({zoomed['json']['total']} casos)", zoomed)
    print(f"{'':34s} {len(zoomed['json']['features'])} marcadores: {len(stacks)} pilas de "
          f"{sum(f['properties']['n'] for f in stacks)} casos en un mismo punto (más de "
          f"{app.config['MAP_STACK_MIN']}) y {len(zoomed['json']['features']) - len(stacks)} "
          "casos sueltos")  # fmt: skip
    print(f"Meta: ≤ 300 KB a zoom de provincia → {total['packed'] / 1024:.0f} KB "
          f"({'cumple' if total['packed'] <= 300 * 1024 else 'no cumple'}); tiempos medidos en "
          "una máquina de 2 núcleos compartida (bajo carga).")  # fmt: skip
    if args.navegador:
        browser_ready(app, limit, f"{located} casos")
    app.extensions["revincula.engine"].dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
