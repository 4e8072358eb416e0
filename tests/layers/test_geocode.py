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
