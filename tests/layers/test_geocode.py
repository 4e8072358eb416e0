"""Offline geocoding on the bundled Chiloé gazetteer: each failure of issue 18 and its kin.

Source points used below (bundled data; a place's point is the mean of one point per
source that agrees within 2 km, see `layers.gazetteer`):

- Huyar Alto: DEIS 133512 (-73.56671, -42.40249), RBD 8169 (-73.565971, -42.401459)
  -> mean (-73.5663405, -42.4019745).
- Pid Pid: DEIS 133547 (-73.7741, -42.40386), RBD 8035 (-73.77367401, -42.40354538),
  WOF 1293071993 (-73.77544, -42.40552) -> mean (-73.77440467, -42.40430846).
- Los Ángeles (Castro): RBD 8036 (-73.49865, -42.615261), WOF 1343544675 (-73.49939,
  -42.61587) -> mean (-73.49902, -42.6155655). The school the old geocoder fell back to
  for «Sector Los Ángeles s/n» (RBD 8001, Castro) is 28 km away.
- Linlin: DEIS 133504 «Isla Lin-Lin» (-73.43407, -42.3883), WOF 1310674623 (-73.44844,
  -42.386) -> mean (-73.441255, -42.38715). The village Quinchao (DEIS 133503, WOF 890518155)
  is 17 km south of it.
- Tenaún: DEIS 133496 (-73.3866, -42.31577); WOF 890518143 (-73.37406, -42.33228) is 2.1 km
  away, so Tenaún is a conflict: the DEIS point is kept, the note names the WOF record.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from layers.gazetteer import Entry
from layers.gazetteer import Gazetteer
from layers.geocode import AGREE_WITHIN_M
from layers.geocode import CONFIDENCE
from layers.geocode import METHODS
from layers.geocode import Geocoder
from layers.geocode import confidence
from routing._geo import haversine_m

HUYAR_ALTO = ((-73.56671 + -73.565971) / 2, (-42.40249 + -42.401459) / 2)
PID_PID = (
    (-73.7741 + -73.77367401 + -73.77544) / 3,
    (-42.40386 + -42.40354538 + -42.40552) / 3,
)
LOS_ANGELES = ((-73.49865 + -73.49939) / 2, (-42.615261 + -42.61587) / 2)
LINLIN = ((-73.43407 + -73.44844) / 2, (-42.3883 + -42.386) / 2)
QUINCHAO_VILLAGE = ((-73.42386 + -73.42702) / 2, (-42.53985 + -42.53578) / 2)
TENAUN = (-73.3866, -42.31577)
AGUANTAO = (-73.58799, -42.52996)  # WOF 1277046553, in no other source
QUENAY = (-73.68139, -43.21222)  # WOF 1276316773
METAHUE = ((-73.127329 + -73.13086) / 2, (-42.299393 + -42.30022) / 2)  # DEIS 133740, WOF
COMPU = ((-73.698668 + -73.70404) / 2, (-42.877799 + -42.87227) / 2)  # DEIS 133524, WOF
COLU = (-73.39724, -42.25908)  # WOF 1209297857
# Liceo Politécnico de Castro, RBD 8001 (Mineduc directory 2025)
LICEO_CASTRO = (-73.768593, -42.480202)
# Escuela Rural Juan Victorino Tangol, RBD 8112 (Dalcahue), the school of the intake case
RBD_8112 = (-73.371872, -42.33123)


def km(found, point) -> float:
    return float(haversine_m(found.lon, found.lat, *point)) / 1000


@pytest.fixture(scope="module")
def geocoder(territory):
    return Geocoder.from_territory(territory)


def test_gazetteer_has_every_source(geocoder):
    table = geocoder.table()
    assert set(table["kind"]) == {"localidad", "isla", "pueblo"}
    assert (table["kind"] == "localidad").sum() > 300
    towns = set(table.loc[table["kind"] == "pueblo", "name"])
    assert {"Castro", "Ancud", "Achao", "Quellón"} <= towns
    families = {f for p in geocoder.places for f in p.families}
    assert families == {"deis", "mineduc", "censo", "islas", "wof"}


# Huyar Alto: DEIS and Mineduc 130 m apart; Pid Pid: DEIS, Mineduc and WOF within 263 m.
# Both corroborated (two sources within 1 km, no conflict): «alta» when written out, «media»
# when a kilometre says the home is somewhere along a road.
@pytest.mark.parametrize(
    ("address", "sector", "comuna", "point", "level"),
    [
        ("Sector Huyar Alto s/n", "", "Curaco de Vélez", HUYAR_ALTO, "alta"),
        ("HUYAR ALTO KM 3", "", "Curaco de Vélez", HUYAR_ALTO, "media"),
        ("sect. huyar alto S/N", "", "Curaco de Vélez", HUYAR_ALTO, "alta"),
        ("Camino a Castro km 4", "Pid Pid", "Castro", PID_PID, "media"),
        ("Camino vecinal s/n", "Sec. Pid-Pid", "Castro", PID_PID, "alta"),
        ("Camino vecinal s/n", "Pidpid", "Castro", PID_PID, "alta"),  # one word or two: one name
    ],
)
def test_rural_addresses(geocoder, address, sector, comuna, point, level):
    found = geocoder.locate(address, sector, comuna, rbd=8001)
    assert found.method == "localidad"
    assert (found.lon, found.lat) == pytest.approx(point)
    assert found.confidence == level
    assert "DEIS" in found.source


def test_sector_field_scores_above_the_address(geocoder):
    in_sector = geocoder.locate("Camino vecinal s/n", "Pid Pid", "Castro")
    in_address = geocoder.locate("Sector Pid Pid", "", "Castro")
    assert in_sector.score == pytest.approx(0.88) and in_address.score == pytest.approx(0.85)


def test_place_of_another_comuna_is_not_taken(geocoder):
    # Huyar Alto is in Curaco de Vélez; a Castro case falls back to its school
    found = geocoder.locate("Sector Huyar Alto s/n", "", "Castro", rbd=8001)
    assert found.method == "escuela"
    assert (found.lon, found.lat) == pytest.approx(LICEO_CASTRO)
    assert confidence(found.score) == "baja"


def test_urban_address_without_streets_goes_to_the_town(geocoder):
    found = geocoder.locate("Pje. Los Aromos 123", "", "Ancud", rbd=8001)
    assert found.method == "pueblo" and found.matched == "Ancud"
    assert confidence(found.score) == "baja"


def test_nothing_known_and_no_school(geocoder):
    assert geocoder.locate("", "", "").method == "sin_ubicacion"


def test_confidence_bands():
    assert [confidence(s) for s in (0.95, 0.8, 0.79, 0.5, 0.49)] == [
        "alta", "alta", "media", "media", "baja",
    ]  # fmt: skip
    assert CONFIDENCE == (("alta", 0.8), ("media", 0.5), ("baja", 0.0))
    assert all(len(method) <= 20 for method in METHODS)  # the store's column


# -- names the old gazetteer did not have (87 of 191) -------------------------------
@pytest.mark.parametrize(
    ("address", "comuna", "point"),
    [
        ("Sector Aguantao s/n", "Castro", AGUANTAO),
        ("Quenay s/n", "Quellón", QUENAY),
        ("Colu", "Quemchi", COLU),
    ],
)
def test_localities_only_who_s_on_first_knows(geocoder, address, comuna, point):
    found = geocoder.locate(address, "", comuna, rbd=8001)
    assert found.method == "localidad"
    assert km(found, point) < 0.01
    assert found.source.startswith("WOF ")
    assert found.confidence == "media"  # one approximate source: never «alta»


# -- leading articles and common words ----------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "Sector Los Ángeles s/n",  # issue 18: 28 km off at f574de2
        "sector los angeles sn",
        "Los Angeles",
        "Sector Ángeles",
        "Población Los Ángeles s/n",
        "Villa Los Angeles, casa 12",
    ],
)
def test_leading_articles_and_common_words(geocoder, address):
    found = geocoder.locate(address, "", "Castro", rbd=8001)
    assert found.method == "localidad"
    assert (found.lon, found.lat) == pytest.approx(LOS_ANGELES)


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("Astillero s/n", "El Astillero"),
        ("sector estancia", "La Estancia"),
        ("Sector El Astillero", "El Astillero"),
    ],
)
def test_names_written_without_their_article(geocoder, address, name):
    found = geocoder.locate(address, "", "Castro", rbd=8001)
    assert found.method == "localidad" and found.matched == name


def test_an_island_is_not_the_village_named_like_it(geocoder):
    # «Isla Quinchao» names the island; the village Quinchao is a different, smaller place
    island = geocoder.locate("Isla Quinchao s/n", "", "Quinchao")
    assert island.method == "isla" and island.confidence == "baja"
    village = geocoder.locate("Sector Quinchao", "", "Quinchao")
    assert village.method == "localidad"
    assert km(village, QUINCHAO_VILLAGE) < 0.01


# -- the comuna written at the end --------------------------------------------------
@pytest.mark.parametrize(
    ("address", "comuna", "point"),
    [
        ("lin lin s/n, Quinchao", "Quinchao", LINLIN),  # issue 18: matched «Quinchao», 17 km
        ("Linlin, Quinchao", "Quinchao", LINLIN),
        ("Sector Pid Pid, Castro", "Castro", PID_PID),
        ("Huyar Alto s/n Curaco de Vélez", "Curaco de Vélez", HUYAR_ALTO),
        ("lin lin s/n, Quinchao", "", LINLIN),  # the address gives the comuna
        ("lin lin s/n, Quinchao", "Castro", LINLIN),  # the list gave the school's comuna
    ],
)
def test_comuna_at_the_end_names_the_comuna(geocoder, address, comuna, point):
    found = geocoder.locate(address, "", comuna)
    assert found.method == "localidad"
    assert km(found, point) < 0.01


def test_a_road_to_a_comuna_does_not_name_the_home_comuna(geocoder):
    # «Camino a Castro» in a Dalcahue list: Castro is where the road goes, not the comuna
    found = geocoder.locate("Camino a Castro km 4", "Quetalco", "Dalcahue")
    assert found.method == "localidad" and found.matched == "Quetalco"


def test_comuna_alone_is_a_weak_clue(geocoder):
    found = geocoder.locate("s/n, Quinchao", "", "Quinchao", rbd=8182)
    assert found.method == "localidad_comuna"
    assert km(found, QUINCHAO_VILLAGE) < 0.01
    assert found.confidence == "baja"
    assert "solo nombra la comuna" in found.note


def test_comuna_at_the_end_of_a_road_address(geocoder):
    # issue 18: «Camino a Quenay km 3, Quellón» was the locality Quellón with 0.9
    found = geocoder.locate("Camino a Quenay km 3, Quellón", "", "Quellón")
    assert found.method == "camino_hacia"
    assert km(found, QUENAY) < 0.01
    assert found.confidence == "baja"
    assert "Quenay" in found.matched and "km 3" in found.matched


# -- a slip in a short name -----------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "comuna", "point", "name"),
    [
        ("Metaheu", "Quemchi", METAHUE, "Metahue"),  # issue 18: two letters swapped
        ("Copmu", "Quellón", COMPU, "Compu"),  # issue 18
        ("sector Cmopu s/n", "Quellón", COMPU, "Compu"),
        ("Clou", "Quemchi", COLU, "Colu"),  # a swap in a 4-letter name
        ("Metahe", "Quemchi", METAHUE, "Metahue"),  # one letter missing
        ("Metahuee", "Quemchi", METAHUE, "Metahue"),  # one letter doubled
    ],
)
def test_one_slip_in_a_short_name(geocoder, address, comuna, point, name):
    found = geocoder.locate(address, "", comuna, rbd=8001)
    assert found.method == "localidad_aprox"
    assert km(found, point) < 0.01
    assert found.matched.startswith(name)
    assert found.confidence == "media"


def test_a_common_word_is_not_a_typo_of_a_short_name(geocoder):
    # «Alto» is one letter from «Alao» (Quinchao), but only swaps are accepted in 4 letters
    found = geocoder.locate("Alto s/n", "", "Quinchao", rbd=8182)
    assert found.method == "escuela"


def test_two_slips_in_a_long_name_are_a_weak_clue(geocoder):
    found = geocoder.locate("Quetlaco Alot", "", "Dalcahue", rbd=8112)
    assert found.method != "localidad"
    found = geocoder.locate("Quinterqeun", "", "Quemchi", rbd=8120)  # 11 letters, 2 off
    assert found.method == "localidad_aprox" and found.confidence == "baja"


# -- «Km N camino a X» and numbered routes -----------------------------------------------
@pytest.mark.parametrize(
    "address",
    ["Km 12 camino a Tenaún", "Camino a Tenaún km 12", "Camino Dalcahue a Tenaún, km 12",
     "KM.12 CAMINO A TENAUN", "a 12 km camino hacia Tenaun"],
)  # fmt: skip
def test_km_along_a_road_without_a_network_is_the_target_area_and_baja(geocoder, address):
    found = geocoder.locate(address, "", "Dalcahue", rbd=8112)
    assert found.method == "camino_hacia"
    assert (found.lon, found.lat) == pytest.approx(TENAUN)
    assert found.confidence == "baja"
    assert "km 12 del camino de Dalcahue a Tenaún" in found.matched


def test_km_to_a_place_in_another_comuna(geocoder):
    found = geocoder.locate("Km 4 camino a Castro", "", "Dalcahue", rbd=8112)
    assert found.method == "camino_hacia" and found.matched.endswith("a Castro")


def test_a_named_sector_beats_the_road_it_is_on(geocoder):
    found = geocoder.locate("Camino a Tenaún km 5, sector Quetalco", "", "Dalcahue")
    assert found.method == "localidad" and found.matched == "Quetalco"


@pytest.mark.parametrize("address", ["Ruta W-55 km 12", "ruta w55 km 12", "Ruta 5 km 1180"])
def test_a_numbered_route_is_not_an_urban_address(geocoder, address):
    # issue 18: «Ruta W-55 km 12» was the town with 0.4, labelled urban
    found = geocoder.locate(address, "", "Dalcahue", rbd=8112)
    assert found.method == "escuela"
    assert (found.lon, found.lat) == pytest.approx(RBD_8112)
    assert "ruta" in found.note and "sin lugar reconocido" in found.note


def test_the_intake_case_file(geocoder):
    """`tests/data/geocode_km_camino.csv` (copied from the November 2026 fault cases)."""
    from layers.intake import match_headers
    from layers.intake import read_table
    from layers.intake import validate
    from tests.conftest import TEST_DATA

    table = read_table((TEST_DATA / "geocode_km_camino.csv").read_bytes(), "x.csv")
    records = validate(table, match_headers(table.headers), known_rbds={8112, 8157, 8144},
                       period="2026-08").records  # fmt: skip
    found = {
        r["address"]: geocoder.locate(r["address"], r["sector"], r["comuna"], r["rbd"])
        for r in records
    }
    assert len(found) == 5
    assert found["Sector Tenaún s/n"].method == "localidad"
    for address in ("Km 12 camino a Tenaún", "Camino Dalcahue a Tenaún, km 12",
                    "Camino a Quetalco km 5"):  # fmt: skip
        assert found[address].method == "camino_hacia"
        assert found[address].confidence == "baja"
    assert found["Ruta W-55 km 12"].method == "escuela"
    assert all(f.confidence != "alta" for f in found.values())


# -- frente a / cerca de / al lado de ---------------------------------------------------
def test_next_to_a_named_school(geocoder):
    found = geocoder.locate("frente a la escuela Huyar Alto", "", "Curaco de Vélez")
    assert found.method == "cerca_de"
    assert (found.lon, found.lat) == pytest.approx((-73.565971, -42.401459))  # RBD 8169
    assert found.source == "RBD 8169" and found.confidence == "media"


def test_next_to_a_named_health_post(geocoder):
    found = geocoder.locate("al lado de la posta de Tenaún", "", "Dalcahue")
    assert found.method == "cerca_de"
    assert (found.lon, found.lat) == pytest.approx(TENAUN)
    assert found.source == "DEIS 133496"


def test_near_a_place(geocoder):
    found = geocoder.locate("cerca de la capilla de Linlin", "", "Quinchao")
    assert found.method == "cerca_de" and km(found, LINLIN) < 0.01


def test_in_front_of_the_school_with_no_name_is_the_case_school(geocoder):
    found = geocoder.locate("frente a la escuela", "", "Dalcahue", rbd=8112)
    assert found.method == "cerca_de"
    assert (found.lon, found.lat) == pytest.approx(RBD_8112)


# -- sources that disagree ----------------------------------------------------------------
def test_sources_more_than_2_km_apart_say_so_and_lower_the_confidence(geocoder):
    tenaun = geocoder.locate("Sector Tenaún s/n", "", "Dalcahue")
    assert (tenaun.lon, tenaun.lat) == pytest.approx(TENAUN)
    assert "otra fuente lo ubica a 2,1 km (WOF 890518143)" in tenaun.note
    agreeing = geocoder.locate("Sector Quetalco s/n", "", "Dalcahue")  # DEIS + WOF agree
    assert agreeing.note == "" and tenaun.score < agreeing.score
    assert tenaun.confidence == "baja"


def test_two_places_of_one_name_far_apart(geocoder):
    # WOF has two «San José» in Castro 24.4 km apart (two places, or one misplaced)
    found = geocoder.locate("Sector San José", "", "Castro")
    assert "24,4 km" in found.note
    assert found.confidence == "baja"


# -- never a high-confidence answer built on a weak clue -------------------------------------
# fmt: off
_WORDS = [
    "sector", "camino", "a", "km", "12", "s/n", "frente", "la", "escuela", "de", "los",
    "Quinchao", "Castro", "Tenaún", "Linlin", "Huyar", "Alto", "Metaheu", "Pid", "Ruta",
    "W-55", ",", "Isla", "Quenac", "San", "José", "cerca", "Aguantao", "Villa", "el",
    "posta", "al", "lado", "Ángeles", "Angeles",
]
# fmt: on


def _place_of(geocoder, found):
    """The gazetteer place a locality answer stands on (its point and sources)."""
    return next(
        p for p in geocoder.places
        if p.kind == "localidad" and (p.lon, p.lat) == (found.lon, found.lat)
        and p.source == found.source
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=0, max_size=8),
    sector=st.lists(st.sampled_from(_WORDS), min_size=0, max_size=3),
    comuna=st.sampled_from(["Castro", "Quinchao", "Dalcahue", "Curaco de Vélez", ""]),
)
def test_alta_only_on_a_corroborated_locality(geocoder, words, sector, comuna):
    """«alta» from the gazetteer: a locality two sources put within 1 km, no conflict, no km
    (bench/geocode.py measures it); everything else stays below 0.8."""
    address, sector_text = " ".join(words), " ".join(sector)
    found = geocoder.locate(address, sector_text, comuna, rbd=8001)
    assert found.method in METHODS
    if found.confidence != "alta":
        assert 0.0 <= found.score < 0.8
        return
    assert found.method == "localidad" and found.note == ""
    place = _place_of(geocoder, found)
    assert place.agree >= 2 and place.spread_m <= AGREE_WITHIN_M and place.conflict_m == 0
    for text in (address, sector_text):  # no kilometre («km 12», «12 km»)
        assert not re.search(r"\bkm\W*\d|\d\W*km\b", text, re.IGNORECASE), text


_CORROBORATED = [  # (name, comuna): two sources within 1 km, no conflict
    ("Los Ángeles", "Castro"), ("Huyar Alto", "Curaco de Vélez"), ("Pid Pid", "Castro"),
    ("Quinchao", "Quinchao"),
]  # fmt: skip
_WEAK = [
    "Km {n} camino a {name}", "Camino a {name} km {n}", "Camino a {name}", "camino hacia {name}",
    "cerca de {name}", "frente a la capilla de {name}", "al lado de {name}", "{name} km {n}",
    "Sector {name} km {n}", "Ruta W-55 km {n}, {name}", "{typo} s/n", "{name} {extra} s/n",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    place=st.sampled_from(_CORROBORATED),
    template=st.sampled_from(_WEAK),
    n=st.integers(min_value=1, max_value=40),
    extra=st.sampled_from(["Alto", "Bajo", "Norte", "Vieji", "Grande"]),
    cut=st.integers(min_value=0, max_value=20),
)
def test_a_weak_clue_is_never_alta(geocoder, place, template, n, extra, cut):
    """The issue's weak clues on names that are «alta» when written out on their own."""
    name, comuna = place
    assert geocoder.locate(f"Sector {name} s/n", "", comuna).confidence == "alta"
    # two adjacent letters swapped (not a letter and a space: spaces do not count, «Lin Lin»
    # is «Linlin»), never the first one
    swaps = [i for i in range(1, len(name) - 1)
             if name[i].isalpha() and name[i + 1].isalpha() and name[i] != name[i + 1]]  # fmt: skip
    i = swaps[cut % len(swaps)]
    typo = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    address = template.format(name=name, n=n, extra=extra, typo=typo)
    found = geocoder.locate(address, "", comuna, rbd=8001)
    assert found.confidence != "alta", (address, found)
    assert found.score < 0.8


# -- calibrated confidence: «alta» for a corroborated locality written out ------------------
@pytest.mark.parametrize(
    "address",
    [
        "Sector Los Ángeles s/n",  # issue 18: 28 km off at f574de2; RBD 8036 and WOF 91 m apart
        "sector los angeles sn",
        "SECTOR LOS ANGELES S/N",
        "Los Ángeles s/n, Castro",  # the comuna at the end names the comuna
        "Sector Ángeles s/n",  # article dropped
        "Población Los Ángeles s/n",
        "Villa Los Angeles, casa 12",
    ],
)
def test_a_corroborated_locality_written_out_is_alta(geocoder, address):
    found = geocoder.locate(address, "", "Castro", rbd=8001)
    assert found.method == "localidad" and found.matched == "Los Ángeles"
    assert (found.lon, found.lat) == pytest.approx(LOS_ANGELES)
    assert found.confidence == "alta" and found.score == pytest.approx(0.85)


@pytest.mark.parametrize(
    ("address", "method", "level"),
    [
        ("Los Ánegles s/n", "localidad_aprox", "media"),  # a typo may be another name
        ("Los Ángeles Alto s/n", "localidad", "media"),  # «Alto» left over: maybe another sector
        ("Sector Los Ángeles km 2", "localidad", "media"),  # a kilometre: somewhere on a road
        ("Camino a Los Ángeles", "localidad", "media"),  # a road's end, not the home
        ("cerca de Los Ángeles", "cerca_de", "media"),
        ("Km 3 camino a Los Ángeles", "camino_hacia", "baja"),  # no road network
    ],
)
def test_the_same_locality_behind_a_weak_clue_is_not_alta(geocoder, address, method, level):
    found = geocoder.locate(address, "", "Castro", rbd=8001)
    assert found.method == method and found.confidence == level
    assert km(found, LOS_ANGELES) < 0.01


def test_lin_lin_at_the_end_of_quinchao_is_not_alta_at_the_village_quinchao(geocoder):
    # the village Quinchao is corroborated (DEIS 133503 and WOF 890518155, 521 m apart) ...
    village = geocoder.locate("Sector Quinchao s/n", "", "Quinchao")
    assert village.confidence == "alta" and km(village, QUINCHAO_VILLAGE) < 0.01
    # ... but a comuna written at the end names the comuna, never that village with «alta»
    linlin = geocoder.locate("lin lin s/n, Quinchao", "", "Quinchao", rbd=8182)
    assert linlin.method == "localidad" and km(linlin, LINLIN) < 0.01
    assert linlin.confidence == "media"  # Linlin's DEIS and WOF points are 1.2 km apart
    for address in ("s/n, Quinchao", "Camino vecinal s/n, Quinchao", "casa 4, Quinchao"):
        alone = geocoder.locate(address, "", "Quinchao", rbd=8182)
        assert alone.method == "localidad_comuna" and alone.confidence == "baja", address


@pytest.mark.parametrize(
    ("address", "comuna", "point"),
    [
        ("Km 12 camino a Tenaún", "Dalcahue", TENAUN),
        ("Km 12 camino a Huyar Alto", "Curaco de Vélez", HUYAR_ALTO),  # «alta» written out
        ("Camino a Pid Pid km 12", "Castro", PID_PID),  # «alta» written out
    ],
)
def test_km_on_a_road_without_a_network_is_never_alta(geocoder, address, comuna, point):
    found = geocoder.locate(address, "", comuna, rbd=8001)
    assert found.method == "camino_hacia" and found.confidence == "baja"
    assert km(found, point) < 0.01


def _hand_built(*entries) -> Geocoder:
    return Geocoder(Gazetteer.from_entries(entries).places, {}, comunas={"castro"})


def _entry(name, lat, family, ref) -> Entry:
    return Entry(name, -73.60, lat, "localidad", "castro", family, ref)


# 1 degree of latitude is 111.195 km on the haversine sphere (routing._geo):
# 0.0054° = 600 m, 0.0135° = 1,501 m, 0.0225° = 2,502 m.
def test_alta_needs_two_sources_within_one_km_and_no_conflict():
    geocoder = _hand_built(
        _entry("Los Robles", -42.5000, "deis", "DEIS 1"),  # two sources 600 m apart
        _entry("Los Robles", -42.5054, "wof", "WOF 1"),
        _entry("Las Pataguas", -42.6000, "deis", "DEIS 2"),  # 1.5 km apart: no conflict
        _entry("Las Pataguas", -42.6135, "wof", "WOF 2"),
        _entry("El Arrayán", -42.7000, "deis", "DEIS 3"),  # two agree, a third 2.5 km off
        _entry("El Arrayán", -42.7010, "mineduc", "RBD 3"),
        _entry("El Arrayán", -42.7225, "wof", "WOF 3"),
        _entry("Quilquico", -42.8000, "wof", "WOF 4"),  # one source
    )
    spread = {p.name: p.spread_m for p in geocoder.places}
    assert spread["Los Robles"] == pytest.approx(600.5, abs=1)
    assert spread["Las Pataguas"] == pytest.approx(1501.1, abs=1)
    levels = {
        name: geocoder.locate(f"Sector {name} s/n", "", "Castro").confidence
        for name in ("Los Robles", "Las Pataguas", "El Arrayán", "Quilquico")
    }
    assert levels == {"Los Robles": "alta", "Las Pataguas": "media", "El Arrayán": "media",
                      "Quilquico": "media"}  # fmt: skip
    arrayan = geocoder.locate("Sector El Arrayán s/n", "", "Castro")
    assert "otra fuente lo ubica a 2,4 km (WOF 3)" in arrayan.note
    assert geocoder.corroborated(geocoder.places[0], "exact", "plain") == (
        geocoder.places[0].name == "Los Robles"
    )
    geocoder.agree_within_m = 2000.0  # the threshold is the rule: 1.5 km apart then agrees
    assert geocoder.locate("Sector Las Pataguas", "", "Castro").confidence == "alta"


def test_a_name_two_sources_put_more_than_2_km_apart_is_not_alta(geocoder):
    # Tenaún: DEIS 133496 and WOF 890518143 2.1 km apart (module docstring)
    for address in ("Sector Tenaún s/n", "Tenaún s/n, Dalcahue", "sector tenaun sn"):
        found = geocoder.locate(address, "", "Dalcahue")
        assert found.method == "localidad" and found.confidence != "alta", address
        assert "2,1 km" in found.note


# -- streets of an OpenStreetMap network -----------------------------------------------
# Hand-built named streets (name, lon, lat, length_m) standing in for a built
# Chiloé network: one "Los Aromos" in Castro town, one 13 km away in rural Castro,
# one in Ancud; a street named like the Pid Pid locality; a vague one-word name;
# one on the mainland, outside every comuna.
CASTRO_AROMOS = (-73.7850, -42.4650)  # 700 m from Castro's town point (-73.792, -42.461)
RURAL_AROMOS = (-73.9500, -42.4500)  # rural Castro, 13 km west of the town
ANCUD_AROMOS = (-73.8300, -41.8700)
STREETS = [
    ("Pasaje Los Aromos", *CASTRO_AROMOS, 300.0),
    ("Los Aromos", *RURAL_AROMOS, 900.0),
    ("Los Aromos", *ANCUD_AROMOS, 250.0),
    ("Calle Pid Pid", -73.7800, -42.4100, 400.0),
    ("Centro", -73.7650, -42.4800, 200.0),
    ("Avenida Presidente Ibáñez", -72.9400, -41.4700, 2000.0),  # Puerto Montt
    ("Ruta 5", -73.7700, -42.4600, 90_000.0),
]


@pytest.fixture(scope="module")
def street_geocoder(territory, geocoder):
    return Geocoder.from_territory(territory, STREETS, gazetteer=geocoder.gazetteer)


def test_streets_take_the_comuna_they_lie_in(street_geocoder):
    by_name = {(s.name, s.comuna) for s in street_geocoder.streets}
    assert ("Pasaje Los Aromos", "castro") in by_name
    assert ("Los Aromos", "ancud") in by_name
    assert ("Avenida Presidente Ibáñez", "-") in by_name  # outside the territory
    keys = {s.key for s in street_geocoder.streets}
    assert "centro" not in keys  # too vague to name a street
    assert not any(k.startswith("ruta") or k == "5" for k in keys)  # numbers only


@pytest.mark.parametrize(
    ("address", "comuna", "point"),
    [
        ("Pje. Los Aromos 123", "Castro", CASTRO_AROMOS),
        ("pasaje los aromos N° 123", "Castro", CASTRO_AROMOS),
        ("Los Aromos 45", "Ancud", ANCUD_AROMOS),
    ],
)
def test_numbered_street_in_the_case_comuna(street_geocoder, address, comuna, point):
    found = street_geocoder.locate(address, "", comuna, rbd=8001)
    assert found.method == "calle"
    assert (found.lon, found.lat) == pytest.approx(point)
    # Castro's rural "Los Aromos" is 13 km from the town: the town one is taken, sure
    assert found.score == pytest.approx(0.7)
    assert confidence(found.score) == "media"


def test_street_of_another_comuna_is_not_taken(street_geocoder):
    found = street_geocoder.locate("Los Aromos 123", "", "Dalcahue", rbd=8001)
    assert found.method == "pueblo"  # a numbered address with no known street: the town
    found = street_geocoder.locate("Avenida Presidente Ibáñez 400", "", "Castro")
    assert found.method == "pueblo"


def test_locality_wins_over_an_unnumbered_street_and_loses_to_a_numbered_one(street_geocoder):
    # "Pid Pid" names both a locality and (here) a street of Castro
    assert street_geocoder.locate("Camino a Pid Pid", "", "Castro").method == "localidad"
    found = street_geocoder.locate("Pasaje Los Aromos 12", "Pid Pid", "Castro")
    assert found.method == "calle"
    assert (found.lon, found.lat) == pytest.approx(CASTRO_AROMOS)
    found = street_geocoder.locate("Los Aromos s/n", "Pid Pid", "Castro")
    assert found.method == "localidad"
    assert (found.lon, found.lat) == pytest.approx(PID_PID)


def test_same_named_streets_near_the_anchor_lower_the_score(territory, geocoder):
    near = (-73.7800, -42.4700)  # 700 m from CASTRO_AROMOS: two candidates near the town
    streets = [*STREETS, ("Los Aromos", *near, 100.0)]
    found = Geocoder.from_territory(territory, streets, gazetteer=geocoder.gazetteer).locate(
        "Los Aromos 10", "", "Castro"
    )
    assert found.method == "calle"
    assert found.score == pytest.approx(0.55)
    assert "3 calles con ese nombre" in found.matched


def test_without_streets_nothing_changes(geocoder, street_geocoder):
    for address, comuna in [("Sector Huyar Alto s/n", "Curaco de Vélez"), ("Pje. X 12", "Castro")]:
        assert geocoder.locate(address, "", comuna) == street_geocoder.locate(address, "", comuna)


def test_streets_and_places_of_the_malta_network(malta_network_dir):
    """Real OSM names: Valletta's Triq ir-Repubblika has namesakes in 3 towns."""
    from routing.network import load_places
    from routing.network import load_streets

    path = next(malta_network_dir.glob("malta-*.npz"))
    streets = load_streets(path)
    names = [s[0] for s in streets]
    assert names.count("Triq ir-Repubblika") == 4  # Valletta, Rabat, Victoria (2 runs)
    geocoder = Geocoder.from_places(load_places(path), streets)
    valletta = next(p for p in geocoder.places if p.name == "Valletta")
    assert valletta.kind == "pueblo" and valletta.source.startswith("OSM node ")

    found = geocoder.locate("Triq ir-Repubblika 10, Valletta")
    assert found.method == "calle"
    assert found.score == pytest.approx(0.7)
    assert km(found, (valletta.lon, valletta.lat)) < 0.5

    alone = geocoder.locate("Triq ir-Repubblika 10")  # no town named: the longest, unsure
    assert alone.score == pytest.approx(0.55)
    assert "4 calles con ese nombre" in alone.matched

    merkanti = geocoder.locate("Triq il-Merkanti 12")  # one street of that name
    assert merkanti.score == pytest.approx(0.7)
    assert km(merkanti, (valletta.lon, valletta.lat)) < 0.5
    assert geocoder.locate("Valletta").method == "pueblo"  # not the street "A. Valletta"
    # an islet drawn as a closed way is a place too (OSM way 10365739, place=islet)
    islet = geocoder.locate("Kemmunett")
    assert islet.method == "isla" and islet.source == "OSM way 10365739"


# -- «Km N camino a X» on a road network ----------------------------------------------------
# The hand-made road of tests/data/osm/dalcahue_tenaun_a_mano.osm (way 101): from the town
# point of Dalcahue to the Tenaún health post, four straight pieces.
ROAD = [(-73.6539952, -42.3703695), (-73.60, -42.38), (-73.52, -42.365), (-73.45, -42.335),
        (-73.3866, -42.31577)]  # fmt: skip


def point_along_by_hand(distance_m: float) -> tuple[float, float]:
    """Walk the road's pieces with pyproj's geodesic (WGS84 ellipsoid).

    Independent of `routing.along` (haversine on a sphere, linear interpolation in
    lon/lat): the two differ by the sphere/ellipsoid length ratio, about 0.3 %, so
    some 36 m at 12 km.
    """
    from itertools import pairwise

    import pyproj

    geod = pyproj.Geod(ellps="WGS84")
    left = distance_m
    for (lon1, lat1), (lon2, lat2) in pairwise(ROAD):
        azimuth, _, length = geod.inv(lon1, lat1, lon2, lat2)
        if left <= length:
            lon, lat, _ = geod.fwd(lon1, lat1, azimuth, left)
            return lon, lat
        left -= length
    msg = "beyond the road"
    raise ValueError(msg)


@pytest.fixture(scope="module")
def road_geocoder(territory, geocoder, tmp_path_factory):
    from routing.network import build_network
    from routing.network import load_network
    from tests.conftest import TEST_DATA

    path = build_network(TEST_DATA / "osm" / "dalcahue_tenaun_a_mano.osm",
                         cache_dir=tmp_path_factory.mktemp("redes"))  # fmt: skip
    roads = load_network(path).network
    return Geocoder.from_territory(territory, gazetteer=geocoder.gazetteer, roads=roads)


@pytest.mark.parametrize(
    "address", ["Km 12 camino a Tenaún", "Camino Dalcahue a Tenaún, km 12", "km 12 cno a tenaun"]
)
def test_km_along_the_road_with_a_network(road_geocoder, address):
    found = road_geocoder.locate(address, "", "Dalcahue", rbd=8112)
    assert found.method == "camino_km"
    assert km(found, point_along_by_hand(12_000)) < 0.06
    assert km(found, TENAUN) > 8  # not at Tenaún (issue 18)
    assert found.confidence == "media"  # never «alta»: where km 0 is, is a guess
    assert found.source.startswith("red de caminos")
    assert "2,1 km (WOF 890518143)" in found.note  # Tenaún's conflict is still said


def test_km_beyond_the_end_of_the_road(road_geocoder):
    # the road is about 24 km long: km 40 cannot be on it
    found = road_geocoder.locate("Km 40 camino a Tenaún", "", "Dalcahue", rbd=8112)
    assert found.method == "camino_hacia" and found.confidence == "baja"
    assert "el camino mide 2" in found.note


def test_km_towards_a_place_the_roads_do_not_reach(road_geocoder):
    found = road_geocoder.locate("Km 3 camino a Quetalco", "", "Dalcahue", rbd=8112)
    # Quetalco is 7 km from the hand-made road: it does not snap, so no path
    assert found.method == "camino_hacia"
    assert "no une" in found.note


def test_locate_many_answers_each_reading_once_and_as_locate_would(geocoder):
    """The import path's cache: same answers as row by row, the school kept where it matters."""
    schools = sorted(geocoder.schools)
    school_a, school_b = schools[0], schools[1]
    rows = [
        ("Sector Pid Pid s/n", "", "Castro", 8001),
        ("Sector Pid Pid s/n", "", "Castro", 8035),  # same reading, another school: same place
        ("parcela siete", "", "Castro", school_a),  # nothing named: the school's own point
        ("parcela siete", "", "Castro", school_b),  # same reading, another school: another point
        ("parcela siete", "", "Castro", 999_999),  # a school with no point: never another's
        ("parcela siete", "", "Castro", None),
        ("parcela siete", "", "Castro", school_a),
        ("frente a la escuela", "", "Castro", school_b),
        ("frente a la escuela", "", "Castro", school_a),
    ]
    geocoder.clear_caches()
    many = geocoder.locate_many(iter(rows))
    assert many == [geocoder.locate(*row) for row in rows]
    assert km(many[0], PID_PID) < 0.2 and many[1] is many[0]  # computed once, shared
    assert many[2].source == f"RBD {school_a}" and many[3].source == f"RBD {school_b}"
    assert many[4].method != "escuela" and many[4] == many[5]
    assert many[6] is many[2]
    assert many[7].source == f"RBD {school_b}" and many[8].source == f"RBD {school_a}"
    assert geocoder.locate_many([]) == []
