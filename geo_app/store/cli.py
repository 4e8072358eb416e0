"""Commands for the store: ``revincula db upgrade``, ``revincula backup``, ``revincula restore``."""

from __future__ import annotations

from pathlib import Path

import click

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("store", help="Base de datos, respaldo y restauración.")


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
    """Respalda toda la base (casos, planes, cuentas, auditoría) en un archivo .jsonl.gz."""
    from geo_app.store.backup import backup

    with app_context() as app:
        counts = backup(app.extensions["revincula.engine"], output)
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
                replace=replace,
            )  # fmt: skip
        except BackupError as err:
            raise click.ClickException(str(err)) from err
    total = sum(header["tablas"].values())
    click.echo(f"Restaurado {path.name} (creado {header['creado']}): {total} filas.")
