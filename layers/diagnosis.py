"""Territorial diagnosis of school absence: tables by area and month-by-month flows.

Pure functions on plain tables (no Flask, no database), so the web page, the PDF report
and the command line compute the same figures.

Inputs
------
``cases``: one row per case, columns

- ``case_id`` (int), ``rbd`` (int or NaN), ``category`` (str, keys of
  ``layers/rules/asistencia_mineduc.toml`` plus ``sin_matricula`` / ``sin_dato``),
- ``in_latest_list`` (bool), ``rezago`` (years behind, int or NaN),
- ``eligible_reinsercion`` / ``eligible_aulas`` (bool or None; 2020 rules, see
  ``layers/rules/reinsercion_2020.toml``),
- ``located`` (bool: the home point comes from the address, a pin or GPS — not the school's
  point used as a fallback).

``schools``: the Mineduc directory of the territory (``layers.territory.Territory.schools``):
``rbd``, ``name``, ``comuna_name``, ``island_name``, ``enrolment``, ``is_slep``.

``attendance``: one row per case and month, columns ``case_id``, ``period`` (``AAAA-MM``),
``pct`` (0–100 or NaN).

Areas are the **school's** comuna and island (where the student is enrolled), so that the
numerator (cases) and the denominator (enrolment of the same schools) count the same
students; the map and the Resumen count by home comuna instead.

Rates are cases with *inasistencia grave* (attendance < 85 %, Mineduc; *crítica* is a part
of it) per 100 students enrolled in the SLEP schools of the area (Directorio Mineduc 2025).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from layers.classify import ATTENDANCE_RULES
from layers.classify import load_rules

__all__ = [
    "AREAS",
    "CATEGORY_ORDER",
    "MIN_ENROLMENT_FOR_RANK",
    "area_table",
    "attendance_categories",
    "category_trend",
    "list_flow",
    "top_rates",
]

AREAS = {"comuna": "comuna_name", "isla": "island_name", "establecimiento": "rbd"}
CATEGORY_ORDER = (
    "critica",
    "grave",
    "reiterada",
    "sin_matricula",
    "normal",
    "destacada",
    "sin_dato",
)
GRAVE_OR_WORSE = ("critica", "grave")
NO_SCHOOL = "sin establecimiento en el directorio"
MIN_ENROLMENT_FOR_RANK = 20  # a school of 3 with 2 cases is not "the highest rate"


def _school_places(schools: pd.DataFrame) -> pd.DataFrame:
    cols = ["rbd", "name", "comuna_name", "island_name", "enrolment", "is_slep"]
    out = pd.DataFrame(schools[cols]).copy()
    out["rbd"] = out["rbd"].astype("int64")
    out["enrolment"] = pd.to_numeric(out["enrolment"], errors="coerce").fillna(0).astype(int)
    return out


def area_table(cases: pd.DataFrame, schools: pd.DataFrame, by: str) -> pd.DataFrame:
    """Cases of the latest list by area, with rates against enrolment.

    Parameters
    ----------
    cases, schools
        See the module docstring.
    by
        ``"comuna"``, ``"isla"`` or ``"establecimiento"``.

    Returns
    -------
    pandas.DataFrame
        One row per area with cases or SLEP enrolment (schools: with cases), by name: ``area``,
        (``rbd`` for schools), ``matricula`` (SLEP enrolment), ``casos`` (cases in the latest
        list), one column per category, ``tasa_grave`` (cases *grave* or *crítica* per 100
        enrolled; NaN without enrolment), ``ubicados`` (home located), ``en_escuela`` (placed
        at the school), ``rezago_2`` (two or more years behind), ``elegible_reinsercion``,
        ``elegible_aulas``. Cases whose RBD is not in the directory form one row named
        ``NO_SCHOOL``.

    Raises
    ------
    ValueError
        When `by` is not one of ``AREAS``.
    """
    if by not in AREAS:
        msg = f"Área desconocida: {by!r} (use comuna, isla o establecimiento)."
        raise ValueError(msg)
    places = _school_places(schools)
    listed = cases[cases["in_latest_list"].astype(bool)].copy()
    listed["rbd"] = pd.to_numeric(listed["rbd"], errors="coerce")
    listed = listed.merge(places, on="rbd", how="left")
    key = AREAS[by]
    if by == "establecimiento":
        listed["area"] = listed["name"].where(listed["name"].notna(), NO_SCHOOL)
        listed["area_key"] = listed["rbd"].where(listed["name"].notna(), -1)
        slep = places[places["is_slep"].astype(bool)]
        enrol = slep.set_index("rbd")["enrolment"]
        names = slep.set_index("rbd")["name"]
    else:
        listed["area_key"] = listed[key].where(listed[key].notna(), NO_SCHOOL)
        listed["area"] = listed["area_key"]
        slep = places[places["is_slep"].astype(bool)]
        enrol = slep.groupby(key)["enrolment"].sum()
        names = pd.Series(enrol.index, index=enrol.index)
    grouped = listed.groupby("area_key", dropna=False)
    counts = grouped["category"].value_counts().unstack(fill_value=0)
    # Comunas and islands: every one with SLEP enrolment (a zero is a finding); schools:
    # only those with cases (the others are in their comuna's and island's totals).
    keys = counts.index if by == "establecimiento" else counts.index.union(enrol.index[enrol > 0])
    table = pd.DataFrame(index=keys)
    table["casos"] = grouped.size().reindex(table.index, fill_value=0)
    for category in CATEGORY_ORDER:
        column = counts.get(category, 0)
        table[category] = pd.Series(column, index=counts.index).reindex(table.index, fill_value=0)
    table["matricula"] = enrol.reindex(table.index).fillna(0).astype(int)
    grave = table[list(GRAVE_OR_WORSE)].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["tasa_grave"] = np.where(
            table["matricula"] > 0, 100.0 * grave / table["matricula"], np.nan
        )
    flags = {
        "ubicados": listed["located"].astype(bool),
        "en_escuela": ~listed["located"].astype(bool),
        "rezago_2": pd.to_numeric(listed["rezago"], errors="coerce").fillna(0) >= 2,
        "elegible_reinsercion": listed["eligible_reinsercion"].eq(True),
        "elegible_aulas": listed["eligible_aulas"].eq(True),
    }
    for column, flag in flags.items():
        summed = flag.groupby(listed["area_key"]).sum()
        table[column] = summed.reindex(table.index, fill_value=0).astype(int)
    area_names = listed.drop_duplicates("area_key").set_index("area_key")["area"]
    table["area"] = [area_names.get(k, names.get(k, str(k))) for k in table.index]
    if by == "establecimiento":
        table["rbd"] = [int(k) if k != -1 else None for k in table.index]
    int_cols = ["casos", *CATEGORY_ORDER, "matricula"]
    table[int_cols] = table[int_cols].astype(int)
    lead = ["area", "rbd"] if by == "establecimiento" else ["area"]
    columns = [*lead, "matricula", "casos", *CATEGORY_ORDER, "tasa_grave", *flags]
    return table[columns].sort_values("area", key=lambda s: s.str.lower()).reset_index(drop=True)


def top_rates(
    table: pd.DataFrame, n: int = 10, *, min_enrolment: int = MIN_ENROLMENT_FOR_RANK
) -> pd.DataFrame:
    """Return the `n` areas of an `area_table` with the highest ``tasa_grave``.

    Areas with fewer than `min_enrolment` students enrolled are left out (a tiny
    denominator makes a rate that is mostly chance). Ties are broken by more cases, then
    by name, so the ranking is the same on every run.
    """
    ranked = table[table["matricula"] >= min_enrolment].copy()
    ranked["_grave"] = ranked["critica"] + ranked["grave"]
    ranked = ranked.sort_values(
        ["tasa_grave", "_grave", "area"], ascending=[False, False, True], kind="mergesort"
    )
    return ranked.drop(columns="_grave").head(n).reset_index(drop=True)


def _periods(attendance: pd.DataFrame, since: str | None, until: str | None) -> list[str]:
    periods = sorted(attendance["period"].dropna().unique())
    return [p for p in periods if (since is None or p >= since) and (until is None or p <= until)]


def list_flow(
    attendance: pd.DataFrame, since: str | None = None, until: str | None = None
) -> pd.DataFrame:
    """Who enters, stays in and leaves the monthly lists.

    A case is *listed* in a month when the month's list carried a row for it. For each
    month in [`since`, `until`] (``AAAA-MM``, inclusive; ``None`` = no bound):
    ``en_lista`` (listed), ``nuevos`` (never listed in any earlier month imported),
    ``continuan`` (listed the month before too), ``vuelven`` (listed earlier, not the
    month before), ``salen`` (listed the month before, not this month). The first month
    of the data has no "month before": its ``continuan`` and ``salen`` are missing
    (``pd.NA`` in nullable integer columns), not 0.
    Earlier months outside the range still count for ``nuevos``.
    """
    listed = attendance.groupby("period")["case_id"].agg(lambda s: set(s.astype(int)))
    seen: set[int] = set()
    previous: set[int] | None = None
    rows = []
    for period in sorted(listed.index):
        now = listed[period]
        row = {
            "periodo": period,
            "en_lista": len(now),
            "nuevos": len(now - seen),
            "continuan": np.nan if previous is None else len(now & previous),
            "vuelven": len((now & seen) - (previous or set())),
            "salen": np.nan if previous is None else len(previous - now),
        }
        rows.append(row)
        seen |= now
        previous = now
    flow = pd.DataFrame(
        rows, columns=["periodo", "en_lista", "nuevos", "continuan", "vuelven", "salen"]
    )
    flow[["continuan", "salen"]] = flow[["continuan", "salen"]].astype("Int64")
    keep = set(_periods(attendance, since, until))
    return flow[flow["periodo"].isin(keep)].reset_index(drop=True)


def attendance_categories(pct: np.ndarray) -> np.ndarray:
    """Vectorised `layers.classify.attendance_category` (same rules file, same edges).

    `pct` is attendance in % (NaN = no data → ``"sin_dato"``); returns category keys.
    """
    rules = load_rules(ATTENDANCE_RULES)
    critical_below = float(rules["critica"]["below_pct"])
    out = np.full(pct.shape, "grave", dtype=object)
    assigned = np.isnan(pct)
    out[assigned] = "sin_dato"
    for category in rules["categories"]:  # highest bound first
        hit = ~assigned & (pct >= category["min_pct"])
        out[hit] = category["key"]
        if category["key"] == "grave":
            out[hit & (pct < critical_below)] = "critica"
        assigned |= hit
    return out


def category_trend(
    attendance: pd.DataFrame,
    since: str | None = None,
    until: str | None = None,
    *,
    categories: Sequence[str] = CATEGORY_ORDER,
) -> pd.DataFrame:
    """Count listed cases per month and attendance category (that month's percentage).

    Returns a long table ``periodo``, ``categoria``, ``casos`` with every month × category
    pair (zeros included), months in order, categories in `categories` order. The
    category of a month is computed from that month's attendance with the Mineduc rules
    (`attendance_categories`), so a case improving from *grave* to
    *normal* shows in the trend.
    """
    periods = _periods(attendance, since, until)
    rows = attendance[attendance["period"].isin(periods)]
    cats = attendance_categories(pd.to_numeric(rows["pct"], errors="coerce").to_numpy(float))
    counted = pd.Series(1, index=pd.MultiIndex.from_arrays([rows["period"], cats]))
    counted = counted.groupby(level=[0, 1]).sum()
    full = pd.MultiIndex.from_product([periods, list(categories)], names=["periodo", "categoria"])
    out = counted.reindex(full, fill_value=0).rename("casos").reset_index()
    out["casos"] = out["casos"].astype(int)
    return out
