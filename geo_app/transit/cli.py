"""Commands for public transport: ``revincula transit import|export|lines|remove|info``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from pathlib import Path

import click

from geo_app.cli_app import app_context
from layers.text import count_label

__all__ = ["cli"]

cli = click.Group("transit", help="Transporte público: GTFS, líneas ingresadas, exportación.")

ACTOR = "cli"


@cli.group()
def transit() -> None:
    """Horarios de buses, colectivos y barcos (GTFS y líneas ingresadas)."""


def _fail(err: Exception):
    raise click.ClickException(str(err)) from err


def _audit(session, target_id: str, detail: str) -> None:
    """Audit a change to the timetables made from a command (the operating-system user)."""
    from geo_app.audit import record

    record(session, None, "cambiar", "transporte", target_id=target_id, detail=detail,
           username=f"cli:{getpass.getuser()}")  # fmt: skip


@transit.command("import")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fuente", "source", default="", help="Procedencia: publicador, fecha, licencia.")
@click.option("--reemplazar", "replace", is_flag=True, help="Reemplaza un GTFS del mismo nombre.")
def transit_import(feed: Path, source: str, replace: bool) -> None:
    """Importa un GTFS (.zip) validado entero: si tiene problemas no se carga nada."""
    from geo_app.errors import RequestError
    from geo_app.transit.service import import_feed

    with app_context() as app:
        try:
            with app.extensions["revincula.db"]() as session, session.begin():
                row = import_feed(
                    session,
                    feed.read_bytes(),
                    feed.name,
                    territory=app.extensions["revincula.territory"],
                    source=source,
                    actor=ACTOR,
                    replace=replace,
                )
                _audit(session, row.name, "importar GTFS")
                summary = row.summary
        except RequestError as err:
            _fail(err)
    kinds = ", ".join(count_label(n, k) for k, n in summary["lineas_por_tipo"].items())
    span = summary["vigencia"]
    click.echo(
        f"GTFS «{summary['nombre']}» importado: {count_label(summary['paradas'], 'parada')}, "
        f"{count_label(summary['lineas'], 'línea')} ({kinds}), "
        f"{count_label(summary['viajes'], 'viaje')}"
        + (f", vigente del {span[0]} al {span[1]}" if span else "")
        + "."
    )
    for warning in summary["avisos"]:
        click.echo(f"  aviso: {warning}")


@transit.command("lines")
@click.argument("stops", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("lines", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def transit_lines(stops: Path, lines: Path) -> None:
    """Reemplaza las líneas ingresadas con dos CSV (PARADAS y LÍNEAS, ver la página Transporte)."""
    from geo_app.errors import RequestError
    from geo_app.transit.service import save_lines

    with app_context() as app:
        try:
            with app.extensions["revincula.db"]() as session, session.begin():
                feed = save_lines(
                    session,
                    stops.read_text(encoding="utf-8-sig"),
                    lines.read_text(encoding="utf-8-sig"),
                    version="*",
                    actor=ACTOR,
                )
                _audit(session, "lineas", "guardar líneas")
        except RequestError as err:
            _fail(err)
    if feed is None:
        click.echo("Líneas ingresadas borradas (las tablas no tienen filas).")
    else:
        assumed = int(feed.routes["assumed"].sum())
        click.echo(
            f"Líneas ingresadas guardadas: {count_label(len(feed.routes), 'línea')}, "
            f"{count_label(len(feed.stops), 'parada')}, {count_label(len(feed.trips), 'salida')} "
            f"({count_label(assumed, 'línea')} con valores supuestos)."
        )


@transit.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--desde", "valid_from", default=None,
              help="Inicio de vigencia de barcos y líneas ingresadas (hoy).")  # fmt: skip
@click.option("--hasta", "valid_to", default=None,
              help="Fin de vigencia de barcos y líneas ingresadas (un año).")  # fmt: skip
def transit_export(output: Path, valid_from: str | None, valid_to: str | None) -> None:
    """Exporta los barcos del territorio, las líneas ingresadas y los GTFS importados como un GTFS.

    Los barcos y las líneas ingresadas (días de la semana, sin fechas) valen de --desde a
    --hasta; los GTFS importados conservan sus propias fechas.
    """
    from geo_app.errors import RequestError
    from geo_app.transit.service import export_feed

    try:
        start = dt.date.fromisoformat(valid_from) if valid_from else dt.date.today()
        end = dt.date.fromisoformat(valid_to) if valid_to else start + dt.timedelta(days=365)
    except ValueError as err:
        msg = "Fecha no válida: use AAAA-MM-DD en --desde y --hasta."
        raise click.BadParameter(msg) from err
    if end < start:
        msg = f"--hasta ({end}) es anterior a --desde ({start}): la vigencia terminaría antes."
        raise click.BadParameter(msg)
    with app_context() as app:
        try:
            with app.extensions["revincula.db"]() as session:
                counts = export_feed(
                    session,
                    app.extensions["revincula.territory"],
                    output,
                    valid_from=start,
                    valid_to=end,
                )
        except RequestError as err:
            _fail(err)
    imported = counts["gtfs_importados"]
    click.echo(
        f"GTFS escrito en {output}: {counts['lineas_barco']} líneas de barco, "
        f"{counts['lineas_ingresadas']} líneas ingresadas, "
        f"{counts['lineas_importadas']} líneas de {len(imported)} GTFS importados"
        + (f" ({', '.join(imported)}, con sus propias fechas)" if imported else "")
        + f", {counts['viajes']} viajes; barcos y líneas ingresadas vigentes del {start} al {end}."
    )


@transit.command("remove")
@click.argument("name")
def transit_remove(name: str) -> None:
    """Borra un GTFS importado (por su nombre; ver `revincula transit info`)."""
    from geo_app.errors import RequestError
    from geo_app.transit.service import remove_feed

    with app_context() as app:
        try:
            with app.extensions["revincula.db"]() as session, session.begin():
                remove_feed(session, name)
                _audit(session, name, "borrar GTFS")
        except RequestError as err:
            _fail(err)
    click.echo(f"GTFS «{name}» borrado.")


@transit.command("info")
def transit_info() -> None:
    """Horarios cargados y si el modo «transporte público» está disponible."""
    from geo_app.travel import transit_or_none

    with app_context() as app:
        model = transit_or_none(app)
        if model is None:
            from routing.transit import NO_TRANSIT_REASON

            click.echo(NO_TRANSIT_REASON)
            return
        facts = model.info()["transporte_publico"]
    click.echo(json.dumps(facts, ensure_ascii=False, indent=2, default=str))
