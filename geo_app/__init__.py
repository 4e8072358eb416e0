"""Revincula web application (Flask).

The core (this package's modules) holds what every job shares: configuration,
the store, the travel model, background jobs and the web plumbing (scope,
security, audit, error pages). Each user job is a subpackage with its
blueprint (``views.py``), its service functions and its commands (``cli.py``):
``territory``, ``cases``, ``places``, ``planning``, ``field``, ``transit``, ``accounts``
and ``demo``.
Subpackages use the core; the core never imports a subpackage, except here
(blueprints) and in ``geo_app.cli`` (commands).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from flask_compress import Compress

from geo_app.config import configure
from geo_app.config import static_folder
from layers.territory import load_territory

__all__ = ["create_app"]

log = logging.getLogger(__name__)


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
    configure(app, test_config)

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

    from geo_app.accounts import views as accounts
    from geo_app.accounts.login import init_login
    from geo_app.cases import views as cases
    from geo_app.coverage import views as coverage
    from geo_app.field import views as field
    from geo_app.places import views as places
    from geo_app.planning import views as planning
    from geo_app.reports import views as reports
    from geo_app.security import init_security
    from geo_app.territory import views as territory_views
    from geo_app.transit import views as transit_views
    from geo_app.web import init_templates

    init_security(app)
    Compress(app)
    init_templates(app)
    init_login(app)
    blueprints = (
        accounts.bp,
        territory_views.bp,
        cases.bp,
        places.bp,
        planning.bp,
        field.bp,
        coverage.bp,
        reports.bp,
        transit_views.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    if not app.testing:  # unconfirmed uploads hold minors' data: swept on a timer
        _sweep_when_serving(app)
    return app


def _sweep_when_serving(app: Flask) -> None:
    """Start the sweeper of stale uploads and job results at the app's first request.

    Only a serving app sweeps: a ``revincula`` command builds the app for one command
    and closes its database at the end, which a sweeper thread still using a
    connection would outlive (an open connection left behind).
    """
    from geo_app.cases.import_jobs import sweep_jobs
    from geo_app.cases.uploads import start_sweeper

    lock = threading.Lock()

    @app.before_request
    def start_sweeping() -> None:
        if _sweeping(app):
            return
        with lock:
            if not _sweeping(app):
                app.extensions["revincula.sweeper"] = start_sweeper(
                    app.instance_path, also=lambda: sweep_jobs(app)
                )


def _sweeping(app: Flask) -> bool:
    """Whether the app's sweeper thread is running (`stop_sweepers` ends it)."""
    sweeper = app.extensions.get("revincula.sweeper")
    return sweeper is not None and sweeper.is_alive()


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
