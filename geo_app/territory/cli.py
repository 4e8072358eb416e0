"""Commands for the territory and its travel networks.

``revincula territory info|check``, ``revincula network info|build|fetch``,
``revincula route``, ``revincula matrix``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

import click
import pandas as pd

from layers.territory import DEFAULT_DATA_DIR
from layers.territory import TerritoryDataError
from layers.territory import load_territory
from layers.territory import summary_by_comuna
from layers.territory import summary_by_island

__all__ = ["cli"]

cli = click.Group("territory", help="Territorio, redes de viaje y viajes.")

_DATA_DIR_OPTION = click.option(
    "--datos",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Carpeta con los datos del territorio.",
)


@cli.group()
def territory() -> None:
    """Datos del territorio (escuelas, salud, comunas, islas, barcos)."""


def _load(data_dir: Path):
    try:
        return load_territory(data_dir)
    except TerritoryDataError as err:
        raise click.ClickException(str(err)) from err


@territory.command("info")
@_DATA_DIR_OPTION
def territory_info(data_dir: Path) -> None:
    """Muestra los conteos por comuna y por isla."""
    t = _load(data_dir)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        click.echo(
            "Establecimientos funcionando (Mineduc 2025) y salud vigente (DEIS) por comuna:\n"
        )
        by_comuna = summary_by_comuna(t)
        total = by_comuna.drop(columns="comuna").sum()
        table = pd.concat([by_comuna, total.to_frame("TOTAL").T.assign(comuna="Total")])
        click.echo(table.to_string(index=False))
        click.echo("\nIslas con establecimientos o salud (polígonos comunales simplificados):\n")
        by_island = summary_by_island(t).reset_index(drop=True)
        by_island["lineas_barco"] = by_island["lineas_barco"].replace(
            "", "— sin línea en el horario"
        )
        click.echo(by_island.to_string(index=False))
    unlocated = int((~t.schools["has_location"]).sum())
    click.echo(
        f"\n{len(t.schools)} establecimientos funcionando ({int(t.schools['is_slep'].sum())} SLEP; "
        f"{int(t.schools['on_smaller_island'].sum())} en islas menores; "
        f"{unlocated} sin coordenadas). "
        f"{len(t.health)} establecimientos de salud vigentes. {len(t.islands)} islas. "
        f"{len(t.boat_lines)} líneas de barco "
        f"({int(t.boat_lines['assumed'].sum())} con valores supuestos)."
    )


@territory.command("check")
@_DATA_DIR_OPTION
def territory_check(data_dir: Path) -> None:
    """Valida los archivos del territorio y lista todos los problemas."""
    _load(data_dir)
    click.echo(f"Datos del territorio en {data_dir}: sin problemas.")


# -- travel networks -----------------------------------------------------------
def _network_dir() -> Path:
    """Folder of built networks: $REVINCULA_NETWORK_DIR or the app's instance folder."""
    from flask import Flask

    from geo_app.travel import network_dir

    return network_dir(Flask("geo_app").instance_path)


_NETWORK_OPTION = click.option(
    "--network",
    "network",
    default=None,
    help=(
        "Red construida (nombre o archivo .npz; ver `revincula network build`). "
        "Sin esta opción: red aproximada del territorio."
    ),
)


def _model(network: str | None, data_dir: Path):
    from geo_app.travel import load_model
    from routing import RoutingInputError

    try:
        territory = _load(data_dir) if not network else None
        return load_model(network, territory, _network_dir())
    except RoutingInputError as err:
        raise click.ClickException(str(err)) from err


_TRANSIT_OPTION = click.option(
    "--transporte-publico",
    "transit",
    is_flag=True,
    help=(
        "Sin vehículo, con buses, colectivos y barcos (horarios importados con "
        "`revincula transit import` o ingresados en la página Transporte)."
    ),
)


def _transit(model):
    """Return the public transport model on `model` (stored timetables), or exit saying why."""
    from geo_app.cli_app import app_context
    from geo_app.travel import transit_model
    from routing import RoutingInputError

    with app_context() as app:
        try:
            return transit_model(app, model)
        except RoutingInputError as err:
            raise click.ClickException(str(err)) from err


def _parse_when(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as err:
        msg = f"Fecha y hora {value!r} no válidas; use el formato AAAA-MM-DD HH:MM."
        raise click.BadParameter(msg) from err


@cli.group()
def network() -> None:
    """Redes de viaje: caminos de OpenStreetMap y barcos con horario."""


@network.command("info")
@_NETWORK_OPTION
@_DATA_DIR_OPTION
def network_info(network: str | None, data_dir: Path) -> None:
    """Muestra nodos, aristas, componentes y líneas de barco de una red."""
    model = _model(network, data_dir)
    info = model.info()
    labels = {
        "red": "Red",
        "fuente": "Fuente",
        "aproximada": "Red aproximada",
        "nodos": "Nodos",
        "aristas": "Aristas",
        "componentes": "Componentes (caminos conectados o masas de tierra)",
        "componente_mayor": "Nodos del componente mayor",
        "lineas_barco": "Líneas de barco",
        "tramos_barco": "Tramos de barco (línea y sentido)",
        "lineas_supuestas": "Líneas con horario supuesto",
    }
    for key, label in labels.items():
        value = info[key]
        click.echo(f"{label}: {'sí' if value is True else 'no' if value is False else value}")
    click.echo("Líneas de barco:")
    seen = set()
    for link in model.links:
        if link.line_id in seen:
            continue
        seen.add(link.line_id)
        flag = " [supuesto]" if link.assumed else ""
        cargo = "solo pasajeros" if link.passengers_only else "vehículos y pasajeros"
        click.echo(f"  - {link.line_name} ({link.line_id}): {cargo}{flag}")
    for note in info["notas"]:
        click.echo(f"Nota: {note}")


@network.command("build")
@click.option(
    "--osm",
    "osm_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Archivo OpenStreetMap: .osm, .osm.bz2 o .osm.pbf.",
)
@click.option(
    "--horario",
    "timetable",
    type=click.Path(path_type=Path),
    default=None,
    help="Horario de barcos (CSV) para las vías ferry de la red.",
)
@click.option("--nombre", "name", default=None, help="Nombre de la red (por defecto, el archivo).")
@click.option(
    "--filtro",
    "road_filter",
    type=click.Choice(["drive+track", "drive"]),
    default="drive+track",
    show_default=True,
    help="Caminos: los de osmnx 'drive' más huellas y servicio, o solo 'drive'.",
)
def network_build(osm_file: Path, timetable: Path | None, name: str | None, road_filter: str):
    """Construye una red desde un archivo OSM (sin internet); queda en caché."""
    from routing import RoutingInputError
    from routing.network import NetworkParams
    from routing.network import build_network
    from routing.network import load_network

    try:
        path = build_network(
            osm_file,
            timetable_csv=timetable,
            params=NetworkParams(road_filter=road_filter),
            cache_dir=_network_dir(),
            name=name,
        )
        info = load_network(path).info()
    except RoutingInputError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Red {info['red']!r} lista en {path}: {info['nodos']} nodos, {info['aristas']} aristas, "
        f"{info['lineas_barco']} líneas de barco. Úsela con --network {info['red']} "
        f"o, en la aplicación, con REVINCULA_NETWORK={info['red']}."
    )


@network.command("fetch")
@_DATA_DIR_OPTION
@click.option("--nombre", "name", default="chiloe-osm", show_default=True)
@click.option(
    "--margen-m",
    "buffer_m",
    default=2000.0,
    show_default=True,
    help="Margen alrededor del territorio, en metros.",
)
def network_fetch(data_dir: Path, name: str, buffer_m: float) -> None:
    """Descarga de OpenStreetMap (requiere internet) los caminos y barcos del territorio."""
    from layers.territory import FILES
    from routing import RoutingInputError
    from routing.network import fetch_network

    territory = _load(data_dir)
    polygon = territory.comunas.to_crs(4326).union_all()
    try:
        path = fetch_network(
            polygon,
            timetable_csv=data_dir / FILES["timetable"],
            cache_dir=_network_dir(),
            name=name,
            buffer_m=buffer_m,
        )
    except (RoutingInputError, ConnectionError, OSError) as err:
        msg = f"No se pudo descargar la red (¿hay conexión a internet?): {err}"
        raise click.ClickException(msg) from err
    click.echo(
        f"Red {name!r} descargada en {path}. Úsela con --network {name}; para la aplicación "
        f"(planes y ubicación por calles): REVINCULA_NETWORK={name}."
    )


_NEGATIVE = re.compile(r"^-\d+(?:[.,]\d+)?(?:\s*[,;]\s*-?\d+(?:[.,]\d+)?)?$")


class _PlaceArgsCommand(click.Command):
    """A command whose arguments may be negative coordinates (``-42.50,-73.69``).

    Every coordinate in Chile is negative and click would read ``-42.50,-73.69``
    as the option ``-4``. Words that look like negative numbers or ``lat,lon``
    pairs are taken as arguments; any other unknown word starting with ``-``
    is still refused, in Spanish, naming the options the command has.
    """

    def __init__(self, *args, **kwargs) -> None:
        """Create the command, keeping unknown words for `parse_args` to judge."""
        kwargs.setdefault("context_settings", {})["ignore_unknown_options"] = True
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse unknown options; let negative coordinates through as arguments."""
        known: dict[str, bool] = {}  # option name -> takes a value
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    known[name] = not param.is_flag and not param.count
        skip = False
        for word in args:
            if skip:
                skip = False
                continue
            if word == "--":
                break
            name = word.split("=", 1)[0]
            if name in known:
                skip = known[name] and "=" not in word
                continue
            if word.startswith("-") and len(word) > 1 and not _NEGATIVE.match(word):
                options = ", ".join(sorted(n for n in known if n.startswith("--")))
                msg = (
                    f"Opción desconocida {word!r}. Las opciones de este comando son: {options}. "
                    "Las coordenadas negativas se escriben tal cual, por ejemplo "
                    '"-42.50,-73.69".'
                )
                raise click.UsageError(msg, ctx)
        return super().parse_args(ctx, args)


@cli.command(cls=_PlaceArgsCommand)
@click.argument("origin")
@click.argument("destination")
@click.option("--at", "when", required=True, help="Salida: 'AAAA-MM-DD HH:MM'.")
@click.option("--a-pie", "on_foot", is_flag=True, help="Sin vehículo (a pie y en lancha).")
@click.option(
    "--vehiculo-en",
    "vehicle_at",
    default=None,
    help="Lugar (muelle) donde espera el vehículo, si se parte a pie.",
)
@_TRANSIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON.")
@_NETWORK_OPTION
@_DATA_DIR_OPTION
def route(
    origin, destination, when, on_foot, vehicle_at, transit, as_json, network, data_dir
) -> None:
    """Viaje de ORIGEN a DESTINO (nombres de lugar o 'lat,lon'), barcos incluidos.

    Las coordenadas van tal cual, también las negativas: "-42.50,-73.69".
    """
    from routing import RoutingInputError

    if transit and (on_foot or vehicle_at):
        msg = "Use --transporte-publico solo: ya es sin vehículo (a pie, buses y barcos)."
        raise click.UsageError(msg)
    model = _model(network, data_dir)
    if transit:
        model = _transit(model)
        on_foot = True
    depart = _parse_when(when)
    try:
        a = model.find_place(origin)
        b = model.find_place(destination)
        parked = model.find_place(vehicle_at)[:2] if vehicle_at else None
    except RoutingInputError as err:
        raise click.ClickException(str(err)) from err
    journey = model.journey(
        a[:2], b[:2], depart, on_foot=on_foot, vehicle_at=parked, labels=(a[2], b[2])
    )
    if as_json:
        click.echo(json.dumps(journey.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(journey.describe())
        if transit and journey.reachable and all(leg.kind == "caminar" for leg in journey.legs):
            click.echo(
                "Nota: este viaje en transporte público es solo a pie: ninguna salida de bus, "
                "colectivo o barco lo acorta a esa hora, o no hay una parada a distancia de "
                "caminata (vea `revincula transit info`)."
            )
    if not journey.reachable:
        sys.exit(2)


@cli.command()
@click.argument("points", type=click.Path(path_type=Path))
@click.option("--at", "when", required=True, help="Salida: 'AAAA-MM-DD HH:MM'.")
@click.option(
    "-o",
    "--salida",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="Archivo CSV de salida (from_id,to_id,travel_time_s).",
)
@click.option(
    "--destinos",
    "destinations",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV de destinos (id,lat,lon); por defecto los mismos puntos.",
)
@click.option("--a-pie", "on_foot", is_flag=True, help="Sin vehículo (a pie y en lancha).")
@_TRANSIT_OPTION
@_NETWORK_OPTION
@_DATA_DIR_OPTION
def matrix(points, when, output, destinations, on_foot, transit, network, data_dir) -> None:
    """Matriz de tiempos de viaje entre puntos (CSV id,lat,lon) en formato largo."""
    from routing import RoutingInputError
    from routing.points import read_points

    try:
        origins = read_points(points)
        targets = read_points(destinations) if destinations else origins
    except RoutingInputError as err:
        raise click.ClickException(str(err)) from err
    model = _model(network, data_dir)
    if transit:
        model, on_foot = _transit(model), True
    table = model.matrix(origins, targets, _parse_when(when), on_foot=on_foot)
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False)
    unreachable = int(table["travel_time_s"].isna().sum())
    click.echo(
        f"{len(table)} pares escritos en {output} ({unreachable} sin viaje posible: NaN)."
        + ("  [red aproximada]" if model.approximate else "")
    )
