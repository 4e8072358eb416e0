"""CLI for the case store: `revincula db`, `revincula import`, `revincula demo`."""

from __future__ import annotations

import datetime as dt
import getpass
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import func
from sqlalchemy import select

from geo_app.cli import main
from geo_app.cli import start_app
from geo_app.demo import DEMO_PERIODS
from geo_app.demo import DEMO_TODAY


@contextmanager
def _app():
    """Yield the app for one command; its database connections are closed at the end."""
    app = start_app()
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["revincula.engine"].dispose()


@main.group()
def db() -> None:
    """Gestiona la base de datos de casos (SQLite en instance/ o DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Crea o actualiza el esquema de la base de datos (migraciones Alembic)."""
    with _app() as app:  # create_app migrates (AUTO_MIGRATE)
        url = app.config["DATABASE_URL"]
    shown = url.split("@")[-1] if "@" in url else url
    click.echo(f"Base de datos al día: {shown}")


def _print_report(prepared) -> None:
    result = prepared.result
    table = prepared.table
    click.echo(
        f"{prepared.filename}: {table.kind.upper()} {table.encoding} "
        f"{('separador ' + repr(table.delimiter)) if table.delimiter else ''}".rstrip()
    )
    click.echo(
        f"{result.n_rows} filas: {len(result.records)} válidas, {len(result.rejected)} con errores."
    )
    for issue in result.issues:
        where = f"fila {issue.row}" if issue.row else "archivo"
        column = f", columna «{issue.column}»" if issue.column else ""
        click.echo(f"  [{issue.severity}] {where}{column}: {issue.message}")
    click.echo(
        f"Nuevos: {len(prepared.new_runs)} · ya registrados: {len(prepared.updated_runs)} · "
        f"ya no están en la lista: {len(prepared.missing_runs)}"
    )
    summary = prepared.geocode_summary()
    if summary:
        total = sum(summary.values())
        parts = [f"{m} {n} ({100 * n / total:.0f} %)" for m, n in summary.items()]
        click.echo("Ubicación: " + ", ".join(parts))


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mes", "period", default=None, help="Mes de la asistencia (AAAA-MM) si el archivo no lo trae."
)
@click.option(
    "--solo-validas",
    is_flag=True,
    help="Importar solo las filas sin errores (en una sola operación).",
)
@click.option(
    "--revisar", "dry_run", is_flag=True, help="Solo validar y mostrar el informe; no guarda nada."
)
@click.option(
    "--rechazadas",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Guardar las filas rechazadas en este CSV.",
)
@click.option("--usuario", default=None, help="Quién importa (queda en el historial).")
def import_file(path, period, solo_validas, dry_run, rechazadas, usuario) -> None:
    """Importa una lista de estudiantes (CSV o XLSX): todo o nada, salvo --solo-validas."""
    from geo_app.case_views import case_context
    from geo_app.cases import ImportRejectedError
    from geo_app.cases import apply_import
    from geo_app.cases import prepare_import
    from layers.intake import IntakeError
    from layers.intake import parse_period
    from layers.intake import rejected_rows_csv

    if period is not None and parse_period(period) is None:
        msg = f"mes «{period}» no válido; use AAAA-MM, por ejemplo 2026-08."
        raise click.BadParameter(msg)
    period = parse_period(period) if period else None
    with _app() as app:
        sessions = app.extensions["revincula.db"]
        context = case_context()
        with sessions() as session:
            try:
                with session.begin():
                    prepared = prepare_import(
                        session, context, path.read_bytes(), path.name, period=period
                    )
                    _print_report(prepared)
                    if rechazadas is not None and prepared.result.rejected:
                        rechazadas.write_text(
                            rejected_rows_csv(prepared.table.headers, prepared.result),
                            encoding="utf-8",
                        )
                        click.echo(f"Filas rechazadas guardadas en {rechazadas}")
                    if dry_run:
                        click.echo("Revisión terminada: no se guardó nada (--revisar).")
                        return
                    batch = apply_import(
                        session,
                        context,
                        prepared,
                        only_valid=solo_validas,
                        actor=usuario or getpass.getuser(),
                    )
            except IntakeError as err:
                raise click.ClickException(str(err)) from err
            except ImportRejectedError as err:
                raise click.ClickException(str(err)) from err
        click.echo(
            f"Importación {batch.id} guardada: {batch.n_new} nuevos, {batch.n_updated} "
            f"actualizados, {batch.n_unchanged} sin cambios, {batch.n_missing} ya no están en "
            f"la lista, {batch.n_rejected} filas rechazadas."
        )


@main.group()
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
    """Crea la carga sintética: casos de 3 meses, 6 gestores y el plan publicado de la semana."""
    from geo_app.demo import demo_week
    from geo_app.demo import seed_cases
    from geo_app.demo import seed_plan
    from geo_app.store.models import Case

    with _app() as app:
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
            seed_plan(app, demo_week(dt.date.today()), plan_seconds, folder, echo=click.echo)


@demo.command("users")
def demo_users() -> None:
    """Crea o restablece una cuenta de demostración por rol e imprime sus credenciales."""
    from geo_app.demo import seed_users

    with _app() as app:
        seed_users(app, echo=click.echo)


@demo.command("plan")
@click.option(
    "--semana", "week", default=None, help="Lunes de la semana (por defecto, la próxima)."
)
@click.option("--segundos", "seconds", default=15.0, show_default=True)
def demo_plan(week: str | None, seconds: float) -> None:
    """Planifica y publica la semana con los gestores sintéticos (sobre los casos actuales)."""
    from geo_app.demo import demo_week
    from geo_app.demo import seed_plan

    monday = dt.date.fromisoformat(week) if week else demo_week(dt.date.today())
    with _app() as app:
        seed_plan(app, monday, seconds, Path(app.instance_path) / "demo", echo=click.echo)


@demo.command("messy")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--semilla", "seed", default=2026, show_default=True)
def demo_messy(output: Path, seed: int) -> None:
    """Escribe el archivo desordenado (sintético) que ejercita cada mensaje de validación."""
    from geo_app.case_views import case_context
    from layers.synthetic import generate_caseload
    from layers.synthetic import messy_file

    with _app():
        context = case_context()
        caseload = generate_caseload(
            context.territory, context.geocoder, seed=seed, today=DEMO_TODAY
        )
    output.write_bytes(messy_file(caseload, DEMO_PERIODS[-1]))
    click.echo(f"Escrito {output}")
