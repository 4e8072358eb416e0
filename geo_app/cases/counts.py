"""Counts of cases by comuna and category: what a mesa intersectorial may see.

Counts from 1 to ``SMALL_COUNT - 1`` are shown as ``"<5"`` to the mesa role
(small-cell suppression, as statistical offices do), so a count of one can
never point at a single family in a small island.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Student

__all__ = ["CATEGORY_ORDER", "SMALL_COUNT", "by_comuna", "count_cases", "hidden", "suppress_small"]

SMALL_COUNT = 5
CATEGORY_ORDER = (
    "critica",
    "grave",
    "reiterada",
    "sin_matricula",
    "normal",
    "destacada",
    "sin_dato",
)


def hidden(n: int) -> int | str:
    """Return `n`, or ``"<5"`` when it is a small non-zero count."""
    return f"<{SMALL_COUNT}" if 0 < n < SMALL_COUNT else n


def suppress_small(counts: dict) -> dict:
    """Apply `hidden` to every count of a mapping."""
    return {key: hidden(n) for key, n in counts.items()}


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


def by_comuna(session: Session, scope: Scope, *, suppress: bool) -> list[dict]:
    """One row per comuna in scope: total cases in the latest list, by category, located.

    The comuna of a case is the comuna of its home (or of its school).
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
        if suppress:
            cells = {k: (hidden(v) if isinstance(v, int) else v) for k, v in cells.items()}
        out.append(cells)
    return out
