"""The case workflow in the store: proposals from visits and re-imports, decisions, timeline.

Plain arguments, no Flask. Rules: `layers.workflow` (versioned data). A
stored visit or a re-import showing the student attending again only
*proposes* a stage (``case_stages`` row ``propuesta``); the profesional
confirms it, confirms another stage (a correction) or discards it. Every
decision is a row too; nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import StageChange
from geo_app.store.models import VisitRecord
from layers.visits import load_visit_rules
from layers.workflow import WorkflowError
from layers.workflow import load_workflow

__all__ = [
    "decide_stage",
    "late_clause",
    "propose",
    "propose_from_attendance",
    "propose_from_visit",
    "stage_info",
    "timeline",
]


def _since(case: Case) -> dt.datetime:
    since = case.stage_since or case.created_at
    return since if since.tzinfo else since.replace(tzinfo=dt.UTC)


def stage_info(case: Case, now: dt.datetime, overrides: dict | None = None) -> dict:
    """Stage of a case: ``etapa``, ``etiqueta``, ``desde``, ``vence`` (or None), ``atrasado``."""
    flow = load_workflow()
    since = _since(case)
    return {
        "etapa": case.stage,
        "etiqueta": flow.label(case.stage),
        "desde": since,
        "vence": flow.due(case.stage, since, overrides),
        "atrasado": flow.late(case.stage, since, now, overrides),
        "seguimiento_hasta": flow.followup_end(since) if case.stage == "seguimiento" else None,
    }


def late_clause(now: dt.datetime, overrides: dict | None = None):
    """Return the SQL condition: the case has been in its stage longer than the stage's deadline."""
    flow = load_workflow()
    since = func.coalesce(Case.stage_since, Case.created_at)
    clauses = []
    for stage in flow.order:
        days = flow.deadline_days(stage, overrides)
        if days:
            clauses.append(and_(Case.stage == stage, since < now - dt.timedelta(days=days)))
    return or_(*clauses) if clauses else false()


def propose(
    session: Session, case: Case, target: str, *, source: str, actor: str = "",
    visit_uuid: str | None = None, note: str = "",
) -> StageChange | None:  # fmt: skip
    """Add a proposal to move `case` to `target` unless the same one is already pending."""
    pending = session.scalar(
        select(StageChange.id).where(
            StageChange.case_id == case.id,
            StageChange.status == "propuesta",
            StageChange.proposed_stage == target,
        )
    )
    if pending is not None:
        return None
    change = StageChange(
        case_id=case.id, source=source, actor=actor, from_stage=case.stage,
        proposed_stage=target, to_stage=target, status="propuesta", visit_uuid=visit_uuid,
        note=note[:300],
    )  # fmt: skip
    session.add(change)
    return change


def propose_from_visit(session: Session, case: Case, visit: VisitRecord) -> StageChange | None:
    """Propose the stage a stored visit implies (contact, barriers, referral or agreement)."""
    if case.stage == "cerrado":
        return None
    target = load_workflow().proposed_by_visit(
        case.stage, visit.outcome, barriers=bool(visit.barriers),
        referral=bool(visit.referral or visit.agreement),
    )  # fmt: skip
    if target is None:
        return None
    return propose(session, case, target, source="visita", actor=visit.username,
                   visit_uuid=visit.uuid)  # fmt: skip


def propose_from_attendance(session: Session, cases: Iterable[Case], *, actor: str = "") -> int:
    """Propose «revinculado» for cases in contact..action whose latest attendance is normal.

    Returns the number of proposals added.
    """
    flow = load_workflow()
    first, last = flow.rank("contacto"), flow.rank("accion")
    added = 0
    for case in cases:
        if case.latest_pct is None or case.latest_pct < flow.attending_pct:
            continue
        if first <= flow.rank(case.stage) <= last:
            note = (
                f"La lista de {case.latest_period} lo muestra asistiendo ({case.latest_pct:g} %)."
            )
            if propose(session, case, "revinculado", source="importacion", actor=actor, note=note):
                added += 1
    return added


def decide_stage(
    session: Session, scope: Scope, case_id: int, *, action: str, stage: str = "",
    change_id: int | None = None, reason: str = "", note: str = "", actor: str,
    now: dt.datetime, expected_version: int,
) -> StageChange:  # fmt: skip
    """Confirm, correct or discard a proposal, or move a case by hand.

    `action` is ``confirmar`` (a proposal, to `stage` if given: a
    correction), ``descartar`` (a proposal) or ``mover`` (by hand, to
    `stage`). Closing needs a `reason` from the rules.

    Raises
    ------
    NotFoundError
        No such case or proposal in `scope`.
    ConflictError
        The case changed since the form was opened, or the proposal was decided.
    InvalidRequestError
        The rules refuse the change (the message says why).
    """
    case = session.scalar(scope.cases(select(Case).where(Case.id == case_id)))
    if case is None or not scope.sees_people:
        msg = f"No existe el caso {case_id} o no está en su ámbito."
        raise NotFoundError(msg)
    if case.version != expected_version:
        msg = "Otra persona cambió este caso: recargue la página y revise la etapa."
        raise ConflictError(msg)
    change = None
    if action in ("confirmar", "descartar"):
        change = session.get(StageChange, change_id) if change_id else None
        if change is None or change.case_id != case.id:
            msg = "No existe esa propuesta de etapa."
            raise NotFoundError(msg)
        if change.status != "propuesta":
            msg = "Esa propuesta ya fue decidida: recargue la página."
            raise ConflictError(msg)
    elif action != "mover":
        msg = f"Acción «{action}» desconocida."
        raise InvalidRequestError(msg)
    if action == "descartar":
        change.status, change.decided_by, change.decided_at = "descartada", actor, now
        return change
    target = stage or (change.proposed_stage if change else "")
    try:
        load_workflow().check_change(case.stage, target, reason=reason, since=_since(case), now=now)
    except WorkflowError as err:
        raise InvalidRequestError(str(err)) from err
    if change is None:
        change = StageChange(case_id=case.id, source="manual", actor=actor, from_stage=case.stage,
                             proposed_stage=target)  # fmt: skip
        session.add(change)
    change.to_stage, change.status, change.reason = target, "confirmada", reason
    change.note = note[:300] or change.note
    change.decided_by, change.decided_at = actor, now
    change.from_stage = case.stage
    case.stage, case.stage_since = target, now
    case.closed_reason = reason if target == "cerrado" else ""
    return change


def timeline(session: Session, case: Case) -> list[dict]:
    """Stage changes, visits and referrals of a case, newest first, for the case page.

    Each item: ``at`` (aware), ``tipo`` (etapa | propuesta | visita), ``texto``
    (Spanish) and ``obj`` (the row).
    """
    flow = load_workflow()
    visit_rules = load_visit_rules()
    items = []
    for change in session.scalars(select(StageChange).where(StageChange.case_id == case.id)):
        if change.status == "propuesta":
            text = f"Propuesta ({change.source}): {flow.label(change.proposed_stage)}"
        elif change.status == "descartada":
            text = f"Propuesta descartada: {flow.label(change.proposed_stage)}"
        else:
            corrected = change.proposed_stage != change.to_stage
            text = f"Etapa: {flow.label(change.from_stage)} → {flow.label(change.to_stage)}" + (
                f" (corrige la propuesta «{flow.label(change.proposed_stage)}»)"
                if corrected
                else ""
            )
            if change.reason:
                text += f"; motivo: {flow.closing.get(change.reason, (change.reason,))[0]}"
        at = change.decided_at or change.at
        kind = "propuesta" if change.status == "propuesta" else "etapa"
        items.append({"at": at, "tipo": kind, "texto": text, "obj": change})
    for visit in session.scalars(select(VisitRecord).where(VisitRecord.case_id == case.id)):
        label = visit_rules.outcomes.get(visit.outcome, (visit.outcome,))[0]
        text = f"Visita: {label}"
        if visit.barriers:
            names = [visit_rules.barriers.get(b, (b,))[0] for b in visit.barriers]
            text += "; barreras: " + ", ".join(names)
        if visit.referral:
            text += "; derivación: " + " · ".join(v for v in visit.referral.values() if v)
        items.append({"at": visit.device_at, "tipo": "visita", "texto": text, "obj": visit})
    return sorted(items, key=lambda i: _aware(i["at"]), reverse=True)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
