"""Offline geocoding of rural addresses against a gazetteer built from the bundled data.

Chiloé's rural addresses rarely have a street and number: they name a *sector*
("Sector Huyar Alto s/n", "Camino a Chonchi km 4, Pid Pid"). The gazetteer
holds the named places our data knows, each with a point:

- localities in the DEIS health records (``Sector X`` addresses and the names of
  rural health posts, CECOSF and rural medical stations),
- localities in the names of rural schools (``Escuela Rural Quilar``),
- towns (the largest Censo urban zone of each comuna) and named islands,
- when an OpenStreetMap network is built, its named streets (``streets=``): a
  street is a connected run of road edges sharing a name, placed at its central
  edge (house numbers are not interpolated: OSM in Chiloé has almost none).

`Geocoder.locate` normalises an address (accents, case, abbreviations such as
Pje., Pob., Sect., s/n, km), looks for gazetteer names among its words (exact,
then tolerant of typos), prefers places of the case's comuna, and returns a
point with the method used and a score in 0–1. With nothing better it falls
back to the town (urban-looking addresses) and then to the school's own point,
flagged as such.

A numbered street address ("Pje. Los Aromos 123") goes to the street before any
locality; a street name without a number comes after the localities. When the
comuna has several streets of that name, the one nearest a place named in the
address (or the comuna's town) is taken, with a lower score unless it is the
only one within `STREET_NEAR_M` of that place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz import process

from layers.intake import normalize_text
from layers.territory import COMUNA_TOWNS
from layers.territory import Territory
from layers.territory import place_names

__all__ = ["CONFIDENCE", "METHODS", "Geocoder", "Location", "Place", "confidence"]

# method -> (label shown to users, base score)
METHODS: dict[str, tuple[str, float]] = {
    "manual": ("Ubicado a mano en el mapa", 1.0),
    "localidad": ("Sector o localidad reconocido", 0.9),
    "localidad_aprox": ("Sector o localidad con nombre parecido", 0.75),
    "calle": ("Calle reconocida en OpenStreetMap (punto central, sin número)", 0.7),
    "isla": ("Isla (sin sector reconocido)", 0.55),
    "pueblo": ("Pueblo de la comuna (dirección urbana sin calle conocida)", 0.4),
    "escuela": ("Ubicación de la escuela: dirección no reconocida", 0.2),
    "sin_ubicacion": ("Sin ubicación", 0.0),
}
CONFIDENCE = (("alta", 0.8), ("media", 0.5), ("baja", 0.0))

# Prefixes of place names in the sources that are not part of the locality.
_PREFIXES = re.compile(
    r"^(posta de salud rural|centro comunitario de salud familiar|centro de salud familiar|"
    r"estacion medico rural|escuela rural particular|escuela rural|escuela basica|"
    r"escuela particular(?: n \d+)?|escuela de|escuela|colegio|liceo|sector rural|sector)\s+"
)
_ABBREVIATIONS = {
    "pje": "pasaje",
    "psje": "pasaje",
    "pob": "poblacion",
    "pobl": "poblacion",
    "sect": "sector",
    "sec": "sector",
    "sctor": "sector",
    "cno": "camino",
    "cam": "camino",
    "av": "avenida",
    "avda": "avenida",
    "vla": "villa",
    "vll": "villa",
    "kilometro": "km",
    "kms": "km",
    "nro": "numero",
    "n": "numero",
}
# Words that describe an address but never name a place.
_NOISE = {
    "sector",
    "camino",
    "a",
    "al",
    "hacia",
    "km",
    "sn",
    "s",
    "numero",
    "casa",
    "lote",
    "parcela",
    "interior",
    "cruce",
    "frente",
    "rural",
    "calle",
    "avenida",
    "pasaje",
    "poblacion",
    "villa",
    "comuna",
    "de",
    "del",
    "la",
    "el",
    "los",
    "las",
    "y",
}
_URBAN_WORDS = {"pasaje", "poblacion", "villa", "calle", "avenida", "block", "depto"}
_MIN_FUZZY = 86  # rapidfuzz ratio needed to accept a misspelt place name
# Street names: type words dropped from the key; one-word names that are too
# common to identify a street on their own.
_STREET_TYPES = {"calle", "avenida", "pasaje", "camino", "psje", "pje"}
_STREET_VAGUE = {
    "norte", "sur", "oriente", "poniente", "centro", "alto", "bajo", "grande", "chico",
    "nuevo", "nueva", "viejo", "vieja", "principal", "costanera", "interior", "rural",
}  # fmt: skip
STREET_NEAR_M = 3000.0
_STREET_AMBIGUOUS_PENALTY = 0.15


def confidence(score: float) -> str:
    """``alta``, ``media`` or ``baja`` for a geocoding score."""
    return next(label for label, low in CONFIDENCE if score >= low)


@dataclass(frozen=True)
class Place:
    """One gazetteer entry."""

    name: str
    key: str
    lon: float
    lat: float
    kind: str  # "localidad" | "isla" | "pueblo" | "calle"
    comuna: str  # normalised comuna name ("" when it spans several or is unknown)
    source: str
    length_m: float = 0.0  # streets only


@dataclass(frozen=True)
class Location:
    """Where a case is placed, how and how sure we are."""

    lon: float | None
    lat: float | None
    method: str
    score: float
    matched: str = ""

    @property
    def confidence(self) -> str:
        """``alta``, ``media`` or ``baja``."""
        return confidence(self.score)


def _clean(text: str) -> list[str]:
    words = normalize_text(text.replace("s/n", " sn ").replace("S/N", " sn ")).split()
    return [_ABBREVIATIONS.get(w, w) for w in words]


def _place_key(name: str) -> str:
    return _PREFIXES.sub("", normalize_text(name)).strip()


def street_key(name: str) -> str:
    """Return the matching key of a street name (normalised, type word dropped).

    Abbreviations are expanded as in addresses. Returns "" for names that cannot
    identify a street (numbers, one vague word).
    """
    words = _clean(name)
    while words and words[0] in _STREET_TYPES:
        words = words[1:]
    if words and words[0] in {"de", "del", "a", "al"}:
        words = words[1:]
    if not words or any(w.isdigit() for w in words) or all(w in _NOISE for w in words):
        return ""
    if len(words) == 1 and (len(words[0]) < 4 or words[0] in _STREET_VAGUE):
        return ""
    return " ".join(words)


def street_places(
    streets: list[tuple[str, float, float, float]], areas=None, source: str = "OpenStreetMap"
) -> list[Place]:
    """Gazetteer entries for named streets ``(name, lon, lat, length_m)``.

    `areas` (a GeoDataFrame with ``comuna_name``) gives each street its comuna;
    streets outside every area get ``"-"`` so they never match a comuna's case.
    Without areas the comuna is unknown ("").
    """
    keep = [(street_key(name), name, lon, lat, length) for name, lon, lat, length in streets]
    keep = [row for row in keep if row[0]]
    comunas = [""] * len(keep)
    if areas is not None and keep:
        import geopandas as gpd

        points = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy([r[2] for r in keep], [r[3] for r in keep]),
            crs="EPSG:4326",
        )
        polygons = areas.to_crs("EPSG:4326")[["comuna_name", "geometry"]]
        joined = gpd.sjoin(points, polygons, how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        comunas = [normalize_text(c) if isinstance(c, str) else "-" for c in joined["comuna_name"]]
    return [
        Place(name, key, lon, lat, "calle", comuna, source, length)
        for (key, name, lon, lat, length), comuna in zip(keep, comunas, strict=True)
    ]


def _metres(a: Place | tuple[float, float], b: Place) -> float:
    lon, lat = (a.lon, a.lat) if isinstance(a, Place) else a
    dx = (lon - b.lon) * 111_320 * np.cos(np.radians(b.lat))
    dy = (lat - b.lat) * 110_540
    return float(np.hypot(dx, dy))


class Geocoder:
    """Gazetteer of the territory with an address matcher (see module docstring)."""

    def __init__(
        self,
        places: list[Place],
        schools: dict[int, tuple[float, float]],
        streets: list[Place] | None = None,
    ) -> None:
        self.places = places
        self.schools = schools
        self.streets = streets or []
        self._streets_by_key: dict[str, list[Place]] = {}
        for street in self.streets:
            self._streets_by_key.setdefault(street.key, []).append(street)
        self._max_street_words = max((len(k.split()) for k in self._streets_by_key), default=0)
        self._by_key: dict[str, list[Place]] = {}
        for place in places:
            self._by_key.setdefault(place.key, []).append(place)
        self._keys = list(self._by_key)
        self._towns = {p.comuna: p for p in places if p.kind == "pueblo"}
        self._max_words = max((len(k.split()) for k in self._keys), default=1)
        self._keys_by_comuna: dict[str, list[str]] = {}

    @classmethod
    def from_territory(
        cls, territory: Territory, streets: list[tuple[str, float, float, float]] | None = None
    ) -> Geocoder:
        """Build the gazetteer from the bundled territory layers.

        `streets` are the named streets of a built OpenStreetMap network
        (`routing.network.load_streets`); each takes the comuna it lies in.
        """
        places: list[Place] = []

        def locality(name: str, row, comuna: str, source: str) -> None:
            key = _place_key(name)
            if key and not key[0].isdigit():
                places.append(
                    Place(key.title(), key, row.geometry.x, row.geometry.y, "localidad", comuna,
                          source)
                )  # fmt: skip

        for row in territory.health.to_crs("EPSG:4326").itertuples():
            comuna = normalize_text(row.comuna_name)
            address = normalize_text(row.address or "")
            if address.startswith("sector "):
                # "Sector Rural San José. Isla Tranqui" -> the first part names the locality
                first = re.split(r"\s+isla\s+", address[len("sector ") :])[0]
                locality(first, row, comuna, f"DEIS {row.health_id} (dirección)")
            if row.kind in ("posta", "cecosf", "emr"):
                locality(row.name, row, comuna, f"DEIS {row.health_id} (nombre)")
        schools = territory.schools[territory.schools["has_location"]].to_crs("EPSG:4326")
        for row in schools[schools["is_rural"]].itertuples():
            locality(row.name, row, normalize_text(row.comuna_name), f"RBD {row.rbd} (nombre)")
        for name, lon, lat, kind in place_names(territory):
            key = normalize_text(name)
            if kind == "pueblo":
                comuna = _town_comuna(name)
                places.append(
                    Place(name, key, lon, lat, "pueblo", comuna, "Censo 2017 zona urbana")
                )
            else:
                places.append(Place(name, key, lon, lat, "isla", "", "polígonos comunales"))
                bare = re.sub(r"^isla ", "", key)
                if bare != key:
                    places.append(Place(name, bare, lon, lat, "isla", "", "polígonos comunales"))
        school_points = {
            int(row.rbd): (row.geometry.x, row.geometry.y) for row in schools.itertuples()
        }
        street_rows = street_places(streets or [], territory.comunas)
        return cls(places, school_points, street_rows)

    @classmethod
    def from_places(
        cls,
        places: list[tuple[str, float, float, str]],
        streets: list[tuple[str, float, float, float]],
    ) -> Geocoder:
        """Gazetteer of a built network alone: its OSM place names and streets (no comunas)."""
        entries = [
            Place(name, normalize_text(name), lon, lat,
                  "pueblo" if kind in {"city", "town"} else "localidad", "", "OpenStreetMap")
            for name, lon, lat, kind in places
            if normalize_text(name)
        ]  # fmt: skip
        return cls(entries, {}, street_places(streets))

    def table(self) -> pd.DataFrame:
        """Return the gazetteer as a table (one row per entry, streets included)."""
        return pd.DataFrame([p.__dict__ for p in [*self.places, *self.streets]])

    def locate(
        self,
        address: str = "",
        sector: str = "",
        comuna: str = "",
        rbd: int | None = None,
    ) -> Location:
        """Place an address; see the module docstring for the order of attempts."""
        comuna_key = normalize_text(comuna)
        address_words = _clean(address)
        found = self._named(address_words, _clean(sector), comuna_key)
        if found is not None:
            return found
        town = self._towns.get(comuna_key)
        if town is not None and (set(address_words) & _URBAN_WORDS or re.search(r"\d", address)):
            return self._location(town, "pueblo", 0.0)
        if rbd is not None and rbd in self.schools:
            lon, lat = self.schools[rbd]
            return Location(lon, lat, "escuela", METHODS["escuela"][1], f"RBD {rbd}")
        if town is not None:
            return self._location(town, "pueblo", -0.1)
        return Location(None, None, "sin_ubicacion", 0.0)

    def _named(
        self, address_words: list[str], sector_words: list[str], comuna_key: str
    ) -> Location | None:
        """Return the street, locality, island or town named in the address or sector."""
        # the sector field names the place more surely than the address: a small bonus
        texts = [
            ([w for w in words if not w.isdigit()], bonus)
            for words, bonus in ((sector_words, 0.05), (address_words, 0.0))
        ]
        exact: list[tuple[Place, float]] = []
        for words, bonus in texts:
            found = self._exact(words, comuna_key) if words else None
            if found is not None:
                exact.append((found, bonus))
        street = self._street(address_words, comuna_key, [p for p, _ in exact])
        if street is not None and street[1]:  # numbered street address
            return street[0]
        for place, bonus in exact:
            if place.kind == "localidad":
                return self._location(place, "localidad", bonus)
        if street is not None:
            return street[0]
        for place, bonus in exact:
            return self._location(place, place.kind, bonus)
        for words, bonus in texts:
            found_fuzzy = self._fuzzy(words, comuna_key)
            if found_fuzzy is not None:
                place, ratio = found_fuzzy
                return self._location(place, "localidad_aprox", bonus * ratio)
        return None

    def _location(self, place: Place, method: str, bonus: float) -> Location:
        score = round(min(max(METHODS[method][1] + bonus, 0.0), 0.99), 3)
        return Location(place.lon, place.lat, method, score, place.name)

    def _street(
        self, words: list[str], comuna: str, hints: list[Place]
    ) -> tuple[Location, bool] | None:
        """Longest street name among the address words: (location, numbered) or None."""
        if not self._streets_by_key:
            return None
        for size in range(min(self._max_street_words, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if any(w.isdigit() for w in gram):
                    continue
                key = " ".join(gram)
                candidates = self._streets_by_key.get(key, [])
                rest = [w for w in words[start + size :] if w != "numero"]
                numbered = bool(rest) and rest[0].isdigit()
                if key in self._by_key and not numbered:
                    continue  # a street named after a place: the words name the place
                if comuna:
                    candidates = [c for c in candidates if c.comuna in (comuna, "")]
                if not candidates:
                    continue
                return self._street_location(candidates, comuna, hints), numbered
        return None

    def _street_location(self, candidates: list[Place], comuna: str, hints: list[Place]):
        """Pick one street among same-named ones (see module docstring)."""
        anchor = hints[0] if hints else self._towns.get(comuna) if comuna else None
        if anchor is None:
            best = max(candidates, key=lambda c: c.length_m)
            sure = len(candidates) == 1
        else:
            best = min(candidates, key=lambda c: _metres(anchor, c))
            near = [c for c in candidates if _metres(anchor, c) <= STREET_NEAR_M]
            sure = len(candidates) == 1 or near == [best]
        penalty = 0.0 if sure else -_STREET_AMBIGUOUS_PENALTY
        label = best.name + (f" ({best.comuna.title()})" if best.comuna not in ("", "-") else "")
        if not sure:
            label += f"; {len(candidates)} calles con ese nombre"
        score = round(METHODS["calle"][1] + penalty, 3)
        return Location(best.lon, best.lat, "calle", score, label)

    def _pick(self, key: str, comuna: str) -> Place | None:
        candidates = self._by_key.get(key, [])
        if comuna:
            local = [p for p in candidates if p.comuna in (comuna, "")]
            return local[0] if local else None
        return candidates[0] if len(candidates) == 1 else None

    def _ngrams(self, words: list[str]):
        for size in range(min(self._max_words, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if gram[0] in _NOISE or gram[-1] in _NOISE:
                    continue
                yield " ".join(gram)

    def _exact(self, words: list[str], comuna: str) -> Place | None:
        """Find the longest n-gram that names a place (localities before islands and towns)."""
        best: Place | None = None
        for gram in self._ngrams(words):
            place = self._pick(gram, comuna)
            if place is None:
                continue
            if place.kind == "localidad":
                return place
            best = best or place
        return best

    def _fuzzy(self, words: list[str], comuna: str) -> tuple[Place, float] | None:
        grams = [g for g in self._ngrams(words) if len(g) >= 5]
        if not grams:
            return None
        keys = self._keys_by_comuna.get(comuna)
        if keys is None:  # the candidate names of one comuna, computed once
            keys = [k for k in self._keys if self._pick(k, comuna) is not None]
            self._keys_by_comuna[comuna] = keys
        best: tuple[Place, float] | None = None
        for gram in grams:
            hit = process.extractOne(gram, keys, scorer=fuzz.ratio, score_cutoff=_MIN_FUZZY)
            if hit is None:
                continue
            place = self._pick(hit[0], comuna)
            if place is not None and (best is None or hit[1] > best[1] * 100):
                best = (place, hit[1] / 100)
        return best


def _town_comuna(name: str) -> str:
    """Return the comuna a town name of `place_names` belongs to."""
    for comuna, town in COMUNA_TOWNS.items():
        if normalize_text(town) == normalize_text(name):
            return normalize_text(comuna)
    return normalize_text(name)
