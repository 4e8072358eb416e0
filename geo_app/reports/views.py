"""Pages and downloads of reports (blueprint "reports")."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app import jobs
from geo_app.cases.context import case_context
from geo_app.errors import NotFoundError
from geo_app.planning.plans import app_today
from geo_app.reports import report_jobs
from geo_app.reports import service
from geo_app.security import ALL_ROLES
from geo_app.security import PEOPLE
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.store.models import JobRow
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session
from geo_app.web import download
from geo_app.web import territory

__all__ = ["bp"]

bp = Blueprint("reports", __name__, template_folder="templates")


def _diagnosis(db) -> service.Diagnosis:
    since = service.parse_month(request.args.get("desde"), "desde")
    until = service.parse_month(request.args.get("hasta"), "hasta")
    return service.diagnosis(db, current_scope(), territory(), since, until,
                             service.app_cache(current_app))  # fmt: skip


@bp.get("/informes")
@allow(*STAFF, "mesa")
def diagnosis_page() -> str:
    """Show the territorial diagnosis (a mesa: protected totals only, see `mesa_tables`)."""
    with db_session() as db, db.begin():
        if current_scope().role == "mesa":
            found = service.mesa_tables(db, current_scope(), territory())
            audit(db, "ver", "diagnostico", detail="mesa: totales protegidos")
            return render_template("reports/diagnosis_mesa.html", **found)
        diag = _diagnosis(db)
        audit(db, "ver", "diagnostico", n_records=diag.n_cases, detail="solo totales")
    return render_template("reports/diagnosis.html", **service.page_context(diag))


@bp.get("/informes/diagnostico.pdf")
@allow(*STAFF)
def diagnosis_pdf():
    """Make the diagnosis as an A4 PDF report (WeasyPrint) in a job; download it when ready."""
    since = service.parse_month(request.args.get("desde"), "desde")
    until = service.parse_month(request.args.get("hasta"), "hasta")
    job_id, handle = report_jobs.start_diagnosis_pdf(current_app, current_actor(), since, until)
    if jobs.wait(current_app, job_id, handle)["estado"] == "listo":
        return _report_download(job_id)
    return redirect(url_for("reports.report_job", job_id=job_id))


def _own_report(db, job_id: int) -> JobRow:
    row = db.get(JobRow, job_id)
    if row is None or row.kind != report_jobs.REPORT or row.owner != current_actor():
        msg = "No existe ese informe o lo pidió otra cuenta."
        raise NotFoundError(msg)
    return row


def _report_download(job_id: int) -> Response:
    with db_session() as db, db.begin():
        row = _own_report(db, job_id)
        audit(db, "exportar", "diagnostico_pdf", n_records=row.result["n_casos"],
              detail="solo totales")  # fmt: skip
        return download(row.output, "application/pdf", row.result["filename"])


@bp.get("/informes/trabajo/<int:job_id>")
@allow(*STAFF)
def report_job(job_id: int):
    """Send the PDF once made; before, a page that polls its job (or says why it failed)."""
    with db_session() as db:
        row = _own_report(db, job_id)
        state, params = jobs.job_state(row, current_app), dict(row.params)
    if state["estado"] == "listo":
        return _report_download(job_id)
    jobs.revive(current_app, job_id, report_jobs.TARGETS)
    return render_template("reports/report_job.html", job=state, job_id=job_id, params=params)


@bp.get("/api/informes/trabajo/<int:job_id>/estado")
@allow(*STAFF)
def report_job_state(job_id: int):
    """State of a PDF report's job, for the progress bar."""
    with db_session() as db:
        return jsonify(jobs.job_state(_own_report(db, job_id), current_app))


@bp.post("/informes/trabajo/<int:job_id>/reintentar")
@allow(*STAFF)
def report_job_retry(job_id: int):
    """Make a failed PDF report again, for the same months."""
    with db_session() as db:
        row = _own_report(db, job_id)
        key, params = row.key, dict(row.params)
    jobs.ensure(current_app, report_jobs.REPORT, key, report_jobs.TARGETS[report_jobs.REPORT],
                owner=current_actor(), params=params, retry=True)  # fmt: skip
    return redirect(url_for("reports.report_job", job_id=job_id))


@bp.get("/informes/tabla/<name>.<fmt>")
@allow(*STAFF)
def diagnosis_table(name: str, fmt: str) -> Response:
    """Download one diagnosis table as CSV or XLSX (totals only, formula-safe)."""
    if name not in service.TABLES:
        msg = "No existe esa tabla del diagnóstico."
        raise NotFoundError(msg)
    with db_session() as db, db.begin():
        body, mimetype = service.table_file(_diagnosis(db), name, fmt)
        audit(db, "exportar", "diagnostico_tabla", target_id=name, detail=fmt)
    return download(body, mimetype, f"diagnostico_{name}.{fmt}")


@bp.get("/casos/exportar.<fmt>")
@allow(*STAFF)
def case_export(fmt: str) -> Response:
    """Download the case list with the list page's filters (CSV/XLSX; audited with ids)."""
    with db_session() as db, db.begin():
        body, mimetype, ids = service.case_file(
            db, case_context(current_app), current_scope(), request.args.to_dict(), fmt
        )
        audit(db, "exportar", "lista_casos", case_ids=ids, detail=fmt)
    return download(body, mimetype, f"casos.{fmt}")


@bp.get("/resumen/exportar.<fmt>")
@allow(*ALL_ROLES)
def summary_export(fmt: str) -> Response:
    """Download the Resumen (comuna × category, with a total row) as CSV or XLSX.

    Exactly what the page shows to the account: a mesa gets the protected counts.
    """
    scope, k = current_scope(), current_app.config["SUPPRESSION_K"]
    with db_session() as db, db.begin():
        body, mimetype = service.summary_file(db, scope, k, fmt)
        audit(db, "exportar", "resumen", detail=fmt + (" (protegido)" if scope.role == "mesa"
                                                         else " (solo totales)"))  # fmt: skip
    return download(body, mimetype, f"resumen_por_comuna.{fmt}")


@bp.get("/informes/mesa/<name>.<fmt>")
@allow("mesa", *STAFF)
def mesa_table(name: str, fmt: str) -> Response:
    """Download a protected table of the mesa's diagnosis (what a mesa may receive)."""
    with db_session() as db, db.begin():
        body, mimetype = service.mesa_table_file(db, current_scope(), territory(), name, fmt)
        audit(db, "exportar", "diagnostico_mesa", target_id=name, detail=fmt)
    return download(body, mimetype, f"diagnostico_mesa_{name}.{fmt}")


@bp.get("/informes/nomina")
@allow(*STAFF)
def nomina_page():
    """Show the nómina de seguimiento on a date (``fecha``; today by default), or its XLSX.

    The page shows when each nómina is due and flags the late ones; downloading the XLSX
    counts as delivering it (audited, see `service.nomina_schedule`).
    """
    today = app_today(current_app)
    on = service.parse_day(request.args.get("fecha") or today.isoformat())
    with db_session() as db, db.begin():
        table = service.nomina(db, current_scope(), territory(), on, service.closing_labels())
        audit(db, "exportar" if "xlsx" in request.args else "ver", "nomina",
              case_ids=list(table["caso"]), detail=on.isoformat())  # fmt: skip
        if "xlsx" not in request.args:
            schedule = service.nomina_schedule(db, current_app.config["PROJECT_START"], today)
    if "xlsx" in request.args:
        return download(service.nomina_file(table), service.XLSX, f"nomina_{on}.xlsx")
    return render_template("reports/nomina.html", on=on, rows=table.to_dict("records"),
                           schedule=schedule, today=today)  # fmt: skip


@bp.get("/informes/actividad")
@allow(*STAFF)
def activity_page() -> str:
    """Show the team's activity per gestor and ISO week (plans against visit records)."""
    since = service.parse_month(request.args.get("desde"), "desde")
    until = service.parse_month(request.args.get("hasta"), "hasta")
    with db_session() as db, db.begin():
        activity = service.team_activity(db, current_scope(), since, until)
        audit(db, "ver", "actividad", detail="solo totales")
        synthetic = service.plans_synthetic(db)
    return render_template("reports/activity.html", since=since, until=until,
                           tables=service.TABLES, synthetic=synthetic,
                           **service.activity_context(activity))  # fmt: skip


@bp.get("/planificacion/<int:plan_id>/exportar.<fmt>")
@allow(*STAFF)
def plan_export(plan_id: int, fmt: str) -> Response:
    """Download a plan's visits in order as CSV or XLSX (case ids and sectors, no names)."""
    with db_session() as db, db.begin():
        body, mimetype = service.plan_file(db, current_scope(), plan_id, fmt)
        audit(db, "exportar", "plan", target_id=str(plan_id), detail=fmt)
    return download(body, mimetype, f"plan_{plan_id}.{fmt}")


@bp.get("/planificacion/<int:plan_id>/<gestor>/<day>.gpx")
@allow(*PEOPLE)
def plan_gpx(plan_id: int, gestor: str, day: str) -> Response:
    """Download one gestor-day of a plan as GPX, for navigation apps."""
    date = service.parse_day(day)
    with db_session() as db, db.begin():
        body = service.plan_gpx(db, current_scope(), plan_id, gestor, date)
        audit(db, "exportar", "ruta_gpx", target_id=f"{plan_id} {gestor} {day}")
    return download(body.encode("utf-8"), "application/gpx+xml", f"ruta_{gestor}_{day}.gpx")
