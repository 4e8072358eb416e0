"""The «Transporte» page: imported GTFS feeds, entered lines, export (blueprint "transit")."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app.errors import RequestError
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.transit import service
from geo_app.travel import transit_or_none
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import db_session
from geo_app.web import territory

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
    """Import a GTFS zip, validated whole; every problem is shown and nothing stored if any."""
    upload = request.files.get("archivo")
    try:
        with db_session() as db, db.begin():
            row = service.import_feed(
                db, upload.read() if upload else b"", upload.filename if upload else "",
                territory=territory(), source=request.form.get("fuente", ""),
                actor=current_actor(), replace=request.form.get("reemplazar") == "1",
            )  # fmt: skip
            audit(db, "cambiar", "transporte", target_id=row.name, detail="importar GTFS")
        flash(f"GTFS {row.name!r} importado: {row.summary['viajes']} viajes.", "ok")
    except RequestError as err:
        flash(str(err), "error")
    return _back()


@bp.post("/transporte/gtfs/<name>/borrar")
@allow(*STAFF)
def remove_gtfs(name: str):
    """Delete an imported feed."""
    with db_session() as db, db.begin():
        service.remove_feed(db, name)
        audit(db, "cambiar", "transporte", target_id=name, detail="borrar GTFS")
    flash(f"GTFS {name!r} borrado.", "ok")
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
