"""Load benchmark: gunicorn + PostgreSQL + one RQ worker on 127.0.0.1, N simulated users.

The set-up of a team's server (README, «Instalación en producción»): the app under
gunicorn (gthread), the store on PostgreSQL, long jobs on an RQ queue in Redis worked by
one ``revincula worker`` process. Each simulated user signs in (its own session, as a
profesional) and, until the time is up, picks at random: the map's case layer as the
map page asks it at province zoom (30 %), a page of the case list (30 %), a case's
detail (30 %) or an import of a small list of its own (10 %: upload, preview, confirm).
With ``--pausa MIN,MAX`` each user reads a page for a uniform MIN–MAX seconds before the
next click (an open, person-like load), and makes its first click a uniform 0–MAX seconds
after the clock starts, as people already reading a page would (50 first clicks on the same
millisecond are a burst no team makes: measured, that burst alone was nearly every page
over 500 ms of a 30 s run); without it users click again at once (a closed load, the
hardest, as the figures before issue 22 were measured).

Prints throughput, p50/p95/p99 latency per kind, p95 of the pages (map, list, case),
the error count, and the imports: submitted, recorded in the database at the end, and
jobs the worker finished or failed on this run's queue (the import's review and store are
jobs, polled until they end). For
1 user (the baseline, same process) and for each N, with ratios, and beside the figures
measured before issue 22 (`BEFORE`).

    .venv/bin/python bench/load.py                       # 10 and 50 users, 20 s each
    .venv/bin/python bench/load.py --users 10,50 --seconds 30 --workers 4 --db sqlite

By default the store is a temporary PostgreSQL database on 127.0.0.1 (created and
dropped here), seeded with the synthetic caseload; Redis at ``--redis`` with a queue of
this run's own (other users of the same Redis are not touched); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.map import snapped_bbox  # noqa: E402

PG_ADMIN = os.environ.get(
    "REVINCULA_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "prueba-de-volumen-2026"
KINDS = ("mapa", "lista", "ficha", "importar")
PAGES = ("mapa", "lista", "ficha")
WEIGHTS = (0.3, 0.3, 0.3, 0.1)
# Before issue 22 (README «Servir para un equipo», bench/load.py on 2 shared cores,
# gunicorn 4×8, PostgreSQL, 1,902 synthetic cases, 30 s a level, the whole case layer
# as points): users -> (requests/s, p50, p95, p99 in ms, errors).
BEFORE = {1: (32.3, 25, 86, 108, 0), 10: (54.4, 130, 499, 835, 0), 50: (47.0, 534, 2026, 5514, 0)}
PROVINCE_ZOOM = 8  # as bench/map.py: the map page's first view on a 1280 × 800 screen
POLL_S = 1.0  # as static/js/job.js polls a job's state (it polled every 0.2 s here before)
HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database(kind: str, folder: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'carga.sqlite'}", lambda: None
    from sqlalchemy import create_engine
    from sqlalchemy import text

    name = f"revincula_carga_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, drop


def seed(url: str, folder: Path, scale: float) -> tuple[list[int], list[int], str]:
    """Seed the synthetic caseload and one profesional account.

    Returns the case ids, the RBDs with cases, and the map's province view as the map
    page asks it (``bbox=…&zoom=…``).
    """
    from sqlalchemy import select

    from geo_app import create_app
    from geo_app.accounts.users import create_user
    from geo_app.demo.seed import seed_cases
    from geo_app.store.models import Case

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "seed"})
    seed_cases(app, folder / "demo", seed=2026, scale=scale, echo=lambda *_: None)
    known = list(app.extensions["revincula.territory"].comunas["comuna_name"])
    with app.extensions["revincula.db"]() as session, session.begin():
        create_user(session, "carga", PASSWORD, "profesional", known_comunas=known)
        ids = list(session.scalars(select(Case.id)))
        rbds = sorted(set(session.scalars(select(Case.rbd).where(Case.rbd.is_not(None)))))
    app.extensions["revincula.engine"].dispose()
    box = snapped_bbox(*known_bounds(app), PROVINCE_ZOOM)
    return ids, rbds, f"bbox={box}&zoom={PROVINCE_ZOOM}"


def known_bounds(app) -> tuple[float, float, float, float]:
    """West, south, east, north of the territory's comunas (WGS84)."""
    return tuple(app.extensions["revincula.territory"].comunas.total_bounds)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _own_list(user: int, round_: int, rbd: int) -> bytes:
    """A small list only this simulated user imports: its own RUNs and its own school.

    (An import updates the whole school's list, so two users importing the same
    school at once conflict, and one is told to retry; real teams split schools.)
    """
    from layers.intake import run_check_digit

    rows = []
    for k in range(5):
        run = 95_000_000 + user * 1000 + k
        run_text = f"{run:,}".replace(",", ".") + "-" + run_check_digit(run)
        pct = 20 + (round_ * 7 + k * 3) % 60
        rows.append(
            f"{run_text};Carga{k};Sintética {user};01/06/2011;{rbd};8° básico;{pct};"
            "Sector Pid Pid s/n;\r\n"
        )
    return (HEADER + "".join(rows)).encode("utf-8")


class User(threading.Thread):
    """One simulated profesional: signs in, then requests until the deadline."""

    def __init__(self, n: int, base: str, ids: tuple, clock: list, start, log, pause=(0.0, 0.0)):
        super().__init__(daemon=True)
        self.n, self.base, self.clock, self.start_line, self.log = n, base, clock, start, log
        self.pause = pause  # seconds a person reads a page before the next click (min, max)
        self.case_ids, rbds, self.view = ids
        self.rbd = rbds[n % len(rbds)]
        self.rng = random.Random(n)
        self.http = requests.Session()
        # As a browser does: a GET whose kept-alive connection the server closed just as it
        # was reused (gunicorn closes one idle for `--keep-alive`, 2 s) is sent again once
        # on a new connection; POSTs never are. Each such retry is counted and printed.
        again = Retry(total=1, connect=1, read=1, status=0, other=0, redirect=0,
                      allowed_methods=frozenset({"GET"}), raise_on_status=False)  # fmt: skip
        self.http.mount("http://", HTTPAdapter(max_retries=again))

    def timed(self, kind: str, call) -> None:
        start = time.perf_counter()
        try:
            ok = call()
        except requests.RequestException as err:
            ok = False
            self.log.append(("motivo", 0.0, f"{kind}: {type(err).__name__}"))
        self.log.append((kind, time.perf_counter() - start, ok))

    def page(self, kind: str, url: str) -> bool:
        """GET `url`; anything but 200 is an error, with its status noted."""
        answer = self.http.get(url, timeout=60)
        self.count_retries(kind, answer)
        status = answer.status_code
        if status != 200:
            self.log.append(("motivo", 0.0, f"{kind}: HTTP {status}"))
        return status == 200

    def count_retries(self, kind: str, answer: requests.Response) -> None:
        retries = getattr(answer.raw, "retries", None)
        for attempt in getattr(retries, "history", ()):
            self.log.append(("reintento", 0.0, f"{kind}: {type(attempt.error).__name__}"))

    def login(self) -> bool:
        page = self.http.get(self.base + "/ingresar", timeout=120)
        form = {"csrf": _csrf(page.text), "usuario": "carga", "clave": PASSWORD}
        done = self.http.post(
            self.base + "/ingresar", data=form, timeout=120, allow_redirects=False
        )
        self.csrf = None
        return done.status_code == 302

    def token(self) -> str:
        if self.csrf is None:
            self.csrf = _csrf(self.http.get(self.base + "/importar", timeout=30).text)
        return self.csrf

    def map_layer(self) -> bool:
        url = f"{self.base}/api/casos.geojson?{self.view}"
        return self.page("mapa", url)

    def case_list(self) -> bool:
        page = self.rng.randint(1, 20)
        return self.page("lista", f"{self.base}/casos?pagina={page}")

    def case_detail(self) -> bool:
        case_id = self.rng.choice(self.case_ids)
        return self.page("ficha", f"{self.base}/casos/{case_id}")

    def import_list(self) -> bool:
        self.round = getattr(self, "round", 0) + 1
        files = {"archivo": ("carga.csv", _own_list(self.n, self.round, self.rbd), "text/csv")}
        up = self.http.post(self.base + "/importar", data={"csrf": self.token(), "mes": "2026-08"},
                            files=files, timeout=60, allow_redirects=False)  # fmt: skip
        if up.status_code != 302:
            self.log.append(("motivo", 0.0, f"subida HTTP {up.status_code}"))
            return False
        token = up.headers["Location"].rsplit("/", 1)[-1]
        review = self.job_end(token, "revision")  # the review is a job (geo_app.jobs)
        if review != "listo":
            self.log.append(("motivo", 0.0, f"revisión {review}"))
            return False
        url = f"{self.base}/importar/{token}/confirmar"
        form = {"csrf": self.token(), "lista": "adicion"}  # a few students added to a school
        done = self.http.post(url, data=form, timeout=60, allow_redirects=False)
        where = done.headers.get("Location", "")
        if done.status_code == 302 and "/importar/lote/" in where:
            return True
        stored_by_job = done.status_code == 302 and where.endswith("/guardado")
        if stored_by_job and self.job_end(token, "guardado") == "listo":
            return True
        page = self.http.get(self.base + where if where else self.base + "/importar", timeout=60)
        found = re.search(r'class="flash error"[^>]*>([^<]+)', page.text)
        self.log.append(("motivo", 0.0, found.group(1)[:90] if found else str(done.status_code)))
        return False

    def job_end(self, token: str, stage: str, limit_s: float = 300.0) -> str:
        """Poll an import job's state (as the page does) until it ends; return the state."""
        url = f"{self.base}/api/importar/{token}/estado?etapa={stage}"
        ends = time.perf_counter() + limit_s
        while time.perf_counter() < ends:
            state = self.http.get(url, timeout=60)
            self.count_retries("importar", state)
            if state.status_code != 200:
                return f"HTTP {state.status_code}"
            if state.json()["estado"] in ("listo", "fallido"):
                return state.json()["estado"]
            time.sleep(POLL_S)
        return "sin terminar"

    def run(self) -> None:
        try:
            signed_in = self.login()
        except requests.RequestException:
            signed_in = False
        try:
            self.start_line.wait()  # every user signed in: the clock starts (logins not timed)
        except threading.BrokenBarrierError:
            signed_in = False
        if not signed_in:
            self.log.append(("ingreso", 0.0, False))
            return
        actions = dict(zip(KINDS, (self.map_layer, self.case_list, self.case_detail,
                                   self.import_list), strict=True))  # fmt: skip
        if self.pause[1] > 0:  # people are mid-page when the clock starts, not all at its tick
            time.sleep(self.rng.uniform(0.0, self.pause[1]))
        while time.perf_counter() < self.clock[1]:
            kind = self.rng.choices(KINDS, WEIGHTS)[0]
            self.timed(kind, actions[kind])
            if self.pause[1] > 0:
                wait = self.rng.uniform(*self.pause)
                time.sleep(max(0.0, min(wait, self.clock[1] - time.perf_counter())))


def drive(base: str, users: int, seconds: float, case_ids, pause=(0.0, 0.0)) -> dict:
    log: list = []
    clock: list[float] = []  # start and deadline, set when the last user has signed in

    def go() -> None:
        now = time.perf_counter()
        clock.extend((now, now + seconds))

    start = threading.Barrier(users, action=go, timeout=300)
    threads = [User(n, base, case_ids, clock, start, log, pause) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 420)
    elapsed = time.perf_counter() - clock[0]
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    reasons = defaultdict(int)
    retried = defaultdict(int)
    for kind, _s, why in log:
        if kind == "motivo":
            reasons[why] += 1
        elif kind == "reintento":
            retried[why] += 1
    log = [entry for entry in log if entry[0] not in ("motivo", "reintento")]
    for kind, seconds_taken, ok in log:
        by_kind[kind].append(seconds_taken)
        if not ok:
            errors[kind] += 1
    every = [s for _, s, _ in log]
    return {"users": users, "elapsed": elapsed, "n": len(log), "errors": errors, "why": reasons,
            "by_kind": by_kind, "all": every, "retried": retried}  # fmt: skip


def _pct(values, q) -> float:
    return float(np.percentile(values, q) * 1000) if values else float("nan")


def report(result: dict, baseline: dict | None, imports: dict) -> None:
    rate = result["n"] / result["elapsed"]
    users = result["users"]
    print(f"\n== {users} usuarios simultáneos, {result['elapsed']:.1f} s ==")
    errors = sum(result["errors"].values())
    detail = ", ".join(f"{k} {n}" for k, n in sorted(result["errors"].items()))
    print(f"  solicitudes {result['n']}  ({rate:.1f}/s)   errores {errors}" +
          (f" ({detail})" if detail else ""))  # fmt: skip
    for why, n in result["why"].items():
        print(f"    {n} x {why}")
    retried = result.get("retried", {})
    if retried:
        print("  reintentos de GET (conexión reusada cerrada por el servidor, como un navegador): "
              + ", ".join(f"{n} x {why}" for why, n in sorted(retried.items())))  # fmt: skip
    print(f"  {'tipo':<10} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    pages = [s for kind in PAGES for s in result["by_kind"].get(kind, [])]
    for kind in (*KINDS, "páginas", "todas"):
        values = {"todas": result["all"], "páginas": pages}.get(kind)
        values = result["by_kind"].get(kind, []) if values is None else values
        print(f"  {kind:<10} {len(values):>6} {_pct(values, 50):>9.0f} {_pct(values, 95):>9.0f} "
              f"{_pct(values, 99):>9.0f}")  # fmt: skip
    print(f"  importaciones: {imports['sent']} confirmadas, {imports['stored']} registradas en "
          f"la base; trabajador RQ: {imports['finished']} trabajos terminados, "
          f"{imports['failed']} fallidos")  # fmt: skip
    if baseline:
        base_rate = baseline["n"] / baseline["elapsed"]
        p50 = _pct(result["all"], 50) / _pct(baseline["all"], 50)
        print(f"  frente a 1 usuario: rendimiento x{rate / base_rate:.1f}, p50 x{p50:.1f}")
    if users in BEFORE:
        rate0, p50_0, p95_0, p99_0, errors0 = BEFORE[users]
        print(f"  antes del issue 22 ({users} usuarios): {rate0:.1f}/s, p50 {p50_0} ms, "
              f"p95 {p95_0} ms, p99 {p99_0} ms, errores {errors0}; ahora p95 páginas "
              f"{_pct(pages, 95):.0f} ms, todas {_pct(result['all'], 95):.0f} ms "
              f"(meta: p95 páginas ≤ 300 ms, 0 errores)")  # fmt: skip


class Imports:
    """Imports recorded in the store and jobs of this run's RQ queue, counted between levels."""

    def __init__(self, url: str, redis_url: str, queue: str):
        from redis import Redis
        from rq import Queue
        from sqlalchemy import create_engine

        self.engine = create_engine(url)
        self.queue = Queue(queue, connection=Redis.from_url(redis_url))
        self.last = self.counts()

    def counts(self) -> tuple[int, int, int]:
        from sqlalchemy import func
        from sqlalchemy import select

        from geo_app.store.models import ImportBatch

        with self.engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(ImportBatch))
        return (stored, self.queue.finished_job_registry.count,
                self.queue.failed_job_registry.count)  # fmt: skip

    def since_last(self, result: dict, wait_s: float = 60.0) -> dict:
        """Wait (up to `wait_s`) for the queue to drain; counts since the previous call."""
        deadline = time.perf_counter() + wait_s
        while (self.queue.count or self.queue.started_job_registry.count) and (
            time.perf_counter() < deadline
        ):
            time.sleep(0.5)
        now = self.counts()
        stored, finished, failed = (a - b for a, b in zip(now, self.last, strict=True))
        self.last = now
        sent = len(result["by_kind"].get("importar", [])) - result["errors"].get("importar", 0)
        return {"sent": sent, "stored": stored, "finished": finished, "failed": failed}

    def close(self) -> None:
        self.engine.dispose()
        self.queue.connection.close()


def _wait_for(base: str) -> None:
    for _ in range(600):
        try:
            if requests.get(base + "/ingresar", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users", default="10,50", help="Usuarios simultáneos, separados por coma."
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4, help="Procesos de gunicorn.")
    parser.add_argument("--threads", type=int, default=8, help="Hilos por proceso (gthread).")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--scale", type=float, default=0.3, help="Escala de la carga sintética.")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis de la cola de trabajos (RQ).")  # fmt: skip
    parser.add_argument("--pausa", default="0,0", metavar="MIN,MAX",
                        help="Segundos que cada usuario lee una página antes del siguiente "
                             "clic (uniforme entre MIN y MAX; 0,0: sin pausa, la carga más "
                             "dura).")  # fmt: skip
    args = parser.parse_args()
    try:
        pause = tuple(float(x) for x in args.pausa.split(","))
        if len(pause) != 2 or not 0 <= pause[0] <= pause[1]:
            raise ValueError
    except ValueError:
        parser.error("--pausa espera dos números MIN,MAX con 0 ≤ MIN ≤ MAX, por ejemplo 2,8")

    folder = Path(tempfile.mkdtemp(prefix="revincula-carga-"))
    url, drop = _database(args.db, folder)
    queue = f"revincula-carga-{os.getpid()}"  # this run's own queue on a shared Redis
    processes: list[subprocess.Popen] = []
    imports = None
    try:
        t0 = time.perf_counter()
        case_ids = seed(url, folder, args.scale)
        print(
            f"Base {args.db}: {len(case_ids[0])} casos sintéticos "
            f"en {time.perf_counter() - t0:.0f} s"
        )
        port = _free_port()
        env = {**os.environ, "REVINCULA_DATABASE_URL": url,
               "REVINCULA_SECRET_KEY": secrets.token_hex(32),
               "REVINCULA_REDIS_URL": args.redis, "REVINCULA_JOB_QUEUE": queue,
               "REVINCULA_LOCAL_DEMO": "true"}  # plain HTTP on this machine  # fmt: skip
        bin_dir = Path(sys.executable).parent
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers),
             "--threads", str(args.threads), "--worker-class", "gthread", "--bind",
             f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120",
             "geo_app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True,
        ))  # fmt: skip
        worker_log = folder / "trabajador.log"
        with worker_log.open("wb") as log_file:
            processes.append(subprocess.Popen(
                [str(bin_dir / "revincula"), "worker"], cwd=ROOT, env=env,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        print(f"gunicorn: {args.workers} procesos x {args.threads} hilos en {base}; "
              f"1 trabajador RQ en la cola «{queue}» de {args.redis}")  # fmt: skip
        print("Cada usuario " + (f"lee entre {pause[0]:g} y {pause[1]:g} s cada página"
              if pause[1] > 0 else "pide sin pausa (carga cerrada, la más dura)"))  # fmt: skip
        imports = Imports(url, args.redis, queue)
        drive(base, 2, 3, case_ids)  # warm-up: every worker loads the territory
        imports.since_last({"by_kind": {}, "errors": {}})
        baseline = drive(base, 1, args.seconds, case_ids, pause)
        report(baseline, None, imports.since_last(baseline))
        for users in (int(u) for u in args.users.split(",")):
            result = drive(base, users, args.seconds, case_ids, pause)
            report(result, baseline, imports.since_last(result))
        worker = processes[-1]
        if worker.poll() is not None:
            print(f"El trabajador terminó (código {worker.returncode}):")
        print("Trabajador (últimas líneas):\n  " + "\n  ".join(
            worker_log.read_text(errors="replace").strip().splitlines()[-5:]))  # fmt: skip
        print("Cifras medidas en una máquina de 2 núcleos compartida (bajo carga).")
    finally:
        if imports is not None:
            imports.queue.delete(delete_jobs=True)
            imports.close()
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        drop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
