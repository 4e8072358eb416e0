"""Map page and the GeoJSON layers it draws (thin views over `layers.territory`)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import render_template

from layers.territory import HEALTH_KIND_LABELS
from layers.territory import Territory

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


@cache
def _layer_geojson(territory: Territory, layer: str) -> str:
    """Serialise one layer once per loaded territory."""
    attribute, columns = LAYERS[layer]
    gdf = getattr(territory, attribute)
    gdf = gdf[gdf.geometry.notna()][[*columns, "geometry"]]
    return gdf.to_json(na="null", drop_id=True, to_wgs84=True, ensure_ascii=False)


@bp.get("/")
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
    return render_template(
        "map.html",
        counts=counts,
        health_labels=HEALTH_KIND_LABELS,
        map_config={
            "tileUrl": current_app.config["TILE_URL"],
            "tileAttribution": current_app.config["TILE_ATTRIBUTION"],
            "healthLabels": HEALTH_KIND_LABELS,
        },
    )


@bp.get("/api/capas/<layer>.geojson")
def layer_geojson(layer: str) -> Response:
    """Return one map layer as GeoJSON (WGS84)."""
    if layer not in LAYERS:
        abort(404, description=f"Capa desconocida {layer!r}. Capas: {', '.join(LAYERS)}.")
    body = _layer_geojson(_territory(), layer)
    return Response(body, mimetype="application/geo+json")
