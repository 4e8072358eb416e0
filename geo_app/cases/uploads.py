"""Importing through the web: the upload kept aside until confirmed, and each import page's step.

Upload → preview (or column mapping) → confirm: the file waits in the
instance folder under a random token, seen only by whoever sent it, until it
is imported or goes stale. Plain arguments, no Flask.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from geo_app.cases.context import CaseContext
from geo_app.cases.importing import Prepared
from geo_app.cases.importing import Progress
from geo_app.cases.importing import apply_import
from geo_app.cases.importing import mapping_change
from geo_app.cases.importing import prepare_import
from geo_app.cases.importing import save_mapping
from geo_app.cases.importing import stream_import
from geo_app.cases.importing import stream_review
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from layers.intake import CHUNK_ROWS
from layers.intake import FIELDS
from layers.intake import STREAM_LIMITS
from layers.intake import RawTable
from layers.intake import ReadLimits
from layers.intake import TableStream
from layers.intake import is_spreadsheet
from layers.intake import rejected_rows_csv

__all__ = [
    "DEMO_CLOSED",
    "PENDING_MAX_AGE_S",
    "ImportSizes",
    "PendingUploads",
    "batch_report",
    "confirm_upload",
    "import_history",
    "last_month",
    "mapping_choices",
    "prepare_upload",
    "rejected_rows",
    "save_headers_mapping",
    "save_upload_mapping",
    "start_sweeper",
    "stop_sweepers",
]

# An upload not confirmed within a working session (8 h) is deleted: it holds minors' data.
PENDING_MAX_AGE_S = 8 * 3600
log = logging.getLogger(__name__)
DEMO_CLOSED = (
    "Se desactivaron las cuentas de demostración ({}): sus contraseñas son públicas y la base "
    "ya tiene datos reales. Un administrador puede reactivarlas en Administración › Usuarios."
)
GONE = "Esta carga ya fue importada o venció; suba el archivo de nuevo."
XLSX_TOO_LARGE = (
    " Si la lista es así de grande, guárdela como CSV (en la planilla: Guardar como › «CSV "
    "UTF-8») y súbala: un CSV grande se revisa e importa por partes, sin ese límite."
)


@dataclass(frozen=True)
class ImportSizes:
    """When a web import reads its upload in chunks, and the most rows it takes (issue 22).

    Rule: a CSV upload of at least `stream_bytes` is reviewed and stored in chunks
    (`importing.stream_review`, `importing.stream_import`), in bounded memory and up to
    `max_rows` rows; a smaller CSV, and every XLSX, is read whole (`prepare_import`,
    within `layers.intake.ReadLimits`: 200,000 rows, 3,000,000 cells) — an XLSX because
    its merged ranges come after its rows, so it cannot be read in chunks. Why by size
    and not always: the whole-file review lists every issue and keeps the rejected rows'
    numbers in the import's report, which a team fixing a school's list wants; a streamed
    one keeps the first `importing.ISSUES_KEPT` of each kind (all counted, every rejected
    row in the downloadable CSV). The default, 5 MB, is about 30,000 rows of a usual
    list (≈ 170 bytes a row in `bench/intake.py`'s synthetic lists; Chiloé's whole list
    is about 20,000 students) and, at 25 bytes a row (RUN, RBD and a short name),
    200,000 rows: a CSV read whole stays within `ReadLimits`' rows, and the whole-file
    path's memory (+130 MB for 20,000 rows through the app, `bench/intake.py --web`)
    stays small. Settings ``IMPORT_STREAM_BYTES`` and ``IMPORT_MAX_ROWS``;
    ``IMPORT_CHUNK_ROWS`` (`layers.intake.CHUNK_ROWS`) the rows handled together.
    """

    stream_bytes: int = 5 * 2**20
    max_rows: int = 2_000_000
    chunk_rows: int = CHUNK_ROWS

    @classmethod
    def of(cls, config: Mapping) -> ImportSizes:
        """Read ``IMPORT_STREAM_BYTES``, ``IMPORT_MAX_ROWS`` and ``IMPORT_CHUNK_ROWS``."""
        return cls(int(config.get("IMPORT_STREAM_BYTES", cls.stream_bytes)),
                   int(config.get("IMPORT_MAX_ROWS", cls.max_rows)),
                   int(config.get("IMPORT_CHUNK_ROWS", cls.chunk_rows)))  # fmt: skip

    @property
    def limits(self) -> ReadLimits:
        """Bounds of a streamed CSV: `max_rows` rows (columns as `ReadLimits`)."""
        return ReadLimits(max_rows=self.max_rows, max_cells=STREAM_LIMITS.max_cells)

    def streams(self, path: Path, filename: str) -> bool:
        """Return True when the upload at `path` is read in chunks (see the rule above)."""
        return path.stat().st_size >= self.stream_bytes and not is_spreadsheet(path, filename)


@dataclass(frozen=True)
class PendingUploads:
    """Uploaded files waiting for confirmation: ``TOKEN.bin`` (the bytes) and ``TOKEN.json``."""

    folder: Path

    @classmethod
    def in_instance(cls, instance_path: str | Path) -> PendingUploads:
        """Return the uploads of an instance, in its ``importaciones`` folder (made 0700)."""
        folder = Path(instance_path) / "importaciones"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        return cls(folder)

    def keep(self, data: bytes | BinaryIO, filename: str, *, period: str | None, owner: str) -> str:
        """Keep an upload aside (dropping stale ones first); return its token.

        `data` is the file's bytes or a binary stream, copied to disk in blocks of 1 MB
        (a large upload is never whole in memory). Both files are created readable by the
        app's user only (0600).
        """
        token = secrets.token_urlsafe(18)
        self.drop_stale()
        meta = {"filename": Path(filename).name, "period": period, "owner": owner}
        _write_private(self.folder / f"{token}.bin", data)
        _write_private(self.folder / f"{token}.json", json.dumps(meta).encode("utf-8"))
        return token

    def read(self, token: str, *, owner: str) -> tuple[bytes, dict]:
        """Return the bytes and metadata of `owner`'s upload `token`.

        Raises
        ------
        NotFoundError
            A malformed token, an upload already imported or stale, or someone else's.
        """
        meta = self.meta(token, owner=owner)
        return (self.folder / f"{token}.bin").read_bytes(), meta

    def path(self, token: str, *, owner: str) -> tuple[Path, dict]:
        """Return the path and metadata of `owner`'s upload `token` (the bytes are not read).

        Raises
        ------
        NotFoundError
            As `read`.
        """
        meta = self.meta(token, owner=owner)
        return self.folder / f"{token}.bin", meta

    def meta(self, token: str, *, owner: str) -> dict:
        """Return the metadata of `owner`'s upload `token` (``filename``, ``period``, ``owner``).

        Raises
        ------
        NotFoundError
            As `read` (the bytes are not read).
        """
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
            raise NotFoundError
        data_path, meta_path = self.folder / f"{token}.bin", self.folder / f"{token}.json"
        if not data_path.is_file():
            raise NotFoundError(GONE)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("owner") != owner:  # an upload is only seen by whoever sent it
            raise NotFoundError(GONE)
        return meta

    def forget(self, token: str) -> None:
        """Delete an upload (after it was imported)."""
        (self.folder / f"{token}.bin").unlink(missing_ok=True)
        (self.folder / f"{token}.json").unlink(missing_ok=True)

    def drop_stale(self) -> int:
        """Remove uploads never confirmed within `PENDING_MAX_AGE_S`; return how many.

        Called when a new file arrives and by the app's sweeper thread (`start_sweeper`).
        """
        dropped = 0
        now = time.time()
        for old in self.folder.glob("*.bin"):
            try:
                age = now - old.stat().st_mtime
            except FileNotFoundError:  # imported or dropped by a concurrent request
                continue
            if age > PENDING_MAX_AGE_S:
                self.forget(old.stem)
                dropped += 1
        return dropped


def _write_private(path: Path, data: bytes | BinaryIO) -> None:
    """Write `data` (bytes, or a stream copied by blocks) to a new file only its owner may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        if isinstance(data, bytes):
            out.write(data)
        else:
            shutil.copyfileobj(data, out, 1 << 20)
    path.chmod(0o600)  # also when the file existed with other permissions


_SWEEPERS: list[tuple[threading.Thread, threading.Event]] = []  # see `stop_sweepers`


def start_sweeper(
    instance_path: str | Path, every_s: float = 600.0, also: Callable[[], object] | None = None
) -> threading.Thread:
    """Sweep stale uploads now and every `every_s` seconds, in a daemon thread.

    `also` is called on each round too (the app's stale import reviews and reports).
    The thread runs until `stop_sweepers` is called or the process ends.
    """
    stop = threading.Event()

    def sweep() -> None:
        while not stop.is_set():
            try:
                PendingUploads.in_instance(instance_path).drop_stale()
                if also is not None:
                    also()
            except (OSError, SQLAlchemyError):  # a full disk or a database down: try later
                log.warning("no se pudieron borrar cargas vencidas", exc_info=False)
            stop.wait(every_s)

    thread = threading.Thread(target=sweep, name="revincula-barrido-cargas", daemon=True)
    _SWEEPERS[:] = [(t, e) for t, e in _SWEEPERS if t.is_alive()] + [(thread, stop)]
    thread.start()
    return thread


def stop_sweepers(timeout: float = 30.0) -> None:
    """Stop the sweeper threads this process started and wait for them to end.

    For closing a database a sweeper may be using (a round in progress holds a
    pooled connection); the next `start_sweeper` starts a new one.
    """
    for _thread, stop in _SWEEPERS:
        stop.set()
    for thread, _stop in _SWEEPERS:
        thread.join(timeout)
    _SWEEPERS[:] = [(t, e) for t, e in _SWEEPERS if t.is_alive()]


def import_history(session: Session, scope: Scope, limit: int = 100) -> list[ImportBatch]:
    """Return the latest imports the account may see, newest first.

    An all-comunas account sees every import; a comuna-scoped one only its own
    (an import's file may hold any comuna, so no other is shown).
    """
    query = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)
    if not scope.all_comunas:
        query = query.where(ImportBatch.actor == scope.username)
    return list(session.scalars(query))


def last_month(today: dt.date) -> str:
    """Return the month before `today` as ``AAAA-MM`` (the usual month of a list)."""
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def prepare_upload(
    session: Session,
    context: CaseContext,
    uploads: PendingUploads,
    token: str,
    *,
    scope: Scope,
    use_saved_mapping: bool = True,
    progress: Progress | None = None,
) -> Prepared:
    """Validate the account's upload `token` against the cases in its scope (nothing is written).

    The account's own saved mapping for these headers applies unless
    `use_saved_mapping` is False (the page that shows it lets the user change it).

    Raises
    ------
    NotFoundError
        See `PendingUploads.read`.
    layers.intake.IntakeError
        The file cannot be read as a table.
    """
    data, meta = uploads.read(token, owner=scope.username)
    return prepare_import(
        session, context, data, meta["filename"], period=meta.get("period"), scope=scope,
        owner=scope.username, mapping=None if use_saved_mapping else {}, progress=progress,
    )  # fmt: skip


def mapping_choices(prepared: Prepared) -> dict[str, str]:
    """Return the file's header -> field key the column-mapping form starts from."""
    return {prepared.table.headers[i]: key for key, i in prepared.match.columns.items()}


def save_upload_mapping(
    session: Session,
    uploads: PendingUploads,
    token: str,
    *,
    scope: Scope,
    choices: Mapping[str, str],
) -> str:
    """Remember the account's own column mapping for files with the upload's headers.

    `choices` maps ``col<index>`` to a field key of `layers.intake.FIELDS`
    (anything else leaves that column unused). Returns the change for the audit log
    (`importing.mapping_change`).

    Raises
    ------
    NotFoundError, layers.intake.IntakeError
        As `prepare_upload`.
    """
    path, meta = uploads.path(token, owner=scope.username)
    headers = TableStream(str(path), meta["filename"]).head.headers  # the file's first lines
    return save_headers_mapping(session, headers, owner=scope.username,
                                choices=choices)  # fmt: skip


def save_headers_mapping(
    session: Session, headers: list[str], *, owner: str, choices: Mapping[str, str]
) -> str:
    """Remember `owner`'s column mapping for files with these `headers` (no file is read).

    `choices` as in `save_upload_mapping` (the review job already read the headers).
    Returns the change for the audit log.
    """
    table = RawTable(headers=list(headers), rows=[], row_numbers=[], kind="")  # its signature
    mapping = {}
    for index, header in enumerate(table.headers):
        choice = choices.get(f"col{index}", "")
        mapping[header] = choice if choice in FIELDS else ""
    before, after = save_mapping(session, table, mapping, owner=owner)
    return f"firma {table.signature[:12]}: " + mapping_change(before, after)


def rejected_rows(
    session: Session,
    context: CaseContext,
    uploads: PendingUploads,
    token: str,
    *,
    scope: Scope,
    sizes: ImportSizes | None = None,
) -> tuple[str, str, int]:
    """Return the upload's file name, its rejected rows as CSV (each with its errors), and how many.

    The messages echo stored data only of cases in `scope` (see `prepare_import`). With
    `sizes`, a CSV they say streams is reviewed in chunks (`importing.stream_review`).
    """
    path, meta = uploads.path(token, owner=scope.username)
    if sizes is not None and sizes.streams(path, meta["filename"]):
        review = stream_review(session, context, path, meta["filename"],
                               period=meta.get("period"), scope=scope, owner=scope.username,
                               limits=sizes.limits, chunk_rows=sizes.chunk_rows)  # fmt: skip
        body = ""
        if review.rejected_path is not None:
            body = review.rejected_path.read_bytes().decode("utf-8")
            review.rejected_path.unlink(missing_ok=True)
        return meta["filename"], body, review.n_rejected
    prepared = prepare_upload(session, context, uploads, token, scope=scope)
    body = rejected_rows_csv(prepared.table.headers, prepared.result)
    return prepared.filename, body, len(prepared.result.rejected)


def confirm_upload(
    session: Session,
    context: CaseContext,
    uploads: PendingUploads,
    token: str,
    *,
    scope: Scope,
    only_valid: bool,
    list_mode: str | None = None,
    progress: Progress | None = None,
    sizes: ImportSizes | None = None,
) -> tuple[ImportBatch, list[int]]:
    """Import the account's upload in the caller's transaction (see `apply_import`).

    Only rows the account may create or change are imported (the others are
    refused by row in the preview). Returns the batch and the ids of the cases it
    created or changed (for the audit log). The upload stays until the caller
    forgets it after the commit. `progress` as in `importing.prepare_import` (rows done
    of the total within each phase: validating, locating, storing).

    With `sizes`, a CSV they say streams (`ImportSizes.streams`) is stored in chunks by
    `importing.stream_import` (same rules and messages, bounded memory, up to
    `ImportSizes.max_rows`); without, the file is read whole.
    """
    path, meta = uploads.path(token, owner=scope.username)
    if sizes is not None and sizes.streams(path, meta["filename"]):
        outcome = stream_import(
            session, context, path, meta["filename"], actor=scope.username,
            only_valid=only_valid, list_mode=list_mode or None, period=meta.get("period"),
            scope=scope, comunas=scope.comunas, limits=sizes.limits, chunk_rows=sizes.chunk_rows,
            progress=progress,
        )  # fmt: skip
        if outcome.rejected_path is not None:  # the review offered them; the report counts them
            outcome.rejected_path.unlink(missing_ok=True)
        batch, updated = outcome.batch, outcome.updated_case_ids
    else:
        prepared = prepare_upload(session, context, uploads, token, scope=scope,
                                  progress=progress)  # fmt: skip
        batch = apply_import(
            session, context, prepared, only_valid=only_valid, actor=scope.username,
            comunas=scope.comunas, list_mode=list_mode or None, progress=progress,
        )  # fmt: skip
        updated = prepared.updated_case_ids
    touched = set(session.scalars(select(Case.id).where(Case.last_batch_id == batch.id)))
    return batch, sorted(touched | set(updated))


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
