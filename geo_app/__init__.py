"""Revincula web application (Flask): map of the territory, cases, plans, accounts."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from layers.territory import DEFAULT_DATA_DIR
from layers.territory import load_territory

__all__ = ["create_app", "db_session"]

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parent
ENV_PREFIX = "REVINCULA_"
DEFAULTS: dict[str, Any] = {
    # Folder with the bundled territory files.
    "TERRITORY_DIR": str(DEFAULT_DATA_DIR),
    # Tile URL template for an optional OSM basemap; empty = offline basemap from our polygons.
    "TILE_URL": "",
    "TILE_ATTRIBUTION": "© colaboradores de OpenStreetMap",
    # Built OpenStreetMap network (name in REVINCULA_NETWORK_DIR or instance/redes, or a
    # .npz path; see `revincula network fetch/build`) used for travel times and street
    # geocoding; empty = the territory's approximate network, no streets.
    "NETWORK": "",
    # SQLAlchemy URL of the case store; empty = SQLite file in the instance folder.
    # Plain DATABASE_URL in the environment is honoured too.
    "DATABASE_URL": "",
    # Bring the database schema up to date (Alembic) when the app starts.
    "AUTO_MIGRATE": True,
    # Largest request (an import upload) accepted, in bytes.
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Session cookie: not readable by scripts, not sent cross-site, 8 working hours.
    # Set REVINCULA_SESSION_COOKIE_SECURE=true when the app is served over HTTPS.
    "SESSION_COOKIE_NAME": "revincula_sesion",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # Failed logins accepted from one address in the window before refusing for a while.
    "LOGIN_IP_LIMIT": 20,
    "LOGIN_IP_WINDOW_S": 900,
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults → instance ``config.toml`` → ``REVINCULA_*`` env → `test_config`.

    The territory is loaded and validated here; a broken data file stops the
    start-up with the full list of problems.
    """
    app = Flask(
        __name__,
        static_folder=static_folder(),
        static_url_path="/static",
        instance_relative_config=True,
    )
    app.config.from_mapping(DEFAULTS)
    config_file = Path(app.instance_path) / "config.toml"
    if config_file.is_file():
        app.config.from_file(str(config_file), load=tomllib.load, text=False)
    app.config.from_prefixed_env(ENV_PREFIX.rstrip("_"))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = os.environ.get("DATABASE_URL") or default_database_url(
            app.instance_path
        )

    started = time.perf_counter()
    territory = load_territory(app.config["TERRITORY_DIR"])
    app.extensions["revincula.territory"] = territory
    log.info(
        "territory loaded: %d schools, %d health, %d islands, %d boat lines in %.2f s",
        len(territory.schools),
        len(territory.health),
        len(territory.islands),
        len(territory.boat_lines),
        time.perf_counter() - started,
    )

    if app.config["NETWORK"]:
        from geo_app.travel import load_app_network

        load_app_network(app)

    init_store(app)

    from geo_app import auth_views
    from geo_app import case_views
    from geo_app import map_views
    from geo_app import plan_views
    from geo_app.security import init_security

    init_security(app)
    auth_views.init_auth(app)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(map_views.bp)
    app.register_blueprint(case_views.bp)
    app.register_blueprint(plan_views.bp)
    return app


def static_folder() -> Path:
    """Return the folder of the front end served at ``/static``.

    A source checkout (and an editable install) serves the repository's
    top-level ``static/``; a wheel ships that folder inside the package as
    ``geo_app/static`` (``[tool.setuptools.package-dir]`` in pyproject.toml).

    Raises
    ------
    FileNotFoundError
        Neither folder exists (a broken installation).
    """
    for folder in (PACKAGE_DIR / "static", PACKAGE_DIR.parent / "static"):
        if folder.is_dir():
            return folder
    msg = f"No se encuentra la carpeta static/ junto a {PACKAGE_DIR}: reinstale Revincula."
    raise FileNotFoundError(msg)


def db_session():
    """Open a new session on the current app's database."""
    from flask import current_app

    return current_app.extensions["revincula.db"]()


def instance_secret_key(instance_path: str | Path) -> bytes:
    """Return the key that signs sessions, kept in the instance folder (mode 0600).

    Every worker process of a server, and every restart, signs with the same key,
    so sessions survive both. Set ``REVINCULA_SECRET_KEY`` to manage it yourself.
    """
    path = Path(instance_path) / "secret_key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(32))
        with contextlib.suppress(FileExistsError):
            os.link(fresh, path)  # atomic: the first process to get here sets the key
        fresh.unlink()
    return path.read_bytes()


def default_database_url(instance_path: str | Path) -> str:
    """SQLite file in the instance folder (created if needed)."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'revincula.sqlite'}"


def init_store(app: Flask) -> None:
    """Engine, session factory and (optionally) migrations for the app's database."""
    from geo_app.store import make_engine
    from geo_app.store import make_sessionmaker
    from geo_app.store import upgrade

    url = app.config["DATABASE_URL"]
    if app.config["AUTO_MIGRATE"]:
        upgrade(url)
    engine = make_engine(url)
    app.extensions["revincula.engine"] = engine
    app.extensions["revincula.db"] = make_sessionmaker(engine)
