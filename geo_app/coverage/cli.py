"""Command ``revincula coverage``: minutes to the nearest service from every origin.

Writes ``tiempos.csv`` (one row per origin; cases appear only as counts in
``bandas.csv``, never with their point or id: minutes and band at the departure
with the reason when unreachable, the same-day round trip — yes/no, time home,
reason — and the week: best, typical and worst day at the same hour, Monday to
Friday) and ``bandas.csv`` (comuna, island, band, cases, enrolment, population)
and prints the band table. ``--agregar`` and ``--agregar-salida`` apply a
what-if (a service, a boat departure) before computing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import numpy as np

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
@click.option("--agregar-salida", "departures", multiple=True,
              help="Agregar una salida de barco «línea|terminal|HH:MM[|días]» "
              "(ej. «achao-alao|Achao|17:00|lu,mi,vi»; repetible; escenario).")  # fmt: skip
@click.option("--estadia", "stay", default=60, show_default=True, type=click.IntRange(1, 720),
              help="Minutos en el servicio para la ida y vuelta en el día.")  # fmt: skip
@click.option("-o", "--salida", "output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("cobertura"), show_default=True,
              help="Carpeta donde escribir tiempos.csv y bandas.csv.")  # fmt: skip
def coverage(service_type, at, on_foot, transit, added, departures, stay, output) -> None:
    """Tiempo al servicio más cercano desde cada origen (casos, celdas H3, zonas, escuelas).

    Además, por origen: ida y vuelta en el día (sí/no, hora de regreso, motivo) y la
    semana (mejor, típico y peor día a la misma hora, de lunes a viernes).
    """
    from geo_app.coverage.runs import all_origins
    from geo_app.coverage.runs import hhmm
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
    sailings = _sailings(departures)
    with app_context() as app:
        territory = app.extensions["revincula.territory"]
        with app.extensions["revincula.db"]() as session:
            services = registry(session, territory)
            origins = all_origins(session, territory)
        try:
            model, _ = mode_model(app, mode)
        except ValueError as err:  # transporte público without a bus or colectivo timetable
            raise click.ClickException(str(err)) from err
        if points or sailings:
            scenario = Scenario("línea de comandos", tuple(points), (), tuple(sailings))
            try:
                services, model = apply_scenario(services, model, scenario, territory)
            except ValueError as err:
                raise click.ClickException(str(err)) from err
        cov = Coverage(model, origins, mode=mode)
        times = cov.nearest(services, when, types=[service_type])
        note = model.service_note(when.date()) if transit else ""
        trip = cov.round_trip(services, service_type, when, stay_min=float(stay))
        week = cov.week(services, when, types=[service_type])
    output.mkdir(parents=True, exist_ok=True)
    table = times.merge(origins.drop(columns="geometry"), on="origin_id")
    table = table.assign(
        minutos=table["minutes"].astype("Int64"),
        ida_y_vuelta=np.where(trip["same_day"].to_numpy(), "sí", "no"),
        hora_regreso=[hhmm(t) or "" for t in trip["home_at"]],
        motivo_ida_vuelta=trip["reason"].to_numpy(),
        semana_mejor_min=week["best_min"].astype("Int64").array,
        semana_mejor_dia=week["best_day"].to_numpy(),
        semana_tipico_min=week["median_min"].astype("Int64").array,
        semana_peor_min=week["worst_min"].astype("Int64").array,
        semana_peor_dia=week["worst_day"].to_numpy(),
        semana_dias_con_llegada=week["days_reached"].to_numpy(),
    )
    table = table[table["kind"] != "caso"]  # cases only as counts
    columns = {
        "origin_id": "origen",
        "kind": "tipo_origen",
        "comuna_name": "comuna",
        "island_name": "isla",
        "minutos": "minutos",
        "band": "banda",
        "reason": "motivo",
    }
    extra = [c for c in table.columns if c.startswith(("ida_", "hora_", "motivo_", "semana_"))]
    table[[*columns, *extra]].rename(columns=columns).to_csv(output / "tiempos.csv", index=False)
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
    click.echo(f"{label} · salida {when:%Y-%m-%d %H:%M} · {cov.mode_label}")
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
    back = int((table["ida_y_vuelta"] == "sí").sum())
    click.echo(
        f"Ida y vuelta en el día ({stay} min en el servicio): {back} de {len(table)} orígenes "
        "sin contar los casos (celdas, zonas, establecimientos)."
    )
    every_day = int((table["semana_dias_con_llegada"] == week["days"].max()).sum())
    click.echo(f"Se llega los {week['days'].max()} días (lunes a viernes, a la misma hora): "
               f"{every_day} de {len(table)}.")  # fmt: skip
    click.echo(f"Escrito en {output}/: tiempos.csv, bandas.csv")


def _mode(*, on_foot: bool, transit: bool) -> str:
    if on_foot and transit:
        msg = "Use --a-pie o --transporte-publico, no los dos."
        raise click.UsageError(msg)
    return "transporte_publico" if transit else "a_pie" if on_foot else "vehiculo"


def _sailings(departures) -> list:
    """Parse ``--agregar-salida`` values «línea|terminal|HH:MM[|días]» into AddedDeparture."""
    from layers.coverage import AddedDeparture

    sailings = []
    for text in departures:
        parts = [p.strip() for p in text.split("|")]
        if len(parts) not in (3, 4):
            msg = (
                f"--agregar-salida «{text}» no es válido; use «línea|terminal|HH:MM[|días]» "
                "(ej. achao-alao|Achao|17:00|lu,mi,vi)."
            )
            raise click.BadParameter(msg)
        sailings.append(AddedDeparture(*parts[:3], *(parts[3:] or ["lu,ma,mi,ju,vi"])))
    return sailings


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
