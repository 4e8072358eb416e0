"""The team's services: import a list (all or nothing), add, edit and retire by hand.

Stored rows (`geo_app.store.models.CoverageService`) join the bundled registry
(`layers.services.build_registry`): an imported or hand-added service is one
more row; retiring a bundled service stores a row with its ``service_id`` and
``retired``. Validation is `layers.services.read_services` for imports and for
hand edits alike (a hand edit is read as a one-row list), so the rules and the
Spanish messages are the same.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.errors import ConflictError
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.store.models import CoverageService
from layers.services import SERVICE_TYPES
from layers.services import ServiceProblem
from layers.services import build_registry
from layers.services import read_services
from layers.territory import Territory

__all__ = [
    "ServiceForm",
    "ServicesFileError",
    "add_service",
    "base_registry",
    "edit_service",
    "import_services",
    "own_service",
    "registry",
    "retire_service",
    "stored_services",
]

_BASE: dict[int, gpd.GeoDataFrame] = {}
FORM_COLUMNS = ("nombre", "tipo", "lat", "lon", "direccion", "comuna", "dias", "abre", "cierra")


class ServicesFileError(InvalidRequestError):
    """A services list or a hand edit with problems: nothing was saved."""

    def __init__(self, problems: list[ServiceProblem], *, single: bool = False) -> None:
        self.problems = problems
        lines = [
            (f"«{p.column}»: {p.message}" if p.column else p.message) if single else p.describe()
            for p in problems
        ]
        head = "No se guardó el servicio:" if single else "No se importó nada; corrija y reintente:"
        super().__init__(head + "\n- " + "\n- ".join(lines))


@dataclass(frozen=True)
class ServiceForm:
    """A hand-entered service, as typed (``tipo`` a key of `SERVICE_TYPES` or a usual name)."""

    nombre: str = ""
    tipo: str = ""
    lat: str = ""
    lon: str = ""
    direccion: str = ""
    comuna: str = ""
    dias: str = ""
    abre: str = ""
    cierra: str = ""


def base_registry(territory: Territory) -> gpd.GeoDataFrame:
    """Return the bundled registry (`layers.services.build_registry`), built once per territory."""
    return _base(territory)


def _base(territory: Territory) -> gpd.GeoDataFrame:
    key = id(territory)
    if key not in _BASE:
        _BASE[key] = build_registry(territory)
    return _BASE[key]


def stored_services(session: Session) -> list[CoverageService]:
    """Every stored service (imported, by hand, or a bundled one retired), newest first."""
    return list(session.scalars(select(CoverageService).order_by(CoverageService.id.desc())))


def registry(session: Session, territory: Territory) -> gpd.GeoDataFrame:
    """Bundled registry plus the team's services, without the retired ones.

    Returns the registry's columns (`layers.services.build_registry`) plus
    ``origin`` (``fuente``, ``importado``, ``manual``); WGS84 points.
    """
    base = _base(territory).copy()
    base["origin"] = "fuente"
    rows = stored_services(session)
    retired = {r.service_id for r in rows if r.retired}
    own = [r for r in rows if not r.retired and r.origin != "fuente"]
    if own:
        extra = gpd.GeoDataFrame(
            {
                "service_id": [r.service_id for r in own],
                "service_type": [r.service_type for r in own],
                "name": [r.name for r in own],
                "comuna_code": "",
                "comuna_name": [r.comuna_name for r in own],
                "location": [r.location for r in own],
                "location_note": [r.location_note for r in own],
                "can_serve": True,
                "reason": "",
                "usable": [r.lon is not None for r in own],
                "days": [r.days for r in own],
                "opens": [r.opens for r in own],
                "closes": [r.closes for r in own],
                "hours_assumed": [r.hours_assumed for r in own],
                "enrolment": 0,
                "source": [r.source for r in own],
                "origin": [r.origin for r in own],
            },
            geometry=gpd.points_from_xy([r.lon for r in own], [r.lat for r in own]),
            crs=4326,
        )
        base = pd.concat([base, extra], ignore_index=True)
    base = base[~base["service_id"].isin(retired)]
    return gpd.GeoDataFrame(base, geometry="geometry", crs=4326).reset_index(drop=True)


def _row(service: pd.Series, *, origin: str, source: str, address: str, actor: str) -> dict:
    point = service.geometry
    return {
        "service_type": service["service_type"],
        "name": service["name"],
        "comuna_name": str(service.get("comuna_name") or ""),
        "address": address,
        "lon": float(point.x),
        "lat": float(point.y),
        "location": service["location"],
        "location_note": str(service["location_note"])[:300],
        "days": service["days"],
        "opens": service["opens"],
        "closes": service["closes"],
        "hours_assumed": bool(service["hours_assumed"]),
        "origin": origin,
        "source": source[:300],
        "created_by": actor,
    }


def import_services(
    session: Session, territory: Territory, data: bytes, filename: str, *, actor: str
) -> list[CoverageService]:
    """Validate and store a services list (CSV or XLSX), all or nothing.

    Raises
    ------
    ServicesFileError
        Listing every bad row in Spanish; nothing is stored.
    layers.intake.IntakeError
        When the file is not a readable table.
    """
    result = read_services(data, filename, territory, source=filename)
    if not result.ok:
        raise ServicesFileError(result.problems)
    batch = secrets.token_hex(3)
    stored = []
    addresses = _addresses(data, filename)
    for n, (_, service) in enumerate(result.services.iterrows(), start=1):
        row = CoverageService(
            service_id=f"importado-{batch}-{n}",
            **_row(
                service,
                origin="importado",
                source=f"importado de {filename} por {actor}: {service['source']}",
                address=addresses.get(n, ""),
                actor=actor,
            ),
        )
        session.add(row)
        stored.append(row)
    session.flush()
    return stored


def _addresses(data: bytes, filename: str) -> dict[int, str]:
    """Address column of each data row (1-based), when the file has one (for display)."""
    from layers.intake import normalize_text
    from layers.intake import read_table

    table = read_table(data, filename)
    heads = [normalize_text(h) for h in table.headers]
    if "direccion" not in heads:
        return {}
    col = heads.index("direccion")
    return {n: (r[col] if col < len(r) else "") for n, r in enumerate(table.rows, start=1)}


def _read_form(territory: Territory, form: ServiceForm):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FORM_COLUMNS)
    writer.writerow([getattr(form, c).strip() for c in FORM_COLUMNS])
    if not (form.lat.strip() or form.lon.strip() or form.direccion.strip()):
        problem = ServiceProblem(0, "", "", "escriba «lat» y «lon» o una dirección.")
        raise ServicesFileError([problem], single=True)
    result = read_services(buffer.getvalue().encode(), "formulario.csv", territory)
    if not result.ok:
        raise ServicesFileError(result.problems, single=True)
    return result.services.iloc[0]


def add_service(
    session: Session, territory: Territory, form: ServiceForm, *, actor: str
) -> CoverageService:
    """Validate and store one service entered by hand.

    Raises
    ------
    ServicesFileError
        With every problem of the form, in Spanish; nothing is stored.
    """
    service = _read_form(territory, form)
    row = CoverageService(
        service_id=f"manual-{secrets.token_hex(4)}",
        **_row(
            service,
            origin="manual",
            source=f"agregado a mano por {actor}",
            address=form.direccion.strip(),
            actor=actor,
        ),
    )
    session.add(row)
    session.flush()
    return row


def own_service(session: Session, service_id: str) -> CoverageService:
    """Return an imported or hand-added service (the only ones edited in place).

    Raises
    ------
    NotFoundError
        No such stored service.
    InvalidRequestError
        A service of the official sources: retire it and add a new one instead.
    """
    row = _own(session, service_id)
    if row.origin == "fuente":
        msg = "Un servicio de las fuentes oficiales no se edita; retírelo y agregue uno nuevo."
        raise InvalidRequestError(msg)
    return row


def _own(session: Session, service_id: str) -> CoverageService:
    row = session.scalar(select(CoverageService).where(CoverageService.service_id == service_id))
    if row is None:
        msg = f"No existe el servicio {service_id!r} entre los importados o agregados a mano."
        raise NotFoundError(msg)
    return row


def edit_service(
    session: Session,
    territory: Territory,
    service_id: str,
    form: ServiceForm,
    *,
    expected_version: int,
    actor: str,
) -> CoverageService:
    """Change an imported or hand-added service (never silently over another's edit).

    Raises
    ------
    ServicesFileError
        With every problem of the form.
    ConflictError
        When someone else saved the service after `expected_version` was read.
    """
    row = _own(session, service_id)
    if row.origin == "fuente":
        msg = "Un servicio de las fuentes oficiales no se edita; retírelo y agregue uno nuevo."
        raise InvalidRequestError(msg)
    if row.version != expected_version:
        msg = (
            f"Otra persona guardó «{row.name}» mientras usted lo editaba; "
            "recargue la página y vuelva a aplicar sus cambios."
        )
        raise ConflictError(msg)
    service = _read_form(territory, form)
    values = _row(
        service, origin=row.origin, source=row.source, address=form.direccion.strip(), actor=actor
    )
    values.pop("created_by")
    values["source"] = f"{row.source}; editado por {actor}"[:300]
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    return row


def retire_service(
    session: Session,
    territory: Territory,
    service_id: str,
    *,
    reason: str,
    expected_version: int,
    actor: str,
) -> CoverageService:
    """Retire a service (bundled or the team's): it is never "the nearest" again.

    `expected_version` is the stored row's ``version`` when the page was read,
    or 0 for a bundled service that had no stored row then (never retired nor
    edited): retiring never silently overrides a change saved in between.

    Raises
    ------
    InvalidRequestError
        Without a reason.
    NotFoundError
        For an unknown service.
    ConflictError
        When someone else changed or retired the service after `expected_version`
        was read.
    """
    reason = reason.strip()
    if not reason:
        msg = "Escriba por qué se retira el servicio (por ejemplo «cerrado desde marzo»)."
        raise InvalidRequestError(msg)
    row = session.scalar(select(CoverageService).where(CoverageService.service_id == service_id))
    if row is not None and (row.version != expected_version or row.retired):
        who = "retiró" if row.retired else "cambió"
        msg = (
            f"Otra persona {who} «{row.name}» después de que usted abrió la página; "
            "no se retiró: recargue la página, revise el servicio y vuelva a retirarlo si "
            "corresponde."
        )
        raise ConflictError(msg)
    if row is None:
        base = _base(territory)
        found = base[base["service_id"] == service_id]
        if found.empty:
            msg = f"No existe el servicio {service_id!r}."
            raise NotFoundError(msg)
        if expected_version != 0:
            msg = (
                f"El servicio {service_id!r} cambió después de que usted abrió la página; "
                "no se retiró: recargue la página y vuelva a retirarlo si corresponde."
            )
            raise ConflictError(msg)
        first = found.iloc[0]
        row = CoverageService(
            service_id=service_id,
            service_type=str(first["service_type"]),
            name=str(first["name"]),
            comuna_name=str(first.get("comuna_name") or ""),
            origin="fuente",
            source=str(first["source"])[:300],
            created_by=actor,
        )
        session.add(row)
    row.retired = True
    row.retired_reason = f"{reason} (retirado por {actor})"[:300]
    session.flush()
    return row


def type_options() -> list[tuple[str, str]]:
    """(key, Spanish label) of every service type, in the registry's order."""
    return [(k, label) for k, (label, _) in SERVICE_TYPES.items()]
