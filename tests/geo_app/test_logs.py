"""Issue 25 item 10: no name or RUN in any server or access log line.

A real server (Werkzeug's, as ``revincula serve`` runs it, and gunicorn, as the README
deploys it) is driven over HTTP by a Castro profesional, a gestor and a mesa account
that search, open cases, import, hit errors and send Referers holding a name; then
every log line is searched for the synthetic names and RUNs used. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from geo_app import create_app
from tests.accounts import PASSWORD
from tests.accounts import add_user
from tests.accounts import csrf
from tests.accounts import sign_in

HEADER = "RUN;Nombres;Apellidos;Fecha Nacimiento;RBD;Curso;% Asistencia;Dirección;Comuna\r\n"
ROWS = (
    "90.000.001-4;Aurora;Secretísima;07/03/2012;8001;7° básico;40;Pasaje Reservado 12;Castro\r\n"
    "90.000.002-2;Bruno;Confidencial;01/06/2011;8001;8° básico;60;Camino Oculto 3;Castro\r\n"
)
SECRETS = ("Aurora", "Secretísima", "Secret%C3%ADsima", "Bruno", "Confidencial", "Reservado",
           "90000001", "90.000.001", "90000002", "90.000.002")  # fmt: skip
ACCOUNTS = {"profesional": "prof.castro", "gestor": "gestora.castro", "mesa": "mesa.uno"}


def seed(db_url: str) -> None:
    """Accounts and two synthetic students, through the app itself."""
    app = create_app({"TESTING": True, "SECRET_KEY": "logs", "DATABASE_URL": db_url})
    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.planning.gestores import save_gestores
    from geo_app.travel import app_model

    rows = read_gestores_csv(
        b"codigo,nombre,base,dias,inicio,fin,vehiculo,max_visitas\n"
        b'castro,Gestora,Castro,"lu,ma",08:30,17:30,si,4\n',
        app_model(app).find_place,
    )
    with app.extensions["revincula.db"]() as session, session.begin():
        save_gestores(session, rows, synthetic=True)
    add_user(app, "admin.logs", "admin")
    add_user(app, ACCOUNTS["profesional"], "profesional", comunas="Castro")
    add_user(app, ACCOUNTS["gestor"], "gestor", gestor="castro")
    add_user(app, ACCOUNTS["mesa"], "mesa")
    admin = app.test_client()
    sign_in(admin, "admin.logs")
    data = {"csrf": csrf(admin), "mes": "2026-08"}
    data["archivo"] = (io.BytesIO((HEADER + ROWS).encode()), "lista.csv")
    token = admin.post("/importar", data=data, content_type="multipart/form-data")
    token = token.headers["Location"].rsplit("/", 1)[-1]
    assert admin.post(f"/importar/{token}/confirmar", data={"csrf": csrf(admin)}).status_code == 302
    app.extensions["revincula.engine"].dispose()


def drive(base: str) -> None:
    """What the three accounts do over HTTP, with names in every place a log could catch."""
    leak = {"Referer": f"{base}/casos?q=Aurora+Secret%C3%ADsima&run=90.000.001-4"}
    for role, username in ACCOUNTS.items():
        stranger = requests.Session()  # a password typed as the user name
        page = stranger.get(f"{base}/ingresar").text
        first = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        stranger.post(f"{base}/ingresar", data={"csrf": first, "usuario": "Aurora Secretísima",
                                                "clave": "90.000.001-4"})  # fmt: skip
        web = requests.Session()
        page = web.get(f"{base}/ingresar").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        web.post(f"{base}/ingresar", data={"csrf": token, "usuario": username,
                                           "clave": PASSWORD})  # fmt: skip
        token = re.search(r'name="csrf" value="([^"]+)"', web.get(f"{base}/cuenta").text)
        token = token.group(1)
        found = web.post(f"{base}/casos/buscar", data={"csrf": token, "q": "Aurora Secretísima"},
                         headers=leak)  # fmt: skip
        assert found.status_code == (403 if role == "mesa" else 200), found.url
        assert role != "profesional" or "Secretísima" in found.text  # the search ran
        web.post(f"{base}/casos/buscar", data={"csrf": token, "q": "90.000.001-4"})
        web.get(f"{base}/casos?q=Bruno+Confidencial", headers=leak)  # an old bookmark
        web.get(f"{base}/no-existe?q=Aurora", headers=leak)  # a 404 line
        web.get(f"{base}/casos/1", headers=leak)
        web.get(f"{base}/api/casos.geojson", headers=leak)
        if role == "profesional":
            upload = {"archivo": ("lista.csv", (HEADER + ROWS.replace("Aurora", "Aurorita"))
                                  .encode())}  # fmt: skip
            sent = web.post(f"{base}/importar", data={"csrf": token, "mes": "2026-08"},
                            files=upload, headers=leak)  # fmt: skip
            web.get(sent.url, headers=leak)
            web.get(sent.url + "/rechazadas.csv", headers=leak)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clean(text: str) -> None:
    lines = [line for line in text.splitlines() if any(s in line for s in SECRETS)]
    assert not lines, lines[:5]


def test_the_dev_server_logs_no_names_or_runs(db_url, caplog):
    seed(db_url)
    app = create_app({"SECRET_KEY": "logs", "DATABASE_URL": db_url, "LOCAL_DEMO": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with caplog.at_level(logging.DEBUG):
        thread.start()
        try:
            drive(f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            app.extensions["revincula.engine"].dispose()
    requests_logged = [r for r in caplog.records if r.name == "werkzeug"]
    assert len(requests_logged) > 20  # the access lines were there to be searched
    server_side = [r for r in caplog.records if not r.name.startswith("urllib3")]  # the client
    assert_clean("\n".join(r.getMessage() for r in server_side))


def test_gunicorn_access_and_error_logs_hold_no_names_or_runs(db_url, tmp_path):
    seed(db_url)
    port, access, errors = free_port(), tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "REVINCULA_DATABASE_URL": db_url, "REVINCULA_SECRET_KEY": "logs",
           "REVINCULA_LOCAL_DEMO": "true"}  # fmt: skip
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--workers", "1", "--threads", "4", "--worker-class", "gthread",
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access),
         "--error-logfile", str(errors), "--log-level", "debug", "geo_app:create_app()"],
        cwd=Path(__file__).parents[2], env=env, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/ingresar", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        drive(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = access.read_text(encoding="utf-8")
    assert logged.count("\n") > 20 and "/casos" in logged
    assert '"http://127.0.0.1' in logged  # Referers are logged, without their query
    assert_clean(logged + errors.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_network_outside(monkeypatch):
    """Only 127.0.0.1 is spoken to (requests would honour proxy variables otherwise)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
