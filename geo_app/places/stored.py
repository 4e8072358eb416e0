"""The team's gazetteer entries in the store, merged with the bundled sources.

Every case import, pin and correction geocodes against `current_geocoder`:
the bundled entries of `CaseContext.base_entries` plus the rows of
``gazetteer_entries`` (imported files, confirmations, retired refs). The merge
takes a few tens of milliseconds; the result is cached on the context until a
row changes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.cases.context import CaseContext
from geo_app.store.models import GazetteerRow
from layers.gazetteer import ConfirmedPlace
from layers.gazetteer import Entry
from layers.gazetteer import Gazetteer
from layers.geocode import Geocoder
from layers.intake import normalize_text

__all__ = [
    "confirmed_place",
    "current_gazetteer",
    "current_geocoder",
    "row_ref",
    "stored_entries",
]


def row_ref(row: GazetteerRow) -> str:
    """Gazetteer ref of a stored row (``importado 3``, ``confirmado 12``)."""
    return f"{row.kind} {row.id}"


def _aware(when: dt.datetime | None) -> dt.datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    when = when or dt.datetime.now(dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def confirmed_place(row: GazetteerRow) -> ConfirmedPlace:
    """Return the `ConfirmedPlace` of a stored ``confirmado`` row."""
    return ConfirmedPlace(
        row.name, row.comuna, row.lon, row.lat, row.origin, row.created_by or "equipo",
        _aware(row.created_at), address_key=row.address_key, accuracy_m=row.accuracy_m,
        place_id=row.id, retired=row.retired,
    )  # fmt: skip


def stored_entries(rows: list[GazetteerRow]) -> tuple[list[Entry], frozenset[str]]:
    """Gazetteer entries of the stored rows (retired ones left out) and the refs retired."""
    entries: list[Entry] = []
    retired: set[str] = set()
    for row in rows:
        if row.kind == "retiro":
            if not row.retired:  # a retired «retiro» is an entry given back
                retired.add(row.ref)
        elif row.retired:
            continue
        elif row.kind == "importado":
            where = f"{row.filename} fila {row.row}" if row.filename else "importado"
            entries.append(
                Entry(row.name, row.lon, row.lat, "localidad", normalize_text(row.comuna),
                      "importado", row_ref(row), note=f"fuente: {row.source} ({where})",
                      when=_aware(row.created_at))
            )  # fmt: skip
        elif row.kind == "confirmado":
            entries.append(confirmed_place(row).entry())
    return entries, frozenset(retired)


def _rows(session: Session) -> list[GazetteerRow]:
    return list(session.scalars(select(GazetteerRow).order_by(GazetteerRow.id)))


def current_gazetteer(session: Session, context: CaseContext) -> Gazetteer:
    """Return the merged gazetteer: bundled sources, the app's OSM places and the stored rows."""
    return current_geocoder(session, context).gazetteer


def current_geocoder(session: Session, context: CaseContext) -> Geocoder:
    """Return the geocoder on the merged gazetteer (cached until a stored row changes)."""
    rows = _rows(session)
    # the rows' content, not only their ids: one context may serve several databases (tests)
    key = tuple((r.id, r.version, r.kind, r.name, r.lat, r.lon, r.retired, r.ref) for r in rows)
    cached = context.cache.get("stored")
    if cached is not None and cached[0] == key:
        return cached[1]
    if not rows:
        geocoder = context.geocoder
    else:
        entries, retired = stored_entries(rows)
        gazetteer = Gazetteer.from_entries([*context.base_entries, *entries], retired=retired)
        geocoder = context.geocoder_with(gazetteer)
    context.cache["stored"] = (key, geocoder)
    return geocoder
