"""Commands for places: ``revincula lugares importar|buscar|retirar|restaurar``."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("places", help="Lugares: nomenclátor del equipo.")


@cli.group()
def lugares() -> None:
    """Nomenclátor: importar un archivo de lugares, buscar, retirar y restaurar entradas."""


def _audit(session, action: str, target: str, **fields) -> None:
    from geo_app.audit import record

    record(session, None, action, target, username=f"cli:{getpass.getuser()}", **fields)


@lugares.command("importar")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--revisar", "dry_run", is_flag=True, help="Solo validar; no guarda nada.")
@click.option("--usuario", default=None, help="Quién importa (queda registrado).")
def import_places(path: Path, dry_run: bool, usuario: str | None) -> None:
    """Importa un nomenclátor (CSV o XLSX: nombre, comuna, lat, lon, fuente): todo o nada."""
    from geo_app.cases.context import case_context
    from geo_app.places.service import import_gazetteer
    from layers.gazetteer import GazetteerError

    with app_context() as app, app.extensions["revincula.db"]() as session:
        try:
            with session.begin():
                result = import_gazetteer(
                    session, case_context(app), path.read_bytes(), path.name,
                    actor=usuario or getpass.getuser(), dry_run=dry_run,
                )  # fmt: skip
                if not dry_run:
                    _audit(session, "cambiar", "nomenclator", target_id=path.name[:60],
                           case_ids=result.relocated,
                           detail=f"{result.stored} lugares importados")  # fmt: skip
        except GazetteerError as err:
            raise click.ClickException(str(err)) from err
    click.echo(f"{path.name}: {result.n_rows} lugares válidos; {result.repeated} ya estaban.")
    for conflict in result.conflicts:
        click.echo(f"  conflicto: {conflict}")
    if dry_run:
        click.echo("Revisión terminada: no se guardó nada (--revisar).")
        return
    click.echo(
        f"Guardados {result.stored} lugares; {len(result.relocated)} casos reubicados "
        "(quedó en el historial de cada caso)."
    )


@lugares.command("buscar")
@click.argument("texto")
@click.option("--comuna", default="", help="Solo esta comuna.")
def search_places(texto: str, comuna: str) -> None:
    """Busca lugares del nomenclátor combinado: punto, fuentes y conflictos."""
    from geo_app.cases.context import case_context
    from geo_app.places.stored import current_gazetteer

    with app_context() as app, app.extensions["revincula.db"]() as session:
        gazetteer = current_gazetteer(session, case_context(app))
        found = gazetteer.search(texto, comuna)
        if not found:
            click.echo("Ningún lugar con ese nombre.")
        for place in found:
            click.echo(f"{place.name} ({place.comuna or 'cualquier comuna'}, {place.kind}): "
                       f"{place.lat:.5f}, {place.lon:.5f} · fuentes: {place.source}"
                       + (f" · CONFLICTO: {place.conflict}" if place.conflict else ""))  # fmt: skip
            for entry in gazetteer.entries_of(place):
                click.echo(f"    {entry.ref}: {entry.lat:.5f}, {entry.lon:.5f} {entry.note}")


@lugares.command("retirar")
@click.argument("ref")
@click.option("--usuario", default=None, help="Quién retira (queda registrado).")
def retire_place(ref: str, usuario: str | None) -> None:
    """Retira una entrada por su referencia (p. ej. «WOF 1293071993» o «confirmado 4»)."""
    from geo_app.cases.context import case_context
    from geo_app.errors import RequestError
    from geo_app.places.service import retire_entry

    with app_context() as app, app.extensions["revincula.db"]() as session:
        try:
            with session.begin():
                change = retire_entry(session, case_context(app), None, ref,
                                      actor=usuario or getpass.getuser())  # fmt: skip
                _audit(session, "cambiar", "nomenclator", target_id=ref[:60],
                       case_ids=change.relocated, detail="entrada retirada")  # fmt: skip
        except RequestError as err:
            raise click.ClickException(str(err)) from err
    click.echo(f"Entrada {ref} retirada; {len(change.relocated)} casos reubicados.")


@lugares.command("restaurar")
@click.argument("entry_id", type=int)
@click.option("--usuario", default=None, help="Quién restaura (queda registrado).")
def restore_place(entry_id: int, usuario: str | None) -> None:
    """Deshace un retiro: la entrada ENTRY_ID (número de la página Lugares) vuelve a usarse."""
    from geo_app.cases.context import case_context
    from geo_app.errors import RequestError
    from geo_app.places.service import restore_entry

    with app_context() as app, app.extensions["revincula.db"]() as session:
        try:
            with session.begin():
                change = restore_entry(session, case_context(app), None, entry_id,
                                       actor=usuario or getpass.getuser())  # fmt: skip
                _audit(session, "cambiar", "nomenclator", target_id=str(entry_id),
                       case_ids=change.relocated, detail="retiro deshecho")  # fmt: skip
        except RequestError as err:
            raise click.ClickException(str(err)) from err
    click.echo(f"{change.message}; {len(change.relocated)} casos reubicados.")
