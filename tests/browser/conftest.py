"""Shared plumbing of the real-browser tests: Debian's Chromium, a live server, local-only pages."""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from tests.accounts import PASSWORD
from tests.accounts import add_user

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@contextmanager
def serve(app):
    """Serve `app` on a free local port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def seeded_app(db_path: Path, case_context, *, seed: int, scale: float, today):
    """App on a fresh SQLite with one month of a synthetic caseload imported.

    Returns the app and the number of imported records.
    """
    from geo_app import create_app
    from geo_app.cases.importing import apply_import
    from geo_app.cases.importing import prepare_import
    from layers.synthetic import generate_caseload
    from layers.synthetic import monthly_file

    config = {"TESTING": True, "SECRET_KEY": "b", "DATABASE_URL": f"sqlite:///{db_path}"}
    app = create_app({**config, "TODAY": today} if today else config)
    app.extensions["revincula.cases"] = case_context
    caseload = generate_caseload(
        case_context.territory, case_context.geocoder, seed=seed, scale=scale, today=today
    )
    with app.extensions["revincula.db"]() as session, session.begin():
        data = monthly_file(caseload, "2026-08", 0)
        prepared = prepare_import(session, case_context, data, "sintetica.csv", today=today)
        apply_import(session, case_context, prepared, actor="prueba", synthetic=True)
    add_user(app, "admin.prueba", "admin")
    return app, len(prepared.result.records)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Falta chromium de Debian: ejecute `make chromium` (make test lo instala).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class LocalPage:
    """A page whose requests outside this machine are aborted and recorded."""

    page: object
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def sign_in_page(local: LocalPage, base: str, username: str = "admin.prueba") -> None:
    """Sign in through the login form of the live app."""
    page = local.page
    page.goto(base + "/ingresar?next=/cuenta")  # a light page: nothing left loading
    page.fill("input[name=usuario]", username)
    page.fill("input[name=clave]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/ingresar" not in url, timeout=10_000)
    page.wait_for_load_state("networkidle")  # the favicon too, before the test navigates
    local.failed.clear()  # a favicon cut short by the redirect is not the page under test


def open_local_page(
    browser,
    width: int,
    height: int,
    *,
    base: str | None = None,
    user: str | None = None,
    service_workers: str = "block",
) -> LocalPage:
    """Open a page that records page errors, failed requests and blocked outside requests.

    With `base` and `user`, the page signs in first. Service workers are
    blocked unless asked for (``"allow"``): Playwright's request routing does
    not see what a service worker answers, and waiting for "networkidle" can
    then hang (Playwright docs, "Missing Network Events and Service Workers").
    """
    viewport = {"width": width, "height": height}
    local = LocalPage(browser.new_page(viewport=viewport, service_workers=service_workers))

    def only_local(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            local.blocked.append(route.request.url)
            route.abort()

    local.page.on("pageerror", lambda exc: local.errors.append(str(exc)))
    local.page.on("requestfailed", lambda r: local.failed.append(r.url))
    local.page.route("**/*", only_local)
    if base and user:
        sign_in_page(local, base, user)
    return local
