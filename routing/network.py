"""Build a road + boat travel network from OpenStreetMap (offline file or online).

* ``build_network(osm_file, timetable_csv)`` reads ``.osm``, ``.osm.bz2`` or
  ``.osm.pbf`` with pyosmium, keeps the drivable ways (plus tracks, common in
  rural Chiloé) and the ``route=ferry`` ways, builds the graph with osmnx
  (``graph_from_xml``, all components kept, simplified) and stores it as a
  compact ``.npz`` file cached by a hash of the inputs and the parameters.
* ``fetch_network(polygon, ...)`` does the same from the Overpass API (needs
  internet) with osmnx ``graph_from_polygon`` and ``features_from_polygon``.

Road speeds come from the road class (``SPEEDS_KMH``), capped by ``maxspeed``
when tagged and by the surface (``SURFACE_CAP_KMH``: gravel, dirt...). Ferry
ways become boat lines: a way whose two ends lie near the two terminals of a
timetable line takes that line's timetable and its drawing; any other ferry way
gets a default service (``NetworkParams.default_*``), flagged as assumed.
Timetable lines with no ferry way are drawn as straight lines between their
terminals.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import tempfile
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np

from routing._errors import RoutingInputError
from routing._geo import haversine_m
from routing.boats import Timetable
from routing.boats import parse_timetable
from routing.model import TravelModel
from routing.streets import StreetNetwork

__all__ = [
    "SPEEDS_KMH",
    "SURFACE_CAP_KMH",
    "NetworkParams",
    "build_network",
    "fetch_network",
    "load_network",
    "load_places",
    "load_streets",
    "named_streets",
]

# Free-flow speed by OSM `highway` class (km/h). Rural Chiloé: most secondary
# roads are gravel, capped below by SURFACE_CAP_KMH.
SPEEDS_KMH: dict[str, float] = {
    "motorway": 100,
    "motorway_link": 60,
    "trunk": 80,
    "trunk_link": 50,
    "primary": 70,
    "primary_link": 45,
    "secondary": 60,
    "secondary_link": 40,
    "tertiary": 50,
    "tertiary_link": 35,
    "unclassified": 40,
    "road": 40,
    "residential": 30,
    "living_street": 15,
    "service": 20,
    "track": 20,
}
# Upper speed by `surface` (km/h).
SURFACE_CAP_KMH: dict[str, float] = {
    "unpaved": 40,
    "gravel": 40,
    "fine_gravel": 40,
    "compacted": 45,
    "pebblestone": 30,
    "dirt": 25,
    "earth": 25,
    "ground": 25,
    "grass": 15,
    "mud": 10,
    "sand": 15,
}
_DRIVE_EXCLUDED_SERVICE = {"parking_aisle", "driveway", "private", "emergency_access", "parking"}
_ROAD_FILTERS: dict[str, frozenset[str]] = {
    # osmnx's "drive" network
    "drive": frozenset(k for k in SPEEDS_KMH if k not in {"service", "track"}),
    # drive plus tracks and service roads (ports are often `service`)
    "drive+track": frozenset(SPEEDS_KMH),
}
# 2: named streets stored; 3: streets read before simplification;
# 4: places keep their OSM id and include `place` on closed ways (islets, hamlets drawn as areas)
_CACHE_FORMAT = 4


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of a network build; all of them enter the cache key."""

    road_filter: str = "drive+track"
    speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(SPEEDS_KMH))
    surface_cap_kmh: dict[str, float] = field(default_factory=lambda: dict(SURFACE_CAP_KMH))
    walk_kmh: float = 4.5
    access_kmh: float = 15.0
    max_snap_m: float = 3000.0
    terminal_snap_m: float = 2000.0
    ferry_match_m: float = 2000.0
    default_ferry_service: bool = True
    default_headway_min: int = 60
    default_first: str = "07:00"
    default_last: str = "20:00"
    default_boat_kmh: float = 15.0

    def __post_init__(self) -> None:
        """Validate the road filter name."""
        if self.road_filter not in _ROAD_FILTERS:
            msg = (
                f"Filtro de caminos {self.road_filter!r} desconocido; "
                f"use {' o '.join(_ROAD_FILTERS)}."
            )
            raise RoutingInputError(msg)

    def key(self) -> str:
        """Return a stable JSON text of the parameters."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class _Ferry:
    way_id: int
    name: str
    coords: list[tuple[float, float]]
    duration_min: float | None
    vehicles: bool


# -- reading OSM ------------------------------------------------------------
def _road_way_ok(tags, allowed: frozenset[str]) -> bool:
    highway = tags.get("highway")
    if highway not in allowed or tags.get("area") == "yes":
        return False
    if highway == "service" and tags.get("service") in _DRIVE_EXCLUDED_SERVICE:
        return False
    if tags.get("motor_vehicle") == "no" or tags.get("motorcar") == "no":
        return False
    return tags.get("access") not in {"private", "no"}


def _parse_duration(value: str | None) -> float | None:
    """Return minutes from an OSM ``duration`` ("HH:MM", "HH:MM:SS" or minutes)."""
    if not value:
        return None
    parts = value.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 1:
        return numbers[0]
    hours, minutes = numbers[0], numbers[1]
    seconds = numbers[2] if len(numbers) > 2 else 0.0
    return hours * 60 + minutes + seconds / 60


class _OsmCollector:
    """One pass over an OSM file: drivable ways (ids, node ids), ferry ways and places."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.road_ways: set[int] = set()
        self.needed: set[int] = set()
        self.ferries: list[_Ferry] = []
        self.places: list[dict] = []

    def node(self, obj) -> None:
        if "place" in obj.tags and "name" in obj.tags:
            self._place(obj.tags, obj.location.lon, obj.location.lat, f"OSM node {obj.id}")

    def _place(self, tags, lon: float, lat: float, ref: str) -> None:
        names = [tags.get(k) for k in ("name", "name:en", "name:es") if tags.get(k)]
        self.places.append(
            {
                "names": list(dict.fromkeys(names)),
                "kind": tags.get("place"),
                "lon": lon,
                "lat": lat,
                "ref": ref,
            }
        )

    def way(self, obj) -> None:
        tags = obj.tags
        if "place" in tags and "name" in tags and obj.is_closed() and len(obj.nodes) >= 4:
            # a place drawn as an area (islets, hamlets): the mean of its outline's nodes
            ring = [(n.location.lon, n.location.lat) for n in obj.nodes][:-1]
            lon, lat = (sum(c[i] for c in ring) / len(ring) for i in (0, 1))
            self._place(tags, lon, lat, f"OSM way {obj.id}")
        if tags.get("route") == "ferry" and len(obj.nodes) >= 2:
            self.ferries.append(
                _Ferry(
                    obj.id,
                    tags.get("name") or f"Barco OSM {obj.id}",
                    [(n.location.lon, n.location.lat) for n in obj.nodes],
                    _parse_duration(tags.get("duration")),
                    "yes" in {tags.get("motor_vehicle"), tags.get("motorcar")},
                )
            )
        elif _road_way_ok(tags, self.allowed):
            self.road_ways.add(obj.id)
            self.needed.update(n.ref for n in obj.nodes)


def _read_osm_file(path: Path, params: NetworkParams, workdir: Path):
    """Return (osmnx graph, ferries, places, named streets) from an OSM file (XML, bz2 or PBF)."""
    import osmium
    import osmnx as ox

    found = _OsmCollector(_ROAD_FILTERS[params.road_filter])
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations():
            if obj.is_node():
                found.node(obj)
            elif obj.is_way():
                found.way(obj)
    except RuntimeError as err:
        msg = f"No se pudo leer el archivo OSM {path.name!r}: {err}. Use .osm, .osm.bz2 o .osm.pbf."
        raise RoutingInputError(msg) from err
    if not found.road_ways:
        msg = f"El archivo OSM {path.name!r} no contiene caminos (`highway`) transitables."
        raise RoutingInputError(msg)
    xml = workdir / "roads.osm"
    with osmium.SimpleWriter(str(xml), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node() and obj.id in found.needed:
                writer.add_node(obj)
            elif obj.is_way() and obj.id in found.road_ways:
                writer.add_way(obj)
    graph = ox.graph_from_xml(xml, retain_all=True, simplify=False)
    streets = named_streets(graph)  # before simplifying: a street may change name at any node
    return ox.simplify_graph(graph), found.ferries, found.places, streets


def _first(value):
    return value[0] if isinstance(value, list) else value


def _maxspeed_kmh(value) -> float | None:
    values = value if isinstance(value, list) else [value]
    speeds = []
    for v in values:
        if not isinstance(v, str):
            continue
        text = v.strip().lower()
        factor = 1.609344 if text.endswith("mph") else 1.0
        digits = text.replace("mph", "").replace("km/h", "").strip()
        try:
            speeds.append(float(digits) * factor)
        except ValueError:
            continue
    return min(speeds) if speeds else None


def edge_speed_kmh(highway, surface, maxspeed, params: NetworkParams) -> float:
    """Speed of one edge: class speed, capped by ``maxspeed`` and by the surface."""
    classes = highway if isinstance(highway, list) else [highway]
    speed = min(params.speeds_kmh.get(str(c), 30.0) for c in classes)
    tagged = _maxspeed_kmh(maxspeed)
    if tagged:
        speed = min(speed, tagged) if speed else tagged
    surfaces = surface if isinstance(surface, list) else [surface]
    caps = [params.surface_cap_kmh[s] for s in surfaces if s in params.surface_cap_kmh]
    if caps:
        speed = min(speed, min(caps))
    return max(speed, 5.0)


def _street_network(graph, params: NetworkParams) -> StreetNetwork:
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    lon = np.array([graph.nodes[n]["x"] for n in nodes], dtype=float)
    lat = np.array([graph.nodes[n]["y"] for n in nodes], dtype=float)
    us, vs, lengths, times = [], [], [], []
    offsets, glon, glat = [0], [], []
    for a, b, data in graph.edges(data=True):
        length = float(data.get("length", 0.0))
        speed = edge_speed_kmh(
            data.get("highway"), data.get("surface"), data.get("maxspeed"), params
        )
        us.append(index[a])
        vs.append(index[b])
        lengths.append(length)
        times.append(length / (speed / 3.6))
        geom = data.get("geometry")
        xs, ys = (
            geom.xy
            if geom is not None
            else ([lon[index[a]], lon[index[b]]], [lat[index[a]], lat[index[b]]])
        )
        glon.extend(xs)
        glat.extend(ys)
        offsets.append(len(glon))
    return StreetNetwork(
        lon,
        lat,
        np.array(us, dtype=np.int64),
        np.array(vs, dtype=np.int64),
        np.array(lengths, dtype=float),
        np.array(times, dtype=float),
        np.array(offsets, dtype=np.int64),
        np.array(glon, dtype=float),
        np.array(glat, dtype=float),
        walk_kmh=params.walk_kmh,
        access_kmh=params.access_kmh,
        max_snap_m=params.max_snap_m,
    )


# -- boats ------------------------------------------------------------------
def _match_ferries(
    streets: StreetNetwork,
    ferries: list[_Ferry],
    timetable_text: str,
    timetable: Timetable | None,
    params: NetworkParams,
):
    """Return (effective timetable text, line geometries, notes)."""
    geometries: dict[str, list[tuple[float, float]]] = {}
    notes: list[str] = []
    used: set[int] = set()
    if timetable is not None:
        for service in timetable.services:
            match = _best_ferry(service, ferries, params)
            if match is not None:
                ferry, coords = match
                used.add(ferry.way_id)
                geometries[f"{service.line_id}|{service.origin}"] = coords
    extra_rows: list[dict[str, str]] = []
    for ferry in ferries:
        if ferry.way_id in used:
            continue
        start, end = ferry.coords[0], ferry.coords[-1]
        if _dist(start, end) < 300:
            notes.append(f"vía ferry {ferry.way_id} ({ferry.name}) descartada: es un circuito.")
            continue
        ends = streets.snap([start[0], end[0]], [start[1], end[1]])
        if (ends.access_m > params.terminal_snap_m).any() or not ends.ok.all():
            notes.append(
                f"vía ferry {ferry.way_id} ({ferry.name}) descartada: un extremo queda a más de "
                f"{params.terminal_snap_m / 1000:.1f} km de un camino de la red (sale del área)."
            )
            continue
        if not params.default_ferry_service:
            notes.append(f"vía ferry {ferry.way_id} ({ferry.name}) sin horario: no se usa.")
            continue
        extra_rows.extend(_default_rows(ferry, params))
        geometries[f"osm-{ferry.way_id}|{ferry.name} (inicio)"] = list(ferry.coords)
        geometries[f"osm-{ferry.way_id}|{ferry.name} (fin)"] = list(reversed(ferry.coords))
        notes.append(
            f"vía ferry {ferry.way_id} ({ferry.name}) sin horario: servicio por defecto "
            f"cada {params.default_headway_min} min ({params.default_first}–{params.default_last}),"
            " marcado como supuesto."
        )
    text = timetable_text if timetable_text.strip() else _EMPTY_TIMETABLE
    if extra_rows:
        text = _append_rows(text, extra_rows)
    return text, geometries, notes


def _best_ferry(service, ferries: list[_Ferry], params: NetworkParams):
    """Return the ferry way whose ends are nearest to the service's terminals, and its drawing."""
    a = (service.origin_lon, service.origin_lat)
    b = (service.destination_lon, service.destination_lat)
    best = None
    for ferry in ferries:
        start, end = ferry.coords[0], ferry.coords[-1]
        if _dist(start, end) < 300:  # a round trip (harbour cruise), not a crossing
            continue
        for gap_a, gap_b, coords in (
            (_dist(start, a), _dist(end, b), list(ferry.coords)),
            (_dist(end, a), _dist(start, b), list(reversed(ferry.coords))),
        ):
            worst = max(gap_a, gap_b)
            if worst <= params.ferry_match_m and (best is None or worst < best[0]):
                best = (worst, ferry, coords)
    return None if best is None else best[1:]


def _dist(p, q) -> float:
    return float(haversine_m(p[0], p[1], q[0], q[1]))


def _default_rows(ferry: _Ferry, params: NetworkParams) -> list[dict[str, str]]:
    length_m = sum(
        float(haversine_m(*a, *b)) for a, b in zip(ferry.coords[:-1], ferry.coords[1:], strict=True)
    )
    if ferry.duration_min:
        crossing, crossing_src = ferry.duration_min, f"OSM duration (vía {ferry.way_id})"
    else:
        crossing = length_m / (params.default_boat_kmh / 3.6) / 60
        crossing_src = f"supuesto: largo de la vía OSM a {params.default_boat_kmh:g} km/h"
    rows = []
    for suffix, (a, b) in (("inicio", (0, -1)), ("fin", (-1, 0))):
        rows.append(
            {
                "servicio_id": f"osm-{ferry.way_id}-{suffix}",
                "linea_id": f"osm-{ferry.way_id}",
                "linea": ferry.name,
                "origen": f"{ferry.name} ({suffix})",
                "origen_lat": f"{ferry.coords[a][1]:.6f}",
                "origen_lon": f"{ferry.coords[a][0]:.6f}",
                "destino": f"{ferry.name} ({'fin' if suffix == 'inicio' else 'inicio'})",
                "destino_lat": f"{ferry.coords[b][1]:.6f}",
                "destino_lon": f"{ferry.coords[b][0]:.6f}",
                "terminales_fuente": f"OSM vía {ferry.way_id}",
                "modo": "transbordador" if ferry.vehicles else "lancha",
                "modo_fuente": "supuesto",
                "transporta": "vehiculos_y_pasajeros" if ferry.vehicles else "solo_pasajeros",
                "transporta_fuente": f"OSM motor_vehicle/motorcar (vía {ferry.way_id})",
                "dias": "lu,ma,mi,ju,vi,sa,do",
                "dias_fuente": "supuesto (servicio por defecto)",
                "frecuencia_min": str(params.default_headway_min),
                "frecuencia_fuente": "supuesto (servicio por defecto)",
                "primera_salida": params.default_first,
                "primera_salida_fuente": "supuesto (servicio por defecto)",
                "ultima_salida": params.default_last,
                "ultima_salida_fuente": "supuesto (servicio por defecto)",
                "salidas": "",
                "salidas_fuente": "",
                "cruce_min": str(max(1, math.ceil(crossing))),
                "cruce_fuente": crossing_src,
                "nota": "vía ferry de OpenStreetMap sin horario conocido",
            }
        )
    return rows


_COLUMNS = (
    "servicio_id,linea_id,linea,origen,origen_lat,origen_lon,destino,destino_lat,destino_lon,"
    "terminales_fuente,modo,modo_fuente,transporta,transporta_fuente,dias,dias_fuente,"
    "frecuencia_min,frecuencia_fuente,primera_salida,primera_salida_fuente,ultima_salida,"
    "ultima_salida_fuente,salidas,salidas_fuente,cruce_min,cruce_fuente,nota"
)
_EMPTY_TIMETABLE = _COLUMNS + "\n"


def _append_rows(text: str, rows: list[dict[str, str]]) -> str:
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    out.write(text if text.endswith("\n") else text + "\n")
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


# -- build, cache, load ----------------------------------------------------
def _cache_key(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def build_network(
    osm_file: str | Path,
    *,
    timetable_csv: str | Path | None = None,
    params: NetworkParams | None = None,
    cache_dir: str | Path,
    name: str | None = None,
) -> Path:
    """Build (or reuse from the cache) the network of an OSM file; return the ``.npz`` path.

    The file name holds a hash of the OSM file, the timetable and the parameters,
    so a change in any of them makes a new build.
    """
    params = params or NetworkParams()
    osm_file = Path(osm_file)
    if not osm_file.is_file():
        msg = f"No existe el archivo OSM {str(osm_file)!r}."
        raise RoutingInputError(msg)
    timetable_text, timetable = _read_timetable(timetable_csv)
    key = _cache_key(
        osm_file.read_bytes(), timetable_text.encode(), params.key().encode(), b"%d" % _CACHE_FORMAT
    )
    name = name or osm_file.name.split(".")[0]
    cache_dir = Path(cache_dir)
    target = cache_dir / f"{name}-{key[:16]}.npz"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        graph, ferries, places, streets = _read_osm_file(osm_file, params, Path(tmp))
    return _assemble(
        graph,
        ferries,
        places,
        streets,
        (timetable_text, timetable),
        params,
        target,
        name,
        str(osm_file),
    )


def fetch_network(
    polygon,
    *,
    timetable_csv: str | Path | None = None,
    params: NetworkParams | None = None,
    cache_dir: str | Path,
    name: str = "osm",
    buffer_m: float = 2000.0,
) -> Path:
    """Download roads and ferry ways inside `polygon` (WGS84) from Overpass; needs internet."""
    import osmnx as ox
    import shapely

    from routing._geo import local_crs

    params = params or NetworkParams()
    timetable_text, timetable = _read_timetable(timetable_csv)
    centre = polygon.centroid
    crs = local_crs(centre.x, centre.y)
    import geopandas as gpd

    area = gpd.GeoSeries([polygon], crs="EPSG:4326").to_crs(crs).buffer(buffer_m).to_crs(4326)[0]
    allowed = "|".join(sorted(_ROAD_FILTERS[params.road_filter]))
    road_filter = (
        f'["highway"~"^({allowed})$"]["area"!~"yes"]["access"!~"private|no"]'
        f'["motor_vehicle"!~"no"]["motorcar"!~"no"]'
        f'["service"!~"{"|".join(sorted(_DRIVE_EXCLUDED_SERVICE))}"]'
    )
    graph = ox.graph_from_polygon(area, custom_filter=road_filter, retain_all=True, simplify=False)
    streets = named_streets(graph)
    graph = ox.simplify_graph(graph)
    ferries: list[_Ferry] = []
    features = ox.features_from_polygon(area, {"route": "ferry"})
    for (kind, osm_id), row in features.iterrows():
        geom = row.geometry
        if kind != "way" or geom.geom_type != "LineString":
            continue
        vehicles = "yes" in {row.get("motor_vehicle"), row.get("motorcar")}
        ferries.append(
            _Ferry(
                int(osm_id),
                row.get("name") if isinstance(row.get("name"), str) else f"Barco OSM {osm_id}",
                list(shapely.get_coordinates(geom).tolist()),
                _parse_duration(
                    row.get("duration") if isinstance(row.get("duration"), str) else None
                ),
                vehicles,
            )
        )
    key = _cache_key(
        shapely.to_wkb(area),
        timetable_text.encode(),
        params.key().encode(),
        b"fetch%d" % _CACHE_FORMAT,
    )
    target = Path(cache_dir) / f"{name}-{key[:16]}.npz"
    return _assemble(
        graph, ferries, _fetch_places(area), streets, (timetable_text, timetable), params,
        target, name, "Overpass API",
    )  # fmt: skip


def _fetch_places(area) -> list[dict]:
    """Named OSM places inside `area` from Overpass (`place` nodes and areas), as stored."""
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    try:
        features = ox.features_from_polygon(area, {"place": True})
    except InsufficientResponseError:  # no place at all in the area
        return []
    places = []
    for (kind, osm_id), row in features.iterrows():
        name = row.get("name")
        if not isinstance(name, str) or not isinstance(row.get("place"), str):
            continue
        point = row.geometry.representative_point()
        names = [n for n in (name, row.get("name:en"), row.get("name:es")) if isinstance(n, str)]
        places.append(
            {
                "names": list(dict.fromkeys(names)),
                "kind": row["place"],
                "lon": point.x,
                "lat": point.y,
                "ref": f"OSM {kind} {osm_id}",
            }
        )
    return places


def _read_timetable(path) -> tuple[str, Timetable | None]:
    """Return the timetable file's text and its parsed form (validated before any OSM work)."""
    if not path:
        return "", None
    text = Path(path).read_text(encoding="utf-8-sig")
    return text, parse_timetable(text, Path(path).name)


def named_streets(graph) -> dict[str, np.ndarray]:
    """Return one row per named street of an osmnx graph, as arrays to store.

    A street is a connected run of edges sharing a ``name`` (an edge with a
    list of names counts for each). Its point is the edge midpoint or node of
    the street closest to the length-weighted centre of its edge midpoints, so
    it lies on the street; its length is the sum of its edges (each direction
    once). Read it from the unsimplified graph: a street may change name at any
    node, which simplification would hide.
    """
    import shapely

    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(item):
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    edges: dict[tuple[str, frozenset], tuple[float, ...]] = {}
    for a, b, data in graph.edges(data=True):
        names = data.get("name")
        names = names if isinstance(names, list) else [names]
        ends = (graph.nodes[a]["x"], graph.nodes[a]["y"], graph.nodes[b]["x"], graph.nodes[b]["y"])
        geom = data.get("geometry")
        if geom is not None:
            mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
            lon, lat = mid.x, mid.y
        else:
            lon, lat = (ends[0] + ends[2]) / 2, (ends[1] + ends[3]) / 2
        for street in {n.strip() for n in names if isinstance(n, str) and n.strip()}:
            key = (street, frozenset((a, b)))  # one entry for both directions
            edges.setdefault(key, (lon, lat, float(data.get("length", 0.0)), *ends))
            parent[find((street, a))] = find((street, b))
    groups: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    for (street, ends), row in edges.items():
        groups.setdefault(find((street, next(iter(ends)))), []).append(row)
    names, lons, lats, lengths = [], [], [], []
    for (street, _node), rows in sorted(groups.items(), key=lambda item: str(item[0])):
        table = np.array(rows)
        weights = np.maximum(table[:, 2], 1.0)
        centre = (table[:, :2] * weights[:, None]).sum(axis=0) / weights.sum()
        # candidates on the street: edge midpoints and the nodes at both ends of each edge
        points = np.vstack([table[:, 0:2], table[:, 3:5], table[:, 5:7]])
        best = int(np.argmin(((points - centre) ** 2).sum(axis=1)))
        names.append(street)
        lons.append(points[best, 0])
        lats.append(points[best, 1])
        lengths.append(table[:, 2].sum())
    return {
        "streetname_name": np.array(names, dtype=str),
        "streetname_lon": np.array(lons, dtype=float),
        "streetname_lat": np.array(lats, dtype=float),
        "streetname_length_m": np.array(lengths, dtype=float),
    }


def load_streets(path: str | Path) -> list[tuple[str, float, float, float]]:
    """Named streets of a built network: ``(name, lon, lat, length_m)`` (see `named_streets`).

    Networks built before streets were stored give an empty list.
    """
    with np.load(Path(path), allow_pickle=False) as arrays:
        if "streetname_name" not in arrays:
            return []
        return list(
            zip(
                arrays["streetname_name"].tolist(),
                arrays["streetname_lon"].tolist(),
                arrays["streetname_lat"].tolist(),
                arrays["streetname_length_m"].tolist(),
                strict=True,
            )
        )


def load_places(path: str | Path) -> list[tuple[str, float, float, str, str]]:
    """Named OSM places of a built network: ``(name, lon, lat, place, ref)``.

    One row per name (``name``, ``name:en``, ``name:es``); ``place`` is the OSM
    value (``village``, ``hamlet``…); ``ref`` is ``"OSM node 123"`` (empty for
    networks built before ids were stored). For the gazetteer
    (`layers.gazetteer.osm_entries`).
    """
    with np.load(Path(path), allow_pickle=False) as arrays:
        meta = json.loads(str(arrays["network_meta"]))
    return [
        (name, float(p["lon"]), float(p["lat"]), p["kind"], p.get("ref", ""))
        for p in meta["places"]
        for name in p["names"]
    ]


def _assemble(graph, ferries, places, named, timetable, params, target: Path, name, source) -> Path:
    streets = _street_network(graph, params)
    text, geometries, notes = _match_ferries(streets, ferries, *timetable, params)
    meta = {
        "name": name,
        "source": source,
        "params": json.loads(params.key()),
        "timetable": text,
        "boat_geometries": geometries,
        "places": places,
        "notes": notes,
        "n_ferry_ways": len(ferries),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        network_meta=np.array(json.dumps(meta)),
        **streets.to_arrays(),
        **named,
    )
    tmp.replace(target)
    return target


def load_network(path: str | Path) -> TravelModel:
    """Load a built network file into a `TravelModel`."""
    path = Path(path)
    if not path.is_file():
        msg = (
            f"No existe la red {str(path)!r}. Constrúyala con "
            "`revincula network build --osm ARCHIVO` o indique otro archivo con --network."
        )
        raise RoutingInputError(msg)
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(str(arrays["network_meta"]))
        streets = StreetNetwork.from_arrays(arrays)
    timetable = parse_timetable(meta["timetable"], f"{path.name} (horario)")
    geometries = {
        tuple(key.split("|", 1)): [tuple(c) for c in coords]
        for key, coords in meta["boat_geometries"].items()
    }
    places = [(n, p["lon"], p["lat"], p["kind"]) for p in meta["places"] for n in p["names"]]
    return TravelModel(
        streets,
        timetable,
        name=meta["name"],
        approximate=False,
        boat_geometries=geometries,
        places=places,
        notes=tuple(meta["notes"]),
        source=meta["source"],
    )
