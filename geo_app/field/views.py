"""The gestor's day on a phone (blueprint "field")."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import jsonify
from flask import render_template
from flask import request

from geo_app.field import service
from geo_app.field import visits
from geo_app.security import PEOPLE
from geo_app.security import allow
from geo_app.security import client_ip
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
    return render_template("field/terreno.html", **page)


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
