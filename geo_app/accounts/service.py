"""What the accounts pages ask for: signing in, one's own password, the accounts list and edits.

Plain arguments, no Flask: the web views and the tests call the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.accounts.users import ROLES
from geo_app.accounts.users import AccountError
from geo_app.accounts.users import LoginRefusedError
from geo_app.accounts.users import authenticate
from geo_app.accounts.users import set_active
from geo_app.accounts.users import set_password
from geo_app.accounts.users import update_user
from geo_app.audit import record
from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.security import IpThrottle
from geo_app.store.models import GestorRow
from geo_app.store.models import User

__all__ = [
    "AccountChange",
    "LoginAttempt",
    "accounts_page",
    "change_own_password",
    "edit_account",
    "scope_of",
    "sign_in",
]

THROTTLED = "Demasiados intentos fallidos desde esta dirección: espere 15 minutos."


def scope_of(user: User) -> Scope:
    """Return what the account of `user` may see."""
    return Scope(user.username, user.role, tuple(user.comuna_list), user.gestor_code)


@dataclass(frozen=True)
class LoginAttempt:
    """Outcome of a login: the user, or a Spanish refusal and its HTTP status (401 or 429)."""

    user: User | None
    refusal: str = ""
    status: int = 200


def sign_in(
    session: Session, throttle: IpThrottle, username: str, password: str, *, ip: str
) -> LoginAttempt:
    """Check a login and record it in the audit log, in the caller's transaction.

    Refusals are returned, not raised, so that the failure count and the audit
    entry are committed with the caller's transaction.
    """
    if throttle.blocked(ip):
        record(session, None, "acceso", "ingreso_bloqueado", username=username, ip=ip)
        return LoginAttempt(None, THROTTLED, 429)
    try:
        user = authenticate(session, username, password)
    except LoginRefusedError as err:
        throttle.fail(ip)
        record(session, None, "acceso", "ingreso_fallido", username=username, ip=ip)
        return LoginAttempt(None, str(err), 401)
    record(session, scope_of(user), "acceso", "ingreso", ip=ip)
    throttle.reset(ip)
    return LoginAttempt(user)


def change_own_password(
    session: Session, user_id: int, current: str, new: str, repeat: str
) -> User:
    """Change one's own password (its other sessions end).

    Raises
    ------
    AccountError
        The two new passwords differ, `current` is wrong or `new` is too weak.
    """
    user = session.get(User, user_id)
    if new != repeat:
        msg = "Las dos contraseñas nuevas no coinciden."
        raise AccountError(msg)
    set_password(user, new, current=current)
    return user


def accounts_page(session: Session, known_comunas: list[str]) -> dict:
    """Return the accounts page's variables: ``users``, ``roles``, ``gestores``, ``comunas``."""
    users = session.scalars(select(User).order_by(User.username)).all()
    gestores = session.scalars(select(GestorRow.code).order_by(GestorRow.code)).all()
    return {"users": users, "roles": ROLES, "gestores": gestores, "comunas": known_comunas}


@dataclass(frozen=True)
class AccountChange:
    """One change an administrator asks for on the accounts page.

    `action` is ``guardar`` (role, comunas, gestor and name), ``activar``,
    ``desactivar`` or ``clave`` (set `password`, to be changed at next login);
    `version` is the account's version the form was made from.
    """

    action: str
    version: str
    role: str = ""
    comunas: str = "*"
    gestor_code: str = ""
    display_name: str = ""
    password: str = ""


def edit_account(
    session: Session,
    user_id: int,
    change: AccountChange,
    *,
    acting_user_id: int,
    known_comunas: Iterable[str],
) -> User:
    """Apply an administrator's change to account `user_id`.

    Raises
    ------
    NotFoundError
        No such account.
    ConflictError
        The account changed since the form was made.
    AccountError
        The change is not valid, or would take the administrator's own access away.
    InvalidRequestError
        Unknown `change.action`.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError
    if str(user.version) != change.version:
        msg = "Otra persona cambió esta cuenta: recargue la página."
        raise ConflictError(msg)
    if user.id == acting_user_id and change.action in {"desactivar", "guardar"}:
        msg = "No puede quitarse a sí mismo el acceso de administración."
        raise AccountError(msg)
    if change.action == "guardar":
        update_user(
            session, user, known_comunas=known_comunas, role=change.role, comunas=change.comunas,
            gestor_code=change.gestor_code, display_name=change.display_name,
        )  # fmt: skip
    elif change.action in {"activar", "desactivar"}:
        set_active(user, change.action == "activar")
    elif change.action == "clave":
        set_password(user, change.password)
        user.must_change_password = True
    else:
        msg = "Acción desconocida."
        raise InvalidRequestError(msg)
    return user
