"""Command line of Revincula (`revincula --help`); messages in Spanish.

The one place where commands are registered: `main` merges the commands of
the core (``serve``), the store and every job's ``cli.py`` into one flat
``revincula`` command, so ``revincula plan`` comes from `geo_app.planning.cli`
and ``revincula user add`` from `geo_app.accounts.cli`.
"""

from __future__ import annotations

import os
import re
import sys

import click

from geo_app.accounts.cli import cli as accounts_cli
from geo_app.cases.cli import cli as cases_cli
from geo_app.cli_app import start_app
from geo_app.coverage.cli import cli as coverage_cli
from geo_app.demo.cli import cli as demo_cli
from geo_app.places.cli import cli as places_cli
from geo_app.planning.cli import cli as planning_cli
from geo_app.reports.cli import cli as reports_cli
from geo_app.store.cli import cli as store_cli
from geo_app.territory.cli import cli as territory_cli
from geo_app.transit.cli import cli as transit_cli

__all__ = ["SOURCES", "main"]

core = click.Group("core", help="Servidor web.")


@core.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Dirección donde escuchar.")
@click.option("--port", default=5000, show_default=True, help="Puerto.")
def serve(host: str, port: int) -> None:
    """Sirve la aplicación web en esta máquina (demo local por HTTP si escucha en 127.0.0.1)."""
    if host in {"127.0.0.1", "localhost", "::1"}:  # plain HTTP on this machine only
        os.environ.setdefault("REVINCULA_LOCAL_DEMO", "true")
    app = start_app()
    click.echo(f"Revincula disponible en http://{host}:{port}/  (Ctrl+C para detener)")
    app.run(host=host, port=port, debug=False, use_reloader=False)


@core.command()
@click.option("--burst", is_flag=True, help="Terminar cuando la cola quede vacía.")
@click.option("--aislar", is_flag=True,
              help="Calcular cada trabajo en un proceso hijo propio: un trabajo que falla o "
                   "usa mucha memoria no afecta a los siguientes (unos 0,2 s más por "
                   "trabajo).")  # fmt: skip
def worker(burst: bool, aislar: bool) -> None:
    """Trabajador de la cola (RQ en Redis): calcula planes y otros trabajos largos.

    Use la misma configuración que la aplicación web (REVINCULA_DATABASE_URL,
    REVINCULA_REDIS_URL o REDIS_URL); puede correr varios en paralelo.
    """
    from geo_app.worker import work

    app = start_app()
    url = re.sub(r"//[^@/]*@", "//***@", app.config.get("REDIS_URL", ""))  # no password
    if url:
        name = app.config["JOB_QUEUE"]
        click.echo(f"Trabajador de Revincula atendiendo la cola «{name}» en {url}")
    try:
        work(app, burst=burst, fork=aislar)
    except RuntimeError as err:
        raise click.ClickException(str(err)) from err


# Each job's commands; a name may appear in one source only (tests/geo_app/test_layout.py).
SOURCES = (
    core,
    store_cli,
    territory_cli,
    cases_cli,
    places_cli,
    planning_cli,
    coverage_cli,
    reports_cli,
    transit_cli,
    accounts_cli,
    demo_cli,
)

main = click.CommandCollection(
    "revincula",
    sources=list(SOURCES),
    help="Revincula: planificación territorial para equipos de revinculación escolar.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
