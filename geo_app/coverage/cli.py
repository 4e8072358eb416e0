"""Command ``revincula coverage``: minutes to the nearest service from every origin.

Writes ``tiempos.csv`` (one row per origin; cases appear only as counts in
``bandas.csv``, never with their point or id) and ``bandas.csv`` (comuna, island,
band, cases, enrolment, population) and prints the band table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from geo_app.cli_app import app_context
from layers.services import SERVICE_TYPES

__all__ = ["cli"]

cli = click.Group("coverage", help="Cobertura de servicios.")

_TYPES_HELP = "; ".join(f"{key}: {label}" for key, (label, _) in SERVICE_TYPES.items())


@cli.command("coverage")
@click.option(
    "--servicio", "service_type", required=True, type=click.Choice(list(SERVICE_TYPES)),
    help=f"Tipo de servicio. Tipos: {_TYPES_HELP}.",
)  # fmt: skip
@click.option("--at", "at", default="", help="Salida «AAAA-MM-DD HH:MM» (hora de Chile); "
              "por omisión el próximo martes 08:00.")  # fmt: skip
@click.option("--a-pie", "on_foot", is_flag=True, help="A pie y en lancha (sin vehículo).")
@click.option("--transporte-publico", "transit", is_flag=True,
              help="A pie, en bus o colectivo y en lancha, con los horarios cargados "
              "(revincula transit import); sin horarios de buses no está disponible.")  # fmt: skip
@click.option("--agregar", "added", multiple=True,
              help="Agregar un servicio del tipo en «lat,lon» (repetible; escenario).")  # fmt: skip
@click.option("-o", "--salida", "output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("cobertura"), show_default=True,
              help="Carpeta donde escribir tiempos.csv y bandas.csv.")  # fmt: skip
def coverage(service_type, at, on_foot, transit, added, output) -> None:
    """Tiempo al servicio más cercano desde cada origen (casos, celdas H3, zonas, escuelas)."""
    from geo_app.coverage.runs import all_origins
    from geo_app.coverage.service import next_tuesday
    from geo_app.coverage.services import registry
    from geo_app.travel import mode_model
    from layers.coverage import Coverage
    from layers.coverage import Scenario
    from layers.coverage import apply_scenario
    from layers.coverage import band_counts

    try:
        when = (
            dt.datetime.strptime(at.strip(), "%Y-%m-%d %H:%M")
            if at
            else dt.datetime.combine(next_tuesday(dt.date.today()), dt.time(8))
        )
    except ValueError as err:
        msg = f"--at «{at}» no es válido; use «AAAA-MM-DD HH:MM» (ej. 2026-03-10 08:00)."
        raise click.BadParameter(msg) from err
    mode = _mode(on_foot=on_foot, transit=transit)
    points = _added(service_type, added)
    with app_context() as app:
        territory = app.extensions["revincula.territory"]
        with app.extensions["revincula.db"]() as session:
            services = registry(session, territory)
            origins = all_origins(session, territory)
        try:
            model, _ = mode_model(app, mode)
        except ValueError as err:  # transporte público without a bus or colectivo timetable
            raise click.ClickException(str(err)) from err
        if points:
            try:
                services, model = apply_scenario(
                    services, model, Scenario("línea de comandos", tuple(points)), territory
                )
            except ValueError as err:
                raise click.ClickException(str(err)) from err
        coverage = Coverage(model, origins, mode=mode)
        times = coverage.nearest(services, when, types=[service_type])
        note = model.service_note(when.date()) if transit else ""
    output.mkdir(parents=True, exist_ok=True)
    table = times.merge(origins.drop(columns="geometry"), on="origin_id")
    table = table[table["kind"] != "caso"]  # cases only as counts
    table = table.assign(minutos=table["minutes"].astype("Int64"))
    table[["origin_id", "kind", "comuna_name", "island_name", "minutos", "band", "reason"]].rename(
        columns={
            "origin_id": "origen",
            "kind": "tipo_origen",
            "comuna_name": "comuna",
            "island_name": "isla",
            "band": "banda",
            "reason": "motivo",
        }
    ).to_csv(output / "tiempos.csv", index=False)
    counts = band_counts(times, origins).drop(columns="service_type")
    counts.rename(
        columns={
            "comuna_name": "comuna",
            "island_name": "isla",
            "band": "banda",
            "cases": "casos",
            "enrolment": "matricula",
            "population": "poblacion",
        }
    ).to_csv(output / "bandas.csv", index=False)
    label = SERVICE_TYPES[service_type][0]
    click.echo(f"{label} · salida {when:%Y-%m-%d %H:%M} · {coverage.mode_label}")
    if model.approximate:
        click.echo("Red aproximada: tiempos por tierra estimados (supuestos).")
    if transit:
        click.echo(f"Horarios: {model.source}.")
        if note:
            click.echo(note)
    summary = counts.groupby("band", observed=True, sort=False)[
        ["cases", "enrolment", "population"]
    ].sum()
    click.echo(f"{'banda':<30} {'casos':>7} {'matrícula':>10} {'población':>10}")
    for band, row in summary.iterrows():
        click.echo(f"{band:<30} {row.cases:>7} {row.enrolment:>10} {row.population:>10}")
    click.echo(f"Escrito en {output}/: tiempos.csv, bandas.csv")


def _mode(*, on_foot: bool, transit: bool) -> str:
    if on_foot and transit:
        msg = "Use --a-pie o --transporte-publico, no los dos."
        raise click.UsageError(msg)
    return "transporte_publico" if transit else "a_pie" if on_foot else "vehiculo"


def _added(service_type: str, added) -> list:
    from layers.coverage import AddedService

    points = []
    for text in added:
        try:
            lat, lon = (float(v) for v in text.split(","))
        except ValueError as err:
            msg = f"--agregar «{text}» no es un punto; use «lat,lon» (ej. -42.64,-73.28)."
            raise click.BadParameter(msg) from err
        points.append(AddedService(service_type, lon=lon, lat=lat, name=f"agregado {text}"))
    return points
