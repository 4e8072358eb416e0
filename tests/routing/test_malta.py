"""Real OpenStreetMap data: the Malta extract with its ferries (see tests/data/osm/README.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from routing import RoutingInputError
from routing.network import NetworkParams
from routing.network import build_network
from routing.network import edge_speed_kmh

TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)


def test_network_builds_with_both_islands_and_the_ferries(malta):
    info = malta.info()
    assert info["nodos"] > 20_000
    assert info["aristas"] > 50_000
    assert not info["aproximada"]
    lines = {link.line_id for link in malta.links}
    assert {"gozo", "sliema-valletta", "valletta-tres-ciudades"} <= lines
    gozo = next(link for link in malta.links if link.line_id == "gozo")
    assert not gozo.passengers_only
    assert len(gozo.geometry) > 2  # drawn along the OSM ferry way, not a straight line
    notes = " ".join(info["notas"])
    assert "Pozzallo" in notes
    assert "descartada" in notes
    assert "Harbour Cruise" in notes  # a round trip, not a crossing


def test_cache_reuses_the_build(malta_network_dir, tmp_path):
    from tests.conftest import MALTA_PBF
    from tests.conftest import MALTA_TIMETABLE

    first = next(malta_network_dir.glob("malta-*.npz"))
    again = build_network(
        MALTA_PBF, timetable_csv=MALTA_TIMETABLE, cache_dir=malta_network_dir, name="malta"
    )
    assert again == first
    # another parameter set is another file name (key includes the parameters)
    other = NetworkParams(road_filter="drive")
    assert other.key() != NetworkParams().key()


def test_valletta_to_victoria_takes_the_cirkewwa_mgarr_ferry(malta):
    a, b = malta.find_place("Valletta"), malta.find_place("Victoria")
    j = malta.journey(a[:2], b[:2], TUESDAY_8, labels=(a[2], b[2]))
    assert j.reachable
    boats = j.boat_legs
    assert [leg.line_id for leg in boats] == ["gozo"]
    assert boats[0].start == "Ċirkewwa"
    assert boats[0].end == "Mġarr (Gozo)"
    assert boats[0].duration_s == 25 * 60
    assert j.legs[0].kind == "conducir"
    assert j.legs[-1].kind == "conducir"
    assert 1 * 3600 < j.travel_time_s < 3 * 3600
    assert "Barco Gozo Channel" in j.describe()


def test_gozo_to_malta_matrix_entry_includes_the_wait(malta):
    v, c = malta.find_place("Victoria"), malta.find_place("Valletta")
    points = pd.DataFrame(
        {"id": ["victoria", "valletta"], "lat": [v[1], c[1]], "lon": [v[0], c[0]]}
    )
    at8 = malta.matrix(points, depart_at=TUESDAY_8).set_index(["from_id", "to_id"])
    at810 = malta.matrix(points, depart_at=TUESDAY_8 + dt.timedelta(minutes=10)).set_index(
        ["from_id", "to_id"]
    )
    j = malta.journey(v[:2], c[:2], TUESDAY_8)
    assert j.seconds("espera") > 0
    entry = at8.loc[("victoria", "valletta"), "travel_time_s"]
    assert entry == pytest.approx(j.travel_time_s, abs=1)
    # both departures catch the same sailing: leaving 10 min later waits 10 min less
    assert at810.loc[("victoria", "valletta"), "travel_time_s"] == pytest.approx(entry - 600, abs=1)
    # the static drive time plus the crossing is less than the entry: the wait is in it
    road = j.seconds("conducir")
    assert entry > road + 25 * 60


def test_sliema_valletta_passenger_ferry_against_the_road(malta):
    s, v = malta.find_place("Sliema"), malta.find_place("Valletta")
    by_car = malta.journey(s[:2], v[:2], TUESDAY_8)
    on_foot = malta.journey(s[:2], v[:2], TUESDAY_8, on_foot=True)
    assert not by_car.boat_legs  # driving round the harbour is faster than parking + ferry
    assert [leg.line_id for leg in on_foot.boat_legs] == ["sliema-valletta"]
    # walking round the harbour on the road network takes longer than the ferry
    a, b = malta.snap([s[0]], [s[1]]), malta.snap([v[0]], [v[1]])
    walk_by_road = float(malta.network.times(a, b, "walk")[0, 0])
    assert on_foot.travel_time_s < walk_by_road
    assert by_car.travel_time_s < on_foot.travel_time_s


def test_isochrone_from_valletta_stays_on_malta_in_30_minutes(malta):
    import shapely

    c = malta.find_place("Valletta")
    iso = malta.isochrone(c[:2], 30, TUESDAY_8)
    assert iso.geometry.contains(shapely.Point(c[0], c[1]))
    victoria = malta.find_place("Victoria")
    assert not iso.geometry.contains(shapely.Point(victoria[0], victoria[1]))
    assert iso.geometry.area > 0


def test_unknown_place_is_explained(malta):
    with pytest.raises(RoutingInputError, match="No se encontró el lugar"):
        malta.find_place("Atlantis")


def test_speeds_by_class_maxspeed_and_surface():
    params = NetworkParams()
    assert edge_speed_kmh("primary", None, None, params) == 70
    assert edge_speed_kmh("primary", "gravel", None, params) == 40
    assert edge_speed_kmh("secondary", None, "30", params) == 30
    assert edge_speed_kmh(["residential", "track"], "dirt", None, params) == 20
    assert edge_speed_kmh("primary", None, "30 mph", params) == pytest.approx(48.28, abs=0.01)


def test_bad_osm_file_is_reported(tmp_path):
    bad = tmp_path / "roto.osm"
    bad.write_text("esto no es OSM")
    with pytest.raises(RoutingInputError, match="OSM"):
        build_network(bad, cache_dir=tmp_path)
    with pytest.raises(RoutingInputError, match="No existe"):
        build_network(tmp_path / "nada.osm.pbf", cache_dir=tmp_path)


def test_unsnappable_point_is_unreachable_with_reason(malta):
    j = malta.journey((14.0, 35.6), (14.51, 35.9), TUESDAY_8)  # open sea south-west of Malta
    assert not j.reachable
    assert "km del camino más cercano" in j.reason
    assert np.isnan(j.travel_time_s)
