"""Reading the audit log: filters, pages and the CSV export (no Flask).

The log is written by every job through `geo_app.audit.record`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.store import paginate
from geo_app.store.models import AuditEntry
from layers.export import safe_row

__all__ = ["ACTIONS", "AUDIT_PAGE", "audit_csv", "audit_page", "audit_query"]

AUDIT_PAGE = 100
ACTIONS = {
    "ver": "vio",
    "cambiar": "cambió",
    "exportar": "exportó",
    "acceso": "acceso",
    "cuentas": "cuentas",
}
CSV_COLUMNS = [
    "id", "fecha_utc", "usuario", "rol", "accion", "objeto", "id_objeto", "n_registros", "casos",
    "detalle", "ip",
]  # fmt: skip


def audit_query(filters: Mapping[str, str]) -> Select:
    """Entries matching the page's filters.

    `filters` may hold ``usuario``, ``accion`` (a key of `ACTIONS`), ``caso``
    (a case id), ``desde`` and ``hasta`` (ISO dates, both included); values
    that do not parse are ignored.
    """
    query = select(AuditEntry)
    if filters.get("usuario"):
        query = query.where(AuditEntry.username == filters["usuario"])
    if filters.get("accion") in ACTIONS:
        query = query.where(AuditEntry.action == filters["accion"])
    if filters.get("caso", "").isdigit():
        pattern = f"%,{int(filters['caso'])},%"
        query = query.where(("," + AuditEntry.case_ids + ",").like(pattern))
    for key, op in (("desde", "__ge__"), ("hasta", "__lt__")):
        day = _day(filters.get(key, ""))
        if day is None:
            continue
        bound = dt.datetime.combine(day + dt.timedelta(days=key == "hasta"), dt.time(), dt.UTC)
        query = query.where(getattr(AuditEntry.at, op)(bound))
    return query


def _day(text: str) -> dt.date | None:
    """Parse a date written ISO (2026-03-10, as the date field sends it) or DD-MM-AAAA."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def filter_problems(filters: Mapping[str, str]) -> list[str]:
    """Spanish sentences for each filter value that does not parse (and is therefore ignored)."""
    problems = []
    names = {"desde": "Desde", "hasta": "Hasta"}
    for key, label in names.items():
        value = filters.get(key, "").strip()
        if value and _day(value) is None:
            problems.append(
                f"«{label}»: «{value}» no es una fecha; use AAAA-MM-DD o DD-MM-AAAA. "
                "Se ignoró este filtro."
            )
    start, end = _day(filters.get("desde", "")), _day(filters.get("hasta", ""))
    if start and end and start > end:
        problems.append(
            f"«Desde» ({start:%d-%m-%Y}) es posterior a «Hasta» ({end:%d-%m-%Y}): "
            "ningún registro puede cumplir ambos."
        )
    case = filters.get("caso", "").strip()
    if case and not case.isdigit():
        problems.append(f"«Caso»: «{case}» no es un número de caso. Se ignoró este filtro.")
    action = filters.get("accion", "")
    if action and action not in ACTIONS:
        problems.append(f"«Acción»: «{action}» no existe. Se ignoró este filtro.")
    return problems


def audit_page(session: Session, filters: Mapping[str, str], page: int) -> dict:
    """Return page `page` (from 1) of the filtered log, newest first, as template variables.

    Keys: ``entries``, ``total``, ``page`` (clamped to the last page), ``asked_page``,
    ``pages``, ``actions``, ``problems`` (filters ignored, and why) and
    ``filters`` (the non-empty filters, for the paging links).
    """
    query = audit_query(filters).order_by(AuditEntry.id.desc())
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    last = max((total + AUDIT_PAGE - 1) // AUDIT_PAGE, 1)
    asked, page = page, min(max(page, 1), last)
    entries, total, pages = paginate(session, query, page, AUDIT_PAGE)
    chosen = {k: v for k, v in filters.items() if k != "pagina" and v}
    return {
        "entries": entries,
        "total": total,
        "asked_page": asked,
        "problems": filter_problems(filters),
        "page": page,
        "pages": pages,
        "actions": ACTIONS,
        "filters": chosen,
    }


def audit_csv(session: Session, filters: Mapping[str, str]) -> str:
    """Return the filtered log as CSV text (``;``, BOM, oldest first; formulas neutralised)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in session.scalars(audit_query(filters).order_by(AuditEntry.id)):
        writer.writerow(safe_row(
            [e.id, e.at.isoformat(timespec="seconds"), e.username, e.role, e.action, e.target,
             e.target_id, e.n_records, e.case_ids, e.detail, e.ip]
        ))  # fmt: skip
    return out.getvalue()
