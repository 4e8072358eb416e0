"""Commands for accounts: ``revincula user add|list|disable|enable``."""

from __future__ import annotations

import getpass
import os

import click
from sqlalchemy import select

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("accounts", help="Cuentas de usuario.")


def _comunas(app) -> list[str]:
    return list(app.extensions["revincula.territory"].comunas["comuna_name"])


def _audit(session, action: str, username: str) -> None:
    from geo_app.audit import record

    record(
        session, None, "cuentas", action, target_id=username, username=f"cli:{getpass.getuser()}"
    )


@cli.group()
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
    from geo_app.accounts.users import AccountError
    from geo_app.accounts.users import create_user

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            msg = f"La variable de entorno {password_env} está vacía."
            raise click.ClickException(msg)
    else:
        password = click.prompt("Contraseña", hide_input=True, confirmation_prompt="Repítala")
    with app_context() as app, app.extensions["revincula.db"]() as session:
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


@user.command("list")
def user_list() -> None:
    """Lista las cuentas con su rol, ámbito y estado."""
    from geo_app.store.models import User

    with app_context() as app, app.extensions["revincula.db"]() as session:
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
    from geo_app.accounts.users import set_active
    from geo_app.store.models import User

    with app_context() as app, app.extensions["revincula.db"]() as session, session.begin():
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
