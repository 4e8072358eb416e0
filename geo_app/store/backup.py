"""Logical backup and restore of the whole store, the same on SQLite and PostgreSQL.

A backup is gzip-compressed JSON lines: a header (format, schema revision, row
counts), one line per row in dependency order, and a trailer with the SHA-256 of
every row line. Restore refuses a truncated or altered file, a file of another
schema revision, and a non-empty target unless asked to replace it; it loads
everything in one transaction (all or nothing). Because the format is logical, a
SQLite backup restores into PostgreSQL and back.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import Engine
from sqlalchemy import LargeBinary
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from geo_app.store import alembic_config
from geo_app.store import upgrade
from geo_app.store.models import Base

__all__ = ["FORMAT", "BackupError", "backup", "restore"]

FORMAT = "revincula-respaldo-1"
BATCH = 1000


class BackupError(RuntimeError):
    """A backup could not be read or restored; the message says why and what to do."""


def head_revision(url: str) -> str:
    """Return the newest schema revision this code knows."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current_revision(connection) -> str:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def _encode(value):
    if isinstance(value, dt.datetime):
        # the app writes UTC; SQLite hands it back without a zone
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):  # stored GTFS zips
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(column):
    if isinstance(column.type, DateTime):
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if isinstance(column.type, Date):
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if isinstance(column.type, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    return None


def backup(engine: Engine, path: str | Path, *, key: bytes | None = None) -> dict[str, int]:
    """Write every table to `path` from one consistent snapshot; return rows per table.

    The file is created readable by its owner only (0600). With `key` (the app's
    secret key) the trailer also carries an HMAC-SHA256 of every line: `restore` with
    the same key refuses a file edited afterwards (the SHA-256 alone can be recomputed
    by whoever edits it, e.g. to rewrite the audit log).
    """
    path = Path(path)
    tables = Base.metadata.sorted_tables
    digest = hashlib.sha256()
    signature = hmac.new(key, digestmod=hashlib.sha256) if key else None
    counts: dict[str, int] = {}
    partial = path.with_name(path.name + ".parcial")
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name != "sqlite" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        revision = _current_revision(conn)
        for table in tables:
            counts[table.name] = conn.scalar(select(func.count()).select_from(table))
        header = {
            "formato": FORMAT,
            "revision": revision,
            "creado": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "motor": engine.dialect.name,
            "tablas": counts,
        }
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            first = json.dumps(header, ensure_ascii=False)
            out.write(first + "\n")
            if signature is not None:
                signature.update(first.encode("utf-8"))
            for table in tables:
                order = list(table.primary_key.columns)
                for row in conn.execute(select(table).order_by(*order)).mappings():
                    line = json.dumps(
                        {"t": table.name, "r": {k: _encode(v) for k, v in row.items()}},
                        ensure_ascii=False,
                        sort_keys=True,
                    )
                    digest.update(line.encode("utf-8"))
                    if signature is not None:
                        signature.update(line.encode("utf-8"))
                    out.write(line + "\n")
            trailer = {"fin": True, "sha256": digest.hexdigest()}
            if signature is not None:
                trailer["hmac"] = signature.hexdigest()
            out.write(json.dumps(trailer) + "\n")
    partial.replace(path)  # a backup interrupted half-way never looks like a good one
    return counts


def _read(path: Path, key: bytes | None = None):
    signature = hmac.new(key, digestmod=hashlib.sha256) if key else None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            first = source.readline()
            header = json.loads(first)
            if signature is not None:
                signature.update(first.rstrip("\n").encode("utf-8"))
            if header.get("formato") != FORMAT:
                msg = f"{path.name} no es un respaldo de Revincula ({FORMAT})."
                raise BackupError(msg)
            digest = hashlib.sha256()
            rows: list[tuple[str, dict]] = []
            trailer = None
            for line in source:
                record = json.loads(line)
                if record.get("fin"):
                    trailer = record
                    break
                digest.update(line.rstrip("\n").encode("utf-8"))
                if signature is not None:
                    signature.update(line.rstrip("\n").encode("utf-8"))
                rows.append((record["t"], record["r"]))
    except (OSError, EOFError, ValueError, KeyError) as err:
        msg = f"No se puede leer el respaldo {path.name}: {err}. ¿Está completo?"
        raise BackupError(msg) from err
    if trailer is None or trailer.get("sha256") != digest.hexdigest():
        msg = (
            f"El respaldo {path.name} está incompleto o fue alterado (la suma SHA-256 no "
            "coincide): no se restauró nada. Use otro respaldo."
        )
        raise BackupError(msg)
    if signature is not None and not hmac.compare_digest(
        str(trailer.get("hmac", "")), signature.hexdigest()
    ):
        msg = (
            f"El respaldo {path.name} no tiene la firma de esta instalación (sin firma, firmado "
            "con otra clave o editado): no se restauró nada. Restáurelo con la misma clave "
            "(REVINCULA_SECRET_KEY o el archivo instance/secret_key de donde se creó)."
        )
        raise BackupError(msg)
    return header, rows


def _drop_everything(engine: Engine) -> None:
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def restore(
    engine: Engine, url: str, path: str | Path, *, replace: bool = False, key: bytes | None = None
) -> dict:
    """Load a backup into the database at `url`; return the header of the backup.

    With `key`, the backup must carry the HMAC that `backup` wrote with that key.

    Raises
    ------
    BackupError
        Unreadable, truncated or altered file, a missing or wrong signature (with
        `key`), another schema revision, or a non-empty target without `replace`.
        Nothing is changed in those cases.
    """
    path = Path(path)
    header, rows = _read(path, key)
    head = head_revision(url)
    if header["revision"] != head:
        msg = (
            f"El respaldo es de la revisión de esquema {header['revision']} y esta versión de "
            f"Revincula usa {head}: restáurelo con la versión que lo creó y luego ejecute "
            "`revincula db upgrade`."
        )
        raise BackupError(msg)
    upgrade(url)
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    with engine.connect() as conn:
        filled = [n for n in tables if conn.scalar(select(func.count()).select_from(tables[n]))]
    if filled and not replace:
        msg = (
            f"La base de destino ya tiene datos ({', '.join(filled)}): no se restauró nada. "
            "Use una base vacía o --reemplazar para borrar su contenido."
        )
        raise BackupError(msg)
    if filled:
        _drop_everything(engine)
        upgrade(url)
    by_table: dict[str, list[dict]] = {}
    for name, row in rows:
        by_table.setdefault(name, []).append(row)
    with engine.begin() as conn:
        for name, table in tables.items():
            decoders = {c.name: d for c in table.columns if (d := _decoder(c))}
            batch = [
                {k: (decoders[k](v) if k in decoders else v) for k, v in row.items()}
                for row in by_table.get(name, [])
            ]
            for start in range(0, len(batch), BATCH):
                conn.execute(table.insert(), batch[start : start + BATCH])
            if engine.dialect.name == "postgresql" and "id" in table.columns and batch:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT MAX(id) FROM {name}))"
                    )
                )
        for name, expected in header["tablas"].items():
            got = conn.scalar(select(func.count()).select_from(tables[name]))
            if got != expected:
                msg = f"Tabla {name}: se esperaban {expected} filas y quedaron {got}."
                raise BackupError(msg)
    return header
