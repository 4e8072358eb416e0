"""The audit log's writer: who viewed, changed or exported which cases (ids, never their data).

Every job records its own entries in the same transaction as the work; the
table only grows (the store refuses updates and deletes). Reading and
exporting the log is the accounts job (`geo_app.accounts.audit_log`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from geo_app.scope import Scope
from geo_app.store.models import AuditEntry

__all__ = ["record"]


def record(
    session: Session,
    scope: Scope | None,
    action: str,
    target: str,
    *,
    target_id: object = "",
    case_ids: Iterable[int] = (),
    n_records: int | None = None,
    detail: str = "",
    ip: str = "",
    username: str = "",
) -> AuditEntry:
    """Append one audit entry (ids of the cases concerned, never their personal data).

    `scope` is the acting account's, or None for a command or an anonymous
    visitor, who is then named by `username`.
    """
    ids = sorted({int(i) for i in case_ids})
    entry = AuditEntry(
        username=(scope.username if scope else username)[:60],
        role=scope.role if scope else "",
        action=action,
        target=target,
        target_id=str(target_id)[:60],
        n_records=len(ids) if n_records is None else n_records,
        case_ids=",".join(map(str, ids)),
        detail=detail[:300],
        ip=ip[:45],
    )
    session.add(entry)
    return entry
