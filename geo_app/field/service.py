"""What the gestor's day page asks for: one published day of one gestor, in the account's scope.

Plain arguments, no Flask.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.service import people
from geo_app.errors import InvalidRequestError
from geo_app.formats import weekday_label
from geo_app.planning.plans import published_day
from geo_app.planning.plans import published_days
from geo_app.planning.service import plan_in_scope
from geo_app.scope import Scope
from geo_app.store.models import GestorRow

__all__ = ["day_sheet"]


def day_sheet(session: Session, scope: Scope, *, gestor: str, day: str, today: dt.date) -> dict:
    """Return the page variables of one gestor's published day.

    A gestor account sees only its own days (`gestor` is ignored); staff
    choose the gestor (default: the first by code). `day` is an ISO date or
    empty; when empty and there is nothing published on `today`, the next
    published day (or the last one) is shown with a notice. Besides the
    page's variables the result holds ``case_ids``, the day's cases (for the
    audit log).

    Raises
    ------
    InvalidRequestError
        `day` is not a date.
    """
    gestores = session.scalars(select(GestorRow).order_by(GestorRow.code)).all()
    if scope.role == "gestor":
        gestores = [g for g in gestores if g.code == scope.gestor_code]
        code = scope.gestor_code
    else:
        code = gestor or (gestores[0].code if gestores else "")
    try:
        shown = dt.date.fromisoformat(day or today.isoformat())
    except ValueError as err:
        msg = "Fecha inválida: use AAAA-MM-DD."
        raise InvalidRequestError(msg) from err
    available = published_days(session, code)
    notice = ""
    if not day and available and shown not in available:
        later = [d for d in available if d >= shown]
        shown = later[0] if later else available[-1]
        notice = f"Hoy no tiene visitas publicadas; se muestra el {weekday_label(shown)}."
    found = published_day(session, code, shown)
    plan, stops = found if found else (None, {})
    if plan is not None and not plan_in_scope(session, scope, plan):
        plan, stops = None, {}
        notice = "El plan publicado de ese día incluye comunas fuera de su ámbito."
    ids = [int(s["visita_id"]) for s in stops.get("paradas", [])]
    names, addresses = people(session, ids)
    return {
        "gestores": gestores,
        "code": code,
        "day": shown,
        "today": stops,
        "plan": plan,
        "names": names,
        "addresses": addresses,
        "available": available,
        "notice": notice,
        "synthetic": bool(plan and plan.synthetic),
        "base_label": next((g.base_label for g in gestores if g.code == code), "la base"),
        "case_ids": ids,
    }
