"""Command line of Revincula (`revincula --help`); messages in Spanish."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd

from layers.territory import DEFAULT_DATA_DIR
from layers.territory import TerritoryDataError
from layers.territory import load_territory
from layers.territory import summary_by_comuna
from layers.territory import summary_by_island

__all__ = ["main"]

_DATA_DIR_OPTION = click.option(
    "--datos",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Carpeta con los datos del territorio.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Revincula: planificación territorial para equipos de revinculación escolar."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Dirección donde escuchar.")
@click.option("--port", default=5000, show_default=True, help="Puerto.")
def serve(host: str, port: int) -> None:
    """Sirve la aplicación web en esta máquina."""
    from geo_app import create_app

    try:
        app = create_app()
    except TerritoryDataError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Revincula disponible en http://{host}:{port}/  (Ctrl+C para detener)")
    app.run(host=host, port=port, debug=False, use_reloader=False)


@main.group()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
