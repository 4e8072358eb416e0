"""Flask helpers every blueprint shares: session, signed-in account, audit, downloads.

Also the template filters and globals every page may use.

Views call these; service functions never do (they take the session, the
scope and the actor as plain arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from flask_login import current_user
from sqlalchemy.orm import Session

from geo_app.audit import record
from geo_app.formats import hm
from geo_app.formats import minutes_label
from geo_app.formats import weekday_label
from geo_app.scope import Scope
from geo_app.security import client_ip
from geo_app.security import safe_filename
from layers.classify import CATEGORY_LABELS
from layers.gazetteer import SOURCES as GAZETTEER_SOURCES
from layers.geocode import METHODS
from layers.geocode import confidence
from layers.intake import format_run
from layers.territory import Territory
from routing.transit import NO_TRANSIT_REASON

__all__ = [
    "audit",
    "csv_download",
    "current_actor",
    "current_scope",
    "db_session",
    "download",
    "init_templates",
    "revalidated",
    "territory",
]


def db_session() -> Session:
    """Open a new session on the current app's database."""
    return current_app.extensions["revincula.db"]()


def territory() -> Territory:
    """Return the current app's territory (loaded and validated at start-up)."""
    return current_app.extensions["revincula.territory"]


def current_scope() -> Scope:
    """Scope of the signed-in account."""
    return current_user.scope


def current_actor() -> str:
    """User name of the signed-in account (as recorded in histories and plans)."""
    return current_user.username


def audit(db: Session, action: str, target: str, **fields) -> None:
    """Append an audit entry for the signed-in account (in `db`'s transaction)."""
    scope = current_user.scope if current_user.is_authenticated else None
    record(db, scope, action, target, ip=client_ip(), **fields)


COMPRESSED_SUFFIXES = ("br", "gzip", "deflate", "zstd")  # what Flask-Compress appends to ETags


def revalidated(body: str | Callable[[], str], mimetype: str, etag: str) -> Response:
    """Return data with no person in it that a browser may keep and revalidate.

    `body` is the text, or a function that makes it (called only when the browser's
    copy is stale, so a 304 costs no work).

    ``Cache-Control: private, no-cache`` with an ETag: the browser stores the body and
    asks again on each use; an unchanged body is answered with 304 and no content. The
    tag of a compressed copy (Flask-Compress appends ``:br`` or ``:gzip``) matches too.
    Never use it for anything with personal data (those stay ``no-store``).
    """
    for tag in (etag, *(f"{etag}:{algorithm}" for algorithm in COMPRESSED_SUFFIXES)):
        if request.if_none_match.contains(tag):  # the browser's copy is current
            response = Response(status=304)
            response.set_etag(tag)
            break
    else:
        response = Response(body() if callable(body) else body, mimetype=mimetype)
        response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def download(body: bytes, mimetype: str, filename: str, default: str = "archivo") -> Response:
    """Return `body` as an attachment of type `mimetype` under a safe `filename`."""
    name = safe_filename(filename, default)
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def csv_download(body: str, filename: str, default: str = "archivo") -> Response:
    """Return `body` as a UTF-8 CSV attachment under a safe `filename`."""
    return download(body.encode("utf-8"), "text/csv", filename, default)


def _template_globals() -> dict:
    return {
        "category_labels": CATEGORY_LABELS,
        "method_labels": {k: v[0] for k, v in METHODS.items()},
        "format_run": format_run,
        "confidence": confidence,
        "gazetteer_sources": GAZETTEER_SOURCES,
        "no_transit_reason": NO_TRANSIT_REASON,
    }


CHILE = ZoneInfo("America/Santiago")


def chile_time(value) -> str:
    """Format an aware datetime as dd-mm-yyyy HH:MM in America/Santiago (DST included)."""
    return value.astimezone(CHILE).strftime("%d-%m-%Y %H:%M") if value else ""


def init_templates(app: Flask) -> None:
    """Register the filters and globals any page may use (times, weekdays, case labels)."""
    app.add_template_filter(lambda value: hm(value) if value else "", "hm")
    app.add_template_filter(weekday_label, "weekday")
    app.add_template_filter(minutes_label, "minutes")
    app.add_template_filter(chile_time, "chile")
    app.context_processor(_template_globals)
