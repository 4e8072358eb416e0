"""Importing through the web: the upload kept aside until confirmed, and each import page's step.

Upload → preview (or column mapping) → confirm: the file waits in the
instance folder under a random token, seen only by whoever sent it, until it
is imported or goes stale. Plain arguments, no Flask.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.context import CaseContext
from geo_app.cases.importing import Prepared
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import prepare_import
from geo_app.cases.importing import save_mapping
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import ImportBatch
from layers.intake import FIELDS
from layers.intake import rejected_rows_csv

__all__ = [
    "PENDING_MAX_AGE_S",
    "PendingUploads",
    "batch_report",
    "confirm_upload",
    "import_history",
    "last_month",
    "mapping_choices",
    "prepare_upload",
    "rejected_rows",
    "save_upload_mapping",
]

PENDING_MAX_AGE_S = 2 * 24 * 3600
GONE = "Esta carga ya fue importada o venció; suba el archivo de nuevo."


@dataclass(frozen=True)
class PendingUploads:
    """Uploaded files waiting for confirmation: ``TOKEN.bin`` (the bytes) and ``TOKEN.json``."""

    folder: Path

    @classmethod
    def in_instance(cls, instance_path: str | Path) -> PendingUploads:
        """Return the uploads of an instance, in its ``importaciones`` folder (made if needed)."""
        folder = Path(instance_path) / "importaciones"
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder)

    def keep(self, data: bytes, filename: str, *, period: str | None, owner: str) -> str:
        """Keep an upload aside (dropping stale ones first); return its token."""
        token = secrets.token_urlsafe(18)
        self._drop_stale()
        (self.folder / f"{token}.bin").write_bytes(data)
        meta = {"filename": Path(filename).name, "period": period, "owner": owner}
        (self.folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
        return token

    def read(self, token: str, *, owner: str) -> tuple[bytes, dict]:
        """Return the bytes and metadata of `owner`'s upload `token`.

        Raises
        ------
        NotFoundError
            A malformed token, an upload already imported or stale, or someone else's.
        """
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
            raise NotFoundError
        data_path, meta_path = self.folder / f"{token}.bin", self.folder / f"{token}.json"
        if not data_path.is_file():
            raise NotFoundError(GONE)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("owner") != owner:  # an upload is only seen by whoever sent it
            raise NotFoundError(GONE)
        return data_path.read_bytes(), meta

    def forget(self, token: str) -> None:
        """Delete an upload (after it was imported)."""
        (self.folder / f"{token}.bin").unlink(missing_ok=True)
        (self.folder / f"{token}.json").unlink(missing_ok=True)

    def _drop_stale(self) -> None:
        """Remove uploads never confirmed (checked when a new file arrives)."""
        now = time.time()
        for old in self.folder.glob("*.bin"):
            try:
                age = now - old.stat().st_mtime
            except FileNotFoundError:  # imported or dropped by a concurrent request
                continue
            if age > PENDING_MAX_AGE_S:
                self.forget(old.stem)


def import_history(session: Session, limit: int = 100) -> list[ImportBatch]:
    """Return the latest imports, newest first."""
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def last_month(today: dt.date) -> str:
    """Return the month before `today` as ``AAAA-MM`` (the usual month of a list)."""
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def prepare_upload(
    session: Session, context: CaseContext, uploads: PendingUploads, token: str, *, owner: str
) -> Prepared:
    """Validate `owner`'s upload `token` against the store (nothing is written).

    Raises
    ------
    NotFoundError
        See `PendingUploads.read`.
    layers.intake.IntakeError
        The file cannot be read as a table.
    """
    data, meta = uploads.read(token, owner=owner)
    return prepare_import(session, context, data, meta["filename"], period=meta.get("period"))


def mapping_choices(prepared: Prepared) -> dict[str, str]:
    """Return the file's header -> field key the column-mapping form starts from."""
    return {prepared.table.headers[i]: key for key, i in prepared.match.columns.items()}


def save_upload_mapping(
    session: Session,
    context: CaseContext,
    uploads: PendingUploads,
    token: str,
    *,
    owner: str,
    choices: Mapping[str, str],
) -> None:
    """Remember the user's column mapping for files with the upload's headers.

    `choices` maps ``col<index>`` to a field key of `layers.intake.FIELDS`
    (anything else leaves that column unused).

    Raises
    ------
    NotFoundError, layers.intake.IntakeError
        As `prepare_upload`.
    """
    data, meta = uploads.read(token, owner=owner)
    prepared = prepare_import(session, context, data, meta["filename"])
    mapping = {}
    for index, header in enumerate(prepared.table.headers):
        choice = choices.get(f"col{index}", "")
        mapping[header] = choice if choice in FIELDS else ""
    save_mapping(session, prepared.table, mapping)


def rejected_rows(
    session: Session, context: CaseContext, uploads: PendingUploads, token: str, *, owner: str
) -> tuple[Prepared, str]:
    """Return the prepared upload and its rejected rows as CSV, each with its errors."""
    prepared = prepare_upload(session, context, uploads, token, owner=owner)
    return prepared, rejected_rows_csv(prepared.table.headers, prepared.result)


def confirm_upload(
    session: Session,
    context: CaseContext,
    uploads: PendingUploads,
    token: str,
    *,
    owner: str,
    only_valid: bool,
    comunas: tuple[str, ...],
) -> ImportBatch:
    """Import `owner`'s upload in the caller's transaction (see `apply_import`).

    The upload stays until the caller forgets it after the commit.
    """
    prepared = prepare_upload(session, context, uploads, token, owner=owner)
    return apply_import(
        session, context, prepared, only_valid=only_valid, actor=owner, comunas=comunas
    )


def batch_report(session: Session, scope: Scope, batch_id: int, *, actor: str) -> ImportBatch:
    """Return the stored report of one import, to whoever made it or an all-comunas account.

    Raises
    ------
    NotFoundError
        No such import, or neither condition holds.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None or not (scope.all_comunas or batch.actor == actor):
        msg = "No existe esa importación o no está en su ámbito."
        raise NotFoundError(msg)
    return batch
