"""Cost of one request per page of bench/load.py: CPU time, SQL statements and bytes.

The latency `bench/load.py` measures on a shared machine is mostly waiting for a CPU;
what the app itself spends per request is steadier: this script seeds the same
synthetic caseload (temporary PostgreSQL database on 127.0.0.1 by default, or SQLite),
signs in as the same profesional, and times each page through the Flask test client in
this process — CPU time of this thread (``time.thread_time``), wall time, SQL statements
sent (SQLAlchemy ``before_cursor_execute``) and the answer's size (uncompressed). Beside
them, the figures measured before this change (`BEFORE`, commit ef1066a, same script,
same machine). With ``--perfil`` it prints the 25 costliest functions of each page.

    .venv/bin/python bench/pages.py [--db sqlite] [--veces 20] [--perfil]

Nothing is asserted. The machine is shared (2 cores, other helpers): CPU time is less
sensitive to that than wall time, but caches and frequency still are.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import PASSWORD  # noqa: E402
from bench.load import _database  # noqa: E402
from bench.load import seed  # noqa: E402

# Before (commit ef1066a, PostgreSQL, scale 0.3 = 1,902 cases, 20 requests a page, under
# load): page -> (CPU ms, SQL statements, bytes). The map's province view was 1,591 points.
BEFORE = {"mapa": (55.7, 4.0, 412_767), "lista": (37.5, 14.0, 59_242),
          "ficha": (10.4, 9.0, 8_307), "importar": (3.8, 2.0, 5_218)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--scale", type=float, default=0.3, help="Escala de la carga sintética.")
    parser.add_argument("--veces", type=int, default=20, help="Solicitudes por página.")
    parser.add_argument("--perfil", action="store_true", help="Funciones más costosas.")
    args = parser.parse_args()

    from sqlalchemy import event

    from geo_app import create_app

    folder = Path(tempfile.mkdtemp(prefix="revincula-paginas-"))
    url, drop = _database(args.db, folder)
    try:
        ids, _rbds, view = seed(url, folder, args.scale)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 32, "LOCAL_DEMO": True})
        engine = app.extensions["revincula.engine"]
        sent = [0]
        event.listen(engine, "before_cursor_execute",
                     lambda *_a, **_k: sent.__setitem__(0, sent[0] + 1))  # fmt: skip
        client = app.test_client()
        form = client.get("/ingresar").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        done = client.post("/ingresar", data={"csrf": token, "usuario": "carga", "clave": PASSWORD})
        assert done.status_code == 302, done.status_code
        rng = random.Random(1)
        pages = {
            "mapa": lambda: f"/api/casos.geojson?{view}",
            "lista": lambda: f"/casos?pagina={rng.randint(1, 20)}",
            "ficha": lambda: f"/casos/{rng.choice(ids)}",
            "importar": lambda: "/importar",
        }
        print(f"{len(ids)} casos sintéticos en {args.db}; {args.veces} solicitudes por página")
        print(f"{'página':10s} {'CPU ms':>8s} {'antes':>7s} {'pared ms':>9s} {'SQL':>5s} "
              f"{'antes':>6s} {'bytes':>9s} {'antes':>9s}")  # fmt: skip
        for kind, path in pages.items():
            for _ in range(3):  # warm: templates compiled, statements cached
                client.get(path())
            sent[0] = 0
            cpu, wall = time.thread_time(), time.perf_counter()
            for _ in range(args.veces):
                answer = client.get(path())
                assert answer.status_code == 200, (kind, answer.status_code)
            cpu = (time.thread_time() - cpu) * 1000 / args.veces
            wall = (time.perf_counter() - wall) * 1000 / args.veces
            cpu0, sql0, bytes0 = BEFORE[kind]
            print(f"{kind:10s} {cpu:8.1f} {cpu0:7.1f} {wall:9.1f} {sent[0] / args.veces:5.1f} "
                  f"{sql0:6.1f} {len(answer.data):9d} {bytes0:9d}")  # fmt: skip
            if args.perfil:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.veces):
                    client.get(path())
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        print("Medido en una máquina de 2 núcleos compartida con otros procesos (bajo carga).")
        engine.dispose()
    finally:
        drop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
