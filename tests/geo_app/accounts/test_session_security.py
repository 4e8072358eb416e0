"""Issue 25 items 6, 8, 9, 11 (logins): sessions end on the server, throttles that cannot be
turned against a user, the same answer for every failure, transport defaults.

Each attack is tried by a profesional limited to Castro, a gestor and a mesa account, on
SQLite and on PostgreSQL (`db_url`).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from geo_app import create_app
from geo_app.planning.gestores import read_gestores_csv
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import AuditEntry
from geo_app.travel import app_model
from tests.accounts import PASSWORD
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import sign_in

ACCOUNTS = {"profesional": "prof.castro", "gestor": "gestora.castro", "mesa": "mesa.uno"}
ROLES = tuple(ACCOUNTS)
COOKIE = "revincula_sesion"


@pytest.fixture
def app(db_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "sesiones", "DATABASE_URL": db_url})
    rows = read_gestores_csv(
        b"codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas\n"
        b'castro,Gestora (sint\xc3\xa9tica),Castro,"lu,ma",08:30,17:30,si,4\n',
        app_model(app).find_place,
    )
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, rows, synthetic=True)
    add_user(app, ACCOUNTS["profesional"], "profesional", comunas="Castro")
    add_user(app, ACCOUNTS["gestor"], "gestor", gestor="castro")
    add_user(app, ACCOUNTS["mesa"], "mesa")
    yield app
    app.extensions["revincula.engine"].dispose()


def from_address(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


@pytest.mark.parametrize("role", ROLES)
def test_a_copied_cookie_stops_working_after_logout(app, role):
    """Item 6: «Salir» ends the session on the server, not only in the browser."""
    victim = app.test_client()
    assert sign_in(victim, ACCOUNTS[role]).status_code == 302
    stolen = victim.get_cookie(COOKIE).value
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/cuenta").status_code == 200  # the copy works while signed in
    assert victim.post("/salir", data={"csrf": csrf(victim)}).status_code == 302
    assert thief.get("/cuenta").status_code == 302  # and not after «Salir»


@pytest.mark.parametrize("role", ROLES)
def test_a_session_has_an_absolute_lifetime(app, role):
    """Item 6: 8 hours from login, however much it is used."""
    client = app.test_client()
    sign_in(client, ACCOUNTS[role])
    assert client.get("/cuenta").status_code == 200
    with client.session_transaction() as session:
        session["inicio"] = time.time() - 8 * 3600 - 1
    assert client.get("/cuenta").headers["Location"].startswith("/ingresar")
    assert client.get("/api/casos/resumen").status_code in {302, 401}


@pytest.mark.parametrize("role", ROLES)
def test_no_one_can_keep_an_account_locked_nor_tell_accounts_apart(app, role):
    """Item 8: the same answer for every failure; a lockout only locks the attacker out."""
    attacker = from_address(app, "203.0.113.9")
    answers = set()
    for name in (ACCOUNTS[role], "no.existe"):
        for _ in range(7):
            response = sign_in(attacker, name, "clave-equivocada-1")
            answers.add((response.status_code, response.get_data(as_text=True)))
    assert len(answers) == 1 and next(iter(answers))[0] == 401  # no «Cuenta bloqueada»
    # even the right password is refused from the attacker's address for a while …
    assert sign_in(attacker, ACCOUNTS[role]).status_code == 401
    # … but the user, from their own address, signs in
    assert sign_in(from_address(app, "198.51.100.7"), ACCOUNTS[role]).status_code == 302


@pytest.mark.parametrize("role", ROLES)
def test_a_valid_login_does_not_reset_the_address_throttle(app, role):
    """Item 8: password spraying cannot clear its count with one known account."""
    app.config["LOGIN_IP_LIMIT"] = 20
    sprayer = from_address(app, "203.0.113.10")
    for n in range(19):
        assert sign_in(sprayer, f"persona{n}", "Primavera2026!").status_code == 401
    assert sign_in(sprayer, ACCOUNTS[role]).status_code == 302  # its own valid account
    assert sign_in(sprayer, "persona19", "Primavera2026!").status_code == 401
    assert sign_in(sprayer, "persona20", "Primavera2026!").status_code == 429


@pytest.mark.parametrize("role", ROLES)
def test_the_current_password_check_is_throttled_and_new_differs(app, role):
    """Item 8: /cuenta cannot be used to guess the password; new ≠ current."""
    client = app.test_client()
    sign_in(client, ACCOUNTS[role])
    form = {"nueva": "otra-clave-larga-9", "repetir": "otra-clave-larga-9"}
    same = client.post("/cuenta", data={"csrf": csrf(client), "actual": PASSWORD,
                                        "nueva": PASSWORD, "repetir": PASSWORD})  # fmt: skip
    assert same.status_code == 422 and "distinta de la actual" in same.get_data(as_text=True)
    for n in range(5):
        wrong = client.post(
            "/cuenta", data={"csrf": csrf(client), "actual": f"adivina-{n}", **form}
        )
        assert "actual no es correcta" in wrong.get_data(as_text=True)
    right = client.post("/cuenta", data={"csrf": csrf(client), "actual": PASSWORD, **form})
    assert right.status_code == 422 and "Demasiados intentos" in right.get_data(as_text=True)


def test_a_password_typed_as_username_is_not_stored(app):
    """Item 11: failed usernames that are not accounts are kept only as a keyed hash."""
    client = from_address(app, "203.0.113.11")
    sign_in(client, "MiClaveSecreta2026", "x" * 12)
    sign_in(client, ACCOUNTS["mesa"], "x" * 12)
    with app.extensions["revincula.db"]() as session:
        names = session.scalars(
            select(AuditEntry.username).where(AuditEntry.target == "ingreso_fallido")
        ).all()
    assert ACCOUNTS["mesa"] in names
    hidden = [n for n in names if n != ACCOUNTS["mesa"]]
    assert hidden and all(n.startswith("?") and len(n) == 13 for n in hidden)
    assert not any("MiClave" in n for n in names)


def test_throttled_attempts_do_not_flood_the_audit_log(app):
    """Item 11: rate-limit before logging."""
    app.config["LOGIN_IP_LIMIT"] = 20
    client = from_address(app, "203.0.113.12")
    for n in range(60):
        sign_in(client, f"x{n}", "y" * 12)
    with app.extensions["revincula.db"]() as session:
        rows = session.scalars(select(AuditEntry.id).where(AuditEntry.target.like("ingreso%")))
        assert len(rows.all()) == 20


def test_transport_defaults_outside_a_local_demo(db_url):
    """Item 9: Secure + __Host- cookie and HSTS unless the app is a local demo."""
    served = create_app({"SECRET_KEY": "x", "DATABASE_URL": db_url})
    add_user(served, ACCOUNTS["mesa"], "mesa")
    client = served.test_client()
    page = client.get("/ingresar")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    form = {"csrf": csrf(client), "usuario": ACCOUNTS["mesa"], "clave": PASSWORD}
    response = client.post("/ingresar", data=form, base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-revincula_sesion=") and "Secure" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie
    # over plain http the browser never sends that cookie back: the refusal says why
    plain = served.test_client()
    plain.get("/ingresar")
    refused = plain.post("/ingresar", data={"csrf": "x", "usuario": ACCOUNTS["mesa"],
                                            "clave": PASSWORD})  # fmt: skip
    assert refused.status_code == 400
    assert "solo viaja por HTTPS" in refused.get_data(as_text=True)
    served.extensions["revincula.engine"].dispose()
    local = create_app({"SECRET_KEY": "x", "DATABASE_URL": db_url, "LOCAL_DEMO": True})
    assert "Strict-Transport-Security" not in local.test_client().get("/ingresar").headers
    assert local.config["SESSION_COOKIE_NAME"] == COOKIE
    local.extensions["revincula.engine"].dispose()
