"""Commands for planning: ``revincula plan``, ``revincula replan``, ``revincula vrptw``.

``plan`` plans a week for the team, ``replan`` the rest of a week after a
change, ``vrptw`` runs the solver on a Solomon benchmark instance.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from geo_app.cli_app import app_context

__all__ = ["cli"]

cli = click.Group("planning", help="Planificación semanal.")


@cli.command("plan")
@click.option("--week", "week", required=True, help="Lunes de la semana: AAAA-MM-DD.")
@click.option(
    "--gestores",
    "gestores_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV de gestores: codigo, nombre, base (lugar o lat,lon), dias, inicio, fin, ...",
)
@click.option(
    "--alojamientos",
    "stays_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=(
        "CSV de alojamientos (noches fuera de la base): gestor, noche (AAAA-MM-DD), lugar "
        "y, opcional, sale (HH:MM, inicio de la mañana siguiente)."
    ),
)
@click.option(
    "--casos", "limit", default=300, show_default=True, help="Máximo de casos candidatos."
)
@click.option("--comuna", "comunas", multiple=True, help="Solo casos de esta comuna (repetible).")
@click.option(
    "--segundos", "seconds", default=20.0, show_default=True, help="Tiempo de optimización."
)
@click.option(
    "-o",
    "--salida",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("plan"),
    show_default=True,
    help="Carpeta donde escribir plan.json, plan.csv y resumen.txt.",
)
@click.option("--guardar", is_flag=True, help="Guardar el plan en la base (visible en la app).")
@click.option("--publicar", is_flag=True, help="Guardar y publicar (cada gestor ve su día).")
def plan(
    week, gestores_file, stays_file, limit, comunas, seconds, output, guardar, publicar
) -> None:
    """Planifica las visitas de la semana entre los gestores, con horarios de barco.

    Sin --guardar ni --publicar el plan solo se muestra y se escribe en la
    carpeta de salida: no queda en la base.

    Con --alojamientos, un gestor puede dormir fuera de su base (una isla cuyo
    barco no permite ir y volver en el día): ese día termina en el alojamiento
    y el siguiente empieza ahí, a la hora de la columna «sale» si se indica
    (un barco de vuelta que zarpa antes del inicio habitual de la jornada).
    """
    from geo_app.planning.gestores import GestorFileError
    from geo_app.planning.gestores import place_finder
    from geo_app.planning.gestores import read_gestores_csv
    from geo_app.planning.gestores import read_stays_csv
    from geo_app.planning.output import stops_csv
    from geo_app.planning.output import summary_lines
    from geo_app.planning.plans import PlanRunError
    from geo_app.planning.plans import app_today
    from geo_app.planning.plans import compute_week
    from geo_app.planning.plans import past_week_message
    from geo_app.travel import app_model

    try:
        monday = dt.date.fromisoformat(week)
    except ValueError as err:
        msg = f"Semana {week!r} no válida: use el lunes como AAAA-MM-DD."
        raise click.BadParameter(msg) from err
    with app_context() as app:
        past = past_week_message(monday, app_today(app))
        if past:
            raise click.ClickException(past)
        try:
            find = place_finder(app_model(app))
            rows = read_gestores_csv(gestores_file.read_bytes(), find)
            codes = [r["code"] for r in rows]
            stays = read_stays_csv(stays_file.read_bytes(), find, codes) if stays_file else []
            plan_id, result = compute_week(
                app,
                rows,
                monday,
                seconds=seconds,
                limit=limit,
                comunas=list(comunas),
                stays=stays,
                actor="cli",
                outcome="publicar" if publicar else "guardar" if guardar else "descartar",
                announce=lambda n: click.echo(
                    f"Planificando {n} casos con {len(rows)} gestores, semana del "
                    f"{monday - dt.timedelta(days=monday.weekday()):%d-%m-%Y} "
                    f"({seconds:g} s de optimización)..."
                ),
            )
        except (GestorFileError, PlanRunError) as err:
            raise click.ClickException(str(err)) from err
    output.mkdir(parents=True, exist_ok=True)
    (output / "plan.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    (output / "plan.csv").write_text(stops_csv(result))
    lines = summary_lines(result)
    (output / "resumen.txt").write_text("\n".join(lines) + "\n")
    click.echo("\n".join(lines[:3]))
    click.echo(f"Escrito en {output}/: plan.json, plan.csv, resumen.txt")
    if publicar or guardar:
        state = "publicado" if publicar else "guardado como borrador"
        click.echo(f"Plan {plan_id} {state}: /planificacion/{plan_id}")
    else:
        click.echo(
            "Plan solo mostrado: no se guardó en la base ni lo ven los gestores. "
            "Use --guardar (borrador) o --publicar para guardarlo."
        )


@cli.command("vrptw")
@click.argument("instance", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seconds", "--segundos", "seconds", default=30.0, show_default=True)
def vrptw(instance: Path, seconds: float) -> None:
    """Resuelve una instancia VRPTW en formato Solomon (menos vehículos, luego distancia)."""
    from routing import RoutingInputError
    from routing.vrptw import read_solomon
    from routing.vrptw import solve_vrptw

    try:
        inst = read_solomon(instance)
        solution = solve_vrptw(inst, seconds, progress=lambda m: click.echo(f"  {m}"))
    except RoutingInputError as err:
        raise click.ClickException(str(err)) from err
    problems = solution.problems()
    if problems:
        raise click.ClickException("Solución no factible: " + "; ".join(problems))
    click.echo(
        f"{inst.name}: {inst.size} clientes, factible (verificado), {solution.seconds:.1f} s"
    )
    click.echo(f"vehicles={solution.vehicles} distance={solution.distance:.2f}")


def _pairs(values, what: str):
    out = []
    for value in values:
        parts = value.split(":", 2)
        try:
            day = dt.date.fromisoformat(parts[1])
            extra = parts[2] if len(parts) > 2 else None
            out.append((parts[0], day, extra))
        except (IndexError, ValueError) as err:
            msg = (
                f"{what} {value!r} no válido: use CODIGO:AAAA-MM-DD "
                "(suspensión: LINEA:AAAA-MM-DD[:HH:MM])."
            )
            raise click.BadParameter(msg) from err
    return out


@cli.command("replan")
@click.argument("plan_id", type=int)
@click.option("--desde", "from_day", required=True, help="Primer día a re-planificar (AAAA-MM-DD).")
@click.option("--hecha", "done", multiple=True, help="Caso ya visitado (id; repetible).")
@click.option("--acordada", "keep", multiple=True, help="Visita acordada: queda en su día (id).")
@click.option("--ausente", "absent", multiple=True, help="Gestor ausente: CODIGO:AAAA-MM-DD.")
@click.option(
    "--suspension",
    "suspended",
    multiple=True,
    help="Línea suspendida LINEA:AAAA-MM-DD, o una salida cancelada LINEA:AAAA-MM-DD:HH:MM.",
)
def replan_command(plan_id, from_day, done, keep, absent, suspended) -> None:
    """Re-planifica el resto de la semana (salida cancelada, línea suspendida, gestor ausente)."""
    from geo_app.planning.output import summary_lines
    from geo_app.planning.plans import PlanRunError
    from geo_app.planning.plans import ReplanRequest
    from geo_app.planning.plans import create_replan
    from geo_app.planning.plans import run_plan
    from geo_app.store.models import PlanRow
    from geo_app.travel import planning_model
    from routing import RoutingInputError
    from routing.boats import Suspension

    try:
        start = dt.date.fromisoformat(from_day)
    except ValueError as err:
        msg = f"Fecha {from_day!r} no válida: use AAAA-MM-DD."
        raise click.BadParameter(msg) from err
    absences = [(code, day) for code, day, _ in _pairs(absent, "Ausencia")]
    suspensions = []
    for line, day, hhmm in _pairs(suspended, "Suspensión"):
        when = dt.time.fromisoformat(hhmm) if hhmm else None
        minute = None if when is None else when.hour * 60 + when.minute
        suspensions.append(Suspension.on_day(line, day, minute))
    request = ReplanRequest(start, tuple(done), tuple(keep), tuple(absences), tuple(suspensions))
    with app_context() as app:
        model = planning_model(app)
        for s in suspensions:
            try:
                model.timetable.services_of(s.line_id)
            except RoutingInputError as err:
                raise click.ClickException(str(err)) from err
        sessions = app.extensions["revincula.db"]
        with sessions() as session, session.begin():
            plan = session.get(PlanRow, plan_id)
            if plan is None or not plan.result:
                msg = f"No existe un plan calculado con número {plan_id}."
                raise click.ClickException(msg)
            try:
                new_id = create_replan(session, plan, request, actor="cli").id
            except PlanRunError as err:
                raise click.ClickException(str(err)) from err
        run_plan(sessions, model, new_id)
        with sessions() as session:
            new = session.get(PlanRow, new_id)
            if new.job_state != "listo":
                msg = f"El re-cálculo falló: {new.error.splitlines()[0] if new.error else ''}"
                raise click.ClickException(msg)
            result = new.result
    click.echo("\n".join(summary_lines(result)[:3]))
    for note in result.get("avisos", []):
        click.echo(f"Aviso: {note}")
    for decision in result.get("decisiones", []):
        click.echo(f"Debe decidir: {decision}")
    click.echo(
        f"Plan {new_id} (borrador) re-planificado desde {start:%d-%m-%Y}: /planificacion/{new_id}"
    )
