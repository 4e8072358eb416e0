"""The places page «Lugares»: search, map, import, correct and retire (blueprint "places")."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app.cases.context import CaseContext
from geo_app.cases.context import case_context
from geo_app.errors import InvalidRequestError
from geo_app.places import service
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session
from layers.gazetteer import GazetteerError
from layers.text import count_label

__all__ = ["bp"]

bp = Blueprint("places", __name__, template_folder="templates")


def _context() -> CaseContext:
    return case_context(current_app)


def _back(**extra):
    """Return to the page with the search the form came from (fields q, comuna, filtro, lugar)."""
    keep = {k: request.form.get(k, "") for k in ("q", "comuna", "filtro", "lugar")}
    keep.update(extra)
    return redirect(url_for("places.places", **{k: v for k, v in keep.items() if v}))


def _point(form) -> tuple[float, float]:
    try:
        return float(form["lon"]), float(form["lat"])
    except (KeyError, ValueError) as err:
        msg = "Punto no válido: haga clic en el mapa para elegir dónde está el lugar."
        raise InvalidRequestError(msg) from err


def _done(change: service.PlaceChange) -> None:
    moved = count_label(len(change.relocated), "caso reubicado")
    flash(f"{change.message}: {moved} (quedó en su historial).", "ok")


@bp.get("/lugares")
@allow(*STAFF)
def places() -> str:
    """Search the merged gazetteer, see a place's sources and conflicts, the team's entries."""
    with db_session() as db:
        page = service.places_page(db, _context(), current_scope(), request.args.to_dict())
    return render_template("places/places.html", **page)


@bp.get("/lugares/ejemplo.csv")
@allow(*STAFF)
def example_file():
    """Return an example gazetteer file to fill in (invented names, «ejemplo sintético»)."""
    body = "\ufeff" + service.EXAMPLE_FILE  # a BOM: spreadsheets then read the accents right
    return current_app.response_class(
        body, mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=nomenclator_ejemplo.csv"},
    )  # fmt: skip


@bp.get("/api/lugares.geojson")
@allow(*STAFF)
def places_geojson():
    """Return the search's places and the chosen place's entries for the map (no personal data)."""
    with db_session() as db:
        args = request.args.to_dict()
        return jsonify(service.places_geojson(db, _context(), args, current_scope()))


# Longer than 15 lines: a missing file, a refused file (every problem shown) and a review
# without saving each get their own answer on the same page.
@bp.post("/lugares/importar")
@allow(*STAFF)
def import_file():
    """Import a gazetteer file (nombre, comuna, lat, lon, fuente): every row or none."""
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        flash("Elija un archivo CSV o XLSX con las columnas nombre, comuna, lat, lon y fuente.",
              "error")  # fmt: skip
        return _back()
    try:
        with db_session() as db, db.begin():
            result = service.import_gazetteer(
                db, _context(), upload.read(), upload.filename, actor=current_actor(),
                scope=current_scope(), dry_run=request.form.get("revisar") == "1")  # fmt: skip
            if not result.dry_run:
                detail = f"{result.stored} lugares importados"
                audit(db, "cambiar", "nomenclator", target_id=upload.filename[:60],
                      case_ids=result.relocated, detail=detail)  # fmt: skip
    except GazetteerError as err:
        for problem in err.problems[:50]:
            flash(problem, "error")
        problems = count_label(len(err.problems), "problema")
        flash(f"{upload.filename}: {problems}; no se guardó nada.", "error")
        return _back()
    flash(service.import_message(result), "ok")
    return _back(filtro="equipo")


@bp.post("/lugares/corregir")
@allow(*STAFF)
def correct():
    """Move a place (a correction of the team): every case naming it is geocoded again."""
    lon, lat = _point(request.form)
    with db_session() as db, db.begin():
        change = service.correct_place(db, _context(), current_scope(), request.form["lugar"],
                                       lon, lat, actor=current_actor())  # fmt: skip
        audit(db, "cambiar", "nomenclator", target_id=f"lugar {change.row.id}",
              case_ids=change.relocated, detail=change.message)  # fmt: skip
    _done(change)
    return _back(lugar="")


@bp.post("/lugares/retirar")
@allow(*STAFF)
def retire():
    """Retire one entry (the team's or another source's): kept on record, no longer used."""
    with db_session() as db, db.begin():
        change = service.retire_entry(db, _context(), current_scope(), request.form["ref"],
                                      actor=current_actor())  # fmt: skip
        audit(db, "cambiar", "nomenclator", target_id=request.form["ref"][:60],
              case_ids=change.relocated, detail="entrada retirada")  # fmt: skip
    _done(change)
    return _back(lugar="")


@bp.post("/lugares/restaurar/<int:row_id>")
@allow(*STAFF)
def restore(row_id: int):
    """Undo a retirement."""
    with db_session() as db, db.begin():
        change = service.restore_entry(db, _context(), current_scope(), row_id,
                                       actor=current_actor())  # fmt: skip
        audit(db, "cambiar", "nomenclator", target_id=str(row_id), case_ids=change.relocated,
              detail="retiro deshecho")  # fmt: skip
    _done(change)
    return _back(lugar="")


# Longer than 15 lines: the decision and the version come from the form and are checked
# before the proposal is accepted or discarded (audited with the cases it moves).
@bp.post("/lugares/propuesta/<int:row_id>")
@allow(*STAFF)
def review(row_id: int):
    """Accept («Aceptar») or discard («Descartar») a sector's point proposed by a visit."""
    decision = request.form.get("decision", "")
    if decision not in ("aceptar", "descartar"):
        msg = "Elija «Aceptar» o «Descartar» la propuesta."
        raise InvalidRequestError(msg)
    try:
        version = int(request.form.get("version", ""))
    except ValueError as err:
        msg = "Falta la versión de la propuesta: recargue la página."
        raise InvalidRequestError(msg) from err
    with db_session() as db, db.begin():
        change = service.review_proposal(
            db, _context(), current_scope(), row_id, accept=decision == "aceptar",
            actor=current_actor(), expected_version=version,
        )  # fmt: skip
        audit(db, "cambiar", "nomenclator", target_id=f"propuesta {row_id}",
              case_ids=change.relocated, detail=change.message.lower()[:200])  # fmt: skip
    _done(change)
    return _back(lugar="")
