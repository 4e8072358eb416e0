"""Gazetteer sources, provenance, merging with conflicts, the team's file and confirmations."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.gazetteer import SOURCES
from layers.gazetteer import WOF_FILE
from layers.gazetteer import ConfirmedPlace
from layers.gazetteer import Entry
from layers.gazetteer import Gazetteer
from layers.gazetteer import GazetteerError
from layers.gazetteer import address_key
from layers.gazetteer import core_key
from layers.gazetteer import merge_entries
from layers.gazetteer import osm_entries
from layers.gazetteer import read_gazetteer_file
from layers.gazetteer import wof_entries
from layers.geocode import Geocoder
from layers.territory import CHILOE_BBOX
from routing._geo import haversine_m

WHEN = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def metres(a, b) -> float:
    return float(haversine_m(a[0], a[1], b[0], b[1]))


def entry(name, lon, lat, family, ref, comuna="castro", **kw) -> Entry:
    return Entry(name, lon, lat, "localidad", comuna, family, ref, **kw)


# -- names ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "core"),
    [
        ("los angeles", "angeles"),
        ("villa quenac", "quenac"),
        ("sector isla laitec", "laitec"),
        ("pid pid", "pidpid"),
        ("la villa", "lavilla"),  # only common words: kept whole
        ("san jose", "sanjose"),  # «jose» is too short to stand alone after a saint
        ("san antonio", "antonio"),
        ("el pa", "elpa"),  # under 4 letters: kept whole
    ],
)
def test_core_key(key, core):
    assert core_key(key) == core


# -- Who's On First ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def wof(territory):
    return wof_entries(territory.data_dir / WOF_FILE)


def test_wof_keeps_localities_and_drops_what_its_readme_flags(wof):
    # 215 `locality` rows (README section 8) minus 3 «REGISTRO DUDOSO», 1 lake, 2 islands
    # (Quattroshapes blobs) and Dalcahue 102018059 (17.7 km from its twin): 208
    assert len(wof) == 208
    refs = {e.ref for e in wof}
    dropped = {"WOF 102018031", "WOF 102018217", "WOF 102018061", "WOF 102017589",
               "WOF 102017071", "WOF 102017495", "WOF 102018059", "WOF 890518019"}  # fmt: skip
    assert not dropped & refs
    assert all(e.family == "wof" and e.kind == "localidad" for e in wof)


def test_wof_names_take_their_accents_but_not_a_wrong_spanish_name(wof):
    names = {e.ref: e.name for e in wof}
    assert names["WOF 1276209971"] == "Chelín"
    assert names["WOF 1310674623"] == "Linlin"  # name:spa «Qian Lin» is a source error
    notes = {e.ref: e.note for e in wof}
    assert "±1 km" in notes["WOF 1343733157"]  # El Banco: whole minutes of arc


def test_wof_variants_become_aliases_only_when_safe(territory):
    places = {p.name: p for p in Gazetteer.from_entries(wof_entries(
        territory.data_dir / WOF_FILE)).places}  # fmt: skip
    assert "nerco" in places["Nercon"].aliases  # one letter off
    assert "guenac" in places["Villa Quenac"].aliases
    assert places["Huildad"].aliases == ("huudad",)  # «Caudelaria» is another place's typo
    assert places["Aucar"].aliases == ()  # «Escuela Aucar» is a building
    assert places["Chacao Viejo"].aliases == ()  # «Chacao» is another place
    assert places["Alao"].aliases == ()  # «Capilla Alau» is a building


def test_missing_wof_file_says_how_to_fix(tmp_path):
    with pytest.raises(GazetteerError, match="restaure data/chiloe"):
        wof_entries(tmp_path / WOF_FILE)


# -- merging -------------------------------------------------------------------------------
# Hand-built: three sources name «Los Robles» in Castro. DEIS at (-73.70, -42.50); the school
# 0.004° of longitude east (0.004 × 111.32 km × cos 42.5° = 328 m); WOF 0.03° of latitude
# north (3.3 km): outside the 2 km cluster of the other two.
DEIS = entry("Los Robles", -73.70, -42.50, "deis", "DEIS 1")
SCHOOL = entry("LOS ROBLES", -73.696, -42.50, "mineduc", "RBD 2")
FAR = entry("Robles", -73.70, -42.47, "wof", "WOF 3")


def test_agreeing_sources_are_one_place_at_their_mean():
    (place,) = merge_entries([DEIS, SCHOOL])
    assert (place.lon, place.lat) == pytest.approx((-73.698, -42.50))
    assert place.families == ("deis", "mineduc") and place.agree == 2
    assert place.conflict == "" and place.conflict_m == 0


def test_a_source_more_than_2_km_away_is_a_conflict():
    (place,) = merge_entries([DEIS, SCHOOL, FAR])  # «Robles» and «Los Robles»: one name
    assert (place.lon, place.lat) == pytest.approx((-73.698, -42.50))  # the two that agree
    assert place.outliers == ("WOF 3",)
    assert place.conflict_m == pytest.approx(metres((-73.698, -42.50), (-73.70, -42.47)))
    assert place.conflict == "otra fuente lo ubica a 3,3 km (WOF 3)"


def test_retiring_the_wrong_entry_ends_the_conflict():
    (place,) = merge_entries([DEIS, SCHOOL, FAR], retired=["WOF 3"])
    assert place.conflict == "" and "WOF 3" not in place.refs


def test_a_team_correction_moves_the_place_and_settles_the_conflict():
    fix = ConfirmedPlace("Los Robles", "Castro", -73.71, -42.49, "correccion", "prof.castro", WHEN)
    older = ConfirmedPlace("Los Robles", "Castro", -73.72, -42.49, "correccion", "prof.castro",
                           WHEN - dt.timedelta(days=3))  # fmt: skip
    (place,) = merge_entries([DEIS, SCHOOL, FAR, older.entry(), fix.entry()])
    assert (place.lon, place.lat) == pytest.approx((-73.71, -42.49))  # the newest one
    assert place.confirmed and place.conflict_m == 0
    assert place.conflict.startswith("confirmado por el equipo")


def test_a_school_named_after_a_person_needs_another_source():
    person = entry("Juan Victorino Tangol", -73.37, -42.33, "mineduc", "RBD 8112",
                   needs_corroboration=True)  # fmt: skip
    assert merge_entries([person]) == []
    same = entry("Juan Victorino Tangol", -73.371, -42.33, "deis", "DEIS 9")
    assert len(merge_entries([person, same])) == 1


def test_a_town_keeps_its_census_point():
    town = Entry("Castro", -73.79, -42.46, "pueblo", "castro", "censo", "Censo Castro")
    wof = entry("Castro", -73.77, -42.48, "wof", "WOF 102017865")  # 2.7 km off
    (place,) = merge_entries([town, wof])
    assert place.kind == "pueblo" and (place.lon, place.lat) == (-73.79, -42.46)
    assert place.conflict_m == 0  # a town's point is its urban zone: no lowered confidence


def test_same_name_in_two_comunas_are_two_places():
    other = entry("Los Robles", -73.60, -42.20, "deis", "DEIS 4", comuna="dalcahue")
    assert len(merge_entries([DEIS, other])) == 2


# -- the real gazetteer ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gazetteer(territory):
    from layers.gazetteer import build_gazetteer

    return build_gazetteer(territory)


def test_every_place_says_where_it_comes_from(gazetteer):
    for place in gazetteer.places:
        assert place.refs and place.source and place.families
        assert all(f in SOURCES for f in place.families)
        assert {e.ref for e in gazetteer.entries_of(place)} <= set(place.refs)


def test_sources_panel_attribution(gazetteer, territory):
    texts = gazetteer.attributions()
    assert len(texts) == 1 and texts[0].startswith("Datos de Who's On First (licencia: https")
    assert "Incluye datos de GeoNames (http://www.geonames.org, CC-BY)" in texts[0]
    assert "quattroshapes" in texts[0] and "Instituto Geográfico Militar" in texts[0]
    assert "Data from" not in texts[0] and "Includes" not in texts[0]
    with_osm = Gazetteer.from_entries(
        [*gazetteer.entries, *osm_entries([("Tenaún", -73.387, -42.3158, "village")])]
    )
    assert "© colaboradores de OpenStreetMap" in with_osm.attributions()


def test_search_for_the_places_page(gazetteer):
    # the island (any comuna) and the village on it
    assert [p.name for p in gazetteer.search("quenac")] == ["Isla Quenac", "Villa Quenac"]
    assert gazetteer.search("Villa Quenca", "Quinchao")[0].name == "Villa Quenac"  # a typo
    assert all(p.comuna in ("castro", "") for p in gazetteer.search("", "Castro"))


# -- OpenStreetMap places ------------------------------------------------------------------------
def test_osm_places_of_the_wanted_kinds_take_their_comuna(territory):
    places = [
        ("Tenaún", -73.387, -42.3158, "village", "OSM node 7"),
        ("Algún Cerro", -73.5, -42.4, "peak", "OSM node 8"),  # not a place kind we take
        ("Isla Chiloé Chica", -73.5, -42.5, "islet", "OSM way 9"),
        ("Puerto Montt", -72.94, -41.47, "city", "OSM node 10"),  # the mainland
    ]
    found = {e.name: e for e in osm_entries(places, territory.comunas)}
    assert set(found) == {"Tenaún", "Isla Chiloé Chica", "Puerto Montt"}
    assert found["Tenaún"].comuna == "dalcahue" and found["Tenaún"].kind == "localidad"
    assert found["Isla Chiloé Chica"].kind == "isla" and found["Isla Chiloé Chica"].comuna == ""
    assert found["Puerto Montt"].comuna == "-"  # outside every comuna: never matched


def test_osm_places_come_with_a_network_built_from_a_file(territory, tmp_path):
    from routing.network import build_network
    from routing.network import load_places
    from tests.conftest import TEST_DATA

    path = build_network(TEST_DATA / "osm" / "dalcahue_tenaun_a_mano.osm", cache_dir=tmp_path)
    places = load_places(path)
    assert places == [("Tenaún", -73.387, -42.3158, "village", "OSM node 7")]
    geocoder = Geocoder.from_territory(territory, osm_places=places)
    found = geocoder.locate("Sector Tenaún", "", "Dalcahue")
    assert "OSM node 7" in found.source
    tenaun = next(p for p in geocoder.places if p.name == "Tenaún")
    assert tenaun.families == ("deis", "osm")  # 37 m apart: they agree


# -- the team's file ----------------------------------------------------------------------
COMUNAS = ["Castro", "Ancud", "Dalcahue", "Curaco de Vélez"]
GOOD = (
    "nombre;comuna;lat;lon;fuente\n"
    "Los Robles;Castro;-42,5000;-73,7000;INE, entidades rurales 2017\n"
    "Alto Bonito;Curaco de Velez;-42.41;-73.58;visita 2026\n"
)


def test_a_good_file_gives_entries_with_their_source(territory):
    entries = read_gazetteer_file(GOOD.encode(), "lugares.csv", comunas=COMUNAS,
                                  areas=territory.comunas, bbox=CHILOE_BBOX)  # fmt: skip
    assert [(e.name, e.comuna, e.lat, e.lon) for e in entries] == [
        ("Los Robles", "castro", -42.5, -73.7),
        ("Alto Bonito", "curaco de velez", -42.41, -73.58),
    ]
    assert entries[0].ref == "lugares.csv fila 2" and entries[0].family == "importado"
    assert entries[0].note == "fuente: INE, entidades rurales 2017"


def test_english_headers_are_recognised():
    data = b"name,comuna,lat,lon,source\nLos Robles,Castro,-42.5,-73.7,INE\n"
    (only,) = read_gazetteer_file(data, "x.csv", comunas=COMUNAS)
    assert only.name == "Los Robles"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (";Castro;-42.5;-73.7;INE", "falta el nombre del lugar"),
        ("123;Castro;-42.5;-73.7;INE", "no es un nombre de lugar"),
        ("Los Robles;Castor;-42.5;-73.7;INE", "la comuna 'Castor' no es del territorio"),
        ("Los Robles;Castro;42°30'S;-73.7;INE", "no use grados y minutos"),
        ("Los Robles;Castro;-73.7;-42.5;INE", "latitud y longitud parecen invertidas"),
        ("Los Robles;Castro;-33.45;-70.66;INE", "está fuera del territorio"),
        ("Los Robles;Castro;-42.5;-73.7;", "falta la fuente"),
        ("Los Robles;Castro;-42.37;-73.65;INE", "de la comuna Castro: revise la comuna"),
        ("Los Robles;Castro;;-73.7;INE", "falta la latitud"),
    ],
)
def test_each_bad_row_is_named_and_nothing_is_imported(territory, row, message):
    data = (GOOD + row + "\n").encode()
    with pytest.raises(GazetteerError) as caught:
        read_gazetteer_file(data, "x.csv", comunas=COMUNAS, areas=territory.comunas,
                            bbox=CHILOE_BBOX)  # fmt: skip
    (problem,) = caught.value.problems
    assert problem.startswith("Fila 4: ") and message in problem
    assert "no se guardó nada" in str(caught.value)


def test_every_problem_is_listed_at_once(territory):
    data = (GOOD + ";Castro;-42.5;-73.7;INE\nLos Robles;Castro;-42,5000;-73,7000;INE, "
            "entidades rurales 2017\n").encode()  # fmt: skip
    with pytest.raises(GazetteerError) as caught:
        read_gazetteer_file(data, "x.csv", comunas=COMUNAS, bbox=CHILOE_BBOX)
    assert [p.split(":")[0] for p in caught.value.problems] == ["Fila 4", "Fila 5"]
    assert "repite la fila 2" in caught.value.problems[1]


def test_missing_columns_are_named():
    with pytest.raises(GazetteerError, match=r"Faltan las columnas lat \(latitud\), fuente"):
        read_gazetteer_file(b"nombre;comuna;lon\nA;Castro;-73.7\n", "x.csv", comunas=COMUNAS)


def test_an_empty_file_is_refused():
    with pytest.raises(GazetteerError, match="vacío"):
        read_gazetteer_file(b"", "x.csv", comunas=COMUNAS)


def test_imported_places_are_found_with_their_source(territory):
    entries = read_gazetteer_file(GOOD.encode(), "lugares.csv", comunas=COMUNAS)
    geocoder = Geocoder.from_territory(territory, imported=entries)
    found = geocoder.locate("Sector Alto Bonito s/n", "", "Curaco de Vélez")
    assert found.method == "localidad" and found.source == "lugares.csv fila 3"
    assert (found.lon, found.lat) == (-73.58, -42.41)


# -- what the team confirms ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": "gps", "accuracy_m": 250.0}, "la precisión del GPS es de 250 m"),
        ({"origin": "gps"}, "la precisión del GPS es desconocida"),
        ({"origin": "satelite"}, "origen 'satelite' desconocido"),
        ({"name": "  "}, "falta el nombre del sector"),
        ({"when": dt.datetime(2026, 11, 20, 10)}, "zona horaria"),
        ({"who": ""}, "falta quién confirma"),
    ],
)
def test_a_confirmation_is_checked(kwargs, message):
    fields = {"name": "Los Robles", "comuna": "Castro", "lon": -73.7, "lat": -42.5,
              "origin": "pin", "who": "gestor.castro", "when": WHEN} | kwargs  # fmt: skip
    with pytest.raises(GazetteerError, match=message):
        ConfirmedPlace(**fields)


def test_a_good_gps_fix_is_accepted():
    fix = ConfirmedPlace("Los Robles", "Castro", -73.7, -42.5, "gps", "gestor.castro", WHEN,
                         accuracy_m=30.0)  # fmt: skip
    assert fix.entry().note == "ubicación GPS en terreno por gestor.castro el 2026-11-20"
    assert fix.ref == "confirmado gestor.castro 2026-11-20T10:00:00+00:00"
    assert ConfirmedPlace(**{**fix.__dict__, "place_id": 12}).ref == "confirmado 12"


def test_a_confirmed_home_places_every_case_of_the_sector(territory):
    # a pin for «Sector Aguantao s/n» 600 m from the WOF point (-73.58799, -42.52996)
    pin = ConfirmedPlace("Aguantao", "Castro", -73.595, -42.53, "pin", "prof.castro", WHEN,
                         address_key=address_key("Sector Aguantao s/n"))  # fmt: skip
    geocoder = Geocoder.from_territory(territory, confirmed=[pin])
    same_home = geocoder.locate("Sector Aguantao s/n", "", "Castro")
    assert same_home.method == "confirmado" and same_home.confidence == "alta"
    assert (same_home.lon, same_home.lat) == (-73.595, -42.53)
    neighbour = geocoder.locate("Aguantao, casa 3", "", "Castro")
    assert neighbour.method == "confirmado" and neighbour.confidence == "media"
    assert (neighbour.lon, neighbour.lat) == (-73.595, -42.53)
    retired = Geocoder.from_territory(territory, confirmed=[ConfirmedPlace(
        **{**pin.__dict__, "retired": True})])  # fmt: skip
    assert retired.locate("Sector Aguantao s/n", "", "Castro").method == "localidad"


def test_a_confirmed_sector_no_source_knows(territory):
    pin = ConfirmedPlace("Los Cipreses", "Dalcahue", -73.60, -42.35, "gps", "gestor.dalcahue",
                         WHEN, address_key="x", accuracy_m=12.0)  # fmt: skip
    geocoder = Geocoder.from_territory(territory, confirmed=[pin])
    found = geocoder.locate("Sector Los Cipreses", "", "Dalcahue")
    assert found.method == "confirmado" and found.source == pin.ref
