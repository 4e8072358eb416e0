"""CLI for accounts and backups: `revincula user ...`, `revincula backup`, `revincula restore`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from geo_app.cli import main
from geo_app.cli_cases import _app


def _comunas(app) -> list[str]:
    return list(app.extensions["revincula.territory"].comunas["comuna_name"])


@main.group()
def user() -> None:
    """Cuentas de usuario (roles: admin, profesional, gestor, mesa)."""


@user.command("add")
@click.argument("username")
@click.option(
    "--rol", "role", required=True, type=click.Choice(["admin", "profesional", "gestor", "mesa"])
)
@click.option(
    "--comunas", default="*", show_default=True, help="Comunas separadas por coma; * = todas."
)
@click.option("--gestor", "gestor_code", default="", help="Código del gestor (solo rol gestor).")
@click.option("--nombre", "display_name", default="", help="Nombre para mostrar.")
@click.option(
    "--clave-env",
    "password_env",
    default=None,
    help="Leer la contraseña de esta variable de entorno (si no, se pregunta).",
)
def user_add(username, role, comunas, gestor_code, display_name, password_env) -> None:
    """Crea una cuenta; la persona deberá cambiar la contraseña al ingresar."""
    import os

    from geo_app.accounts import AccountError
    from geo_app.accounts import create_user

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            msg = f"La variable de entorno {password_env} está vacía."
            raise click.ClickException(msg)
    else:
        password = click.prompt("Contraseña", hide_input=True, confirmation_prompt="Repítala")
    with _app() as app, app.extensions["revincula.db"]() as session:
        try:
            with session.begin():
                account = create_user(
                    session, username, password, role, known_comunas=_comunas(app),
                    comunas=comunas, gestor_code=gestor_code, display_name=display_name,
                    must_change_password=True,
                )  # fmt: skip
                _audit(session, "crear_cuenta", account.username)
        except AccountError as err:
            raise click.ClickException(str(err)) from err
    click.echo(f"Cuenta «{account.username}» creada ({role}); cambiará la contraseña al ingresar.")


def _audit(session, action: str, username: str) -> None:
    import getpass

    from geo_app.accounts import record

    record(
        session, None, "cuentas", action, target_id=username, username=f"cli:{getpass.getuser()}"
    )


@user.command("list")
def user_list() -> None:
    """Lista las cuentas con su rol, ámbito y estado."""
    from geo_app.store.models import User

    with _app() as app, app.extensions["revincula.db"]() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
    if not users:
        click.echo("No hay cuentas. Cree una con: revincula user add NOMBRE --rol admin")
        return
    click.echo(f"{'usuario':<20} {'rol':<12} {'estado':<12} comunas / gestor")
    for u in users:
        state = "activa" if u.active else "desactivada"
        if u.active and u.locked_until:
            state = "bloqueada"
        scope = u.comunas if u.comunas != "*" else "todas"
        extra = f" / gestor {u.gestor_code}" if u.gestor_code else ""
        demo = "  [demo]" if u.demo else ""
        click.echo(f"{u.username:<20} {u.role:<12} {state:<12} {scope}{extra}{demo}")


def _set_active(username: str, active: bool) -> None:
    from geo_app.accounts import set_active
    from geo_app.store.models import User

    with _app() as app, app.extensions["revincula.db"]() as session, session.begin():
        account = session.scalar(select(User).where(User.username == username.lower()))
        if account is None:
            msg = f"No existe la cuenta «{username}» (vea `revincula user list`)."
            raise click.ClickException(msg)
        set_active(account, active)
        _audit(session, "activar" if active else "desactivar", account.username)


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Desactiva una cuenta (sus sesiones abiertas terminan de inmediato)."""
    _set_active(username, False)
    click.echo(f"Cuenta «{username}» desactivada.")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Reactiva (y desbloquea) una cuenta."""
    _set_active(username, True)
    click.echo(f"Cuenta «{username}» activa.")


@main.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def backup_command(output: Path) -> None:
    """Respalda toda la base (casos, planes, cuentas, auditoría) en un archivo .jsonl.gz."""
    from geo_app.store.backup import backup

    with _app() as app:
        counts = backup(app.extensions["revincula.engine"], output)
    total = sum(counts.values())
    click.echo(f"Respaldo escrito en {output}: {total} filas en {len(counts)} tablas.")
    click.echo("Contiene datos personales: guárdelo cifrado y con acceso restringido.")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reemplazar", "replace", is_flag=True, help="Borrar el contenido actual antes.")
def restore_command(path: Path, replace: bool) -> None:
    """Restaura un respaldo en la base configurada (todo o nada)."""
    from geo_app.store.backup import BackupError
    from geo_app.store.backup import restore

    with _app() as app:
        try:
            header = restore(
                app.extensions["revincula.engine"], app.config["DATABASE_URL"], path,
                replace=replace,
            )  # fmt: skip
        except BackupError as err:
            raise click.ClickException(str(err)) from err
    total = sum(header["tablas"].values())
    click.echo(f"Restaurado {path.name} (creado {header['creado']}): {total} filas.")
