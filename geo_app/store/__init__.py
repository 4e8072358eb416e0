"""Case store: SQLAlchemy 2 engine and sessions, schema managed by Alembic.

SQLite file in the instance folder by default; PostgreSQL through
``DATABASE_URL`` (e.g. ``postgresql+psycopg://user@127.0.0.1/revincula``).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy import Select
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from geo_app.store.models import AuditEntry
from geo_app.store.models import Base
from geo_app.store.models import Change

__all__ = [
    "Base",
    "HistoryAppendOnlyError",
    "make_engine",
    "make_sessionmaker",
    "paginate",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class HistoryAppendOnlyError(RuntimeError):
    """Raised when code tries to edit or delete a history entry."""


def make_engine(url: str) -> Engine:
    """Engine for `url`; SQLite gets foreign keys on, a busy timeout and a 0600 file.

    The SQLite file holds minors' data: it is created readable by its owner only (its
    journal files take the same permissions).
    """
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file of `url` with mode 0600, or restrict an existing one."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.exists() and path.stat().st_uid == os.getuid():
        path.chmod(0o600)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


def paginate(
    session: Session, query: Select, page: int, size: int, *, options: tuple = ()
) -> tuple[list, int, int]:
    """Return page `page` (from 1) of an ordered `query`, the total and the page count.

    A page below 1 or past the last is read as the first or the last (a huge number
    from a URL never reaches the database). Loader `options` apply to the rows only.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max((total + size - 1) // size, 1)
    page = min(max(page, 1), pages)
    rows = list(session.scalars(query.options(*options).limit(size).offset((page - 1) * size)))
    return rows, total, pages


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creates it from scratch when empty)."""
    command.upgrade(alembic_config(url), revision)


@event.listens_for(Session, "before_flush")
def _history_append_only(session: Session, _context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Change | AuditEntry) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            what = "El historial de cambios" if isinstance(obj, Change) else "La auditoría"
            msg = f"{what} no se puede modificar ni borrar."
            raise HistoryAppendOnlyError(msg)
