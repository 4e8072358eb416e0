"""Counts of cases by comuna and category: what a mesa intersectorial may see.

For the mesa role every count from 1 to ``k - 1`` (k = ``SUPPRESSION_K``, 10 by
default) is shown as ``"<k"``, with complementary suppression
(`layers.privacy.protect`) so that no hidden count can be worked out from a
total, from the other columns (located / not located) or from the other table
— the same rule as the coverage tables (issue 25 item 18).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Student
from layers.diagnosis import CATEGORY_ORDER

__all__ = [
    "CATEGORY_ORDER",
    "DEFAULT_K",
    "SMALL_COUNT",
    "by_comuna",
    "count_cases",
    "hidden",
    "protect_rows",
    "suppress_small",
]

DEFAULT_K = 10
SMALL_COUNT = DEFAULT_K  # kept for callers; the setting SUPPRESSION_K rules


def hidden(n: int, k: int = DEFAULT_K) -> int | str:
    """Return `n`, or ``"<k"`` when it is a small non-zero count (primary suppression only)."""
    return f"<{k}" if 0 < n < k else n


def protect_rows(
    rows: dict[str, dict[str, dict[str, int]]], columns: dict[str, list[str]], k: int
) -> tuple[dict[str, dict[str, dict[str, int | str]]], dict[str, int | str]]:
    """Protect linked one-way tables of counts (primary and complementary suppression).

    Parameters
    ----------
    rows
        ``{layer: {row label: {column: count}}}``; every layer counts the same
        cases per row (e.g. by category, and located / not located).
    columns
        ``{layer: column labels}``.
    k
        Counts from 1 to ``k - 1`` are hidden.

    Returns
    -------
    (tables, totals)
        ``tables[layer][row][column]`` and ``tables[layer][row]["total"]``: the
        count, or ``"<k"``; ``totals[column]`` per column of all rows (and
        ``"total"``), as published.
    """
    key = (
        repr(sorted((layer, sorted((lab, sorted(c.items())) for lab, c in t.items()))
                    for layer, t in rows.items())),
        repr(sorted((layer, list(cols)) for layer, cols in columns.items())),
        k,
    )  # fmt: skip
    return _protect_rows_cached(key, rows, columns, k)


_PROTECTED: dict = {}


def _protect_rows_cached(key, rows, columns, k):
    """`protect_rows` for the same counts computes once per process (the LPs take seconds)."""
    import copy

    if key not in _PROTECTED:
        if len(_PROTECTED) > 256:
            _PROTECTED.clear()
        _PROTECTED[key] = _protect_rows(rows, columns, k)
    return copy.deepcopy(_PROTECTED[key])


def _protect_rows(rows, columns, k):
    from layers.privacy import TOTAL
    from layers.privacy import protect

    bands = [c for layer in columns for c in columns[layer]]
    records = [
        {"layer": layer, "comuna_name": label, "island_name": "todas", "band": column,
         "cases": int(cells.get(column, 0)) if column in columns[layer] else 0}
        for layer, table in rows.items()
        for label, cells in table.items()
        for column in bands
    ]  # fmt: skip
    out: dict = {layer: {} for layer in rows}
    totals: dict = {}
    if not records:
        return out, totals
    protected = protect(pd.DataFrame(records), value="cases", bands=bands, k=k)
    for layer in rows:
        shown = protected.shown(layer, "comuna").replace("*", f"<{k}")
        for label in shown.index:
            target = totals if label == TOTAL else out[layer].setdefault(label, {})
            for column in [*columns[layer], TOTAL]:
                text = shown.at[label, column]
                target["total" if column == TOTAL else column] = (
                    int(text) if text.isdigit() else text
                )
    return out, totals


def suppress_small(counts: dict, k: int = DEFAULT_K) -> dict:
    """Protect a one-way table of counts (``{label: n}``) with complementary suppression."""
    table, _ = protect_rows({"t": {"todas": counts}}, {"t": list(counts)}, k)
    return {key: table["t"]["todas"][key] for key in counts} if counts else {}


def count_cases(
    session: Session,
    scope: Scope,
    *,
    listed: bool = False,
    synthetic: bool = False,
    located: bool = False,
) -> int:
    """Cases in scope; only those in the latest list, synthetic or with a point, when asked."""
    query = select(func.count()).select_from(Case)
    if located:
        query = query.where(Case.lon.is_not(None))
    if synthetic:
        query = query.join(Student).where(Student.synthetic.is_(True))
    if listed:
        query = query.where(Case.in_latest_list)
    return session.scalar(scope.cases(query)) or 0


def by_comuna(session: Session, scope: Scope, *, suppress: bool, k: int = DEFAULT_K) -> list[dict]:
    """One row per comuna in scope: total cases in the latest list, by category, located.

    The comuna of a case is the comuna of its home (or of its school). With
    `suppress`, counts are protected (`protect_rows`): by category and
    located / not located are linked tables sharing each comuna's total.
    """
    query = scope.cases(
        select(Case.comuna, Case.category, func.count(), func.count(Case.lon))
        .where(Case.in_latest_list)
        .group_by(Case.comuna, Case.category)
    )
    rows: dict[str, dict] = {}
    for comuna, category, n, located in session.execute(query):
        row = rows.setdefault(comuna or "sin comuna", {"total": 0, "ubicados": 0})
        row[category] = row.get(category, 0) + n
        row["total"] += n
        row["ubicados"] += located
    out = []
    for comuna in sorted(rows):
        row = rows[comuna]
        cells = {"comuna": comuna, "total": row["total"], "ubicados": row["ubicados"]}
        cells.update({c: row.get(c, 0) for c in CATEGORY_ORDER})
        out.append(cells)
    if suppress and out:
        layers = {
            "categoria": {r["comuna"]: {c: r[c] for c in CATEGORY_ORDER} for r in out},
            "ubicacion": {
                r["comuna"]: {"ubicados": r["ubicados"], "sin_ubicar": r["total"] - r["ubicados"]}
                for r in out
            },
        }
        columns = {"categoria": list(CATEGORY_ORDER), "ubicacion": ["ubicados", "sin_ubicar"]}
        tables, _ = protect_rows(layers, columns, k)
        for r in out:
            r.update(tables["categoria"][r["comuna"]])
            r["ubicados"] = tables["ubicacion"][r["comuna"]]["ubicados"]
    return out
