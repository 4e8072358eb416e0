"""Login, logout, password change, the accounts page and the audit log (blueprint "accounts")."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from geo_app.accounts import service
from geo_app.accounts.audit_log import audit_csv
from geo_app.accounts.audit_log import audit_page
from geo_app.accounts.login import Account
from geo_app.accounts.login import start_session
from geo_app.accounts.users import AccountError
from geo_app.accounts.users import create_user
from geo_app.security import ALL_ROLES
from geo_app.security import allow
from geo_app.security import client_ip
from geo_app.security import public
from geo_app.web import audit
from geo_app.web import csv_download
from geo_app.web import db_session
from geo_app.web import territory

__all__ = ["bp"]

bp = Blueprint("accounts", __name__, template_folder="templates")
CREATED = "Cuenta «{username}» creada: deberá cambiar la contraseña al ingresar."


def _known_comunas() -> list[str]:
    return list(territory().comunas["comuna_name"])


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if not target:
        return url_for("territory.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("territory.index")
    return target


def _account_throttle():
    """Failures per account and address (logins) and per account (current password)."""
    return current_app.extensions["revincula.account_throttle"]


def _secret() -> bytes:
    """Return the secret key as bytes (it keys the hash of failed user names)."""
    key = current_app.secret_key
    return key.encode("utf-8") if isinstance(key, str) else key


def _back_to_users(message: str, category: str):
    flash(message, category)
    return redirect(url_for("accounts.users")), 303


# --------------------------------------------------------------------------- login


@bp.route("/ingresar", methods=["GET", "POST"])
@public
def login():
    """Sign in; failures are throttled per account and per address."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("accounts/login.html", next=request.args.get("next", ""))
    form, throttle = request.form, current_app.extensions["revincula.ip_throttle"]
    with db_session() as db, db.begin():
        attempt = service.sign_in(
            db, throttle, form.get("usuario", "")[:60], form.get("clave", ""), ip=client_ip(),
            account_throttle=_account_throttle(), key=_secret(),
        )  # fmt: skip
    if attempt.refusal:
        page = render_template("accounts/login.html", error=attempt.refusal, next=form.get("next"))
        return page, attempt.status
    start_session(Account.of(attempt.user))
    return redirect(_safe_next(form.get("next")))


@bp.post("/salir")
@allow(*ALL_ROLES)
def logout():
    """Sign out: the account's sessions end on the server too (a copied cookie stops working)."""
    with db_session() as db, db.begin():
        audit(db, "acceso", "salida")
        service.end_sessions(db, current_user.id)
    logout_user()
    session.clear()
    flash("Sesión cerrada.", "ok")
    return redirect(url_for("accounts.login"))


@bp.route("/cuenta", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def account():
    """Change one's own password (required after an administrator sets it)."""
    if request.method == "GET":
        return render_template("accounts/account.html")
    current, new, repeat = (request.form.get(k, "") for k in ("actual", "nueva", "repetir"))
    try:
        with db_session() as db, db.begin():
            user = service.change_own_password(db, current_user.id, current, new, repeat,
                                               throttle=_account_throttle())  # fmt: skip
            audit(db, "cuentas", "cambio_clave", target_id=user.username)
    except AccountError as err:
        flash(str(err), "error")
        return render_template("accounts/account.html"), 422
    login_user(Account.of(user))  # the new epoch keeps this session and ends the others
    flash("Contraseña cambiada. Sus otras sesiones se cerraron.", "ok")
    return redirect(url_for("territory.index"))


# --------------------------------------------------------------------------- admin


@bp.get("/admin/usuarios")
@allow("admin")
def users():
    """Accounts, with forms to create and change them."""
    with db_session() as db:
        page = service.accounts_page(db, _known_comunas())
    return render_template("accounts/users.html", **page)


@bp.post("/admin/usuarios")
@allow("admin")
def user_add():
    """Create an account; it must change its password at first login."""
    form = request.form
    comunas = ",".join(form.getlist("comunas")) or form.get("comunas_texto", "*")
    try:
        with db_session() as db, db.begin():
            user = create_user(
                db, form.get("usuario", ""), form.get("clave", ""), form.get("rol", ""),
                known_comunas=_known_comunas(), comunas=comunas,
                gestor_code=form.get("gestor", ""), display_name=form.get("nombre", ""),
                must_change_password=True,
            )  # fmt: skip
            audit(db, "cuentas", "crear_cuenta", target_id=user.username, detail=user.role)
    except AccountError as err:
        return _back_to_users(str(err), "error")
    return _back_to_users(CREATED.format(username=user.username), "ok")


def _account_change(form) -> service.AccountChange:
    return service.AccountChange(
        action=form.get("accion", ""),
        version=form.get("version", ""),
        role=form.get("rol", ""),
        comunas=",".join(form.getlist("comunas")) or "*",
        gestor_code=form.get("gestor", ""),
        display_name=form.get("nombre", ""),
        password=form.get("clave", ""),
    )


@bp.post("/admin/usuarios/<int:user_id>")
@allow("admin")
def user_edit(user_id: int):
    """Change an account: role and scope, enable/disable, unlock, or reset its password."""
    change = _account_change(request.form)
    try:
        with db_session() as db, db.begin():
            user = service.edit_account(db, user_id, change, acting_user_id=current_user.id,
                                        known_comunas=_known_comunas())  # fmt: skip
            audit(db, "cuentas", change.action, target_id=user.username)
    except AccountError as err:
        return _back_to_users(str(err), "error")
    return _back_to_users(f"Cuenta «{user.username}»: cambio guardado.", "ok")


@bp.get("/admin/auditoria")
@allow("admin")
def audit_log():
    """Who viewed, changed or exported which personal data (filters; newest first)."""
    page = max(request.args.get("pagina", 1, type=int), 1)
    with db_session() as db:
        found = audit_page(db, request.args.to_dict(), page)
    return render_template("accounts/audit.html", args=request.args, **found)


@bp.get("/admin/auditoria.csv")
@allow("admin")
def audit_export():
    """Export the filtered audit log as CSV (the export itself is audited)."""
    with db_session() as db, db.begin():
        body = audit_csv(db, request.args.to_dict())
        audit(db, "exportar", "auditoria")
    return csv_download(body, f"auditoria_{dt.date.today().isoformat()}.csv")
