"""What the gestor's day page asks for: one published day of one gestor, in the account's scope.

Plain arguments, no Flask.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.service import people
from geo_app.errors import InvalidRequestError
from geo_app.field.visits import case_visits
from geo_app.formats import weekday_label
from geo_app.planning.plans import published_day
from geo_app.planning.plans import published_days
from geo_app.planning.service import plan_in_scope
from geo_app.scope import Scope
from geo_app.store.models import Contact
from geo_app.store.models import GestorRow
from layers.visits import load_visit_rules

__all__ = ["OFFLINE_ASSETS", "day_route", "day_sheet", "offline_assets", "phones"]

# Static files the phone keeps for Mi día (paths under static/); their contents make the version.
OFFLINE_ASSETS = (
    "css/app.css",
    "js/field-app.js",
    "js/terreno.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "icon.svg",
    "manifest.webmanifest",
)


@cache
def offline_assets(static_folder: str) -> tuple[str, tuple[str, ...]]:
    """Return the version (12 hex digits of SHA-256 over the files) and the files to keep."""
    digest = hashlib.sha256()
    for name in OFFLINE_ASSETS:
        digest.update(name.encode())
        digest.update((Path(static_folder) / name).read_bytes())
    return digest.hexdigest()[:12], OFFLINE_ASSETS


def day_sheet(session: Session, scope: Scope, *, gestor: str, day: str, today: dt.date) -> dict:
    """Return the page variables of one gestor's published day.

    A gestor account sees only its own days (`gestor` is ignored); staff
    choose the gestor (default: the first by code). `day` is an ISO date or
    empty; when empty and there is nothing published on `today`, the next
    published day (or the last one) is shown with a notice. Besides the
    page's variables the result holds ``case_ids``, the day's cases (for the
    audit log). ``offline`` is true when the page may be kept on the phone:
    a gestor's own published day (never a staff member's view of someone's).

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
    own = scope.role == "gestor" and bool(stops.get("paradas"))
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
        "phones": phones(session, ids),
        "route": day_route(stops, next((g for g in gestores if g.code == code), None)),
        **_visits_of_day(case_visits(session, ids), shown),
        "outcome_labels": {k: v[0] for k, v in load_visit_rules().outcomes.items()},
        "taxonomy": load_visit_rules().as_json() if own else None,
        "offline": own,
    }


def _visits_of_day(records: dict[int, list], day: dt.date) -> dict[str, dict[str, list]]:
    """Split each case's visit records (newest first) into this day's stop and earlier ones.

    A record is the stop's when the planned stop it was matched to on receipt
    (``planned_at``, the gestor's nearest planned start for the case, local time)
    falls on `day`; a record matched to no stop counts by the phone's date
    (``device_at`` in America/Santiago). Of the others, only the latest one before
    `day` is kept, shown as the previous visit: last week's «visita registrada» on
    this week's stop of the same case would read as done. Returns
    ``{"visits": {case id: [records]}, "earlier": {case id: [latest earlier record]}}``.
    """
    from geo_app.field.visits import LOCAL_TZ

    def local_day(row) -> dt.date:
        if row.planned_at is not None:
            return row.planned_at.date()
        stamp = row.device_at
        aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
        return aware.astimezone(LOCAL_TZ).date()

    visits, earlier = {}, {}
    for case_id, rows in records.items():
        visits[str(case_id)] = [r for r in rows if local_day(r) == day]
        earlier[str(case_id)] = [r for r in rows if local_day(r) < day][:1]
    return {"visits": visits, "earlier": earlier}


def day_route(day: dict, gestor: GestorRow | None) -> dict:
    """Return what the day map draws besides stops: legs (WGS84 [lat, lon]), base, terminals.

    Legs come from the published plan (``tramos`` of each stop and ``regreso``);
    boat legs carry their line, and their ends are the terminals.
    """
    legs, terminals = [], []
    for leg in [t for s in day.get("paradas", []) for t in s.get("tramos", [])] + day.get(
        "regreso", []
    ):
        coords = [[lat, lon] for lon, lat in leg.get("geometria", [])]
        if len(coords) < 2:
            continue
        legs.append({"tipo": leg.get("tipo", ""), "linea": leg.get("linea", ""), "puntos": coords})
        if leg.get("tipo") == "barco":
            terminals += [{"nombre": leg.get("desde", ""), "punto": coords[0]},
                          {"nombre": leg.get("hasta", ""), "punto": coords[-1]}]  # fmt: skip
    base = None
    if gestor is not None and day:
        base = {"nombre": gestor.base_label, "punto": [gestor.base_lat, gestor.base_lon]}
    return {"tramos": legs, "terminales": terminals, "base": base}


def phones(session: Session, case_ids: list[int]) -> dict[str, list[tuple[str, str, str]]]:
    """Case id -> contacts with a phone: (kind, name, phone as dialled: digits and a leading +)."""
    out: dict[str, list[tuple[str, str, str]]] = {str(i): [] for i in case_ids}
    if not case_ids:
        return out
    rows = session.scalars(
        select(Contact)
        .where(Contact.case_id.in_(case_ids), Contact.phone != "")
        .order_by(Contact.id)
    )
    for c in rows:
        dial = "".join(ch for ch in c.phone if ch.isdigit() or ch == "+")
        out[str(c.case_id)].append((c.kind, c.name, dial))
    return out
