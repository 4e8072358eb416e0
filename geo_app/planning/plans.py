"""Weekly plans as stored: candidates, the job, manual moves, publishing, re-planning.

Candidate visits come from the cases; the plan is computed in a background
job whose progress and failures are stored; manual moves are re-checked by
exact replay; each gestor sees the published day. `routing.planning` does
the work; this module owns the database and the job. The web pages, the
``revincula plan|replan`` commands and the demo all go through here.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo_app import jobs
from geo_app.errors import ConflictError
from geo_app.planning.gestores import gestor_of
from geo_app.planning.gestores import save_gestores
from geo_app.store.models import Case
from geo_app.store.models import GestorRow
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import VisitRecord
from geo_app.store.models import utcnow
from geo_app.travel import planning_model
from layers.workflow import load_workflow
from routing import RoutingInputError
from routing.boats import Suspension
from routing.planning import Gestor
from routing.planning import PlanParams
from routing.planning import Stay
from routing.planning import Unassigned
from routing.planning import Visit
from routing.planning import assemble
from routing.planning import plan_week
from routing.planning import simulate_day

__all__ = [
    "PlanEditConflictError",
    "PlanRunError",
    "ReplanRequest",
    "app_today",
    "candidate_visits",
    "compute_week",
    "create_plan",
    "create_replan",
    "move_visit",
    "past_week_message",
    "publish",
    "published_day",
    "published_days",
    "run_plan",
    "start_plan_job",
    "week_days",
]


LOCAL_TZ = ZoneInfo("America/Santiago")


class PlanRunError(RuntimeError):
    """Planning produced no plan: no candidate cases, or the computation failed."""


class PlanEditConflictError(ConflictError, RuntimeError):
    """The plan changed since the form was opened (someone else edited or re-ran it)."""


# -- candidates ---------------------------------------------------------------------------------
def candidate_visits(
    session: Session,
    *,
    comunas: list[str] | None = None,
    min_priority: float = 0.0,
    limit: int = 300,
) -> list[Visit]:
    """Cases to consider this week: located, in the latest list, highest priority first.

    A case visited in the latest published plan prefers the same gestor
    (continuity with the family). What the visits found feeds back
    (``layers/rules/flujo_casos_2026.toml``): closed cases and doubtful
    locations (a wrong address or a family that moved, until someone places
    the case again) are left out; nobody home last time → another try in the
    other half of the working day (time window); re-linked and follow-up
    cases come back only once their follow-up cadence has passed.
    """
    query = (
        select(Case)
        .where(
            Case.lon.is_not(None), Case.in_latest_list, Case.priority >= min_priority,
            Case.stage != "cerrado", Case.location_doubtful.is_(False),
        )
        .order_by(Case.priority.desc(), Case.id)
        .limit(limit)
    )  # fmt: skip
    if comunas:
        query = query.where(Case.comuna.in_(comunas))
    cases = session.scalars(query).all()
    previous = _last_gestor(session, [c.id for c in cases])
    last = _last_visits(session, [c.id for c in cases])
    flow = load_workflow()
    now = utcnow()
    visits = []
    for c in cases:
        record = last.get(c.id)
        label = f"Caso {c.id}" + (f" · {c.sector}" if c.sector else "")
        window = None
        if c.stage in ("revinculado", "seguimiento"):
            cadence = dt.timedelta(days=flow.followup_cadence_days)
            if record is not None and now - _aware(record.device_at) < cadence:
                continue
            label += " · seguimiento"
        elif record is not None and record.outcome == "nadie_en_casa":
            local = _aware(record.device_at).astimezone(LOCAL_TZ)
            window = flow.retry_window(local, dt.time(8, 30), dt.time(17, 30))
            label += f" · reintentar (nadie en casa el {local:%d-%m} a las {local:%H:%M})"
        visits.append((c, label, window))
    return [
        Visit(
            str(c.id),
            c.lon,
            c.lat,
            label=label,
            window=window,
            priority=round(c.priority, 1),
            preferred_gestor=previous.get(c.id),
        )
        for c, label, window in visits
    ]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _last_visits(session: Session, case_ids: list[int]) -> dict[int, VisitRecord]:
    """Latest visit record (by the phone's time) of each case."""
    rows = session.scalars(
        select(VisitRecord).where(VisitRecord.case_id.in_(case_ids)).order_by(VisitRecord.device_at)
    )
    return {r.case_id: r for r in rows}


def _last_gestor(session: Session, case_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(PlanStop.case_id, PlanStop.gestor_code)
        .join(PlanRow)
        .where(PlanRow.status == "publicado", PlanStop.case_id.in_(case_ids))
        .order_by(PlanStop.day)
    ).all()
    return dict(rows)


def week_days(week_start: dt.date, gestores: list[Gestor]) -> list[dt.date]:
    """Return the days of the week starting `week_start` on which any gestor works."""
    worked = {d for g in gestores for d in g.weekdays}
    return [week_start + dt.timedelta(days=i) for i in range(7) if i in worked]


# -- plans ----------------------------------------------------------------------------------
def create_plan(
    session: Session,
    week_start: dt.date,
    gestores: list[GestorRow],
    visits: list[Visit],
    *,
    seconds: float = 20.0,
    stays: list[Stay] = (),
    actor: str = "",
    synthetic: bool = False,
) -> PlanRow:
    """Store a plan to compute (job state ``en_cola``); `stays` are its overnight stays."""
    if week_start.weekday() != 0:
        week_start -= dt.timedelta(days=week_start.weekday())
    plan = PlanRow(
        week_start=week_start,
        inputs={
            "gestores": [gestor_of(g).to_dict() for g in gestores],
            "visitas": [v.to_dict() for v in visits],
            "segundos": seconds,
            "alojamientos": [s.to_dict() for s in stays],
        },
        created_by=actor,
        synthetic=synthetic,
    )
    session.add(plan)
    session.flush()
    return plan


@dataclass
class _Inputs:
    gestores: list[Gestor]
    visits: list[Visit]
    days: list[dt.date]
    seconds: float
    stays: list[Stay]


def _inputs(plan: PlanRow) -> _Inputs:
    gestores = [Gestor.from_dict(g) for g in plan.inputs["gestores"]]
    visits = [Visit.from_dict(v) for v in plan.inputs["visitas"]]
    stays = [Stay.from_dict(s) for s in plan.inputs.get("alojamientos", [])]
    days = week_days(plan.week_start, gestores)
    return _Inputs(gestores, visits, days, plan.inputs["segundos"], stays)


def run_plan(sessions, model, plan_id: int) -> None:
    """Compute a stored plan; progress and failures are written to its row."""
    with sessions() as session, session.begin():
        plan = session.get(PlanRow, plan_id)
        inputs = _inputs(plan)
        spec = plan.inputs.get("replanificar")
        _set_job(session, plan_id, "calculando", 0.0, "iniciando")
    last = {"t": 0.0}

    def progress(fraction: float, message: str) -> None:
        if time.monotonic() - last["t"] < 0.5 and fraction < 1.0:
            return
        last["t"] = time.monotonic()
        with sessions() as s, s.begin():
            _set_job(s, plan_id, "calculando", fraction, message)

    try:
        if spec:
            result = _replan_result(sessions, model, spec, inputs, progress)
        else:
            result = plan_week(
                model,
                inputs.visits,
                inputs.gestores,
                inputs.days,
                stays=inputs.stays,
                params=PlanParams(seconds=inputs.seconds),
                progress=progress,
            )
        with sessions() as session, session.begin():
            plan = session.get(PlanRow, plan_id)
            _store_result(session, plan, result, _transit_note(model, inputs.gestores))
            plan.job_state, plan.job_progress, plan.job_message = "listo", 1.0, "listo"
    except Exception as err:  # any failure becomes a visible, retryable state
        # input the planner refuses is explained in Spanish; anything else keeps its trace
        error = str(err) if isinstance(err, RoutingInputError) else f"{type(err).__name__}: {err}"
        with sessions() as session, session.begin():
            _set_job(session, plan_id, "fallido", 0.0, "el cálculo falló")
            session.execute(
                update(PlanRow)
                .where(PlanRow.id == plan_id)
                .values(error=f"{error}\n{traceback.format_exc(limit=3)}")
            )


def _set_job(session: Session, plan_id: int, state: str, fraction: float, message: str) -> None:
    session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id)
        .values(job_state=state, job_progress=round(fraction, 3), job_message=message[:300])
        .execution_options(synchronize_session=False)
    )


def _transit_note(model, gestores) -> str:
    """Which public transport timetables the gestores without a vehicle used ("" if none)."""
    feeds = getattr(model, "feeds", None)
    if not feeds or all(g.vehicle for g in gestores):
        return ""
    return ", ".join(f.name for f in feeds if f.has_land_transport)


def _store_result(session: Session, plan: PlanRow, result, transit: str = "") -> None:
    """Write the plan's JSON and its stops table (replacing previous ones).

    `transit` names the bus and colectivo timetables used (``transporte_publico``).
    """
    plan.result = result.to_dict()
    if plan.inputs.get("replanificar") and result.stays is not None:
        # a re-plan may extend or drop stays (a cancelled boat back): the replay needs them
        stays = [s.to_dict() for s in result.stays]
        if stays != plan.inputs.get("alojamientos", []):
            plan.inputs = {**plan.inputs, "alojamientos": stays}
    if transit:
        plan.result["transporte_publico"] = transit
    session.execute(delete(PlanStop).where(PlanStop.plan_id == plan.id))
    for day in result.days:
        for seq, stop in enumerate(day.stops, start=1):
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    case_id=int(stop.visit_id),
                    gestor_code=day.gestor_id,
                    day=day.day,
                    seq=seq,
                    start_at=stop.start_at,
                )
            )


def start_plan_job(app, plan_id: int):
    """Compute a stored plan in the background; its row shows the progress.

    `geo_app.jobs` runs it in a thread, or in an RQ worker when ``REDIS_URL`` is set.
    Returns the thread or the RQ job.
    """
    return jobs.submit(app, f"plan-{plan_id}", "geo_app.planning.plans:plan_job", plan_id)


def plan_job(app, plan_id: int) -> None:
    """Run one plan's job in `app` (thread or worker); a plan already computed is left as is.

    Running it twice (a worker restarted mid-job, a message delivered again) computes the
    plan once: a plan whose job is ``listo`` is not recomputed.
    """
    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        plan = session.get(PlanRow, plan_id)
        if plan is None or plan.job_state == "listo":
            return
    run_plan(sessions, planning_model(app), plan_id)


def compute_week(
    app,
    rows: list[dict],
    week: dt.date,
    *,
    seconds: float,
    limit: int = 300,
    comunas: list[str] | None = None,
    stays: list[Stay] = (),
    actor: str = "",
    synthetic: bool = False,
    outcome: str = "publicar",
    announce: Callable[[int], None] | None = None,
) -> tuple[int, dict]:
    """Save `rows` as gestores and plan `week` now, in this process (CLI and demo).

    `outcome` is ``"publicar"``, ``"guardar"`` (draft) or ``"descartar"`` (the
    result is returned and the row deleted). `announce(n_candidates)` is called
    before the computation starts. Returns ``(plan id, result JSON)``.
    """
    sessions = app.extensions["revincula.db"]
    model = planning_model(app)
    with sessions() as session, session.begin():
        visits = candidate_visits(session, comunas=comunas, limit=limit)
        if not visits:
            msg = "No hay casos ubicados para planificar: importe listas primero."
            raise PlanRunError(msg)
        gestores = save_gestores(session, rows, synthetic=synthetic)
        plan = create_plan(
            session,
            week,
            gestores,
            visits,
            seconds=seconds,
            stays=stays,
            actor=actor,
            synthetic=synthetic,
        )
        plan_id = plan.id
    if announce:
        announce(len(visits))
    run_plan(sessions, model, plan_id)
    with sessions() as session, session.begin():
        plan = session.get(PlanRow, plan_id)
        if plan.job_state != "listo":
            msg = f"El cálculo falló: {plan.error}"
            raise PlanRunError(msg)
        result = plan.result
        if outcome == "publicar":
            publish(session, plan, actor, expected_version=plan.version)
        elif outcome == "descartar":
            session.delete(plan)
    return plan_id, result


# -- manual changes ---------------------------------------------------------------------------
def _assignment(plan: PlanRow) -> dict[tuple[str, dt.date], list[str]]:
    return {
        (d["gestor_id"], dt.date.fromisoformat(d["dia"])): [s["visita_id"] for s in d["paradas"]]
        for d in plan.result["dias"]
    }


def _unassigned(plan: PlanRow) -> list[Unassigned]:
    return [Unassigned(u["visita_id"], u["motivo"], u["dato"]) for u in plan.result["sin_asignar"]]


def move_visit(
    session: Session,
    model,
    plan: PlanRow,
    visit_id: str,
    target: tuple[str, dt.date] | None,
    *,
    expected_version: int,
) -> tuple[bool, str]:
    """Move a visit to another gestor-day (or out of the plan), re-checked by exact replay.

    The best position in the target day is chosen by replay. If the changed
    days do not work, nothing is saved and the reason is returned.
    """
    if plan.version != expected_version:
        msg = "El plan cambió desde que abrió la página (otra persona lo editó): recárguelo."
        raise PlanEditConflictError(msg)
    if plan.status == "archivado":
        return False, "Este plan está archivado; cree uno nuevo para cambiarlo."
    inputs = _inputs(plan)
    by_id = {v.id: v for v in inputs.visits}
    if visit_id not in by_id:
        return False, f"La visita {visit_id} no es parte de este plan."
    assignment = _assignment(plan)
    source = next((key for key, ids in assignment.items() if visit_id in ids), None)
    if source is not None:
        assignment[source] = [i for i in assignment[source] if i != visit_id]
    unassigned = [u for u in _unassigned(plan) if u.visit_id != visit_id]
    if target is None:
        unassigned.append(Unassigned(visit_id, "retirada", ""))
        result = assemble(
            model, inputs.visits, inputs.gestores, assignment, unassigned, stays=inputs.stays
        )
    else:
        result, why = _best_insertion(model, inputs, assignment, unassigned, visit_id, target)
        if result is None:
            return False, why
    result.stats = {**plan.result.get("estadisticas", {}), "editado_a_mano": True}
    _store_result(session, plan, result, _transit_note(model, inputs.gestores))
    session.flush()
    return True, "Cambio guardado; los días afectados se recalcularon con los horarios de barco."


def _best_insertion(model, inputs: _Inputs, assignment, unassigned, visit_id, target):
    """Replay only the target day at each position; assemble the whole plan once."""
    gestor_id, day = target
    gestor = next((g for g in inputs.gestores if g.id == gestor_id), None)
    if gestor is None:
        return None, "Ese gestor no está en este plan."
    if day not in inputs.days:
        return None, "Ese día no es parte de la semana del plan."
    by_id = {v.id: v for v in inputs.visits}
    current = assignment.get(target, [])
    best, why = None, ""
    for pos in range(len(current) + 1):
        order = [*current[:pos], visit_id, *current[pos:]]
        changed = simulate_day(model, gestor, day, [by_id[i] for i in order], stays=inputs.stays)
        if not changed.feasible:
            why = why or changed.problem
        elif best is None or changed.end_at < best[0]:
            best = (changed.end_at, order)
    if best is None:
        return None, f"No cabe en ese día: {why}. No se guardó ningún cambio."
    trial = {**assignment, target: best[1]}
    return assemble(
        model, inputs.visits, inputs.gestores, trial, unassigned, stays=inputs.stays
    ), ""


def app_today(app) -> dt.date:
    """Return today's date for planning: ``TODAY`` in the config (ISO date) or the clock.

    Set ``REVINCULA_TODAY`` only to reproduce a past day (tests, demos of a past week).
    """
    value = app.config.get("TODAY")
    if not value:
        return dt.date.today()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def past_week_message(week: dt.date, today: dt.date) -> str:
    """Return a Spanish message when the week of `week` ended before `today`, else ""."""
    monday = week - dt.timedelta(days=week.weekday())
    sunday = monday + dt.timedelta(days=6)
    if sunday >= today:
        return ""
    return (
        f"La semana del {monday:%d-%m-%Y} ya pasó (terminó el domingo {sunday:%d-%m-%Y}; "
        f"hoy es {today:%d-%m-%Y}): elija la semana actual o una futura."
    )


def _visiting_gestores(session: Session, plan_id: int) -> set[str]:
    """Codes of the gestores with at least one visit in a plan."""
    return set(session.scalars(select(PlanStop.gestor_code).where(PlanStop.plan_id == plan_id)))


def publish(
    session: Session,
    plan: PlanRow,
    actor: str,
    *,
    expected_version: int,
    may_replace: Callable[[PlanRow], bool] | None = None,
) -> None:
    """Publish a computed plan; it replaces only published plans of its week it overlaps.

    Two teams' plans for one week coexist when no gestor visits in both. A published
    plan of the same week sharing a gestor is archived (the new one replaces it) when
    `may_replace(other)` is true (None: always, for a command); otherwise publishing
    is refused, naming the shared gestores, and nothing changes: one account cannot
    empty another team's week.

    Raises
    ------
    PlanEditConflictError
        The plan changed since the page was loaded, is not computed, or shares a gestor
        with a published plan of the week that `may_replace` refuses.
    """
    if plan.version != expected_version:
        msg = "El plan cambió desde que abrió la página: recárguelo antes de publicar."
        raise PlanEditConflictError(msg)
    if plan.job_state != "listo" or plan.result is None:
        msg = "Solo se puede publicar un plan ya calculado."
        raise PlanEditConflictError(msg)
    mine = _visiting_gestores(session, plan.id)
    replaced = []
    for other in session.scalars(
        select(PlanRow).where(
            PlanRow.week_start == plan.week_start,
            PlanRow.status == "publicado",
            PlanRow.id != plan.id,
        )
    ):
        shared = mine & _visiting_gestores(session, other.id)
        if not shared:
            continue  # another team's plan for the week: it stays published
        if may_replace is not None and not may_replace(other):
            msg = (
                f"No se publicó: {', '.join(sorted(shared))} ya tiene(n) visitas en un plan "
                "publicado de esta semana que su cuenta no puede abrir (de otro equipo). Quite "
                "a ese gestor de este plan, o pida a quien publicó el otro que lo libere."
            )
            raise PlanEditConflictError(msg)
        replaced.append(other)
    for other in replaced:
        other.status = "archivado"
    plan.status = "publicado"
    plan.published_at = utcnow()
    plan.published_by = actor
    session.flush()


def published_day(session: Session, gestor_code: str, day: dt.date) -> tuple[PlanRow, dict] | None:
    """Return the published plan and one gestor's day of it, or None.

    Several teams' plans may be published for one week (see `publish`): the one
    where the gestor has visits is chosen, else the latest published.
    """
    monday = day - dt.timedelta(days=day.weekday())
    plans = [
        p
        for p in session.scalars(
            select(PlanRow)
            .where(PlanRow.week_start == monday, PlanRow.status == "publicado")
            .order_by(PlanRow.published_at.desc(), PlanRow.id.desc())
        )
        if p.result
    ]
    if not plans:
        return None
    visiting = set(
        session.scalars(
            select(PlanStop.plan_id).where(
                PlanStop.plan_id.in_([p.id for p in plans]), PlanStop.gestor_code == gestor_code
            )
        )
    )
    plan = next((p for p in plans if p.id in visiting), plans[0])
    for d in plan.result["dias"]:
        if d["gestor_id"] == gestor_code and d["dia"] == day.isoformat():
            return plan, d
    return plan, {}


def published_days(session: Session, gestor_code: str) -> list[dt.date]:
    """Return the days with published stops for a gestor, in order."""
    rows = session.scalars(
        select(PlanStop.day)
        .join(PlanRow)
        .where(PlanRow.status == "publicado", PlanStop.gestor_code == gestor_code)
        .distinct()
        .order_by(PlanStop.day)
    ).all()
    return list(rows)


@dataclass(frozen=True)
class ReplanRequest:
    """What changed since a plan was made: see :func:`routing.planning.replan`.

    Stored in the new plan's inputs (``replanificar``) so the background job,
    a retry and anyone reading the plan later know what it was re-planned for.
    """

    from_day: dt.date
    done: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    absences: tuple[tuple[str, dt.date], ...] = ()
    suspensions: tuple[Suspension, ...] = ()

    def to_dict(self) -> dict:
        """JSON form (dates as ISO text, sailings as minutes after midnight)."""
        return {
            "desde": self.from_day.isoformat(),
            "hechas": list(self.done),
            "acordadas": list(self.keep),
            "ausencias": [[code, day.isoformat()] for code, day in self.absences],
            "suspensiones": [
                [s.line_id, s.start.isoformat(), None if s.whole_day else s.first_min]
                for s in self.suspensions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReplanRequest:
        """Inverse of :meth:`to_dict`."""
        suspensions = [
            Suspension.on_day(line, dt.date.fromisoformat(day), minute)
            for line, day, minute in data.get("suspensiones", [])
        ]
        return cls(
            from_day=dt.date.fromisoformat(data["desde"]),
            done=tuple(data.get("hechas", [])),
            keep=tuple(data.get("acordadas", [])),
            absences=tuple(
                (code, dt.date.fromisoformat(day)) for code, day in data.get("ausencias", [])
            ),
            suspensions=tuple(suspensions),
        )


def create_replan(session: Session, plan: PlanRow, request: ReplanRequest, *, actor: str = ""):
    """Store a re-plan of `plan` to compute (job state ``en_cola``); return the new row.

    The new plan keeps the source's gestores, visits and time budget; days
    before ``request.from_day`` are copied from the source when the job runs.
    """
    if not plan.result:
        msg = "Solo se re-planifica un plan ya calculado."
        raise PlanRunError(msg)
    days = week_days(plan.week_start, [Gestor.from_dict(g) for g in plan.inputs["gestores"]])
    if request.from_day not in days:
        msg = (
            f"El día {request.from_day:%d-%m-%Y} no es un día de trabajo de la semana del plan "
            f"({days[0]:%d-%m-%Y} a {days[-1]:%d-%m-%Y})."
        )
        raise PlanRunError(msg)
    new = PlanRow(
        week_start=plan.week_start,
        inputs={**plan.inputs, "replanificar": {"de": plan.id, **request.to_dict()}},
        created_by=actor,
        synthetic=plan.synthetic,
    )
    session.add(new)
    session.flush()
    return new


def _replan_result(sessions, model, spec: dict, inputs: _Inputs, progress):
    """Compute a re-plan job: the source plan as stored now, changed as `spec` says.

    The source is read in a short session; no connection is held while computing.
    """
    from routing.planning import replan

    with sessions() as session:
        source = session.get(PlanRow, spec["de"])
        if source is None or not source.result:
            msg = f"El plan {spec['de']} que se re-planifica ya no existe o no está calculado."
            raise PlanRunError(msg)
        src, assignment, unassigned = _inputs(source), _assignment(source), _unassigned(source)
    request = ReplanRequest.from_dict(spec)
    previous = assemble(model, src.visits, src.gestores, assignment, unassigned, stays=src.stays)
    return replan(
        previous,
        model,
        inputs.gestores,
        inputs.days,
        from_day=request.from_day,
        done=request.done,
        keep=request.keep,
        absences=request.absences,
        suspensions=request.suspensions,
        stays=inputs.stays,
        params=PlanParams(seconds=inputs.seconds),
        progress=progress,
    )
