"""Planning pages: the weekly plan (job, map, table, moves, re-plans, publishing).

Blueprint "planning".
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from geo_app.planning import service
from geo_app.planning.plans import app_today
from geo_app.planning.plans import start_plan_job
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.travel import app_model
from geo_app.travel import planning_model
from geo_app.web import audit
from geo_app.web import current_actor
from geo_app.web import current_scope
from geo_app.web import db_session

__all__ = ["bp"]

bp = Blueprint("planning", __name__, template_folder="templates")


def _start_job(plan_id: int) -> None:
    start_plan_job(current_app._get_current_object(), plan_id)


def _to_plan(plan_id: int):
    return redirect(url_for("planning.plan_detail", plan_id=plan_id))


def _plan_form(form) -> service.PlanForm:
    stay_keys = ("aloja_gestor", "aloja_noche", "aloja_lugar", "aloja_sale")
    stays = tuple(
        tuple(form.get(f"{key}_{n}", "").strip() for key in stay_keys)
        for n in range(1, service.STAY_ROWS + 1)
    )
    return service.PlanForm(
        week=form.get("semana", ""),
        cases=form.get("casos", ""),
        seconds=form.get("segundos", ""),
        min_priority=form.get("prioridad_min", ""),
        gestores=tuple(form.getlist("gestor")),
        comunas=tuple(form.getlist("comuna")),
        stays=stays,
    )


def _replan_form(form) -> service.ReplanForm:
    boats = tuple(
        tuple(form.get(f"{key}_{n}", "").strip() for key in ("linea", "dia", "hora"))
        for n in range(1, service.SUSPENSION_ROWS + 1)
    )
    return service.ReplanForm(
        from_day=form.get("desde", ""),
        done=tuple(form.getlist("hecha")),
        keep=tuple(form.getlist("acordada")),
        absences=tuple(form.getlist("ausente")),
        boats=boats,
    )


def _today() -> dt.date:
    return app_today(current_app)


@bp.get("/planificacion")
@allow(*STAFF)
def plan_list():
    """Plans of the account's comunas and the form for a new one."""
    with db_session() as db:
        page = service.plan_list_page(db, current_scope(), _today())
    return render_template("planning/plans.html", **page)


@bp.post("/planificacion")
@allow(*STAFF)
def plan_create():
    """Create a plan from the form; a wrong field shows the form again, as typed, with why."""
    form, model = _plan_form(request.form), app_model(current_app)
    try:
        with db_session() as db, db.begin():
            plan_id = service.create_plan_from_form(
                db, current_scope(), model, form, actor=current_actor(), today=_today()
            )
            audit(db, "cambiar", "crear_plan", target_id=plan_id)
    except service.PlanFormError as err:
        with db_session() as db:
            page = service.plan_list_page(db, current_scope(), _today())
        page.update(typed=request.form, errors=err.errors, error_fields=err.fields)
        return render_template("planning/plans.html", **page), 400
    _start_job(plan_id)
    return _to_plan(plan_id)


@bp.get("/planificacion/<int:plan_id>")
@allow(*STAFF)
def plan_detail(plan_id: int):
    """Show a plan: progress while computing; map, days, left out and moves when ready."""
    lines = service.boat_lines(app_model(current_app))
    with db_session() as db, db.begin():
        page = service.plan_page(db, current_scope(), plan_id, lines=lines, today=_today())
        audit(db, "ver", "plan", target_id=plan_id, case_ids=page.pop("case_ids"))
    return render_template("planning/plan_detail.html", **page)


@bp.get("/api/planes/<int:plan_id>/estado")
@allow(*STAFF)
def plan_state(plan_id: int):
    """Job state for the progress bar."""
    with db_session() as db:
        return jsonify(service.plan_job_state(db, current_scope(), plan_id))


@bp.get("/api/planes/<int:plan_id>.geojson")
@allow(*STAFF)
def plan_geojson(plan_id: int):
    """Return the stops and legs of a plan (case ids only, no names)."""
    with db_session() as db, db.begin():
        features = service.plan_map(db, current_scope(), plan_id)
        audit(db, "ver", "mapa_plan", target_id=plan_id, case_ids=service.visited_cases(features))
    return jsonify(type="FeatureCollection", features=features)


@bp.post("/planificacion/<int:plan_id>/mover")
@allow(*STAFF)
def plan_move(plan_id: int):
    """Move one visit to another gestor-day (or out); refused with the reason if it does not fit."""
    form = request.form
    with db_session() as db, db.begin():
        ok, message = service.visit_move(
            db, current_scope(), planning_model(current_app._get_current_object()), plan_id,
            visit_id=form.get("visita", ""), target=form.get("destino", ""),
            version=form.get("version", ""), confirmed=form.get("confirmar_publicado") == "1",
        )  # fmt: skip
        visit = form.get("visita", "")
        audit(db, "cambiar", "mover_visita", target_id=plan_id,
              case_ids=[int(visit)] if visit.isdigit() and ok else [])  # fmt: skip
    flash(message, "ok" if ok else "error")
    return _to_plan(plan_id)


@bp.post("/planificacion/<int:plan_id>/replanificar")
@allow(*STAFF)
def plan_replan(plan_id: int):
    """Re-plan the rest of the week as a new draft, computed in the background."""
    lines = {line for line, _ in service.boat_lines(app_model(current_app))}
    with db_session() as db, db.begin():
        new = service.replan_from_form(db, current_scope(), plan_id, _replan_form(request.form),
                                       lines=lines, actor=current_actor())  # fmt: skip
        audit(db, "cambiar", "replanificar", target_id=plan_id)
    _start_job(new.id)
    flash(f"Re-planificando el plan {plan_id} en un borrador nuevo (plan {new.id}).", "ok")
    return _to_plan(new.id)


@bp.post("/planificacion/<int:plan_id>/publicar")
@allow(*STAFF)
def plan_publish(plan_id: int):
    """Publish the plan: each gestor sees their days in /terreno."""
    confirm = request.form.get("confirmar_pasada") == "1"
    try:
        with db_session() as db, db.begin():
            service.publish_plan(db, current_scope(), plan_id, actor=current_actor(),
                                 version=request.form.get("version", ""), today=_today(),
                                 confirm_past=confirm)  # fmt: skip
            audit(db, "cambiar", "publicar_plan", target_id=plan_id)
    except service.PastWeekError as err:
        flash(str(err), "error")
        return _to_plan(plan_id)
    flash("Plan publicado: cada gestor ve sus días en «Mi día».", "ok")
    return _to_plan(plan_id)


@bp.post("/planificacion/<int:plan_id>/reintentar")
@allow(*STAFF)
def plan_retry(plan_id: int):
    """Run a failed plan's job again with the same inputs."""
    with db_session() as db, db.begin():
        queued = service.retry_plan(db, current_scope(), plan_id)
    if not queued:
        flash("Solo se reintenta un cálculo que falló.", "error")
        return _to_plan(plan_id)
    _start_job(plan_id)
    return _to_plan(plan_id)
