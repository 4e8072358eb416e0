"""Coverage pages: /cobertura (the mesa's page), its job, JSON, map layers, exports, services.

Blueprint "coverage".
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app.coverage import exports
from geo_app.coverage import mapfiles
from geo_app.coverage import maps
from geo_app.coverage import pages
from geo_app.coverage import service
from geo_app.coverage.runs import start_run_job
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.security import ALL_ROLES
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.security import safe_filename
from geo_app.travel import app_model
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session
from geo_app.web import territory

__all__ = ["bp"]

bp = Blueprint("coverage", __name__, template_folder="templates")


def _k() -> int:
    return int(current_app.config.get("SUPPRESSION_K", service.DEFAULT_K))


# Largest id a stored run can have (PostgreSQL INTEGER); beyond it a number names no run.
MAX_RUN_ID = 2**31 - 1


def _run_arg(name: str, what: str = "El cálculo") -> int | None:
    """Return the query argument `name` as a run id, None when absent or empty.

    Raises
    ------
    InvalidRequestError
        Not a whole number from 1 to `MAX_RUN_ID` (answered 400, in Spanish).
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_RUN_ID:
        msg = (
            f"{what} «{raw[:20]}» no es válido: «{name}» debe ser el número de un cálculo "
            "(elíjalo en la lista de cálculos de esta página)."
        )
        raise InvalidRequestError(msg)
    return int(raw)


def _form(form) -> service.RunForm:
    keys = ("tipo", "fecha", "hora", "modo", "umbral", "sugerir")
    return service.RunForm(**{key: form.get(key, "").strip() for key in keys if form.get(key)})


def _to_run(run_id: int):
    return redirect(url_for("coverage.page", corrida=run_id))


@bp.get("/cobertura")
@allow(*ALL_ROLES)
def page() -> str:
    """Show the coverage page: the form, and the chosen run (progress, or map, tables and gaps)."""
    run_id = _run_arg("corrida")
    with db_session() as db, db.begin():
        context = pages.coverage_page(db, territory(), current_app, current_scope(), run_id,
                                      k=_k(), today=dt.date.today())  # fmt: skip
        if run_id:
            audit(db, "ver", "cobertura", target_id=run_id)
    return render_template("coverage/coverage.html", **context)


@bp.post("/cobertura")
@allow(*ALL_ROLES)
def run_create():
    """Start a coverage computation in the background."""
    try:
        with db_session() as db, db.begin():
            run_id = pages.start_run(db, _form(request.form), actor=current_actor(),
                                     app=current_app)  # fmt: skip
    except InvalidRequestError as err:
        flash(str(err), "error")
        return redirect(url_for("coverage.page"))
    start_run_job(current_app._get_current_object(), run_id)
    return _to_run(run_id)


@bp.post("/cobertura/<int:run_id>/escenario")
@allow(*ALL_ROLES)
def whatif(run_id: int):
    """Start a what-if: add a service or round, remove one, add a sailing; optionally named."""
    try:
        with db_session() as db, db.begin():
            new_id = pages.start_whatif(db, territory(), run_id, request.form,
                                        actor=current_actor(),
                                        model=app_model(current_app))  # fmt: skip
    except InvalidRequestError as err:
        flash(str(err), "error")
        return _to_run(run_id)
    start_run_job(current_app._get_current_object(), new_id)
    return _to_run(new_id)


@bp.get("/api/cobertura/<int:run_id>/estado")
@allow(*ALL_ROLES)
def run_state(run_id: int):
    """Job state for the progress bar."""
    with db_session() as db:
        return jsonify(service.job_state(db, run_id))


@bp.get("/api/cobertura/<int:run_id>.json")
@allow(*ALL_ROLES)
def run_json(run_id: int):
    """Return the run's tables, gaps and labels as this account may see them."""
    with db_session() as db, db.begin():
        body = pages.run_json(db, territory(), current_scope(), run_id, k=_k())
        audit(db, "ver", "cobertura", target_id=run_id, detail="json")
    return jsonify(body)


@bp.get("/api/cobertura/<int:run_id>/celdas.geojson")
@allow(*ALL_ROLES)
def run_cells(run_id: int):
    """H3 cells coloured by band (``antes=1``: before the what-if)."""
    with db_session() as db:
        run = service.run_or_404(db, run_id)
        body = service.cells_geojson(run.result or {"celdas": {}}, current_scope(),
                                     before=request.args.get("antes") == "1")  # fmt: skip
    return jsonify(body)


@bp.get("/api/cobertura/<int:run_id>/servicios.geojson")
@allow(*ALL_ROLES)
def run_services(run_id: int):
    """Services of the run's type (public places, with provenance) and the what-if's."""
    with db_session() as db:
        body = pages.run_services(db, territory(), run_id)
    return jsonify(body)


@bp.get("/cobertura/<int:run_id>/tablas.<fmt>")
@allow(*ALL_ROLES)
def run_export(run_id: int, fmt: str) -> Response:
    """Return the run's tables as CSV or XLSX, protected as on the page."""
    with db_session() as db, db.begin():
        payload = pages.run_json(db, territory(), current_scope(), run_id, k=_k())
        audit(db, "exportar", "cobertura", target_id=run_id, detail=fmt)
    return exports.download(payload, fmt)


# Longer than 15 lines: two paths, a print job (pdf/png) or a file made now (html/geojson).
@bp.get("/cobertura/<int:run_id>/mapa.<fmt>")
@allow(*ALL_ROLES)
def run_map(run_id: int, fmt: str):
    """Return the run's map as ``html`` (self-contained, folium) or ``geojson``.

    ``pdf`` and ``png`` (A4) are made by a job: this starts it (or reuses a
    file already made for this audience) and redirects to its progress page.
    """
    scope = current_scope()
    if fmt in mapfiles.PRINT_FORMATS:
        with db_session() as db, db.begin():
            file_id, new = mapfiles.request_print(db, run_id, fmt, scope, k=_k(),
                                                  actor=current_actor())  # fmt: skip
            audit(db, "exportar", "cobertura", target_id=run_id, detail=f"mapa.{fmt}")
        if new:
            mapfiles.start_print_job(current_app._get_current_object(), file_id)
        return redirect(url_for("coverage.map_file_page", run_id=run_id, file_id=file_id))
    if fmt not in {"html", "geojson"}:
        msg = "Formato de mapa desconocido: use mapa.html, mapa.geojson, mapa.pdf o mapa.png."
        raise NotFoundError(msg)
    with db_session() as db, db.begin():
        data = mapfiles.map_data(db, territory(), scope, run_id, k=_k())
        audit(db, "exportar", "cobertura", target_id=run_id, detail=f"mapa.{fmt}")
    name = f"cobertura-{run_id}-{data['payload']['tipo']}-mapa.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{safe_filename(name, "mapa")}"'}
    if fmt == "html":
        return Response(maps.html_map(data), mimetype="text/html", headers=headers)
    return Response(maps.dumps(maps.map_geojson(data)), mimetype="application/geo+json",
                    headers=headers)  # fmt: skip


@bp.get("/cobertura/<int:run_id>/mapa/<int:file_id>")
@allow(*ALL_ROLES)
def map_file_page(run_id: int, file_id: int) -> str:
    """Progress of a printable map's job, then its download link."""
    with db_session() as db:
        state = mapfiles.file_state(db, run_id, file_id, current_scope())
    return render_template("coverage/map_file.html", run_id=run_id, file_id=file_id, state=state)


@bp.get("/api/cobertura/<int:run_id>/mapa/<int:file_id>/estado")
@allow(*ALL_ROLES)
def map_file_state(run_id: int, file_id: int):
    """Job state of a printable map (for the progress bar)."""
    with db_session() as db:
        return jsonify(mapfiles.file_state(db, run_id, file_id, current_scope()))


@bp.get("/cobertura/<int:run_id>/mapa/<int:file_id>/descargar")
@allow(*ALL_ROLES)
def map_file_download(run_id: int, file_id: int) -> Response:
    """Return the finished A4 map (PDF or PNG)."""
    with db_session() as db, db.begin():
        content, fmt = mapfiles.file_content(db, run_id, file_id, current_scope())
        audit(db, "exportar", "cobertura", target_id=run_id, detail=f"mapa.{fmt} descargado")
    name = safe_filename(f"cobertura-{run_id}-mapa.{fmt}", "mapa")
    mimetype = "application/pdf" if fmt == "pdf" else "image/png"
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@bp.get("/cobertura/comparar")
@allow(*ALL_ROLES)
def compare() -> str:
    """Two runs side by side (protected together: one suppression pattern for both)."""
    a, b = _run_arg("a", "El primer cálculo"), _run_arg("b", "El segundo cálculo")
    with db_session() as db:
        context = pages.compare_page(db, territory(), current_scope(), a, b, k=_k())
    return render_template("coverage/compare.html", **context)


@bp.get("/cobertura/servicios")
@allow(*ALL_ROLES)
def services_page() -> str:
    """List the services the map can show, with provenance; staff import, add, edit and retire."""
    with db_session() as db:
        context = pages.services_page(db, territory(), request.args.get("tipo", "").strip())
    return render_template("coverage/services.html", **context)


@bp.post("/cobertura/servicios/importar")
@allow(*STAFF)
def services_import():
    """Import a services list (CSV/XLSX), all or nothing."""
    upload = request.files.get("archivo")
    with db_session() as db, db.begin():
        message, ok = pages.import_upload(db, territory(), upload, actor=current_actor())
        if ok:
            audit(db, "cambiar", "servicios", detail=message)
    flash(message, "ok" if ok else "error")
    return redirect(url_for("coverage.services_page"))


@bp.post("/cobertura/servicios")
@allow(*STAFF)
def services_change():
    """Add, edit or retire one service by hand (audited)."""
    with db_session() as db, db.begin():
        message, ok = pages.change_service(db, territory(), request.form, actor=current_actor())
        if ok:
            audit(db, "cambiar", "servicios", target_id=request.form.get("id", ""), detail=message)
    flash(message, "ok" if ok else "error")
    return redirect(url_for("coverage.services_page"))


@bp.get("/cobertura/servicios/<service_id>/editar")
@allow(*STAFF)
def service_edit(service_id: str) -> str:
    """Edit form of an imported or hand-added service (with the version it was read at)."""
    with db_session() as db:
        context = pages.edit_service_form(db, service_id)
    return render_template("coverage/service_edit.html", **context)


@bp.post("/cobertura/servicios/<service_id>/editar")
@allow(*STAFF)
def service_save(service_id: str):
    """Save an edit (audited); a stale or bad form is shown again with what was typed."""
    with db_session() as db, db.begin():
        context, message, status = pages.save_service_edit(
            db, territory(), service_id, request.form, actor=current_actor()
        )
        if context is None:
            audit(db, "cambiar", "servicios", target_id=service_id, detail=message)
    if context is None:
        flash(message, "ok")
        return redirect(url_for("coverage.services_page"))
    return render_template("coverage/service_edit.html", error=message, **context), status
