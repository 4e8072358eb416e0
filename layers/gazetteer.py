"""Gazetteer of named places: several sources, each with provenance, merged with conflicts.

An `Entry` is one named point as one source gives it; a `Place` is what the
geocoder matches: the entries of one name in one comuna, merged. Sources
(`SOURCES`, each with its licence and the attribution the app must show):

- ``deis``: rural health posts (their names, and ``Sector X`` in their address),
  DEIS/Minsal;
- ``mineduc``: rural school names (``Escuela Rural Quilar``), Mineduc 2025; a name
  of three or more words with no place word in it (``Escuela Rural Juan Victorino
  Tangol``) is a person's name and only enters when another source confirms it;
- ``censo``: towns (the largest Censo 2017 urban zone of each comuna);
- ``islas``: named islands (comuna polygons + ``islas_nombres.csv``);
- ``wof``: Who's On First / GeoNames localities (``localidades_wof_chiloe.csv``,
  approximate points, see ``data/chiloe/PROVENANCE.md``);
- ``osm``: OpenStreetMap ``place=village|hamlet|isolated_dwelling|locality|farm|
  island|islet`` (and ``town``/``city`` as towns) of a built network;
- ``importado``: a file the team imports (`read_gazetteer_file`: name, comuna,
  lat, lon, source; all or nothing);
- ``confirmado``: what the team confirmed (`ConfirmedPlace`: a pin or a good GPS
  fix for an address naming a sector, or a correction made on the places page).

Merging (`merge_entries`): entries are grouped by comuna and by the name without
its leading common words (``La Chacra`` and ``Chacra``, ``Pid Pid`` and
``Pidpid``: `core_key`). Inside a group, entries closer than `CONFLICT_M` to one
another form a cluster; the main cluster is the confirmed one, else the town's
Censo point, else the one most sources agree on. The place's point is the
newest team correction, else the mean of the confirmed pins, else the Censo
point, else the mean of one point per source. Entries outside the main cluster
make a *conflict*: the place says how far the other source puts it and the
geocoder lowers its confidence. Retired entries (by ``ref``) are left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein

from layers.intake import IntakeError
from layers.intake import normalize_text
from layers.intake import read_table
from layers.territory import COMUNA_TOWNS
from layers.territory import METRIC_CRS
from layers.territory import WGS84
from layers.territory import Territory
from layers.territory import place_names

__all__ = [
    "COMMON_WORDS",
    "CONFLICT_M",
    "GOOD_GPS_M",
    "GPS_ORIGINS",
    "OSM_PLACE_KINDS",
    "SOURCES",
    "WOF_FILE",
    "ConfirmedPlace",
    "Entry",
    "Gazetteer",
    "GazetteerError",
    "Landmark",
    "Place",
    "Source",
    "build_gazetteer",
    "compact",
    "comunas_of_points",
    "core_key",
    "landmarks",
    "merge_entries",
    "osm_entries",
    "places_table",
    "read_gazetteer_file",
    "territory_entries",
    "wof_entries",
]

# Two points of one name farther apart than this are a conflict (issue 18).
CONFLICT_M = 2000.0
# A GPS fix becomes a gazetteer entry only when its accuracy is this good or better.
GOOD_GPS_M = 100.0
WOF_FILE = "localidades_wof_chiloe.csv"
# OpenStreetMap `place` values taken as localities, islands and towns.
OSM_PLACE_KINDS: dict[str, str] = {
    "village": "localidad",
    "hamlet": "localidad",
    "isolated_dwelling": "localidad",
    "locality": "localidad",
    "farm": "localidad",
    "island": "isla",
    "islet": "isla",
    "town": "pueblo",
    "city": "pueblo",
}
# Leading words that do not tell one place from another: «Sector Los Ángeles» is «Ángeles».
COMMON_WORDS = frozenset(
    {
        "el", "la", "los", "las", "lo", "san", "santa", "santo", "sector", "villa",
        "poblacion", "isla", "islote", "puerto", "caleta", "colonia", "lugar", "localidad",
        "fundo", "comunidad", "de", "del",
    }
)  # fmt: skip
_SAINTS = frozenset({"san", "santa", "santo"})
_NOT_A_NAME = frozenset({"isla", "islote", "sector", "localidad", "lugar"})

# The attribution WOF asks for (data/chiloe/PROVENANCE.md keeps its English text), in
# Spanish for the users: the licensors, works and links are the same, names as they are.
WOF_ATTRIBUTION = (
    "Datos de Who's On First (licencia: "
    "https://github.com/whosonfirst-data/whosonfirst-data-admin-cl/blob/master/LICENSE.md). "
    "Incluye datos de GeoNames (http://www.geonames.org, CC-BY) y de foursquare "
    "quattroshapes (https://github.com/foursquare/quattroshapes/, CC-BY). Global Map of Chile "
    "© International Steering Committee for Global Mapping / Instituto Geográfico Militar de "
    "Chile. Yahoo! GeoPlanet."
)


@dataclass(frozen=True)
class Source:
    """One kind of gazetteer source: label shown to users, licence, attribution, priority.

    `priority` orders sources when nothing else decides (0 first): team
    corrections, then the team's imported file, then the records with a
    building at the point (health posts, schools), then towns, OSM and WOF.
    """

    label: str
    licence: str
    attribution: str
    priority: int


SOURCES: dict[str, Source] = {
    "confirmado": Source("Confirmado por el equipo (pin a mano, GPS o corrección)",
                         "datos propios", "", 0),
    "importado": Source("Nomenclátor importado por el equipo (fuente declarada en cada fila)",
                        "según la fuente declarada", "", 1),
    "deis": Source("Establecimientos de salud DEIS, Minsal (nombres de postas y direcciones "
                   "«Sector …», marzo 2026)", "datos abiertos Minsal", "", 2),
    "mineduc": Source("Directorio Oficial de Establecimientos Mineduc 2025 (nombres de escuelas "
                      "rurales)", "datos abiertos Mineduc", "", 3),
    "censo": Source("Zonas urbanas del Censo 2017 (INE, vía chilemapas)", "GPL-3 (chilemapas)",
                    "", 4),
    "osm": Source("Lugares de OpenStreetMap (place=village, hamlet, locality…)", "ODbL 1.0",
                  "© colaboradores de OpenStreetMap", 5),
    "wof": Source("Who's On First / GeoNames (puntos aproximados)",
                  "CC0 + CC-BY (GeoNames, Quattroshapes)", WOF_ATTRIBUTION, 6),
    "islas": Source("Islas: polígonos comunales chilemapas y islas_nombres.csv", "GPL-3", "", 7),
}  # fmt: skip


class GazetteerError(ValueError):
    """A gazetteer file or entry is invalid; `problems` lists every problem in Spanish."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"El nomenclátor tiene {len(self.problems)} problema(s); no se guardó nada:"
        super().__init__("\n- ".join([head, *self.problems]))


# -- names ---------------------------------------------------------------------
def compact(key: str) -> str:
    """Return a normalised name without spaces (``pid pid`` and ``pidpid`` are one name)."""
    return key.replace(" ", "")


def core_key(key: str) -> str:
    """Return the compact name without its leading common words (`COMMON_WORDS`).

    ``los angeles`` → ``angeles``, ``villa quenac`` → ``quenac``. A name made
    only of common words keeps them all (``la villa`` → ``lavilla``), and so
    does one whose rest would be too short to tell places apart (under 4
    letters, or 6 after a saint: ``san jose`` stays ``sanjose``).
    """
    words = key.split()
    saint = False
    while len(words) > 1 and words[0] in COMMON_WORDS:
        saint = saint or words[0] in _SAINTS
        words = words[1:]
    rest = "".join(words)
    if not words or set(words) <= COMMON_WORDS or len(rest) < (6 if saint else 4):
        return compact(key)
    return rest


def _strip_prefix(name: str, pattern: re.Pattern) -> str:
    """Remove a normalised prefix from an original name, keeping its accents and case."""
    found = pattern.match(normalize_text(name))
    if not found:
        return name.strip()
    n_words = len(found.group(0).split())
    tokens = name.split()
    taken = 0
    while tokens and taken < n_words:
        taken += len(normalize_text(tokens[0]).split())
        tokens = tokens[1:]
    return " ".join(tokens)


_CONNECTORS = frozenset({"de", "del", "la", "las", "los", "el", "y", "o"})


def _title(name: str) -> str:
    """Title-case a name written all in capitals or all in lower case (connectors lower)."""
    if not (name.isupper() or name.islower()):
        return name
    words = name.lower().split()
    return " ".join(
        w if i and w in _CONNECTORS else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _accents(text: str) -> int:
    return sum(not c.isascii() for c in text)


# -- entries and places ----------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One named point as one source gives it.

    Attributes
    ----------
    name
        The name as written (accents kept) for display.
    lon, lat
        WGS84.
    kind
        ``localidad``, ``pueblo`` or ``isla``.
    comuna
        Normalised comuna name (`normalize_text`); ``""`` for any comuna
        (islands, networks without comunas), ``"-"`` outside the territory.
    family
        Key of `SOURCES`.
    ref
        Stable reference of the source record (``WOF 1277046553``, ``DEIS
        133512``, ``RBD 8169``, ``OSM node 123``): what a correction retires.
    aliases
        Other ways the source writes the name (checked by `merge_entries`).
    note
        What the user should know about this point (``±1 km``, the declared source).
    extent_m
        Farthest distance from the point to the place's edge (islands), 0 if unknown.
    needs_corroboration
        Enters only when another source has the same name (school names that
        look like a person's name).
    address_key
        For team confirmations: the normalised address of the home it came from.
    when
        For team confirmations: when it was made.
    """

    name: str
    lon: float
    lat: float
    kind: str
    comuna: str
    family: str
    ref: str
    aliases: tuple[str, ...] = ()
    note: str = ""
    extent_m: float = 0.0
    needs_corroboration: bool = False
    address_key: str = ""
    when: dt.datetime | None = None

    @property
    def key(self) -> str:
        """Normalised name."""
        return normalize_text(self.name)


@dataclass(frozen=True)
class Place:
    """One gazetteer place: the merged entries of one name in one comuna (or one street).

    The first eight fields are those of the single-source gazetteer the app
    stored before (name, key, point, kind, comuna, source, street length).

    Attributes
    ----------
    kind
        ``localidad``, ``pueblo``, ``isla`` or ``calle``.
    source
        Short provenance text: the refs of the main cluster (``WOF 1293071993;
        DEIS 133512``).
    names
        Normalised names it answers to (every source's spelling, spaces kept).
    aliases
        Compact variant names it answers to with less confidence.
    refs
        Every entry's ref, main cluster first.
    families
        Sources whose points agree (within `CONFLICT_M`) on the place's point.
    conflict_m
        Distance to the farthest entry of another cluster (0: no conflict).
    spread_m
        Largest distance in metres between two entries of the main cluster (0
        with one entry): how tightly the sources that agree agree. The geocoder
        gives «alta» only to a name two sources put within
        `layers.geocode.AGREE_WITHIN_M` of each other.
    conflict
        Spanish note on the conflict ("" when none).
    outliers
        Refs of the entries outside the main cluster (the sources that disagree).
    extent_m
        See `Entry.extent_m`.
    confirmed
        Whether the point comes from the team.
    confirmed_addresses
        Normalised addresses whose home the team confirmed at this point.
    """

    name: str
    key: str
    lon: float
    lat: float
    kind: str
    comuna: str
    source: str
    length_m: float = 0.0
    names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    conflict_m: float = 0.0
    conflict: str = ""
    outliers: tuple[str, ...] = ()
    extent_m: float = 0.0
    confirmed: bool = False
    confirmed_addresses: frozenset[str] = field(default_factory=frozenset)
    spread_m: float = 0.0

    @property
    def agree(self) -> int:
        """Number of sources that agree on the point."""
        return len(self.families)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (scalar haversine, as `routing._geo.haversine_m`)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def _clusters(entries: list[Entry]) -> list[list[Entry]]:
    """Single-linkage clusters of entries closer than `CONFLICT_M`."""
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(entries):
        for j in range(i + 1, len(entries)):
            b = entries[j]
            if _metres(a.lon, a.lat, b.lon, b.lat) <= CONFLICT_M:
                parent[find(i)] = find(j)
    groups: dict[int, list[Entry]] = defaultdict(list)
    for i, entry in enumerate(entries):
        groups[find(i)].append(entry)
    return list(groups.values())


def _priority(family: str) -> int:
    return SOURCES[family].priority if family in SOURCES else len(SOURCES)


def _main_cluster(clusters: list[list[Entry]]) -> list[Entry]:
    def rank(cluster: list[Entry]):
        families = {e.family for e in cluster}
        newest = max((e.when for e in cluster if e.when), default=None)
        return (
            "confirmado" in families,
            newest.timestamp() if newest else 0.0,
            "censo" in families,
            len(families),
            -min(_priority(f) for f in families),
            len(cluster),
        )

    return max(clusters, key=rank)


def _point(cluster: list[Entry]) -> tuple[float, float]:
    confirmed = [e for e in cluster if e.family == "confirmado"]
    if confirmed:
        corrections = [e for e in confirmed if not e.address_key and e.when]
        if corrections:
            newest = max(corrections, key=lambda e: e.when)
            return newest.lon, newest.lat
        return _mean(confirmed)
    town = [e for e in cluster if e.family == "censo"]
    if town:
        return town[0].lon, town[0].lat
    by_family: dict[str, list[Entry]] = defaultdict(list)
    for entry in cluster:
        by_family[entry.family].append(entry)
    points = [_mean(group) for group in by_family.values()]
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


def _spread(cluster: list[Entry]) -> float:
    """Largest distance in metres between two entries of `cluster` (0 with one)."""
    return max(
        (
            _metres(a.lon, a.lat, b.lon, b.lat)
            for i, a in enumerate(cluster)
            for b in cluster[i + 1 :]
        ),
        default=0.0,
    )


def _mean(entries: list[Entry]) -> tuple[float, float]:
    return (
        sum(e.lon for e in entries) / len(entries),
        sum(e.lat for e in entries) / len(entries),
    )


_BUILDING_WORDS = frozenset(
    {"escuela", "capilla", "iglesia", "estero", "colegio", "liceo", "posta", "lago", "rio"}
)


def _usable_alias(alias: str, own: set[str], primary: set[str], counts: Counter) -> str:
    """Return the compact alias if it is a safe variant of one of `own` names, else ""."""
    key = normalize_text(alias)
    short = compact(key)
    if len(short) < 4 or not key or key.split()[0] in _BUILDING_WORDS:
        return ""
    if short in own or (short in primary) or counts[short] > 1:
        return ""
    core = core_key(key)
    for name in own:
        if short in name or name in short or core == name:
            return short
        if DamerauLevenshtein.distance(short, name, score_cutoff=2) <= 2:
            return short
    return ""


def merge_entries(entries: Iterable[Entry], *, retired: Iterable[str] = ()) -> list[Place]:
    """Merge entries into places (see module docstring).

    Parameters
    ----------
    entries
        Entries of every source.
    retired
        Refs left out (entries retired on the places page).

    Returns
    -------
    list of Place
        One per (comuna, kind class, `core_key`) group, in a stable order.
    """
    gone = set(retired)
    kept = [e for e in entries if e.ref not in gone and normalize_text(e.name)]
    primary = {compact(e.key) for e in kept}
    counts: Counter = Counter()
    for entry in kept:
        counts.update({compact(normalize_text(a)) for a in entry.aliases})
    groups: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for entry in kept:
        klass = "isla" if entry.kind == "isla" else "lugar"
        groups[(entry.comuna, klass, core_key(entry.key))].append(entry)
    places = []
    for (comuna, _klass, _core), members in sorted(groups.items()):
        if len({e.family for e in members}) == 1:  # nobody else confirms a person-like name
            members = [e for e in members if not e.needs_corroboration]
        if members:
            places.append(_merge_group(comuna, members, primary, counts))
    return places


def _merge_group(comuna: str, members: list[Entry], primary: set[str], counts: Counter) -> Place:
    clusters = _clusters(members)
    main = _main_cluster(clusters)
    lon, lat = _point(main)
    others = [e for e in members if e not in main]
    families = tuple(sorted({e.family for e in main}, key=_priority))
    confirmed = "confirmado" in families
    kind = (
        "pueblo"
        if any(e.kind == "pueblo" for e in main)
        else "isla"
        if all(e.kind == "isla" for e in members)
        else "localidad"
    )
    conflict_m, conflict = 0.0, ""
    if others:
        far = sorted((_metres(lon, lat, e.lon, e.lat), e.ref) for e in others)
        lo, hi = far[0][0] / 1000, far[-1][0] / 1000
        span = f"{lo:.1f}".replace(".", ",") + (
            f"–{hi:.1f}".replace(".", ",") if hi - lo >= 0.05 else ""
        )
        refs = ", ".join(ref for _, ref in far[:3]) + ("…" if len(far) > 3 else "")
        who = "otra fuente lo ubica" if len(far) == 1 else f"{len(far)} fuentes lo ubican"
        conflict = f"{who} a {span} km ({refs})"
        if confirmed:
            conflict = f"confirmado por el equipo; {conflict}"
        elif kind != "pueblo":  # a town's point is its Censo urban zone
            conflict_m = far[-1][0]
    display = max(
        main,
        key=lambda e: (
            e.family == "confirmado",
            e.key.split()[0] not in _NOT_A_NAME,  # «Linlin» rather than «Isla Lin-Lin»
            -sum(not (c.isalnum() or c == " ") for c in e.name),  # «Pid Pid», not «Pid - Pid»
            _accents(e.name),
            -_priority(e.family),
            -len(e.name),
        ),
    ).name
    own = {compact(e.key) for e in members} | {core_key(e.key) for e in members}
    alias_keys = {
        alias
        for e in members
        for a in e.aliases
        if (alias := _usable_alias(a, own, primary, counts))
    }
    refs = tuple(dict.fromkeys([e.ref for e in main] + [e.ref for e in others]))
    shown = "; ".join(refs[:4]) + (f" y {len(refs) - 4} más" if len(refs) > 4 else "")
    return Place(
        name=display,
        key=normalize_text(display),
        lon=lon,
        lat=lat,
        kind=kind,
        comuna=comuna,
        source=shown,
        names=tuple(sorted({e.key for e in members})),
        aliases=tuple(sorted(alias_keys)),
        refs=refs,
        families=families,
        conflict_m=conflict_m,
        conflict=conflict,
        outliers=tuple(dict.fromkeys(e.ref for e in others)),
        extent_m=max(e.extent_m for e in members),
        confirmed=confirmed,
        confirmed_addresses=frozenset(e.address_key for e in main if e.address_key),
        spread_m=_spread(main),
    )


# -- source readers --------------------------------------------------------------
# Prefixes of establishment names that are not part of the locality.
_PREFIXES = re.compile(
    r"^(posta de salud rural|centro comunitario de salud familiar|centro de salud familiar|"
    r"estacion medico rural|escuela rural particular|escuela rural|escuela basica|"
    r"escuela particular(?: n \d+)?|escuela de|escuela|colegio|liceo|complejo educacional|"
    r"sector rural|sector)\s+"
)
# Words that make a school name a place name rather than a person's (see module docstring).
_PLACE_WORDS = frozenset(
    {
        "de", "del", "san", "santa", "santo", "villa", "alto", "alta", "bajo", "baja", "isla",
        "punta", "bahia", "puerto", "rio", "morro", "cerro", "lago", "playa", "central",
    }
)  # fmt: skip
_HEALTH_NAMED = ("posta", "emr")


def _without_comuna(name: str, comuna: str) -> str:
    """Drop a trailing ``(Comuna)`` or comuna name: ``Candelaria (Quellón)`` → ``Candelaria``."""
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()
    tokens = name.split()
    for k in range(1, len(tokens)):
        if comuna and normalize_text(" ".join(tokens[k:])) == comuna:
            return " ".join(tokens[:k])
    return name


def _names(text: str) -> list[str]:
    """Split ``Punta Liles o Laitec`` into its alternative names; ``Pid - Pid`` is ``Pid Pid``."""
    text = re.sub(r"\s+-\s+", " ", text)
    return [part.strip() for part in re.split(r"\s+o\s+", text) if part.strip()]


def territory_entries(territory: Territory) -> list[Entry]:
    """Entries from the bundled territory: health posts, rural schools, towns, islands.

    Returns
    -------
    list of Entry
        Families ``deis``, ``mineduc``, ``censo`` and ``islas``.
    """
    entries: list[Entry] = []
    health = territory.health.to_crs(WGS84)
    for row in health.itertuples():
        comuna = normalize_text(row.comuna_name)
        ref = f"DEIS {row.health_id}"
        address = (row.address or "").strip()
        if normalize_text(address).startswith("sector "):
            # "Sector Rural San José. Isla Tranqui" -> "San José"
            rest = _strip_prefix(address, _PREFIXES)
            first = re.split(r"[,.]|\s+[Ii]sla\s+", rest)[0].strip()
            for name in _names(_without_comuna(first, comuna)):
                entries.append(
                    Entry(_title(name), row.geometry.x, row.geometry.y, "localidad", comuna,
                          "deis", ref, note="dirección del establecimiento")
                )  # fmt: skip
        has_sector = normalize_text(address).startswith("sector ")
        if row.kind in _HEALTH_NAMED or (row.kind == "cecosf" and not has_sector):
            name = _without_comuna(_strip_prefix(row.name, _PREFIXES), comuna)
            for part in _names(name):
                entries.append(
                    Entry(_title(part), row.geometry.x, row.geometry.y, "localidad", comuna,
                          "deis", ref, note="nombre del establecimiento")
                )  # fmt: skip
    schools = territory.schools[territory.schools["has_location"]].to_crs(WGS84)
    for row in schools[schools["is_rural"]].itertuples():
        comuna = normalize_text(row.comuna_name)
        name = _title(_without_comuna(_strip_prefix(row.name, _PREFIXES), comuna))
        words = normalize_text(name).split()
        if not words or any(w.isdigit() for w in words):
            continue  # «Amanecer 2000» names a school, not a place
        person_like = len(words) >= 3 and not set(words) & _PLACE_WORDS
        entries.append(
            Entry(name, row.geometry.x, row.geometry.y, "localidad", comuna, "mineduc",
                  f"RBD {row.rbd}", note="nombre de la escuela",
                  needs_corroboration=person_like)
        )  # fmt: skip
    # towns only: place_names also gives a town's comuna name when it differs (Quinchao/Achao)
    towns = {
        normalize_text(COMUNA_TOWNS.get(c, c)): normalize_text(c)
        for c in territory.comunas["comuna_name"]
    }
    for name, lon, lat, kind in place_names(territory):
        if kind == "pueblo" and normalize_text(name) in towns:
            entries.append(
                Entry(name, lon, lat, "pueblo", towns[normalize_text(name)], "censo",
                      f"Censo 2017 zona urbana {name}", note="zona urbana más poblada de la comuna")
            )  # fmt: skip
    entries.extend(_island_entries(territory))
    return entries


def _island_entries(territory: Territory) -> list[Entry]:
    import geopandas as gpd
    import shapely

    islands = territory.islands.to_crs(METRIC_CRS)
    named = islands[~islands["name"].str.startswith("Isla sin nombre")]
    points = named.geometry.representative_point()
    # farthest point of the coast from the island's point: how far a case on it can be
    extents = shapely.hausdorff_distance(points.values, named.geometry.boundary.values)
    lonlat = gpd.GeoSeries(points, crs=METRIC_CRS).to_crs(WGS84)
    return [
        Entry(name, point.x, point.y, "isla", "", "islas", f"{name} (polígono comunal)",
              note="punto interior de la isla", extent_m=float(extent))
        for name, point, extent in zip(named["name"], lonlat, extents, strict=True)
    ]  # fmt: skip


# WOF records known to be wrong (README of the data, section 8): the second
# "Dalcahue" with the same GeoNames id, 17.7 km north of the one 1.2 km from the CESFAM.
_WOF_EXCLUDED = {"102018059"}
_WOF_COLUMNS = ("wof_id", "name", "names_spa", "names_und_variant", "placetype", "lat", "lon",
                "comuna_name", "notes")  # fmt: skip


def wof_entries(path: str | Path) -> list[Entry]:
    """Entries from the Who's On First localities file (see ``data/chiloe/PROVENANCE.md``).

    Keeps ``locality`` rows, drops the ones the file flags as doubtful, lakes
    and islands, and `_WOF_EXCLUDED`. The display name is ``names_spa`` when it
    only adds accents; ``names_und_variant`` become aliases (filtered when merged).

    Raises
    ------
    GazetteerError
        The file is missing or lacks a column.
    """
    path = Path(path)
    if not path.is_file():
        msg = (
            f"Falta el archivo {path.name} en {path.parent}; restaure data/chiloe del repositorio."
        )
        raise GazetteerError([msg])
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in _WOF_COLUMNS if c not in table.columns]
    if missing:
        raise GazetteerError([f"{path.name}: faltan las columnas {', '.join(missing)}."])
    entries = []
    for row in table.itertuples():
        notes = row.notes.lower()
        if (
            row.placetype != "locality"
            or "registro dudoso" in notes
            or "el nombre es de un lago" in notes
            or "el nombre es de una isla" in notes
            or row.wof_id in _WOF_EXCLUDED
        ):
            continue
        name = row.name
        for spa in row.names_spa.split(";"):
            if spa.strip() and normalize_text(spa) == normalize_text(name):
                name = spa.strip()
        note = "punto aproximado (GeoNames)"
        if "minutos de arco" in notes:
            note = "coordenadas en minutos enteros (±1 km)"
        elif "quattroshapes" in notes:
            note = "punto de etiqueta de una mancha de Quattroshapes (aproximado)"
        entries.append(
            Entry(name, float(row.lon), float(row.lat), "localidad",
                  normalize_text(row.comuna_name), "wof", f"WOF {row.wof_id}",
                  tuple(v.strip() for v in row.names_und_variant.split(";") if v.strip()), note)
        )  # fmt: skip
    return entries


def comunas_of_points(lons: list[float], lats: list[float], areas) -> list[str]:
    """Normalised comuna of each point; ``"-"`` outside every area, ``""`` without areas.

    `areas` is a GeoDataFrame with ``comuna_name`` (the territory's comunas).
    """
    if areas is None or not lons:
        return [""] * len(lons)
    import geopandas as gpd

    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs=WGS84)
    polygons = areas.to_crs(WGS84)[["comuna_name", "geometry"]]
    joined = gpd.sjoin(points, polygons, how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    return [normalize_text(c) if isinstance(c, str) else "-" for c in joined["comuna_name"]]


def osm_entries(places: Iterable[tuple], areas=None) -> list[Entry]:
    """Entries from the OpenStreetMap places of a built network (`routing.network.load_places`).

    Parameters
    ----------
    places
        ``(name, lon, lat, place, ref)`` (or without ``ref``); only the `place`
        values of `OSM_PLACE_KINDS` are kept.
    areas
        The territory's comunas, to give each place its comuna (see
        `comunas_of_points`); without them every place matches any comuna.
    """
    rows = []
    for item in places:
        name, lon, lat, place = item[:4]
        ref = item[4] if len(item) > 4 and item[4] else f"OSM {name}"
        if place in OSM_PLACE_KINDS and normalize_text(name):
            rows.append((name, float(lon), float(lat), OSM_PLACE_KINDS[place], ref))
    comunas = comunas_of_points([r[1] for r in rows], [r[2] for r in rows], areas)
    return [
        Entry(name, lon, lat, kind, "" if kind == "isla" else comuna, "osm", ref)
        for (name, lon, lat, kind, ref), comuna in zip(rows, comunas, strict=True)
    ]


# -- the team's own file ---------------------------------------------------------
_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "nombre": ("nombre", "name", "localidad", "lugar", "sector", "nombre lugar", "entidad"),
    "comuna": ("comuna", "nombre comuna", "comuna nombre"),
    "lat": ("lat", "latitud", "latitude", "y"),
    "lon": ("lon", "lng", "long", "longitud", "longitude", "x"),
    "fuente": ("fuente", "source", "origen", "fuente del punto"),
}
_FILE_LABELS = {"nombre": "nombre", "comuna": "comuna", "lat": "lat (latitud)",
                "lon": "lon (longitud)", "fuente": "fuente"}  # fmt: skip
# A point farther than this from its comuna's polygon is refused (coastal polygons are simplified).
_FILE_MAX_OFF_COMUNA_M = 3000.0


def _number(text: str) -> float | None:
    value = text.strip().replace(" ", "")
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_gazetteer_file(
    data: bytes,
    filename: str,
    *,
    comunas: Iterable[str],
    areas=None,
    bbox: tuple[float, float, float, float] | None = None,
) -> list[Entry]:
    """Read a gazetteer file the team imports: all rows valid, or nothing.

    The file (CSV with ``;`` or ``,``, or XLSX) has the columns ``nombre``,
    ``comuna``, ``lat``, ``lon`` and ``fuente`` (English names and common
    variants are recognised), one row per place; decimal commas are accepted.

    Parameters
    ----------
    data, filename
        The uploaded file.
    comunas
        The territory's comuna names, as shown to users.
    areas
        The comunas' polygons (``comuna_name``); when given, a point more than
        3 km outside its comuna is refused.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` of the territory.

    Returns
    -------
    list of Entry
        Family ``importado``; ``ref`` is ``"<file> fila <n>"``, ``note`` the declared source.

    Raises
    ------
    GazetteerError
        Every problem, row by row, in Spanish; nothing is returned.
    """
    try:
        table = read_table(data, filename)
    except IntakeError as err:
        raise GazetteerError([str(err)]) from err
    columns = _file_columns(table.headers)
    known = {normalize_text(c): c for c in comunas}
    polygons = {}
    if areas is not None:
        metric = areas.to_crs(METRIC_CRS)
        polygons = dict(zip(metric["comuna_name"].map(normalize_text), metric.geometry,
                            strict=True))  # fmt: skip
    problems: list[str] = []
    entries: list[Entry] = []
    seen: dict[tuple, int] = {}
    for number, row in zip(table.row_numbers, table.rows, strict=True):
        cells = {f: (row[i] if i < len(row) else "").strip() for f, i in columns.items()}
        if not any(cells.values()):
            continue
        row_problems = _check_row(cells, known, bbox) or _check_comuna(cells, polygons)
        key = (normalize_text(cells["nombre"]), normalize_text(cells["comuna"]),
               _number(cells["lat"]), _number(cells["lon"]))  # fmt: skip
        if not row_problems and key in seen:
            row_problems = [f"repite la fila {seen[key]}; deje una sola"]
        seen.setdefault(key, number)
        if row_problems:
            problems.append(f"Fila {number}: " + "; ".join(row_problems) + ".")
            continue
        entries.append(
            Entry(cells["nombre"], key[3], key[2], "localidad", key[1], "importado",
                  f"{filename} fila {number}", note=f"fuente: {cells['fuente']}")
        )  # fmt: skip
    if problems:
        raise GazetteerError(problems)
    if not entries:
        raise GazetteerError(["El archivo no tiene filas con lugares; nada que importar."])
    return entries


def _file_columns(headers: list[str]) -> dict[str, int]:
    """Column of each field of the team's file, or `GazetteerError` naming the missing ones."""
    normalised = [normalize_text(h) for h in headers]
    columns: dict[str, int] = {}
    for field_name, names in _FILE_COLUMNS.items():
        for i, header in enumerate(normalised):
            if header in names and i not in columns.values():
                columns[field_name] = i
                break
    missing = [_FILE_LABELS[f] for f in _FILE_COLUMNS if f not in columns]
    if missing:
        msg = (
            f"Faltan las columnas {', '.join(missing)}. El archivo debe tener las columnas "
            "nombre, comuna, lat, lon y fuente (en cualquier orden; la primera fila con los "
            f"nombres de columna). Columnas encontradas: {', '.join(headers) or '(ninguna)'}."
        )
        raise GazetteerError([msg])
    return columns


def _check_row(cells: dict[str, str], known: dict[str, str], bbox) -> list[str]:
    problems = []
    name = cells["nombre"]
    if not name:
        problems.append("falta el nombre del lugar")
    elif not normalize_text(name) or normalize_text(name).replace(" ", "").isdigit():
        problems.append(f"el nombre {name!r} no es un nombre de lugar (solo números o signos)")
    if not cells["comuna"]:
        problems.append("falta la comuna")
    elif normalize_text(cells["comuna"]) not in known:
        options = ", ".join(sorted(known.values()))
        problems.append(
            f"la comuna {cells['comuna']!r} no es del territorio (use una de: {options})"
        )
    problems += _check_point(cells, bbox)
    if not cells["fuente"]:
        problems.append(
            "falta la fuente (de dónde viene el punto, por ejemplo «INE, entidades rurales 2017»)"
        )
    return problems


def _check_point(cells: dict[str, str], bbox) -> list[str]:
    problems = []
    lat, lon = _number(cells["lat"]), _number(cells["lon"])
    for label, text, value, limit in (("latitud", cells["lat"], lat, 90), ("longitud",
                                      cells["lon"], lon, 180)):  # fmt: skip
        if not text:
            problems.append(f"falta la {label}")
        elif value is None or abs(value) > limit:
            problems.append(
                f"la {label} {text!r} no es un número en grados decimales "
                "(por ejemplo -42.4805; no use grados y minutos)"
            )
    if problems or bbox is None:
        return problems
    min_lon, min_lat, max_lon, max_lat = bbox
    if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
        return []
    if min_lat <= lon <= max_lat and min_lon <= lat <= max_lon:
        hint = "latitud y longitud parecen invertidas"
    else:
        hint = "revise el signo negativo y que latitud y longitud no estén invertidas"
    return [f"el punto ({lat}, {lon}) está fuera del territorio: {hint}"]


def _check_comuna(cells: dict[str, str], polygons: dict) -> list[str]:
    import shapely
    from pyproj import Transformer

    polygon = polygons.get(normalize_text(cells["comuna"]))
    if polygon is None:
        return []
    transformer = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    x, y = transformer.transform(_number(cells["lon"]), _number(cells["lat"]))
    off = float(polygon.distance(shapely.Point(x, y)))
    if off <= _FILE_MAX_OFF_COMUNA_M:
        return []
    km = f"{off / 1000:.1f}".replace(".", ",")
    return [
        f"el punto queda a {km} km de la comuna {cells['comuna']}: revise la comuna o las "
        "coordenadas"
    ]


# -- what the team confirms ------------------------------------------------------
_CONFIRM_ORIGINS = {
    "pin": "pin puesto a mano",
    "gps": "ubicación GPS en terreno",
    "correccion": "corrección en la página Lugares",
    "visita": "gps de visita",
}
# Origins whose point is a phone's fix: they need an accuracy of `GOOD_GPS_M` or better.
GPS_ORIGINS = ("gps", "visita")


@dataclass(frozen=True)
class ConfirmedPlace:
    """A place the team confirmed; becomes a gazetteer entry of family ``confirmado``.

    A pin placed by hand or a good GPS fix (accuracy ≤ `GOOD_GPS_M`) for a
    case whose address names a sector says where that sector is; a correction
    on the places page moves a place outright. Reviewable and removable: it
    carries who and when, and a retired one is left out of the gazetteer.

    Attributes
    ----------
    name
        The sector's name (as the gazetteer or the address writes it).
    comuna
        The comuna, as shown to users.
    lon, lat
        WGS84.
    origin
        ``pin``, ``gps``, ``visita`` (a gestor's visit fix a profesional
        accepted on the places page) or ``correccion``.
    who
        The account that confirmed it (a username: no personal data).
    when
        When (timezone-aware).
    address_key
        Normalised address + sector of the home it came from (``""`` for a
        correction): a case with the same address is placed on it with
        high confidence.
    accuracy_m
        GPS accuracy in metres (``gps`` and ``visita`` only).
    place_id
        Storage id, once stored.
    retired
        Whether it was removed (kept for the record).
    """

    name: str
    comuna: str
    lon: float
    lat: float
    origin: str
    who: str
    when: dt.datetime
    address_key: str = ""
    accuracy_m: float | None = None
    place_id: int | None = None
    retired: bool = False

    def __post_init__(self) -> None:
        """Check the fields (Spanish messages: they reach the user)."""
        problems = []
        if not normalize_text(self.name):
            problems.append("falta el nombre del sector")
        if self.origin not in _CONFIRM_ORIGINS:
            problems.append(
                f"origen {self.origin!r} desconocido (use pin, gps, visita o correccion)"
            )
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            problems.append(f"coordenadas inválidas ({self.lat}, {self.lon})")
        if self.origin in GPS_ORIGINS and (self.accuracy_m is None or self.accuracy_m > GOOD_GPS_M):
            shown = "desconocida" if self.accuracy_m is None else f"de {self.accuracy_m:.0f} m"
            problems.append(
                f"la precisión del GPS es {shown}; para confirmar un sector se necesita "
                f"{GOOD_GPS_M:.0f} m o menos (espere a que el teléfono afine la señal)"
            )
        if not self.who:
            problems.append("falta quién confirma")
        if self.when.tzinfo is None:
            problems.append("la fecha debe tener zona horaria")
        if problems:
            raise GazetteerError(problems)

    @property
    def ref(self) -> str:
        """Stable reference (``confirmado 12`` once stored)."""
        if self.place_id is not None:
            return f"confirmado {self.place_id}"
        return f"confirmado {self.who} {self.when.isoformat(timespec='seconds')}"

    def entry(self) -> Entry:
        """Return the gazetteer entry of this confirmation."""
        when = self.when.astimezone(dt.UTC).strftime("%Y-%m-%d")
        return Entry(
            self.name,
            self.lon,
            self.lat,
            "localidad",
            normalize_text(self.comuna),
            "confirmado",
            self.ref,
            note=f"{_CONFIRM_ORIGINS[self.origin]} por {self.who} el {when}",
            address_key=self.address_key,
            when=self.when,
        )


def address_key(address: str, sector: str = "") -> str:
    """Normalised address + sector, the key of a confirmed home (`ConfirmedPlace.address_key`)."""
    return normalize_text(f"{address} {sector}".replace("s/n", " ").replace("S/N", " "))


# -- landmarks -------------------------------------------------------------------
@dataclass(frozen=True)
class Landmark:
    """A building an address can be next to: «frente a la escuela Huyar Alto».

    Attributes
    ----------
    kind
        ``escuela`` (Mineduc directory) or ``salud`` (DEIS).
    key
        Compact name without its prefix (``huyaralto``).
    """

    kind: str
    key: str
    name: str
    lon: float
    lat: float
    comuna: str
    ref: str


def landmarks(territory: Territory) -> list[Landmark]:
    """Every located school and health establishment of the territory, by name."""
    out = []
    schools = territory.schools[territory.schools["has_location"]].to_crs(WGS84)
    for row in schools.itertuples():
        key = compact(normalize_text(_strip_prefix(row.name, _PREFIXES)))
        if key:
            out.append(Landmark("escuela", key, _title(row.name), row.geometry.x,
                                row.geometry.y, normalize_text(row.comuna_name),
                                f"RBD {row.rbd}"))  # fmt: skip
    health = territory.health.to_crs(WGS84)
    for row in health.itertuples():
        key = compact(normalize_text(_strip_prefix(row.name, _PREFIXES)))
        if key:
            comuna = normalize_text(row.comuna_name)
            out.append(Landmark("salud", key, row.name, row.geometry.x, row.geometry.y, comuna,
                                f"DEIS {row.health_id}"))  # fmt: skip
    return out


def places_table(places: Iterable[Place]) -> pd.DataFrame:
    """Return places as a table: name, comuna, point, kind, sources, agreement, conflict."""
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "key": p.key,
                "lon": p.lon,
                "lat": p.lat,
                "kind": p.kind,
                "comuna": p.comuna,
                "source": p.source,
                "length_m": p.length_m,
                "families": ",".join(p.families),
                "agree": p.agree,
                "conflict_m": p.conflict_m,
                "conflict": p.conflict,
                "spread_m": p.spread_m,
                "confirmed": p.confirmed,
            }
            for p in places
        ]
    )


# -- the gazetteer ---------------------------------------------------------------
@dataclass
class Gazetteer:
    """Entries of every source and the places merged from them."""

    entries: list[Entry]
    places: list[Place]
    retired: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[Entry], *, retired: Iterable[str] = ()) -> Gazetteer:
        """Merge `entries` (see `merge_entries`)."""
        entries = list(entries)
        retired = frozenset(retired)
        return cls(entries, merge_entries(entries, retired=retired), retired)

    def table(self) -> pd.DataFrame:
        """Return one row per place (see `places_table`)."""
        return places_table(self.places)

    def entries_of(self, place: Place) -> list[Entry]:
        """Return the entries merged into `place` (the places page shows and retires them)."""
        refs = set(place.refs)
        keys = set(place.names)
        return [
            e for e in self.entries if e.ref in refs and e.key in keys and e.ref not in self.retired
        ]

    def search(self, text: str, comuna: str = "", *, limit: int = 20) -> list[Place]:
        """Places whose name contains `text` (accents and case ignored), else the closest names."""
        wanted = compact(normalize_text(text))
        comuna_key = normalize_text(comuna)
        pool = [p for p in self.places if not comuna_key or p.comuna in (comuna_key, "")]
        hits = [p for p in pool if any(wanted in compact(n) for n in p.names)] if wanted else pool
        if hits or not wanted:
            return sorted(hits, key=lambda p: (p.comuna, p.key))[:limit]

        def distance(place: Place) -> float:
            return min(
                DamerauLevenshtein.normalized_distance(wanted, compact(n)) for n in place.names
            )

        scored = sorted((distance(p), p.key, p) for p in pool)
        return [p for d, _, p in scored if d <= 0.34][:limit]  # closest first

    def attributions(self) -> list[str]:
        """Attribution texts the app's sources panel must show, for the sources in use."""
        used = {e.family for e in self.entries}
        return [s.attribution for k, s in SOURCES.items() if k in used and s.attribution]


def build_gazetteer(
    territory: Territory,
    *,
    osm_places: Iterable[tuple] = (),
    imported: Iterable[Entry] = (),
    confirmed: Iterable[ConfirmedPlace] = (),
    retired: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> Gazetteer:
    """Gazetteer of the territory from every source (see module docstring).

    Parameters
    ----------
    territory
        The loaded territory; the WOF file is read from its ``data_dir``.
    osm_places
        Places of a built OSM network (`routing.network.load_places`).
    imported
        Entries of the team's imported files (`read_gazetteer_file`).
    confirmed
        The team's confirmations; retired ones are left out.
    retired
        Refs of entries retired on the places page.
    exclude
        Source families to leave out (the benchmark withholds one to measure).
    """
    left_out = set(exclude)
    entries = territory_entries(territory)
    if "wof" not in left_out:
        entries += wof_entries(territory.data_dir / WOF_FILE)
    entries += osm_entries(osm_places, territory.comunas)
    entries += list(imported)
    entries += [c.entry() for c in confirmed if not c.retired]
    entries = [e for e in entries if e.family not in left_out]
    return Gazetteer.from_entries(entries, retired=retired)
