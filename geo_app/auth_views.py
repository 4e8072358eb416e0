"""Login, logout, password change, the accounts page and the audit log page (blueprint "auth")."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app import db_session
from geo_app.accounts import ROLES
from geo_app.accounts import AccountError
from geo_app.accounts import LoginRefusedError
from geo_app.accounts import Scope
from geo_app.accounts import authenticate
from geo_app.accounts import create_user
from geo_app.accounts import record
from geo_app.accounts import set_active
from geo_app.accounts import set_password
from geo_app.accounts import update_user
from geo_app.security import ALL_ROLES
from geo_app.security import allow
from geo_app.security import client_ip
from geo_app.security import csrf_token
from geo_app.security import public
from geo_app.security import safe_filename
from geo_app.store import paginate
from geo_app.store.models import AuditEntry
from geo_app.store.models import GestorRow
from geo_app.store.models import User
from layers.export import safe_row

__all__ = ["Account", "audit", "bp", "current_scope", "init_auth"]

bp = Blueprint("auth", __name__)
AUDIT_PAGE = 100
ACTIONS = {
    "ver": "vio",
    "cambiar": "cambió",
    "exportar": "exportó",
    "acceso": "acceso",
    "cuentas": "cuentas",
}


@dataclass(frozen=True)
class Account(UserMixin):
    """The signed-in user as the views see it (a snapshot, not the ORM row)."""

    id: int
    username: str
    display_name: str
    role: str
    comunas: tuple[str, ...]
    gestor_code: str
    must_change_password: bool
    epoch: int

    @classmethod
    def of(cls, user: User) -> Account:
        """Snapshot of an account row."""
        return cls(
            user.id,
            user.username,
            user.display_name,
            user.role,
            tuple(user.comuna_list),
            user.gestor_code,
            user.must_change_password,
            user.auth_epoch,
        )

    def get_id(self) -> str:
        """Session id: the account and its epoch (a new epoch ends old sessions)."""
        return f"{self.id}.{self.epoch}"

    @property
    def role_label(self) -> str:
        """Role in Spanish."""
        return ROLES[self.role]

    @property
    def scope(self) -> Scope:
        """What this account may see."""
        return Scope(self.username, self.role, self.comunas, self.gestor_code)


def _load_account(session_id: str) -> Account | None:
    try:
        user_id, epoch = (int(part) for part in session_id.split("."))
    except ValueError:
        return None
    with db_session() as db:
        user = db.get(User, user_id)
        if user is None or not user.active or user.auth_epoch != epoch:
            return None
        return Account.of(user)


def init_auth(app: Flask) -> None:
    """Flask-Login on `app`: sessions keyed by account and epoch, Spanish messages."""
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = "Inicie sesión para continuar."
    manager.session_protection = "strong"
    manager.user_loader(_load_account)
    manager.init_app(app)


def current_scope() -> Scope:
    """Scope of the signed-in account."""
    return current_user.scope


def audit(db: Session, action: str, target: str, **fields) -> None:
    """Append an audit entry for the signed-in account (in `db`'s transaction)."""
    scope = current_user.scope if current_user.is_authenticated else None
    record(db, scope, action, target, ip=client_ip(), **fields)


def _known_comunas() -> list[str]:
    return list(current_app.extensions["revincula.territory"].comunas["comuna_name"])


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if not target:
        return url_for("map.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("map.index")
    return target


# --------------------------------------------------------------------------- login


@bp.route("/ingresar", methods=["GET", "POST"])
@public
def login():
    """Sign in; failures are throttled per account and per address."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    throttle = current_app.extensions["revincula.ip_throttle"]
    ip = client_ip()
    username = request.form.get("usuario", "")[:60]
    if throttle.blocked(ip):
        with db_session() as db, db.begin():
            record(db, None, "acceso", "ingreso_bloqueado", username=username, ip=ip)
        message = "Demasiados intentos fallidos desde esta dirección: espere 15 minutos."
        return render_template("login.html", error=message, next=request.form.get("next")), 429
    with db_session() as db, db.begin():
        try:
            user = authenticate(db, username, request.form.get("clave", ""))
        except LoginRefusedError as err:
            throttle.fail(ip)
            record(db, None, "acceso", "ingreso_fallido", username=username, ip=ip)
            error = str(err)
        else:
            error = ""
            account = Account.of(user)
            record(db, account.scope, "acceso", "ingreso", ip=ip)
    if error:
        return render_template("login.html", error=error, next=request.form.get("next")), 401
    throttle.reset(ip)
    session.clear()  # a new session (and CSRF token) after login: no fixation
    session.permanent = True
    login_user(account)
    csrf_token()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/salir")
@allow(*ALL_ROLES)
def logout():
    """Sign out."""
    with db_session() as db, db.begin():
        audit(db, "acceso", "salida")
    logout_user()
    session.clear()
    flash("Sesión cerrada.", "ok")
    return redirect(url_for("auth.login"))


@bp.route("/cuenta", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def account():
    """Change one's own password (required after an administrator sets it)."""
    if request.method == "POST":
        new, repeat = request.form.get("nueva", ""), request.form.get("repetir", "")
        with db_session() as db:
            try:
                with db.begin():
                    user = db.get(User, current_user.id)
                    if new != repeat:
                        raise AccountError("Las dos contraseñas nuevas no coinciden.")  # noqa: EM101
                    set_password(user, new, current=request.form.get("actual", ""))
                    audit(db, "cuentas", "cambio_clave", target_id=user.username)
                    snapshot = Account.of(user)
            except AccountError as err:
                flash(str(err), "error")
                return render_template("account.html"), 422
        login_user(snapshot)  # the new epoch keeps this session and ends the others
        flash("Contraseña cambiada. Sus otras sesiones se cerraron.", "ok")
        return redirect(url_for("map.index"))
    return render_template("account.html")


# --------------------------------------------------------------------------- admin


@bp.get("/admin/usuarios")
@allow("admin")
def users():
    """Accounts, with forms to create and change them."""
    with db_session() as db:
        rows = db.scalars(select(User).order_by(User.username)).all()
        gestores = db.scalars(select(GestorRow.code).order_by(GestorRow.code)).all()
    return render_template(
        "users.html", users=rows, roles=ROLES, gestores=gestores, comunas=_known_comunas()
    )


@bp.post("/admin/usuarios")
@allow("admin")
def user_add():
    """Create an account; it must change its password at first login."""
    form = request.form
    with db_session() as db:
        try:
            with db.begin():
                user = create_user(
                    db,
                    form.get("usuario", ""),
                    form.get("clave", ""),
                    form.get("rol", ""),
                    known_comunas=_known_comunas(),
                    comunas=",".join(form.getlist("comunas")) or form.get("comunas_texto", "*"),
                    gestor_code=form.get("gestor", ""),
                    display_name=form.get("nombre", ""),
                    must_change_password=True,
                )
                audit(db, "cuentas", "crear_cuenta", target_id=user.username, detail=user.role)
        except AccountError as err:
            flash(str(err), "error")
            return redirect(url_for("auth.users")), 303
    flash(f"Cuenta «{user.username}» creada: deberá cambiar la contraseña al ingresar.", "ok")
    return redirect(url_for("auth.users")), 303


@bp.post("/admin/usuarios/<int:user_id>")
@allow("admin")
def user_edit(user_id: int):
    """Change an account: role and scope, enable/disable, unlock, or reset its password."""
    form = request.form
    action = form.get("accion", "")
    with db_session() as db:
        try:
            with db.begin():
                user = db.get(User, user_id)
                if user is None:
                    abort(404)
                if str(user.version) != form.get("version"):
                    abort(409, description="Otra persona cambió esta cuenta: recargue la página.")
                if user.id == current_user.id and action in {"desactivar", "guardar"}:
                    raise AccountError("No puede quitarse a sí mismo el acceso de administración.")  # noqa: EM101
                if action == "guardar":
                    update_user(
                        db, user, known_comunas=_known_comunas(), role=form.get("rol", ""),
                        comunas=",".join(form.getlist("comunas")) or "*",
                        gestor_code=form.get("gestor", ""), display_name=form.get("nombre", ""),
                    )  # fmt: skip
                elif action in {"activar", "desactivar"}:
                    set_active(user, action == "activar")
                elif action == "clave":
                    set_password(user, form.get("clave", ""))
                    user.must_change_password = True
                else:
                    abort(400, description="Acción desconocida.")
                audit(db, "cuentas", action, target_id=user.username)
        except AccountError as err:
            flash(str(err), "error")
            return redirect(url_for("auth.users")), 303
    flash(f"Cuenta «{user.username}»: cambio guardado.", "ok")
    return redirect(url_for("auth.users")), 303


def _audit_query(args):
    query = select(AuditEntry)
    if args.get("usuario"):
        query = query.where(AuditEntry.username == args["usuario"])
    if args.get("accion") in ACTIONS:
        query = query.where(AuditEntry.action == args["accion"])
    if args.get("caso", "").isdigit():
        pattern = f"%,{int(args['caso'])},%"
        query = query.where(("," + AuditEntry.case_ids + ",").like(pattern))
    for key, op in (("desde", "__ge__"), ("hasta", "__lt__")):
        try:
            day = dt.date.fromisoformat(args.get(key, ""))
        except ValueError:
            continue
        bound = dt.datetime.combine(day + dt.timedelta(days=key == "hasta"), dt.time(), dt.UTC)
        query = query.where(getattr(AuditEntry.at, op)(bound))
    return query


@bp.get("/admin/auditoria")
@allow("admin")
def audit_log():
    """Who viewed, changed or exported which personal data (filters; newest first)."""
    page = max(request.args.get("pagina", 1, type=int), 1)
    query = _audit_query(request.args)
    with db_session() as db:
        entries, total, pages = paginate(db, query.order_by(AuditEntry.id.desc()), page, AUDIT_PAGE)
    return render_template(
        "audit.html",
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        actions=ACTIONS,
        args=request.args,
        filters={k: v for k, v in request.args.items() if k != "pagina" and v},
    )


@bp.get("/admin/auditoria.csv")
@allow("admin")
def audit_export():
    """Export the filtered audit log as CSV (the export itself is audited)."""
    query = _audit_query(request.args)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["id", "fecha_utc", "usuario", "rol", "accion", "objeto", "id_objeto", "n_registros",
         "casos", "detalle", "ip"]
    )  # fmt: skip
    with db_session() as db, db.begin():
        for e in db.scalars(query.order_by(AuditEntry.id)):
            writer.writerow(safe_row(
                [e.id, e.at.isoformat(timespec="seconds"), e.username, e.role, e.action, e.target,
                 e.target_id, e.n_records, e.case_ids, e.detail, e.ip]
            ))  # fmt: skip
        audit(db, "exportar", "auditoria")
    name = safe_filename(f"auditoria_{dt.date.today().isoformat()}.csv")
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
