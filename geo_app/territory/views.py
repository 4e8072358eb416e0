"""Map page, its GeoJSON layers, journeys and the counts by comuna (blueprint "territory")."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from geo_app.cases.counts import CATEGORY_ORDER
from geo_app.cases.counts import by_comuna
from geo_app.security import ALL_ROLES
from geo_app.security import allow
from geo_app.territory import service
from geo_app.travel import mode_model
from geo_app.travel import transit_or_none
from geo_app.web import current_scope
from geo_app.web import db_session
from geo_app.web import revalidated
from geo_app.web import territory
from layers.coverage import SANTIAGO
from layers.territory import HEALTH_KIND_LABELS
from routing.transit import mode_options

__all__ = ["bp"]

bp = Blueprint("territory", __name__, template_folder="templates")


@bp.get("/")
@allow(*ALL_ROLES)
def index() -> str:
    """Render the territory map."""
    scope = current_scope()
    with db_session() as db:
        counts = service.map_counts(db, territory(), scope)
    return render_template(
        "territory/map.html",
        counts=counts,
        health_labels=HEALTH_KIND_LABELS,
        map_config=service.map_config(current_app.config, scope, territory()),
        depart=service.next_working_day(dt.datetime.now(SANTIAGO).date()),
        modes=mode_options(transit_or_none(current_app._get_current_object())),
    )


@bp.get("/api/capas/<layer>.geojson")
@allow(*ALL_ROLES)
def layer_geojson(layer: str) -> Response:
    """Return one map layer as GeoJSON (WGS84); public data, revalidated by ETag."""
    body = service.layer_geojson(territory(), layer)
    etag = service.layer_etag(territory(), layer)
    return revalidated(body, "application/geo+json", etag)


@bp.get("/api/viaje")
@allow(*ALL_ROLES)
def journey():
    """Return one journey (``desde``, ``hasta``: place or 'lat,lon'; ``salida``: ISO time).

    ``modo``: vehiculo (default), a_pie or transporte_publico (``a_pie=1`` also means a_pie).
    """
    args = request.args
    mode = args.get("modo") or ("a_pie" if args.get("a_pie") in {"1", "true", "si"} else "")
    app = current_app._get_current_object()
    body = service.mode_journey(
        lambda m: mode_model(app, m), mode or "vehiculo",
        args.get("desde", ""), args.get("hasta", ""), args.get("salida", ""),
    )  # fmt: skip
    return jsonify(body)


@bp.get("/api/alcance")
@allow(*ALL_ROLES)
def isochrone():
    """Return the area reachable from ``desde`` in ``minutos`` leaving at ``salida`` (GeoJSON).

    ``modo``: vehiculo (default), a_pie or transporte_publico.
    """
    args = request.args
    app = current_app._get_current_object()
    body = service.mode_isochrone(
        lambda m: mode_model(app, m), args.get("modo") or "vehiculo",
        args.get("desde", ""), args.get("minutos", ""), args.get("salida", ""),
    )  # fmt: skip
    return jsonify(body)


@bp.get("/resumen")
@allow(*ALL_ROLES)
def summary() -> str:
    """Cases by comuna and attendance category (aggregates only; small counts hidden for mesas)."""
    scope, k = current_scope(), current_app.config["SUPPRESSION_K"]
    with db_session() as db:
        rows = by_comuna(db, scope, suppress=scope.role == "mesa", k=k)
    return render_template(
        "territory/summary.html",
        rows=rows,
        categories=CATEGORY_ORDER,
        small=k,
        suppressed=scope.role == "mesa",
    )


@bp.get("/api/agregados/comunas.geojson")
@allow(*ALL_ROLES)
def summary_geojson() -> Response:
    """Case counts per comuna as points inside each comuna (never a case's location)."""
    with db_session() as db:
        k = current_app.config["SUPPRESSION_K"]
        features = service.comuna_count_features(db, territory(), current_scope(), k)
    return jsonify(type="FeatureCollection", features=features, umbral_reserva=k)
