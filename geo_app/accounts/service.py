"""What the accounts pages ask for: signing in, one's own password, the accounts list and edits.

Plain arguments, no Flask: the web views and the tests call the same functions.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo_app.accounts.users import BAD_LOGIN
from geo_app.accounts.users import ROLES
from geo_app.accounts.users import AccountError
from geo_app.accounts.users import LoginRefusedError
from geo_app.accounts.users import authenticate
from geo_app.accounts.users import set_active
from geo_app.accounts.users import set_password
from geo_app.accounts.users import spend_hash as _spend_hash
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
    "end_sessions",
    "failed_username",
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


def failed_username(session: Session, typed: str, key: bytes) -> str:
    """How the audit log names a failed login: the account, or a keyed hash of what was typed.

    A password typed into the username field must not be stored: text that is not an
    account's name is kept only as ``?`` and 12 hex digits of HMAC-SHA256 under the
    app's secret key (the same typo gives the same mark, and it cannot be reversed).
    """
    name = typed.strip().lower()
    if name and session.scalar(select(User.id).where(User.username == name)) is not None:
        return name
    return "?" + hmac.new(key, typed.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def sign_in(
    session: Session,
    throttle: IpThrottle,
    username: str,
    password: str,
    *,
    ip: str,
    account_throttle: IpThrottle | None = None,
    key: bytes = b"",
) -> LoginAttempt:
    """Check a login and record it in the audit log, in the caller's transaction.

    Two throttles, neither reset by a good login (so a valid account does not clear
    a password spraying): `throttle` counts failures per address (answer 429), and
    `account_throttle` per account name and address, which refuses that pair with the
    same answer as a wrong password. A lockout is thus never account-wide: an attacker
    locks only their own address out. Attempts refused by a throttle are not audited
    (the log cannot be flooded); failed usernames are stored as `failed_username`.
    Refusals are returned, not raised, so the audit entry is committed.
    """
    pair = f"{username.strip().lower()}|{ip}"
    if throttle.blocked(ip):
        return LoginAttempt(None, THROTTLED, 429)
    if account_throttle is not None and account_throttle.blocked(pair):
        _spend_hash(password)  # the same time as a checked password
        throttle.fail(ip)
        return LoginAttempt(None, BAD_LOGIN, 401)
    try:
        user = authenticate(session, username, password)
    except LoginRefusedError as err:
        throttle.fail(ip)
        if account_throttle is not None:
            account_throttle.fail(pair)
        name = failed_username(session, username, key)
        record(session, None, "acceso", "ingreso_fallido", username=name, ip=ip)
        return LoginAttempt(None, str(err), 401)
    record(session, scope_of(user), "acceso", "ingreso", ip=ip)
    return LoginAttempt(user)


PASSWORD_THROTTLED = (
    "Demasiados intentos con una contraseña actual incorrecta: espere 15 minutos antes de "
    "volver a intentarlo."
)


def change_own_password(
    session: Session,
    user_id: int,
    current: str,
    new: str,
    repeat: str,
    *,
    throttle: IpThrottle | None = None,
) -> User:
    """Change one's own password (its other sessions end); `new` must differ from `current`.

    Wrong current passwords count in `throttle` under ``cuenta:<id>``; when it is used
    up, the check is refused before the password is looked at.

    Raises
    ------
    AccountError
        The two new passwords differ, `current` is wrong or throttled, `new` is too weak
        or equals `current`.
    """
    key = f"cuenta:{user_id}"
    if throttle is not None and throttle.blocked(key):
        raise AccountError(PASSWORD_THROTTLED)
    user = session.get(User, user_id)
    if new != repeat:
        msg = "Las dos contraseñas nuevas no coinciden."
        raise AccountError(msg)
    try:
        set_password(user, new, current=current)
    except AccountError as err:
        if throttle is not None and "actual no es correcta" in str(err):
            throttle.fail(key)
        raise
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of an account on the server (its session ids stop being valid)."""
    session.execute(update(User).where(User.id == user_id).values(auth_epoch=User.auth_epoch + 1))


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
