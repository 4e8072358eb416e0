"""Commands for the store: ``revincula db upgrade``, ``revincula backup``, ``revincula restore``."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("store", help="Base de datos, respaldo y restauración.")


def _key(app) -> bytes:
    """Return the key that signs backups: the secret key (instance/secret_key by default)."""
    key = app.config["SECRET_KEY"]
    return key.encode("utf-8") if isinstance(key, str) else key


def _audit(app, action: str, target: str, detail: str) -> None:
    """Record a command in the audit log, named by the system user who ran it."""
    from geo_app.audit import record

    with app.extensions["revincula.db"]() as session, session.begin():
        record(session, None, action, target, detail=detail, username=getpass.getuser())


@cli.group()
def db() -> None:
    """Gestiona la base de datos de casos (SQLite en instance/ o DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Crea o actualiza el esquema de la base de datos (migraciones Alembic)."""
    with app_context() as app:  # create_app migrates (AUTO_MIGRATE)
        url = app.config["DATABASE_URL"]
    shown = url.split("@")[-1] if "@" in url else url
    click.echo(f"Base de datos al día: {shown}")


@cli.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def backup_command(output: Path) -> None:
    """Respalda toda la base (casos, planes, cuentas, auditoría) en un .jsonl.gz firmado.

    El archivo queda legible solo por su dueño y firmado (HMAC) con la clave de esta
    instalación: la restauración rechaza un respaldo editado.
    """
    from geo_app.store.backup import backup

    with app_context() as app:
        # audited first, so that the backup holds its own entry
        _audit(app, "exportar", "respaldo", output.name)
        counts = backup(app.extensions["revincula.engine"], output, key=_key(app))
    total = sum(counts.values())
    click.echo(f"Respaldo escrito en {output}: {total} filas en {len(counts)} tablas.")
    click.echo("Contiene datos personales: guárdelo cifrado y con acceso restringido.")


@cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reemplazar", "replace", is_flag=True, help="Borrar el contenido actual antes.")
def restore_command(path: Path, replace: bool) -> None:
    """Restaura un respaldo en la base configurada (todo o nada)."""
    from geo_app.store.backup import BackupError
    from geo_app.store.backup import restore

    with app_context() as app:
        try:
            header = restore(
                app.extensions["revincula.engine"], app.config["DATABASE_URL"], path,
                replace=replace, key=_key(app),
            )  # fmt: skip
        except BackupError as err:
            raise click.ClickException(str(err)) from err
        _audit(app, "cambiar", "restauracion", f"{path.name} creado {header['creado']}")
    total = sum(header["tablas"].values())
    click.echo(f"Restaurado {path.name} (creado {header['creado']}): {total} filas.")
