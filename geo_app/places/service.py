"""What the places page, the case pin and the ``revincula lugares`` commands ask for.

Plain arguments, no Flask. The team's entries (`GazetteerRow`) are imported
from a file (all rows or none), confirmed from a case's pin or GPS fix,
created by a correction on the places page, and retired (never deleted).
Whenever a place changes, every case whose address names it is geocoded again
(`relocate_cases`): a place is fixed once for every case in it, each moved
case gets a history entry (source ``lugar``), the caller audits the ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo_app.cases.context import CaseContext
from geo_app.cases.importing import location_label
from geo_app.cases.importing import set_location
from geo_app.errors import ConflictError
from geo_app.errors import ForbiddenError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.places.stored import current_gazetteer
from geo_app.places.stored import current_geocoder
from geo_app.places.stored import row_ref
from geo_app.places.stored import stored_entries
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Change
from geo_app.store.models import GazetteerRow
from geo_app.store.models import VisitRecord
from geo_app.store.models import utcnow
from layers.gazetteer import GOOD_GPS_M
from layers.gazetteer import SOURCES
from layers.gazetteer import ConfirmedPlace
from layers.gazetteer import Entry
from layers.gazetteer import Gazetteer
from layers.gazetteer import GazetteerError
from layers.gazetteer import Place
from layers.gazetteer import address_key
from layers.gazetteer import compact
from layers.gazetteer import core_key
from layers.gazetteer import read_gazetteer_file
from layers.intake import normalize_text
from layers.text import count_label
from layers.text import number_es

__all__ = [
    "EXAMPLE_FILE",
    "FILTERS",
    "PENDING",
    "VISIT_SOURCE",
    "GazetteerImport",
    "PlaceChange",
    "confirm_home",
    "correct_place",
    "find_place",
    "import_gazetteer",
    "import_message",
    "pending_rows",
    "place_id",
    "places_geojson",
    "places_page",
    "propose_from_visit",
    "relocate_cases",
    "restore_entry",
    "retire_entry",
    "review_proposal",
    "sector_of",
    "team_row_ref",
]

# Words that end a sector's name in an address («Sector Pid Pid s/n», «Sector X km 3, Castro»).
_SECTOR = re.compile(
    r"\b(?:sector|sect\.?|localidad|lugar)\s+(.+?)(?=\s+s/?n\b|\s+km\b|\s+\d|\s+frente\b|"
    r"\s+cerca\b|\s+casa\b|[,;()]|$)",
    re.IGNORECASE,
)
_SECTOR_PREFIX = re.compile(r"^\s*(?:sector|sect\.?)\s+", re.IGNORECASE)
_NAMED_METHODS = {"localidad", "localidad_aprox", "confirmado"}
# A gestor's visit fix proposes a sector's point: a row of this kind waits for a profesional.
PENDING = "pendiente"
VISIT_SOURCE = "gps de visita"


@dataclass
class PlaceChange:
    """What a change of the gazetteer did: the stored row and the cases geocoded again."""

    row: GazetteerRow | None
    relocated: list[int] = field(default_factory=list)
    message: str = ""


@dataclass
class GazetteerImport:
    """A gazetteer file read (stored unless `dry_run`): rows, repeats, conflicts, cases moved."""

    filename: str
    n_rows: int
    stored: int
    repeated: int
    conflicts: list[str]
    relocated: list[int] = field(default_factory=list)
    dry_run: bool = False


# --------------------------------------------------------------------------- places


def place_id(place: Place) -> str:
    """Stable identifier of a merged place in URLs: ``comuna|kind|key``."""
    return f"{place.comuna}|{place.kind}|{place.key}"


def find_place(gazetteer: Gazetteer, identifier: str) -> Place:
    """Return the place `place_id` names.

    Raises
    ------
    NotFoundError
        No such place (it may have been merged into another by a change).
    """
    for place in gazetteer.places:
        if place_id(place) == identifier:
            return place
    msg = "No existe ese lugar (quizás se fusionó con otro tras un cambio): búsquelo de nuevo."
    raise NotFoundError(msg)


def _comuna_label(context: CaseContext, comuna: str) -> str:
    """Comuna as users write it, from its normalised name ("" for islands of any comuna)."""
    names = {normalize_text(c): c for c in context.comunas}
    return names.get(normalize_text(comuna), comuna)


def _check_scope(scope: Scope | None, context: CaseContext, comuna: str) -> None:
    label = _comuna_label(context, comuna)
    if scope is not None and comuna and not scope.comuna_allowed(label):
        msg = f"La comuna {label} no está en su ámbito: pida el cambio a quien la tenga a cargo."
        raise ForbiddenError(msg)


def sector_of(address: str, sector: str, method: str = "", matched: str = "") -> str:
    """Return the sector a home's address names, for a pin to confirm (``""`` when none).

    The sector column first («Sector Huyar Alto» → «Huyar Alto»), then «Sector
    X» / «Localidad X» in the address, then the place the geocoder recognised.
    """
    if sector.strip():
        return _SECTOR_PREFIX.sub("", sector).strip(" .,")
    found = _SECTOR.search(address or "")
    if found:
        return found.group(1).strip(" .,")
    if method in _NAMED_METHODS and matched:
        return matched.split(" (escrito")[0].strip()
    return ""


# --------------------------------------------------------------------------- cases


def _names_of(places: list[Place]) -> set[str]:
    keys = set()
    for place in places:
        for name in place.names or (place.key,):
            keys.add(compact(name))
            keys.add(core_key(name))
    return {k for k in keys if len(k) >= 3}


def relocate_cases(
    session: Session,
    context: CaseContext,
    *,
    names: set[str],
    refs: set[str] = frozenset(),
    actor: str,
    why: str,
) -> list[int]:
    """Geocode again every case that names a changed place; return the ids of those moved.

    A case counts when its address or sector contains one of `names`
    (compact, see `layers.gazetteer.compact`) or its location came from one
    of `refs`. Cases placed by hand or by a visit's GPS fix at the home
    (method ``gps``) are never moved: their own point is better than a
    sector's. Each moved case gets a history entry (source ``lugar``, `why`
    in the new value).
    """
    geocoder = current_geocoder(session, context)
    query = select(Case).where(Case.geocode_method.not_in(("manual", "gps")))
    now = utcnow()
    moved = []
    for case in session.scalars(query):
        text = compact(normalize_text(f"{case.address} {case.sector}"))
        sources = set((case.geocode_source or "").split("; "))
        if not (any(n in text for n in names) or sources & refs):
            continue
        comuna = case.comuna or context.schools.get(case.rbd, {}).get("comuna", "")
        location = geocoder.locate(case.address, case.sector, comuna, case.rbd)
        before = (case.lon, case.lat, case.geocode_method, round(case.geocode_score, 3))
        after = (location.lon, location.lat, location.method, round(location.score, 3))
        if before == after and case.geocode_source == location.source[:300]:
            continue
        session.add(
            Change(at=now, actor=actor, case=case, source="lugar", field="ubicacion",
                   old=location_label(case.lon, case.lat, case.geocode_method),
                   new=f"{location_label(location.lon, location.lat, location.method)}; {why}")
        )  # fmt: skip
        set_location(context, case, location, now)
        moved.append(case.id)
    try:
        session.flush()
    except StaleDataError as err:
        msg = "Otra persona cambió uno de los casos al mismo tiempo: reintente."
        raise ConflictError(msg) from err
    return moved


# --------------------------------------------------------------------------- confirmations


def confirm_home(
    session: Session,
    context: CaseContext,
    case: Case,
    name: str,
    *,
    actor: str,
    accuracy_m: float | None = None,
    scope: Scope | None = None,
) -> PlaceChange:
    """Make a case's new pin (or GPS fix) the point of the sector `name` its address names.

    Stores a ``confirmado`` row (origin ``gps`` when `accuracy_m` is given,
    else ``pin``) with who and when, then geocodes again the cases naming the
    sector. A GPS fix worse than `layers.gazetteer.GOOD_GPS_M` is refused.

    Raises
    ------
    layers.gazetteer.GazetteerError
        The name is empty or the GPS fix is not good enough (Spanish message).
    ForbiddenError
        The case's comuna is outside `scope`.
    """
    comuna = case.comuna or context.schools.get(case.rbd, {}).get("comuna", "")
    _check_scope(scope, context, comuna)
    now = utcnow()
    origin = "gps" if accuracy_m is not None else "pin"
    home = address_key(case.address, case.sector)
    confirmed = ConfirmedPlace(name.strip(), comuna, case.lon, case.lat, origin, actor, now,
                               address_key=home, accuracy_m=accuracy_m)  # fmt: skip
    row = GazetteerRow(
        kind="confirmado", origin=origin, name=confirmed.name[:200], comuna=comuna,
        lat=case.lat, lon=case.lon, source=SOURCES["confirmado"].label,
        address_key=home[:600], accuracy_m=accuracy_m, case_id=case.id,
        created_by=actor, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    place = _place_of_row(session, context, row)
    relocated = relocate_cases(
        session, context, names=_names_of([place]) if place else {core_key(normalize_text(name))},
        refs=set(place.refs) if place else set(), actor=actor,
        why=f"sector {confirmed.name} confirmado en el caso {case.id}",
    )  # fmt: skip
    return PlaceChange(row, relocated)


def propose_from_visit(
    session: Session, case: Case, visit: VisitRecord, sector: str
) -> GazetteerRow | None:
    """Store a gestor's good visit fix as a PENDING team entry for the sector `sector` names.

    The caller has checked the fix (`layers.visits.proposes_place`: contact at
    the home, accuracy ≤ `layers.gazetteer.GOOD_GPS_M` m). The row (kind
    `PENDING`, origin ``visita``, source `VISIT_SOURCE`, who and when of the
    visit, the visit's WGS84 point) is not used by the geocoder until a
    profesional accepts it (`review_proposal`). Returns None, storing nothing,
    when the address names no sector, the case has no comuna, or the same
    case already has a proposal for that sector waiting.
    """
    name = sector.strip()[:200]
    if not name or not case.comuna or visit.lon is None:
        return None
    waiting = session.scalars(
        select(GazetteerRow.name).where(
            GazetteerRow.kind == PENDING, GazetteerRow.case_id == case.id,
            GazetteerRow.retired.is_(False),
        )
    )  # fmt: skip
    if any(normalize_text(n) == normalize_text(name) for n in waiting):
        return None
    row = GazetteerRow(
        kind=PENDING, origin="visita", name=name, comuna=case.comuna, lat=visit.lat,
        lon=visit.lon, source=VISIT_SOURCE, accuracy_m=visit.accuracy_m, case_id=case.id,
        address_key=address_key(case.address, case.sector)[:600],
        note=f"visita {visit.uuid}"[:300], created_by=visit.username,
        created_at=visit.received_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def pending_rows(session: Session, scope: Scope) -> list[GazetteerRow]:
    """Visit proposals waiting for review in the account's comunas, oldest first."""
    query = select(GazetteerRow).where(
        GazetteerRow.kind == PENDING, GazetteerRow.retired.is_(False)
    )
    if not scope.all_comunas:
        query = query.where(GazetteerRow.comuna.in_(scope.comunas))
    return list(session.scalars(query.order_by(GazetteerRow.id)))


def review_proposal(
    session: Session,
    context: CaseContext,
    scope: Scope | None,
    row_id: int,
    *,
    accept: bool,
    actor: str,
    expected_version: int | None = None,
) -> PlaceChange:
    """Accept or discard a visit proposal (`propose_from_visit`).

    Accepted, the row becomes a ``confirmado`` entry (origin ``visita``; who
    and when of the visit kept, the reviewer and the day in its note) and
    every case naming the sector is geocoded again: the place is fixed once
    for every case in it. Discarded, the row is kept retired (who, when).
    The caller audits.

    Raises
    ------
    NotFoundError
        No such proposal, or it was already reviewed.
    ForbiddenError
        Its comuna is outside `scope`.
    ConflictError
        `expected_version` is not the row's (someone reviewed it meanwhile).
    InvalidRequestError
        The fix cannot be a confirmed place (e.g. its accuracy is too poor).
    """
    row = session.get(GazetteerRow, row_id)
    if row is None or row.kind != PENDING or row.retired:
        msg = f"No hay una propuesta por revisar con el número {row_id} (quizás ya se revisó)."
        raise NotFoundError(msg)
    if expected_version is not None and row.version != expected_version:
        msg = "Otra persona revisó esta propuesta mientras tanto: recargue la página."
        raise ConflictError(msg)
    _check_scope(scope, context, row.comuna)
    now = utcnow()
    day = now.astimezone(ZoneInfo("America/Santiago")).strftime("%d/%m/%Y")
    if not accept:
        row.retired, row.retired_by, row.retired_at = True, actor, now
        row.note = f"{row.note}; descartada por {actor} el {day}"[:300]
        session.flush()
        return PlaceChange(row, [], f"Propuesta {row_id} ({row.name}) descartada")
    try:
        ConfirmedPlace(row.name, row.comuna, row.lon, row.lat, "visita", row.created_by or actor,
                       now, accuracy_m=row.accuracy_m)  # fmt: skip
    except GazetteerError as err:
        raise InvalidRequestError("; ".join(err.problems)) from err
    row.kind = "confirmado"
    row.note = f"{VISIT_SOURCE} de {row.created_by}, aceptado por {actor} el {day}"[:300]
    session.flush()
    place = _place_of_row(session, context, row)
    relocated = relocate_cases(
        session, context,
        names=_names_of([place]) if place else {core_key(normalize_text(row.name))},
        refs=set(place.refs) if place else set(), actor=actor,
        why=f"sector {row.name} aceptado desde una visita del caso {row.case_id}",
    )  # fmt: skip
    return PlaceChange(row, relocated, f"Propuesta {row_id} ({row.name}) aceptada")


def _place_of_row(session: Session, context: CaseContext, row: GazetteerRow) -> Place | None:
    ref = row_ref(row)
    gazetteer = current_gazetteer(session, context)
    return next((p for p in gazetteer.places if ref in p.refs), None)


def correct_place(
    session: Session,
    context: CaseContext,
    scope: Scope | None,
    identifier: str,
    lon: float,
    lat: float,
    *,
    actor: str,
) -> PlaceChange:
    """Move a place: a ``confirmado`` correction, then every case naming it is geocoded again.

    Raises
    ------
    NotFoundError
        No such place.
    ForbiddenError
        The place's comuna is outside `scope`.
    InvalidRequestError
        The place is an island, or the point is in the sea or outside the territory.
    """
    place = find_place(current_gazetteer(session, context), identifier)
    _check_scope(scope, context, place.comuna)
    if place.kind == "isla":
        msg = (
            f"{place.name} es una isla: su ubicación viene de su polígono. Corrija el sector de la "
            "isla donde viven los casos (búsquelo por su nombre) o confírmelo desde un caso."
        )
        raise InvalidRequestError(msg)
    if not context.island_of(lon, lat):
        msg = "El punto está en el mar o fuera del territorio: ubíquelo sobre tierra en Chiloé."
        raise InvalidRequestError(msg)
    now = utcnow()
    comuna = _comuna_label(context, place.comuna)
    try:
        ConfirmedPlace(place.name, comuna, lon, lat, "correccion", actor, now)
    except GazetteerError as err:
        raise InvalidRequestError("; ".join(err.problems)) from err
    row = GazetteerRow(
        kind="confirmado", origin="correccion", name=place.name, comuna=comuna, lat=lat,
        lon=lon, source=SOURCES["confirmado"].label, created_by=actor, created_at=now,
        note=f"antes en {place.lat:.5f}, {place.lon:.5f} ({place.source})"[:300],
    )  # fmt: skip
    session.add(row)
    session.flush()
    relocated = relocate_cases(session, context, names=_names_of([place]), refs=set(place.refs),
                               actor=actor, why=f"lugar {place.name} corregido")  # fmt: skip
    return PlaceChange(row, relocated, f"{place.name} corregido")


def retire_entry(
    session: Session,
    context: CaseContext,
    scope: Scope | None,
    ref: str,
    *,
    actor: str,
) -> PlaceChange:
    """Retire one entry of the gazetteer (a stored row, or another source's entry by its ref).

    The team's rows are marked retired; another source's entry gets a
    ``retiro`` row. Cases naming the place are geocoded again.

    Raises
    ------
    NotFoundError
        No entry with that ref.
    ForbiddenError
        Its comuna is outside `scope`.
    """
    gazetteer = current_gazetteer(session, context)
    entry = next((e for e in gazetteer.entries if e.ref == ref), None)
    if entry is None or ref in gazetteer.retired:
        msg = f"No existe la entrada {ref!r} o ya está retirada."
        raise NotFoundError(msg)
    _check_scope(scope, context, entry.comuna)
    place = next((p for p in gazetteer.places if ref in p.refs), None)
    now = utcnow()
    stored = _stored_row(session, ref)
    if stored is not None:
        stored.retired, stored.retired_by, stored.retired_at = True, actor, now
        row = stored
    else:
        row = GazetteerRow(
            kind="retiro", origin="retiro", name=entry.name[:200],
            comuna=_comuna_label(context, entry.comuna), lat=entry.lat, lon=entry.lon,
            source=SOURCES.get(entry.family, SOURCES["confirmado"]).label[:300], ref=ref,
            created_by=actor, created_at=now,
        )  # fmt: skip
        session.add(row)
    session.flush()
    places = [place] if place is not None else []
    relocated = relocate_cases(session, context, names=_names_of(places) or {compact(entry.key)},
                               refs={ref, *(place.refs if place else ())}, actor=actor,
                               why=f"entrada {ref} retirada")  # fmt: skip
    return PlaceChange(row, relocated, f"{ref} retirada")


def restore_entry(
    session: Session,
    context: CaseContext,
    scope: Scope | None,
    row_id: int,
    *,
    actor: str,
) -> PlaceChange:
    """Undo a retirement: a retired team row comes back, a ``retiro`` row is given up.

    Raises
    ------
    NotFoundError
        No such row, or nothing to undo.
    ForbiddenError
        Its comuna is outside `scope`.
    """
    row = session.get(GazetteerRow, row_id)
    active_retiro = row is not None and row.kind == "retiro" and not row.retired
    if row is None or not (active_retiro or (row.kind != "retiro" and row.retired)):
        msg = f"No hay nada que restaurar en la entrada {row_id}."
        raise NotFoundError(msg)
    _check_scope(scope, context, row.comuna)
    if active_retiro:
        row.retired, row.retired_by, row.retired_at = True, actor, utcnow()
        ref = row.ref
    else:
        row.retired, row.retired_by, row.retired_at = False, "", None
        ref = row_ref(row)
    session.flush()
    place = next((p for p in current_gazetteer(session, context).places if ref in p.refs), None)
    names = _names_of([place]) if place else {core_key(normalize_text(row.name))}
    relocated = relocate_cases(session, context, names=names, refs={ref}, actor=actor,
                               why=f"entrada {ref} restaurada")  # fmt: skip
    return PlaceChange(row, relocated, f"{ref} restaurada")


def _stored_row(session: Session, ref: str) -> GazetteerRow | None:
    kind, _, number = ref.partition(" ")
    if kind not in ("importado", "confirmado") or not number.isdigit():
        return None
    row = session.get(GazetteerRow, int(number))
    return row if row is not None and row.kind == kind else None


# --------------------------------------------------------------------------- files


def _bbox(context: CaseContext) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = context.territory.comunas.to_crs(4326).total_bounds
    return (min_lon - 0.05, min_lat - 0.05, max_lon + 0.05, max_lat + 0.05)


def _same(entry: Entry, row: GazetteerRow) -> bool:
    return (
        normalize_text(row.name) == entry.key
        and normalize_text(row.comuna) == entry.comuna
        and abs(row.lat - entry.lat) < 1e-6
        and abs(row.lon - entry.lon) < 1e-6
    )


def import_gazetteer(
    session: Session,
    context: CaseContext,
    data: bytes,
    filename: str,
    *,
    actor: str,
    scope: Scope | None = None,
    dry_run: bool = False,
) -> GazetteerImport:
    """Import a gazetteer file (name, comuna, lat, lon, source; CSV or XLSX): all rows or none.

    Rows already imported with the same name, comuna and point are not stored
    twice. Then every case naming an imported place is geocoded again.
    Nothing is written when `dry_run`.

    Raises
    ------
    layers.gazetteer.GazetteerError
        Every problem, row by row, in Spanish (see `read_gazetteer_file`),
        including rows of comunas outside `scope`; nothing is stored.
    """
    territory = context.territory
    entries = read_gazetteer_file(data, filename, comunas=context.comunas,
                                  areas=territory.comunas, bbox=_bbox(context))  # fmt: skip
    if scope is not None and not scope.all_comunas:
        labels = {_comuna_label(context, e.comuna) for e in entries}
        outside = sorted(c for c in labels if not scope.comuna_allowed(c))
        if outside:
            raise GazetteerError([
                f"El archivo trae lugares de comunas fuera de su ámbito ({', '.join(outside)}); "
                "quite esas filas o pida a un administrador que lo importe."
            ])  # fmt: skip
    imported = select(GazetteerRow).where(
        GazetteerRow.kind == "importado", GazetteerRow.retired.is_(False)
    )
    rows = list(session.scalars(imported))
    new = [e for e in entries if not any(_same(e, r) for r in rows)]
    stored_now, retired = stored_entries(list(session.scalars(select(GazetteerRow))))
    merged = Gazetteer.from_entries([*context.base_entries, *stored_now, *new], retired=retired)
    new_refs = {e.ref for e in new}
    conflicts = [
        f"{p.name} ({_comuna_label(context, p.comuna)}): {p.conflict}"
        for p in merged.places
        if p.conflict and new_refs & set(p.refs)
    ]
    result = GazetteerImport(filename, len(entries), 0, len(entries) - len(new), conflicts,
                             dry_run=dry_run)  # fmt: skip
    if dry_run or not new:
        return result
    now = utcnow()
    labels = {normalize_text(c): c for c in context.comunas}
    for entry in new:
        _, _, number = entry.ref.rpartition(" fila ")
        session.add(
            GazetteerRow(
                kind="importado", origin="archivo", name=entry.name[:200],
                comuna=labels.get(entry.comuna, entry.comuna), lat=entry.lat, lon=entry.lon,
                source=entry.note.removeprefix("fuente: ")[:300], filename=filename[:255],
                row=int(number) if number.isdigit() else None, created_by=actor, created_at=now,
            )
        )  # fmt: skip
    session.flush()
    keys = {compact(e.key) for e in new} | {core_key(e.key) for e in new}
    places = [p for p in current_gazetteer(session, context).places if keys & _names_of([p])]
    result.stored = len(new)
    why = f"nomenclátor {filename} importado"
    result.relocated = relocate_cases(
        session, context, names=_names_of(places) | keys, actor=actor, why=why
    )
    return result


def team_row_ref(row: GazetteerRow) -> str:
    """Ref of a stored row as the gazetteer knows it (the retired source's ref for a retiro)."""
    return row.ref if row.kind == "retiro" else row_ref(row)


# --------------------------------------------------------------------------- the page

# The example of a gazetteer file shown on the page and offered as a download: ``;`` and
# decimal commas as a spreadsheet in es-CL saves it, or ``,`` and points; names invented
# («sintético»), points inside Castro. A test imports it (tests/geo_app/places).
EXAMPLE_FILE = (
    "nombre;comuna;lat;lon;fuente\r\n"
    "Nueva Esperanza;Castro;-42,5200;-73,7000;Localidades INE 2017 (ejemplo sintético)\r\n"
    "Llicaldad Alto;Castro;-42,5100;-73,7300;Registro del equipo (ejemplo sintético)\r\n"
)

FILTERS = {
    "": "Todos los lugares",
    "conflictos": "Con fuentes en conflicto (> 2 km)",
    "equipo": "Con entradas del equipo (importadas o confirmadas)",
}
_FAMILY_LABELS = {key: source.label for key, source in SOURCES.items()}


def _has_team_entry(place: Place) -> bool:
    return any(r.split(" ")[0] in ("importado", "confirmado") for r in place.refs)


def _filtered_places(
    gazetteer: Gazetteer, text: str, comuna: str, only: str, home: tuple[str, ...] = ()
) -> list[Place]:
    """Places of a search; with no text and no comuna, those of the `home` comunas (if any)."""
    limit = 60 if text else 10_000
    places = gazetteer.search(text, comuna, limit=limit)
    if home and not text and not comuna:
        keys = {normalize_text(c) for c in home} | {""}
        places = [p for p in places if p.comuna in keys]
    if only == "conflictos":
        places = [p for p in places if p.conflict]
    elif only == "equipo":
        places = [p for p in places if _has_team_entry(p)]
    return places


def places_page(session: Session, context: CaseContext, scope: Scope, args: dict[str, str]) -> dict:
    """Return the variables of the places page.

    `args` are the page's query arguments: ``q`` (a name), ``comuna`` (none:
    the account's comunas when it has some),
    ``filtro`` (a key of `FILTERS`) and ``lugar`` (a `place_id` to show with
    its entries). Keys: ``places`` (at most 200 shown), ``n_places``,
    ``selected`` and its ``entries`` (with ``rows``, the stored rows by ref),
    ``cases_here`` (cases in scope located on it), ``team_rows`` (the newest
    100 stored rows of the account's comunas), ``pending`` (visit proposals
    waiting for review, `pending_rows`), ``comunas``, ``filters``,
    ``families``, ``attributions``.
    """
    gazetteer = current_gazetteer(session, context)
    text, comuna = args.get("q", "").strip(), args.get("comuna", "").strip()
    only = args.get("filtro", "") if args.get("filtro", "") in FILTERS else ""
    places = _filtered_places(gazetteer, text, comuna, only, scope.comunas)
    selected = None
    if args.get("lugar"):
        selected = find_place(gazetteer, args["lugar"])
    entries = gazetteer.entries_of(selected) if selected else []
    stored = {team_row_ref(r): r for r in session.scalars(select(GazetteerRow))}
    cases_here = 0
    if selected is not None:
        query = (
            select(func.count())
            .select_from(Case)
            .where(Case.geocode_match.startswith(selected.name), Case.in_latest_list)
        )
        cases_here = session.scalar(scope.cases(query)) or 0
    team = select(GazetteerRow).order_by(GazetteerRow.id.desc()).limit(100)
    if not scope.all_comunas:  # a confirmed pin is near a home: only the account's comunas
        team = team.where(GazetteerRow.comuna.in_(scope.comunas))
    team_rows = session.scalars(team).all()
    return {
        "pending": pending_rows(session, scope),
        "good_gps_m": GOOD_GPS_M,
        "places": places[:200],
        "n_places": len(places),
        "selected": selected,
        "selected_id": place_id(selected) if selected else "",
        "entries": entries,
        "rows": stored,
        "cases_here": cases_here,
        "team_rows": team_rows,
        "comunas": sorted(context.comunas),
        "comuna_label": lambda c: _comuna_label(context, c) if c else "cualquier comuna",
        "can_edit": (lambda c: scope.comuna_allowed(_comuna_label(context, c))),
        "chosen": {"q": text, "comuna": comuna, "filtro": only},
        "filters": FILTERS,
        "families": _FAMILY_LABELS,
        "sources": SOURCES,
        "attributions": [s for s in SOURCES.values() if s.attribution],
        "example_file": EXAMPLE_FILE.replace("\r\n", "\n"),
        "place_id": place_id,
    }


def places_geojson(
    session: Session, context: CaseContext, args: dict[str, str], scope: Scope | None = None
) -> dict:
    """Places of the page's search as GeoJSON points (WGS84), and the selected place's entries.

    Place properties: ``id`` (`place_id`), ``nombre``, ``comuna``, ``tipo``,
    ``fuentes`` (families that agree), ``conflicto`` (Spanish note or ""),
    ``equipo`` (an entry of the team), ``seleccionado``. Entry features
    (``entrada``: true) carry ``ref``, ``fuente`` and ``nota``. No personal data.
    """
    gazetteer = current_gazetteer(session, context)
    text, comuna = args.get("q", "").strip(), args.get("comuna", "").strip()
    only = args.get("filtro", "") if args.get("filtro", "") in FILTERS else ""
    chosen = args.get("lugar", "")
    features = []
    home = scope.comunas if scope is not None else ()
    for place in _filtered_places(gazetteer, text, comuna, only, home):
        team = _has_team_entry(place)
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point",
                         "coordinates": [round(place.lon, 6), round(place.lat, 6)]},
            "properties": {
                "id": place_id(place), "nombre": place.name, "comuna": place.comuna,
                "tipo": place.kind, "fuentes": list(place.families),
                "conflicto": place.conflict, "equipo": team,
                "confirmado": place.confirmed, "seleccionado": place_id(place) == chosen,
            },
        })  # fmt: skip
    if chosen:
        place = find_place(gazetteer, chosen)
        for entry in gazetteer.entries_of(place):
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point",
                             "coordinates": [round(entry.lon, 6), round(entry.lat, 6)]},
                "properties": {"entrada": True, "ref": entry.ref, "fuente": entry.family,
                               "nota": entry.note, "nombre": entry.name,
                               "fuera": entry.ref in place.outliers},
            })  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def import_message(result: GazetteerImport) -> str:
    """Spanish summary of a gazetteer import for the page and the command line."""
    repeated = "ya estaba" if result.repeated == 1 else "ya estaban"
    text = (f"{result.filename}: {count_label(result.n_rows, 'lugar válido')}, "
            f"{number_es(result.repeated)} {repeated}.")  # fmt: skip
    if result.dry_run:
        text += " Revisión: no se guardó nada."
    else:
        saved = "Guardado" if result.stored == 1 else "Guardados"
        moved = count_label(len(result.relocated), "caso reubicado")
        text += f" {saved} {number_es(result.stored)}; {moved} (quedó en su historial)."
    if result.conflicts:
        text += f" Conflictos con otras fuentes: {'; '.join(result.conflicts[:10])}"
        text += "…" if len(result.conflicts) > 10 else "."
    return text
