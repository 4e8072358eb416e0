"""Reports: the territorial diagnosis, its charts, tables as files, the PDF and GPX routes.

Plain-argument functions (no ``request``): the pages and ``revincula report`` call the
same ones. Figures come from `layers.diagnosis` on the cases in the account's scope.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from zoneinfo import ZoneInfo

import altair as alt
import gpxpy.gpx
import pandas as pd
import vl_convert
from openpyxl import Workbook
from sqlalchemy import BigInteger
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.counts import CATEGORY_ORDER as SUMMARY_CATEGORIES
from geo_app.cases.counts import by_comuna
from geo_app.cases.service import EXPORT_HEADER
from geo_app.cases.service import case_export_rows
from geo_app.coverage.service import suppressed_label
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.planning.output import STOPS_HEADER
from geo_app.planning.output import stops_rows
from geo_app.planning.service import plan_in_scope
from geo_app.scope import Scope
from geo_app.store.models import Attendance
from geo_app.store.models import AuditEntry
from geo_app.store.models import Case
from geo_app.store.models import GestorRow
from geo_app.store.models import PlanRow
from geo_app.store.models import StageChange
from geo_app.store.models import Student
from geo_app.store.models import VisitRecord
from layers.activity import Activity
from layers.activity import team_activity as activity_tables
from layers.diagnosis import CATEGORY_ORDER
from layers.diagnosis import MASK_BITS
from layers.diagnosis import MIN_ENROLMENT_FOR_RANK
from layers.diagnosis import NO_SCHOOL
from layers.diagnosis import area_table
from layers.diagnosis import category_trend
from layers.diagnosis import list_flow_masks
from layers.diagnosis import top_rates
from layers.export import safe_row
from layers.intake import format_run
from layers.nomina import NOMINA_COLUMNS
from layers.nomina import Due
from layers.nomina import deliveries
from layers.nomina import due_dates
from layers.nomina import nomina_rows
from layers.privacy import DEFAULT_K
from layers.privacy import SUPPRESSED
from layers.privacy import protect
from layers.services import SERVICE_TYPES
from layers.territory import Territory
from layers.visits import load_visit_rules
from layers.workflow import load_workflow

__all__ = [
    "TABLES",
    "Diagnosis",
    "DiagnosisCache",
    "ReportInputError",
    "app_cache",
    "case_file",
    "charts",
    "diagnosis",
    "parse_month",
    "plan_gpx",
    "rows_file",
    "table_file",
    "team_activity",
]

LOCAL_TZ = ZoneInfo("America/Santiago")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FALLBACK_METHODS = ("escuela", "sin_ubicacion")
# Same colours as the map and the lists (static/css/app.css).
CATEGORY_COLOURS = {
    "critica": "#7a0916",
    "grave": "#d6336c",
    "reiterada": "#f08c00",
    "sin_matricula": "#495057",
    "normal": "#2f9e44",
    "destacada": "#1971c2",
    "sin_dato": "#adb5bd",
}
CATEGORY_NAMES = {
    "critica": "Crítica",
    "grave": "Grave",
    "reiterada": "Reiterada",
    "sin_matricula": "Sin matrícula",
    "normal": "Normal",
    "destacada": "Destacada",
    "sin_dato": "Sin dato",
}
COLUMN_NAMES = {
    "area": "Área",
    "rbd": "RBD",
    "matricula": "Matrícula SLEP",
    "casos": "Casos",
    **CATEGORY_NAMES,
    "tasa_grave": "Grave o crítica por 100 matriculados",
    "ubicados": "Domicilio ubicado",
    "en_escuela": "En el punto de la escuela",
    "rezago_2": "Rezago ≥ 2 años",
    "elegible_reinsercion": "Elegible Reinserción",
    "elegible_aulas": "Elegible Aulas de Reingreso",
    "periodo": "Mes",
    "en_lista": "En la lista",
    "nuevos": "Nuevos",
    "continuan": "Continúan",
    "vuelven": "Vuelven",
    "salen": "Salen de la lista",
    "categoria": "Categoría",
    "semana": "Semana ISO",
    "lunes": "Lunes",
    "gestor": "Gestor",
    "dias": "Días planificados",
    "visitas_plan": "Visitas planificadas",
    "visitas_hechas": "Visitas registradas",
    "del_plan": "Planificadas y registradas",
    "contacto": "Con contacto",
    "sin_contacto": "Sin contacto",
    "ubicacion": "Dirección errónea o mudanza",
    "con_barreras": "Con barreras",
    "derivaciones": "Derivaciones",
    "conduce_h": "Conduciendo (h, plan)",
    "a_pie_h": "A pie (h, plan)",
    "barco_h": "En barco (h, plan)",
    "bus_h": "En bus o colectivo (h, plan)",
    "espera_h": "Esperando (h, plan)",
    "km": "Km (plan)",
    "cruces": "Cruces en barco (plan)",
    "barrera": "Barrera",
    "visitas": "Visitas",
    "servicio": "Servicio",
}
TABLES = {
    "comunas": "Por comuna del establecimiento",
    "islas": "Por isla del establecimiento",
    "establecimientos": "Por establecimiento",
    "flujo": "Entradas y salidas de la lista, mes a mes",
    "tendencia": "Casos por mes y categoría",
    "actividad": "Actividad del equipo por semana y gestor",
    "barreras": "Barreras encontradas por semana y gestor",
    "derivaciones": "Derivaciones por tipo de servicio",
}


class ReportInputError(InvalidRequestError):
    """A report parameter that cannot be used; the message says how to fix it (Spanish)."""


def parse_month(text: str | None, what: str) -> str | None:
    """Return ``AAAA-MM`` from a form or command value, ``None`` when empty.

    Raises
    ------
    ReportInputError
        When the text is not a month (message names the field `what`).
    """
    text = (text or "").strip()
    if not text:
        return None
    found = MONTH.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12:
        msg = f"«{what}» debe ser un mes como 2026-03 (año-mes); se recibió «{text}»."
        raise ReportInputError(msg)
    return text


def parse_day(text: str) -> dt.date:
    """Return a date from ``AAAA-MM-DD``.

    Raises
    ------
    ReportInputError
        When the text is not a date.
    """
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        msg = f"Fecha no válida «{text}»: use año-mes-día, por ejemplo 2026-03-10."
        raise ReportInputError(msg) from err


@dataclass
class Diagnosis:
    """The diagnosis of one scope and period: every table the page, files and PDF show."""

    since: str | None
    until: str | None
    periods: list[str]
    by_comuna: pd.DataFrame
    by_island: pd.DataFrame
    by_school: pd.DataFrame
    top_schools: pd.DataFrame
    top_islands: pd.DataFrame
    flow: pd.DataFrame
    trend: pd.DataFrame
    n_cases: int
    synthetic: bool
    activity: Activity
    generated_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now().replace(microsecond=0)
    )

    def table(self, name: str) -> pd.DataFrame:
        """One of `TABLES` by name (KeyError otherwise)."""
        return {
            "comunas": self.by_comuna,
            "islas": self.by_island,
            "establecimientos": self.by_school,
            "flujo": self.flow,
            "tendencia": self.trend,
            "actividad": self.activity.weekly,
            "barreras": self.activity.barriers,
            "derivaciones": self.activity.referrals,
        }[name]


def _frame(db: Session, query, columns: list[str]) -> pd.DataFrame:
    """Run a query of plain columns and return its rows as a DataFrame with `columns`.

    Rows come straight from the driver's cursor as tuples: building a frame from
    600,000 SQLAlchemy rows cost seconds (row processing, and pandas probing each row).
    So no type processing: SQLite gives booleans as 0/1 (callers compare with ``True``
    or cast), numbers and text as they are; use it only for such columns.
    """
    result = db.connection().execute(query)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _attendance(db: Session, case_ids) -> pd.DataFrame:
    """Monthly attendance of the cases `case_ids` (ids or a query of ids): case_id, period, pct."""
    query = select(Attendance.case_id, Attendance.period, Attendance.pct)
    query = query.where(Attendance.case_id.in_(case_ids))
    return _frame(db, query, ["case_id", "period", "pct"])


def _case_counts(db: Session, scope: Scope) -> pd.DataFrame:
    """Cases in `scope` counted by every field the diagnosis reads (one ``GROUP BY``).

    Columns ``in_latest_list``, ``synthetic``, ``rbd``, ``category``, ``method`` (geocoding),
    ``rezago``, ``eligible_reinsercion``, ``eligible_aulas``, ``located``, and ``n`` (how many
    cases share those values): a few thousand rows for 50,000 cases, for `layers.diagnosis`.
    """
    fields = (Case.in_latest_list, Student.synthetic, Case.rbd, Case.category,
              Case.geocode_method, Case.rezago, Case.eligible_reinsercion,
              Case.eligible_aulas)  # fmt: skip
    query = scope.cases(select(*fields, func.count()).join(Student)).group_by(*fields)
    cases = _frame(db, query, ["in_latest_list", "synthetic", "rbd", "category", "method",
                               "rezago", "eligible_reinsercion", "eligible_aulas",
                               "n"])  # fmt: skip
    cases["in_latest_list"] = cases["in_latest_list"].astype(bool)
    cases["synthetic"] = cases["synthetic"].astype(bool)
    cases["located"] = ~cases["method"].isin(FALLBACK_METHODS)
    return cases


def _attendance_in_scope(scope: Scope, *columns):
    """``SELECT columns FROM attendance`` restricted to the cases in `scope`.

    Joined to the cases only when the scope restricts them (an account of some comunas,
    a gestor): every attendance row belongs to a case, and the join costs a lookup per
    row (about a third of the time on SQLite at 540,000 rows).
    """
    query = select(*columns).select_from(Attendance)
    if scope.cases(select(Case.id)).whereclause is None:
        return query
    return scope.cases(query.join(Case, Case.id == Attendance.case_id))


def _flow_masks(db: Session, scope: Scope, periods: list[str]) -> pd.DataFrame:
    """Cases in `scope` counted by the months they were listed in (bit masks) and their first.

    One query per window of `layers.diagnosis.MASK_BITS` months: per case,
    ``SUM(CASE period WHEN … THEN 2^j END)`` (a case has one row per month, so the sum
    is the set of its months) and ``MIN(period)``, then ``GROUP BY`` those two.
    Columns ``offset``, ``first``, ``mask``, ``n`` for `layers.diagnosis.list_flow_masks`:
    a few hundred rows for 50,000 cases over 12 months. Measured on SQLite (540,000
    rows, bench/reports.py): about a tenth of the CPU of a ``LAG`` window over the rows,
    and of reading the rows into Python.
    """
    frames = [pd.DataFrame(columns=["first", "mask", "n", "offset"])]
    step = MASK_BITS - 1
    for offset in range(0, len(periods) - 1 if len(periods) > 1 else len(periods), step):
        window = periods[offset : offset + MASK_BITS]
        bits = case(
            {p: literal(1 << j, BigInteger) for j, p in enumerate(window)},
            value=Attendance.period,
            else_=literal(0, BigInteger),
        )
        per_case = (
            _attendance_in_scope(
                scope, func.min(Attendance.period).label("first"), func.sum(bits).label("mask")
            )
            .group_by(Attendance.case_id)
            .subquery()
        )
        query = select(per_case.c.first, per_case.c.mask, func.count()).group_by(
            per_case.c.first, per_case.c.mask
        )
        found = _frame(db, query, ["first", "mask", "n"])
        frames.append(found.assign(offset=offset))
    return pd.concat(frames, ignore_index=True)


def _pct_counts(db: Session, scope: Scope) -> pd.DataFrame:
    """Attendance rows in `scope` counted by month and percentage: ``period``, ``pct``, ``n``.

    Percentages are few (days present over days in the month), so this is a few thousand
    rows; `layers.diagnosis.category_trend` classifies each once with the Mineduc rules.
    """
    query = _attendance_in_scope(scope, Attendance.period, Attendance.pct, func.count()).group_by(
        Attendance.period, Attendance.pct
    )
    counts = _frame(db, query, ["period", "pct", "n"])
    counts["pct"] = pd.to_numeric(counts["pct"], errors="coerce")
    return counts


def data_version(db: Session, scope: Scope) -> tuple:
    """Return a version of the cases in `scope` and of the attendance table (cheap aggregates).

    It changes when a case in scope is added, removed from scope, edited (its lock
    version) or touched by an import (``updated_at``: every case of a list imported is
    written with its attendance, `geo_app.cases.storing`), and when attendance rows are
    added or removed anywhere. Same idea as the map's ETag (`geo_app.cases.map_layer`).
    """
    cases = db.execute(
        scope.cases(
            select(func.count(), func.sum(Case.id), func.sum(Case.version),
                   func.max(Case.updated_at))
        )
    ).one()  # fmt: skip
    attendance = db.execute(select(func.count(), func.max(Attendance.id))).one()
    return (*map(str, cases), *map(str, attendance))


class DiagnosisCache:
    """The last few diagnoses' case tables, keyed by scope, months and `data_version`.

    One per app (``app.extensions["revincula.diagnosis_cache"]``): the page, its table
    downloads and the PDF of the same months reuse one computation until the data
    change. Thread-safe (the PDF job runs in a thread). The team activity (plans, visit
    records) is never cached.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._found: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        """Return the tables stored under `key` (None when absent)."""
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: tuple, tables: dict) -> None:
        """Store `tables` under `key`, forgetting the least recently used beyond `size`."""
        with self._lock:
            self._found[key] = tables
            self._found.move_to_end(key)
            while len(self._found) > self.size:
                self._found.popitem(last=False)


def app_cache(app) -> DiagnosisCache:
    """Return the Flask app's `DiagnosisCache` (made on first use)."""
    return app.extensions.setdefault("revincula.diagnosis_cache", DiagnosisCache())


def _case_tables(
    db: Session, scope: Scope, territory: Territory, since: str | None, until: str | None
) -> dict:
    """Compute the tables of the cases in `scope` from counts made by the database.

    Returns the `Diagnosis` fields that come from the cases and their months, by name.

    Never one row per case and month in Python: the cases by their fields
    (`_case_counts`), the months by their masks (`_flow_masks`) and percentages
    (`_pct_counts`), each a ``GROUP BY``; the same figures as `layers.diagnosis` on the
    rows themselves (tests/geo_app/reports/test_diagnosis_counts.py).
    """
    cases = _case_counts(db, scope)
    schools = territory.schools
    by_school = area_table(cases, schools, "establecimiento")
    by_island = area_table(cases, schools, "isla")
    pcts = _pct_counts(db, scope)
    months = sorted(pcts["period"].dropna().unique())
    flow = list_flow_masks(months, _flow_masks(db, scope, months), since, until)
    listed = cases["n"][cases["in_latest_list"]]
    return {
        "periods": list(flow["periodo"]),
        "by_comuna": area_table(cases, schools, "comuna"),
        "by_island": by_island,
        "by_school": by_school,
        "top_schools": top_rates(by_school, 10),
        "top_islands": top_rates(by_island, 10),
        "flow": flow,
        "trend": category_trend(pcts, since, until),
        "n_cases": int(listed.sum()),
        "synthetic": bool(len(cases)) and bool(cases["synthetic"].all()),
    }


def diagnosis(
    db: Session,
    scope: Scope,
    territory: Territory,
    since: str | None,
    until: str | None,
    cache: DiagnosisCache | None = None,
) -> Diagnosis:
    """Compute the diagnosis of the cases in `scope` for months [`since`, `until`].

    Tables by area are for the latest list; the flow and the trend for the months in the
    range (``AAAA-MM``; ``None`` = from the first / to the last month imported). With a
    `cache`, the case tables are reused while `data_version` is unchanged.

    Raises
    ------
    ReportInputError
        When `since` comes after `until`.
    """
    if since and until and since > until:
        msg = f"El mes «desde» ({since}) es posterior al mes «hasta» ({until}): inviértalos."
        raise ReportInputError(msg)
    tables = None
    if cache is not None:
        key = (scope.role, scope.comunas, scope.gestor_code, scope.gestor_since, since, until,
               data_version(db, scope))  # fmt: skip
        tables = cache.get(key)
    if tables is None:
        tables = _case_tables(db, scope, territory, since, until)
        if cache is not None:
            cache.put(key, tables)
    return Diagnosis(
        since=since, until=until, **tables, activity=team_activity(db, scope, since, until)
    )


# The PDF's island and school tables (the long ones): the counts that make the rate and
# where the cases are; every column is in the page and in the CSV/XLSX files.
COMPACT_AREA_COLUMNS = ("area", "matricula", "casos", "critica", "grave", "reiterada",
                        "sin_matricula", "tasa_grave", "ubicados", "rezago_2")  # fmt: skip


def page_context(diag: Diagnosis) -> dict:
    """Return what the page and the PDF templates show: the diagnosis, charts, labels."""
    return {
        "diag": diag,
        "charts": charts(diag),
        "tables": TABLES,
        "columns": COLUMN_NAMES,
        "category_names": CATEGORY_NAMES,
        "categories": CATEGORY_ORDER,
        "min_enrolment": MIN_ENROLMENT_FOR_RANK,
        "area_cols": [COLUMN_NAMES[c] for c in diag.by_comuna.columns],
        "compact_cols": [COLUMN_NAMES[c] for c in COMPACT_AREA_COLUMNS],
        "records": {name: _display(diag.table(name)).to_dict("records") for name in TABLES},
        "top_schools": _display(diag.top_schools).to_dict("records"),
        "top_islands": _display(diag.top_islands).to_dict("records"),
        **activity_context(diag.activity),
    }


ACTIVITY_VISIT_COLS = (
    "semana",
    "gestor",
    "dias",
    "visitas_plan",
    "visitas_hechas",
    "del_plan",
    "contacto",
    "sin_contacto",
    "ubicacion",
    "con_barreras",
    "derivaciones",
)
ACTIVITY_TIME_COLS = ("semana", "gestor", "conduce_h", "a_pie_h", "barco_h", "bus_h",
                      "espera_h", "km", "cruces")  # fmt: skip


def activity_context(activity: Activity) -> dict:
    """Return what the activity section shows.

    The weekly table split in two (visits; planned times), and the barriers and
    referrals summed over the weeks and gestores.
    """
    weekly = _display(activity.weekly).to_dict("records")
    totals = {}
    for name, table, key, count in (("barreras", activity.barriers, "barrera", "visitas"),
                                    ("derivaciones", activity.referrals, "servicio",
                                     "derivaciones")):  # fmt: skip
        summed = table.groupby(key, as_index=False)[count].sum() if len(table) else table
        summed = summed.sort_values([count, key], ascending=[False, True]) if len(table) else summed
        totals[name] = _display(summed[[key, count]]).to_dict("records")
    return {
        "activity_rows": weekly,
        "activity_visit_cols": [COLUMN_NAMES[c] for c in ACTIVITY_VISIT_COLS],
        "activity_time_cols": [COLUMN_NAMES[c] for c in ACTIVITY_TIME_COLS],
        "barrier_totals": totals["barreras"],
        "referral_totals": totals["derivaciones"],
        "columns": COLUMN_NAMES,
    }


def pdf_name(diag: Diagnosis) -> str:
    """File name of the PDF: the period it covers."""
    span = "_".join(p for p in (diag.since, diag.until) if p) or "todos_los_meses"
    return f"diagnostico_territorial_{span}.pdf"


MESA_TABLES = {"comunas": "Por comuna del establecimiento"}
ALL_ISLANDS = "(todas)"


def mesa_tables(db: Session, scope: Scope, territory: Territory, k: int = DEFAULT_K) -> dict:
    """Return the diagnosis a mesa may receive: latest-list cases by category, protected.

    Comuna (of the school) × category, with row, column and grand totals, published
    through `layers.privacy.protect`: every count from 1 to k − 1 and enough other cells
    are shown as ``<k`` so that none can be recovered from the totals. No island table:
    linked with the comuna table, the many small islands (a handful of cases each) made
    the protection hide every cell of both on the demo caseload (4,947 cases), so
    islands stay inside their comuna. No rates (a rate times the public enrolment gives
    the count back), no schools, no months.

    Returns ``{"tables": {"comunas": DataFrame of text cells}, "k": k, "synthetic": bool}``.
    """
    cases = _case_counts(db, scope)
    synthetic = bool(len(cases)) and bool(cases["synthetic"].all())
    listed = cases[cases["in_latest_list"]]
    places = territory.schools[["rbd", "comuna_name", "island_name"]].copy()
    places["rbd"] = places["rbd"].astype("int64")
    micro = listed.assign(rbd=pd.to_numeric(listed["rbd"], errors="coerce")).merge(
        places, on="rbd", how="left"
    )
    micro["comuna_name"] = micro["comuna_name"].fillna(NO_SCHOOL)
    micro["island_name"] = ALL_ISLANDS
    micro = (
        micro.assign(band=micro["category"].map(CATEGORY_NAMES), layer="casos")
        .groupby(["layer", "comuna_name", "island_name", "band"], as_index=False)["n"]
        .sum()
        .rename(columns={"n": "cases"})
    )
    bands = [CATEGORY_NAMES[c] for c in CATEGORY_ORDER]
    if micro.empty:
        return {"tables": {}, "k": k, "synthetic": synthetic}
    protected = protect(micro, bands=bands, k=k)
    tables = {
        name: protected.shown("casos", "comuna")
        .replace(SUPPRESSED, suppressed_label(k))  # as on the Resumen and the coverage page
        .rename_axis(title)
        .reset_index()
        for name, title in MESA_TABLES.items()
    }
    return {"tables": tables, "k": k, "synthetic": synthetic}


def mesa_table_file(
    db: Session, scope: Scope, territory: Territory, name: str, fmt: str
) -> tuple[bytes, str]:
    """Return one protected table of `mesa_tables` as csv or xlsx, with its mimetype.

    Raises
    ------
    NotFoundError
        Unknown table `name` (or no cases in scope).
    ReportInputError
        Unknown `fmt`.
    """
    table = mesa_tables(db, scope, territory)["tables"].get(name)
    if table is None:
        msg = "No existe esa tabla o no hay casos en su ámbito."
        raise NotFoundError(msg)
    return rows_file(list(table.columns), table.values.tolist(), fmt, name)


def _svg(chart: alt.TopLevelMixin, label: str) -> str:
    return _spec_svg(chart.to_json(), label)


@functools.lru_cache(maxsize=64)
def _spec_svg(spec: str, label: str) -> str:
    """Draw a Vega-Lite spec (its data inline) to SVG; the same spec is drawn once.

    The spec holds the data, so a cached drawing is never stale: the page and then its
    PDF, or the same period viewed again, reuse it (vl-convert takes about a second per
    chart on the shared test machine).
    """
    svg = vl_convert.vegalite_to_svg(spec)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def charts(diag: Diagnosis) -> dict[str, str]:
    """SVG charts of the diagnosis (one Vega-Lite spec each, drawn by vl-convert offline).

    Keys: ``tendencia`` (cases per month, stacked by category) and ``tasas`` (the
    schools with the highest rate). The same SVG goes into the page and into the PDF.
    """
    out = {}
    trend = diag.trend[diag.trend["casos"] > 0].copy()
    trend["Categoría"] = trend["categoria"].map(CATEGORY_NAMES)
    order = [CATEGORY_NAMES[c] for c in CATEGORY_ORDER]
    if len(trend):
        out["tendencia"] = _svg(
            alt.Chart(trend, width=520, height=220)
            .mark_bar()
            .encode(
                x=alt.X("periodo:O", title="Mes de la lista", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("casos:Q", title="Casos en la lista"),
                color=alt.Color(
                    "Categoría:N",
                    sort=order,
                    scale=alt.Scale(domain=order, range=list(CATEGORY_COLOURS.values())),
                ),
                order=alt.Order("orden:Q"),
            )
            .transform_calculate(orden=f"indexof({order!r}, datum['Categoría'])"),
            "Casos por mes y categoría de asistencia",
        )
    top = diag.top_schools
    if len(top):
        out["tasas"] = _svg(
            alt.Chart(top.assign(Establecimiento=top["area"]), width=420, height=22 * len(top))
            .mark_bar(color=CATEGORY_COLOURS["grave"])
            .encode(
                x=alt.X("tasa_grave:Q", title="Grave o crítica por 100 matriculados"),
                y=alt.Y("Establecimiento:N", sort="-x", title=None),
            ),
            "Establecimientos con mayor tasa de inasistencia grave o crítica",
        )
    return out


def _display(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    if "tasa_grave" in out:
        out["tasa_grave"] = out["tasa_grave"].round(1)
    if "categoria" in out:
        out["categoria"] = out["categoria"].map(CATEGORY_NAMES)
    if "barrera" in out:
        labels = {k: v[0] for k, v in load_visit_rules().barriers.items()}
        out["barrera"] = out["barrera"].map(lambda k: labels.get(k, k))
    if "servicio" in out:
        labels = {k: v[0] for k, v in SERVICE_TYPES.items()} | {"otro": "Otro (solo nombre)"}
        out["servicio"] = out["servicio"].map(lambda k: labels.get(k, k))
    if "lunes" in out:
        out["lunes"] = out["lunes"].map(str)
    out = out.astype(object).where(out.notna(), None)  # NaN / NA → None (an empty cell)
    return out.rename(columns=COLUMN_NAMES)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows_file(header: list[str], rows, fmt: str, sheet: str) -> tuple[bytes, str]:
    """Rows as ``csv`` (UTF-8) or ``xlsx`` bytes, with the mimetype.

    Every cell is made formula-safe (`layers.export.safe_row`); ``None`` is an empty
    cell; numpy scalars are written as numbers.

    Raises
    ------
    ReportInputError
        Unknown `fmt`.
    """
    safe = [safe_row(v.item() if hasattr(v, "item") else v for v in row) for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(safe)
        return out.getvalue().encode("utf-8"), "text/csv"
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet[:31])
        ws.append(header)
        for row in safe:
            ws.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue(), XLSX
    msg = f"Formato desconocido «{fmt}»: use csv o xlsx."
    raise ReportInputError(msg)


def summary_file(db: Session, scope: Scope, k: int, fmt: str) -> tuple[bytes, str]:
    """Return the Resumen (`geo_app.cases.counts.by_comuna`) as csv or xlsx, with a total row.

    For a mesa the counts are the protected ones of the page (``<k``) and no total row is
    added (its sums would give hidden counts back; the page shows none either).

    Raises
    ------
    ReportInputError
        Unknown `fmt`.
    """
    mesa = scope.role == "mesa"
    rows = by_comuna(db, scope, suppress=mesa, k=k)
    keys = ["comuna", "total", "ubicados", *SUMMARY_CATEGORIES]
    header = ["Comuna del domicilio", "Total", "Ubicados",
              *(CATEGORY_NAMES.get(c, c) for c in SUMMARY_CATEGORIES)]  # fmt: skip
    table = [[r[key] for key in keys] for r in rows]
    if mesa:
        table = [[suppressed_label(k) if v == SUPPRESSED else v for v in row] for row in table]
    elif table:
        table.append(["Total", *(sum(r[key] for r in rows) for key in keys[1:])])
    return rows_file(header, table, fmt, "resumen")


def table_file(diag: Diagnosis, name: str, fmt: str) -> tuple[bytes, str]:
    """One diagnosis table (`TABLES`) as ``csv`` or ``xlsx`` bytes, with its mimetype.

    Raises
    ------
    KeyError
        Unknown table `name`.
    ReportInputError
        Unknown `fmt`.
    """
    df = _display(diag.table(name))
    return rows_file(list(df.columns), df.itertuples(index=False), fmt, name)


def case_file(
    db: Session, context, scope: Scope, filters: Mapping[str, str], fmt: str
) -> tuple[bytes, str, list[int]]:
    """Return the case list with `filters` as a file (`cases.service.EXPORT_HEADER`).

    Returns the bytes, the mimetype and the exported case ids (for the audit).
    """
    rows, ids = case_export_rows(db, context, scope, filters)
    body, mimetype = rows_file(list(EXPORT_HEADER), rows, fmt, "casos")
    return body, mimetype, ids


def pdf(html: str) -> bytes:
    """Render a standalone HTML report (inline CSS and SVG, no external files) to PDF (A4).

    WeasyPrint lays it out; it needs Pango from Debian (installed with the desktop
    libraries; see the Makefile).
    """
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def _published_plans(db: Session, since: str | None) -> list[PlanRow]:
    query = select(PlanRow).where(PlanRow.status == "publicado", PlanRow.result.is_not(None))
    if since is not None:  # a week that ends in or after the first month
        query = query.where(PlanRow.week_start >= dt.date.fromisoformat(f"{since}-01")
                            - dt.timedelta(days=6))  # fmt: skip
    return list(db.scalars(query.order_by(PlanRow.week_start)))


def _in_months(day: dt.date | str, since: str | None, until: str | None) -> bool:
    month = str(day)[:7]
    return (since is None or month >= since) and (until is None or month <= until)


def team_activity(
    db: Session, scope: Scope, since: str | None = None, until: str | None = None
) -> Activity:
    """Team activity per ISO week and gestor (`layers.activity.team_activity`).

    Planned days of the published plans (a gestor account: only its own) and the visit
    records of the cases in `scope`, for the days in the months [`since`, `until`]
    (``AAAA-MM``; ``None`` = no bound). Gestor names come from the gestores list; a
    record made by a staff account counts under that account's user name.
    """
    days = [
        day
        for plan in _published_plans(db, since)
        for day in plan.result.get("dias", [])
        if _day_allowed(scope, day) and _in_months(day["dia"], since, until)
    ]
    names = dict(db.execute(select(GestorRow.code, GestorRow.name)).all())
    query = select(
        VisitRecord.uuid, VisitRecord.corrects, VisitRecord.case_id, VisitRecord.gestor_code,
        VisitRecord.username, VisitRecord.device_at, VisitRecord.outcome, VisitRecord.barriers,
        VisitRecord.referral,
    ).where(VisitRecord.case_id.in_(scope.cases(select(Case.id))))  # fmt: skip
    if scope.role == "gestor":
        query = query.where(VisitRecord.gestor_code == scope.gestor_code)
    rows = []
    for uuid, corrects, case_id, code, user, at, outcome, barriers, referral in db.execute(query):
        day = _local_day(at)
        if not _in_months(day, since, until):
            continue
        rows.append({
            "uuid": uuid, "corrects": corrects, "case_id": case_id,
            "gestor_id": code or f"cuenta:{user}",
            "gestor": names.get(code, code) if code else f"{user} (equipo)",
            "day": day, "outcome": outcome, "barriers": list(barriers or []),
            "referral_type": (referral or {}).get("tipo") or ("otro" if referral else ""),
        })  # fmt: skip
    columns = ["uuid", "corrects", "case_id", "gestor_id", "gestor", "day", "outcome",
               "barriers", "referral_type"]  # fmt: skip
    visits = pd.DataFrame(rows, columns=columns)
    kinds = {key: kind for key, (_, _, kind) in load_visit_rules().outcomes.items()}
    return activity_tables(days, visits, kinds)


def plans_synthetic(db: Session) -> bool:
    """Return True when the store holds students and all are synthetic (the demo)."""
    flags = set(db.scalars(select(Student.synthetic).distinct()))
    return flags == {True}


def _local_day(at: dt.datetime) -> dt.date:
    """Return the Chilean calendar day of a stored UTC time (naive values are UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(LOCAL_TZ).date()


def _day_allowed(scope: Scope, day: dict) -> bool:
    if scope.role == "gestor":
        return day["gestor_id"] == scope.gestor_code
    return True


def _visible_plan(db: Session, scope: Scope, plan_id: int) -> PlanRow:
    plan = db.get(PlanRow, plan_id)
    if plan is None or plan.result is None or not plan_in_scope(db, scope, plan):
        msg = "No existe ese plan o no está en su ámbito."
        raise NotFoundError(msg)
    return plan


def plan_file(db: Session, scope: Scope, plan_id: int, fmt: str) -> tuple[bytes, str]:
    """Return a computed plan's visits in order as csv or xlsx (case ids and sectors only).

    Raises
    ------
    NotFoundError
        No such computed plan in scope.
    ReportInputError
        Unknown `fmt`.
    """
    plan = _visible_plan(db, scope, plan_id)
    return rows_file(list(STOPS_HEADER), stops_rows(plan.result), fmt, f"plan_{plan_id}")


def plan_gpx(db: Session, scope: Scope, plan_id: int, gestor_id: str, day: dt.date) -> str:
    """Return one gestor-day of a plan as GPX 1.1 text (WGS84).

    The visits are waypoints, in order; the route is one track segment per leg.

    Waypoint names are the plan's visit labels (case number and sector; no names).

    Raises
    ------
    NotFoundError
        When the plan is not in the account's scope (a gestor: not its own day) or has no
        such gestor-day.
    """
    if scope.role == "gestor" and gestor_id != scope.gestor_code:
        msg = "No existe ese plan o no está en su ámbito."
        raise NotFoundError(msg)
    plan = _visible_plan(db, scope, plan_id)
    iso = day.isoformat()
    days = [d for d in (plan.result or {}).get("dias", []) if d["gestor_id"] == gestor_id]
    found = next((d for d in days if d["dia"] == iso), None)
    if found is None:
        msg = f"El plan {plan.id} no tiene visitas de {gestor_id} el {iso}."
        raise NotFoundError(msg)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Revincula"
    gpx.name = f"{found['gestor']} · {iso}"
    gpx.description = "Ruta planificada por Revincula" + (
        " (datos sintéticos)" if plan.synthetic else ""
    )
    for n, stop in enumerate(found["paradas"], start=1):
        point = gpxpy.gpx.GPXWaypoint(
            latitude=stop["lat"],
            longitude=stop["lon"],
            name=f"{n}. {stop['etiqueta']}",
            time=dt.datetime.fromisoformat(stop["inicia"]),
        )
        gpx.waypoints.append(point)
    legs = [leg for s in found["paradas"] for leg in s["tramos"]] + found.get("regreso", [])
    track = gpxpy.gpx.GPXTrack(name=gpx.name)
    for leg in legs:
        if len(leg["geometria"]) < 2:
            continue
        segment = gpxpy.gpx.GPXTrackSegment()
        for lon, lat in leg["geometria"]:
            segment.points.append(gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon))
        track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")


PARTICIPANT_STAGES = ("contacto", "diagnostico", "accion", "revinculado", "seguimiento")


def closing_labels() -> dict[str, str]:
    """Return the labels of the workflow's closing reasons (``layers/rules``)."""
    return {key: label for key, (label, _) in load_workflow().closing.items()}


def nomina(
    db: Session, scope: Scope, territory: Territory, on: dt.date, labels: Mapping[str, str]
) -> pd.DataFrame:
    """Return the nómina de seguimiento on `on` for the cases in `scope` (`layers.nomina`).

    A case is a participant from the first confirmed stage change into ``contacto`` or
    later (the case workflow, `geo_app.cases.workflow`); its enrolment date is the first
    confirmed change to ``revinculado``; it is closed by a confirmed change to
    ``cerrado`` (reason labels from the workflow rules, `labels`). Programme: Reinserción
    or Aulas de Reingreso by the 2020 eligibility rules, else blank.
    """
    in_scope = scope.cases(select(Case.id))
    changes = db.execute(
        select(StageChange.case_id, StageChange.to_stage, StageChange.decided_at,
               StageChange.reason)
        .where(StageChange.status == "confirmada", StageChange.case_id.in_(in_scope))
        .order_by(StageChange.decided_at, StageChange.id)
    ).all()  # fmt: skip
    found: dict[int, dict] = {}
    for case_id, stage, when, reason in changes:
        day = when.date()
        row = found.get(case_id)
        if row is None:
            if stage not in PARTICIPANT_STAGES:
                continue
            row = found[case_id] = {"ingreso": day, "matricula": None, "cerrado": None,
                                    "motivo_cierre": ""}  # fmt: skip
        if stage == "revinculado" and row["matricula"] is None:
            row["matricula"] = day
        if stage == "cerrado":
            row["cerrado"], row["motivo_cierre"] = day, labels.get(reason, reason)
        elif row["cerrado"] is not None:  # reopened
            row["cerrado"], row["motivo_cierre"] = None, ""
    schools = territory.schools.set_index("rbd")["name"].to_dict()
    rows = []
    for stored in db.scalars(select(Case).where(Case.id.in_(list(found)))):
        programme = (
            "Reinserción" if stored.eligible_reinsercion
            else "Aulas de Reingreso" if stored.eligible_aulas else ""
        )  # fmt: skip
        student = stored.student
        rows.append({"caso": stored.id, "run": format_run(student.run, student.dv),
                     "nombres": student.given_names, "apellidos": student.surnames,
                     "programa": programme, "rbd": stored.rbd,
                     "establecimiento": schools.get(stored.rbd, ""),
                     **found[stored.id]})  # fmt: skip
    columns = ["caso", "run", "nombres", "apellidos", "programa", "rbd", "establecimiento",
               "ingreso", "matricula", "cerrado", "motivo_cierre"]  # fmt: skip
    participants = pd.DataFrame(rows, columns=columns)
    attendance = _attendance(db, list(found))
    return nomina_rows(participants, attendance, on)


@dataclass
class NominaSchedule:
    """When the nóminas are due: the project's start, where it comes from, the list."""

    start: dt.date | None
    start_source: str
    dues: list[Due]

    @property
    def late(self) -> list[Due]:
        """The nóminas flagged late (due and not delivered, or delivered after the date)."""
        return [d for d in self.dues if d.late]


def project_start(db: Session, setting: str) -> tuple[dt.date | None, str]:
    """Return the project's first day and where it comes from (Spanish, for the page).

    `setting` is ``PROJECT_START`` (``REVINCULA_PROJECT_START``, AAAA-MM-DD); when
    empty, the first day of the month of the earliest list imported; ``None`` when no
    list was imported yet.

    Raises
    ------
    ReportInputError
        When the setting is not a date.
    """
    setting = str(setting or "").strip()
    if setting:
        try:
            return dt.date.fromisoformat(setting), "configuración REVINCULA_PROJECT_START"
        except ValueError as err:
            msg = (f"REVINCULA_PROJECT_START «{setting}» no es una fecha: use año-mes-día, "
                   "por ejemplo 2026-03-01.")  # fmt: skip
            raise ReportInputError(msg) from err
    first = db.scalar(select(func.min(Attendance.period)))
    if first is None:
        return None, "aún no hay listas importadas"
    return dt.date.fromisoformat(f"{first}-01"), f"mes de la primera lista importada ({first})"


def nomina_schedule(db: Session, setting: str, today: dt.date) -> NominaSchedule:
    """Return the nóminas due from the project's start up to `today` and the next one.

    Delivered: the days the nómina was downloaded as XLSX (audit entries «exportar
    nomina», from the page or ``revincula report nomina``), folded by
    `layers.nomina.deliveries`; due dates and late flags by `layers.nomina.due_dates`.
    """
    start, source = project_start(db, setting)
    if start is None:
        return NominaSchedule(None, source, [])
    times = db.scalars(
        select(AuditEntry.at).where(AuditEntry.action == "exportar", AuditEntry.target == "nomina")
    )
    delivered = deliveries([_local_day(t) for t in times])
    return NominaSchedule(start, source, due_dates(start, delivered, today))


def nomina_file(table: pd.DataFrame) -> bytes:
    """Return the nómina as XLSX bytes, in the documented layout.

    Sheet «nomina»: `layers.nomina.NOMINA_COLUMNS` in order; sheet «columnas»: what
    each column holds.
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet("nomina")
    sheet.append(list(NOMINA_COLUMNS))
    for row in _display(table).itertuples(index=False):
        sheet.append(safe_row(v.item() if hasattr(v, "item") else v for v in row))
    legend = book.create_sheet("columnas")
    legend.append(["columna", "contenido"])
    for name, meaning in NOMINA_COLUMNS.items():
        legend.append([name, meaning])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
