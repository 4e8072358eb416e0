"""Reports benchmark: the diagnosis of 50,000 cases over 12 monthly lists, and its PDF.

Prints, measured in this same run (median of 3 after a warm-up):

* the diagnosis tables (`layers.diagnosis`: by comuna, island and school, ranking, list
  flow, month × category trend) on 50,000 synthetic cases spread over the real SLEP
  schools of Chiloé, each listed in 12 months (600,000 attendance rows);
* the charts (Altair specs drawn to SVG by vl-convert) and the whole page rendered;
* the PDF (WeasyPrint) of the same diagnosis;
* the baseline: one ``groupby`` count of cases by comuna and category (what the
  Resumen does), in the same process, and each figure's ratio to it;
* with ``--servidor``: the same caseload stored in a SQLite file, or in the empty
  database of ``--url`` (students, cases, 12 months of attendance, a published plan of
  6 gestores × 5 days and one visit record per planned stop), and the server time of
  ``GET /informes`` and ``GET /informes/diagnostico.pdf`` through the app (database
  counts, team activity, charts, template; the PDF adds WeasyPrint, in its job, waited
  for), median of 3 after a warm-up. Each is timed twice: *sin caché* (the diagnosis'
  counts computed again: the app's `DiagnosisCache` emptied before each run, as after
  an import) and *con caché* (same data version: only the version query, the team
  activity, the template and, for the PDF, WeasyPrint). Wall time and this process's
  CPU time (``time.process_time``, all threads) are printed: on the shared 2-CPU
  machine the wall time mostly measures the queue for a CPU.

Goals (issue 21): page ≤ 1 s of server time, PDF ≤ 10 s.

Run: ``python bench/reports.py [--cases 50000] [--months 12] [--servidor [--url URL]]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_app import create_app  # noqa: E402
from geo_app.reports import service  # noqa: E402
from layers.activity import team_activity  # noqa: E402
from layers.diagnosis import area_table  # noqa: E402
from layers.diagnosis import category_trend  # noqa: E402
from layers.diagnosis import list_flow  # noqa: E402
from layers.diagnosis import top_rates  # noqa: E402
from layers.territory import load_territory  # noqa: E402

VISIT_COLUMNS = ["uuid", "corrects", "case_id", "gestor_id", "gestor", "day", "outcome",
                 "barriers", "referral_type"]  # fmt: skip
CATEGORIES = np.array(["critica", "grave", "reiterada", "normal", "destacada", "sin_dato"])


def synthetic(schools: pd.DataFrame, n: int, months: int, seed: int = 7):
    """Cases on real SLEP schools (weighted by enrolment) and `months` of attendance."""
    rng = np.random.default_rng(seed)
    slep = schools[schools["is_slep"]]
    weights = slep["enrolment"].to_numpy(float) + 1
    rbd = rng.choice(slep["rbd"].to_numpy(), size=n, p=weights / weights.sum())
    cases = pd.DataFrame(
        {
            "case_id": np.arange(n),
            "rbd": rbd,
            "category": rng.choice(CATEGORIES, size=n, p=[0.15, 0.55, 0.1, 0.1, 0.05, 0.05]),
            "in_latest_list": rng.random(n) < 0.85,
            "located": rng.random(n) < 0.8,
            "rezago": rng.integers(0, 4, n),
            "eligible_reinsercion": rng.random(n) < 0.2,
            "eligible_aulas": rng.random(n) < 0.1,
        }
    )
    periods = [f"2026-{m:02d}" if m <= 12 else f"2027-{m - 12:02d}" for m in range(1, months + 1)]
    attendance = pd.DataFrame(
        {
            "case_id": np.tile(cases["case_id"].to_numpy(), months),
            "period": np.repeat(periods, n),
            "pct": rng.uniform(20, 100, n * months).round(1),
        }
    )
    keep = rng.random(len(attendance)) < 0.9  # some months without a row
    return cases, attendance[keep].reset_index(drop=True)


def timed(fn, repeat: int = 3, before=None) -> tuple[float, object, float]:
    """Median wall seconds, the last result and the median CPU seconds of `fn`.

    One warm-up run first; `before` (if given) runs before each run, untimed.
    """
    fn()  # warm-up
    runs, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        runs.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(runs), out, statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--servidor", dest="server", action="store_true",
                        help="Medir también las rutas del servidor (SQLite).")  # fmt: skip
    parser.add_argument("--url", default="",
                        help="Con --servidor: URL de una base vacía (p. ej. PostgreSQL) en vez de "
                        "un archivo SQLite temporal.")  # fmt: skip
    args = parser.parse_args()
    territory = load_territory()
    schools = territory.schools
    cases, attendance = synthetic(schools, args.cases, args.months)
    n_slep = int(schools["is_slep"].sum())
    print(f"{args.cases:,} casos sintéticos, {len(attendance):,} filas de asistencia "
          f"({args.months} meses), {n_slep} escuelas SLEP reales")  # fmt: skip

    places = schools[["rbd", "comuna_name"]]

    def baseline():
        return cases.merge(places, on="rbd").groupby(["comuna_name", "category"]).size()

    def tables():
        by_school = area_table(cases, schools, "establecimiento")
        by_island = area_table(cases, schools, "isla")
        return service.Diagnosis(
            since=None, until=None, periods=sorted(attendance["period"].unique()),
            by_comuna=area_table(cases, schools, "comuna"), by_island=by_island,
            by_school=by_school, top_schools=top_rates(by_school), top_islands=top_rates(by_island),
            flow=list_flow(attendance), trend=category_trend(attendance),
            n_cases=int(cases["in_latest_list"].sum()), synthetic=True,
            activity=team_activity([], pd.DataFrame(columns=VISIT_COLUMNS), {}),
        )  # fmt: skip

    app = create_app({"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": "sqlite://"})
    base_s, _, _ = timed(baseline)
    tables_s, diag, _ = timed(tables)

    def drawn():  # first drawing: the cache of drawings emptied (a repeat view reuses them)
        service._spec_svg.cache_clear()
        return service.charts(diag)

    charts_s, _, _ = timed(drawn)

    def page():
        from flask import render_template

        with app.test_request_context("/informes"):
            return render_template("reports/diagnosis_pdf.html", **service.page_context(diag))

    page_s, html, _ = timed(page)
    pdf_s, body, _ = timed(lambda: service.pdf(html), repeat=1)
    print(f"línea base (groupby comuna × categoría): {base_s * 1000:8.1f} ms")
    for label, seconds in (
        ("tablas del diagnóstico", tables_s),
        ("gráficos (Altair → SVG, sin caché)", charts_s),
        ("página completa (gráficos + plantilla)", tables_s + page_s),
        ("PDF (WeasyPrint)", pdf_s),
    ):
        print(f"{label:46s} {seconds * 1000:8.1f} ms  ({seconds / base_s:6.1f}× la línea base)")
    print(f"PDF: {len(body) // 1024} KB. Metas (issue 21): página ≤ 1 s, PDF ≤ 10 s.")
    if args.server:
        server(cases, attendance, base_s, args.url)


def store(url: str, cases: pd.DataFrame, attendance: pd.DataFrame) -> None:
    """Write the synthetic caseload, a published week and its visit records into `url`."""
    import datetime as dt
    import uuid

    from sqlalchemy import insert

    from geo_app.store.models import Attendance
    from geo_app.store.models import Case
    from geo_app.store.models import PlanRow
    from geo_app.store.models import Student
    from geo_app.store.models import VisitRecord

    app = create_app({"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": url})
    latest = attendance["period"].max()
    last_pct = attendance[attendance["period"] == latest].set_index("case_id")["pct"]
    ids = cases["case_id"].to_numpy() + 1
    monday = dt.date(2026, 3, 9)
    with app.extensions["revincula.db"]() as session, session.begin():
        session.execute(insert(Student), [
            {"id": int(i), "run": 90_000_000 + int(i), "dv": "0", "given_names": "Sintético",
             "surnames": "Bench", "synthetic": True} for i in ids
        ])  # fmt: skip
        session.execute(insert(Case), [
            {"id": int(i), "student_id": int(i), "rbd": int(r.rbd), "category": r.category,
             "in_latest_list": bool(r.in_latest_list), "rezago": int(r.rezago),
             "eligible_reinsercion": bool(r.eligible_reinsercion),
             "eligible_aulas": bool(r.eligible_aulas), "comuna": "Castro",
             "geocode_method": "localidad" if r.located else "escuela", "latest_period": latest,
             "latest_pct": float(last_pct.get(r.case_id, np.nan))}
            for i, r in zip(ids, cases.itertuples(index=False), strict=True)
        ])  # fmt: skip
        session.execute(insert(Attendance), [
            {"case_id": int(c) + 1, "period": p, "pct": float(x)}
            for c, p, x in attendance[["case_id", "period", "pct"]].itertuples(index=False)
        ])  # fmt: skip
        days, visits = [], []
        for g in range(6):
            for d in range(5):
                stops = [int(ids[(g * 5 + d) * 6 + k]) for k in range(6)]
                leg = {"tipo": "conducir", "duracion_s": 900, "distancia_m": 9000}
                days.append({"dia": (monday + dt.timedelta(days=d)).isoformat(),
                             "gestor_id": f"g{g}", "gestor": f"Gestor {g} (sintético)",
                             "paradas": [{"visita_id": str(c), "tramos": [leg]} for c in stops],
                             "regreso": [leg]})  # fmt: skip
                at = dt.datetime(2026, 3, 9 + d, 14, tzinfo=dt.UTC)
                visits += [{"uuid": str(uuid.uuid4()), "case_id": c, "gestor_code": f"g{g}",
                            "username": f"g{g}", "outcome": "contacto_apoderado",
                            "barriers": ["trabajo"], "referral": {"tipo": "cesfam"},
                            "device_at": at, "received_at": at} for c in stops]  # fmt: skip
        session.add(PlanRow(week_start=monday, status="publicado", job_state="listo", inputs={},
                            result={"dias": days}, synthetic=True,
                            published_at=dt.datetime(2026, 3, 6, tzinfo=dt.UTC)))  # fmt: skip
        session.execute(insert(VisitRecord), visits)
    app.extensions["revincula.engine"].dispose()


def server(cases: pd.DataFrame, attendance: pd.DataFrame, base_s: float, url: str = "") -> None:
    """Time GET /informes and its PDF through the app on the stored caseload."""
    import tempfile

    from tests.accounts import login

    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/bench.sqlite"
        start = time.perf_counter()
        store(url, cases, attendance)
        print(f"base {url.split(':')[0]} escrita en {time.perf_counter() - start:.0f} s")
        config = {"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": url, "JOB_WAIT_S": 600}
        app = create_app(config)  # the PDF request waits for its job and sends the PDF
        client = login(app.test_client(), app)

        def get(path):
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            return response

        def forget():  # as after an import: the diagnosis' counts are computed again
            app.extensions.pop("revincula.diagnosis_cache", None)

        figures = []
        for label, path, repeat in (("GET /informes", "/informes", 3),
                                    ("GET /informes/diagnostico.pdf",
                                     "/informes/diagnostico.pdf", 1)):  # fmt: skip
            cold = timed(lambda path=path: get(path), repeat, before=forget)
            warm = timed(lambda path=path: get(path), repeat)  # charts' drawings cached too
            figures += [(f"{label} sin caché", cold), (f"{label} con caché", warm)]
        for label, (seconds, _, cpu) in figures:
            print(f"servidor: {label:38s} {seconds * 1000:8.1f} ms  CPU {cpu * 1000:8.1f} ms  "
                  f"({seconds / base_s:6.1f}× la línea base)")  # fmt: skip
        assert figures[-1][1][1].mimetype == "application/pdf"
        app.extensions["revincula.engine"].dispose()


if __name__ == "__main__":
    main()
