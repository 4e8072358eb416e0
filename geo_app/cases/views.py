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
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from geo_app.cases import service
from geo_app.cases import uploads
from geo_app.cases import workflow
from geo_app.cases.context import CaseContext
from geo_app.cases.context import case_context
from geo_app.cases.importing import ImportRejectedError
from geo_app.errors import RequestError
from geo_app.security import ALL_ROLES
from geo_app.security import PEOPLE
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.store.models import utcnow
from geo_app.web import audit
from geo_app.web import csv_download
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session
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
    """Located cases in scope for the map: no names, only category, priority and confidence."""
    with db_session() as db, db.begin():
        features = service.case_points(db, current_scope())
        audit(db, "ver", "mapa_casos", case_ids=[f["properties"]["id"] for f in features],
              detail="puntos sin nombres")  # fmt: skip
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, mimetype="application/geo+json")


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
    """Keep the uploaded file aside and show its preview."""
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        flash("Elija un archivo CSV o XLSX para importar.", "error")
        return redirect(url_for("cases.import_form"))
    period_text = request.form.get("mes", "").strip()
    period = parse_period(period_text) if period_text else None
    if period_text and period is None:
        flash(f"Mes «{period_text}» no válido: use año-mes, por ejemplo 2026-08.", "error")
        return redirect(url_for("cases.import_form"))
    token = _uploads().keep(upload.read(), upload.filename, period=period, owner=current_actor())
    with db_session() as db, db.begin():
        audit(db, "subir", "archivo_importacion", target_id=token[:12])
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/importar/<token>")
@allow(*STAFF)
def import_preview(token: str) -> str:
    """Report of the validation, the changes it would make, and the confirm buttons.

    With ``?columnas=1`` the column mapping form is shown even when complete.
    """
    with db_session() as db, db.begin():
        try:
            prepared = uploads.prepare_upload(db, _context(), _uploads(), token,
                                              scope=current_scope())  # fmt: skip
        except IntakeError as err:
            return render_template("cases/import_preview.html", token=token, fatal=str(err)), 422
        audit(db, "ver", "revision_importacion", target_id=token[:12],
              case_ids=prepared.updated_case_ids)  # fmt: skip
    if not prepared.match.complete or request.args.get("columnas"):
        current = uploads.mapping_choices(prepared)
        return render_template("cases/import_mapping.html", token=token, prepared=prepared,
                               fields=FIELDS, current=current)  # fmt: skip
    return render_template(
        "cases/import_preview.html", token=token, prepared=prepared, fatal=None, fields=FIELDS
    )


@bp.post("/importar/<token>/columnas")
@allow(*STAFF)
def import_mapping(token: str):
    """Save the user's column mapping (reused for files with the same headers)."""
    try:
        with db_session() as db, db.begin():
            change = uploads.save_upload_mapping(
                db, _context(), _uploads(), token, scope=current_scope(), choices=request.form
            )
            audit(db, "cambiar", "asignacion_columnas", target_id=token[:12], detail=change)
    except IntakeError as err:
        flash(str(err), "error")
        return redirect(url_for("cases.import_form"))
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/importar/<token>/rechazadas.csv")
@allow(*STAFF)
def import_rejected(token: str) -> Response:
    """Rejected rows with their errors, to fix in a spreadsheet and upload again."""
    with db_session() as db, db.begin():
        prepared, body = uploads.rejected_rows(db, _context(), _uploads(), token,
                                               scope=current_scope())  # fmt: skip
        audit(db, "exportar", "filas_rechazadas", target_id=token[:12],
              n_records=len(prepared.result.rejected))  # fmt: skip
    name = Path(prepared.filename).stem + "_rechazadas.csv"
    return csv_download(body, name, "rechazadas.csv")


def _import_failed(err: Exception, token: str) -> str:
    """Spanish message for an import that failed while saving (nothing was kept)."""
    if isinstance(err, StaleDataError):
        return (
            "Otra importación cambió los mismos casos al mismo tiempo; no se guardó nada de "
            "este archivo. Pulse de nuevo «Importar» para reintentar."
        )
    log.error("import %s failed: %s", token[:8], type(err).__name__)  # no data in logs
    return (
        "La importación falló y no se guardó nada (se deshizo completa). El archivo sigue "
        "cargado: pulse de nuevo «Importar» para reintentar."
    )


# Longer than 15 lines: every way an import can fail gets its own answer, and a fault while
# saving must leave the upload in place for a retry (one page per outcome, no 500).
@bp.post("/importar/<token>/confirmar")
@allow(*STAFF)
def import_confirm(token: str):
    """Import in one transaction: every row, or only the valid ones if the user chose so."""
    preview = url_for("cases.import_preview", token=token)
    try:
        with db_session() as db, db.begin():
            batch, case_ids = uploads.confirm_upload(
                db, _context(), _uploads(), token, scope=current_scope(),
                only_valid=request.form.get("solo_validas") == "1",
                list_mode=request.form.get("lista"),
            )  # fmt: skip
            audit(db, "cambiar", "importacion", target_id=batch.id,
                  case_ids=case_ids)  # fmt: skip
    except (ImportRejectedError, IntakeError) as err:
        flash(str(err), "error")
        return redirect(preview)
    except (HTTPException, RequestError, service.EditConflictError):
        raise
    except Exception as err:  # any fault while saving: all rolled back, the upload kept
        flash(_import_failed(err, token), "error")
        return redirect(preview), 303
    _uploads().forget(token)
    flash("Importación terminada.", "ok")
    if batch.report.get("demo_desactivadas"):
        flash(uploads.DEMO_CLOSED.format(", ".join(batch.report["demo_desactivadas"])), "ok")
    return redirect(url_for("cases.import_batch", batch_id=batch.id))


@bp.get("/importar/lote/<int:batch_id>")
@allow(*STAFF)
def import_batch(batch_id: int) -> str:
    """Show the stored report of one import (to whoever made it, or an all-comunas account)."""
    with db_session() as db, db.begin():
        batch = uploads.batch_report(db, current_scope(), batch_id, actor=current_actor())
        audit(db, "ver", "informe_importacion", target_id=batch_id, n_records=batch.n_rows)
    return render_template("cases/import_batch.html", batch=batch)
