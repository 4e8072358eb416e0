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
from layers.territory import TerritoryDataError

DEMO_PERIODS = ("2026-08", "2026-09", "2026-10")
DEMO_TODAY = dt.date(2026, 11, 2)  # the demo is classified as on this date, every year
DEMO_ACTOR = "demo (datos sintéticos)"
MESSY_NAME = "lista_desordenada_sintetica.csv"


@contextmanager
def _app():
    """Yield the app for one command; its database connections are closed at the end."""
    from geo_app import create_app

    try:
        app = create_app()
    except TerritoryDataError as err:
        raise click.ClickException(str(err)) from err
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
def demo_seed(seed: int, scale: float, only_if_empty: bool, folder: Path | None) -> None:
    """Crea la carga sintética: estudiantes de las escuelas SLEP y 3 meses de listas."""
    from geo_app.case_views import case_context
    from geo_app.cases import apply_import
    from geo_app.cases import prepare_import
    from geo_app.store.models import Case
    from layers.synthetic import generate_caseload
    from layers.synthetic import messy_file
    from layers.synthetic import monthly_file

    with _app() as app:
        sessions = app.extensions["revincula.db"]
        context = case_context()
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
        caseload = generate_caseload(
            context.territory, context.geocoder, seed=seed, scale=scale, today=DEMO_TODAY
        )
        click.echo(f"{len(caseload)} estudiantes sintéticos en escuelas SLEP.")
        folder = folder or Path(app.instance_path) / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        for index, period in enumerate(DEMO_PERIODS):
            data = monthly_file(caseload, period, index)
            name = f"lista_sintetica_{period}.csv"
            (folder / name).write_bytes(data)
            with sessions() as session, session.begin():
                prepared = prepare_import(session, context, data, name, today=DEMO_TODAY)
                batch = apply_import(session, context, prepared, actor=DEMO_ACTOR, synthetic=True)
                click.echo(
                    f"  {period}: {batch.n_valid} filas, {batch.n_new} nuevos, "
                    f"{batch.n_updated} actualizados, {batch.n_missing} ya no en la lista; "
                    f"ubicación {batch.geocode_summary}"
                )
        messy = folder / MESSY_NAME
        messy.write_bytes(messy_file(caseload, DEMO_PERIODS[-1]))
        click.echo(f"Archivo desordenado para probar la importación: {messy}")


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
