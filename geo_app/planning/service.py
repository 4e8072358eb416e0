"""What the planning pages ask for: the plans list, a new plan, one plan, moves, re-plans.

Every function checks the account's scope: a plan is shown only when all of
its cases are in the account's comunas. Form fields arrive as text (the
views do not interpret them) and are checked here, in the order the pages
have always checked them, with the same Spanish messages. Plain arguments,
no Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.service import people
from geo_app.errors import ForbiddenError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.planning.gestores import place_finder
from geo_app.planning.gestores import stay_of
from geo_app.planning.output import colours
from geo_app.planning.output import plan_features
from geo_app.planning.plans import PlanRunError
from geo_app.planning.plans import ReplanRequest
from geo_app.planning.plans import candidate_visits
from geo_app.planning.plans import create_plan
from geo_app.planning.plans import create_replan
from geo_app.planning.plans import move_visit
from geo_app.planning.plans import past_week_message
from geo_app.planning.plans import publish
from geo_app.planning.plans import week_days
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import GestorRow
from geo_app.store.models import PlanRow
from geo_app.store.models import VisitRecord
from layers.visits import load_visit_rules
from routing.boats import Suspension
from routing.model import TravelModel
from routing.planning import Gestor
from routing.planning import Stay
from routing.planning import day_label

__all__ = [
    "JOB_LABELS",
    "STATUS_LABELS",
    "STAY_ROWS",
    "SUSPENSION_ROWS",
    "PlanForm",
    "PlanFormError",
    "ReplanForm",
    "boat_lines",
    "create_plan_from_form",
    "plan_in_scope",
    "plan_job_state",
    "plan_list_page",
    "plan_map",
    "plan_page",
    "plans_in_scope",
    "publish_plan",
    "replan_from_form",
    "retry_plan",
    "visit_move",
    "visited_cases",
]

STATUS_LABELS = {"borrador": "borrador", "publicado": "publicado", "archivado": "archivado"}
JOB_LABELS = {
    "en_cola": "en cola",
    "calculando": "calculando",
    "listo": "listo",
    "fallido": "falló",
}
SUSPENSION_ROWS = 3  # boat interruptions the re-plan form takes at once
STAY_ROWS = 3  # overnight stays the plan form takes at once
OUT_OF_SCOPE = "No existe ese plan o incluye comunas fuera de su ámbito."


class PlanFormError(ValueError):
    """The new-plan form cannot make a plan; the messages (Spanish) say what to change.

    `errors` lists every ``(field, message)`` found, in the form's order; a
    field is ``semana``, ``casos``, ``segundos``, ``prioridad_min``,
    ``gestor``, ``comuna`` or ``aloja_N`` for stay row N. `field` is the first
    one's; ``str()`` joins the messages.
    """

    def __init__(self, message: str, field: str = "", *, errors=None):
        self.errors: list[tuple[str, str]] = list(errors or [(field, message)])
        super().__init__(" ".join(m for _, m in self.errors))
        self.field = self.errors[0][0]

    @classmethod
    def collected(cls, errors: list[tuple[str, str]]) -> PlanFormError:
        """Return one error holding every ``(field, message)`` of `errors`."""
        first_field, first_message = errors[0]
        return cls(first_message, first_field, errors=errors)

    @property
    def fields(self) -> set[str]:
        """The fields at fault."""
        return {f for f, _ in self.errors}


class PastWeekError(InvalidRequestError):
    """Publishing a plan whose week has passed, without the explicit confirmation."""


# --------------------------------------------------------------------------- scope


def plans_in_scope(session: Session, scope: Scope, plans: list[PlanRow]) -> list[PlanRow]:
    """Keep the plans whose cases are all in the account's comunas (one query for all)."""
    if scope.all_comunas:
        return plans
    ids = {p.id: {int(v["id"]) for v in p.inputs["visitas"]} for p in plans}
    every = set().union(*ids.values()) if ids else set()
    comuna = dict(session.execute(select(Case.id, Case.comuna).where(Case.id.in_(every))).all())
    allowed = set(scope.comunas)
    return [p for p in plans if {comuna[i] for i in ids[p.id] if i in comuna} <= allowed]


def plan_in_scope(session: Session, scope: Scope, plan: PlanRow) -> bool:
    """Tell whether every case of the plan is in the account's comunas."""
    return bool(plans_in_scope(session, scope, [plan]))


def _plan(session: Session, scope: Scope, plan_id: int) -> PlanRow:
    plan = session.get(PlanRow, plan_id)
    if plan is None or not plan_in_scope(session, scope, plan):
        raise NotFoundError(OUT_OF_SCOPE)
    return plan


def _version(text: str) -> int:
    try:
        return int(text)
    except ValueError as err:
        msg = "Falta la versión del plan: recargue la página."
        raise InvalidRequestError(msg) from err


# --------------------------------------------------------------------------- list and new plan


def _next_monday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)


def plan_list_page(session: Session, scope: Scope, today: dt.date) -> dict:
    """Return the plans page's variables: the latest 50 plans in scope and the new-plan form's.

    Keys: ``plans``, ``gestores`` (active), ``comunas`` (with cases in scope),
    ``week`` (next Monday), ``stay_rows``, ``status_labels``, ``job_labels``.
    """
    latest = session.scalars(select(PlanRow).order_by(PlanRow.id.desc()).limit(50))
    gestores = session.scalars(
        select(GestorRow).where(GestorRow.active).order_by(GestorRow.code)
    ).all()
    comunas = session.scalars(
        scope.cases(select(Case.comuna).where(Case.comuna != "").distinct()).order_by(Case.comuna)
    ).all()
    return {
        "plans": plans_in_scope(session, scope, list(latest)),
        "gestores": gestores,
        "comunas": comunas,
        "week": _next_monday(today),
        "this_monday": today - dt.timedelta(days=today.weekday()),
        "typed": None,
        "errors": [],
        "error_fields": set(),
        "stay_rows": STAY_ROWS,
        "status_labels": STATUS_LABELS,
        "job_labels": JOB_LABELS,
    }


@dataclass(frozen=True)
class PlanForm:
    """The new-plan form as sent: every field is text.

    `stays` holds `STAY_ROWS` rows of (gestor, night, place, leaving time);
    empty rows are skipped.
    """

    week: str
    cases: str = ""
    seconds: str = ""
    min_priority: str = ""
    gestores: tuple[str, ...] = ()
    comunas: tuple[str, ...] = ()
    stays: tuple[tuple[str, str, str, str], ...] = ()


def _stays(model: TravelModel, week: dt.date | None, rows, codes: list[str]) -> list[Stay]:
    """Read the overnight stay rows of the plan form; PlanFormError naming every bad row.

    With no valid `week` (its own error is reported), a night is not checked against it.
    """
    find = place_finder(model)
    monday = week - dt.timedelta(days=week.weekday()) if week else None
    stays, errors = [], []
    for n, (code, night, place, leave) in enumerate(rows, start=1):
        if not (code or night or place):
            continue
        try:
            stay = stay_of(code, night, place, find, codes, leave=leave)
            if monday and not monday <= stay.night < monday + dt.timedelta(days=7):
                msg = f"la noche {stay.night:%d-%m-%Y} no es de la semana del plan"
                raise ValueError(msg)
        except ValueError as err:
            errors.append((f"aloja_{n}", f"Alojamientos: fila {n}: {err}."))
            continue
        stays.append(stay)
    if errors:
        raise PlanFormError.collected(errors)
    return stays


def _number(text: str, default: float, low: float, high: float, field: str, label: str) -> float:
    """Parse a number field of the plan form, kept within [low, high]."""
    try:
        value = float(text.replace(",", ".")) if text.strip() else default
    except ValueError as err:
        msg = f"{label}: «{text}» no es un número; escriba un número entre {low:g} y {high:g}."
        raise PlanFormError(msg, field) from err
    if not low <= value <= high:
        msg = f"{label}: {value:g} está fuera de rango; escriba un número entre {low:g} y {high:g}."
        raise PlanFormError(msg, field)
    return value


def _form_week(text: str, today: dt.date) -> dt.date:
    try:
        week = dt.date.fromisoformat(text.strip())
    except ValueError as err:
        msg = f"Semana: «{text}» no es una fecha; elija el lunes de la semana (AAAA-MM-DD)."
        raise PlanFormError(msg, "semana") from err
    past = past_week_message(week, today)
    if past:
        msg = f"Semana: {past}"
        raise PlanFormError(msg, "semana")
    return week


def create_plan_from_form(
    session: Session,
    scope: Scope,
    model: TravelModel,
    form: PlanForm,
    *,
    actor: str,
    today: dt.date | None = None,
) -> int:
    """Store a plan to compute from the new-plan form; return its id (the caller starts the job).

    `today` (default: the clock) decides which weeks have passed.

    Raises
    ------
    PlanFormError
        A field does not parse, the week has passed, no gestor was chosen, no
        case matches, or an overnight stay is wrong (nothing is stored); its
        `field` names the form field.
    ForbiddenError
        A chosen comuna is outside the account's scope.
    """
    chosen = list(form.comunas) or list(scope.comunas)
    if not all(scope.comuna_allowed(c) for c in chosen):
        msg = "Eligió comunas fuera de su ámbito."
        raise ForbiddenError(msg)
    errors: list[tuple[str, str]] = []  # every field at fault, shown at once

    def checked(read, *args):
        try:
            return read(*args)
        except PlanFormError as err:
            errors.extend(err.errors)
            return None

    week = checked(_form_week, form.week, today or dt.date.today())
    limit = checked(_number, form.cases, 300, 1, 1000, "casos", "Casos candidatos")
    seconds = checked(_number, form.seconds, 20, 1, 600, "segundos", "Segundos de optimización")
    min_priority = checked(_number, form.min_priority, 0, 0, 100, "prioridad_min",
                           "Prioridad mínima")  # fmt: skip
    gestores = session.scalars(select(GestorRow).where(GestorRow.code.in_(form.gestores))).all()
    if not gestores:
        errors.append(("gestor", "Gestores: elija al menos un gestor disponible para la semana."))
    visits = None
    if limit is not None and min_priority is not None:
        visits = candidate_visits(session, comunas=chosen, min_priority=min_priority,
                                  limit=int(limit))  # fmt: skip
        if not visits:
            msg = (
                "Comunas y prioridad mínima: no hay casos ubicados con esos filtros; amplíe las "
                "comunas o baje la prioridad mínima."
            )
            errors.append(("comuna", msg))
    # a stay names a chosen gestor: with none chosen, that one error says it all
    stays = checked(_stays, model, week, form.stays, [g.code for g in gestores]) if gestores else []
    if errors:
        raise PlanFormError.collected(errors)
    synthetic = session.scalar(select(Case.id).limit(1)) is not None and all(
        g.synthetic for g in gestores
    )
    plan = create_plan(
        session, week, gestores, visits, seconds=seconds, stays=stays, actor=actor,
        synthetic=synthetic,
    )  # fmt: skip
    return plan.id


# --------------------------------------------------------------------------- one plan


def boat_lines(model: TravelModel) -> list[tuple[str, str]]:
    """(line id, name) of the travel model's boat lines, for the re-plan form."""
    timetable = model.timetable
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


def plan_page(
    session: Session,
    scope: Scope,
    plan_id: int,
    *,
    lines: list[tuple[str, str]],
    today: dt.date,
) -> dict:
    """Return one plan's page variables: progress while computing; days, map, moves when ready.

    `lines` are the boat lines of the re-plan form (`boat_lines`). Besides
    the page's variables the result holds ``case_ids``, the plan's cases (for
    the audit log).

    Raises
    ------
    NotFoundError
        No such plan, or some of its cases are outside `scope`.
    """
    plan = _plan(session, scope, plan_id)
    inputs = plan.inputs
    ids = [int(v["id"]) for v in inputs["visitas"]]
    names, _ = people(session, ids)
    gestores = {g["id"]: g for g in inputs["gestores"]}
    week = week_days(plan.week_start, [Gestor.from_dict(g) for g in gestores.values()])
    return {
        "plan": plan,
        "result": plan.result,
        "gestores": gestores,
        "gestores_names": {code: g["name"] for code, g in gestores.items()},
        "colours": colours(list(gestores)),
        "week": week,
        "names": names,
        "status_labels": STATUS_LABELS,
        "job_labels": JOB_LABELS,
        "lines": lines,
        "replan_from": today if today in week else week[0] if week else None,
        "week_past": bool(past_week_message(plan.week_start, today)),
        "replanned": _replan_summary(inputs.get("replanificar"), gestores, dict(lines)),
        "suspension_rows": range(1, SUSPENSION_ROWS + 1),
        "recorded": recorded_visits(session, plan),
        "case_ids": ids,
    }


LOCAL_TZ = ZoneInfo("America/Santiago")


def recorded_visits(session: Session, plan: PlanRow) -> dict[str, str]:
    """Visit id -> what the phone recorded for it in the plan's week (the re-plan's «hecha»).

    A stop counts as done when a visit record of its case arrived with a
    device time (America/Santiago) in the plan's week, whatever the outcome:
    the re-plan decides again for «nadie en casa» through the candidates.
    """
    start = dt.datetime.combine(plan.week_start, dt.time(), LOCAL_TZ)
    end = start + dt.timedelta(days=7)
    ids = [int(v["id"]) for v in plan.inputs.get("visitas", [])]
    if not ids:
        return {}
    rows = session.execute(
        select(VisitRecord.case_id, VisitRecord.outcome, VisitRecord.device_at)
        .where(VisitRecord.case_id.in_(ids), VisitRecord.device_at >= start,
               VisitRecord.device_at < end)
        .order_by(VisitRecord.device_at)
    ).all()  # fmt: skip
    labels = {k: v[0] for k, v in load_visit_rules().outcomes.items()}
    return {str(case_id): labels.get(outcome, outcome) for case_id, outcome, _ in rows}


def plan_job_state(session: Session, scope: Scope, plan_id: int) -> dict:
    """Return the plan's job state for the progress bar (``estado``, ``progreso``, ...)."""
    plan = _plan(session, scope, plan_id)
    return {
        "estado": plan.job_state,
        "progreso": plan.job_progress,
        "mensaje": plan.job_message,
        "version": plan.version,
    }


def plan_map(session: Session, scope: Scope, plan_id: int) -> list[dict]:
    """Return the plan's stops and legs as GeoJSON features (case ids only, no names)."""
    plan = _plan(session, scope, plan_id)
    result = plan.result or {"dias": []}
    codes = [g["id"] for g in plan.inputs["gestores"]]
    return plan_features(result, colours(codes))


def visited_cases(features: list[dict]) -> list[int]:
    """Case ids of the visit points of `plan_map`'s features (for the audit log)."""
    return sorted(
        {
            int(f["properties"]["visita_id"])
            for f in features
            if f["properties"].get("tipo") == "visita"
            and str(f["properties"]["visita_id"]).isdigit()
        }
    )


# --------------------------------------------------------------------------- changes


def _target(text: str) -> tuple[str, dt.date] | None:
    """Parse a move's destination ``CODE|YYYY-MM-DD``; ``sin_asignar`` takes the visit out."""
    if text == "sin_asignar":
        return None
    try:
        code, day = text.split("|")
        return code, dt.date.fromisoformat(day)
    except ValueError as err:
        msg = "Destino inválido: elija un gestor y un día de la lista."
        raise InvalidRequestError(msg) from err


def visit_move(
    session: Session,
    scope: Scope,
    model: TravelModel,
    plan_id: int,
    *,
    visit_id: str,
    target: str,
    version: str,
    confirmed: bool = False,
) -> tuple[bool, str]:
    """Move one visit to another gestor-day (`target` ``CODE|DAY``) or out (``sin_asignar``).

    On a published plan the move changes days the gestores already see in «Mi día»: it is
    made only when `confirmed` (the form's «Entiendo» box). Returns whether it was saved and
    the Spanish message saying so or why not.

    Raises
    ------
    InvalidRequestError
        `target` or `version` does not parse.
    NotFoundError
        As `plan_page`.
    PlanEditConflictError
        The plan changed since the page showed `version`.
    """
    destination = _target(target)
    plan = _plan(session, scope, plan_id)
    if plan.status == "publicado" and not confirmed:
        return False, (
            "Este plan está publicado: mover una visita cambia el día que un gestor ya ve en "
            "«Mi día». Marque «Entiendo que cambia un día publicado» y vuelva a mover."
        )
    ok, message = move_visit(
        session, model, plan, visit_id, destination, expected_version=_version(version)
    )
    if ok and plan.status == "publicado":
        message += " El plan sigue publicado: avise a los gestores afectados."
    return ok, message


@dataclass(frozen=True)
class ReplanForm:
    """The re-plan form as sent: every field is text.

    `absences` are ``CODE|YYYY-MM-DD``; `boats` holds `SUSPENSION_ROWS` rows of
    (line, day, HH:MM or empty for the whole day); empty rows are skipped.
    """

    from_day: str
    done: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    absences: tuple[str, ...] = ()
    boats: tuple[tuple[str, str, str], ...] = ()


def _suspension(n: int, row, week: list[dt.date], lines: set[str]) -> Suspension | None:
    """Boat row `n` of the re-plan form: a whole day without service or one cancelled sailing."""
    line, day_text, hour = row
    if not line:
        return None
    if line not in lines:
        msg = f"La línea {line!r} no existe en el horario."
        raise InvalidRequestError(msg)
    try:
        day = dt.date.fromisoformat(day_text)
        when = dt.time.fromisoformat(hour) if hour else None
    except ValueError as err:
        msg = f"Barco {n}: elija un día y escriba la hora como HH:MM."
        raise InvalidRequestError(msg) from err
    if day not in week:
        msg = f"Barco {n}: el día debe ser de la semana del plan."
        raise InvalidRequestError(msg)
    return Suspension.on_day(line, day, None if when is None else when.hour * 60 + when.minute)


def _replan_request(
    form: ReplanForm, week: list[dt.date], gestores: set[str], lines: set[str]
) -> ReplanRequest:
    """Check the re-plan form; a bad field raises InvalidRequestError saying which."""
    try:
        from_day = dt.date.fromisoformat(form.from_day)
    except ValueError as err:
        msg = "Elija desde qué día re-planificar."
        raise InvalidRequestError(msg) from err
    both = ", ".join(sorted(set(form.done) & set(form.keep)))
    if both:
        msg = f"Una visita no puede estar hecha y acordada a la vez: {both}."
        raise InvalidRequestError(msg)
    absences = []
    for value in form.absences:
        code, _, day = value.partition("|")
        try:
            absences.append((code, dt.date.fromisoformat(day)))
        except ValueError as err:
            msg = f"Ausencia inválida {value!r}: recargue la página."
            raise InvalidRequestError(msg) from err
        if code not in gestores:
            msg = f"El gestor {code!r} no está en este plan."
            raise InvalidRequestError(msg)
    suspensions = [
        s
        for n, row in enumerate(form.boats, start=1)
        if (s := _suspension(n, row, week, lines)) is not None
    ]
    return ReplanRequest(
        from_day, tuple(form.done), tuple(form.keep), tuple(absences), tuple(suspensions)
    )


def replan_from_form(
    session: Session,
    scope: Scope,
    plan_id: int,
    form: ReplanForm,
    *,
    lines: set[str],
    actor: str,
) -> PlanRow:
    """Store a re-plan of the rest of the week as a new draft to compute; return it.

    `lines` are the boat line ids of the travel model.

    Raises
    ------
    NotFoundError
        As `plan_page`.
    InvalidRequestError
        A field is wrong, or the plan cannot be re-planned from that day.
    """
    plan = _plan(session, scope, plan_id)
    codes = {g["id"] for g in plan.inputs["gestores"]}
    week = week_days(plan.week_start, [Gestor.from_dict(g) for g in plan.inputs["gestores"]])
    request = _replan_request(form, week, codes, lines)
    try:
        return create_replan(session, plan, request, actor=actor)
    except PlanRunError as err:
        raise InvalidRequestError(str(err)) from err


def publish_plan(
    session: Session,
    scope: Scope,
    plan_id: int,
    *,
    actor: str,
    version: str,
    today: dt.date | None = None,
    confirm_past: bool = False,
) -> PlanRow:
    """Publish a computed plan: each gestor sees their days (see `plans.publish`).

    Only published plans the account may open are replaced; one of another team
    that shares a gestor makes publishing fail with the reason.
    A plan whose week ended before `today` (default: the clock) is published
    only with `confirm_past` (the form's explicit confirmation).

    Raises
    ------
    PastWeekError
        The week has passed and `confirm_past` is not set.
    NotFoundError, InvalidRequestError, PlanEditConflictError
        As `visit_move`; also when the plan is not computed yet.
    """
    plan = _plan(session, scope, plan_id)
    past = past_week_message(plan.week_start, today or dt.date.today())
    if past and not confirm_past:
        msg = (
            f"{past.split(':')[0]}. Publicarlo ahora solo cambia lo que ven los gestores de "
            "días ya pasados: si es lo que quiere (p. ej. registrar lo que se hizo), marque "
            "«Publicar igual, la semana ya pasó» y vuelva a publicar."
        )
        raise PastWeekError(msg)
    publish(session, plan, actor, expected_version=_version(version),
            may_replace=lambda other: plan_in_scope(session, scope, other))  # fmt: skip
    return plan


def retry_plan(session: Session, scope: Scope, plan_id: int) -> bool:
    """Queue a failed plan's job again with the same inputs; False if it had not failed."""
    plan = _plan(session, scope, plan_id)
    if plan.job_state != "fallido":
        return False
    plan.job_state, plan.error, plan.job_progress = "en_cola", "", 0.0
    return True
