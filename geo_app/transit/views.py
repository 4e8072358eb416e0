"""The «Transporte» page: imported GTFS feeds, entered lines, export (blueprint "transit")."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app import jobs
from geo_app.errors import NotFoundError
from geo_app.errors import RequestError
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.security import client_ip
from geo_app.store.models import JobRow
from geo_app.transit import gtfs_jobs
from geo_app.transit import service
from geo_app.travel import transit_or_none
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import db_session
from geo_app.web import territory
from layers.text import count_label

__all__ = ["bp"]

bp = Blueprint("transit", __name__, template_folder="templates")


def _back():
    return redirect(url_for("transit.page"))


@bp.get("/transporte")
@allow(*STAFF)
def page():
    """Show the feeds, the entered lines and whether «transporte público» is available."""
    transit = transit_or_none(current_app._get_current_object())
    with db_session() as db:
        body = service.transit_page(db, transit)
    return render_template("transit/transporte.html", **body)


@bp.post("/transporte/gtfs")
@allow(*STAFF)
def import_gtfs():
    """Queue the import of a GTFS zip (a job, `gtfs_jobs`); show its end, or a page that polls.

    The feed is validated whole in the job: every problem is shown and nothing stored if any.
    """
    upload = request.files.get("archivo")
    data = upload.read() if upload else b""
    if not data:
        flash("El archivo está vacío: elija el .zip del GTFS.", "error")
        return _back()
    job_id, handle = gtfs_jobs.start_gtfs_import(
        current_app, data, upload.filename or "", owner=current_actor(),
        source=request.form.get("fuente", ""), replace=request.form.get("reemplazar") == "1",
        ip=client_ip(),
    )  # fmt: skip
    if jobs.wait(current_app, job_id, handle)["estado"] in jobs.ENDED:
        return _ended(job_id)
    return redirect(url_for("transit.gtfs_job", job_id=job_id))


def _own_job(db, job_id: int) -> JobRow:
    row = db.get(JobRow, job_id)
    if row is None or row.kind != gtfs_jobs.GTFS or row.owner != current_actor():
        msg = "No existe esa importación de GTFS o la pidió otra cuenta."
        raise NotFoundError(msg)
    return row


def _ended(job_id: int):
    """Back to the page with the job's end as a message, or its failure page."""
    with db_session() as db:
        row = _own_job(db, job_id)
        state, result = jobs.job_state(row, current_app), dict(row.result or {})
    if state["estado"] != "listo":
        return redirect(url_for("transit.gtfs_job", job_id=job_id))
    flash(f"GTFS «{result['nombre']}» importado: {count_label(result['viajes'], 'viaje')}.", "ok")
    return _back()


@bp.get("/transporte/gtfs/trabajo/<int:job_id>")
@allow(*STAFF)
def gtfs_job(job_id: int):
    """Show a GTFS import's job: a page that polls it, why it failed («Reintentar»), or its end."""
    with db_session() as db:
        row = _own_job(db, job_id)
        state, params = jobs.job_state(row, current_app), dict(row.params)
    if state["estado"] == "listo":
        return _ended(job_id)
    jobs.revive(current_app, job_id, gtfs_jobs.TARGETS)
    status = 422 if state["estado"] == "fallido" else 200
    return render_template("transit/gtfs_job.html", job=state, job_id=job_id,
                           params=params), status  # fmt: skip


@bp.get("/api/transporte/gtfs/trabajo/<int:job_id>/estado")
@allow(*STAFF)
def gtfs_job_state(job_id: int):
    """State of a GTFS import's job, for the progress bar."""
    with db_session() as db:
        return jsonify(jobs.job_state(_own_job(db, job_id), current_app))


@bp.post("/transporte/gtfs/trabajo/<int:job_id>/reintentar")
@allow(*STAFF)
def gtfs_job_retry(job_id: int):
    """Run a failed GTFS import again on the same kept zip."""
    with db_session() as db:
        row = _own_job(db, job_id)
        key, params = row.key, dict(row.params)
    jobs.ensure(current_app, gtfs_jobs.GTFS, key, gtfs_jobs.TARGETS[gtfs_jobs.GTFS],
                owner=current_actor(), params=params, retry=True)  # fmt: skip
    return redirect(url_for("transit.gtfs_job", job_id=job_id))


@bp.post("/transporte/gtfs/<name>/borrar")
@allow(*STAFF)
def remove_gtfs(name: str):
    """Delete an imported feed."""
    with db_session() as db, db.begin():
        service.remove_feed(db, name)
        audit(db, "cambiar", "transporte", target_id=name, detail="borrar GTFS")
    flash(f"GTFS «{name}» borrado.", "ok")
    return _back()


@bp.post("/transporte/lineas")
@allow(*STAFF)
def save_lines():
    """Replace the entered lines with the two edited tables, all or nothing."""
    form = request.form
    try:
        with db_session() as db, db.begin():
            service.save_lines(db, form.get("paradas", ""), form.get("lineas", ""),
                               version=form.get("version", ""), actor=current_actor())  # fmt: skip
            audit(db, "cambiar", "transporte", target_id="lineas", detail="guardar líneas")
        flash("Líneas guardadas.", "ok")
    except RequestError as err:
        flash(str(err), "error")
    return _back()


@bp.get("/transporte/exportar.zip")
@allow(*STAFF)
def export_gtfs() -> Response:
    """Download the territory's boats and the entered lines as one GTFS zip (valid one year)."""
    start = dt.date.today()
    with tempfile.TemporaryDirectory() as folder, db_session() as db:
        path = Path(folder) / "revincula-gtfs.zip"
        service.export_feed(db, territory(), path, valid_from=start,
                            valid_to=start + dt.timedelta(days=365))  # fmt: skip
        body = path.read_bytes()
    name = f"revincula-gtfs-{start.isoformat()}.zip"
    return Response(body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
