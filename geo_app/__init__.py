"""Revincula web application (Flask): map of the territory, and later cases and plans."""

from __future__ import annotations

import logging
import os
import time
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from layers.territory import DEFAULT_DATA_DIR
from layers.territory import load_territory

__all__ = ["create_app"]

log = logging.getLogger(__name__)
ENV_PREFIX = "REVINCULA_"
DEFAULTS: dict[str, Any] = {
    # Folder with the bundled territory files.
    "TERRITORY_DIR": str(DEFAULT_DATA_DIR),
    # Tile URL template for an optional OSM basemap; empty = offline basemap from our polygons.
    "TILE_URL": "",
    "TILE_ATTRIBUTION": "© colaboradores de OpenStreetMap",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults → instance ``config.toml`` → ``REVINCULA_*`` env → `test_config`.

    The territory is loaded and validated here; a broken data file stops the
    start-up with the full list of problems.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    config_file = Path(app.instance_path) / "config.toml"
    if config_file.is_file():
        app.config.from_file(str(config_file), load=tomllib.load, text=False)
    app.config.from_prefixed_env(ENV_PREFIX.rstrip("_"))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.urandom(32)

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

    from geo_app import map_views

    app.register_blueprint(map_views.bp)
    return app
