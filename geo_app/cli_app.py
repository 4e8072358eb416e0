"""What every command of ``revincula`` shares: the app, opened for one command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask

__all__ = ["app_context", "start_app"]


def start_app() -> Flask:
    """Create the app; a broken territory file or a missing network ends the command with why."""
    from geo_app import create_app
    from layers.territory import TerritoryDataError
    from routing import RoutingInputError

    try:
        return create_app()
    except (TerritoryDataError, RoutingInputError) as err:
        raise click.ClickException(str(err)) from err


@contextmanager
def app_context() -> Iterator[Flask]:
    """Yield the app for one command; its database connections are closed at the end."""
    app = start_app()
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["revincula.engine"].dispose()
