"""Commands for the synthetic demo: ``revincula demo seed|users|plan|messy``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cli_app import app_context
from geo_app.demo.seed import DEMO_PERIODS
from geo_app.demo.seed import DEMO_TODAY

__all__ = ["cli"]

cli = click.Group("demo", help="Datos sintéticos de demostración.")


@cli.group()
def demo() -> None:
    """Datos sintéticos de demostración (nunca personas reales)."""


@demo.command("seed")
@click.option("--semilla", "seed", default=2026, show_default=True, help="Semilla aleatoria.")
@click.option(
    "--escala", "scale", default=1.0, show_default=True, help="Multiplica la cantidad de casos."
)
@click.option("--si-vacia", "only_if_empty", is_flag=True, help="No hacer nada si ya hay casos.")
@click.option(
    "--carpeta",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dónde dejar los archivos generados (por defecto instance/demo).",
)
@click.option(
    "--segundos-plan",
    "plan_seconds",
    default=15.0,
    show_default=True,
    help="Tiempo de optimización del plan de demostración (0: sin plan).",
)
def demo_seed(
    seed: int, scale: float, only_if_empty: bool, folder: Path | None, plan_seconds: float
) -> None:
    """Crea la carga sintética: 6 listas mensuales, 6 gestores, visitas y planes publicados."""
    from geo_app.demo.seed import demo_week
    from geo_app.demo.seed import seed_cases
    from geo_app.demo.seed import seed_plan
    from geo_app.demo.seed import seed_visits
    from geo_app.store.models import Case

    with app_context() as app:
        sessions = app.extensions["revincula.db"]
        with sessions() as session:
            existing = session.scalar(select(func.count()).select_from(Case))
        if existing:
            if only_if_empty:
                click.echo(f"La base ya tiene {existing} casos: no se agregan datos sintéticos.")
                return
            msg = (
                f"La base ya tiene {existing} casos. La carga sintética solo se crea en una base "
                "vacía: use otra DATABASE_URL o borre instance/revincula.sqlite."
            )
            raise click.ClickException(msg)
        folder = folder or Path(app.instance_path) / "demo"
        seed_cases(app, folder, seed=seed, scale=scale, echo=click.echo)
        if plan_seconds > 0:
            this_week = demo_week(dt.date.today())
            past = seed_plan(app, this_week - dt.timedelta(days=7), plan_seconds, folder,
                             echo=click.echo)  # fmt: skip
            if past is not None:
                seed_visits(app, past, seed=seed, echo=click.echo)
            seed_plan(app, this_week, plan_seconds, folder, echo=click.echo)


@demo.command("users")
def demo_users() -> None:
    """Crea o restablece una cuenta de demostración por rol e imprime sus credenciales."""
    from geo_app.demo.seed import seed_users

    with app_context() as app:
        seed_users(app, echo=click.echo)


@demo.command("plan")
@click.option(
    "--semana", "week", default=None, help="Lunes de la semana (por defecto, la próxima)."
)
@click.option("--segundos", "seconds", default=15.0, show_default=True)
def demo_plan(week: str | None, seconds: float) -> None:
    """Planifica y publica la semana con los gestores sintéticos (sobre los casos actuales)."""
    from geo_app.demo.seed import demo_week
    from geo_app.demo.seed import seed_plan

    monday = dt.date.fromisoformat(week) if week else demo_week(dt.date.today())
    with app_context() as app:
        seed_plan(app, monday, seconds, Path(app.instance_path) / "demo", echo=click.echo)


@demo.command("messy")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--semilla", "seed", default=2026, show_default=True)
def demo_messy(output: Path, seed: int) -> None:
    """Escribe el archivo desordenado (sintético) que ejercita cada mensaje de validación."""
    from geo_app.cases.context import case_context
    from layers.synthetic import generate_caseload
    from layers.synthetic import messy_file

    with app_context() as app:
        context = case_context(app)
        caseload = generate_caseload(
            context.territory, context.geocoder, seed=seed, today=DEMO_TODAY
        )
    output.write_bytes(messy_file(caseload, DEMO_PERIODS[-1]))
    click.echo(f"Escrito {output}")
