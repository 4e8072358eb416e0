"""Visit records from the phones: store a batch idempotently, one answer per UUID (no Flask).

`receive_visits` takes the JSON list a phone sends to ``POST /api/visitas``.
Each record is checked and stored in its own savepoint, so one bad record
never holds up the others; a UUID the store already has is answered
``ya_estaba`` and not stored again (also when two sends race: the unique
index decides). The phone forgets a record only when its UUID comes back as
``guardado`` or ``ya_estaba``.

A stored record proposes the case's next stage (`geo_app.cases.workflow`)
and feeds the next plan (`apply_outcome`: a wrong address marks the location
doubtful, a good GPS fix at the home moves the point, undoable). A fix of
`layers.gazetteer.GOOD_GPS_M` metres or better at a home whose address names a
sector also proposes that sector's point: a PENDING team gazetteer entry
(`geo_app.places.service.propose_from_visit`) a profesional accepts or
discards on the places page.

A record is accepted for a case the gestor had in a published plan (now or
before): if the case was reassigned since, it is stored and marked as a
conflict for the profesional. A case never in the gestor's plans is refused.
Staff (admin, profesional) may record visits to cases in their comunas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_app.audit import record
from geo_app.cases.importing import location_label
from geo_app.cases.workflow import propose_from_visit as propose_stage
from geo_app.errors import InvalidRequestError
from geo_app.places.service import propose_from_visit
from geo_app.places.service import sector_of
from geo_app.scope import Scope
from geo_app.scope import assigned_cases
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import PlanRow
from geo_app.store.models import PlanStop
from geo_app.store.models import VisitRecord
from layers.visits import VisitInput
from layers.visits import VisitRecordError
from layers.visits import canonical_uuid
from layers.visits import check_record
from layers.visits import distance_m
from layers.visits import load_visit_rules
from layers.visits import proposes_place

__all__ = ["LOCAL_TZ", "MAX_BATCH", "apply_outcome", "case_visits", "receive_visits"]

LOCAL_TZ = ZoneInfo("America/Santiago")
MAX_BATCH = 500
STORED, HAD, REFUSED = "guardado", "ya_estaba", "rechazado"


def receive_visits(
    session: Session, scope: Scope, records: object, *, now: dt.datetime, ip: str = ""
) -> dict:
    """Store a batch of visit records; answer per UUID.

    `records` is the decoded JSON body (a list of objects, see
    `layers.visits.check_record`); `now` is the server's receipt time
    (aware). Returns ``{"resultados": [{"uuid", "estado", "motivo"}...],
    "guardados", "ya_estaban", "rechazados"}``, in the order sent. The
    caller commits; one audit entry names the cases of stored records.

    Raises
    ------
    InvalidRequestError
        The body is not a list, or holds more than `MAX_BATCH` records.
    """
    if not isinstance(records, list):
        msg = "Se esperaba una lista JSON de registros de visita."
        raise InvalidRequestError(msg)
    if len(records) > MAX_BATCH:
        msg = f"Envíe como máximo {MAX_BATCH} registros por vez (llegaron {len(records)})."
        raise InvalidRequestError(msg)
    answers = _receive_all(session, scope, records, now)
    stored_cases = [a.pop("_case") for a in answers if a["estado"] == STORED]
    counts = {s: sum(a["estado"] == s for a in answers) for s in (STORED, HAD, REFUSED)}
    if records:
        record(
            session, scope, "cambiar", "visitas", case_ids=stored_cases,
            n_records=counts[STORED], ip=ip,
            detail=f"{counts[STORED]} guardados, {counts[HAD]} ya estaban, "
            f"{counts[REFUSED]} rechazados",
        )  # fmt: skip
    return {
        "resultados": answers,
        "guardados": counts[STORED],
        "ya_estaban": counts[HAD],
        "rechazados": counts[REFUSED],
    }


def _raw_uuid(raw: object) -> str:
    value = raw.get("uuid") if isinstance(raw, dict) else None
    try:
        return canonical_uuid(value)
    except VisitRecordError:
        return str(value)[:64] if value is not None else ""


@dataclass
class _Known:
    """What the store knows about one batch, read in a few queries (not a few per record)."""

    uuids: set[str]  # already stored (and stored earlier in this batch)
    cases: dict[int, Case]
    ever: set[int]  # cases ever in the gestor's published plans
    current: set[int]  # cases in the gestor's currently published plans
    starts: dict[int, list[dt.datetime]]  # planned starts (local) of published stops
    corrected: dict[str, int]  # uuid -> case id of records that may be corrected


def _known(session: Session, scope: Scope, visits: list[VisitInput]) -> _Known:
    uuids = {v.uuid for v in visits} | {v.corrects for v in visits if v.corrects}
    ids = {v.case_id for v in visits}
    stored = dict(
        session.execute(
            select(VisitRecord.uuid, VisitRecord.case_id).where(VisitRecord.uuid.in_(uuids))
        ).all()
    ) if uuids else {}  # fmt: skip
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    stops = select(PlanStop.case_id, PlanStop.start_at).join(PlanRow)
    stops = stops.where(PlanRow.published_at.is_not(None), PlanStop.case_id.in_(ids))
    if scope.gestor_code:
        stops = stops.where(PlanStop.gestor_code == scope.gestor_code)
    starts: dict[int, list[dt.datetime]] = {}
    for case_id, start in session.execute(stops).all() if ids else []:
        starts.setdefault(case_id, []).append(start)
    current = set()
    if scope.role == "gestor" and ids:
        query = assigned_cases(scope.gestor_code).where(PlanStop.case_id.in_(ids))
        current = set(session.scalars(query))
    return _Known(
        uuids={u for u in stored if u in {v.uuid for v in visits}},
        cases=cases, ever=set(starts) if scope.role == "gestor" else set(), current=current,
        starts=starts, corrected=stored,
    )  # fmt: skip


def _receive_all(  # noqa: C901 - refuse, already had, store; then the race fallback
    session: Session, scope: Scope, records: list, now: dt.datetime
) -> list[dict]:
    """Answer every record; store the good ones in one flush (per-record savepoints on a race)."""
    checked: list[VisitInput | VisitRecordError] = []
    for raw in records:
        try:
            checked.append(check_record(raw))
        except VisitRecordError as err:
            checked.append(err)
    known = _known(session, scope, [v for v in checked if isinstance(v, VisitInput)])
    answers, built = [], []
    for raw, visit in zip(records, checked, strict=True):
        if isinstance(visit, VisitRecordError):
            answers.append({"uuid": _raw_uuid(raw), "estado": REFUSED, "motivo": str(visit)})
            continue
        if visit.uuid in known.uuids:
            answers.append({"uuid": visit.uuid, "estado": HAD, "motivo": ""})
            continue
        try:
            row, case = _build(scope, visit, now, known)
        except VisitRecordError as err:
            answers.append({"uuid": visit.uuid, "estado": REFUSED, "motivo": str(err)})
            continue
        known.uuids.add(visit.uuid)
        known.corrected[visit.uuid] = case.id
        answers.append({"uuid": visit.uuid, "estado": STORED, "motivo": _flags(row),
                        "_case": case.id})  # fmt: skip
        built.append((len(answers) - 1, row, case))
    try:
        with session.begin_nested():
            session.add_all([row for _, row, _ in built])
            session.flush()
    except IntegrityError:  # a concurrent send stored some of these UUIDs meanwhile
        for index, row, _ in built:
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:
                answers[index] = {"uuid": row.uuid, "estado": HAD, "motivo": ""}
    rules = load_visit_rules()
    for index, row, case in built:
        if answers[index]["estado"] == STORED:
            propose_stage(session, case, row)
            if proposes_place(rules, row.outcome, row.lon, row.accuracy_m):
                # the sector as the address and the geocoder named it, before the fix moves it
                sector = sector_of(case.address, case.sector, case.geocode_method,
                                   case.geocode_match)  # fmt: skip
                if propose_from_visit(session, case, row, sector) is not None:
                    answers[index]["motivo"] = "; ".join(
                        m for m in (answers[index]["motivo"],
                                    f"punto del sector {sector} propuesto para revisión") if m
                    )  # fmt: skip
            apply_outcome(session, case, row)
    return answers


def _flags(row: VisitRecord) -> str:
    notes = []
    if row.conflict:
        notes.append(row.conflict)
    if row.future_clock:
        notes.append("hora del teléfono en el futuro")
    if row.far:
        notes.append(f"a {row.distance_m / 1000:.1f} km del punto del caso")
    if row.gps_poor and row.lon is not None:
        notes.append("GPS impreciso")
    return "; ".join(notes)


def _build(  # noqa: C901 - one check per reason to refuse or flag
    scope: Scope, visit: VisitInput, now: dt.datetime, known: _Known
) -> tuple[VisitRecord, Case]:
    """Match a checked record against the store; raise VisitRecordError to refuse it."""
    rules = load_visit_rules()
    if visit.account and visit.account != scope.username:
        msg = (
            f"Registro hecho con la cuenta «{visit.account}»: envíelo iniciando sesión con esa "
            "cuenta (nunca con otra)."
        )
        raise VisitRecordError(msg)
    case = known.cases.get(visit.case_id)
    conflict = ""
    if case is None:
        msg = f"El caso {visit.case_id} no existe."
        raise VisitRecordError(msg)
    if scope.role == "gestor":
        if case.id not in known.ever:
            msg = f"El caso {case.id} nunca estuvo en sus planes publicados."
            raise VisitRecordError(msg)
        if case.id not in known.current:
            conflict = "caso reasignado a otro gestor antes de llegar el registro"
    elif not scope.comuna_allowed(case.comuna):
        msg = f"El caso {case.id} está fuera de las comunas de su cuenta."
        raise VisitRecordError(msg)
    if case.stage == "cerrado":
        conflict = "; ".join(c for c in (conflict, "caso cerrado antes de llegar el registro") if c)
    if visit.corrects and known.corrected.get(visit.corrects) != case.id:
        msg = "Corrige un registro que el servidor aún no tiene: envíe primero el original."
        raise VisitRecordError(msg)
    row = VisitRecord(
        uuid=visit.uuid,
        case_id=case.id,
        gestor_code=scope.gestor_code,
        username=scope.username,
        outcome=visit.outcome,
        contacted=visit.contacted,
        barriers=list(visit.barriers),
        referral=visit.referral,
        agreement=visit.agreement,
        next_step=visit.next_step,
        next_date=visit.next_date,
        note=visit.note,
        lon=visit.lon,
        lat=visit.lat,
        accuracy_m=visit.accuracy_m,
        gps_poor=visit.lon is not None
        and (visit.accuracy_m is None or visit.accuracy_m > rules.max_accuracy_m),
        device_at=visit.device_at,
        received_at=now,
        future_clock=visit.device_at > now + rules.future_tolerance,
        corrects=visit.corrects,
        conflict=conflict,
        rules_version=rules.version,
    )
    if visit.lon is not None and case.lon is not None:
        row.distance_m = round(distance_m(visit.lon, visit.lat, case.lon, case.lat), 1)
        row.far = row.distance_m > rules.far_m
    local = visit.device_at.astimezone(LOCAL_TZ).replace(tzinfo=None)
    planned = min(known.starts.get(case.id, []), key=lambda s: abs(s - local), default=None)
    if planned is not None:
        row.planned_at = planned
        row.minutes_from_plan = round((local - planned).total_seconds() / 60, 1)
    return row, case


def case_visits(session: Session, case_ids: Iterable[int]) -> dict[int, list[VisitRecord]]:
    """Visit records of some cases, newest first, keyed by case id."""
    ids = list(case_ids)
    out: dict[int, list[VisitRecord]] = {i: [] for i in ids}
    if not ids:
        return out
    query = (
        select(VisitRecord)
        .where(VisitRecord.case_id.in_(ids))
        .order_by(VisitRecord.device_at.desc(), VisitRecord.id.desc())
    )
    for row in session.scalars(query):
        out[row.case_id].append(row)
    return out


def apply_outcome(session: Session, case: Case, row: VisitRecord) -> str:
    """Feed a stored visit back into the case's location; return what changed ("" if nothing).

    A wrong address or a family that moved marks the location doubtful (until
    someone places it again). A contact visit with a GPS fix at most the
    rules' ``max_accuracy_m`` moves the case's point there (method ``gps``,
    who and when; the profesional can undo it from the case page, which
    restores the point kept in the history). A poor fix never moves it.
    """
    rules = load_visit_rules()
    actor = f"{row.username} (visita)"
    if rules.outcomes[row.outcome][2] == "ubicacion":
        if not case.location_doubtful:
            session.add(Change(actor=actor, case_id=case.id, source="visita",
                               field="ubicacion_dudosa", old="no", new="sí"))  # fmt: skip
            case.location_doubtful = True
        return "ubicacion_dudosa"
    if not rules.outcomes[row.outcome][1] or row.lon is None or row.gps_poor:
        return ""
    old = location_label(case.lon, case.lat, case.geocode_method)
    session.add(Change(actor=actor, case_id=case.id, source="visita", field="ubicacion",
                       old=old, new=location_label(row.lon, row.lat, "gps")))  # fmt: skip
    case.lon, case.lat = row.lon, row.lat
    case.geocode_method, case.geocode_score = "gps", 1.0
    case.geocode_match = f"GPS ±{row.accuracy_m:.0f} m"
    case.located_by, case.located_at = row.username, row.received_at
    case.location_doubtful = False
    return "ubicacion_gps"
