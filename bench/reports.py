"""Reports benchmark: the diagnosis of 50,000 cases over 12 monthly lists, and its PDF.

Prints, measured in this same run (median of 3 after a warm-up):

* the diagnosis tables (`layers.diagnosis`: by comuna, island and school, ranking, list
  flow, month × category trend) on 50,000 synthetic cases spread over the real SLEP
  schools of Chiloé, each listed in 12 months (600,000 attendance rows);
* the charts (Altair specs drawn to SVG by vl-convert) and the whole page rendered;
* the PDF (WeasyPrint) of the same diagnosis;
* the baseline: one ``groupby`` count of cases by comuna and category (what the
  Resumen does), in the same process, and each figure's ratio to it.

Goals (issue 21): page ≤ 1 s of server time, PDF ≤ 10 s.

Run: ``python bench/reports.py [--cases 50000] [--months 12]``.
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
from layers.diagnosis import area_table  # noqa: E402
from layers.diagnosis import category_trend  # noqa: E402
from layers.diagnosis import list_flow  # noqa: E402
from layers.diagnosis import top_rates  # noqa: E402
from layers.territory import load_territory  # noqa: E402

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


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=12)
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
        )  # fmt: skip

    app = create_app({"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": "sqlite://"})
    base_s, _ = timed(baseline)
    tables_s, diag = timed(tables)
    charts_s, _ = timed(lambda: service.charts(diag))

    def page():
        from flask import render_template

        with app.test_request_context("/informes"):
            return render_template("reports/diagnosis_pdf.html", **service.page_context(diag))

    page_s, html = timed(page)
    pdf_s, body = timed(lambda: service.pdf(html), repeat=1)
    print(f"línea base (groupby comuna × categoría): {base_s * 1000:8.1f} ms")
    for label, seconds in (
        ("tablas del diagnóstico", tables_s),
        ("gráficos (Altair → SVG con vl-convert)", charts_s),
        ("página completa (gráficos + plantilla)", tables_s + page_s),
        ("PDF (WeasyPrint)", pdf_s),
    ):
        print(f"{label:40s} {seconds * 1000:8.1f} ms  ({seconds / base_s:6.1f}× la línea base)")
    print(f"PDF: {len(body) // 1024} KB. Metas (issue 21): página ≤ 1 s, PDF ≤ 10 s.")


if __name__ == "__main__":
    main()
