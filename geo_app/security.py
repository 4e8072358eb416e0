"""Web hygiene shared by every view: who may open what, CSRF, headers, error pages, logs.

Access is declared on each view with `allow(...)`; a view that declares nothing is
refused to everyone (deny by default), so a new page cannot leak by omission.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from flask import Flask
from flask import abort
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import logout_user
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions
from werkzeug.routing import IntegerConverter

from geo_app.errors import RequestError

__all__ = [
    "ALL_ROLES",
    "PEOPLE",
    "STAFF",
    "IpThrottle",
    "allow",
    "client_ip",
    "csrf_token",
    "init_security",
    "public",
    "safe_filename",
]

ALL_ROLES = ("admin", "profesional", "gestor", "mesa")
PEOPLE = ("admin", "profesional", "gestor")  # roles that may see a single case
STAFF = ("admin", "profesional")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "X-CSRF-Token"
PUBLIC_ENDPOINTS = {"static"}

log = logging.getLogger(__name__)


def allow(*roles: str) -> Callable:
    """Declare the roles that may use a view (checked before the view runs)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        msg = f"unknown roles {unknown}"
        raise ValueError(msg)

    def mark(view: Callable) -> Callable:
        view.allowed_roles = frozenset(roles)
        return view

    return mark


def public(view: Callable) -> Callable:
    """Declare a view open without an account (the login page)."""
    view.is_public = True
    return view


def csrf_token() -> str:
    """Return the session's CSRF token (created on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def client_ip() -> str:
    """Address of the client (gunicorn/werkzeug peer; no proxy headers are trusted)."""
    return request.remote_addr or ""


def safe_filename(name: str, default: str = "archivo") -> str:
    """ASCII file name for a download header: no path, quotes or control characters."""
    name = re.split(r"[\\/]", name)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or default
    return name[:100]


class IpThrottle:
    """Failures per key (a client address, or an account and address) in a sliding window.

    Kept in the memory of one process: with several server workers each counts its own.
    """

    def __init__(self, limit: int = 20, window_s: float = 900.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, ip: str, now: float) -> deque:
        failures = self._failures.setdefault(ip, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, ip: str) -> bool:
        """Tell whether `ip` has used up its failures in the window."""
        with self._lock:
            return len(self._recent(ip, time.monotonic())) >= self.limit

    def fail(self, ip: str) -> None:
        """Count one failure from `ip`."""
        with self._lock:
            self._recent(ip, time.monotonic()).append(time.monotonic())

    def reset(self, ip: str) -> None:
        """Forget the failures of `ip` (after a good login)."""
        with self._lock:
            self._failures.pop(ip, None)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith((".json", ".geojson"))


def _to_login():
    """Answer a request that needs a session: 401 in JSON, or the login page."""
    if _wants_json():
        return jsonify(error="Inicie sesión para usar este servicio."), 401
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _session_expired() -> bool:
    """End a signed-in session older than its lifetime, counted from login (absolute)."""
    started = session.get("inicio", 0)
    if time.time() - started <= current_app.permanent_session_lifetime.total_seconds():
        return False
    logout_user()  # using a session does not make it last longer
    session.clear()
    return True


def _upload_limit(view) -> None:
    """Let a view taking large files (``view.upload_limit``: a config key) read up to it.

    Set before the form is read (the CSRF check reads it), and only for a signed-in
    account whose role may use the view: anyone else's request keeps
    ``MAX_CONTENT_LENGTH``, so no one can make the server read a large body unsigned.
    """
    limit = getattr(view, "upload_limit", None)
    allowed = getattr(view, "allowed_roles", None) or ()
    if limit and current_user.is_authenticated and current_user.role in allowed:
        request.max_content_length = current_app.config[limit]


PLAIN_HTTP = (
    "Formulario vencido o inválido: esta instalación guarda la sesión en una cookie que solo "
    "viaja por HTTPS, y la página llegó por http://. Ábrala con https:// (detrás del proxy "
    "HTTPS); para probar en este mismo computador sin HTTPS, defina REVINCULA_LOCAL_DEMO=true."
)


def _refuse_form() -> NoReturn:
    """Refuse a form whose CSRF token is missing or wrong (400), saying what to do."""
    if not request.is_secure and current_app.config.get("SESSION_COOKIE_SECURE"):
        abort(400, description=PLAIN_HTTP)  # the browser never sent the Secure cookie back
    abort(400, description="Formulario vencido o inválido: recargue la página y reintente.")


def _check_access():
    """Run before every request: account, role, forced password change, CSRF."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    view = current_app.view_functions[endpoint]
    if request.method in UNSAFE_METHODS:
        _upload_limit(view)
        sent = request.form.get("csrf") or request.headers.get(CSRF_HEADER) or ""
        expected = session.get("csrf", "")
        if not expected or not secrets.compare_digest(sent, expected):
            _refuse_form()
    if getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        return _to_login()
    roles = getattr(view, "allowed_roles", None)
    if roles is None:
        log.warning("endpoint %s declares no roles: refused", endpoint)
        abort(403, description="Esta página no tiene permisos declarados.")
    if _session_expired():
        return _to_login()
    changing_password = endpoint in {"accounts.account", "accounts.logout"}
    if current_user.must_change_password and not changing_password:
        return redirect(url_for("accounts.account"))
    if current_user.role not in roles:
        abort(403, description="Su cuenta no tiene acceso a esta página.")
    return None


def _headers(response):
    """Security headers on every response; nothing cached but static files and public data."""
    tiles = current_app.config.get("TILE_URL", "")
    tile_origin = re.match(r"https?://[^/{]+", tiles)
    img = "'self' data: blob:" + (f" {tile_origin.group(0)}" if tile_origin else "")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Permissions-Policy", "geolocation=(self), camera=(), microphone=()"
    )
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not current_app.config.get("LOCAL_DEMO"):
        # browsers ignore it over plain HTTP; over HTTPS it keeps them on HTTPS for a year
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        # personal data must never be stored by a browser or a proxy; a view that serves
        # public data only (`geo_app.web.revalidated`) sets its own policy
        response.headers.setdefault("Cache-Control", "no-store")
    return response


MESSAGES = {
    400: "Solicitud inválida.",
    401: "Inicie sesión para continuar.",
    403: "Su cuenta no tiene acceso a esta página.",
    404: "No existe esta página o no está en su ámbito.",
    405: "Método no permitido.",
    409: "Otra persona cambió estos datos: recargue la página.",
    413: "El archivo es demasiado grande.",
    429: "Demasiados intentos: espere unos minutos.",
}


def _error_page(err: HTTPException):
    code = err.code or 500
    if code >= 500:  # an unhandled exception, wrapped by Flask: log its trace
        cause = getattr(err, "original_exception", None) or err
        log.error("%s en %s %s: %s", code, request.method, request.url_rule or "?", _trace(cause))
    description = err.description if err.description != type(err).description else ""
    if code == 413:
        limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
        size = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit / 2**10:.0f} KB"
        description = (
            f"El archivo supera el máximo de {size}: divídalo o quite columnas que no se usan."
        )
    message = description or MESSAGES.get(code, err.name)
    if _wants_json():
        return jsonify(error=message), code
    return render_template("error.html", code=code, message=message), code


def _request_error(err: RequestError):
    """Show a service's refusal like the HTTP error of its status."""
    return _error_page(default_exceptions[err.status](description=str(err) or None))


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in URLs: at most 18 digits, so an id always fits a database integer.

    A larger number is no match (404), never an overflow in the database (500).
    """

    def __init__(self, url_map, fixed_digits: int = 0, **bounds) -> None:
        bounds.setdefault("max", 2**63 - 1)
        super().__init__(url_map, fixed_digits, **bounds)


def _trace(err: BaseException) -> str:
    """Describe an exception by its type and frames (file, line, function), not its message.

    The message of a database error may quote the row's values (personal data).
    """
    frames = traceback.extract_tb(err.__traceback__)
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[::-1])
    return f"{type(err).__module__}.{type(err).__name__} en {where}"


def _server_error(err: Exception):
    log.error("500 en %s %s: %s", request.method, request.url_rule or "?", _trace(err))
    message = "Error interno: no se guardó nada a medias. Reintente; si persiste, avise al equipo."
    if _wants_json():
        return jsonify(error=message), 500
    return render_template("error.html", code=500, message=message), 500


class RedactQueryStrings(logging.Filter):
    """Drop query strings from access-log lines: the request's and the Referer's.

    Searches no longer put names or RUNs in URLs (`cases.service.remember_search`);
    this is the second line of defence, and it also reads the dev server's coloured
    lines (ANSI escapes around the request line).
    """

    PATTERNS = (
        re.compile(r'("(?:\x1b\[[0-9;]*m)*[A-Z]+ [^?" ]*)\?[^" \x1b]*'),
        re.compile(r'((?:https?://|"/)[^?" ]*)\?[^" ]*'),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without query strings."""
        message = record.getMessage()
        cleaned = message
        for pattern in self.PATTERNS:
            cleaned = pattern.sub(r"\1?…", cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def init_security(app: Flask) -> None:
    """Wire the access check, headers, error pages and log redaction into `app`."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_check_access)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(RequestError, _request_error)
    if not app.testing:
        app.register_error_handler(Exception, _server_error)
    app.extensions["revincula.ip_throttle"] = IpThrottle(
        app.config["LOGIN_IP_LIMIT"], app.config["LOGIN_IP_WINDOW_S"]
    )
    app.extensions["revincula.account_throttle"] = IpThrottle(
        app.config["LOGIN_ACCOUNT_LIMIT"], app.config["LOGIN_ACCOUNT_WINDOW_S"]
    )
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
    app.jinja_env.globals["csrf_token"] = csrf_token
