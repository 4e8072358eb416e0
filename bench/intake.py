"""Intake benchmark: validate and store a 50,000-row list; geocoding rate.

Prints figures and ratios against baselines run in the same process:
- reading + validation vs. `csv.reader` alone and `pandas.read_csv` on the same bytes;
- the same rows as XLSX: our streaming reader (limits, merged cells) vs. openpyxl's own
  read-only streaming, time and peak RSS each in a fresh process; and the 1.6 KB hostile
  XLSX declaring A1:XFD1048576 (issue 25.17);
- the whole import (validate, geocode, classify, store in one transaction) on SQLite
  and, when reachable, PostgreSQL, vs. a bare SQLAlchemy Core bulk insert of the
  same rows into one table; then the next month's list over it (updates, history).
  Each also gives the CPU seconds of this process (on a loaded machine, nearer to what
  a quiet one takes than the wall clock; PostgreSQL's own work is not in it);
- geocoding addresses per second on the synthetic addresses, without and with a
  street layer: the 7,000-odd named streets of the real Malta OSM network, shifted
  onto Chiloé (no Chiloé OSM extract is bundled), plus numbered addresses on them.

Usage: python bench/intake.py [--rows 50000] [--pg postgresql+psycopg://postgres@127.0.0.1/postgres]
       [--solo-lectura | --solo-importar | --por-partes | --web] [--base sqlite|postgresql|ambas]

``--web``: the same CSV posted through the app (test client, in-process job runner): the
streamed web import (issue 22) vs the whole-file one, time and peak RSS of the process.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import text

from geo_app.cases.context import CaseContext
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.store import make_engine
from geo_app.store import make_sessionmaker
from geo_app.store import upgrade
from layers.intake import match_headers
from layers.intake import read_table
from layers.intake import run_check_digit
from layers.intake import validate
from layers.synthetic import RUN_HIGH
from layers.synthetic import RUN_LOW
from layers.synthetic import SyntheticCaseload
from layers.synthetic import generate_caseload
from layers.synthetic import monthly_file
from layers.territory import load_territory

TODAY = dt.date(2026, 11, 2)


def big_caseload(context: CaseContext, rows: int) -> SyntheticCaseload:
    """Replicate the demo caseload with fresh RUNs until it has `rows` students."""
    base = generate_caseload(context.territory, context.geocoder, seed=1, today=TODAY).students
    copies = -(-rows // len(base))
    students = pd.concat([base] * copies, ignore_index=True).iloc[:rows].copy()
    rng = np.random.default_rng(5)
    students["run"] = rng.choice(RUN_HIGH - RUN_LOW, size=len(students), replace=False) + RUN_LOW
    students["dv"] = [run_check_digit(int(r)) for r in students["run"]]
    students["base_pct"] = np.minimum(students["base_pct"], 84.0)  # everyone on the list
    return SyntheticCaseload(students, seed=1)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def bench_read(data: bytes, context: CaseContext) -> None:
    def ours():
        table = read_table(data, "x.csv")
        return validate(table, match_headers(table.headers), known_rbds=context.schools,
                        known_comunas=context.comunas, today=TODAY)  # fmt: skip

    result, t_ours = timed(ours)
    _, t_csv = timed(lambda: list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")))
    _, t_pd = timed(lambda: pd.read_csv(io.BytesIO(data), sep=";", dtype=str, encoding="utf-8-sig"))
    n = result.n_rows
    print(f"read + validate      {n} rows: {t_ours:6.2f} s ({n / t_ours:,.0f} rows/s; "
          f"{len(result.errors)} errors)")  # fmt: skip
    print(f"  baseline csv.reader: {t_csv:6.2f} s  -> ours is {t_ours / t_csv:5.1f}x")
    print(f"  baseline read_csv:   {t_pd:6.2f} s  -> ours is {t_ours / t_pd:5.1f}x")


def _as_xlsx(data: bytes) -> bytes:
    """The CSV's rows written as an XLSX (openpyxl, write-only, inline strings)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _declaring_huge_sheet(data: bytes) -> bytes:
    """Two rows of the list as an XLSX whose sheet declares the dimension A1:XFD1048576."""
    import re
    import zipfile

    small = _as_xlsx(b"\n".join(data.splitlines()[:2]))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = re.sub(rb"<dimension [^>]*>", b"", part).replace(
                    b"<sheetViews>", b'<dimension ref="A1:XFD1048576"/><sheetViews>'
                )
            target.writestr(info, part, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# Run in a fresh interpreter that imports only what reading needs. Its peak RSS is reset
# before the read (writing 5 to /proc/self/clear_refs resets VmHWM; ru_maxrss would keep
# the peak of the forking benchmark across exec), so the figure is the read's own.
_CHILD = """
import json, sys, time
from pathlib import Path
from openpyxl import load_workbook
from layers.intake import IntakeError, read_table
def rss_mb(key):
    status = Path("/proc/self/status").read_text()
    return int(status.split(key + ":")[1].split()[0]) / 1024
data, label = Path(sys.argv[1]).read_bytes(), sys.argv[2]
Path("/proc/self/clear_refs").write_text("5")
before = rss_mb("VmRSS")
start = time.perf_counter()
try:
    if label == "ours":
        outcome = len(read_table(data, "x.xlsx").rows)
    else:
        import io
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = [["" if v is None else str(v) for v in row]
                for row in book.worksheets[0].iter_rows(values_only=True)]
        outcome = len(rows)
        book.close()
except IntakeError as err:
    outcome = "refused: " + str(err)[:60] + "..."
seconds = time.perf_counter() - start
print(json.dumps([outcome, seconds, rss_mb("VmHWM") - before]))
"""


def _in_child(label: str, data: bytes):
    """Read `data` in a fresh interpreter: (rows or refusal, seconds, peak RSS growth MB)."""
    import json
    import subprocess
    import sys

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as file:
        file.write(data)
        file.flush()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, file.name, label],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout)


def bench_xlsx(data: bytes) -> None:
    """Read the list as XLSX (streaming, limits, merged cells) vs openpyxl's own streaming.

    The baseline is what the reader did before issue 25.17: openpyxl's read-only
    ``iter_rows(values_only=True)``, every row kept as a list of strings.

    Each read runs in a fresh process so its peak RSS is its own; also the hostile file
    of issue 25.17 (1.6 KB declaring A1:XFD1048576), refused before any allocation.
    """
    book = _as_xlsx(data)
    ours_n, ours_s, ours_mb = _in_child("ours", book)
    base_n, base_s, base_mb = _in_child("openpyxl", book)
    print(f"xlsx read           {ours_n} rows ({len(book) / 1e6:.1f} MB): {ours_s:6.2f} s, "
          f"peak RSS +{ours_mb:.0f} MB")  # fmt: skip
    print(f"  baseline openpyxl read_only iter_rows, rows kept ({base_n} rows): {base_s:6.2f} s, "
          f"+{base_mb:.0f} MB -> ours is {ours_s / base_s:4.2f}x time, "
          f"{ours_mb / max(base_mb, 1):4.2f}x memory")  # fmt: skip
    hostile = _declaring_huge_sheet(data)
    outcome, seconds, grown = _in_child("ours", hostile)
    print(f"hostile xlsx        {len(hostile)} bytes declaring A1:XFD1048576: {outcome} "
          f"in {seconds:.2f} s, peak RSS +{grown:.0f} MB")  # fmt: skip


def bench_geocode(context: CaseContext, data: bytes) -> None:
    table = read_table(data, "x.csv")
    result = validate(table, match_headers(table.headers), known_rbds=context.schools,
                      today=TODAY)  # fmt: skip
    records = result.records
    _, seconds = timed(
        lambda: [context.geocoder.locate(r["address"], r["sector"], r["comuna"], r["rbd"])
                 for r in records]
    )  # fmt: skip
    print(f"geocode              {len(records)} addresses: {seconds:6.2f} s "
          f"({len(records) / seconds:,.0f} addresses/s)")  # fmt: skip


def bench_store(url: str, label: str, data: bytes, context: CaseContext, again: bytes) -> None:
    """Import `data` into an empty store, then `again` (the next month: updates)."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    def run(data=data):
        with sessions() as session, session.begin():
            prepared = prepare_import(session, context, data, "x.csv", today=TODAY)
            return apply_import(session, context, prepared, actor="bench", synthetic=True,
                                list_mode="completa")  # fmt: skip

    cpu = time.process_time()
    batch, seconds = timed(run)
    cpu, again_cpu = time.process_time() - cpu, time.process_time()
    update, update_s = timed(lambda: run(again))
    again_cpu = time.process_time() - again_cpu
    # baseline: the same rows, bare, into one table with SQLAlchemy Core executemany
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1:]
    meta = MetaData()
    bare = Table("bench_bare", meta, Column("id", Integer, primary_key=True),
                 *[Column(f"c{i}", String(300)) for i in range(len(rows[0]))])  # fmt: skip
    meta.drop_all(engine)
    meta.create_all(engine)
    payload = [{f"c{i}": v for i, v in enumerate(r)} for r in rows]

    def bare_insert():
        with engine.begin() as conn:
            conn.execute(bare.insert(), payload)

    _, t_bare = timed(bare_insert)
    meta.drop_all(engine)
    engine.dispose()
    rate = batch.n_rows / seconds
    print(f"import {label:10s}  {batch.n_rows} rows: {seconds:6.2f} s ({rate:,.0f} rows/s; "
          f"{batch.n_new} new; {cpu:5.2f} s CPU in this process)")  # fmt: skip
    print(
        f"  baseline bare insert: {t_bare:6.2f} s -> ours is {seconds / t_bare:5.1f}x "
        "(ours also validates, geocodes, classifies, writes 4 tables)"
    )
    print(f"  next month {update.n_rows} rows: {update_s:6.2f} s ({update.n_updated} updated, "
          f"{update.n_missing} unlisted; {again_cpu:5.2f} s CPU) -> {update_s / t_bare:5.1f}x "
          "the bare insert")  # fmt: skip


def bench_streets(context: CaseContext, data: bytes) -> None:
    from layers.geocode import Geocoder
    from routing.network import build_network
    from routing.network import load_streets

    osm = Path(__file__).resolve().parents[1] / "tests" / "data" / "osm"
    with tempfile.TemporaryDirectory() as folder:
        path = build_network(osm / "malta-2018-08-27.osm.pbf", cache_dir=folder, name="malta")
        streets = load_streets(path)
    # Valletta (14.51, 35.90) -> Castro (-73.79, -42.46): Malta's streets over central Chiloé
    shifted = [(n, lon - 88.3, lat - 78.36, length) for n, lon, lat, length in streets]
    geocoder, build_s = timed(lambda: Geocoder.from_territory(context.territory, shifted))
    print(f"street gazetteer     {len(geocoder.streets)} streets in {build_s:5.2f} s")
    table = read_table(data, "x.csv")
    records = validate(table, match_headers(table.headers), known_rbds=context.schools,
                       today=TODAY).records  # fmt: skip
    plain = [(r["address"], r["sector"], r["comuna"], r["rbd"]) for r in records]
    on_streets = [
        (f"{s.name} {i % 900 + 1}", "", s.comuna, None)
        for i, s in enumerate(geocoder.streets * (len(plain) // len(geocoder.streets) + 1))
        if s.comuna != "-"
    ][: len(plain)]
    for label, rows in (("synthetic", plain), ("street+number", on_streets)):
        _, base = timed(lambda rows=rows: [context.geocoder.locate(*r) for r in rows])
        found, with_streets = timed(lambda rows=rows: [geocoder.locate(*r) for r in rows])
        share = sum(f.method == "calle" for f in found) / len(found)
        print(f"geocode {label:13s} {len(rows)} addresses: {len(rows) / with_streets:,.0f}/s "
              f"with streets vs {len(rows) / base:,.0f}/s without "
              f"({with_streets / base:4.2f}x); {share:.0%} placed on a street")  # fmt: skip


# An import in a fresh interpreter, its peak RSS its own (VmHWM reset before the import):
# the whole-file path (`prepare_import` + `apply_import`) or the streamed one (`stream_import`).
_IMPORT_CHILD = """
import csv, datetime as dt, json, sys, time
from pathlib import Path
from geo_app.cases.context import CaseContext
from geo_app.cases.importing import apply_import, prepare_import, stream_import
from geo_app.store import make_engine, make_sessionmaker
from layers.territory import load_territory
def rss_mb(key):
    status = Path("/proc/self/status").read_text()
    return int(status.split(key + ":")[1].split()[0]) / 1024
path, url, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
today = dt.date(2026, 11, 2)
context = CaseContext.from_territory(load_territory())
engine = make_engine(url)
sessions = make_sessionmaker(engine)
with sessions() as session:
    session.execute(__import__("sqlalchemy").text("SELECT 1"))
start = time.perf_counter()
with path.open(encoding="utf-8-sig", newline="") as file:
    n_bare = sum(1 for _ in csv.reader(file, delimiter=";")) - 1
bare = time.perf_counter() - start
Path("/proc/self/clear_refs").write_text("5")
before = rss_mb("VmRSS")
cpu, start, phases = time.process_time(), time.perf_counter(), []
def progress(done, total, phase):
    if not phases or phases[-1][0] != phase:
        phases.append([phase, 0.0])
    phases[-1][1] = time.perf_counter() - start
with sessions() as session, session.begin():
    if mode == "stream":
        batch = stream_import(session, context, path, path.name, actor="bench", synthetic=True,
                              list_mode="completa", today=today, progress=progress).batch
    else:
        prepared = prepare_import(session, context, path.read_bytes(), path.name, today=today,
                                  progress=progress)
        batch = apply_import(session, context, prepared, actor="bench", synthetic=True,
                             list_mode="completa", progress=progress)
    n = batch.n_valid
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
engine.dispose()
peak = rss_mb("VmHWM")
print(json.dumps([n, seconds, cpu, peak - before, peak, bare, n_bare, phases]))
"""


def _import_in_child(path: Path, url: str, mode: str) -> list:
    import json
    import subprocess
    import sys

    upgrade(url)
    done = subprocess.run([sys.executable, "-c", _IMPORT_CHILD, str(path), url, mode],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode:  # e.g. the whole-file path refusing a file beyond ReadLimits
        raise RuntimeError(done.stderr.strip().splitlines()[-1][:300])
    return json.loads(done.stdout)


def _databases(pg: str):
    """Yield (label, url) of an empty SQLite and, when reachable, PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        yield "SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite'}"
    if pg == "":
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"revincula_bench_{secrets.token_hex(3)}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # a missing server only skips this figure
        print(f"PostgreSQL not measured: {err}")
        admin.dispose()
        return
    try:
        yield "PostgreSQL", pg.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_streamed(rows: int, pg: str, context: CaseContext, base: str = "ambas") -> None:
    """Import a synthetic `rows`-row CSV (made here, deleted after) in chunks: time, peak RSS.

    Each import runs in a fresh process (peak RSS its own, VmHWM reset before it); the
    baseline is a bare ``csv.reader`` pass over the same file in that process, and, for
    files the whole-file path accepts (up to `ReadLimits.max_rows`), that path's peak.
    """
    from layers.intake import ReadLimits

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lista.csv"
        start = time.perf_counter()
        path.write_bytes(monthly_file(big_caseload(context, rows), "2026-08", 0))
        print(f"file: {path.stat().st_size / 1e6:.1f} MB, {rows} synthetic students "
              f"(made in {time.perf_counter() - start:.0f} s)")  # fmt: skip
        modes = ["stream"] + (["whole"] if rows < ReadLimits().max_rows else [])  # + header
        for mode in modes:
            for label, url in _databases(
                "" if base == "sqlite" else pg
            ):  # a fresh, empty database each
                if base not in ("ambas", label.lower()):
                    continue
                try:
                    got = _import_in_child(path, url, mode)
                except RuntimeError as err:
                    print(f"{mode:6s} import {label:10s} failed: {err}")
                    continue
                n, seconds, cpu, grown, peak, bare, n_bare, phases = got
                shown = ", ".join(f"{p} until {t:.0f} s" for p, t in phases)
                print(f"{mode:6s} import {label:10s} {n} rows: {seconds:7.1f} s "
                      f"({n / seconds:,.0f} rows/s; {cpu:.1f} s CPU), peak RSS +{grown:.0f} MB "
                      f"(VmHWM {peak:.0f} MB)")  # fmt: skip
                print(f"  phases: {shown}")
                print(f"  baseline csv.reader over the file ({n_bare} rows): {bare:.2f} s -> "
                      f"ours is {seconds / bare:.0f}x")  # fmt: skip


# An import through the app in a fresh interpreter (issue 22: the web import streams a large
# CSV): an administrator signs in with the test client, posts the file to /importar, and the
# review and store jobs run in the in-process runner (threads of this process), so the
# process's peak RSS (VmHWM, reset once signed in) is the request's and both jobs'.
_WEB_CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from sqlalchemy import select
from geo_app import create_app, jobs
from geo_app.accounts.users import create_user
from geo_app.store.models import ImportBatch, JobRow
def rss_mb(key):
    status = Path("/proc/self/status").read_text()
    return int(status.split(key + ":")[1].split()[0]) / 1024
path, url, stream_bytes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, "JOB_WAIT_S": 0,
                  "IMPORT_STREAM_BYTES": stream_bytes})
folder = tempfile.TemporaryDirectory()
app.instance_path = folder.name  # the upload waits here, not in the repository's instance
known = list(app.extensions["revincula.territory"].comunas["comuna_name"])
with app.extensions["revincula.db"]() as session, session.begin():
    create_user(session, "bench.admin", "clave-de-bench-2026", "admin", known_comunas=known,
                comunas="*")
client = app.test_client()
client.get("/ingresar")
def csrf():
    with client.session_transaction() as s:
        return s["csrf"]
client.post("/ingresar", data={"csrf": csrf(), "usuario": "bench.admin",
                               "clave": "clave-de-bench-2026"})
Path("/proc/self/clear_refs").write_text("5")
before = rss_mb("VmRSS")
start = time.perf_counter()
with path.open("rb") as file:
    sent = client.post("/importar", data={"csrf": csrf(), "mes": "2026-08",
                                          "archivo": (file, path.name)},
                       content_type="multipart/form-data")
token = sent.headers["Location"].rsplit("/", 1)[-1]
def finished(kind):
    jobs.join_all(timeout=4 * 3600)  # a large import takes minutes
    with app.extensions["revincula.db"]() as session:
        row = session.scalars(select(JobRow).where(JobRow.kind == kind)).one()
        if row.state != "listo":
            raise SystemExit(row.error)
        return time.perf_counter() - start, row.result
reviewed, review = finished("importar_revision")
client.post(f"/importar/{token}/confirmar", data={"csrf": csrf(), "solo_validas": "0",
                                                  "lista": "completa"})
seconds, _ = finished("importar_guardar")
streamed = review["por_partes"]
with app.extensions["revincula.db"]() as session:
    n = session.scalars(select(ImportBatch)).one().n_valid
peak = rss_mb("VmHWM")
app.extensions["revincula.engine"].dispose()
print(json.dumps([n, seconds, reviewed, peak - before, peak, streamed]))
"""


def bench_web(rows: int, pg: str, context: CaseContext, base: str = "sqlite") -> None:
    """Import a synthetic `rows`-row CSV through the app (upload, review job, store job).

    Each run is a fresh process on an empty database; the streamed web import (the
    default rule, `geo_app.cases.uploads.ImportSizes`) is compared with the whole-file
    web import of the same file (``IMPORT_STREAM_BYTES`` beyond it) when that path
    accepts the file (up to `ReadLimits.max_rows`): time and peak RSS of each.
    """
    import json
    import subprocess
    import sys

    from geo_app.cases.uploads import ImportSizes
    from layers.intake import ReadLimits

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lista.csv"
        path.write_bytes(monthly_file(big_caseload(context, rows), "2026-08", 0))
        size = path.stat().st_size
        print(f"file: {size / 1e6:.1f} MB, {rows} synthetic students; streamed from "
              f"{ImportSizes().stream_bytes / 2**20:.0f} MB")  # fmt: skip
        modes = {"stream": min(ImportSizes().stream_bytes, size)}
        if rows < ReadLimits().max_rows:
            modes["whole"] = size + 1
        figures = {}
        for mode, stream_bytes in modes.items():
            for label, url in _databases("" if base == "sqlite" else pg):
                if base not in ("ambas", label.lower()):
                    continue
                upgrade(url)
                done = subprocess.run(
                    [sys.executable, "-c", _WEB_CHILD, str(path), url, str(stream_bytes)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode:
                    print(
                        f"web {mode:6s} {label:10s} failed (exit {done.returncode}): "
                        f"{done.stderr.strip()[-300:]}"
                    )
                    continue
                n, seconds, reviewed, grown, peak, streamed = json.loads(done.stdout)
                figures[mode, label] = (seconds, grown)
                print(f"web {mode:6s} {label:10s} {n} rows (por partes: {streamed}): "
                      f"{seconds:7.1f} s (review {reviewed:.1f} s), peak RSS +{grown:.0f} MB "
                      f"(VmHWM {peak:.0f} MB)")  # fmt: skip
        for (mode, label), (seconds, grown) in figures.items():
            if mode == "stream" and ("whole", label) in figures:
                whole_s, whole_mb = figures["whole", label]
                print(f"  {label}: streamed/whole time {seconds / whole_s:.2f}x, "
                      f"peak RSS growth {grown / whole_mb:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--solo-lectura", action="store_true", help="only read + validate")
    parser.add_argument("--solo-importar", action="store_true", help="only the whole imports")
    parser.add_argument("--por-partes", action="store_true",
                        help="only the streamed import (chunks) and its peak RSS")  # fmt: skip
    parser.add_argument("--web", action="store_true",
                        help="only the import through the app (upload, review, store), "
                             "streamed vs whole file, and the process's peak RSS")  # fmt: skip
    parser.add_argument("--base", choices=("ambas", "sqlite", "postgresql"), default="ambas",
                        help="with --por-partes or --web: which database(s)")  # fmt: skip
    args = parser.parse_args()
    context = CaseContext.from_territory(load_territory())
    if args.web:
        bench_web(args.rows, args.pg, context, args.base)
        return
    if args.por_partes:
        bench_streamed(args.rows, args.pg, context, args.base)
        return
    caseload = big_caseload(context, args.rows)
    data = monthly_file(caseload, "2026-08", 0)
    again = monthly_file(caseload, "2026-09", 1)
    print(f"file: {len(data) / 1e6:.1f} MB, {args.rows} synthetic students")
    if not args.solo_importar:
        bench_read(data, context)
        bench_xlsx(data)
        if args.solo_lectura:
            return
        bench_geocode(context, data)
        bench_streets(context, data)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        bench_store(url, "SQLite", data, context, again)
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"revincula_bench_{secrets.token_hex(3)}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg.rsplit("/", 1)[0] + "/" + name
            bench_store(url, "PostgreSQL", data, context, again)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as err:  # a missing server only skips this figure
        print(f"PostgreSQL not measured: {err}")
    admin.dispose()


if __name__ == "__main__":
    main()
