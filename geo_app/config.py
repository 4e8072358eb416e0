"""Configuration of the app: defaults, instance file, environment, and what they derive.

Order (later wins): `DEFAULTS` → the instance folder's ``config.toml`` →
``REVINCULA_*`` environment variables → the `test_config` of `create_app`.
Nothing is read at import time.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from layers.territory import DEFAULT_DATA_DIR

__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "configure",
    "default_database_url",
    "instance_secret_key",
    "static_folder",
]

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
    # Public transport journeys (mode «transporte público»), minutes; assumptions (supuesto)
    # documented in routing.transit.TransitParams: longest walk to or from a stop, longest
    # walk between two stops when changing vehicle, margin to change to a bus.
    "TRANSIT_MAX_WALK_MIN": 30.0,
    "TRANSIT_MAX_TRANSFER_WALK_MIN": 10.0,
    "TRANSIT_TRANSFER_SLACK_MIN": 2.0,
    # SQLAlchemy URL of the case store; empty = SQLite file in the instance folder.
    # Plain DATABASE_URL in the environment is honoured too.
    "DATABASE_URL": "",
    # Bring the database schema up to date (Alembic) when the app starts.
    "AUTO_MIGRATE": True,
    # counts about people shown to a mesa: 1..k-1 hidden, with complementary suppression
    "SUPPRESSION_K": 10,
    # Largest request accepted, in bytes (an import's upload: IMPORT_MAX_BYTES).
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # Imports from the web (geo_app.cases.uploads.ImportSizes): the largest upload, bytes
    # (2,000,000 rows of ~250 bytes); a CSV of at least IMPORT_STREAM_BYTES is reviewed and
    # stored in chunks, in bounded memory, up to IMPORT_MAX_ROWS rows (smaller CSVs and every
    # XLSX are read whole, up to 200,000 rows: layers.intake.ReadLimits).
    "IMPORT_MAX_BYTES": 512 * 1024 * 1024,
    "IMPORT_STREAM_BYTES": 5 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 2_000_000,
    "IMPORT_CHUNK_ROWS": 20_000,  # rows of a streamed import handled together
    # Session cookie: not readable by scripts, not sent cross-site, 8 working hours counted
    # from the login (absolute: use does not extend it).
    # Outside a local demo the cookie is Secure and named with the __Host- prefix (sent
    # only over HTTPS, only to this host), and responses carry HSTS; see `configure`.
    "SESSION_COOKIE_NAME": "revincula_sesion",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,  # None = derived from LOCAL_DEMO
    # A local demo over plain HTTP (``revincula serve`` on 127.0.0.1 and the tests set it):
    # cookies without Secure and no HSTS. None = true only when TESTING.
    "LOCAL_DEMO": None,
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # A gestor may open the cases of published plans of this week and of this many weeks
    # before it (and of any later week); older plans' cases are no longer theirs.
    "GESTOR_WEEKS_BACK": 2,
    # Failed logins accepted from one address in the window before refusing for a while.
    "LOGIN_IP_LIMIT": 20,
    "LOGIN_IP_WINDOW_S": 900,
    # Failed logins (or wrong current passwords on /cuenta) for one account from one
    # address before that pair is refused for the window; never account-wide.
    "LOGIN_ACCOUNT_LIMIT": 5,
    "LOGIN_ACCOUNT_WINDOW_S": 900,
    # Days a gestor's week kept on the phone for offline use stays there before it expires
    # (unsent visit records are never deleted by this).
    "FIELD_OFFLINE_DAYS": 8,
    # Days allowed in each case stage before it is flagged late, e.g. {"contacto": 10};
    # stages not named keep the days of layers/rules/flujo_casos_2026.toml.
    "CASE_STAGE_DAYS": {},
    # First day of the project's execution (AAAA-MM-DD), from which the nóminas de
    # seguimiento fall due (Res. Ex. 3101, 2020); empty = the first day of the month of
    # the earliest list imported.
    "PROJECT_START": "",
    # The map's case layer sends every point of a view holding at most this many located
    # cases, else counts per H3 cell (geo_app.cases.map_layer); bounds the points sent at
    # once (a point is ~230 bytes of GeoJSON) and drawn by Leaflet.markercluster.
    "MAP_POINT_LIMIT": 2000,
    # More located cases than this at one identical point come as one stacked feature with
    # their count and list (geo_app.cases.map_layer.stacked): no markers one over another.
    "MAP_STACK_MIN": 12,
    # Redis for the job queue (RQ): empty = jobs run in a thread of the web process.
    # Plain REDIS_URL in the environment is honoured too. Run `revincula worker` beside it.
    "REDIS_URL": "",
    # Name of the RQ queue (several instances may share one Redis with different names).
    "JOB_QUEUE": "revincula",
    # Seconds a request that started a job (an import's review or store, a PDF report)
    # waits for it before answering with the page that polls its progress: a small job's
    # result comes at once, a long one never holds the request longer than this.
    "JOB_WAIT_S": 1.0,
    # Compressed responses (Flask-Compress): brotli, else gzip, for text over 500 bytes.
    # Streamed responses (static files) are left alone: Flask-Compress 1.x swaps their
    # body for a generator and the file is never closed; a front server compresses them.
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_STREAMS": False,
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/csv",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/geo+json",
        "image/svg+xml",
    ],
}


def configure(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill `app.config` in order; derive the secret key and the database URL if unset."""
    app.config.from_mapping(DEFAULTS)
    config_file = Path(app.instance_path) / "config.toml"
    if config_file.is_file():
        app.config.from_file(str(config_file), load=tomllib.load, text=False)
    app.config.from_prefixed_env(ENV_PREFIX.rstrip("_"))
    if test_config:
        app.config.from_mapping(test_config)
    _transport(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config["REDIS_URL"]:
        app.config["REDIS_URL"] = os.environ.get("REDIS_URL", "")
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = os.environ.get("DATABASE_URL") or default_database_url(
            app.instance_path
        )


def _transport(app: Flask) -> None:
    """Derive the cookie's Secure flag and name from LOCAL_DEMO (issue 25 item 9)."""
    if app.config["LOCAL_DEMO"] is None:
        app.config["LOCAL_DEMO"] = bool(app.config.get("TESTING"))
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not app.config["LOCAL_DEMO"]
    name = app.config["SESSION_COOKIE_NAME"]
    if app.config["SESSION_COOKIE_SECURE"] and not name.startswith("__Host-"):
        # the prefix needs Secure, Path=/ and no Domain (Flask's defaults)
        app.config["SESSION_COOKIE_NAME"] = "__Host-" + name
        app.config["SESSION_COOKIE_DOMAIN"] = None
        app.config["SESSION_COOKIE_PATH"] = "/"


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
    """SQLite file in the instance folder (the folder created 0700 if needed)."""
    Path(instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'revincula.sqlite'}"


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
