"""Build a road + boat travel network from OpenStreetMap (offline file or online).

* ``build_network(osm_file, timetable_csv)`` reads ``.osm``, ``.osm.bz2`` or
  ``.osm.pbf`` with pyosmium, keeps the drivable ways (plus tracks, common in
  rural Chiloé) and the ``route=ferry`` ways, builds the graph with osmnx
  (``graph_from_xml``, all components kept, simplified) and stores it as a
  compact ``.npz`` file cached by a hash of the inputs and the parameters.
* ``fetch_network(polygon, ...)`` does the same from the Overpass API (needs
  internet) with osmnx ``graph_from_polygon`` and ``features_from_polygon``.

Road speeds come from the road class (``SPEEDS_KMH``), capped by ``maxspeed``
when tagged and by the surface (``SURFACE_CAP_KMH``: gravel, dirt...). Ferries
become boat lines: ways tagged ``route=ferry`` and the member ways of
``route=ferry`` relations (whose ways may carry no tag at all) are read, and the
pieces of one ferry (the ways of one relation, or ferry ways sharing a node:
chained or branching) are joined into lines, one per pair of loose ends. A
line whose two ends lie near the two terminals of a timetable line takes that
line's timetable and its drawing; any other gets a default service
(``NetworkParams.default_*``), flagged as assumed, with the OSM ``duration`` as
its crossing time when tagged (every form OSM allows: ``HH:MM``, ``HH:MM:SS``,
minutes, ISO 8601 such as ``PT45M``, and ``;`` lists) and otherwise its length
at ``default_boat_kmh``; the network's notes say each assumed value.
Timetable lines with no ferry way are drawn as straight lines between their
terminals.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import re
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
# 5: ferries from route=ferry relations, pieces joined into lines, every OSM duration form;
#    islands and islets drawn as closed ways (place=island|islet, natural=coastline) kept as land
_CACHE_FORMAT = 5


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
    """One boat line read from OSM (joined from one or more ways)."""

    key: str  # id-safe: "w5000", "w5000-5001", "r9000"
    ref: str  # Spanish, for notes: "vía ferry 5000", "relación ferry 9000 (vías 5000, 5001)"
    name: str
    coords: list[tuple[float, float]]
    duration_min: float | None
    vehicles: bool
    duration_note: str = ""  # how the OSM duration was read, or why it was not


@dataclass
class _Piece:
    """One OSM way of a ferry (tagged route=ferry, or member of a route=ferry relation)."""

    way_id: int
    nodes: list[int]
    coords: list[tuple[float, float]]
    tags: dict[str, str]


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


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$",
    re.IGNORECASE,
)
_CLOCK_DURATION = re.compile(r"^(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?$")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_FORMS = "HH:MM, HH:MM:SS, minutos o ISO 8601 como PT45M"


def _one_duration(text: str) -> float | None:
    """Minutes of one OSM duration value, or None if it is not one of the forms OSM allows."""
    text = text.strip()
    clock = _CLOCK_DURATION.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 60 + int(minutes) + float(seconds or 0) / 60
    if _NUMBER.match(text):
        return float(text.replace(",", "."))
    iso = _ISO_DURATION.match(text)
    if iso and any(iso.groupdict().values()) and not text.upper().endswith("T"):
        part = {k: float((v or "0").replace(",", ".")) for k, v in iso.groupdict().items()}
        return part["d"] * 1440 + part["h"] * 60 + part["m"] + part["s"] / 60
    return None


def parse_duration(value: str | None) -> tuple[float | None, str]:
    """Minutes from an OSM ``duration`` tag, and a Spanish note on how it was read.

    Forms (OSM wiki, Key:duration): ``HH:MM``, ``HH:MM:SS``, a number of
    minutes, ISO 8601 (``PT45M``, ``PT1H30M``, ``P0DT1H``); a ``;`` list of
    values (crossings of different boats) gives the longest, said in the note.
    Returns ``(None, note)`` when the tag is missing (empty note), not
    understood or zero (a note saying so).
    """
    if value is None or not str(value).strip():
        return None, ""
    raw = str(value).strip()
    parts = [p for p in raw.split(";") if p.strip()]
    minutes = [_one_duration(p) for p in parts]
    if not parts or any(m is None for m in minutes):
        return None, f"`duration`={raw!r} no se entiende (OSM usa {_FORMS})"
    longest = max(minutes)
    if longest <= 0:
        return None, f"`duration`={raw!r} es cero"
    if len(minutes) > 1:
        return longest, (f"`duration`={raw!r} es una lista: se usa la más larga, {_clock(longest)}")
    return longest, ""


def _clock(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


class _OsmCollector:
    """One pass over an OSM file: drivable ways (ids, node ids), ferry pieces and places.

    `ferry_members` (way id -> relation ids) comes from a first pass over the
    relations (`_ferry_relations`): their member ways are ferry pieces even
    when the ways carry no tag.
    """

    def __init__(self, allowed: frozenset[str], ferry_members: dict[int, list[int]]) -> None:
        self.allowed = allowed
        self.ferry_members = ferry_members
        self.road_ways: set[int] = set()
        self.needed: set[int] = set()
        self.pieces: list[_Piece] = []
        self.places: list[dict] = []
        self.land: list[dict] = []

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
        if (
            obj.is_closed()
            and len(obj.nodes) >= 4
            and (tags.get("place") in _LAND_PLACES or tags.get("natural") == "coastline")
        ):
            # an island or islet drawn as a closed way: a land mass (see TravelModel.snap)
            self.land.append(
                {
                    "name": tags.get("name") or "",
                    "ref": f"OSM way {obj.id}",
                    "ring": [(n.location.lon, n.location.lat) for n in obj.nodes],
                }
            )
        if "place" in tags and "name" in tags and obj.is_closed() and len(obj.nodes) >= 4:
            # a place drawn as an area (islets, hamlets): the mean of its outline's nodes
            ring = [(n.location.lon, n.location.lat) for n in obj.nodes][:-1]
            lon, lat = (sum(c[i] for c in ring) / len(ring) for i in (0, 1))
            self._place(tags, lon, lat, f"OSM way {obj.id}")
        if (tags.get("route") == "ferry" or obj.id in self.ferry_members) and len(obj.nodes) >= 2:
            self.pieces.append(
                _Piece(
                    obj.id,
                    [n.ref for n in obj.nodes],
                    [(n.location.lon, n.location.lat) for n in obj.nodes],
                    {k: tags.get(k) for k in _FERRY_TAGS if tags.get(k)},
                )
            )
        elif _road_way_ok(tags, self.allowed):
            self.road_ways.add(obj.id)
            self.needed.update(n.ref for n in obj.nodes)


_LAND_PLACES = {"island", "islet"}
_FERRY_TAGS = ("route", "name", "duration", "motor_vehicle", "motorcar")


def _ferry_relations(path: Path) -> tuple[dict[int, dict[str, str]], dict[int, list[int]]]:
    """Relations tagged ``route=ferry``: {relation id: tags}, {member way id: relation ids}."""
    import osmium

    relations: dict[int, dict[str, str]] = {}
    members: dict[int, list[int]] = {}
    for obj in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        if obj.tags.get("route") != "ferry":
            continue
        relations[obj.id] = {k: obj.tags.get(k) for k in _FERRY_TAGS if obj.tags.get(k)}
        for member in obj.members:
            if member.type == "w":
                members.setdefault(member.ref, []).append(obj.id)
    return relations, members


def _join_ferries(
    pieces: list[_Piece], relations: dict[int, dict[str, str]], members: dict[int, list[int]]
) -> tuple[list[_Ferry], list[str]]:
    """Join ferry pieces into lines (see the module docstring); return (lines, notes).

    The ways of one relation form one group, with the relation's tags; ferry
    ways in no relation form groups of ways sharing a node. In each group the
    loose ends (nodes of one piece only, at a piece's end) are the terminals
    and there is one line per pair of them, along the pieces. A group without
    loose ends is a round trip (a harbour cruise) and is left out.
    """
    lines: list[_Ferry] = []
    notes: list[str] = []
    seen: dict[tuple, _Ferry] = {}
    for key, ref, tags, ways in _ferry_groups(pieces, relations, members):
        found, note = _group_lines(key, ref, tags, ways)
        if note:
            notes.append(note)
        for line in found:
            # one relation per direction (public transport schema): the same crossing twice
            ends = tuple(
                sorted((round(c[0], 4), round(c[1], 4)) for c in (line.coords[0], line.coords[-1]))
            )
            twin = seen.get((ends, line.vehicles))
            if twin is not None:
                notes.append(
                    f"{line.ref} ({line.name}) es el mismo cruce que {twin.ref}: se usa una vez."
                )
                continue
            seen[ends, line.vehicles] = line
            lines.append(line)
    return lines, notes


def _ferry_groups(pieces, relations, members):
    """Yield (key, ref, relation tags, pieces) per ferry: each relation, each set of joined ways."""
    by_id = {p.way_id: p for p in pieces}
    in_relation: set[int] = set()
    for rel_id, tags in relations.items():
        ways = [by_id[w] for w, rels in members.items() if rel_id in rels and w in by_id]
        if ways:
            in_relation.update(p.way_id for p in ways)
            ids = ", ".join(str(p.way_id) for p in ways if p.way_id > 0)
            ref = f"relación ferry {rel_id}" + (f" (vías {ids})" if ids else "")
            yield f"r{rel_id}", ref, tags, ways
    loose = [p for p in pieces if p.way_id not in in_relation and p.tags.get("route") == "ferry"]
    clusters = _joined(loose)
    for ways in clusters.values():
        ways.sort(key=lambda p: p.way_id)
        ids = [str(p.way_id) for p in ways]
        if len(ways) == 1:
            yield f"w{ids[0]}", f"vía ferry {ids[0]}", {}, ways
        else:
            yield "w" + "-".join(ids), f"vías ferry {', '.join(ids)} (unidas)", {}, ways


def _joined(pieces: list[_Piece]) -> dict[int, list[_Piece]]:
    """Pieces grouped by shared nodes (chained or branching ways of one ferry).

    Only pieces of the same name (or one unnamed) join: different ferries
    often share a pier node (Malta: the Gozo ferry, a round trip and the Comino
    boats meet at Mġarr and Ċirkewwa).
    """
    parent = {p.way_id: p.way_id for p in pieces}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    at: dict[int, list[tuple[str, int]]] = {}
    for p in pieces:
        name = " ".join(p.tags.get("name", "").casefold().split())
        for node in p.nodes:
            for other_name, other in at.get(node, []):
                if name == other_name or not name or not other_name:
                    parent[find(p.way_id)] = find(other)
            at.setdefault(node, []).append((name, p.way_id))
    clusters: dict[int, list[_Piece]] = {}
    for p in pieces:
        clusters.setdefault(find(p.way_id), []).append(p)
    return clusters


def _group_lines(key, ref, tags, ways) -> tuple[list[_Ferry], str]:
    """Lines of one ferry group, one per pair of loose ends joined by its ways; and a note."""
    import networkx as nx

    graph = nx.Graph()
    coord: dict[int, tuple[float, float]] = {}
    for p in ways:
        for (a, ca), (b, cb) in itertools.pairwise(zip(p.nodes, p.coords, strict=True)):
            coord[a], coord[b] = ca, cb
            if a != b:
                graph.add_edge(a, b, length=_dist(ca, cb), way=p.way_id)
    by_id = {p.way_id: p for p in ways}
    name = (
        tags.get("name")
        or next((p.tags["name"] for p in ways if p.tags.get("name")), None)
        or f"Barco OSM {key}"
    )
    vehicles = any(
        "yes" in {t.get("motor_vehicle"), t.get("motorcar")}
        for t in (tags, *(p.tags for p in ways))
    )
    ends = sorted(n for n in graph.nodes if graph.degree(n) == 1)
    if len(ends) < 2:
        return [], f"{ref} ({name}) descartada: es un circuito (paseo), no une dos muelles."
    if len(ends) > 8:
        return [], (
            f"{ref} ({name}) descartada: tiene {len(ends)} extremos sueltos; "
            "revise en OSM que sus vías estén unidas en los muelles."
        )
    pairs = [
        (a, b) for a, b in itertools.combinations(ends, 2) if nx.has_path(graph, a, b)
    ]  # two separate ferries in one relation: each pair of its own
    lines = []
    for a, b in pairs:
        path = nx.shortest_path(graph, a, b, weight="length")
        used = list(dict.fromkeys(graph.edges[u, v]["way"] for u, v in itertools.pairwise(path)))
        minutes, how = _group_duration(tags, [by_id[w] for w in used])
        many = len(pairs) > 1
        lines.append(
            _Ferry(
                f"{key}-{a}-{b}" if many else key,
                f"{ref}, tramo {len(lines) + 1}" if many else ref,
                name,
                [coord[n] for n in path],
                minutes,
                vehicles,
                how,
            )
        )
    note = ""
    if len(pairs) > 1:
        note = f"{ref} ({name}) se ramifica: {len(ends)} muelles, una línea por cada par."
    elif len(ways) > 1:
        note = f"{ref} ({name}): {len(ways)} tramos unidos en una línea."
    return lines, note


def _group_duration(tags: dict[str, str], ways: list[_Piece]) -> tuple[float | None, str]:
    """Crossing minutes of a line and how they were read (relation, one way, or its ways)."""
    if tags.get("duration"):
        return parse_duration(tags["duration"])
    values = [p.tags.get("duration") for p in ways]
    if len(ways) == 1 or (values and all(v == values[0] for v in values)):
        return parse_duration(values[0])  # one way, or the same value on every piece
    if not all(values):
        missing = [str(p.way_id) for p, v in zip(ways, values, strict=True) if not v]
        return None, f"las vías {', '.join(missing)} no tienen `duration`"
    read = [parse_duration(v) for v in values]
    if any(m is None for m, _ in read):
        return None, next(note for m, note in read if m is None)
    return sum(m for m, _ in read), "`duration` de cada vía, sumadas"


def _read_osm_file(path: Path, params: NetworkParams, workdir: Path):
    """Return (osmnx graph, ferries, places, named streets) from an OSM file (XML, bz2 or PBF)."""
    import osmium
    import osmnx as ox

    try:
        relations, members = _ferry_relations(path)
        found = _OsmCollector(_ROAD_FILTERS[params.road_filter], members)
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
    ferries = _join_ferries(found.pieces, relations, members)
    for land in found.land:
        land["kind"] = "land"
    return ox.simplify_graph(graph), ferries, found.places + found.land, streets


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
    ferries: tuple[list[_Ferry], list[str]],
    timetable_text: str,
    timetable: Timetable | None,
    params: NetworkParams,
):
    """Return (effective timetable text, line geometries, notes)."""
    ferries, join_notes = ferries
    geometries: dict[str, list[tuple[float, float]]] = {}
    notes: list[str] = list(join_notes)
    used: set[str] = set()
    if timetable is not None:
        for service in timetable.services:
            match = _best_ferry(service, ferries, params)
            if match is not None:
                ferry, coords = match
                used.add(ferry.key)
                geometries[f"{service.line_id}|{service.origin}"] = coords
    extra_rows: list[dict[str, str]] = []
    for ferry in ferries:
        if ferry.key in used:
            continue
        label = f"{ferry.ref} ({ferry.name})"
        start, end = ferry.coords[0], ferry.coords[-1]
        if _dist(start, end) < 300:
            notes.append(
                f"{label} descartada: es un circuito (sus extremos distan menos de 300 m)."
            )
            continue
        ends = streets.snap([start[0], end[0]], [start[1], end[1]])
        far = [
            f"{('el inicio', 'el fin')[i]} a "
            + (
                f"{ends.access_m[i] / 1000:.1f} km"
                if ends.ok[i]
                else f"más de {streets.max_snap_m / 1000:.1f} km"
            )
            for i in range(2)
            if not ends.ok[i] or ends.access_m[i] > params.terminal_snap_m
        ]
        if far:
            notes.append(
                f"{label} descartada: {' y '.join(far)} del camino más cercano de la red "
                f"(máximo {params.terminal_snap_m / 1000:.1f} km): el barco sale del área del "
                "archivo o su muelle no tiene camino."
            )
            continue
        if not params.default_ferry_service:
            notes.append(f"{label} sin horario: no se usa.")
            continue
        rows, crossing_note = _default_rows(ferry, params)
        extra_rows.extend(rows)
        geometries[f"osm-{ferry.key}|{ferry.name} (inicio)"] = list(ferry.coords)
        geometries[f"osm-{ferry.key}|{ferry.name} (fin)"] = list(reversed(ferry.coords))
        notes.append(
            f"{label} sin horario: servicio por defecto cada {params.default_headway_min} min "
            f"({params.default_first}–{params.default_last}), marcado como supuesto; "
            f"{crossing_note}."
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
        crossing = ferry.duration_min
        crossing_src = f"OSM duration ({ferry.ref})"
        how = f"; {ferry.duration_note}" if ferry.duration_note else ""
        note = f"cruce de {_clock(crossing)} según `duration` de OSM{how}"
    else:
        crossing = length_m / (params.default_boat_kmh / 3.6) / 60
        crossing_src = f"supuesto: largo de la vía OSM a {params.default_boat_kmh:g} km/h"
        why = ferry.duration_note or "sin `duration` en OSM"
        note = (
            f"{why}: cruce supuesto de {_clock(max(1, math.ceil(crossing)))} "
            f"({length_m / 1000:.1f} km a {params.default_boat_kmh:g} km/h)"
        )
    rows = []
    for suffix, (a, b) in (("inicio", (0, -1)), ("fin", (-1, 0))):
        rows.append(
            {
                "servicio_id": f"osm-{ferry.key}-{suffix}",
                "linea_id": f"osm-{ferry.key}",
                "linea": ferry.name,
                "origen": f"{ferry.name} ({suffix})",
                "origen_lat": f"{ferry.coords[a][1]:.6f}",
                "origen_lon": f"{ferry.coords[a][0]:.6f}",
                "destino": f"{ferry.name} ({'fin' if suffix == 'inicio' else 'inicio'})",
                "destino_lat": f"{ferry.coords[b][1]:.6f}",
                "destino_lon": f"{ferry.coords[b][0]:.6f}",
                "terminales_fuente": f"OSM {ferry.ref}",
                "modo": "transbordador" if ferry.vehicles else "lancha",
                "modo_fuente": "supuesto",
                "transporta": "vehiculos_y_pasajeros" if ferry.vehicles else "solo_pasajeros",
                "transporta_fuente": f"OSM motor_vehicle/motorcar ({ferry.ref})",
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
    return rows, note


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
    ferries = _fetched_ferries(ox.features_from_polygon(area, {"route": "ferry"}))
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


def _fetched_ferries(features) -> tuple[list[_Ferry], list[str]]:
    """Ferry pieces of Overpass features (ways and relations), joined as `_join_ferries` does."""
    import shapely

    pieces: list[_Piece] = []
    relations: dict[int, dict[str, str]] = {}
    members: dict[int, list[int]] = {}
    fake = -1  # relation parts get negative way ids; nodes are keyed by their rounded coords
    for (kind, osm_id), row in features.iterrows():
        tags = {k: row.get(k) for k in _FERRY_TAGS if isinstance(row.get(k), str)}
        parts = [g for g in shapely.get_parts(row.geometry) if g.geom_type == "LineString"]
        if kind == "relation":
            relations[int(osm_id)] = tags
        for part in parts:
            coords = [tuple(c) for c in shapely.get_coordinates(part).tolist()]
            nodes = [hash((round(x, 7), round(y, 7))) for x, y in coords]
            way_id = int(osm_id) if kind == "way" else fake
            if kind != "way":
                fake -= 1
                members.setdefault(way_id, []).append(int(osm_id))
            pieces.append(_Piece(way_id, nodes, coords, tags if kind == "way" else {}))
    return _join_ferries(pieces, relations, members)


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
        "places": [p for p in places if p.get("kind") != "land"],
        "land": [p for p in places if p.get("kind") == "land"],
        "notes": notes,
        "n_ferry_lines": len(ferries[0]),
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
        land=[(p["name"], [tuple(c) for c in p["ring"]]) for p in meta.get("land", [])],
    )
