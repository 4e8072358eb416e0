"""What the map pages ask for: layers as GeoJSON, counts, journeys, case counts by comuna.

Plain arguments, no Flask (the views pass the territory, the travel model and
the account's scope).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from functools import cache

import numpy as np
from shapely.geometry import Point
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
    "mode_isochrone",
    "mode_journey",
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
        "casos_ubicados": count_cases(session, scope, listed=True, located=True),
        "casos_sinteticos": count_cases(session, scope, synthetic=True),
    }


def next_working_day(today: dt.date) -> dt.date:
    """Return the first Monday–Friday after `today` (the journey form's default departure day).

    Public holidays are not known to the app and are not skipped.
    """
    day = today + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def map_config(settings: Mapping, scope: Scope, territory: Territory | None = None) -> dict:
    """Return the settings the map's script reads: basemap, labels, how to draw cases.

    With `territory`, also ``comunaLabels`` (name and point of each comuna) and
    ``bounds`` (``[[south, west], [north, east]]`` of the comunas, WGS84), the first view:
    the map asks its layers for it at once, before the comunas' polygons arrive.
    """
    bounds = None
    if territory is not None:
        west, south, east, north = (round(float(v), 5) for v in territory.comunas.total_bounds)
        bounds = [[south, west], [north, east]]
    return {
        "comunaLabels": comuna_labels(territory) if territory is not None else [],
        "bounds": bounds,
        "tileUrl": settings["TILE_URL"],
        "tileAttribution": settings["TILE_ATTRIBUTION"],
        "healthLabels": HEALTH_KIND_LABELS,
        "caseLabels": CATEGORY_LABELS,
        "caseMode": "puntos" if scope.sees_people else "agregado",
    }


def _departure(depart: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(depart.strip())
    except ValueError as err:
        msg = "Fecha y hora de salida no válidas; use AAAA-MM-DD HH:MM."
        raise InvalidRequestError(msg) from err


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
    when = _departure(depart)
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


def mode_journey(pick, mode: str, origin: str, destination: str, depart: str) -> dict:
    """Return `journey` in a travel mode; ``modo`` and ``modo_etiqueta`` are added.

    `pick(mode)` returns ``(model, on_foot)`` (`geo_app.travel.mode_model`).

    Raises
    ------
    InvalidRequestError
        Unknown mode, «transporte público» with no timetable stored (the
        reason says so), or what `journey` refuses.
    """
    from routing.transit import MODES

    model, on_foot = _pick(pick, mode)
    body = journey(model, origin, destination, depart, on_foot=on_foot)
    body["modo"], body["modo_etiqueta"] = mode, MODES[mode]
    return body


def _pick(pick, mode: str):
    try:
        return pick(mode)
    except RoutingInputError as err:
        raise InvalidRequestError(str(err)) from err


# Longest isochrone the map draws (minutes); longer ones cover the territory and take seconds.
MAX_ISOCHRONE_MIN = 240


def mode_isochrone(pick, mode: str, origin: str, minutes: str, depart: str) -> dict:
    """Return the area reachable from `origin` within `minutes` as a GeoJSON Feature (WGS84).

    Coordinates are rounded to 5 decimals (about 1 m).

    `pick(mode)` returns ``(model, on_foot)`` (`geo_app.travel.mode_model`); in
    «transporte público» the area grows along the buses, colectivos and boats
    taken (`routing.transit.TransitModel.isochrone`). Properties: ``minutos``,
    ``salida``, ``desde``, ``modo``, ``modo_etiqueta``, ``barcos`` and ``lineas``
    used, ``red_aproximada``, ``fuente_red`` and ``aviso`` (no bus that day).

    Raises
    ------
    InvalidRequestError
        Unknown mode, «transporte público» with no timetable stored (the reason
        says so), an unknown place, a bad time, or minutes not in 1..240.
    """
    import shapely
    from shapely.geometry import mapping

    from routing.transit import MODES

    model, on_foot = _pick(pick, mode)
    try:
        budget = float(minutes)
    except ValueError:
        budget = -1.0
    if not 1 <= budget <= MAX_ISOCHRONE_MIN:
        msg = f"Los minutos deben ser un número entre 1 y {MAX_ISOCHRONE_MIN} (ej. 60)."
        raise InvalidRequestError(msg)
    when = _departure(depart)
    try:
        lon, lat, name = model.find_place(origin)
    except RoutingInputError as err:
        raise InvalidRequestError(str(err)) from err
    area = model.isochrone((lon, lat), budget, when, on_foot=on_foot)
    outline = shapely.transform(area.geometry, lambda xy: np.round(xy, 5))  # ~1 m
    note = getattr(model, "service_note", None)
    return {
        "type": "Feature",
        "geometry": mapping(outline),
        "properties": {
            "minutos": budget,
            "salida": when.isoformat(timespec="minutes"),
            "desde": name,
            "modo": mode,
            "modo_etiqueta": MODES[mode],
            "barcos": list(area.boats),
            "lineas": list(area.lines),
            "red_aproximada": bool(area.approximate),
            "fuente_red": model.source,
            "aviso": note(when.date()) if note and mode == "transporte_publico" else "",
        },
    }


@cache
def _comuna_points(territory: Territory) -> dict[str, tuple[float, float]]:
    """Return (lon, lat) inside each comuna's main populated part, where its counts are drawn.

    The main part is the polygon part (island) with the most school enrolment (Mineduc
    directory 2025, our proxy for where people live; the largest part when none has a
    school); the point is the median of that part's schools when it falls inside the part,
    else a representative point of the part. Quinchao's lands on Isla Quinchao, near Achao,
    not on a small far island. WGS84, 5 decimals.
    """
    comunas = territory.comunas.to_crs(4326)
    schools = territory.schools[territory.schools["has_location"]].to_crs(4326)
    out = {}
    for name, geometry in zip(comunas["comuna_name"], comunas.geometry, strict=True):
        parts = list(getattr(geometry, "geoms", [geometry]))
        mine = schools[schools["comuna_name"] == name]
        best, best_key, best_points = parts[0], (-1.0, 0.0), []
        for part in parts:
            inside = mine[mine.within(part)]
            key = (float(inside["enrolment"].fillna(0).sum()), part.area)
            if key > best_key:
                best, best_key, best_points = part, key, list(inside.geometry)
        point = best.representative_point()
        if best_points:
            median = Point(
                float(np.median([q.x for q in best_points])),
                float(np.median([q.y for q in best_points])),
            )
            if best.contains(median):
                point = median
        out[name] = (round(point.x, 5), round(point.y, 5))
    return out


def comuna_labels(territory: Territory) -> list[dict]:
    """Comuna names and where the map writes them (see `_comuna_points`)."""
    return [
        {"nombre": name, "lon": lon, "lat": lat}
        for name, (lon, lat) in _comuna_points(territory).items()
    ]


def comuna_count_features(
    session: Session, territory: Territory, scope: Scope, k: int = 10
) -> list[dict]:
    """Case counts per comuna as GeoJSON points inside each comuna (never a case's location).

    Small counts are hidden for the mesa role (see `geo_app.cases.counts`).
    """
    points = _comuna_points(territory)
    rows = by_comuna(session, scope, suppress=scope.role == "mesa", k=k)
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(points[row["comuna"]])},
            "properties": row,
        }
        for row in rows
        if row["comuna"] in points
    ]
