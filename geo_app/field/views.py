"""The gestor's day on a phone (blueprint "field")."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import render_template
from flask import request

from geo_app.field import service
from geo_app.security import PEOPLE
from geo_app.security import allow
from geo_app.web import audit
from geo_app.web import current_scope
from geo_app.web import db_session

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
