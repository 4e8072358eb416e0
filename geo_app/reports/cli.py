"""Commands ``revincula report …``: the diagnosis PDF and its tables, from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import render_template

from geo_app.audit import record
from geo_app.cli_app import app_context
from geo_app.planning.plans import app_today
from geo_app.reports import service
from geo_app.scope import Scope

__all__ = ["cli"]

cli = click.Group("reports", help="Informes.")


@cli.group()
def report() -> None:
    """Informes: diagnóstico territorial (PDF) y sus tablas (CSV/XLSX)."""


def _diagnosis(app, since: str | None, until: str | None) -> service.Diagnosis:
    try:
        since = service.parse_month(since, "--desde")
        until = service.parse_month(until, "--hasta")
        with app.extensions["revincula.db"]() as db:
            scope = Scope(username="cli", role="admin")
            return service.diagnosis(db, scope, app.extensions["revincula.territory"],
                                     since, until)  # fmt: skip
    except service.ReportInputError as err:
        raise click.UsageError(str(err)) from err


@report.command("diagnosis")
@click.option("--desde", help="Primer mes (AAAA-MM); por omisión, el primero importado.")
@click.option("--hasta", help="Último mes (AAAA-MM); por omisión, el último importado.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Archivo de salida: .pdf (informe), o .csv/.xlsx con --tabla.")  # fmt: skip
@click.option("--tabla", type=click.Choice(list(service.TABLES)), default=None,
              help="Escribir solo esta tabla (CSV o XLSX según la extensión de -o).")  # fmt: skip
def diagnosis(desde: str | None, hasta: str | None, output: Path, tabla: str | None) -> None:
    """Diagnóstico territorial de todas las comunas: informe PDF o una tabla."""
    suffix = output.suffix.lower().lstrip(".")
    if tabla is None and suffix != "pdf":
        msg = "Sin --tabla, la salida es un PDF: use un nombre terminado en .pdf."
        raise click.UsageError(msg)
    if tabla is not None and suffix not in ("csv", "xlsx"):
        msg = "Con --tabla, la salida es .csv o .xlsx."
        raise click.UsageError(msg)
    with app_context() as app:
        diag = _diagnosis(app, desde, hasta)
        if tabla is None:
            with app.test_request_context():
                html = render_template("reports/diagnosis_pdf.html", **service.page_context(diag))
            body = service.pdf(html)
        else:
            body, _ = service.table_file(diag, tabla, suffix)
    output.write_bytes(body)
    click.echo(f"Escrito {output} ({len(body) // 1024} KB; {diag.n_cases} casos en la última "
               f"lista{', datos sintéticos' if diag.synthetic else ''}).")  # fmt: skip


@report.command("nomina")
@click.option("--fecha", required=True, help="Fecha de la nómina (AAAA-MM-DD).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Archivo XLSX de salida.")  # fmt: skip
def nomina(fecha: str, output: Path) -> None:
    """Nómina de seguimiento (Res. Ex. 3101 de 2020) en XLSX, con nombres y RUN."""
    try:
        on = service.parse_day(fecha)
    except service.ReportInputError as err:
        raise click.UsageError(str(err)) from err
    if output.suffix.lower() != ".xlsx":
        msg = "La nómina se escribe en XLSX: use un nombre terminado en .xlsx."
        raise click.UsageError(msg)
    with app_context() as app, app.extensions["revincula.db"]() as db, db.begin():
        scope = Scope(username="cli", role="admin")
        try:
            service.project_start(db, app.config["PROJECT_START"])  # a bad setting: stop here
        except service.ReportInputError as err:
            raise click.UsageError(str(err)) from err
        table = service.nomina(db, scope, app.extensions["revincula.territory"], on,
                               service.closing_labels())  # fmt: skip
        output.write_bytes(service.nomina_file(table))
        # Written: a download, so it counts as the delivery (service.nomina_schedule).
        record(db, None, "exportar", "nomina", case_ids=list(table["caso"]),
               detail=f"{on.isoformat()} (revincula report nomina)", username="cli")  # fmt: skip
        schedule = service.nomina_schedule(db, app.config["PROJECT_START"], app_today(app))
    click.echo(f"Escrito {output}: {len(table)} participantes al {on:%d-%m-%Y}.")
    for due in schedule.late:
        click.echo(f"  Atrasada: {due.name} (vencía el {due.due:%d-%m-%Y}).")
