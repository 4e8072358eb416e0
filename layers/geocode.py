"""Offline geocoding of rural addresses against the merged gazetteer (`layers.gazetteer`).

Chiloé's rural addresses rarely have a street and number: they name a *sector*
(«Sector Huyar Alto s/n»), a road and a kilometre («Km 12 camino a Tenaún»), a
building («frente a la escuela de Huyar Alto»), and often end with the comuna
(«lin lin s/n, Quinchao»). `Geocoder.locate` reads an address that way:

1. The text is split at commas and normalised (accents, case, abbreviations
   such as Pje., Pob., Sect., Sta., s/n, km); each word gets a role: part of a
   road phrase («camino [de A] a X», «ruta W-55»: origin A, target X), of a
   landmark phrase («frente a», «cerca de», «al lado de» [la escuela|posta…] Y),
   or plain. «km N» gives the kilometre.
2. Every run of words is looked up in the gazetteer: by its name as every source
   spells it (spaces ignored: «Lin Lin» is «Linlin»), then without its leading
   common words («Sector Los Ángeles» and «Ángeles» are «Los Ángeles», «Chacra»
   is «La Chacra»), then by the source's variant spellings. A run inside a longer
   match does not count on its own («Isla Quinchao» is not the village Quinchao).
   A run that is the name of a comuna names the comuna, not a locality, unless
   nothing else matches («lin lin s/n, Quinchao» is Linlin).
3. Places of the case's comuna only (islands of any comuna; a comuna written on
   its own in the address wins over the list's). In order: a numbered street of
   an OSM network; a named locality (the sector field first); a landmark; an
   unnumbered street; a road target with a kilometre (the point N km along the
   road from the comuna's town or the named origin when a road network is
   given, else the target's area, never «alta»); a road target without a
   kilometre; a misspelt locality (Damerau–Levenshtein: one swap in a 4-letter
   name, one edit up to 8 letters, two beyond; never when two places are equally
   close); a named town or island; the locality named like the comuna; then the
   town for an urban-looking address, the school, the town.

Confidence (`CONFIDENCE`: alta ≥ 0.8, media ≥ 0.5) is calibrated on the labelled
set ``bench/data/geocode_etiquetado.csv`` (``bench/geocode.py``; evaluations
*completo*, the whole gazetteer, and *retenido*, each address geocoded without
the source its true point comes from; the rows are split by place into a half
the rule is checked on, «ajuste», and a half it is reported on, «validación»).
A locality is «alta» (`SCORE_CORROBORATED`) only when it is *corroborated*
(`Geocoder.corroborated`): its name is written out as the home's place
(exactly, or without leading common words; not a variant spelling, not a
typo, not the end of a road or a landmark, no other word left beside it but
the comuna; no kilometre in the address: «Huyar Alto km 3» may be 3 km from
its point), two sources or more name it within `AGREE_WITHIN_M` (1 km, the
radius «alta» promises) of one another, and no source puts it elsewhere.
Measured on «validación» (bench/geocode.py, 2026-12-01): completo, «alta»
100 % within 1 km; retenido, 100 % within 1 km of a DEIS post or Mineduc school
of the same name but 40 % of a Who's On First point (approximate: a median
0.75 km from the post of the same name, data/chiloe/PROVENANCE.md). A locality
named by one source only is within 1 km of another source's point 57–58 % of
the time and within 5 km 90–94 %: «media», like a typo of one letter, a
landmark and a road's km on a road network («media» within 5 km: 99.8 %
completo, 95.3 % retenido on «validación»). A team pin or a home the team
confirmed at the same address is «alta» too. Sources more than 2 km apart
(−0.15; more than 5 km: 0.3), two letters off (69 % within 5 km), a kilometre
without a road network, a named island, the comuna alone, the town and the
school are «baja». See `METHODS` and the `SCORE_*` constants.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from layers.gazetteer import COMMON_WORDS
from layers.gazetteer import Gazetteer
from layers.gazetteer import Landmark
from layers.gazetteer import Place
from layers.gazetteer import address_key
from layers.gazetteer import build_gazetteer
from layers.gazetteer import compact
from layers.gazetteer import comunas_of_points
from layers.gazetteer import core_key
from layers.gazetteer import landmarks
from layers.gazetteer import osm_entries
from layers.gazetteer import places_table
from layers.intake import normalize_text
from layers.territory import Territory

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

__all__ = [
    "AGREE_WITHIN_M",
    "CONFIDENCE",
    "METHODS",
    "STREET_NEAR_M",
    "Geocoder",
    "Location",
    "Place",
    "confidence",
    "street_key",
    "street_places",
]

# method -> (label shown to users, base score). Method keys fit the store's 20 characters.
METHODS: dict[str, tuple[str, float]] = {
    "manual": ("Ubicado a mano en el mapa", 1.0),
    "gps": ("GPS del gestor en una visita con contacto (precisión buena)", 1.0),
    "confirmado": ("Lugar confirmado por el equipo (pin, GPS o corrección)", 0.75),
    "localidad": ("Sector o localidad reconocido", 0.6),
    "localidad_aprox": ("Sector o localidad con nombre parecido (error de tipeo)", 0.55),
    "cerca_de": ("Cerca de un lugar reconocido (frente a, cerca de, al lado de)", 0.6),
    "calle": ("Calle reconocida en OpenStreetMap (punto central, sin número)", 0.7),
    "camino_km": ("Kilómetro de un camino, medido en la red de caminos", 0.6),
    "camino_hacia": ("Zona del lugar al que va el camino (sin red de caminos: aproximado)", 0.35),
    "isla": ("Isla (sin sector reconocido)", 0.4),
    "pueblo": ("Pueblo de la comuna (dirección urbana sin calle conocida)", 0.4),
    "localidad_comuna": ("Lugar con el nombre de la comuna (la dirección solo nombra la comuna)",
                         0.35),
    "escuela": ("Ubicación de la escuela: dirección no reconocida", 0.2),
    "sin_ubicacion": ("Sin ubicación", 0.0),
}  # fmt: skip
CONFIDENCE = (("alta", 0.8), ("media", 0.5), ("baja", 0.0))

# Score adjustments (see the module docstring for the measurements behind them).
SCORE_AGREE = 0.1  # two or more sources agree on the locality's point (within 2 km)
SCORE_SECTOR_FIELD = 0.03  # named in the sector column rather than in the address
SCORE_CORE = -0.03  # matched without its leading common words («Chacra» for «La Chacra»)
SCORE_ALIAS = -0.05  # matched on a source's variant spelling
SCORE_ROAD_TARGET = -0.1  # «camino a X» without a kilometre: somewhere towards X
SCORE_FUZZY_2 = -0.1  # two letters off rather than one: «baja» (69 % within 5 km)
SCORE_CONFLICT = -0.15  # sources 2–5 km apart
SCORE_FAR_CONFLICT_CAP = 0.3  # sources more than FAR_CONFLICT_M apart: «baja»
FAR_CONFLICT_M = 5000.0
SCORE_SAME_HOME = 0.9  # the team confirmed a home at this very address
# «alta» for a locality: written out, two sources or more within AGREE_WITHIN_M, no conflict
# (`Geocoder.corroborated`). 1 km is the radius «alta» promises; bench/geocode.py checks it
# on one half of the labelled set («ajuste») and reports it on the other («validación»).
AGREE_WITHIN_M = 1000.0
SCORE_CORROBORATED = 0.85
SCORE_BELOW_ALTA = 0.79  # any other automatic locality match stays below «alta»
SCORE_OWN_SCHOOL = 0.55  # «frente a la escuela» with no name: the case's school
_QUALITY_SCORE = {"core": SCORE_CORE, "alias": SCORE_ALIAS}
# Longest run of words looked up as one name (the longest name has 5 words, plus 2 leading).
_MAX_GRAM = 7

# Abbreviations as secretaries type them.
_ABBREVIATIONS = {
    "pje": "pasaje", "psje": "pasaje", "pob": "poblacion", "pobl": "poblacion",
    "sect": "sector", "sec": "sector", "sctor": "sector", "sect0r": "sector", "cno": "camino",
    "cam": "camino", "av": "avenida", "avda": "avenida", "vla": "villa", "vll": "villa",
    "kilometro": "km", "kilometros": "km", "kms": "km", "klm": "km", "nro": "numero",
    "num": "numero", "n": "numero", "sta": "santa", "sto": "santo", "pto": "puerto",
    "pta": "punta", "esc": "escuela", "psr": "posta", "frte": "frente", "ctra": "carretera",
}  # fmt: skip
# Words never part of a place name in an address.
_SKIP = frozenset(
    {
        "sn", "s", "numero", "casa", "lote", "parcela", "sitio", "km", "interior", "depto",
        "departamento", "block", "piso", "comuna", "region", "provincia", "rol",
    }
)  # fmt: skip
# Words that end a road or landmark target («camino a Tenaún km 12», «… sector X»).
_STOP = _SKIP | {"sector", "frente", "cerca", "lado", "junto", "costado", "y", "camino", "ruta"}
# Words that do not name a place on their own (no typo-tolerant match on them).
_VAGUE = COMMON_WORDS | _SKIP | {
    "alto", "alta", "bajo", "baja", "norte", "sur", "oriente", "poniente", "centro", "camino",
    "ruta", "vecinal", "principal", "calle", "pasaje", "avenida", "rural", "escuela", "posta",
    "iglesia", "capilla", "cancha", "frente", "cerca", "lado", "puente", "cruce", "playa",
    "muelle", "rampa", "costanera", "nuevo", "nueva", "viejo", "vieja", "grande", "chico",
}  # fmt: skip
# Words before a name that make it a place, not a comuna: «Sector Quinchao», «Isla Quinchao».
_PLACE_LEADS = frozenset({"sector", "isla", "villa", "localidad", "lugar"})
# Words a number follows without being a house number («casa 4», «km 12», «ruta 5»).
_NOT_HOUSE = frozenset({"casa", "lote", "parcela", "sitio", "km", "depto", "departamento",
                        "block", "piso", "rol", "ruta", "interior"})  # fmt: skip
_URBAN_WORDS = {"pasaje", "poblacion", "villa", "calle", "avenida", "block", "depto"}
_ROAD_WORDS = {"camino", "ruta", "carretera"}
_ROAD_TO = {"a", "hacia", "al"}
_LANDMARK_TRIGGERS: tuple[tuple[str, ...], ...] = tuple(
    tuple(t.split())
    for t in (
        "al frente de", "al frente del", "frente a", "frente al", "frente de", "frente del",
        "enfrente de", "enfrente del", "cerca de", "cerca del", "cerca a", "cerca al",
        "al lado de", "al lado del", "a lado de", "junto a", "junto al", "a un costado de",
        "a un costado del", "costado de", "costado del", "detras de", "detras del",
        "atras de", "atras del", "pasado el", "pasado la", "pasada la", "antes de", "antes del",
        "despues de", "despues del", "a metros de", "a metros del", "a pasos de",
    )
)  # fmt: skip
_TRIGGERS_BY_WORD: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(t for t in _LANDMARK_TRIGGERS if t[0] == first)
    for first in {t[0] for t in _LANDMARK_TRIGGERS}
}
_PHRASE_WORDS = _ROAD_WORDS | set(_TRIGGERS_BY_WORD)
_NO_BUILDING = [""]
_SEPARATORS = re.compile(r"[,;()]")
_GLUED = re.compile(r"(km|n|nro)(\d+)")
_DIGIT = re.compile(r"\d")
_NOT_WORD = re.compile(r"[^0-9a-z,;()]+")
_BUILDINGS = {
    "escuela": "escuela", "colegio": "escuela", "liceo": "escuela", "jardin": "escuela",
    "posta": "salud", "consultorio": "salud", "cesfam": "salud", "cecosf": "salud",
    "hospital": "salud", "iglesia": "otro", "capilla": "otro", "cancha": "otro",
    "multicancha": "otro", "sede": "otro", "cementerio": "otro", "reten": "otro",
    "muelle": "otro", "rampa": "otro", "plaza": "otro", "puente": "otro", "cruce": "otro",
    "paradero": "otro", "almacen": "otro", "gimnasio": "otro", "bomberos": "otro",
}  # fmt: skip
_BUILDING_FILLER = {"la", "el", "los", "las", "rural", "basica", "particular", "de", "del",
                    "salud", "social", "vecinal", "comunitaria", "comunitario"}  # fmt: skip
_KM = re.compile(r"\b(?:km|kms|klm|kil[oó]metros?)\.?\s*(\d+(?:[.,]\d+)?)", re.IGNORECASE)
_KM_AFTER = re.compile(r"\b(\d+(?:[.,]\d+)?)\s*(?:km|kms)\b", re.IGNORECASE)
_ROUTE = re.compile(r"\bruta\s+([a-z]?)\s*-?\s*(\d+)\b", re.IGNORECASE)
_KIND_RANK = {"localidad": 0, "pueblo": 1, "isla": 2}
_QUALITY_RANK = {"exact": 0, "core": 1, "alias": 2, "typo1": 3, "typo2": 4}

# Street names: type words dropped from the key; one-word names too common to
# identify a street on their own.
_STREET_TYPES = {"calle", "avenida", "pasaje", "camino", "psje", "pje"}
_STREET_VAGUE = {
    "norte", "sur", "oriente", "poniente", "centro", "alto", "bajo", "grande", "chico",
    "nuevo", "nueva", "viejo", "vieja", "principal", "costanera", "interior", "rural",
}  # fmt: skip
_STREET_NOISE = _SKIP | COMMON_WORDS | {"camino", "a", "al", "hacia", "calle", "avenida",
                                         "pasaje", "y", "cruce", "frente", "rural"}  # fmt: skip
STREET_NEAR_M = 3000.0
_STREET_AMBIGUOUS_PENALTY = 0.15


def confidence(score: float) -> str:
    """``alta``, ``media`` or ``baja`` for a geocoding score."""
    for label, low in CONFIDENCE:  # a plain loop: called once per point of the map layer
        if score >= low:
            return label
    return CONFIDENCE[-1][0]


@dataclass(frozen=True)
class Location:
    """Where a case is placed, how and how sure we are.

    Attributes
    ----------
    lon, lat
        WGS84, or None when nothing placed it.
    method
        Key of `METHODS`.
    score
        0–1; `confidence` turns it into alta / media / baja.
    matched
        What was recognised, for users («Huyar Alto», «km 12 del camino de Dalcahue a Tenaún»).
    source
        Where the point comes from (gazetteer refs: «WOF 1293071993; DEIS 133512»).
    note
        What lowered the confidence (sources in conflict, approximations), "" if nothing.
    """

    lon: float | None
    lat: float | None
    method: str
    score: float
    matched: str = ""
    source: str = ""
    note: str = ""

    @property
    def confidence(self) -> str:
        """``alta``, ``media`` or ``baja``."""
        return confidence(self.score)

    @property
    def label(self) -> str:
        """The method as shown to users."""
        return METHODS[self.method][0]


# -- reading an address ------------------------------------------------------------
class _Run(NamedTuple):
    """Consecutive words of one role in one comma-separated segment."""

    words: tuple[str, ...]
    role: str  # "plain" | "origin" | "target" | "landmark"
    segment: int
    before: str  # the word before the run ("" at the start of the segment)
    building: str  # landmark runs: "escuela" | "salud" | "otro" | ""


class _Parsed(NamedTuple):
    runs: tuple[_Run, ...]
    words: tuple[str, ...]  # every normalised word, for street names
    km: float | None
    route: str
    text: str  # as written
    tails: tuple[str, ...]  # ends of plain runs that could name a comuna, last run first
    urban: bool
    numbered: bool  # a house number after a name («Los Aromos 123», «N° 45»), not «casa 4»
    own_building: str  # «frente a la escuela» with no name: "escuela"


def _ascii_segments(text: str) -> list[str]:
    """Lower-case ASCII text split at commas, semicolons and brackets (as `normalize_text`)."""
    text = text.replace("s/n", " sn ").replace("S/N", " sn ")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower()
    return _SEPARATORS.split(_NOT_WORD.sub(" ", text))


def _words(segment: str) -> list[str]:
    """Words of one segment, abbreviations expanded, «km12» split."""
    out = []
    for word in segment.split():
        glued = word[-1].isdigit() and word[0] in "kn" and _GLUED.fullmatch(word)
        if glued:
            out.extend([_ABBREVIATIONS.get(glued.group(1), glued.group(1)), glued.group(2)])
        else:
            out.append(_ABBREVIATIONS.get(word, word))
    return out


def _landmark_trigger(words: list[str], i: int) -> int:
    for trigger in _TRIGGERS_BY_WORD.get(words[i], ()):
        if tuple(words[i : i + len(trigger)]) == trigger:
            return len(trigger)
    return 0


def _route_end(words: list[str], i: int) -> int:
    """End of «ruta W-55» / «ruta 5» starting at `i` (i + 1 when no route number follows)."""
    j = i + 1
    if j < len(words) and re.fullmatch(r"[a-z]\d+|\d+", words[j]):
        return j + 1
    if j + 1 < len(words) and re.fullmatch(r"[a-z]", words[j]) and words[j + 1].isdigit():
        return j + 2
    return j


def _road(words: list[str], i: int, roles: list[str]) -> int:
    """Mark «camino [de A] a X» from `i`; return where it ends."""
    n = len(words)
    roles[i] = "skip"
    j = i + 1
    while j < n and words[j] in {"de", "desde", "del"}:
        roles[j] = "skip"
        j += 1
    to = next((m for m in range(j, n) if words[m] in _ROAD_TO), None)
    if to is not None and all(w not in _STOP and not w.isdigit() for w in words[j:to]):
        for m in range(j, to):
            roles[m] = "origin"
        roles[to] = "skip"
        j = to + 1
    while j < n and words[j] not in _STOP and not words[j].isdigit():
        roles[j] = "target"
        j += 1
    return j


def _landmark(words: list[str], i: int, size: int, roles: list[str], building: list[str]) -> int:
    """Mark «frente a [la escuela] Y» from `i` (trigger of `size` words); return its end."""
    n = len(words)
    for m in range(i, i + size):
        roles[m] = "skip"
    j = i + size
    kind = ""
    while j < n and (words[j] in _BUILDING_FILLER or words[j] in _BUILDINGS):
        kind = _BUILDINGS.get(words[j], kind)
        roles[j] = "skip"
        j += 1
    start = j
    while j < n and words[j] not in _STOP and not words[j].isdigit():
        roles[j] = "landmark"
        building[j] = kind
        j += 1
    if j == start:
        building[i] = kind  # a building with no name: remembered on the trigger
    return j


def _roles(words: list[str]) -> tuple[list[str], list[str]] | None:
    """Role of each word of a segment and the building of landmark words.

    None when no word starts a road or landmark phrase (most segments): every word
    is plain, save the skipped ones (`_SKIP`, numbers).
    """
    if not any(w in _PHRASE_WORDS for w in words):
        return None
    roles = ["plain"] * len(words)
    building = [""] * len(words)
    i = 0
    while i < len(words):
        word = words[i]
        if word in _SKIP or word.isdigit():
            roles[i] = "skip"
            i += 1
        elif word == "ruta" and _route_end(words, i) > i + 1:  # a numbered route: no place
            end = _route_end(words, i)
            roles[i:end] = ["skip"] * (end - i)
            i = end
        elif word in _ROAD_WORDS:
            i = _road(words, i, roles)
        elif size := _landmark_trigger(words, i):
            i = _landmark(words, i, size, roles, building)
        else:
            i += 1
    return roles, building


def _strip_common(gram: tuple[str, ...]) -> tuple[str, ...]:
    i = 0
    while i < len(gram) and gram[i] in COMMON_WORDS:
        i += 1
    return gram[i:]


@functools.lru_cache(maxsize=100_000)
def _grams(words: tuple[str, ...]) -> tuple[tuple[int, int, tuple[str, ...], str, str], ...]:
    """Word n-grams of a run, longest first: ``(start, end, words, joined, bare)``.

    `joined` is the words without spaces, `bare` the same without leading common
    words ("" when there are none to drop).
    """
    n = len(words)
    common = [w in COMMON_WORDS for w in words]
    out = []
    for size in range(min(_MAX_GRAM, n), 0, -1):
        for start in range(n - size + 1):
            end = start + size
            k = start
            while k < end and common[k]:
                k += 1
            gram = words[start:end]
            out.append((start, end, gram, "".join(gram),
                        "".join(words[k:end]) if start < k < end else ""))  # fmt: skip
    return tuple(out)


@functools.lru_cache(maxsize=100_000)
def _parse(text: str) -> _Parsed:
    """Read an address (see module docstring, step 1); cached: lists repeat addresses."""
    lowered = text.lower()
    km_hit = ("k" in lowered and (_KM.search(text) or _KM_AFTER.search(text))) or None
    route_hit = _ROUTE.search(text) if "ruta" in lowered else None
    runs: list[_Run] = []
    every: list[str] = []
    own_building = ""
    for segment, part in enumerate(_ascii_segments(text)):
        words = _words(part)
        if not words:
            continue
        every.extend(words)
        found = _roles(words)
        if found is None:
            roles = ["skip" if w in _SKIP or w.isdigit() else "plain" for w in words]
            building = _NO_BUILDING * len(words)
        else:
            roles, building = found
        if "escuela" in building and any(
            r == "skip" and b == "escuela" for r, b in zip(roles, building, strict=True)
        ):
            own_building = "escuela"
        i = 0
        while i < len(words):
            j = i + 1
            while j < len(words) and roles[j] == roles[i]:
                j += 1
            if roles[i] != "skip":
                run = tuple(words[i:j])
                before = words[i - 1] if i else ""
                runs.append(_Run(run, roles[i], segment, before, building[i]))
            i = j
    return _Parsed(
        runs=tuple(runs),
        words=tuple(every),
        km=float(km_hit.group(1).replace(",", ".")) if km_hit else None,
        route=f"{route_hit.group(1).upper()}-{route_hit.group(2)}".lstrip("-") if route_hit else "",
        text=text,
        tails=_tails(runs),
        urban=not _URBAN_WORDS.isdisjoint(every),
        numbered=any(
            w.isdigit() and i and every[i - 1] not in _NOT_HOUSE and len(every[i - 1]) > 1
            for i, w in enumerate(every)
        ),
        own_building=own_building,
    )


def _tails(runs: list[_Run]) -> tuple[str, ...]:
    """Return the ends (1–3 words, joined) of the plain runs that could name a comuna.

    Last run first; not after «sector», «isla»…; «camino a Castro» is a road's end,
    not the home's comuna, so only plain runs count.
    """
    out = []
    for run in reversed(runs):
        if run.role == "plain":
            words = run.words
            for size in range(min(3, len(words)), 0, -1):
                before = words[-size - 1] if len(words) > size else run.before
                if before not in _PLACE_LEADS:
                    out.append("".join(words[-size:]))
    return tuple(out)


@functools.lru_cache(maxsize=100_000)
def _house_number(text: str) -> bool:
    """Tell whether a number is not a kilometre or a route («Pje. Los Aromos 123»): urban."""
    return bool(_DIGIT.search(text)) and bool(
        _DIGIT.search(_ROUTE.sub(" ", _KM_AFTER.sub(" ", _KM.sub(" ", text))))
    )


@functools.lru_cache(maxsize=4096)
def _normalised(text: str) -> str:
    return normalize_text(text)


def _typo_ok(gram: str, key: str, distance: int) -> bool:
    """Whether `gram` may be a typo of `key` at Damerau–Levenshtein `distance`."""
    size = len(key)
    if size < 4:
        return False
    if size == 4:  # only a swap of two letters: «Colu»/«Clou», not «Alto»/«Alao»
        return distance == 1 and sorted(gram) == sorted(key) and len(gram) == 4
    return distance <= (1 if size <= 8 else 2)


# -- streets --------------------------------------------------------------------
def street_key(name: str) -> str:
    """Return the matching key of a street name (normalised, type word dropped).

    Abbreviations are expanded as in addresses. Returns "" for names that cannot
    identify a street (numbers, one vague word).
    """
    words = [w for segment in _ascii_segments(name) for w in _words(segment)]
    while words and words[0] in _STREET_TYPES:
        words = words[1:]
    if words and words[0] in {"de", "del", "a", "al"}:
        words = words[1:]
    if not words or any(w.isdigit() for w in words) or all(w in _STREET_NOISE for w in words):
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
    comunas = comunas_of_points([r[2] for r in keep], [r[3] for r in keep], areas)
    return [
        Place(name, key, lon, lat, "calle", comuna, source, length)
        for (key, name, lon, lat, length), comuna in zip(keep, comunas, strict=True)
    ]


def _metres(a: Place | tuple[float, float], b: Place) -> float:
    """Approximate metres between two nearby points (equirectangular; streets and roads)."""
    lon, lat = (a.lon, a.lat) if isinstance(a, Place) else a
    dx = (lon - b.lon) * 111_320 * math.cos(math.radians(b.lat))
    dy = (lat - b.lat) * 110_540
    return math.hypot(dx, dy)


# -- the geocoder ---------------------------------------------------------------
class _Candidate(NamedTuple):
    place: Place
    quality: str  # "exact" | "core" | "alias" | "typo1" | "typo2"
    field: int  # 0: sector column, 1: address
    run: _Run
    start: int
    size: int
    comuna_mention: bool = False

    def rank(self) -> tuple:
        return (
            _KIND_RANK.get(self.place.kind, 3),
            self.field,
            -self.size,
            _QUALITY_RANK.get(self.quality, 3),
            self.run.segment,
            self.start,
        )


class Geocoder:
    """Gazetteer of the territory with an address matcher (see module docstring).

    Parameters
    ----------
    places
        Merged gazetteer places (`layers.gazetteer.merge_entries`).
    schools
        ``{rbd: (lon, lat)}``: the fallback point of a case.
    streets
        Named streets of an OSM network (`street_places`).
    landmarks
        Schools and health establishments by name («frente a la escuela X»).
    roads
        A `routing.streets.StreetNetwork` to measure «Km N camino a X» on.
    comunas
        Normalised names of the territory's comunas (default: those of `places`).
    """

    def __init__(
        self,
        places: list[Place],
        schools: dict[int, tuple[float, float]],
        streets: list[Place] | None = None,
        *,
        landmarks: list[Landmark] | tuple = (),
        roads=None,
        comunas: set[str] | None = None,
    ) -> None:
        self.places = places
        self.schools = schools
        self.streets = streets or []
        self.roads = roads
        self.agree_within_m = AGREE_WITHIN_M
        self.gazetteer: Gazetteer | None = None
        self._full: dict[str, list[Place]] = {}
        self._core: dict[str, list[Place]] = {}
        self._alias: dict[str, list[Place]] = {}
        for place in places:
            names = place.names or (place.key,)
            for key in {compact(n) for n in names}:
                self._full.setdefault(key, []).append(place)
            for key in {core_key(n) for n in names}:
                self._core.setdefault(key, []).append(place)
            for alias in place.aliases:
                self._alias.setdefault(alias, []).append(place)
        self._known = set(self._full) | set(self._core) | set(self._alias)
        self._max_words = max((len(p.key.split()) for p in places), default=1) + 2
        self._towns = {p.comuna: p for p in places if p.kind == "pueblo" and p.comuna}
        found = {p.comuna for p in places} - {"", "-"}
        self._comunas = {compact(c): c for c in (comunas if comunas is not None else found)}
        self._landmarks: dict[tuple[str, str, str], list[Landmark]] = {}
        for mark in landmarks:
            self._landmarks.setdefault((mark.kind, mark.comuna, mark.key), []).append(mark)
        self._streets_by_key: dict[str, list[Place]] = {}
        for street in self.streets:
            self._streets_by_key.setdefault(street.key, []).append(street)
        self._max_street_words = max((len(k.split()) for k in self._streets_by_key), default=0)
        self._typo_index: dict[str, tuple[list[str], list[Place]]] = {}
        for comuna in ["", *self._comunas.values()]:
            self._typo_keys(comuna)
        self.clear_caches()

    def clear_caches(self) -> None:
        """Forget memoised lookups and parsed addresses (benchmarks time a cold start)."""
        self._memo: dict[tuple[str, str, str], tuple[Place, str] | None] = {}
        self._typo_memo: dict[tuple[str, str], tuple[Place, int] | None] = {}
        _parse.cache_clear()
        _grams.cache_clear()
        _house_number.cache_clear()

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_territory(
        cls,
        territory: Territory,
        streets: list[tuple[str, float, float, float]] | None = None,
        *,
        gazetteer: Gazetteer | None = None,
        roads=None,
        osm_places=(),
        imported=(),
        confirmed=(),
        retired=(),
    ) -> Geocoder:
        """Build the geocoder of the bundled territory.

        Parameters
        ----------
        territory
            The loaded territory.
        streets
            Named streets of a built OpenStreetMap network
            (`routing.network.load_streets`); each takes the comuna it lies in.
        gazetteer
            A gazetteer already built (`layers.gazetteer.build_gazetteer`);
            otherwise one is built from the territory and the next arguments.
        roads
            The network's `StreetNetwork` (``TravelModel.network`` of a built
            network), for «Km N camino a X».
        osm_places, imported, confirmed, retired
            See `layers.gazetteer.build_gazetteer`.
        """
        if gazetteer is None:
            gazetteer = build_gazetteer(
                territory,
                osm_places=osm_places,
                imported=imported,
                confirmed=confirmed,
                retired=retired,
            )
        located = territory.schools[territory.schools["has_location"]].to_crs("EPSG:4326")
        school_points = {
            int(row.rbd): (row.geometry.x, row.geometry.y) for row in located.itertuples()
        }
        geocoder = cls(
            gazetteer.places,
            school_points,
            street_places(streets or [], territory.comunas),
            landmarks=landmarks(territory),
            roads=roads,
            comunas={normalize_text(c) for c in territory.comunas["comuna_name"]},
        )
        geocoder.gazetteer = gazetteer
        return geocoder

    @classmethod
    def from_places(
        cls,
        places: list[tuple],
        streets: list[tuple[str, float, float, float]],
        *,
        roads=None,
    ) -> Geocoder:
        """Gazetteer of a built network alone: its OSM places and streets (no comunas).

        `places` are ``(name, lon, lat, place[, ref])`` (`routing.network.load_places`
        or ``TravelModel.places``).
        """
        gazetteer = Gazetteer.from_entries(osm_entries(places))
        geocoder = cls(gazetteer.places, {}, street_places(streets), roads=roads, comunas=set())
        geocoder.gazetteer = gazetteer
        return geocoder

    def table(self) -> pd.DataFrame:
        """Return the gazetteer as a table (one row per place, streets included)."""
        return places_table([*self.places, *self.streets])

    # -- locating ----------------------------------------------------------------
    def locate(
        self,
        address: str = "",
        sector: str = "",
        comuna: str = "",
        rbd: int | None = None,
    ) -> Location:
        """Place an address; see the module docstring for the order of attempts.

        Parameters
        ----------
        address, sector
            As the list writes them.
        comuna
            The home's comuna (or the school's); a comuna named on its own in the
            address («lin lin s/n, Quinchao») takes precedence.
        rbd
            The school, for the fallback point.
        """
        comuna_key = _normalised(comuna)
        parsed = _parse(address)
        parsed_sector = _parse(sector)
        # the comuna written in the address is the home's, even when the list gives the school's
        comuna_key = self._mentioned_comuna(parsed) or comuna_key
        candidates = self._candidates(parsed_sector, 0, comuna_key)
        candidates += self._candidates(parsed, 1, comuna_key)
        home = (address, sector)
        found = self._named(candidates, parsed, comuna_key, rbd, home)
        if found is None:
            found = self._weaker(candidates, parsed_sector, parsed, comuna_key, home)
        return found if found is not None else self._fallback(parsed, comuna_key, rbd)

    def locate_many(self, rows: Iterable[tuple[str, str, str, int | None]]) -> list[Location]:
        """Place many ``(address, sector, comuna, rbd)`` rows, each distinct reading once.

        A list repeats addresses (siblings, «Sector X s/n» of a whole sector), so
        the answer for each distinct ``(address, sector, comuna)`` is computed once
        per call and shared (`Location` is immutable). The school only matters
        through whether it has a point and, when the answer is the school's point
        (fallback, «cerca de la escuela»), which school: the key holds exactly
        that. Same answers as `locate` row by row, in the same order; the memory
        is dropped when the call returns.
        """
        readings: dict[tuple[str, str, str, bool], Location] = {}
        at_school: dict[tuple[str, str, str, int], Location] = {}
        out = []
        for address, sector, comuna, rbd in rows:
            known = rbd is not None and rbd in self.schools
            reading = (address, sector, comuna, known)
            found = readings.get(reading)
            if found is None and known:
                found = at_school.get((address, sector, comuna, rbd))
            if found is None:
                found = self.locate(address, sector, comuna, rbd)
                if known and found.source == f"RBD {rbd}":
                    at_school[(address, sector, comuna, rbd)] = found
                else:
                    readings[reading] = found
            out.append(found)
        return out

    def _named(
        self, candidates: list[_Candidate], parsed: _Parsed, comuna: str, rbd, home
    ) -> Location | None:
        """Return a numbered street, a locality, a landmark, a street or a road's km (steps 1–5)."""
        plain = [c for c in candidates if c.run.role == "plain" and not c.comuna_mention]
        street = None
        if self._streets_by_key:
            street = self._street(list(parsed.words), comuna, [c.place for c in plain])
        if street is not None and street[1]:  # numbered street address
            return street[0]
        localities = [c for c in plain if c.place.kind == "localidad"]
        if localities:
            return self._place_location(min(localities, key=_Candidate.rank), home)
        near = self._near(candidates, parsed, comuna, rbd, home)
        if near is not None:
            return near
        if street is not None:
            return street[0]
        targets = [c for c in candidates if c.run.role == "target"]
        if targets and parsed.km is not None:
            return self._along_road(min(targets, key=_Candidate.rank), candidates, comuna,
                                    parsed.km)  # fmt: skip
        on_road = [c for c in targets if c.place.kind == "localidad"]
        if on_road:
            return self._place_location(min(on_road, key=_Candidate.rank), home)
        return None

    def _weaker(
        self, candidates: list[_Candidate], parsed_sector: _Parsed, parsed: _Parsed,
        comuna: str, home,
    ) -> Location | None:  # fmt: skip
        """Return a misspelt locality, a town or island, or the place named like the comuna."""
        # no typo search in a street address («Los Aromos 123»): rural sectors have no numbers
        typo = None if parsed.numbered else self._typos([parsed_sector, parsed], comuna)
        if typo is not None:
            if typo.run.role == "target" and parsed.km is not None:
                return self._along_road(typo, candidates, comuna, parsed.km)
            return self._place_location(typo, home)
        others = [
            c
            for c in candidates
            if c.run.role in ("plain", "target")
            and not c.comuna_mention
            and c.place.kind != "localidad"
        ]
        if others:
            return self._place_location(min(others, key=_Candidate.rank), home)
        mentions = [c for c in candidates if c.comuna_mention]
        if not mentions:
            return None
        found = self._place_location(min(mentions, key=_Candidate.rank), home)
        return Location(
            found.lon, found.lat, "localidad_comuna",
            min(found.score, METHODS["localidad_comuna"][1]), found.matched, found.source,
            "la dirección solo nombra la comuna",
        )  # fmt: skip

    def _fallback(self, parsed: _Parsed, comuna_key: str, rbd: int | None) -> Location:
        """Town for an urban-looking address, else the school, else the town."""
        town = self._towns.get(comuna_key)
        road = ""
        if parsed.route or parsed.km is not None:
            road = f"ruta {parsed.route}" if parsed.route else "camino"
            road += f" km {parsed.km:g}" if parsed.km is not None else ""
            road = f"{road}: sin lugar reconocido ni red de caminos"
        urban = parsed.urban or (_house_number(parsed.text) and not road)
        if town is not None and urban:
            return self._location(town, "pueblo", METHODS["pueblo"][1])
        if rbd is not None and rbd in self.schools:
            lon, lat = self.schools[rbd]
            return Location(lon, lat, "escuela", METHODS["escuela"][1], f"RBD {rbd}",
                            f"RBD {rbd}", road)  # fmt: skip
        if town is not None:
            return self._location(town, "pueblo", METHODS["pueblo"][1] - 0.1, note=road)
        return Location(None, None, "sin_ubicacion", 0.0, note=road)

    def _mentioned_comuna(self, parsed: _Parsed) -> str:
        """Return the comuna an address names on its own («…, Quinchao»), or ""."""
        comunas = self._comunas
        return next((comunas[t] for t in parsed.tails if t in comunas), "")

    # -- candidates ----------------------------------------------------------------
    def _candidates(self, parsed: _Parsed, field: int, comuna: str) -> list[_Candidate]:
        """Every place named by a run of words not inside a longer match."""
        found: list[_Candidate] = []
        for run in parsed.runs:
            taken: list[tuple[int, int]] = []
            road = run.role in ("target", "origin")
            for start, end, gram, joined, bare in _grams(run.words):
                if joined not in self._known and bare not in self._known:
                    continue  # not a name of any place: most runs of words
                if end - start > self._max_words or any(a <= start and end <= b for a, b in taken):
                    continue  # inside a longer match: «Isla Quinchao» is not «Quinchao»
                hit = self._lookup(joined, bare, comuna)
                if hit is None and road and comuna:
                    hit = self._lookup(joined, bare, "")  # a road may lead to another comuna
                if hit is None:
                    continue
                taken.append((start, end))
                named = gram[1:] if gram[0] in ("de", "del") else gram
                before = run.words[start - 1] if start else run.before
                mention = (
                    not road and "".join(named) in self._comunas and before not in _PLACE_LEADS
                )
                found.append(_Candidate(hit[0], hit[1], field, run, start, end - start, mention))
        return found

    def _lookup(self, joined: str, bare: str, comuna: str) -> tuple[Place, str] | None:
        """(place, quality) of a run of words: exact name, without common words, or alias."""
        key = (joined, bare, comuna)
        if key in self._memo:
            return self._memo[key]
        hit = None
        for index, quality in ((self._full, "exact"), (self._core, "core")):
            place = self._pick(index.get(joined), comuna)
            if place is not None:
                hit = (place, quality)
                break
        if hit is None and bare:
            for index in (self._full, self._core):
                place = self._pick(index.get(bare), comuna)
                if place is not None:
                    hit = (place, "core")
                    break
        if hit is None:
            place = self._pick(self._alias.get(joined), comuna)
            hit = (place, "alias") if place is not None else None
        self._memo[key] = hit
        return hit

    @staticmethod
    def _pick(places: list[Place] | None, comuna: str) -> Place | None:
        """Return the one place of the comuna (islands: any comuna) among same-named ones."""
        if not places:
            return None
        if comuna:
            local = [p for p in places if p.comuna == comuna] or [
                p for p in places if p.comuna == ""
            ]
        else:
            local = places
        if len(local) > 1:
            local = [p for p in local if p.kind != "isla"] or local[:1]
        return local[0] if len(local) == 1 else None

    # -- scoring -------------------------------------------------------------------
    def _whole(self, candidate: _Candidate) -> bool:
        """Whether the name is all its run of words says, save common words and the comuna.

        «Sector Chacao Vieji» matches «Chacao» with «vieji» left over: another
        place, misspelt, may be meant, so the match cannot be «alta».
        """
        words = candidate.run.words
        before = words[: candidate.start]
        after = words[candidate.start + candidate.size :]
        return all(w in COMMON_WORDS for w in before) and (
            all(w in COMMON_WORDS for w in after) or "".join(after) in self._comunas
        )

    def _score(
        self, place: Place, quality: str, field: int, role: str, home, *, whole: bool = False
    ) -> tuple:
        """Return (method, score, note) of a match on `place` (see `METHODS`, `SCORE_*`).

        `whole`: the name is all its run of words says (`_whole`) and the address
        gives no kilometre; «alta» needs it.
        """
        if place.kind in ("isla", "pueblo"):
            method, score = place.kind, METHODS[place.kind][1]
        elif place.confirmed:
            method = "confirmado"
            same = place.confirmed_addresses and address_key(*home) in place.confirmed_addresses
            score = SCORE_SAME_HOME if same else METHODS["confirmado"][1]
        else:
            method = "localidad"
            score = METHODS["localidad"][1] + (SCORE_AGREE if place.agree >= 2 else 0.0)
        if quality.startswith("typo") and method in ("localidad", "confirmado"):
            method = "localidad_aprox"
            score = METHODS["localidad_aprox"][1] + (SCORE_FUZZY_2 if quality == "typo2" else 0)
        score += _QUALITY_SCORE.get(quality, 0.0)
        if field == 0:
            score += SCORE_SECTOR_FIELD
        if role == "target":
            score += SCORE_ROAD_TARGET
        if place.conflict_m > FAR_CONFLICT_M:
            score = min(score, SCORE_FAR_CONFLICT_CAP)
        elif place.conflict_m > 0:
            score += SCORE_CONFLICT
        if method == "localidad":
            if whole and self.corroborated(place, quality, role):
                score = SCORE_CORROBORATED + (SCORE_SECTOR_FIELD if field == 0 else 0.0)
            else:  # «alta» is only for the evidence measured to earn it
                score = min(score, SCORE_BELOW_ALTA)
        return method, round(min(max(score, 0.0), 0.99), 3), place.conflict

    def corroborated(self, place: Place, quality: str, role: str) -> bool:
        """Whether a locality match is «alta» evidence (see the module docstring).

        The name is written out (exactly, or without its leading common words:
        ``exact`` / ``core``, not a variant spelling or a typo) as the home's
        place, not as a road's end or a landmark (``plain``); two sources or
        more name it, all within `agree_within_m` of one another, and no source
        puts it elsewhere (no conflict).
        """
        return (
            quality in ("exact", "core")
            and role == "plain"
            and place.kind == "localidad"
            and not place.confirmed
            and place.conflict_m == 0
            and place.agree >= 2
            and place.spread_m <= self.agree_within_m
        )

    def _place_location(self, candidate: _Candidate, home) -> Location:
        # a kilometre anywhere puts the home along a road, maybe km from the sector's point
        km = _parse(home[0]).km is not None or _parse(home[1]).km is not None
        method, score, note = self._score(
            candidate.place, candidate.quality, candidate.field, candidate.run.role, home,
            whole=self._whole(candidate) and not km,
        )  # fmt: skip
        matched = candidate.place.name
        if candidate.quality.startswith("typo"):
            matched += f" (escrito «{' '.join(candidate.run.words)}»)"
        return self._location(candidate.place, method, score, note=note, matched=matched)

    @staticmethod
    def _location(place: Place, method: str, score: float, *, note: str = "",
                  matched: str = "") -> Location:  # fmt: skip
        return Location(place.lon, place.lat, method, round(score, 3), matched or place.name,
                        place.source, note)  # fmt: skip

    # -- landmarks -----------------------------------------------------------------
    def _near(
        self, candidates: list[_Candidate], parsed: _Parsed, comuna: str, rbd, home
    ) -> Location | None:
        """«frente a / cerca de / al lado de [la escuela|posta] Y» (see module docstring)."""
        for run in parsed.runs:
            if run.role == "landmark" and run.building in ("escuela", "salud"):
                key = "".join(_strip_common(run.words)) or "".join(run.words)
                marks = self._landmarks.get((run.building, comuna, key), [])
                if len(marks) == 1:
                    mark = marks[0]
                    return Location(mark.lon, mark.lat, "cerca_de", METHODS["cerca_de"][1],
                                    f"cerca de {mark.name}", mark.ref)  # fmt: skip
        near = [c for c in candidates if c.run.role == "landmark" and not c.comuna_mention]
        if near:
            best = min(near, key=_Candidate.rank)
            method, score, note = self._score(best.place, best.quality, best.field, "plain", home)
            if method in ("localidad", "confirmado"):
                method, score = "cerca_de", min(score, METHODS["cerca_de"][1])
            return self._location(best.place, method, score, note=note,
                                  matched=f"cerca de {best.place.name}")  # fmt: skip
        if parsed.own_building == "escuela" and rbd is not None and rbd in self.schools:
            lon, lat = self.schools[rbd]
            return Location(lon, lat, "cerca_de", SCORE_OWN_SCHOOL,
                            f"cerca de la escuela del caso (RBD {rbd})", f"RBD {rbd}")  # fmt: skip
        return None

    # -- «Km N camino a X» ---------------------------------------------------------
    def _along_road(
        self, target: _Candidate, candidates: list[_Candidate], comuna: str, km: float
    ) -> Location:
        """Return the point `km` along the road to the target, or the target's area."""
        place = target.place
        origins = [c for c in candidates if c.run.role == "origin"]
        origin = min(origins, key=_Candidate.rank).place if origins else self._towns.get(comuna)
        notes = [place.conflict] if place.conflict else []
        # the target only gives the road's direction: a conflict under 5 km hardly moves the km
        cap = SCORE_FAR_CONFLICT_CAP if place.conflict_m > FAR_CONFLICT_M else 1.0
        shift = SCORE_FUZZY_2 if target.quality == "typo2" else 0.0
        road = f"km {km:g} del camino" + (f" de {origin.name}" if origin else "")
        road += f" a {place.name}"
        why = "sin red de caminos: zona del lugar al que va el camino, no el km"
        if origin is None or _metres(origin, place) <= 1:
            why = "no se sabe desde dónde se cuentan los km: zona del lugar al que va el camino"
        elif self.roads is not None:
            from routing.along import point_along

            along = point_along(self.roads, (origin.lon, origin.lat), (place.lon, place.lat),
                                km * 1000.0)  # fmt: skip
            if along is not None and not along.beyond:
                score = min(METHODS["camino_km"][1] + shift, cap)
                return Location(along.lon, along.lat, "camino_km", round(score, 3), road,
                                f"red de caminos; {place.source}", "; ".join(notes))  # fmt: skip
            if along is None:
                why = "la red de caminos no une los dos lugares: zona del lugar al que va el camino"
            else:
                length = f"{along.path_m / 1000:.1f}".replace(".", ",")
                why = f"el camino mide {length} km, menos que el km indicado"
        score = min(METHODS["camino_hacia"][1] + shift, cap)
        return Location(place.lon, place.lat, "camino_hacia", round(score, 3), road,
                        place.source, "; ".join([*notes, why]))  # fmt: skip

    # -- typos -----------------------------------------------------------------------
    def _typo_keys(self, comuna: str) -> tuple[list[str], list[Place]]:
        """Names (compact, and without leading common words) of a comuna and of islands."""
        pool = self._typo_index.get(comuna)
        if pool is None:
            keys: list[str] = []
            owners: list[Place] = []
            for place in self.places:
                if comuna and place.comuna not in (comuna, ""):
                    continue
                for key in {*(compact(n) for n in place.names), *map(core_key, place.names)}:
                    if len(key) >= 4:
                        keys.append(key)
                        owners.append(place)
            pool = (keys, owners)
            self._typo_index[comuna] = pool
        return pool

    def _typo(self, gram: str, comuna: str) -> tuple[Place, int] | None:
        """Return the one place whose name `gram` is a typo of (`_typo_ok`), with the distance."""
        memo = (gram, comuna)
        if memo in self._typo_memo:
            return self._typo_memo[memo]
        keys, owners = self._typo_keys(comuna)
        close: dict[int, dict[int, Place]] = {}
        for key, d, k in process.extract(gram, keys, scorer=DamerauLevenshtein.distance,
                                         score_cutoff=2, limit=None):  # fmt: skip
            if d > 0 and _typo_ok(gram, key, d):
                close.setdefault(d, {})[id(owners[k])] = owners[k]
        hit = None
        if close:
            d = min(close)
            if len(close[d]) == 1:  # two places equally close: do not guess
                hit = (next(iter(close[d].values())), d)
        self._typo_memo[memo] = hit
        return hit

    def _typos(self, parsed_list: list[_Parsed], comuna: str) -> _Candidate | None:
        """Best typo-tolerant match: fewest letters off, the sector field, the longest run.

        Runs of words are tried longest first; one letter off is the best there is,
        so the first such match of a field ends the search.
        """
        best = None
        for field, parsed in enumerate(parsed_list):
            grams = sorted(
                (
                    (start - end, run, start, bare or joined)
                    for run in parsed.runs
                    if run.role != "origin"
                    for start, end, gram, joined, bare in _grams(run.words)
                    if end - start <= min(3, self._max_words)  # longer names: no typo search
                    and len(bare or joined) >= 4
                    and (bare or joined) not in self._comunas
                    and not all(w in _VAGUE for w in gram)
                ),
                key=lambda g: g[0],
            )
            for negative_size, run, start, word in grams:
                hit = self._typo(word, comuna)
                if hit is None:
                    continue
                rank = (hit[1], field, negative_size)
                if best is None or rank < best[0]:
                    candidate = _Candidate(hit[0], f"typo{hit[1]}", field, run, start,
                                           -negative_size)  # fmt: skip
                    best = (rank, candidate)
                if hit[1] == 1:  # nothing can beat it
                    return best[1]
        return None if best is None else best[1]

    # -- streets ---------------------------------------------------------------------
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
                if "".join(gram) in self._full and not numbered:
                    continue  # a street named after a place: the words name the place
                if comuna:
                    candidates = [c for c in candidates if c.comuna in (comuna, "")]
                if not candidates:
                    continue
                return self._street_location(candidates, comuna, hints), numbered
        return None

    def _street_location(self, candidates: list[Place], comuna: str, hints: list[Place]):
        """Pick one street among same-named ones: the nearest to a named place or the town."""
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
        return Location(best.lon, best.lat, "calle", score, label, best.source)
