"""Commands for cases: ``revincula import`` (a list of students, all or nothing)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from sqlalchemy import select

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("cases", help="Casos: importación de listas.")


def _print_report(prepared, list_mode: str | None = None) -> None:
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
    missing = (
        "0 (adición: no se marca a nadie)"
        if list_mode == "adicion"
        else str(len(prepared.missing_runs))
    )
    click.echo(
        f"Nuevos: {len(prepared.new_runs)} · ya registrados: {len(prepared.updated_runs)} · "
        f"ya no están en la lista: {missing}"
    )
    for shortfall in prepared.shortfalls if list_mode is None else ():
        click.echo(f"  ¿Lista completa o adición? {shortfall.sentence()} (use --lista).")
    summary = prepared.geocode_summary()
    if summary:
        total = sum(summary.values())
        parts = [f"{m} {n} ({100 * n / total:.0f} %)" for m, n in summary.items()]
        click.echo("Ubicación: " + ", ".join(parts))


@cli.command("import")
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
@click.option(
    "--lista",
    type=click.Choice(["completa", "adicion"]),
    default=None,
    help="«completa»: los estudiantes de sus establecimientos que no vienen se marcan «ya no "
    "están en la lista»; «adicion»: no se marca a nadie. Obligatorio si el archivo trae "
    "muchas menos filas que la lista anterior de algún establecimiento.",
)
@click.option(
    "--por-partes",
    "streamed",
    is_flag=True,
    help="Para listas muy grandes (cientos de miles de filas): leer, validar y guardar por "
    "partes, con poca memoria y mostrando el avance; sigue siendo todo o nada.",
)
def import_file(path, period, solo_validas, dry_run, rechazadas, usuario, lista, streamed) -> None:
    """Importa una lista de estudiantes (CSV o XLSX): todo o nada, salvo --solo-validas."""
    from geo_app.audit import record
    from geo_app.cases.context import case_context
    from geo_app.cases.importing import ImportRejectedError
    from geo_app.cases.importing import apply_import
    from geo_app.cases.importing import prepare_import
    from geo_app.store.models import Case
    from layers.intake import IntakeError
    from layers.intake import parse_period
    from layers.intake import rejected_rows_csv

    if period is not None and parse_period(period) is None:
        msg = f"mes «{period}» no válido; use AAAA-MM, por ejemplo 2026-08."
        raise click.BadParameter(msg)
    period = parse_period(period) if period else None
    if streamed:
        if dry_run:
            msg = "--revisar no se combina con --por-partes: revise el archivo sin --por-partes."
            raise click.BadParameter(msg)
        _import_streamed(path, period, solo_validas, rechazadas, usuario, lista)
        return
    with app_context() as app:
        sessions = app.extensions["revincula.db"]
        context = case_context(app)
        with sessions() as session:
            try:
                with session.begin():
                    prepared = prepare_import(
                        session, context, path.read_bytes(), path.name, period=period
                    )
                    _print_report(prepared, lista)
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
                        list_mode=lista,
                    )
                    ids = session.scalars(select(Case.id).where(Case.last_batch_id == batch.id))
                    record(session, None, "cambiar", "importacion", target_id=batch.id,
                           case_ids=ids.all(), username=usuario or getpass.getuser())  # fmt: skip
            except IntakeError as err:
                raise click.ClickException(str(err)) from err
            except ImportRejectedError as err:
                raise click.ClickException(str(err)) from err
        click.echo(
            f"Importación {batch.id} guardada: {batch.n_new} nuevos, {batch.n_updated} "
            f"actualizados, {batch.n_unchanged} sin cambios, {batch.n_missing} ya no están en "
            f"la lista, {batch.n_rejected} filas rechazadas."
        )
        if batch.report.get("demo_desactivadas"):
            from geo_app.cases.uploads import DEMO_CLOSED

            click.echo(DEMO_CLOSED.format(", ".join(batch.report["demo_desactivadas"])))


def _import_streamed(path, period, solo_validas, rechazadas, usuario, lista) -> None:
    """``revincula import --por-partes``: `importing.stream_import`, progress on stderr."""
    from geo_app.audit import record
    from geo_app.cases.context import case_context
    from geo_app.cases.importing import ImportRejectedError
    from geo_app.cases.importing import stream_import
    from geo_app.store.models import Case
    from layers.intake import IntakeError

    def progress(done: int, total: int, phase: str) -> None:
        shown = (
            f"{done:,} de {total:,}".replace(",", ".") if total else f"{done:,}".replace(",", ".")
        )
        click.echo(f"{phase}: {shown} filas", err=True)

    actor = usuario or getpass.getuser()
    with app_context() as app:
        sessions = app.extensions["revincula.db"]
        with sessions() as session:
            try:
                with session.begin():
                    outcome = stream_import(
                        session, case_context(app), path, path.name, actor=actor,
                        only_valid=solo_validas, list_mode=lista, period=period,
                        progress=progress, rejected_to=rechazadas,
                    )  # fmt: skip
                    batch = outcome.batch
                    if rechazadas is None and outcome.rejected_path is not None:
                        outcome.rejected_path.unlink()  # not asked for: a temporary file
                    ids = session.scalars(select(Case.id).where(Case.last_batch_id == batch.id))
                    record(session, None, "cambiar", "importacion", target_id=batch.id,
                           case_ids=ids.all(), username=actor)  # fmt: skip
            except (IntakeError, ImportRejectedError) as err:
                raise click.ClickException(str(err)) from err
            finally:
                if rechazadas is not None and rechazadas.exists():
                    click.echo(f"Filas rechazadas guardadas en {rechazadas}")
        click.echo(
            f"Importación {batch.id} guardada por partes: {batch.n_new} nuevos, "
            f"{batch.n_updated} actualizados, {batch.n_unchanged} sin cambios, {batch.n_missing} "
            f"ya no están en la lista, {batch.n_rejected} filas rechazadas."
        )
