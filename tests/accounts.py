"""Test accounts: create one per role on an app and sign a client in through the real form."""

from __future__ import annotations

from sqlalchemy import select

PASSWORD = "clave-de-prueba-2026"


def add_user(app, username: str, role: str, *, comunas: str = "*", gestor: str = "") -> None:
    """Create an account (if missing) directly in the app's database."""
    from geo_app.accounts.users import create_user
    from geo_app.store.models import User

    known = list(app.extensions["revincula.territory"].comunas["comuna_name"])
    with app.extensions["revincula.db"]() as session, session.begin():
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(
                session, username, PASSWORD, role, known_comunas=known, comunas=comunas,
                gestor_code=gestor,
            )  # fmt: skip


def csrf(client) -> str:
    """The CSRF token of the client's session."""
    with client.session_transaction() as session:
        return session["csrf"]


def sign_in(client, username: str, password: str = PASSWORD):
    """Post the login form (fetching its token first); return the response."""
    client.get("/ingresar")
    return client.post(
        "/ingresar", data={"csrf": csrf(client), "usuario": username, "clave": password}
    )


def login(client, app, role: str = "admin", *, username: str | None = None, **scope):
    """Create an account with `role` and sign `client` in with it; return the client."""
    username = username or f"{role}.prueba"
    add_user(app, username, role, **scope)
    response = sign_in(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
