"""What the case pages ask for: the list, one case, its pin, the map's points and counts.

Also the names and addresses the planning and field pages show. Plain
arguments, no Flask: the scope passed in decides what the account may see.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from collections.abc import MutableMapping

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from geo_app.cases.context import CaseContext
from geo_app.cases.counts import SMALL_COUNT
from geo_app.cases.counts import count_cases
from geo_app.cases.counts import suppress_small
from geo_app.cases.importing import location_label
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store import paginate
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import Student
from geo_app.store.models import utcnow
from layers.classify import CATEGORY_LABELS
from layers.geocode import CONFIDENCE
from layers.geocode import confidence
from layers.intake import format_run

__all__ = [
    "CONFLICT_MESSAGE",
    "PAGE_SIZE",
    "EditConflictError",
    "case_list_page",
    "case_page",
    "case_points",
    "counts_summary",
    "move_case_pin",
    "move_pin",
    "people",
]

PAGE_SIZE = 50
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


def _filtered(args: Mapping[str, str]) -> tuple[object, dict]:  # noqa: C901 - one branch per filter
    query = select(Case).join(Student)
    chosen = {}
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
    session: Session, context: CaseContext, scope: Scope, filters: Mapping[str, str], page: int
) -> dict:
    """Return page `page` of the cases in `scope`, highest priority first, as template variables.

    `filters` are the list's query arguments (``comuna``, ``isla``, ``rbd``,
    ``categoria``, ``elegible``, ``confianza``, ``en_lista``, ``q``: a name or
    a RUN); unknown values are ignored. Besides the page's variables, the
    result holds ``audit_detail``: which filters were used, without the search
    text (it may be a name).
    """
    query, chosen = _filtered(filters)
    ordered = scope.cases(query).order_by(Case.priority.desc(), Case.id)
    total = session.scalar(select(func.count()).select_from(ordered.order_by(None).subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    asked = page
    page = min(max(page, 1), pages)  # a page past the end shows the last one, and says so
    cases, _, _ = paginate(session, ordered, page, PAGE_SIZE, options=(joinedload(Case.student),))
    ids = ordered.order_by(None).with_only_columns(Case.id).subquery()
    by_method = dict(
        session.execute(
            select(Case.geocode_method, func.count())
            .where(Case.id.in_(select(ids.c.id)))
            .group_by(Case.geocode_method)
        ).all()
    )
    everything = count_cases(session, scope)
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
        "listed": count_cases(session, scope, listed=True),
        "not_listed": everything - count_cases(session, scope, listed=True),
        "any_cases": everything > 0,
        "filtered": any(k != "en_lista" for k in chosen),
        "synthetic": count_cases(session, scope, synthetic=True),
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


def case_page(session: Session, context: CaseContext, scope: Scope, case_id: int) -> dict:
    """Return one case in `scope` with its student, attendance, contacts and changes.

    Keys: ``case`` and ``school`` (the school's name, comuna and island).

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
    return {"case": case, "school": context.schools.get(case.rbd, {})}


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


# --------------------------------------------------------------------------- map and counts


def case_points(session: Session, scope: Scope) -> list[dict]:
    """Located cases in `scope` in the latest list, as GeoJSON points without names.

    Properties: ``id``, ``categoria``, ``prioridad``, ``metodo``, ``confianza``,
    ``comuna``, ``rbd``, ``sintetico``. Coordinates in WGS84, 6 decimals.
    """
    rows = session.execute(
        scope.cases(select(
            Case.id, Case.lon, Case.lat, Case.category, Case.priority, Case.geocode_method,
            Case.geocode_score, Case.comuna, Case.rbd, Student.synthetic,
        )
        .join(Student)
        .where(Case.lon.is_not(None), Case.in_latest_list))
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


def counts_summary(session: Session, scope: Scope) -> dict:
    """Cases in `scope` by category and by geocoding method; small counts hidden for a mesa."""
    by_category = _counts(session, scope, Case.category)
    by_method = _counts(session, scope, Case.geocode_method)
    if scope.role == "mesa":
        by_category, by_method = suppress_small(by_category), suppress_small(by_method)
    return {"por_categoria": by_category, "por_metodo": by_method, "umbral_reserva": SMALL_COUNT}


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
