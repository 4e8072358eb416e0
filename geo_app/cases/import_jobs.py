"""An import's two long steps as jobs: the review (read, validate, locate) and the store.

Both run through `geo_app.jobs` (a thread, or an RQ worker with ``REDIS_URL``) with
their state in the ``jobs`` table, keyed by the upload's token: reviewing or
confirming the same upload twice finds the same job, and a store commits its
«listo» in the same transaction as the cases, so it is stored once. The upload
stays in the instance folder until the store ends well; a failed job keeps it and
says why (Spanish), and «Reintentar» runs it again. The worker reads uploads from
the same instance folder as the web (same server, or a shared volume).

The storing itself is `geo_app.cases.uploads.confirm_upload` (`importing.apply_import`).
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo_app import jobs
from geo_app.audit import record
from geo_app.cases.context import case_context
from geo_app.cases.importing import ISSUES_KEPT
from geo_app.cases.importing import ImportRejectedError
from geo_app.cases.importing import Prepared
from geo_app.cases.importing import StreamReview
from geo_app.cases.importing import stream_review
from geo_app.cases.uploads import GONE
from geo_app.cases.uploads import PENDING_MAX_AGE_S
from geo_app.cases.uploads import XLSX_TOO_LARGE
from geo_app.cases.uploads import ImportSizes
from geo_app.cases.uploads import PendingUploads
from geo_app.cases.uploads import confirm_upload
from geo_app.cases.uploads import mapping_choices
from geo_app.cases.uploads import prepare_upload
from geo_app.errors import NotFoundError
from geo_app.store.models import JobRow
from layers.intake import IntakeError
from layers.intake import TooLargeError
from layers.intake import is_spreadsheet
from layers.intake import rejected_rows_csv

__all__ = [
    "REVIEW",
    "STORE",
    "TARGETS",
    "forget_review",
    "read_error",
    "review_job",
    "review_summary",
    "start_review",
    "start_store",
    "store_job",
    "sweep_jobs",
    "token_job",
    "warm",
]

log = logging.getLogger(__name__)
REVIEW = "importar_revision"
STORE = "importar_guardar"
TARGETS = {
    REVIEW: "geo_app.cases.import_jobs:review_job",
    STORE: "geo_app.cases.import_jobs:store_job",
}
FAILED = (
    "La importación falló y no se guardó nada (se deshizo completa). El archivo sigue cargado: "
    "pulse «Importar» o «Reintentar»."
)
CONCURRENT = (
    "Otra importación cambió los mismos casos al mismo tiempo; no se guardó nada de este "
    "archivo. Pulse «Reintentar»."
)


def warm(app: Flask) -> None:
    """Build the case context an import job needs (`geo_app.worker.preload`, before a fork)."""
    case_context(app)


def sweep_jobs(app: Flask) -> int:
    """Delete reviews and PDF reports untouched for `PENDING_MAX_AGE_S` (8 h); return how many.

    A review echoes the file's cells (minors' data) and lives as long as its upload; a
    report's PDF is fetched at once or made again.
    """
    from geo_app.reports.report_jobs import REPORT

    return jobs.sweep(app, (REVIEW, REPORT), PENDING_MAX_AGE_S)


def _key(kind: str, token: str) -> str:
    return f"{'revisar' if kind == REVIEW else 'importar'}:{token}"


def token_job(session: Session, kind: str, token: str, owner: str) -> JobRow | None:
    """Return `owner`'s job of `kind` for upload `token`, or None (someone else's is None too)."""
    row = session.scalar(select(JobRow).where(JobRow.key == _key(kind, token)))
    return row if row is not None and row.owner == owner else None


def start_review(app: Flask, token: str, owner: str, *, retry: bool = False):
    """Start (once) the review of `owner`'s upload `token`; return ``(job_id, handle)``."""
    return jobs.ensure(app, REVIEW, _key(REVIEW, token), TARGETS[REVIEW], owner=owner,
                       params={"token": token}, retry=retry)  # fmt: skip


def forget_review(session: Session, token: str) -> None:
    """Drop the review of `token` (its column mapping changed): the next visit reviews again.

    A review still running finds its row gone and stores nothing.
    """
    session.execute(delete(JobRow).where(JobRow.key == _key(REVIEW, token)))


def start_store(
    app: Flask,
    token: str,
    owner: str,
    *,
    only_valid: bool,
    list_mode: str | None,
    ip: str = "",
    n_rows: int = 0,
):
    """Start (once) storing `owner`'s upload `token`; return ``(job_id, handle)``.

    A store already queued, running or done is left alone (confirming twice stores
    once); a failed one runs again with these choices. `n_rows` (valid rows of the
    review) is the progress total shown while storing.
    """
    params = {"token": token, "only_valid": only_valid, "list_mode": list_mode or None,
              "ip": ip, "n_rows": n_rows}  # fmt: skip
    return jobs.ensure(app, STORE, _key(STORE, token), TARGETS[STORE], owner=owner,
                       params=params, retry=True)  # fmt: skip


def review_job(app: Flask, job_id: int, attempt: int) -> None:
    """Review an upload (thread or RQ worker).

    Its `review_summary` becomes the job's result and its rejected rows (CSV with the
    errors, `layers.intake.rejected_rows_csv`) the job's output.
    """
    with app.app_context():
        jobs.run_tracked(app, job_id, attempt, lambda run: _review(app, run))


def _review(app: Flask, run: jobs.JobRun) -> None:
    scope = jobs.owner_scope(app, run.owner)
    uploads = PendingUploads.in_instance(app.instance_path)
    sizes = ImportSizes.of(app.config)
    run.progress(0, 0, "Leyendo, validando y ubicando las filas")
    try:
        path, meta = uploads.path(run.params["token"], owner=scope.username)
        with app.extensions["revincula.db"]() as session, session.begin():
            if sizes.streams(path, meta["filename"]):  # a large CSV: in chunks
                found = stream_review(session, case_context(app), path, meta["filename"],
                                      period=meta.get("period"), scope=scope,
                                      owner=scope.username, limits=sizes.limits,
                                      chunk_rows=sizes.chunk_rows,
                                      progress=run.progress)  # fmt: skip
            else:
                found = prepare_upload(session, case_context(app), uploads, run.params["token"],
                                       scope=scope, progress=run.progress)  # fmt: skip
    except IntakeError as err:
        raise jobs.JobError(read_error(err, uploads, run)) from err
    except NotFoundError as err:
        raise jobs.JobError(GONE) from err
    summary = review_summary(found)
    run.progress(summary["n_rows"], summary["n_rows"], "Revisión lista")
    with app.extensions["revincula.db"]() as session, session.begin():
        run.finish(session, summary, output=_rejected_bytes(found),
                   message="Revisión lista")  # fmt: skip


def read_error(err: IntakeError, uploads: PendingUploads, run: jobs.JobRun) -> str:
    """Return the Spanish reason a job could not read an upload.

    A workbook beyond `layers.intake.ReadLimits` (read whole: its merged ranges come
    after its rows) is told to save it as CSV, which the web imports in chunks.
    """
    spreadsheet = False
    if isinstance(err, TooLargeError):
        path, meta = uploads.path(run.params["token"], owner=run.owner)
        spreadsheet = is_spreadsheet(path, meta["filename"])
    return f"No se pudo leer el archivo: {err}" + (XLSX_TOO_LARGE if spreadsheet else "")


def _rejected_bytes(found: Prepared | StreamReview) -> bytes | None:
    """Return the rejected rows' CSV of a review (`layers.intake.rejected_rows_csv`), or None."""
    if isinstance(found, StreamReview):
        if found.rejected_path is None:
            return None
        try:
            return found.rejected_path.read_bytes()
        finally:
            found.rejected_path.unlink(missing_ok=True)
    if not found.result.rejected:
        return None
    return rejected_rows_csv(found.table.headers, found.result).encode("utf-8")


def review_summary(found: Prepared | StreamReview) -> dict:
    """Return what the review and column-mapping pages show of a prepared file (JSON).

    Keys: ``filename``, ``kind``, ``encoding``, ``delimiter``, ``n_rows``, ``n_valid``,
    ``n_rejected``, ``n_new``, ``n_updated``, ``n_missing``, ``n_scope_refused``,
    ``ignored``, ``geocode`` (method -> rows), ``saved_mapping`` (``mapping``, ``date``
    DD-MM-AAAA, or None), ``issues`` (row, column, value, code, severity, message),
    ``n_errors``, ``n_warnings``, ``shortfalls`` (rbd, name, n_file, n_previous,
    n_missing), ``can_import_all``, ``can_import_valid``, ``complete`` (columns matched),
    ``headers``, ``sample`` (first row's cells), ``current`` (header -> field),
    ``updated_case_ids`` (for the audit log), ``por_partes`` (True for a file reviewed in
    chunks, `importing.stream_review`: ``issues`` then holds the first
    ``issues_kept_per_code`` of each kind, the counts are of all).
    """
    if isinstance(found, StreamReview):
        counts = {
            "n_rows": found.n_rows, "n_valid": found.n_valid, "n_rejected": found.n_rejected,
            "n_new": found.n_new, "n_updated": found.n_updated, "n_missing": found.n_missing,
            "n_scope_refused": found.n_scope_refused, "geocode": found.geocode,
            "issues": [i.as_dict() for i in found.issues], "n_errors": found.n_errors,
            "n_warnings": found.n_warnings, "por_partes": True,
            "issues_kept_per_code": ISSUES_KEPT,
        }  # fmt: skip
    else:
        result = found.result
        counts = {
            "n_rows": result.n_rows, "n_valid": len(result.records),
            "n_rejected": len(result.rejected), "n_new": len(found.new_runs),
            "n_updated": len(found.updated_runs), "n_missing": len(found.missing_runs),
            "n_scope_refused": len(found.scope_refused), "geocode": found.geocode_summary(),
            "issues": [i.as_dict() for i in result.issues], "n_errors": len(result.errors),
            "n_warnings": len(result.issues) - len(result.errors), "por_partes": False,
        }  # fmt: skip
    table, saved = found.table, found.saved_mapping
    when = saved and (saved.updated_at or saved.created_at)
    return {
        "filename": found.filename,
        "kind": table.kind,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        **counts,
        "ignored": list(found.match.ignored),
        "saved_mapping": None
        if saved is None
        else {"mapping": dict(saved.mapping), "date": when.strftime("%d-%m-%Y") if when else ""},
        "shortfalls": [
            {
                "rbd": s.rbd,
                "name": s.name,
                "n_file": s.n_file,
                "n_previous": s.n_previous,
                "n_missing": s.n_missing,
            }
            for s in found.shortfalls
        ],
        "can_import_all": found.can_import_all,
        "can_import_valid": found.can_import_valid,
        "complete": found.match.complete,
        "headers": list(table.headers),
        "sample": list(table.rows[0]) if table.rows else [],
        "current": mapping_choices(found),
        "updated_case_ids": list(found.updated_case_ids),
    }


def store_job(app: Flask, job_id: int, attempt: int) -> None:
    """Store an upload (thread or RQ worker); the upload is deleted once it is stored."""
    with app.app_context():
        jobs.run_tracked(app, job_id, attempt, lambda run: _store(app, run))


def _store(app: Flask, run: jobs.JobRun) -> None:
    scope = jobs.owner_scope(app, run.owner)
    uploads = PendingUploads.in_instance(app.instance_path)
    params, token = run.params, run.params["token"]
    run.progress(0, params.get("n_rows", 0), "Revisando y guardando las filas")
    try:
        with app.extensions["revincula.db"]() as session, session.begin():
            batch, case_ids = confirm_upload(
                session,
                case_context(app),
                uploads,
                token,
                scope=scope,
                only_valid=bool(params.get("only_valid")),
                list_mode=params.get("list_mode"),
                progress=jobs.progress,  # rows of each phase (PostgreSQL; see jobs.progress)
                sizes=ImportSizes.of(app.config),  # a large CSV: stored in chunks
            )
            record(session, scope, "cambiar", "importacion", target_id=batch.id,
                   case_ids=case_ids, ip=params.get("ip", ""))  # fmt: skip
            result = {"batch_id": batch.id, "n_valid": batch.n_valid,
                      "demo_desactivadas": batch.report.get("demo_desactivadas", [])}  # fmt: skip
            session.execute(
                JobRow.__table__.update()
                .where(JobRow.id == run.job_id)
                .values(total=batch.n_valid)  # rows stored: the final count
            )
            run.finish(session, result, message="Importación terminada")
            forget_review(session, token)  # it echoed the file's cells: not kept
    except ImportRejectedError as err:
        raise jobs.JobError(str(err)) from err
    except IntakeError as err:
        raise jobs.JobError(read_error(err, uploads, run)) from err
    except NotFoundError as err:
        raise jobs.JobError(GONE) from err
    except StaleDataError as err:
        raise jobs.JobError(CONCURRENT) from err
    except Exception as err:  # a fault while saving: all rolled back, the upload kept
        log.error("import job %s failed: %s", run.job_id, type(err).__name__)  # no data
        raise jobs.JobError(FAILED) from err
    uploads.forget(token)  # stored: the minors' data leave the instance folder
