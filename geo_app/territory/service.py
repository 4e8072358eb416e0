"""What the map pages ask for: layers as GeoJSON, counts, journeys, case counts by comuna.

Plain arguments, no Flask (the views pass the territory, the travel model and
the account's scope).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from functools import cache

from sqlalchemy.orm import Session

from geo_app.cases.counts import by_comuna
from geo_app.cases.counts import count_cases
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from layers.classify import CATEGORY_LABELS
from layers.territory import HEALTH_KIND_LABELS
from layers.territory import Territory
from routing import RoutingInputError
from routing.model import TravelModel

__all__ = [
    "LAYERS",
    "comuna_count_features",
    "journey",
    "layer_geojson",
    "map_config",
    "map_counts",
]

# Layer key in URLs -> (Territory attribute, columns sent to the browser).
LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "comunas": ("comunas", ("comuna_code", "comuna_name")),
    "islas": ("islands", ("island_id", "name", "is_main", "area_km2", "comunas", "name_source")),
    "escuelas": (
        "schools",
        (
            "rbd",
            "name",
            "comuna_name",
            "dependency",
            "is_slep",
            "is_rural",
            "enrolment",
            "island_name",
        ),
    ),
    "salud": ("health", ("health_id", "name", "kind", "kind_label", "system", "comuna_name")),
    "adultos": ("adult_education", ("rbd", "name", "comuna_code", "criterion")),
    "barcos": (
        "boat_lines",
        (
            "line_id",
            "name",
            "mode",
            "passengers_only",
            "terminals",
            "schedule",
            "assumed",
            "assumed_fields",
        ),
    ),
}


@cache
def _layer_geojson(territory: Territory, layer: str) -> str:
    """Serialise one layer once per loaded territory."""
    attribute, columns = LAYERS[layer]
    gdf = getattr(territory, attribute)
    gdf = gdf[gdf.geometry.notna()][[*columns, "geometry"]]
    return gdf.to_json(na="null", drop_id=True, to_wgs84=True, ensure_ascii=False)


def layer_etag(territory: Territory, layer: str) -> str:
    """Return a version tag of one layer's GeoJSON (a hash of the text; same data, same tag)."""
    return _layer_etag(territory, layer)


@cache
def _layer_etag(territory: Territory, layer: str) -> str:
    return hashlib.sha256(layer_geojson(territory, layer).encode("utf-8")).hexdigest()[:32]


def layer_geojson(territory: Territory, layer: str) -> str:
    """Return one map layer as GeoJSON text (WGS84).

    Raises
    ------
    NotFoundError
        `layer` is not a key of `LAYERS`.
    """
    if layer not in LAYERS:
        msg = f"Capa desconocida {layer!r}. Capas: {', '.join(LAYERS)}."
        raise NotFoundError(msg)
    return _layer_geojson(territory, layer)


def map_counts(session: Session, territory: Territory, scope: Scope) -> dict[str, int]:
    """Return the counts shown beside the map's layers: features and the cases in scope."""
    return {
        "escuelas": int(territory.schools["has_location"].sum()),
        "escuelas_sin_ubicacion": int((~territory.schools["has_location"]).sum()),
        "salud": len(territory.health),
        "barcos": len(territory.boat_lines),
        "islas": len(territory.islands),
        "casos": count_cases(session, scope, listed=True),
        "casos_sinteticos": count_cases(session, scope, synthetic=True),
    }


def map_config(settings: Mapping, scope: Scope) -> dict:
    """Return the settings the map's script reads: basemap, labels, how to draw cases."""
    return {
        "tileUrl": settings["TILE_URL"],
        "tileAttribution": settings["TILE_ATTRIBUTION"],
        "healthLabels": HEALTH_KIND_LABELS,
        "caseLabels": CATEGORY_LABELS,
        "caseMode": "puntos" if scope.sees_people else "agregado",
    }


def journey(model: TravelModel, origin: str, destination: str, depart: str, *, on_foot: bool):
    """Return one journey as JSON-ready data, with its description and the network's source.

    `origin` and `destination` are place names or ``lat,lon``; `depart` is an
    ISO date-time.

    Raises
    ------
    InvalidRequestError
        A place or the time is missing or unknown (message in Spanish).
    """
    if not origin.strip() or not destination.strip():
        msg = "Indique origen (desde) y destino (hasta)."
        raise InvalidRequestError(msg)
    try:
        when = dt.datetime.fromisoformat(depart.strip())
    except ValueError as err:
        msg = "Fecha y hora de salida no válidas; use AAAA-MM-DD HH:MM."
        raise InvalidRequestError(msg) from err
    try:
        a = model.find_place(origin)
        b = model.find_place(destination)
    except RoutingInputError as err:
        raise InvalidRequestError(str(err)) from err
    result = model.journey(a[:2], b[:2], when, on_foot=on_foot, labels=(a[2], b[2]))
    body = result.to_dict()
    body["descripcion"] = result.describe()
    body["fuente_red"] = model.source
    return body


@cache
def _comuna_points(territory: Territory) -> dict[str, tuple[float, float]]:
    """Return a point inside each comuna (public geometry) where its counts are drawn."""
    gdf = territory.comunas.to_crs(4326)
    return {
        name: (round(p.x, 5), round(p.y, 5))
        for name, p in zip(gdf["comuna_name"], gdf.representative_point(), strict=True)
    }


def comuna_count_features(session: Session, territory: Territory, scope: Scope) -> list[dict]:
    """Case counts per comuna as GeoJSON points inside each comuna (never a case's location).

    Small counts are hidden for the mesa role (see `geo_app.cases.counts`).
    """
    points = _comuna_points(territory)
    rows = by_comuna(session, scope, suppress=scope.role == "mesa")
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(points[row["comuna"]])},
            "properties": row,
        }
        for row in rows
        if row["comuna"] in points
    ]
