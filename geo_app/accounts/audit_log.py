"""Reading the audit log: filters, pages and the CSV export (no Flask).

The log is written by every job through `geo_app.audit.record`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

from sqlalchemy import Select
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
        try:
            day = dt.date.fromisoformat(filters.get(key, ""))
        except ValueError:
            continue
        bound = dt.datetime.combine(day + dt.timedelta(days=key == "hasta"), dt.time(), dt.UTC)
        query = query.where(getattr(AuditEntry.at, op)(bound))
    return query


def audit_page(session: Session, filters: Mapping[str, str], page: int) -> dict:
    """Return page `page` (from 1) of the filtered log, newest first, as template variables.

    Keys: ``entries``, ``total``, ``page``, ``pages``, ``actions`` and
    ``filters`` (the non-empty filters, for the paging links).
    """
    query = audit_query(filters).order_by(AuditEntry.id.desc())
    entries, total, pages = paginate(session, query, page, AUDIT_PAGE)
    chosen = {k: v for k, v in filters.items() if k != "pagina" and v}
    return {
        "entries": entries,
        "total": total,
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
