"""Flask-Login wiring: the signed-in account as the views see it, and starting a session."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from flask import Flask
from flask import current_app
from flask import session
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import login_user

from geo_app.accounts.users import ROLES
from geo_app.scope import Scope
from geo_app.scope import weeks_back
from geo_app.security import csrf_token
from geo_app.store.models import User
from geo_app.web import db_session

__all__ = ["SESSION_START", "Account", "init_login", "start_session"]

SESSION_START = "inicio"


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
        weeks = current_app.config["GESTOR_WEEKS_BACK"]
        since = weeks_back(dt.date.today(), weeks) if self.role == "gestor" else None
        return Scope(self.username, self.role, self.comunas, self.gestor_code, since)


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


def init_login(app: Flask) -> None:
    """Flask-Login on `app`: sessions keyed by account and epoch, Spanish messages."""
    manager = LoginManager()
    manager.login_view = "accounts.login"
    manager.login_message = "Inicie sesión para continuar."
    manager.session_protection = "strong"
    manager.user_loader(_load_account)
    manager.init_app(app)


def start_session(account: Account) -> None:
    """Sign `account` in on a new session (and CSRF token): no session fixation."""
    session.clear()
    session.permanent = True
    session[SESSION_START] = time.time()  # the absolute lifetime counts from here
    login_user(account)
    csrf_token()
