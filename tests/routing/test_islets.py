"""A snap never crosses the water (issue 17, item 9).

Case: on the network of ``v0_ferry_way.osm`` a point 1.7 km past the ferry ramp
of road A (an islet with no road, across the water) was reached by an
11-minute drive. Now: a point past the dead end of a boat ramp is across the
water; a point on an island or islet drawn in OSM is attached to a road of its
own land (reached by its boat) or is unreachable with the reason.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from routing.network import build_network
from routing.network import load_network
from tests.conftest import TEST_DATA

CASES = TEST_DATA / "osm" / "cases"
TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)
ISLET = (-73.655, -42.515)
ROAD_A = (-73.70, -42.50)


@pytest.fixture(scope="module")
def v0(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redes")
    return load_network(build_network(CASES / "v0_ferry_way.osm", cache_dir=folder))


def test_the_islet_past_the_ramp_is_not_driven_to(v0):
    for a, b in ((ISLET, ROAD_A), (ROAD_A, ISLET)):
        j = v0.journey(a, b, TUESDAY_8)
        assert not j.reachable
        assert "1.7 km más allá del final del camino en el muelle" in j.reason
        assert "al otro lado del agua" in j.reason
        assert "Barcaza A-B" in j.reason
    points = pd.DataFrame(
        {"id": ["islote", "a"], "lat": [ISLET[1], ROAD_A[1]], "lon": [ISLET[0], ROAD_A[0]]}
    )
    table = v0.matrix(points, depart_at=TUESDAY_8)
    assert table["travel_time_s"].isna().sum() == 3  # islote to itself and both ways to a


def test_the_case_command_explains_it(v0, tmp_path, monkeypatch):
    from geo_app.cli import main

    monkeypatch.setenv("REVINCULA_NETWORK_DIR", str(tmp_path))
    runner = CliRunner()
    runner.invoke(
        main, ["network", "build", "--osm", str(CASES / "v0_ferry_way.osm"), "--nombre", "v0"]
    )
    result = runner.invoke(
        main,
        [
            "route",
            "--network",
            "v0",
            "--at",
            "2026-03-10 08:00",
            "--",
            "-42.515,-73.655",
            "-42.50,-73.70",
        ],
    )
    assert result.exit_code == 2
    assert "Sin viaje posible: origen fuera de la red" in result.output
    assert "al otro lado del agua" in result.output


def test_a_point_at_the_ramp_is_still_reached(v0):
    j = v0.journey((-73.6595, -42.5005), ROAD_A, TUESDAY_8)
    assert j.reachable, j.reason
    assert j.legs[0].kind == "conducir"


def test_across_the_water_the_boat_is_taken(v0):
    j = v0.journey(ROAD_A, (-73.58, -42.501), TUESDAY_8)
    assert [leg.line_name for leg in j.boat_legs] == ["Barcaza A-B"]


# -- siblings: land drawn in OSM ------------------------------------------------------
ROADS = """
<node id="100" lat="-42.500000" lon="-73.700000"/><node id="104" lat="-42.500000" lon="-73.660000"/>
<node id="200" lat="-42.500000" lon="-73.620000"/><node id="204" lat="-42.500000" lon="-73.560000"/>
<way id="1000"><nd ref="100"/><nd ref="104"/><tag k="highway" v="tertiary"/></way>
<way id="2000"><nd ref="200"/><nd ref="204"/><tag k="highway" v="tertiary"/></way>
<way id="5000"><nd ref="104"/><nd ref="200"/><tag k="route" v="ferry"/><tag k="name" v="Cruce"/>
<tag k="motor_vehicle" v="yes"/></way>
"""


def _ring(way_id, west, east, south, north, tags):
    base = way_id * 10
    corners = [(north, west), (north, east), (south, east), (south, west)]
    nodes = "".join(
        f'<node id="{base + k}" lat="{lat:.6f}" lon="{lon:.6f}"/>'
        for k, (lat, lon) in enumerate(corners)
    )
    refs = "".join(f'<nd ref="{base + k}"/>' for k in (0, 1, 2, 3, 0))
    tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'{nodes}<way id="{way_id}">{refs}{tag_xml}</way>'


def _model(tmp_path, land: str, name: str):
    path = tmp_path / f"{name}.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="prueba">'
        f"{ROADS}{land}</osm>",
        encoding="utf-8",
    )
    return load_network(build_network(path, cache_dir=tmp_path / "redes", name=name))


ON_ISLET = (-73.68, -42.509)  # 1.0 km south of road A, beside it (not past the ramp)


def test_an_islet_with_no_road_is_unreachable_with_its_name(tmp_path):
    islet = _ring(
        7000, -73.685, -73.675, -42.512, -42.506, {"place": "islet", "name": "Islote Prueba"}
    )
    model = _model(tmp_path, islet, "islote")
    j = model.journey(ON_ISLET, ROAD_A, TUESDAY_8)
    assert not j.reachable
    assert "Islote Prueba" in j.reason and "otra masa de tierra" in j.reason
    # a point on the shore of road A, outside the islet, is driven to
    assert model.journey((-73.68, -42.503), ROAD_A, TUESDAY_8).reachable


def test_without_land_data_the_same_point_beside_the_road_is_driven_to(tmp_path):
    model = _model(tmp_path, "", "sin_tierra")
    assert model.journey(ON_ISLET, ROAD_A, TUESDAY_8).reachable


def test_a_point_on_its_island_is_attached_to_the_island_road_and_reached_by_boat(tmp_path):
    # island B is drawn as a closed coastline; the point is nearer road A (1.5 km, past its
    # ramp) than road B (2.0 km) but lies on island B
    island = _ring(
        7100, -73.645, -73.55, -42.52, -42.49, {"natural": "coastline", "name": "Isla B"}
    )
    model = _model(tmp_path, island, "isla")
    point = (-73.643, -42.505)
    places = model.snap([point[0]], [point[1]])
    assert places.ok[0]
    assert places.access_m[0] == pytest.approx(2000, rel=0.1)
    j = model.journey(ROAD_A, point, TUESDAY_8)
    assert j.reachable, j.reason
    assert [leg.line_name for leg in j.boat_legs] == ["Cruce"]


def test_a_point_on_an_island_with_its_own_road_keeps_it(tmp_path):
    island = _ring(7200, -73.72, -73.665, -42.52, -42.48, {"place": "island", "name": "Isla A"})
    model = _model(tmp_path, island, "isla_a")
    places = model.snap([-73.69, -73.68], [-42.505, -42.49])
    assert places.ok.all()
    np.testing.assert_allclose(places.access_m, [555, 1110], rtol=0.02)
