"""What the case pages ask for: the list, one case, its pin, the map's points and counts.

Also the names and addresses the planning and field pages show. Plain
arguments, no Flask: the scope passed in decides what the account may see.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from collections.abc import MutableMapping
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from geo_app.cases.context import CaseContext
from geo_app.cases.counts import SMALL_COUNT
from geo_app.cases.counts import protect_rows
from geo_app.cases.importing import location_label
from geo_app.cases.map_layer import in_bbox
from geo_app.cases.workflow import late_clause
from geo_app.cases.workflow import stage_info
from geo_app.cases.workflow import timeline
from geo_app.errors import NotFoundError
from geo_app.places.service import PlaceChange
from geo_app.places.service import confirm_home
from geo_app.places.service import sector_of
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import GazetteerRow
from geo_app.store.models import Student
from geo_app.store.models import utcnow
from layers.classify import CATEGORY_LABELS
from layers.gazetteer import GazetteerError
from layers.geocode import CONFIDENCE
from layers.geocode import METHODS
from layers.geocode import confidence
from layers.intake import format_run
from layers.workflow import load_workflow

__all__ = [
    "CONFLICT_MESSAGE",
    "ORDERS",
    "PAGE_SIZE",
    "EditConflictError",
    "case_list_page",
    "case_page",
    "case_points",
    "counts_summary",
    "move_case_pin",
    "move_pin",
    "people",
    "pin_case",
    "undo_gps",
]

PAGE_SIZE = 50
ORDERS = {
    "prioridad": "Prioridad (mayor primero)",
    "confianza": "Ubicación menos segura primero (para ubicar a mano)",
}
NOT_YOURS = "No existe el caso {case_id} o no está entre sus casos."
CONFLICT_MESSAGE = (
    "Otra persona modificó este caso mientras usted lo editaba; no se guardó su cambio. "
    "Recargue la ficha, revise la ubicación actual y vuelva a moverla si corresponde."
)


class EditConflictError(ValueError):
    """Someone else changed the record since the form was opened."""


# --------------------------------------------------------------------------- list


def _confidence_clause(level: str):
    bounds = dict(CONFIDENCE)
    if level == "alta":
        return Case.geocode_score >= bounds["alta"]
    if level == "media":
        return (Case.geocode_score >= bounds["media"]) & (Case.geocode_score < bounds["alta"])
    return Case.geocode_score < bounds["media"]


def _filtered(  # noqa: C901 - one branch per filter
    args: Mapping[str, str], now: dt.datetime | None = None, stage_days: dict | None = None
) -> tuple[object, dict]:
    query = select(Case).join(Student)
    chosen = {}
    if args.get("etapa") in load_workflow().stages:
        query = query.where(Case.stage == args["etapa"])
        chosen["etapa"] = args["etapa"]
    if args.get("atrasado") == "si":
        query = query.where(late_clause(now or utcnow(), stage_days))
        chosen["atrasado"] = "si"
    if args.get("ubicacion_dudosa") == "si":
        query = query.where(Case.location_doubtful.is_(True))
        chosen["ubicacion_dudosa"] = "si"
    for key, column in (("comuna", Case.comuna), ("isla", Case.island)):
        if args.get(key):
            query = query.where(column == args[key])
            chosen[key] = args[key]
    if args.get("rbd", "").isdigit():
        query = query.where(Case.rbd == int(args["rbd"]))
        chosen["rbd"] = args["rbd"]
    if args.get("categoria") in CATEGORY_LABELS:
        query = query.where(Case.category == args["categoria"])
        chosen["categoria"] = args["categoria"]
    if args.get("elegible") == "reinsercion":
        query = query.where(Case.eligible_reinsercion.is_(True))
        chosen["elegible"] = "reinsercion"
    elif args.get("elegible") == "aulas":
        query = query.where(Case.eligible_aulas.is_(True))
        chosen["elegible"] = "aulas"
    if args.get("confianza") in ("alta", "media", "baja"):
        query = query.where(_confidence_clause(args["confianza"]))
        chosen["confianza"] = args["confianza"]
    if args.get("orden") in ORDERS and args.get("orden") != "prioridad":
        chosen["orden"] = args["orden"]
    # Default: the cases in the latest list (what the map and the summary count).
    if args.get("en_lista") == "no":
        query = query.where(Case.in_latest_list.is_(False))
        chosen["en_lista"] = "no"
    elif args.get("en_lista") == "todos":
        chosen["en_lista"] = "todos"
    else:
        query = query.where(Case.in_latest_list.is_(True))
    text = " ".join(args.get("q", "").split())
    if text:
        digits = re.sub(r"\D", "", text.split("-")[0])
        clauses = [func.lower(Student.given_names + " " + Student.surnames).contains(text.lower())]
        if digits:
            clauses.append(Student.run == int(digits))
        query = query.where(or_(*clauses))
        chosen["q"] = text
    return query, chosen


def _scope_counts(session: Session, scope: Scope) -> tuple[int, int, int, dict[str, int]]:
    """Cases in `scope`: all, in the latest list, synthetic, and by confidence in the list.

    One aggregate query (the list page used to send six); the same counts as
    `count_cases` (all, ``listed``, ``synthetic``) and the confidence levels of `CONFIDENCE`.
    """
    listed = Case.in_latest_list.is_(True)
    row = session.execute(
        scope.cases(
            select(
                func.count(),
                func.count().filter(listed),
                func.count().filter(Student.synthetic.is_(True)),
                *(func.count().filter(listed, _confidence_clause(lv)) for lv, _ in CONFIDENCE),
            )
            .select_from(Case)
            .join(Student)
        )
    ).one()
    everything, in_list, synthetic, *levels = (int(n or 0) for n in row)
    by_level = dict(zip((lv for lv, _ in CONFIDENCE), levels, strict=True))
    return everything, in_list, synthetic, by_level


def _counts(session: Session, scope: Scope, column) -> dict:
    """Cases in `scope`, counted by `column`."""
    query = scope.cases(select(column, func.count()).select_from(Case).group_by(column))
    return {key: n for key, n in session.execute(query).all()}  # noqa: C416


SEARCH_KEY = "busquedas"
FILTER_KEYS = ("comuna", "isla", "rbd", "categoria", "elegible", "confianza", "en_lista")


def remember_search(store: MutableMapping, form: Mapping[str, str]) -> dict[str, str]:
    """Keep the typed search (a name or a RUN) in `store` (the session); return URL arguments.

    The arguments hold the list's filters and, for the search, only a random id
    (``b``): a name or a RUN never reaches a URL, a Referer or an access log. The
    last 10 searches of the session are kept.
    """
    args = {k: form[k] for k in FILTER_KEYS if form.get(k)}
    text = " ".join(form.get("q", "").split())[:100]
    if text:
        key = secrets.token_urlsafe(6)
        searches = {**store.get(SEARCH_KEY, {}), key: text}
        store[SEARCH_KEY] = dict(list(searches.items())[-10:])
        args["b"] = key
    return args


def recall_search(store: Mapping, args: Mapping[str, str]) -> dict[str, str]:
    """Return the list's filters with the search of id ``b`` put back as ``q``.

    A ``q`` typed into the URL by hand is ignored (searches go through `remember_search`).
    """
    filters = {k: v for k, v in args.items() if k != "q"}
    if filters.get("b"):
        filters["q"] = store.get(SEARCH_KEY, {}).get(filters["b"], "")
    return filters


def case_list_page(
    session: Session,
    context: CaseContext,
    scope: Scope,
    filters: Mapping[str, str],
    page: int,
    *,
    now: dt.datetime | None = None,
    stage_days: dict | None = None,
) -> dict:
    """Return page `page` of the cases in `scope`, highest priority first, as template variables.

    `filters` are the list's query arguments (``comuna``, ``isla``, ``rbd``,
    ``categoria``, ``elegible``, ``confianza``, ``en_lista``, ``etapa``,
    ``atrasado`` = si (longer in the stage than its deadline, `stage_days`
    overriding the rules' days), ``ubicacion_dudosa`` = si, ``q``: a name or
    a RUN; ``orden``: ``confianza`` puts the least sure locations first, to
    be pinned by hand); unknown values are ignored. Besides the page's variables, the
    result holds ``audit_detail``: which filters were used, without the search
    text (it may be a name).
    """
    now = now or utcnow()
    query, chosen = _filtered(filters, now, stage_days)
    if chosen.get("orden") == "confianza":  # the least sure first: offered for a manual pin
        order = (Case.geocode_score, Case.priority.desc(), Case.id)
    else:
        order = (Case.priority.desc(), Case.id)
    ordered = scope.cases(query).order_by(*order)
    ids = ordered.order_by(None).with_only_columns(Case.id).subquery()
    # the filtered cases by geocoding method: their sum is the list's total (one query)
    by_method = dict(
        session.execute(
            select(Case.geocode_method, func.count())
            .where(Case.id.in_(select(ids.c.id)))
            .group_by(Case.geocode_method)
        ).all()
    )
    total = sum(by_method.values())
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    asked = page
    page = min(max(page, 1), pages)  # a page past the end shows the last one, and says so
    cases = list(
        session.scalars(
            ordered.options(joinedload(Case.student))
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    everything, listed, synthetic, by_confidence = _scope_counts(session, scope)
    islands = sorted(i for i in session.scalars(scope.cases(select(Case.island).distinct())) if i)
    schools = sorted(
        ((rbd, s["name"]) for rbd, s in context.schools.items() if s["is_slep"]),
        key=lambda x: x[1],
    )
    return {
        "cases": cases,
        "total": total,
        "page": page,
        "pages": pages,
        "chosen": chosen,
        # the pager's links: the filters, and the search only by its id (never its text)
        "link_args": {k: v for k, v in chosen.items() if k != "q"}
        | ({"b": filters["b"]} if "q" in chosen and filters.get("b") else {}),
        "comunas": sorted(c for c in context.comunas if scope.comuna_allowed(c)),
        "islands": islands,
        "schools": schools,
        "school_names": {rbd: s["name"] for rbd, s in context.schools.items()},
        "by_method": by_method,
        "asked_page": asked,
        "listed": listed,
        "not_listed": everything - listed,
        "any_cases": everything > 0,
        "filtered": any(k not in ("en_lista", "orden") for k in chosen),
        "by_confidence": by_confidence,
        "orders": ORDERS,
        "synthetic": synthetic,
        "stages": {k: v[0] for k, v in load_workflow().stages.items()},
        "stage_of": {c.id: stage_info(c, now, stage_days) for c in cases},
        "audit_detail": ", ".join(k for k in chosen if k != "q")
        + (" + búsqueda" if "q" in chosen else ""),
    }


EXPORT_HEADER = (
    "caso", "run", "nombres", "apellidos", "rbd", "establecimiento", "curso", "comuna", "isla",
    "sector", "direccion", "categoria", "asistencia_pct", "mes", "prioridad", "rezago",
    "elegible_reinsercion", "elegible_aulas", "ubicacion_metodo", "ubicacion_confianza",
    "en_ultima_lista", "sintetico",
)  # fmt: skip


def case_export_rows(
    session: Session, context: CaseContext, scope: Scope, filters: Mapping[str, str]
) -> tuple[list[list], list[int]]:
    """Every case of the list with `filters` (as `case_list_page`), one row each.

    Returns the rows in `EXPORT_HEADER` order (highest priority first; no contacts or
    notes) and the case ids, for the audit. Cells are plain values; the caller makes
    them formula-safe when writing a file.
    """
    query, _ = _filtered(filters)
    query = scope.cases(query).order_by(Case.priority.desc(), Case.id)
    cases = session.scalars(query.options(joinedload(Case.student))).all()
    rows = []
    for c in cases:
        school = context.schools.get(c.rbd, {})
        rows.append(
            [c.id, format_run(c.student.run, c.student.dv), c.student.given_names,
             c.student.surnames, c.rbd, school.get("name", ""), c.grade_label, c.comuna,
             c.island, c.sector, c.address, CATEGORY_LABELS.get(c.category, c.category),
             c.latest_pct, c.latest_period, round(c.priority, 3), c.rezago,
             c.eligible_reinsercion, c.eligible_aulas, c.geocode_method,
             confidence(c.geocode_score), "sí" if c.in_latest_list else "no",
             "sí" if c.student.synthetic else "no"]
        )  # fmt: skip
    return rows, [c.id for c in cases]


# --------------------------------------------------------------------------- one case


def case_page(
    session: Session,
    context: CaseContext,
    scope: Scope,
    case_id: int,
    *,
    now: dt.datetime | None = None,
    stage_days: dict | None = None,
) -> dict:
    """Return one case in `scope` with its student, attendance, contacts and changes.

    Keys: ``case``, ``school`` (the school's name, comuna and island),
    ``sector_guess`` (the sector its address names, for a pin to confirm),
    ``confirmed`` (the gazetteer entries confirmed from this case), ``stage``
    (`stage_info`), ``timeline`` (stages, visits, referrals, newest first),
    ``proposals`` (pending stage proposals), ``stages`` and ``closing``
    (labels from the workflow rules).

    Raises
    ------
    NotFoundError
        No such case, or not in `scope` (the two look the same).
    """
    case = session.scalar(
        scope.cases(select(Case).where(Case.id == case_id)).options(
            joinedload(Case.student),
            selectinload(Case.attendance),
            selectinload(Case.contacts),
            selectinload(Case.changes),
        )
    )
    if case is None:
        raise NotFoundError(NOT_YOURS.format(case_id=case_id))
    confirmed = session.scalars(
        select(GazetteerRow).where(GazetteerRow.case_id == case.id).order_by(GazetteerRow.id)
    ).all()
    return {
        "case": case,
        "school": context.schools.get(case.rbd, {}),
        "sector_guess": sector_of(
            case.address, case.sector, case.geocode_method, case.geocode_match
        ),
        "confirmed": confirmed,
        **_workflow_page(session, case, now or utcnow(), stage_days),
    }


def _workflow_page(session: Session, case: Case, now: dt.datetime, stage_days) -> dict:
    flow = load_workflow()
    items = timeline(session, case)
    return {
        "stage": stage_info(case, now, stage_days),
        "timeline": items,
        "proposals": [i["obj"] for i in items if i["tipo"] == "propuesta"],
        "stages": {k: v[0] for k, v in flow.stages.items()},
        "closing": {k: v[0] for k, v in flow.closing.items()},
        "workflow_source": f"{flow.version}: {flow.source}",
    }


def move_pin(
    session: Session,
    context: CaseContext,
    case_id: int,
    lon: float,
    lat: float,
    *,
    actor: str,
    expected_version: int,
) -> Case:
    """Place a case by hand (who and when are recorded); refuses a stale form.

    Raises
    ------
    EditConflictError
        The case changed since the form showed version `expected_version`.
    ValueError
        The point is outside the territory.
    """
    case = session.get(Case, case_id)
    if case is None:
        msg = f"No existe el caso {case_id}."
        raise LookupError(msg)
    if case.version != expected_version:
        raise EditConflictError(CONFLICT_MESSAGE)
    island = context.island_of(lon, lat)
    if not island:
        msg = "El punto está en el mar o fuera del territorio: ubíquelo sobre tierra en Chiloé."
        raise ValueError(msg)
    now = utcnow()
    session.add(
        Change(at=now, actor=actor, case=case, source="manual", field="ubicacion",
               old=location_label(case.lon, case.lat, case.geocode_method),
               new=location_label(lon, lat, "manual"))
    )  # fmt: skip
    case.lon, case.lat, case.island = lon, lat, island
    case.geocode_method, case.geocode_score, case.geocode_match = "manual", 1.0, "a mano"
    case.geocode_source, case.geocode_note = f"pin a mano de {actor}"[:300], ""
    case.located_by, case.located_at = actor, now
    try:
        session.flush()
    except StaleDataError as err:  # another session committed between our read and write
        raise EditConflictError(CONFLICT_MESSAGE) from err
    return case


def move_case_pin(
    session: Session,
    context: CaseContext,
    scope: Scope,
    case_id: int,
    lon: float,
    lat: float,
    *,
    actor: str,
    expected_version: int,
) -> Case:
    """`move_pin` for an account: only a case in `scope` can be moved.

    Raises
    ------
    NotFoundError
        No such case, or not in `scope`.
    EditConflictError, ValueError
        As `move_pin`.
    """
    if not scope.can_see_case(session, case_id):
        raise NotFoundError(NOT_YOURS.format(case_id=case_id))
    try:
        return move_pin(
            session, context, case_id, lon, lat, actor=actor, expected_version=expected_version
        )
    except EditConflictError:
        raise
    except LookupError as err:  # deleted since the scope check
        raise NotFoundError from err


@dataclass
class PinOutcome:
    """A pin saved on a case, the sector it confirmed (if any) and why it confirmed none."""

    case: Case
    place: PlaceChange | None = None
    warning: str = ""


def pin_case(
    session: Session,
    context: CaseContext,
    scope: Scope,
    case_id: int,
    lon: float,
    lat: float,
    *,
    actor: str,
    expected_version: int,
    sector: str = "",
    accuracy_m: float | None = None,
) -> PinOutcome:
    """Place a case by hand or by GPS and, when `sector` is given, confirm that sector there.

    The pin is saved as `move_case_pin` does. With `sector` (the sector the
    address names, `geo_app.places.service.sector_of`) the point also becomes
    a confirmed gazetteer entry (who, when) and every case naming the sector is
    geocoded again (`geo_app.places.service.confirm_home`). A GPS fix
    (`accuracy_m` given) confirms a sector only when it is good enough; the
    case keeps the pin either way and `warning` says why nothing was confirmed.

    Raises
    ------
    NotFoundError, EditConflictError, ValueError
        As `move_case_pin`.
    """
    case = move_case_pin(session, context, scope, case_id, lon, lat, actor=actor,
                         expected_version=expected_version)  # fmt: skip
    if accuracy_m is not None:
        case.geocode_match = f"GPS ±{accuracy_m:.0f} m"
        case.geocode_source = f"GPS del teléfono de {actor}"[:300]
    if not sector.strip():
        return PinOutcome(case)
    try:
        change = confirm_home(session, context, case, sector, actor=actor, accuracy_m=accuracy_m,
                              scope=scope)  # fmt: skip
    except GazetteerError as err:
        why = "; ".join(err.problems)
        return PinOutcome(case, warning=f"El sector no quedó confirmado: {why}.")
    return PinOutcome(case, change)


# --------------------------------------------------------------------------- map and counts


def case_points(
    session: Session, scope: Scope, bbox: tuple[float, float, float, float] | None = None
) -> list[dict]:
    """Located cases in `scope` in the latest list, as GeoJSON points without names.

    `bbox` ``(west, south, east, north)`` in WGS84 degrees keeps the points inside it
    (edges included); None keeps all. Properties: ``id``, ``categoria``, ``prioridad``,
    ``metodo``, ``confianza``, ``comuna``, ``rbd``, ``sintetico``. Coordinates in WGS84,
    6 decimals.
    """
    rows = session.execute(
        scope.cases(select(
            Case.id, Case.lon, Case.lat, Case.category, Case.priority, Case.geocode_method,
            Case.geocode_score, Case.comuna, Case.rbd, Student.synthetic,
        )
        .join(Student)
        .where(Case.lon.is_not(None), Case.in_latest_list,
               *([] if bbox is None else [in_bbox(bbox)])))
    ).all()  # fmt: skip
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {
                "id": cid,
                "categoria": category,
                "prioridad": round(priority, 1),
                "metodo": method,
                "confianza": confidence(score),
                "comuna": comuna,
                "rbd": rbd,
                "sintetico": bool(synthetic),
            },
        }
        for cid, lon, lat, category, priority, method, score, comuna, rbd, synthetic in rows
    ]


def counts_summary(session: Session, scope: Scope, k: int = SMALL_COUNT) -> dict:
    """Cases in `scope` by category and by geocoding method; protected for a mesa.

    For the mesa both tables are protected together (they share the total):
    counts 1..k−1 and the cells that would reveal them are ``"<k"``.
    """
    by_category = _counts(session, scope, Case.category)
    by_method = _counts(session, scope, Case.geocode_method)
    if scope.role == "mesa" and (by_category or by_method):
        tables, _ = protect_rows(
            {"categoria": {"todas": by_category}, "metodo": {"todas": by_method}},
            {"categoria": list(by_category), "metodo": list(by_method)},
            k,
        )
        by_category = {c: tables["categoria"]["todas"][c] for c in by_category}
        by_method = {m: tables["metodo"]["todas"][m] for m in by_method}
    return {"por_categoria": by_category, "por_metodo": by_method, "umbral_reserva": k}


def people(session: Session, case_ids: list[int]) -> tuple[dict[str, str], dict[str, str]]:
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


LABEL = re.compile(r"^(-?\d+\.\d+), (-?\d+\.\d+) \((\w+)\)$")


def undo_gps(
    session: Session, scope: Scope, case_id: int, *, actor: str, expected_version: int
) -> Case:
    """Put back the point a visit's GPS fix replaced (from the case's history).

    Raises
    ------
    NotFoundError
        No such case in `scope`.
    EditConflictError
        The case changed since the form was opened.
    ValueError
        The case's point does not come from a visit's GPS fix.
    """
    case = session.scalar(scope.cases(select(Case).where(Case.id == case_id)))
    if case is None:
        raise NotFoundError(NOT_YOURS.format(case_id=case_id))
    if case.version != expected_version:
        raise EditConflictError(CONFLICT_MESSAGE)
    last = session.scalar(
        select(Change)
        .where(Change.case_id == case.id, Change.field == "ubicacion", Change.source == "visita")
        .order_by(Change.id.desc())
    )
    if case.geocode_method != "gps" or last is None:
        msg = "La ubicación actual no viene del GPS de una visita: no hay nada que deshacer."
        raise ValueError(msg)
    old = LABEL.match(last.old or "")
    lat, lon, method = (
        (float(old[1]), float(old[2]), old[3]) if old else (None, None, "sin_ubicacion")
    )
    session.add(Change(actor=actor, case=case, source="manual", field="ubicacion",
                       old=location_label(case.lon, case.lat, case.geocode_method),
                       new=location_label(lon, lat, method)))  # fmt: skip
    case.lon, case.lat, case.geocode_method = lon, lat, method
    case.geocode_score = METHODS.get(method, ("", 0.0))[1]
    case.geocode_match = "punto anterior al GPS (deshecho)"
    case.located_by, case.located_at = actor, utcnow()
    return case
