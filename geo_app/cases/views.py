"""Pages for cases: list with filters, detail, pin moving, import (upload → preview → confirm).

Blueprint "cases".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from geo_app import jobs
from geo_app.cases import import_jobs
from geo_app.cases import map_layer
from geo_app.cases import service
from geo_app.cases import uploads
from geo_app.cases import workflow
from geo_app.cases.context import CaseContext
from geo_app.cases.context import case_context
from geo_app.errors import NotFoundError
from geo_app.security import ALL_ROLES
from geo_app.security import PEOPLE
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.security import client_ip
from geo_app.store.models import JobRow
from geo_app.store.models import utcnow
from geo_app.web import audit
from geo_app.web import csv_download
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session
from geo_app.web import revalidated
from layers.intake import FIELDS
from layers.intake import IntakeError
from layers.intake import parse_period
from layers.text import count_label

__all__ = ["bp"]

bp = Blueprint("cases", __name__, template_folder="templates")
log = logging.getLogger(__name__)


def _context() -> CaseContext:
    return case_context(current_app)


def _uploads() -> uploads.PendingUploads:
    return uploads.PendingUploads.in_instance(current_app.instance_path)


def _pin_form(form) -> tuple[float, float, int, dict]:
    """Latitude, longitude, case version and sector options of the pin form.

    ValueError in Spanish if wrong. The options are ``sector`` (when the box
    «este punto es el sector» is ticked) and ``accuracy_m`` (a GPS fix).
    """
    try:
        lat, lon, version = float(form["lat"]), float(form["lon"]), int(form["version"])
        accuracy = float(form["precision"]) if form.get("precision") else None
    except (KeyError, ValueError) as err:
        msg = "Ubicación no válida: haga clic en el mapa para elegir el punto."
        raise ValueError(msg) from err
    sector = form.get("sector", "").strip() if form.get("confirmar") == "1" else ""
    return lat, lon, version, {"sector": sector, "accuracy_m": accuracy}


def _pin_flashes(outcome: service.PinOutcome) -> None:
    flash(_pin_message(outcome), "ok")
    if outcome.warning:
        flash(outcome.warning, "error")


def _pin_message(outcome: service.PinOutcome) -> str:
    text = "Ubicación guardada" + (" (GPS)." if outcome.case.geocode_match.startswith("GPS")
                                   else " (ubicado a mano).")  # fmt: skip
    if outcome.place is not None:
        row, moved = outcome.place.row, len(outcome.place.relocated)
        more = count_label(moved, "caso más reubicado", "casos más reubicados")
        text += f" Sector «{row.name}» confirmado en este punto (entrada {row.id} de Lugares): "
        text += f"{more}."
    return text


def _stage_settings() -> dict:
    return {"now": utcnow(), "stage_days": current_app.config.get("CASE_STAGE_DAYS") or None}


# --------------------------------------------------------------------------- list and detail


@bp.get("/casos")
@allow(*PEOPLE)
def case_list() -> str:
    """Cases in the account's scope, highest priority first, with filters."""
    page = max(request.args.get("pagina", 1, type=int), 1)
    filters = service.recall_search(session, request.args.to_dict())
    with db_session() as db, db.begin():
        found = service.case_list_page(
            db, _context(), current_scope(), filters, page, **_stage_settings()
        )
        ids = [c.id for c in found["cases"]]
        audit(db, "ver", "lista_casos", case_ids=ids, detail=found.pop("audit_detail"))
    return render_template("cases/cases.html", **found)


@bp.post("/casos/buscar")
@allow(*PEOPLE)
def case_search():
    """Keep the search on the server and show the list by its id (no name or RUN in URLs)."""
    return redirect(url_for("cases.case_list", **service.remember_search(session, request.form)))


@bp.get("/casos/<int:case_id>")
@allow(*PEOPLE)
def case_detail(case_id: int) -> str:
    """One case: map, attendance history, contacts, changes."""
    with db_session() as db, db.begin():
        found = service.case_page(db, _context(), current_scope(), case_id, **_stage_settings())
        audit(db, "ver", "caso", target_id=case_id, case_ids=[case_id])
        return render_template("cases/case_detail.html", **found)


@bp.post("/casos/<int:case_id>/ubicacion")
@allow(*PEOPLE)
def case_move(case_id: int):
    """Move a case's pin by hand or GPS; optionally confirm its sector (who and when recorded)."""
    back = redirect(url_for("cases.case_detail", case_id=case_id))
    try:
        lat, lon, version, options = _pin_form(request.form)
        with db_session() as db, db.begin():
            outcome = service.pin_case(db, _context(), current_scope(), case_id, lon, lat,
                                       actor=current_actor(), expected_version=version,
                                       **options)  # fmt: skip
            moved = outcome.place.relocated if outcome.place else []
            audit(db, "cambiar", "ubicacion_caso", target_id=case_id, case_ids=[case_id, *moved])
    except ValueError as err:  # a bad point, a point in the sea, or a stale form (409)
        flash(str(err), "error")
        return back, 409 if isinstance(err, service.EditConflictError) else 302
    _pin_flashes(outcome)
    return back


@bp.post("/casos/<int:case_id>/etapa")
@allow(*STAFF)
def case_stage(case_id: int):
    """Confirm, correct or discard a proposed stage, or move the case's stage by hand."""
    form = request.form
    with db_session() as db, db.begin():
        change = workflow.decide_stage(
            db, current_scope(), case_id, action=form.get("accion", ""),
            stage=form.get("etapa", ""), change_id=form.get("propuesta", type=int),
            reason=form.get("motivo", ""), note=form.get("nota", ""), actor=current_actor(),
            now=utcnow(), expected_version=form.get("version", -1, type=int),
        )  # fmt: skip
        audit(db, "cambiar", "etapa_caso", target_id=case_id, case_ids=[case_id],
              detail=f"{change.status}: {change.to_stage}")  # fmt: skip
    flash(f"Etapa {change.status}.", "ok")
    return redirect(url_for("cases.case_detail", case_id=case_id))


@bp.post("/casos/<int:case_id>/ubicacion/deshacer-gps")
@allow(*STAFF)
def case_undo_gps(case_id: int):
    """Put back the point a visit's GPS fix replaced."""
    back = redirect(url_for("cases.case_detail", case_id=case_id))
    try:
        with db_session() as db, db.begin():
            version = request.form.get("version", -1, type=int)
            service.undo_gps(db, current_scope(), case_id, actor=current_actor(),
                             expected_version=version)  # fmt: skip
            audit(db, "cambiar", "ubicacion_caso", target_id=case_id, case_ids=[case_id])
    except ValueError as err:
        flash(str(err), "error")
        return back
    flash("Se restauró la ubicación anterior al GPS.", "ok")
    return back


@bp.get("/api/casos.geojson")
@allow(*PEOPLE)
def cases_geojson() -> Response:
    """Case layer of the map for the view ``?bbox=oeste,sur,este,norte&zoom=z`` (optional).

    Points (no names; ``no-store``, audited) when the view holds at most
    ``MAP_POINT_LIMIT`` located cases in scope or is small (zoomed in), else counts per
    H3 cell (revalidated by ETag); see `geo_app.cases.map_layer`.
    """
    view = map_layer.parse_view(request.args)
    scope = current_scope()
    with db_session() as db, db.begin():
        found = map_layer.survey(db, scope, view)
        if found.in_view > current_app.config["MAP_POINT_LIMIT"] and not view.small:
            layer = lambda: json.dumps(map_layer.cluster_layer(db, scope, view))  # noqa: E731
            return revalidated(layer, "application/geo+json", map_layer.etag(found, view))
        features = service.case_points(db, scope, view.bbox)
        audit(db, "ver", "mapa_casos", case_ids=[f["properties"]["id"] for f in features],
              detail="puntos sin nombres")  # fmt: skip
    complete = view.bbox is None or found.in_view == found.in_scope
    layer = map_layer.point_layer(features, complete, current_app.config["MAP_STACK_MIN"])
    return Response(json.dumps(layer, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/api/casos/resumen")
@allow(*ALL_ROLES)
def cases_summary():
    """Return counts in scope by category and by geocoding method (JSON; small counts hidden)."""
    with db_session() as db:
        k = current_app.config["SUPPRESSION_K"]
        return jsonify(service.counts_summary(db, current_scope(), k))


# --------------------------------------------------------------------------- import


@bp.get("/importar")
@allow(*STAFF)
def import_form() -> str:
    """Upload form and the history of imports."""
    with db_session() as db:
        batches = uploads.import_history(db, current_scope())
    default_period = uploads.last_month(dt.date.today())
    return render_template("cases/import.html", batches=batches, default_period=default_period)


@bp.post("/importar")
@allow(*STAFF)
def import_upload():
    """Keep the uploaded file aside and start its review (a job); show it when ready."""
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        flash("Elija un archivo CSV o XLSX para importar.", "error")
        return redirect(url_for("cases.import_form"))
    period_text = request.form.get("mes", "").strip()
    period = parse_period(period_text) if period_text else None
    if period_text and period is None:
        flash(f"Mes «{period_text}» no válido: use año-mes, por ejemplo 2026-08.", "error")
        return redirect(url_for("cases.import_form"))
    token = _uploads().keep(upload.stream, upload.filename, period=period, owner=current_actor())
    with db_session() as db, db.begin():
        audit(db, "subir", "archivo_importacion", target_id=token[:12])
    job_id, handle = import_jobs.start_review(current_app, token, current_actor())
    jobs.wait(current_app, job_id, handle)  # a small file's review is shown at once
    return redirect(url_for("cases.import_preview", token=token))


# The upload may be as large as IMPORT_MAX_BYTES (a big CSV is imported in chunks), not only
# MAX_CONTENT_LENGTH: `security._check_access` sets the request's limit before reading it.
import_upload.upload_limit = "IMPORT_MAX_BYTES"


def _job_page(token: str, kind: str, row) -> tuple[str, int]:
    """Render a review or store still running (polls) or failed (reason, «Reintentar»)."""
    jobs.revive(current_app, row.id, import_jobs.TARGETS)
    state = jobs.job_state(row, current_app)
    status = 422 if state["estado"] == "fallido" and kind == import_jobs.REVIEW else 200
    return render_template("cases/import_job.html", token=token, kind=kind, job=state,
                           review=kind == import_jobs.REVIEW), status  # fmt: skip


# Longer than 15 lines: the review is a job; this view reuses a stored result, starts the
# review when none exists, waits up to JOB_WAIT_S and audits the read (one flow, kept in view).
@bp.get("/importar/<token>")
@allow(*STAFF)
def import_preview(token: str):
    """Report of the validation, the changes it would make, and the confirm buttons.

    While the review job runs, a page that polls its progress. With ``?columnas=1``
    the column mapping form is shown even when complete.
    """
    with db_session() as db:
        stored = import_jobs.token_job(db, import_jobs.STORE, token, current_actor())
    if stored is not None and stored.state in (*jobs.WAITING, "listo"):
        return redirect(url_for("cases.import_stored", token=token))
    _uploads().meta(token, owner=current_actor())  # 404 if gone or someone else's
    with db_session() as db:
        row = import_jobs.token_job(db, import_jobs.REVIEW, token, current_actor())
    if row is None:  # the column mapping changed, or the review was never started
        job_id, handle = import_jobs.start_review(current_app, token, current_actor())
        jobs.wait(current_app, job_id, handle)
        with db_session() as db:
            row = db.get(JobRow, job_id)
        if row is None:  # its mapping changed again meanwhile
            return redirect(url_for("cases.import_preview", token=token))
    if jobs.job_state(row, current_app)["estado"] != "listo":
        return _job_page(token, import_jobs.REVIEW, row)
    review = row.result
    with db_session() as db, db.begin():
        audit(db, "ver", "revision_importacion", target_id=token[:12],
              case_ids=review["updated_case_ids"])  # fmt: skip
    if not review["complete"] or request.args.get("columnas"):
        return render_template("cases/import_mapping.html", token=token, p=review, fields=FIELDS)
    return render_template("cases/import_preview.html", token=token, p=review, fields=FIELDS)


@bp.get("/api/importar/<token>/estado")
@allow(*STAFF)
def import_job_state(token: str):
    """State of the upload's review (``?etapa=revision``) or store job, for the progress bar."""
    kind = import_jobs.REVIEW if request.args.get("etapa") == "revision" else import_jobs.STORE
    with db_session() as db:
        row = import_jobs.token_job(db, kind, token, current_actor())
    if row is None:
        msg = "No hay un trabajo de importación para esta carga."
        raise NotFoundError(msg)
    jobs.revive(current_app, row.id, import_jobs.TARGETS)
    return jsonify(jobs.job_state(row, current_app))


# Longer than 15 lines: a retry re-queues the failed review or store job with its kept input.
@bp.post("/importar/<token>/reintentar")
@allow(*STAFF)
def import_retry(token: str):
    """Run a failed (or interrupted) review or store again, with the same input."""
    actor = current_actor()
    if request.form.get("etapa") == "revision":
        _uploads().meta(token, owner=actor)
        job_id, handle = import_jobs.start_review(current_app, token, actor, retry=True)
        jobs.wait(current_app, job_id, handle)
        return redirect(url_for("cases.import_preview", token=token))
    with db_session() as db:
        row = import_jobs.token_job(db, import_jobs.STORE, token, actor)
    if row is None:
        return redirect(url_for("cases.import_preview", token=token))
    _uploads().meta(token, owner=actor)
    params = row.params
    job_id, handle = import_jobs.start_store(
        current_app, token, actor, only_valid=params.get("only_valid", False),
        list_mode=params.get("list_mode"), ip=client_ip(), n_rows=params.get("n_rows", 0),
    )  # fmt: skip
    jobs.wait(current_app, job_id, handle)
    return redirect(url_for("cases.import_stored", token=token))


# Longer than 15 lines: a changed column mapping restarts the review job for the token.
@bp.post("/importar/<token>/columnas")
@allow(*STAFF)
def import_mapping(token: str):
    """Save the user's column mapping (reused for files with the same headers); review again.

    The headers come from the review job (the file is read again only without one).
    """
    actor = current_actor()
    _uploads().meta(token, owner=actor)  # 404 if gone or someone else's
    try:
        with db_session() as db, db.begin():
            review = import_jobs.token_job(db, import_jobs.REVIEW, token, actor)
            if review is not None and review.state == "listo":
                change = uploads.save_headers_mapping(
                    db, review.result["headers"], owner=actor, choices=request.form
                )
            else:
                change = uploads.save_upload_mapping(
                    db, _uploads(), token, scope=current_scope(), choices=request.form
                )
            import_jobs.forget_review(db, token)
            audit(db, "cambiar", "asignacion_columnas", target_id=token[:12], detail=change)
    except IntakeError as err:
        flash(str(err), "error")
        return redirect(url_for("cases.import_form"))
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/importar/<token>/rechazadas.csv")
@allow(*STAFF)
def import_rejected(token: str) -> Response:
    """Rejected rows with their errors, to fix in a spreadsheet and upload again.

    Written by the review job (the file is read again only without one).
    """
    actor = current_actor()
    _uploads().meta(token, owner=actor)  # 404 if gone or someone else's
    with db_session() as db, db.begin():
        review = import_jobs.token_job(db, import_jobs.REVIEW, token, actor)
        if review is not None and review.state == "listo" and review.output is not None:
            body, filename = review.output.decode("utf-8"), review.result["filename"]
            n_rejected = review.result["n_rejected"]
        else:
            filename, body, n_rejected = uploads.rejected_rows(
                db, _context(), _uploads(), token, scope=current_scope(),
                sizes=uploads.ImportSizes.of(current_app.config),
            )  # fmt: skip
        audit(db, "exportar", "filas_rechazadas", target_id=token[:12], n_records=n_rejected)
    return csv_download(body, Path(filename).stem + "_rechazadas.csv", "rechazadas.csv")


# Longer than 15 lines: validates the form, starts the store job once (idempotent) and
# picks the page (result, progress or the reason it failed).
@bp.post("/importar/<token>/confirmar")
@allow(*STAFF)
def import_confirm(token: str):
    """Store the upload in one transaction (a job): every row, or only the valid ones.

    Confirming twice stores once: a store queued, running or done is not started again.
    """
    actor = current_actor()
    with db_session() as db:
        stored = import_jobs.token_job(db, import_jobs.STORE, token, actor)
        review = import_jobs.token_job(db, import_jobs.REVIEW, token, actor)
    if stored is None or stored.state != "listo":
        _uploads().meta(token, owner=actor)  # 404 if gone or someone else's
    n_rows = (review.result or {}).get("n_valid", 0) if review is not None else 0
    job_id, handle = import_jobs.start_store(
        current_app, token, actor, only_valid=request.form.get("solo_validas") == "1",
        list_mode=request.form.get("lista"), ip=client_ip(), n_rows=n_rows,
    )  # fmt: skip
    state = jobs.wait(current_app, job_id, handle)
    if state["estado"] == "fallido":  # refused or failed: nothing stored, the upload kept
        flash(state["error"], "error")
        back = redirect(url_for("cases.import_preview", token=token))
        return (back, 303) if state["error"] == import_jobs.FAILED else back
    if state["estado"] == "listo":  # a small file: straight to its report
        return import_stored(token)
    return redirect(url_for("cases.import_stored", token=token))


@bp.get("/importar/<token>/guardado")
@allow(*STAFF)
def import_stored(token: str):
    """Show the store job: its progress while it runs, its reason if it failed, else the report."""
    with db_session() as db:
        row = import_jobs.token_job(db, import_jobs.STORE, token, current_actor())
    if row is None:
        _uploads().meta(token, owner=current_actor())  # 404 if gone or someone else's
        return redirect(url_for("cases.import_preview", token=token))
    if jobs.job_state(row, current_app)["estado"] != "listo":
        return _job_page(token, import_jobs.STORE, row)
    flash("Importación terminada.", "ok")
    if row.result.get("demo_desactivadas"):
        flash(uploads.DEMO_CLOSED.format(", ".join(row.result["demo_desactivadas"])), "ok")
    return redirect(url_for("cases.import_batch", batch_id=row.result["batch_id"]))


@bp.get("/importar/lote/<int:batch_id>")
@allow(*STAFF)
def import_batch(batch_id: int) -> str:
    """Show the stored report of one import (to whoever made it, or an all-comunas account)."""
    with db_session() as db, db.begin():
        batch = uploads.batch_report(db, current_scope(), batch_id, actor=current_actor())
        audit(db, "ver", "informe_importacion", target_id=batch_id, n_records=batch.n_rows)
    return render_template("cases/import_batch.html", batch=batch)
