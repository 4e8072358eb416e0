"""Planning pages: the weekly plan (job, map, table, moves, publishing) and the gestor's day."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geo_app import db_session
from geo_app.auth_views import audit
from geo_app.auth_views import current_scope
from geo_app.case_views import _actor
from geo_app.planning import PlanEditConflictError
from geo_app.planning import PlanRunError
from geo_app.planning import ReplanRequest
from geo_app.planning import candidate_visits
from geo_app.planning import create_plan
from geo_app.planning import create_replan
from geo_app.planning import hm
from geo_app.planning import minutes_label
from geo_app.planning import move_visit
from geo_app.planning import place_finder
from geo_app.planning import publish
from geo_app.planning import published_day
from geo_app.planning import published_days
from geo_app.planning import start_plan_job
from geo_app.planning import stay_of
from geo_app.planning import week_days
from geo_app.security import PEOPLE
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.store.models import Case
from geo_app.store.models import GestorRow
from geo_app.store.models import PlanRow
from routing.boats import Suspension
from routing.planning import Gestor
from routing.planning import Stay
from routing.planning import day_label

bp = Blueprint("plans", __name__)

STATUS_LABELS = {"borrador": "borrador", "publicado": "publicado", "archivado": "archivado"}
JOB_LABELS = {
    "en_cola": "en cola",
    "calculando": "calculando",
    "listo": "listo",
    "fallido": "falló",
}


def _next_monday(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


@bp.app_template_filter("hm")
def _hm(value: str | None) -> str:
    return hm(value) if value else ""


@bp.app_template_filter("weekday")
def _weekday(value: str | dt.date) -> str:
    return day_label(dt.date.fromisoformat(value) if isinstance(value, str) else value)


bp.add_app_template_filter(minutes_label, "minutes")


def _in_scope_all(session, plans: list[PlanRow]) -> list[PlanRow]:
    """Keep the plans whose cases are all in the account's comunas (one query for all)."""
    scope = current_scope()
    if scope.all_comunas:
        return plans
    ids = {p.id: {int(v["id"]) for v in p.inputs["visitas"]} for p in plans}
    every = set().union(*ids.values()) if ids else set()
    comuna = dict(session.execute(select(Case.id, Case.comuna).where(Case.id.in_(every))).all())
    allowed = set(scope.comunas)
    return [p for p in plans if {comuna[i] for i in ids[p.id] if i in comuna} <= allowed]


def _in_scope(session, plan: PlanRow) -> bool:
    """Tell whether every case of the plan is in the account's comunas."""
    return bool(_in_scope_all(session, [plan]))


@bp.get("/planificacion")
@allow(*STAFF)
def plan_list():
    """Plans of the account's comunas and the form for a new one."""
    scope = current_scope()
    with db_session() as session:
        plans = _in_scope_all(
            session, list(session.scalars(select(PlanRow).order_by(PlanRow.id.desc()).limit(50)))
        )
        gestores = session.scalars(
            select(GestorRow).where(GestorRow.active).order_by(GestorRow.code)
        ).all()
        comunas = session.scalars(
            scope.cases(select(Case.comuna).where(Case.comuna != "").distinct()).order_by(
                Case.comuna
            )
        ).all()
    return render_template(
        "plans.html",
        plans=plans,
        gestores=gestores,
        comunas=comunas,
        week=_next_monday(),
        stay_rows=STAY_ROWS,
        status_labels=STATUS_LABELS,
        job_labels=JOB_LABELS,
    )


@bp.post("/planificacion")
@allow(*STAFF)
def plan_create():
    """Create a plan from the form and start computing it in the background."""
    form = request.form
    try:
        week = dt.date.fromisoformat(form.get("semana", ""))
        limit = max(1, min(1000, int(form.get("casos") or 300)))
        seconds = max(1.0, min(600.0, float(form.get("segundos") or 20)))
        min_priority = float(form.get("prioridad_min") or 0)
    except ValueError:
        flash("Revise el formulario: semana como fecha, casos y segundos como números.", "error")
        return redirect(url_for("plans.plan_list"))
    codes = form.getlist("gestor")
    with db_session() as session, session.begin():
        gestores = session.scalars(select(GestorRow).where(GestorRow.code.in_(codes))).all()
        if not gestores:
            flash("Elija al menos un gestor disponible para la semana.", "error")
            return redirect(url_for("plans.plan_list"))
        scope = current_scope()
        chosen = form.getlist("comuna") or list(scope.comunas)
        if not all(scope.comuna_allowed(c) for c in chosen):
            abort(403, description="Eligió comunas fuera de su ámbito.")
        visits = candidate_visits(session, comunas=chosen, min_priority=min_priority, limit=limit)
        if not visits:
            flash("No hay casos ubicados con esos filtros: amplíe la selección.", "error")
            return redirect(url_for("plans.plan_list"))
        try:
            stays = _stays_field(week, [g.code for g in gestores])
        except ValueError as err:
            flash(f"Alojamientos: {err}. No se creó el plan.", "error")
            return redirect(url_for("plans.plan_list"))
        synthetic = session.scalar(select(Case.id).limit(1)) is not None and all(
            g.synthetic for g in gestores
        )
        plan = create_plan(
            session,
            week,
            gestores,
            visits,
            seconds=seconds,
            stays=stays,
            actor=_actor(),
            synthetic=synthetic,
        )
        plan_id = plan.id
    start_plan_job(current_app._get_current_object(), plan_id)
    return redirect(url_for("plans.plan_detail", plan_id=plan_id))


def _stays_field(week: dt.date, codes: list[str]) -> list[Stay]:
    """Read the overnight stay rows of the plan form; ValueError in Spanish for a wrong one."""
    from geo_app.travel import app_model

    find = place_finder(app_model(current_app))
    monday = week - dt.timedelta(days=week.weekday())
    stays = []
    for n in range(1, STAY_ROWS + 1):
        code, night, place, leave = (
            request.form.get(f"{key}_{n}", "").strip()
            for key in ("aloja_gestor", "aloja_noche", "aloja_lugar", "aloja_sale")
        )
        if not (code or night or place):
            continue
        try:
            stay = stay_of(code, night, place, find, codes, leave=leave)
        except ValueError as err:
            msg = f"fila {n}: {err}"
            raise ValueError(msg) from err
        if not monday <= stay.night < monday + dt.timedelta(days=7):
            msg = f"fila {n}: la noche {stay.night:%d-%m-%Y} no es de la semana del plan"
            raise ValueError(msg)
        stays.append(stay)
    return stays


def _plan_or_404(session, plan_id: int) -> PlanRow:
    plan = session.get(PlanRow, plan_id)
    if plan is None or not _in_scope(session, plan):
        abort(404, description="No existe ese plan o incluye comunas fuera de su ámbito.")
    return plan


@bp.get("/planificacion/<int:plan_id>")
@allow(*STAFF)
def plan_detail(plan_id: int):
    """Show a plan: progress while computing; map, days, left out and moves when ready."""
    with db_session() as session, session.begin():
        plan = _plan_or_404(session, plan_id)
        inputs = plan.inputs
        ids = [int(v["id"]) for v in inputs["visitas"]]
        names, _ = _people(session, ids)
        audit(session, "ver", "plan", target_id=plan_id, case_ids=ids)
    gestores = {g["id"]: g for g in inputs["gestores"]}
    week = week_days(plan.week_start, [Gestor.from_dict(g) for g in gestores.values()])
    today = dt.date.today()
    lines = _boat_lines()
    return render_template(
        "plan_detail.html",
        plan=plan,
        result=plan.result,
        gestores=gestores,
        colours=_colours(list(gestores)),
        week=week,
        names=names,
        status_labels=STATUS_LABELS,
        job_labels=JOB_LABELS,
        lines=lines,
        replan_from=today if today in week else week[0] if week else None,
        replanned=_replan_summary(inputs.get("replanificar"), gestores, dict(lines)),
        suspension_rows=range(1, SUSPENSION_ROWS + 1),
    )


SUSPENSION_ROWS = 3  # boat interruptions the re-plan form takes at once
STAY_ROWS = 3  # overnight stays the plan form takes at once


def _boat_lines() -> list[tuple[str, str]]:
    """(line id, name) of the travel model's boat lines, for the re-plan form."""
    from geo_app.travel import app_model

    timetable = app_model(current_app).timetable
    return [(line, timetable.services_of(line)[0].line_name) for line in timetable.line_ids]


def _replan_summary(spec: dict | None, gestores: dict, lines: dict[str, str]) -> list[str]:
    """Return, in Spanish lines, what a re-planned plan was re-planned for."""
    if not spec:
        return []
    request = ReplanRequest.from_dict(spec)
    out = [f"Re-planificado del plan {spec['de']} desde el {day_label(request.from_day)}."]
    if request.done:
        out.append(f"Visitas ya hechas: {len(request.done)}.")
    if request.keep:
        out.append(f"Visitas acordadas que se mantienen en su día: {len(request.keep)}.")
    for code, day in request.absences:
        name = gestores.get(code, {}).get("name", code)
        out.append(f"{name} ausente el {day_label(day)}.")
    for s in request.suspensions:
        what = (
            "sin servicio todo el día"
            if s.whole_day
            else f"salida de las {s.first_min // 60:02d}:{s.first_min % 60:02d} cancelada"
        )
        out.append(f"Barco {lines.get(s.line_id, s.line_id)}: {what} el {day_label(s.start)}.")
    return out


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _colours(codes: list[str]) -> dict[str, str]:
    return {code: PALETTE[n % len(PALETTE)] for n, code in enumerate(codes)}


def _people(session, case_ids: list[int]) -> tuple[dict[str, str], dict[str, str]]:
    """Case id -> student's name and address, for the people planning and visiting.

    One query (students loaded with their cases); never part of JSON or exports.
    """
    cases = session.scalars(
        select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.student))
    )
    names, addresses = {}, {}
    for c in cases:
        names[str(c.id)] = c.student.full_name
        addresses[str(c.id)] = ", ".join(p for p in (c.address, c.sector, c.comuna) if p)
    return names, addresses


@bp.get("/api/planes/<int:plan_id>/estado")
@allow(*STAFF)
def plan_state(plan_id: int):
    """Job state for the progress bar."""
    with db_session() as session:
        plan = _plan_or_404(session, plan_id)
        return jsonify(
            estado=plan.job_state,
            progreso=plan.job_progress,
            mensaje=plan.job_message,
            version=plan.version,
        )


@bp.get("/api/planes/<int:plan_id>.geojson")
@allow(*STAFF)
def plan_geojson(plan_id: int):
    """Return the stops and legs of a plan (case ids only, no names)."""
    with db_session() as session:
        plan = _plan_or_404(session, plan_id)
        result = plan.result or {"dias": []}
        codes = [g["id"] for g in plan.inputs["gestores"]]
    return jsonify(type="FeatureCollection", features=plan_features(result, _colours(codes)))


def plan_features(result: dict, colours: dict[str, str]) -> list[dict]:
    """GeoJSON features of a plan's days: one point per stop, one line per leg."""
    features = []
    for day in result["dias"]:
        base = {
            "gestor": day["gestor_id"],
            "dia": day["dia"],
            "color": colours.get(day["gestor_id"]),
        }
        legs = [leg for s in day["paradas"] for leg in s["tramos"]] + day["regreso"]
        for leg in legs:
            if len(leg["geometria"]) >= 2:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": leg["geometria"]},
                        "properties": {**base, "tipo": leg["tipo"], "linea": leg["linea"]},
                    }
                )
        for n, stop in enumerate(day["paradas"], start=1):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop["lon"], stop["lat"]]},
                    "properties": {
                        **base,
                        "tipo": "visita",
                        "orden": n,
                        "visita_id": stop["visita_id"],
                        "etiqueta": stop["etiqueta"],
                        "inicia": stop["inicia"][11:16],
                    },
                }
            )
    return features


def _version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        abort(400, description="Falta la versión del plan: recargue la página.")


@bp.post("/planificacion/<int:plan_id>/mover")
@allow(*STAFF)
def plan_move(plan_id: int):
    """Move one visit to another gestor-day (or out); refused with the reason if it does not fit."""
    from geo_app.travel import app_model

    target_raw = request.form.get("destino", "")
    target = None
    if target_raw != "sin_asignar":
        try:
            code, day = target_raw.split("|")
            target = (code, dt.date.fromisoformat(day))
        except ValueError:
            abort(400, description="Destino inválido: elija un gestor y un día de la lista.")
    with db_session() as session, session.begin():
        plan = _plan_or_404(session, plan_id)
        try:
            ok, message = move_visit(
                session,
                app_model(current_app),
                plan,
                request.form.get("visita", ""),
                target,
                expected_version=_version(),
            )
        except PlanEditConflictError as err:
            abort(409, description=str(err))
    flash(message, "ok" if ok else "error")
    return redirect(url_for("plans.plan_detail", plan_id=plan_id))


def _replan_request(week: list[dt.date], gestores: set[str], lines: set[str]) -> ReplanRequest:
    """Read the re-plan form; a bad field aborts with a Spanish 400 saying which."""
    form = request.form
    try:
        from_day = dt.date.fromisoformat(form.get("desde", ""))
    except ValueError:
        abort(400, description="Elija desde qué día re-planificar.")
    done, keep = form.getlist("hecha"), form.getlist("acordada")
    both = ", ".join(sorted(set(done) & set(keep)))
    if both:
        abort(400, description=f"Una visita no puede estar hecha y acordada a la vez: {both}.")
    absences = []
    for value in form.getlist("ausente"):
        code, _, day = value.partition("|")
        try:
            absences.append((code, dt.date.fromisoformat(day)))
        except ValueError:
            abort(400, description=f"Ausencia inválida {value!r}: recargue la página.")
        if code not in gestores:
            abort(400, description=f"El gestor {code!r} no está en este plan.")
    suspensions = [
        s
        for n in range(1, SUSPENSION_ROWS + 1)
        if (s := _suspension_field(n, week, lines)) is not None
    ]
    return ReplanRequest(from_day, tuple(done), tuple(keep), tuple(absences), tuple(suspensions))


def _suspension_field(n: int, week: list[dt.date], lines: set[str]) -> Suspension | None:
    """Boat row `n` of the re-plan form: a whole day without service or one cancelled sailing."""
    line, day_text, hour = (
        request.form.get(f"{key}_{n}", "").strip() for key in ("linea", "dia", "hora")
    )
    if not line:
        return None
    if line not in lines:
        abort(400, description=f"La línea {line!r} no existe en el horario.")
    try:
        day = dt.date.fromisoformat(day_text)
        when = dt.time.fromisoformat(hour) if hour else None
    except ValueError:
        abort(400, description=f"Barco {n}: elija un día y escriba la hora como HH:MM.")
    if day not in week:
        abort(400, description=f"Barco {n}: el día debe ser de la semana del plan.")
    return Suspension.on_day(line, day, None if when is None else when.hour * 60 + when.minute)


@bp.post("/planificacion/<int:plan_id>/replanificar")
@allow(*STAFF)
def plan_replan(plan_id: int):
    """Re-plan the rest of the week as a new draft, computed in the background."""
    lines = {line for line, _ in _boat_lines()}
    with db_session() as session, session.begin():
        plan = _plan_or_404(session, plan_id)
        codes = {g["id"] for g in plan.inputs["gestores"]}
        week = week_days(plan.week_start, [Gestor.from_dict(g) for g in plan.inputs["gestores"]])
        replan = _replan_request(week, codes, lines)
        try:
            new = create_replan(session, plan, replan, actor=_actor())
        except PlanRunError as err:
            abort(400, description=str(err))
        audit(session, "cambiar", "replanificar", target_id=plan_id)
        new_id = new.id
    start_plan_job(current_app._get_current_object(), new_id)
    flash(f"Re-planificando el plan {plan_id} en un borrador nuevo (plan {new_id}).", "ok")
    return redirect(url_for("plans.plan_detail", plan_id=new_id))


@bp.post("/planificacion/<int:plan_id>/publicar")
@allow(*STAFF)
def plan_publish(plan_id: int):
    """Publish the plan: each gestor sees their days in /terreno."""
    with db_session() as session, session.begin():
        plan = _plan_or_404(session, plan_id)
        try:
            publish(session, plan, _actor(), expected_version=_version())
            audit(session, "cambiar", "publicar_plan", target_id=plan_id)
        except PlanEditConflictError as err:
            abort(409, description=str(err))
    flash("Plan publicado: cada gestor ve sus días en «Mi día».", "ok")
    return redirect(url_for("plans.plan_detail", plan_id=plan_id))


@bp.post("/planificacion/<int:plan_id>/reintentar")
@allow(*STAFF)
def plan_retry(plan_id: int):
    """Run a failed plan's job again with the same inputs."""
    with db_session() as session, session.begin():
        plan = _plan_or_404(session, plan_id)
        if plan.job_state != "fallido":
            flash("Solo se reintenta un cálculo que falló.", "error")
            return redirect(url_for("plans.plan_detail", plan_id=plan_id))
        plan.job_state, plan.error, plan.job_progress = "en_cola", "", 0.0
    start_plan_job(current_app._get_current_object(), plan_id)
    return redirect(url_for("plans.plan_detail", plan_id=plan_id))


@bp.get("/terreno")
@allow(*PEOPLE)
def field_day():
    """Show a gestor's published day: stops, boats, last boat back, map, day sheet.

    A gestor account sees only its own days; staff choose the gestor.
    """
    scope = current_scope()
    with db_session() as session, session.begin():
        gestores = session.scalars(select(GestorRow).order_by(GestorRow.code)).all()
        if scope.role == "gestor":
            gestores = [g for g in gestores if g.code == scope.gestor_code]
            code = scope.gestor_code
        else:
            code = request.args.get("gestor") or (gestores[0].code if gestores else "")
        try:
            day = dt.date.fromisoformat(request.args.get("dia") or dt.date.today().isoformat())
        except ValueError:
            abort(400, description="Fecha inválida: use AAAA-MM-DD.")
        available = published_days(session, code)
        notice = ""
        if not request.args.get("dia") and available and day not in available:
            later = [d for d in available if d >= day]
            shown = later[0] if later else available[-1]
            notice = f"Hoy no tiene visitas publicadas; se muestra el {_weekday(shown)}."
            day = shown
        found = published_day(session, code, day)
        plan, today = found if found else (None, {})
        if plan is not None and not _in_scope(session, plan):
            plan, today = None, {}
            notice = "El plan publicado de ese día incluye comunas fuera de su ámbito."
        ids = [int(s["visita_id"]) for s in today.get("paradas", [])]
        names, addresses = _people(session, ids)
        if ids:
            audit(session, "ver", "dia_terreno", target_id=f"{code} {day}", case_ids=ids)
        synthetic = bool(plan and plan.synthetic)
        base_label = next((g.base_label for g in gestores if g.code == code), "la base")
    return render_template(
        "terreno.html",
        gestores=gestores,
        code=code,
        day=day,
        today=today,
        plan=plan,
        names=names,
        addresses=addresses,
        available=available,
        notice=notice,
        synthetic=synthetic,
        base_label=base_label,
    )
