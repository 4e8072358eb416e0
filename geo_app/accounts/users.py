"""Accounts: roles, comuna scope, passwords, login and lockout (no Flask here).

Roles
-----
``admin``        everything, including accounts and the audit log.
``profesional``  cases, imports and plans of the comunas in the account's scope.
``gestor``       only the cases of their published visits, and their own day.
``mesa``         aggregates only: never a name, RUN, address, phone or a single case's point.

Passwords are hashed with argon2id (argon2-cffi defaults, rehashed when those
change). Five wrong passwords in a row lock the account for 15 minutes; the
web layer also throttles failures per address.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo_app.store.models import GestorRow
from geo_app.store.models import User
from geo_app.store.models import utcnow

__all__ = [
    "BAD_LOGIN",
    "LOCK_MINUTES",
    "MAX_FAILED_LOGINS",
    "ROLES",
    "AccountError",
    "LoginRefusedError",
    "authenticate",
    "create_user",
    "normalise_comunas",
    "set_active",
    "set_password",
    "spend_hash",
    "update_user",
]

ROLES = {
    "admin": "Administración",
    "profesional": "Profesional",
    "gestor": "Gestor/a territorial",
    "mesa": "Mesa intersectorial",
}
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,59}")
BAD_LOGIN = (
    "Usuario o contraseña incorrectos. Tras 5 intentos fallidos, este equipo debe esperar "
    "15 minutos para volver a intentar con esa cuenta."
)

_hasher = PasswordHasher()
# Verified when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("cuenta-inexistente")


class AccountError(ValueError):
    """An account could not be created or changed; the message says how to fix it."""


class LoginRefusedError(Exception):
    """A login was refused (wrong credentials, disabled or temporarily locked account)."""


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def normalise_comunas(text: str, known: Iterable[str]) -> str:
    """Return ``*`` or the canonical comuna names (``;``-joined) for user input.

    Accepts commas or semicolons, any case and missing accents ("curaco de velez").
    """
    text = text.strip()
    if text in {"", "*", "todas"}:
        return "*"
    by_fold = {_fold(name): name for name in known}
    chosen, unknown = [], []
    for part in re.split(r"[;,]", text):
        if not part.strip():
            continue
        name = by_fold.get(_fold(part))
        (chosen if name else unknown).append(name or part.strip())
    if unknown:
        msg = (
            f"Comunas desconocidas: {', '.join(unknown)}. Use nombres del territorio "
            f"({', '.join(sorted(by_fold.values()))}) separados por coma, o * para todas."
        )
        raise AccountError(msg)
    return ";".join(dict.fromkeys(chosen)) or "*"


def check_password(password: str, username: str) -> None:
    """Refuse weak passwords with a message saying what a valid one looks like."""
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres."
        raise AccountError(msg)
    if username and username.lower() in password.lower():
        msg = "La contraseña no puede contener el nombre de usuario."
        raise AccountError(msg)
    if len(set(password)) < 4:
        msg = "La contraseña es demasiado simple: mezcle letras, números o palabras."
        raise AccountError(msg)


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return _hasher.hash(password)


def _check_role(session: Session, role: str, gestor_code: str) -> None:
    if role not in ROLES:
        msg = f"Rol desconocido «{role}»: use {', '.join(ROLES)}."
        raise AccountError(msg)
    if role == "gestor":
        if not gestor_code:
            msg = "Una cuenta de gestor necesita el código del gestor (--gestor), p. ej. castro."
            raise AccountError(msg)
        if session.scalar(select(GestorRow.id).where(GestorRow.code == gestor_code)) is None:
            codes = ", ".join(session.scalars(select(GestorRow.code).order_by(GestorRow.code)))
            msg = (
                f"No existe el gestor «{gestor_code}». Gestores cargados: {codes or 'ninguno'} "
                "(cárguelos con `revincula plan --gestores ARCHIVO --guardar`)."
            )
            raise AccountError(msg)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    known_comunas: Iterable[str],
    comunas: str = "*",
    gestor_code: str = "",
    display_name: str = "",
    demo: bool = False,
    must_change_password: bool = False,
) -> User:
    """Create an account (validated; the message of `AccountError` says what to fix)."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        msg = (
            f"Nombre de usuario «{username}» no válido: 3 a 60 caracteres, minúsculas, números, "
            "punto, guion o guion bajo (p. ej. maria.soto)."
        )
        raise AccountError(msg)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        msg = f"Ya existe la cuenta «{username}»."
        raise AccountError(msg)
    _check_role(session, role, gestor_code)
    check_password(password, username)
    user = User(
        username=username,
        display_name=" ".join(display_name.split())[:120] or username,
        password_hash=hash_password(password),
        role=role,
        comunas=normalise_comunas(comunas, known_comunas),
        gestor_code=gestor_code if role == "gestor" else "",
        active=True,
        demo=demo,
        failed_logins=0,
        auth_epoch=0,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    known_comunas: Iterable[str],
    role: str,
    comunas: str,
    gestor_code: str,
    display_name: str,
) -> None:
    """Change an account's role and scope; open sessions end when the access shrinks."""
    _check_role(session, role, gestor_code)
    new_comunas = normalise_comunas(comunas, known_comunas)
    if (role, new_comunas, gestor_code) != (user.role, user.comunas, user.gestor_code):
        user.auth_epoch += 1
    user.role, user.comunas = role, new_comunas
    user.gestor_code = gestor_code if role == "gestor" else ""
    user.display_name = " ".join(display_name.split())[:120] or user.username


def set_password(user: User, new: str, *, current: str | None = None) -> None:
    """Set a new password (checking `current` when given); ends the account's other sessions."""
    if current is not None:
        try:
            _hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError) as err:
            msg = "La contraseña actual no es correcta."
            raise AccountError(msg) from err
        if new == current:
            msg = "La contraseña nueva debe ser distinta de la actual (o de la temporal)."
            raise AccountError(msg)
    check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.auth_epoch += 1
    user.must_change_password = False
    user.failed_logins, user.locked_until = 0, None


def set_active(user: User, active: bool) -> None:
    """Enable or disable an account (disabling ends its sessions); enabling also unlocks it."""
    if not active:
        user.auth_epoch += 1
    else:
        user.failed_logins, user.locked_until = 0, None
    user.active = active


def spend_hash(password: str) -> None:
    """Verify `password` against a dummy hash: a refusal costs what a real check costs."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value


def authenticate(
    session: Session, username: str, password: str, *, now: dt.datetime | None = None
) -> User:
    """Return the user when the credentials are right; count failures.

    Every refusal has the same message and costs one password hash, whether the
    account exists, is disabled or the password is wrong.

    Raises
    ------
    LoginRefusedError
        With `BAD_LOGIN`, which never says whether the account exists.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise LoginRefusedError(BAD_LOGIN)
    # Login bookkeeping is written with plain UPDATEs, not the version-checked ORM flush:
    # the same account signing in from two places at once must not conflict.
    row = update(User).where(User.id == user.id)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as err:
        # counted for the accounts page; the lockout itself is per account and address
        # (`geo_app.accounts.service.sign_in`), so no one can lock a user out from afar
        session.execute(row.values(failed_logins=User.failed_logins + 1))
        raise LoginRefusedError(BAD_LOGIN) from err
    values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    session.execute(row.values(**values))
    return user
