"""The gestor's day on a phone (blueprint "field")."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from geo_app.field import service
from geo_app.field import visits
from geo_app.security import ALL_ROLES
from geo_app.security import PEOPLE
from geo_app.security import allow
from geo_app.security import client_ip
from geo_app.security import csrf_token
from geo_app.security import public
from geo_app.store.models import utcnow
from geo_app.web import audit
from geo_app.web import current_scope
from geo_app.web import db_session
from layers.visits import load_visit_rules

__all__ = ["bp"]

bp = Blueprint("field", __name__, template_folder="templates")


@bp.get("/terreno")
@allow(*PEOPLE)
def day():
    """Show a gestor's published day: stops, boats, last boat back, map, day sheet.

    A gestor account sees only its own days; staff choose the gestor.
    """
    with db_session() as db, db.begin():
        page = service.day_sheet(
            db, current_scope(), gestor=request.args.get("gestor", ""),
            day=request.args.get("dia", ""), today=dt.date.today(),
        )  # fmt: skip
        ids = page.pop("case_ids")
        if ids:
            audit(db, "ver", "dia_terreno", target_id=f"{page['code']} {page['day']}", case_ids=ids)
    response = make_response(render_template("field/terreno.html", generated=utcnow(), **page))
    response.headers["X-Revincula-Pagina"] = "terreno"
    if page["offline"]:  # the service worker keeps only these pages (the gestor's own days)
        response.headers["X-Revincula-Dia"] = page["day"].isoformat()
        response.headers["X-Revincula-Expira-Dias"] = str(current_app.config["FIELD_OFFLINE_DAYS"])
    return response


@bp.post("/api/visitas")
@allow(*PEOPLE)
def post_visits():
    """Store a JSON list of visit records; answer per UUID: guardado, ya_estaba or rechazado."""
    body = request.get_json(silent=True)
    with db_session() as db, db.begin():
        answer = visits.receive_visits(db, current_scope(), body, now=utcnow(), ip=client_ip())
    return jsonify(answer)


@bp.get("/api/visitas/taxonomia")
@allow(*PEOPLE)
def taxonomy():
    """Outcomes, barriers and service types the visit form offers (versioned data)."""
    return jsonify(load_visit_rules().as_json())


@bp.get("/api/sesion")
@allow(*ALL_ROLES)
def session_info():
    """Who is signed in and the CSRF token to send with: the phone checks both before syncing."""
    return jsonify(usuario=current_user.username, rol=current_user.role, csrf=csrf_token())


@bp.get("/sw.js")
@public
def service_worker():
    """Serve the service worker (scope ``/``): static files by version, the gestor's days."""
    version, assets = service.offline_assets(current_app.static_folder)
    body = render_template(
        "field/sw.js", version=version, assets=[url_for("static", filename=a) for a in assets]
    )
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get("/sin-conexion")
@public
def offline_page():
    """Show what the phone shows, with no connection, for a page it does not keep."""
    return render_template("field/sin_conexion.html")
