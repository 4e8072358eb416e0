"""Alembic environment: runs our migrations on the URL given by `geo_app.store`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from geo_app.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run online (a live connection); offline SQL scripts are not used."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
