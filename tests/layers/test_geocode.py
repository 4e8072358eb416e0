"""Offline gazetteer geocoding on the bundled Chiloé data."""

from __future__ import annotations

import pytest

from layers.geocode import Geocoder
from layers.geocode import confidence

# Posta de Salud Rural Huyar Alto, DEIS 133512 (data/chiloe/deis_establecimientos_salud_chiloe.csv)
HUYAR_ALTO = (-73.56671, -42.40249)
# Posta de Salud Rural Pid Pid, DEIS 133547
PID_PID = (-73.7741, -42.40386)
# Liceo Politécnico de Castro, RBD 8001 (Mineduc directory 2025)
LICEO_CASTRO = (-73.768593, -42.480202)


@pytest.fixture(scope="module")
def geocoder(territory):
    return Geocoder.from_territory(territory)


def test_gazetteer_has_localities_islands_and_towns(geocoder):
    table = geocoder.table()
    assert set(table["kind"]) == {"localidad", "isla", "pueblo"}
    assert (table["kind"] == "localidad").sum() > 250
    towns = set(table.loc[table["kind"] == "pueblo", "name"])
    assert {"Castro", "Ancud", "Achao", "Quellón"} <= towns


@pytest.mark.parametrize(
    ("address", "sector", "comuna", "point", "method"),
    [
        ("Sector Huyar Alto s/n", "", "Curaco de Vélez", HUYAR_ALTO, "localidad"),
        ("HUYAR ALTO KM 3", "", "Curaco de Vélez", HUYAR_ALTO, "localidad"),
        ("sect. huyar alto S/N", "", "Curaco de Vélez", HUYAR_ALTO, "localidad"),
        ("Huyar Alot, casa 4", "", "Curaco de Vélez", HUYAR_ALTO, "localidad_aprox"),  # typo
        ("Camino a Castro km 4", "Pid Pid", "Castro", PID_PID, "localidad"),
        ("Camino vecinal s/n", "Sec. Pid-Pid", "Castro", PID_PID, "localidad"),
    ],
)
def test_rural_addresses(geocoder, address, sector, comuna, point, method):
    found = geocoder.locate(address, sector, comuna, rbd=8001)
    assert found.method == method
    assert (found.lon, found.lat) == pytest.approx(point)
    assert found.score >= 0.75


def test_sector_field_scores_above_the_address(geocoder):
    in_sector = geocoder.locate("Camino a Castro km 4", "Pid Pid", "Castro")
    in_address = geocoder.locate("Sector Pid Pid", "", "Castro")
    assert in_sector.score > in_address.score


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


# -- streets of an OpenStreetMap network ---------------------------------------
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
def street_geocoder(territory):
    return Geocoder.from_territory(territory, STREETS)


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


def test_same_named_streets_near_the_anchor_lower_the_score(territory):
    near = (-73.7800, -42.4700)  # 700 m from CASTRO_AROMOS: two candidates near the town
    geocoder = Geocoder.from_territory(territory, [*STREETS, ("Los Aromos", *near, 100.0)])
    found = geocoder.locate("Los Aromos 10", "", "Castro")
    assert found.method == "calle"
    assert found.score == pytest.approx(0.55)
    assert "3 calles con ese nombre" in found.matched


def test_without_streets_nothing_changes(geocoder, street_geocoder):
    for address, comuna in [("Sector Huyar Alto s/n", "Curaco de Vélez"), ("Pje. X 12", "Castro")]:
        assert geocoder.locate(address, "", comuna) == street_geocoder.locate(address, "", comuna)


def test_streets_of_the_malta_network(malta_network_dir):
    """Real OSM street names: Valletta's Triq ir-Repubblika has namesakes in 3 towns."""
    from routing.network import load_network
    from routing.network import load_streets

    path = next(malta_network_dir.glob("malta-*.npz"))
    streets = load_streets(path)
    names = [s[0] for s in streets]
    assert names.count("Triq ir-Repubblika") == 4  # Valletta, Rabat, Victoria (2 runs)
    geocoder = Geocoder.from_places(load_network(path).places, streets)
    valletta = next(p for p in geocoder.places if p.name == "Valletta")

    found = geocoder.locate("Triq ir-Repubblika 10, Valletta")
    assert found.method == "calle"
    assert found.score == pytest.approx(0.7)
    assert _metres(valletta, found) < 500

    alone = geocoder.locate("Triq ir-Repubblika 10")  # no town named: the longest, unsure
    assert alone.score == pytest.approx(0.55)
    assert "4 calles con ese nombre" in alone.matched

    merkanti = geocoder.locate("Triq il-Merkanti 12")  # one street of that name
    assert merkanti.score == pytest.approx(0.7)
    assert _metres(valletta, merkanti) < 500
    assert geocoder.locate("Valletta").method == "pueblo"  # not the street "A. Valletta"


def _metres(place, found) -> float:
    from routing._geo import haversine_m

    return float(haversine_m(place.lon, place.lat, found.lon, found.lat))
