"""Map page and the GeoJSON layers it draws (thin views over `layers.territory`)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from geo_app import db_session
from geo_app.aggregates import CATEGORY_ORDER
from geo_app.aggregates import SMALL_COUNT
from geo_app.aggregates import by_comuna
from geo_app.aggregates import count_cases
from geo_app.auth_views import current_scope
from geo_app.security import ALL_ROLES
from geo_app.security import allow
from layers.classify import CATEGORY_LABELS
from layers.territory import HEALTH_KIND_LABELS
from layers.territory import Territory
from routing import RoutingInputError

__all__ = ["LAYERS", "bp"]

bp = Blueprint("map", __name__)

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


def _territory() -> Territory:
    return current_app.extensions["revincula.territory"]


def _travel_model():
    from geo_app.travel import app_model

    return app_model(current_app)


@cache
def _layer_geojson(territory: Territory, layer: str) -> str:
    """Serialise one layer once per loaded territory."""
    attribute, columns = LAYERS[layer]
    gdf = getattr(territory, attribute)
    gdf = gdf[gdf.geometry.notna()][[*columns, "geometry"]]
    return gdf.to_json(na="null", drop_id=True, to_wgs84=True, ensure_ascii=False)


def _case_counts() -> dict[str, int]:
    """Cases in the account's scope (a count, shown to every role)."""
    scope = current_scope()
    with db_session() as db:
        listed = count_cases(db, scope, listed=True)
        synthetic = count_cases(db, scope, synthetic=True)
    return {"casos": listed, "casos_sinteticos": synthetic}


@bp.get("/")
@allow(*ALL_ROLES)
def index() -> str:
    """Render the territory map."""
    territory = _territory()
    counts = {
        "escuelas": int(territory.schools["has_location"].sum()),
        "escuelas_sin_ubicacion": int((~territory.schools["has_location"]).sum()),
        "salud": len(territory.health),
        "barcos": len(territory.boat_lines),
        "islas": len(territory.islands),
    }
    counts.update(_case_counts())
    return render_template(
        "map.html",
        counts=counts,
        health_labels=HEALTH_KIND_LABELS,
        map_config={
            "tileUrl": current_app.config["TILE_URL"],
            "tileAttribution": current_app.config["TILE_ATTRIBUTION"],
            "healthLabels": HEALTH_KIND_LABELS,
            "caseLabels": CATEGORY_LABELS,
            "caseMode": "puntos" if current_scope().sees_people else "agregado",
        },
    )


@bp.get("/api/capas/<layer>.geojson")
@allow(*ALL_ROLES)
def layer_geojson(layer: str) -> Response:
    """Return one map layer as GeoJSON (WGS84)."""
    if layer not in LAYERS:
        abort(404, description=f"Capa desconocida {layer!r}. Capas: {', '.join(LAYERS)}.")
    body = _layer_geojson(_territory(), layer)
    return Response(body, mimetype="application/geo+json")


def _bad_request(message: str):
    return jsonify({"error": message}), 400


@bp.get("/api/viaje")
@allow(*ALL_ROLES)
def journey():
    """Return one journey (``desde``, ``hasta``: place or 'lat,lon'; ``salida``: ISO time)."""
    model = _travel_model()
    origin, destination = request.args.get("desde", ""), request.args.get("hasta", "")
    if not origin.strip() or not destination.strip():
        return _bad_request("Indique origen (desde) y destino (hasta).")
    try:
        depart = dt.datetime.fromisoformat(request.args.get("salida", "").strip())
    except ValueError:
        return _bad_request("Fecha y hora de salida no válidas; use AAAA-MM-DD HH:MM.")
    try:
        a = model.find_place(origin)
        b = model.find_place(destination)
    except RoutingInputError as err:
        return _bad_request(str(err))
    on_foot = request.args.get("a_pie") in {"1", "true", "si", "sí"}
    result = model.journey(a[:2], b[:2], depart, on_foot=on_foot, labels=(a[2], b[2]))
    body = result.to_dict()
    body["descripcion"] = result.describe()
    body["fuente_red"] = model.source
    return jsonify(body)


@cache
def _comuna_points(territory: Territory) -> dict[str, tuple[float, float]]:
    """Return a point inside each comuna (public geometry) where its counts are drawn."""
    gdf = territory.comunas.to_crs(4326)
    return {
        name: (round(p.x, 5), round(p.y, 5))
        for name, p in zip(gdf["comuna_name"], gdf.representative_point(), strict=True)
    }


@bp.get("/resumen")
@allow(*ALL_ROLES)
def summary() -> str:
    """Cases by comuna and attendance category (aggregates only; small counts hidden for mesas)."""
    scope = current_scope()
    with db_session() as db:
        rows = by_comuna(db, scope, suppress=scope.role == "mesa")
    return render_template(
        "summary.html",
        rows=rows,
        categories=CATEGORY_ORDER,
        small=SMALL_COUNT,
        suppressed=scope.role == "mesa",
    )


@bp.get("/api/agregados/comunas.geojson")
@allow(*ALL_ROLES)
def summary_geojson() -> Response:
    """Case counts per comuna as points inside each comuna (never a case's location)."""
    scope = current_scope()
    points = _comuna_points(_territory())
    with db_session() as db:
        rows = by_comuna(db, scope, suppress=scope.role == "mesa")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(points[row["comuna"]])},
            "properties": row,
        }
        for row in rows
        if row["comuna"] in points
    ]
    return jsonify(type="FeatureCollection", features=features, umbral_reserva=SMALL_COUNT)
