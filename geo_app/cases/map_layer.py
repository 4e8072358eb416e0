"""The map's case layer: every point of a small view, counts per H3 cell of a wide one.

``/api/casos.geojson?bbox=oeste,sur,este,norte&zoom=z`` answers in one of two modes:

* ``puntos``: when the view holds at most ``MAP_POINT_LIMIT`` located cases in scope
  (2,000 by default; a small caseload, or a view zoomed in), or is a small view
  (`MapView.small`: zoom ≥ `POINTS_ZOOM`, at most `SMALL_VIEW_DEG` a side, where cases
  placed at one locality point must still be reachable), each case as a point with
  its id and category (`geo_app.cases.service.case_points`). Cases sharing one point
  (a locality's point, a school used as the fallback) come as one feature with their
  count when they are more than `STACK_MIN` (`stacked`): the browser draws a count
  marker that lists them, not thousands of markers one over another. Personal data:
  sent ``Cache-Control: no-store`` and audited with the case ids.
* ``grupos``: otherwise, counts per H3 cell at the zoom's resolution
  (`layers.clusters`): no id, no name, no position finer than the cell (its marker is the
  cell's centre). Sent ``private, no-cache`` with an ETag keyed by the data version
  (`survey`) and the account's scope, so a browser that already holds the counts gets a
  304 with no body; ``private`` keeps them out of shared caches (proxies). Not audited:
  no case is shown (like ``/api/casos/resumen``).

The mesa intersectorial gets neither (the endpoint is for roles that see cases); its
map draws comuna totals with small counts reserved (``/api/agregados/comunas.geojson``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import h3
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.errors import InvalidRequestError
from geo_app.scope import Scope
from geo_app.store.models import Case
from geo_app.store.models import Student
from layers.clusters import h3_counts
from layers.clusters import resolution_for_zoom
from layers.geocode import CONFIDENCE

__all__ = [
    "DEFAULT_ZOOM",
    "FORMAT",
    "POINTS_ZOOM",
    "SMALL_VIEW_DEG",
    "STACK_COLUMNS",
    "STACK_MIN",
    "MapView",
    "Survey",
    "cluster_layer",
    "in_bbox",
    "parse_view",
    "point_layer",
    "stacked",
    "survey",
]

DEFAULT_ZOOM = 9.0  # the province (Chiloé) on a laptop screen
POINTS_ZOOM = 15  # a town's centre on a laptop screen (≈ 2 × 1 km)
SMALL_VIEW_DEG = 0.25  # ≈ 28 km of latitude: a small view is smaller than this a side
FORMAT = "casos-grupos-1"  # part of every ETag: a change of the answer's shape renews them
BBOX_HELP = "oeste,sur,este,norte en grados WGS84, por ejemplo -74.4,-43.5,-72.6,-41.7"
LOW_BELOW = dict(CONFIDENCE)["media"]  # a score under this is a low-confidence place
M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude (mean; spherical approximation)
# More cases than this at one point come as one stacked feature: as many as the map
# spiderfies (static/js/map.js SPIDERFY_MAX); above it the map lists them in a popup.
STACK_MIN = 12
STACK_COLUMNS = ("id", "categoria", "prioridad", "confianza", "sintetico")


@dataclass(frozen=True)
class MapView:
    """What part of the map the browser shows.

    `bbox` is ``(west, south, east, north)`` in WGS84 degrees, None for everywhere;
    `zoom` the Web Mercator zoom level (0-24).
    """

    bbox: tuple[float, float, float, float] | None = None
    zoom: float = DEFAULT_ZOOM

    @property
    def centre_lat(self) -> float:
        """Latitude the view looks at (Chiloé's −42° with no bbox)."""
        return -42.0 if self.bbox is None else (self.bbox[1] + self.bbox[3]) / 2

    @property
    def small(self) -> bool:
        """True for a view zoomed in (≥ `POINTS_ZOOM`) on less than `SMALL_VIEW_DEG` a side."""
        if self.bbox is None or self.zoom < POINTS_ZOOM:
            return False
        west, south, east, north = self.bbox
        return east - west <= SMALL_VIEW_DEG and north - south <= SMALL_VIEW_DEG

    @property
    def resolution(self) -> int:
        """H3 resolution of the counts at this zoom and latitude."""
        return resolution_for_zoom(self.zoom, self.centre_lat)


@dataclass(frozen=True)
class Survey:
    """How many located cases the account may see, and a version of them.

    `version` changes whenever a case in scope is added, removed from scope, edited
    (its optimistic-lock version) or updated by a bulk write (its ``updated_at``).
    """

    version: str
    in_scope: int
    in_view: int


def parse_view(args: Mapping[str, str]) -> MapView:
    """Read ``bbox`` and ``zoom`` from query arguments (both optional).

    Longitudes are clamped to [−180, 180] and latitudes to [−90, 90] (a map panned
    past the antimeridian). Raises `InvalidRequestError` with a Spanish message when
    ``bbox`` is not four numbers with west < east and south < north, or ``zoom`` is not
    a number from 0 to 24.
    """
    zoom = DEFAULT_ZOOM
    if args.get("zoom", "").strip():
        try:
            zoom = float(args["zoom"])
        except ValueError:
            zoom = math.nan
        if not 0 <= zoom <= 24:
            msg = f"zoom «{args['zoom']}» no válido: debe ser un número de 0 a 24."
            raise InvalidRequestError(msg)
    text = args.get("bbox", "").strip()
    if not text:
        return MapView(None, zoom)
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        msg = f"bbox «{text[:80]}» no válido: escriba {BBOX_HELP}."
        raise InvalidRequestError(msg) from None
    if not all(map(math.isfinite, (west, south, east, north))) or west >= east or south >= north:
        msg = f"bbox «{text[:80]}» no válido: el oeste debe ser menor que el este y el sur menor que el norte ({BBOX_HELP})."  # noqa: E501
        raise InvalidRequestError(msg)
    bbox = (max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))
    return MapView(bbox, zoom)


def _located(scope: Scope, *columns):
    query = select(*columns).where(Case.lon.is_not(None), Case.in_latest_list)
    return scope.cases(query)


def in_bbox(bbox: tuple[float, float, float, float]):
    """Select cases whose point is inside ``(west, south, east, north)`` (edges in); SQL."""
    west, south, east, north = bbox
    return and_(Case.lon >= west, Case.lon <= east, Case.lat >= south, Case.lat <= north)


def survey(session: Session, scope: Scope, view: MapView) -> Survey:
    """Count the located cases in `scope` (in the latest list) and those in `view`.

    One aggregate query; the version hashes count, sum of ids, sum of lock versions and
    the latest ``updated_at`` of the cases in scope, with the account (role, comunas,
    gestor) and `FORMAT`.
    """
    in_view = (
        func.count() if view.bbox is None else func.sum(case((in_bbox(view.bbox), 1), else_=0))
    )
    row = session.execute(
        _located(
            scope,
            func.count(),
            func.sum(Case.id),
            func.sum(Case.version),
            func.max(Case.updated_at),
            in_view,
        )
    ).one()
    account = (
        scope.username,
        scope.role,
        ",".join(scope.comunas),
        scope.gestor_code,
        str(scope.gestor_since),
    )
    text = "|".join(map(str, (FORMAT, *account, *row[:4])))
    return Survey(hashlib.sha256(text.encode()).hexdigest()[:32], row[0], int(row[4] or 0))


def etag(found: Survey, view: MapView) -> str:
    """Tag of the counts `cluster_layer` gives for `view` at the data version `found`."""
    text = f"{found.version}-{view.resolution}-{view.bbox}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cluster_layer(session: Session, scope: Scope, view: MapView) -> dict:
    """Count located cases in `scope` per H3 cell meeting `view`; GeoJSON (WGS84).

    A cell's count is always whole: cases are read in the view widened by three mean
    cell edges (every cell that meets the view fits in it), and only cells whose hexagon's
    bounding box meets the view are returned. Each feature is the cell's centre with
    properties ``celda`` (H3 index), ``n``, ``por_categoria`` (attendance category → count, only
    those present), ``baja`` (cases with a low-confidence location) and ``limites``
    (``[oeste, sur, este, norte]`` of the hexagon). The collection carries ``modo``
    ("grupos"), ``resolucion``, ``total`` (the sum of ``n``), ``sinteticos`` (how many
    of them are synthetic) and ``fuente``.
    """
    resolution = view.resolution
    # cases at one place with the same category and flags come as one row with a count
    # (locality points hold many): fewer rows to read and to index
    low = Case.geocode_score < LOW_BELOW
    columns = (Case.lon, Case.lat, Case.category, low, Student.synthetic)
    query = _located(scope, *columns, func.count()).join(Student).group_by(*columns)
    if view.bbox is not None:
        pad = 3 * h3.average_hexagon_edge_length(resolution, "m") / M_PER_DEG_LAT
        west, south, east, north = view.bbox
        widest = max(abs(south), abs(north)) + pad
        pad_lon = pad / max(math.cos(math.radians(min(widest, 89.0))), 0.01)
        query = query.where(in_bbox((west - pad_lon, south - pad, east + pad_lon, north + pad)))
    rows = session.execute(query).all()
    lon, lat, category, low_flag, synthetic, count = zip(*rows, strict=True) if rows else [()] * 6
    flags = {"baja": low_flag, "sintetico": synthetic}
    cells = h3_counts(lon, lat, category, flags, resolution, weights=count)
    if view.bbox is not None:
        west, south, east, north = view.bbox
        cells = [
            c
            for c in cells
            if c.bounds[0] <= east
            and c.bounds[2] >= west
            and c.bounds[1] <= north
            and c.bounds[3] >= south
        ]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(c.lon, 5), round(c.lat, 5)]},
            "properties": {
                "celda": c.cell,
                "n": c.n,
                "por_categoria": c.by_group,
                "baja": c.flagged["baja"],
                "limites": [round(b, 5) for b in c.bounds],
            },
        }
        for c in cells
    ]
    return {
        "type": "FeatureCollection",
        "modo": "grupos",
        "resolucion": resolution,
        "total": sum(c.n for c in cells),
        "sinteticos": sum(c.flagged["sintetico"] for c in cells),
        "fuente": "Casos ubicados de la última lista, contados por celda H3 "
        f"(resolución {resolution}); el círculo marca el centro de la celda, no un hogar.",
        "features": features,
    }


def stacked(features: list[dict], at_least: int = STACK_MIN) -> list[dict]:
    """Merge point features at identical coordinates when more than `at_least` share one.

    `features` are `geo_app.cases.service.case_points` (each a case). A point holding more
    than `at_least` cases becomes one feature at that point with properties ``n`` (cases),
    ``pila`` (True), ``sinteticos`` (how many are synthetic), ``baja`` (how many have a
    low-confidence location) and ``casos``: one row per case, highest priority first, with
    the values of `STACK_COLUMNS`. Other cases stay one feature each (in their order);
    stacks follow them. Nothing is dropped: the sum of ``n`` (1 for a single case) is
    ``len(features)``.
    """
    at: dict[tuple, list[dict]] = {}
    for feature in features:
        at.setdefault(tuple(feature["geometry"]["coordinates"]), []).append(feature)
    singles = [f for group in at.values() if len(group) <= at_least for f in group]
    stacks = []
    for point, group in at.items():
        if len(group) <= at_least:
            continue
        props = sorted((f["properties"] for f in group), key=lambda p: (-p["prioridad"], p["id"]))
        stacks.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(point)},
            "properties": {
                "pila": True,
                "n": len(props),
                "sinteticos": sum(bool(p["sintetico"]) for p in props),
                "baja": sum(p["confianza"] == "baja" for p in props),
                "casos": [[p[c] for c in STACK_COLUMNS] for p in props],
            },
        })  # fmt: skip
    return singles + stacks


def point_layer(features: list[dict], complete: bool, at_least: int = STACK_MIN) -> dict:
    """Return the ``puntos`` answer: `features` (`case_points`), big stacks merged (`stacked`).

    Keys: ``modo`` ("puntos"), ``total`` (cases), ``completo`` (every case in scope is in
    it: the browser need not ask again when the view moves), ``columnas_pila`` (the
    columns of a stack's ``casos`` rows) and ``features``.
    """
    return {"type": "FeatureCollection", "modo": "puntos", "total": len(features),
            "completo": complete, "columnas_pila": STACK_COLUMNS,
            "features": stacked(features, at_least)}  # fmt: skip
