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

Counted rows: `area_table` and `category_trend` also take rows that each stand for ``n``
cases (an optional integer column ``n``, default 1): the same figures from a ``GROUP BY``
of the database (``geo_app.reports.service``) as from one row per case, without reading
every case and month into memory. `list_flow_masks` is `list_flow` on such counts.

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
    "MASK_BITS",
    "MIN_ENROLMENT_FOR_RANK",
    "area_table",
    "attendance_categories",
    "category_trend",
    "list_flow",
    "list_flow_masks",
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
    # One factorisation of the area, then integer counts (bincount), not one groupby per column.
    codes, uniques = pd.factorize(listed["area_key"])
    present = pd.Index(uniques)
    count = _row_counts(listed)

    def per_area(weights) -> pd.Series:
        summed = np.bincount(
            codes, weights=np.asarray(weights, dtype=float), minlength=len(present)
        )
        return pd.Series(summed.astype(int), index=present)

    # Comunas and islands: every one with SLEP enrolment (a zero is a finding); schools:
    # only those with cases (the others are in their comuna's and island's totals).
    keys = present if by == "establecimiento" else present.union(enrol.index[enrol > 0])
    table = pd.DataFrame(index=keys)
    table["casos"] = per_area(count).reindex(table.index, fill_value=0)
    category = pd.Categorical(listed["category"], categories=list(CATEGORY_ORDER)).codes
    for n, name in enumerate(CATEGORY_ORDER):
        table[name] = per_area((category == n) * count).reindex(table.index, fill_value=0)
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
        summed = per_area(flag.to_numpy(bool) * count)
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


def _row_counts(rows: pd.DataFrame) -> np.ndarray:
    """How many cases each row stands for: its ``n`` column, else 1 (see the module docstring)."""
    if "n" not in rows:
        return np.ones(len(rows), dtype=np.int64)
    return pd.to_numeric(rows["n"]).to_numpy(np.int64)


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


def _month_codes(attendance: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's month as an index into the sorted months (-1 when missing); one pass."""
    codes, uniques = pd.factorize(attendance["period"])  # NaN → -1
    order = np.argsort(np.asarray(uniques, dtype=object))
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # codes of -1 index the last slot
    return rank[codes], [str(uniques[i]) for i in order]


def _in_range(periods: list[str], since: str | None, until: str | None) -> list[str]:
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

    "The month before" is the previous month *imported*, as in the lists' own order.
    Computed on a cases × months presence matrix (numpy), not per case.
    """
    columns = ["periodo", "en_lista", "nuevos", "continuan", "vuelven", "salen"]
    month, periods = _month_codes(attendance)
    if not periods:
        return pd.DataFrame(columns=columns)
    case, _ = pd.factorize(attendance["case_id"])
    keep = month >= 0
    listed = np.zeros((int(case.max()) + 1 if len(case) else 0, len(periods)), dtype=bool)
    listed[case[keep], month[keep]] = True
    first = listed.argmax(axis=1)[listed.any(axis=1)]  # first month listed
    before = np.zeros_like(listed)
    before[:, 1:] = np.maximum.accumulate(listed, axis=1)[:, :-1]  # listed in an earlier month
    previous = np.zeros_like(listed)
    previous[:, 1:] = listed[:, :-1]
    flow = pd.DataFrame(
        {
            "periodo": periods,
            "en_lista": listed.sum(axis=0),
            "nuevos": np.bincount(first, minlength=len(periods)),
            "continuan": (listed & previous).sum(axis=0),
            "vuelven": (listed & before & ~previous).sum(axis=0),
            "salen": (previous & ~listed).sum(axis=0),
        }
    )
    flow[["continuan", "salen"]] = flow[["continuan", "salen"]].astype("Int64")
    flow.loc[0, ["continuan", "salen"]] = pd.NA
    keep = set(_in_range(periods, since, until))
    return flow[flow["periodo"].isin(keep)].reset_index(drop=True)[columns]


MASK_BITS = 60  # months per bit mask: the masks stay below 2**63 (SQL BIGINT)


def list_flow_masks(
    periods: Sequence[str],
    masks: pd.DataFrame,
    since: str | None = None,
    until: str | None = None,
) -> pd.DataFrame:
    """`list_flow` from counted month masks instead of one row per case and month.

    Parameters
    ----------
    periods
        Every month imported (``AAAA-MM``), in order: the months of the attendance.
    masks
        Columns ``offset`` (index into `periods` of the mask's bit 0), ``mask`` (int:
        bit ``j`` set when the case was listed in ``periods[offset + j]``), ``first``
        (the case's first month listed, ``AAAA-MM``) and ``n`` (how many cases share
        that row): a ``GROUP BY`` of one row per case, made for each window of at most
        `MASK_BITS` months starting at ``offset`` = 0, `MASK_BITS` - 1,
        2 (`MASK_BITS` - 1), … (consecutive windows share one month, so every month's
        previous month is in its window).
    since, until
        As in `list_flow`.

    Returns
    -------
    pandas.DataFrame
        The same table as `list_flow` on the attendance the masks were counted from.
    """
    columns = ["periodo", "en_lista", "nuevos", "continuan", "vuelven", "salen"]
    periods = list(periods)
    if not periods:
        return pd.DataFrame(columns=columns)
    size = len(periods)
    listed, new, continuing, left = (np.zeros(size, dtype=np.int64) for _ in range(4))
    for offset, rows in masks.groupby("offset", sort=True):
        offset = int(offset)
        mask = np.array([int(m) for m in rows["mask"]], dtype=np.uint64)
        count = _row_counts(rows)
        first = rows["first"].to_numpy(object)
        width = min(MASK_BITS, size - offset)
        for j in range(1 if offset else 0, width):
            i = offset + j
            here = ((mask >> np.uint64(j)) & np.uint64(1)).astype(bool)
            listed[i] += count[here].sum()
            new[i] += count[here & (first == periods[i])].sum()
            if j:
                before = ((mask >> np.uint64(j - 1)) & np.uint64(1)).astype(bool)
                continuing[i] += count[here & before].sum()
                left[i] += count[before & ~here].sum()
    flow = pd.DataFrame(
        {
            "periodo": periods,
            "en_lista": listed,
            "nuevos": new,
            "continuan": continuing,
            "vuelven": listed - new - continuing,
            "salen": left,
        }
    )
    flow[["continuan", "salen"]] = flow[["continuan", "salen"]].astype("Int64")
    flow.loc[0, ["continuan", "salen"]] = pd.NA
    keep = set(_in_range(periods, since, until))
    return flow[flow["periodo"].isin(keep)].reset_index(drop=True)[columns]


def _category_codes(pct: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Category of each percentage as an index into the returned keys (`attendance_categories`)."""
    rules = load_rules(ATTENDANCE_RULES)
    critical_below = float(rules["critica"]["below_pct"])
    keys = list(dict.fromkeys(["grave", "critica", "sin_dato",
                               *(c["key"] for c in rules["categories"])]))  # fmt: skip
    code = {k: i for i, k in enumerate(keys)}
    out = np.full(pct.shape, code["grave"], dtype=np.int16)
    assigned = np.isnan(pct)
    out[assigned] = code["sin_dato"]
    for category in rules["categories"]:  # highest bound first
        hit = ~assigned & (pct >= category["min_pct"])
        out[hit] = code[category["key"]]
        if category["key"] == "grave":
            out[hit & (pct < critical_below)] = code["critica"]
        assigned |= hit
    return out, keys


def attendance_categories(pct: np.ndarray) -> np.ndarray:
    """Vectorised `layers.classify.attendance_category` (same rules file, same edges).

    `pct` is attendance in % (NaN = no data → ``"sin_dato"``); returns category keys.
    """
    codes, keys = _category_codes(pct)
    return np.array(keys, dtype=object)[codes]


def category_trend(
    attendance: pd.DataFrame,
    since: str | None = None,
    until: str | None = None,
    *,
    categories: Sequence[str] = CATEGORY_ORDER,
) -> pd.DataFrame:
    """Count listed cases per month and attendance category (that month's percentage).

    Returns a long table ``periodo``, ``categoria``, ``casos`` with every month × category
    pair (zeros included), months in order, categories in `categories` order. Rows
    with a column ``n`` count ``n`` cases each (a ``GROUP BY period, pct``). The
    category of a month is computed from that month's attendance with the Mineduc rules
    (`attendance_categories`), so a case improving from *grave* to
    *normal* shows in the trend.
    """
    month, every = _month_codes(attendance)
    periods = _in_range(every, since, until)
    first = every.index(periods[0]) if periods else 0
    month = np.where((month >= first) & (month < first + len(periods)), month - first, -1)
    keep = month >= 0
    codes, keys = _category_codes(
        pd.to_numeric(attendance["pct"], errors="coerce").to_numpy(float)[keep]
    )
    counts = np.bincount(
        month[keep].astype(np.int64) * len(keys) + codes,
        weights=_row_counts(attendance)[keep],
        minlength=len(periods) * len(keys),
    ).reshape(len(periods), len(keys))
    index = {k: i for i, k in enumerate(keys)}
    cats = list(categories)
    table = np.zeros((len(periods), len(cats)), dtype=np.int64)
    for j, category in enumerate(cats):
        if category in index:
            table[:, j] = counts[:, index[category]]
    return pd.DataFrame(
        {
            "periodo": np.repeat(periods, len(cats)),
            "categoria": np.tile(cats, len(periods)),
            "casos": table.reshape(-1).astype(int),
        }
    )
