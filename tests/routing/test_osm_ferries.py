"""Ferries from OSM: relations, ways split in pieces, and every `duration` form (issue 17, 6-7).

Cases (copied from the November 2026 bug hunt into tests/data/osm/cases/): a
ferry tagged only on its ``route=ferry`` relation, a ferry split into two ways,
``duration=PT45M``; and the control. Siblings are built here: relations of
several ways, branching ferries, duration lists, unreadable durations.
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from routing.network import build_network
from routing.network import load_network
from routing.network import parse_duration
from tests.conftest import TEST_DATA

CASES = TEST_DATA / "osm" / "cases"
TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)
A_SIDE, B_SIDE = (-73.69, -42.50), (-73.57, -42.50)


@pytest.mark.parametrize(
    ("value", "minutes"),
    [
        ("PT45M", 45),
        ("PT1H30M", 90),
        ("pt20m", 20),
        ("PT1H", 60),
        ("PT90S", 1.5),
        ("P0DT1H5M", 65),
        ("00:45", 45),
        ("1:45", 105),
        ("00:05:00", 5),
        ("01:30:30", 90.5),
        ("45", 45),
        ("7.5", 7.5),
    ],
)
def test_every_duration_form_osm_allows(value, minutes):
    got, note = parse_duration(value)
    assert got == pytest.approx(minutes)
    assert note == ""


def test_a_duration_list_gives_the_longest_and_says_so():
    got, note = parse_duration("00:30;00:45")
    assert got == 45
    assert "es una lista" in note and "la más larga" in note


@pytest.mark.parametrize("value", ["about 30 min", "PT", "P", "1:75", "-5", "30 min"])
def test_a_duration_not_understood_is_said(value):
    got, note = parse_duration(value)
    assert got is None
    assert "no se entiende" in note
    assert "PT45M" in note  # the forms OSM uses


def test_zero_or_missing_duration():
    assert parse_duration("00:00") == (None, "`duration`='00:00' es cero")
    assert parse_duration(None) == (None, "")
    assert parse_duration("  ") == (None, "")


# -- the cases --------------------------------------------------------------------
def _build(path, tmp_path, name=None):
    model = load_network(build_network(path, cache_dir=tmp_path, name=name))
    return model, model.journey(A_SIDE, B_SIDE, TUESDAY_8)


def test_control_ferry_way_with_an_assumed_20_minute_crossing(tmp_path):
    model, journey = _build(CASES / "v0_ferry_way.osm", tmp_path)
    assert journey.reachable, journey.reason
    (boat,) = journey.boat_legs
    assert boat.duration_s == 20 * 60
    assert boat.assumed
    # the assumed crossing is said, with how it was assumed
    assert any("sin `duration` en OSM: cruce supuesto de 20 min" in n for n in model.notes)
    # drive 2.5 km (3 min), margin, the 09:00 boat (hourly default), 20 min, drive 3 min;
    # 1 h 27 min before points were snapped onto the edge (issue 17, item 8)
    assert journey.travel_time_s == pytest.approx(83 * 60, abs=60)


def test_a_ferry_tagged_only_on_its_relation_is_a_boat_line(tmp_path):
    model, journey = _build(CASES / "v1_ferry_relation_only.osm", tmp_path)
    assert model.info()["lineas_barco"] == 1
    assert journey.reachable, journey.reason
    assert [leg.line_name for leg in journey.boat_legs] == ["Barcaza A-B"]
    assert not model.links[0].passengers_only  # motor_vehicle=yes on the relation
    assert any("relación ferry 9000" in n for n in model.notes)


def test_a_ferry_split_in_two_ways_is_one_line(tmp_path):
    model, journey = _build(CASES / "v2_ferry_split_two_ways.osm", tmp_path)
    assert model.info()["lineas_barco"] == 1
    assert journey.reachable, journey.reason
    assert journey.boat_legs[0].duration_s == 20 * 60
    assert not any("sale del área" in n for n in model.notes)
    assert any("2 tramos unidos en una línea" in n for n in model.notes)


def test_iso_duration_gives_a_45_minute_crossing(tmp_path):
    model, journey = _build(CASES / "v4a_duration_iso.osm", tmp_path)
    assert journey.boat_legs[0].duration_s == 45 * 60
    assert any("cruce de 45 min según `duration` de OSM" in n for n in model.notes)


def test_the_case_command_on_the_relation_file(tmp_path, monkeypatch):
    from geo_app.cli import main

    monkeypatch.setenv("REVINCULA_NETWORK_DIR", str(tmp_path))
    runner = CliRunner()
    built = runner.invoke(
        main,
        ["network", "build", "--osm", str(CASES / "v1_ferry_relation_only.osm"), "--nombre", "X"],
    )
    assert built.exit_code == 0, built.output
    assert "1 líneas de barco" in built.output
    result = runner.invoke(
        main,
        [
            "route",
            "--network",
            "X",
            "--at",
            "2026-03-10 08:00",
            "--",
            "-42.50,-73.69",
            "-42.50,-73.57",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Barco Barcaza A-B" in result.output


# -- siblings -----------------------------------------------------------------------
ROADS = """
<node id="100" lat="-42.500000" lon="-73.700000"/><node id="104" lat="-42.500000" lon="-73.660000"/>
<node id="200" lat="-42.500000" lon="-73.600000"/><node id="204" lat="-42.500000" lon="-73.560000"/>
<node id="400" lat="-42.540000" lon="-73.600000"/><node id="404" lat="-42.560000" lon="-73.560000"/>
<way id="1000"><nd ref="100"/><nd ref="104"/><tag k="highway" v="tertiary"/></way>
<way id="2000"><nd ref="200"/><nd ref="204"/><tag k="highway" v="tertiary"/></way>
<way id="4000"><nd ref="400"/><nd ref="404"/><tag k="highway" v="tertiary"/></way>
<node id="300" lat="-42.504000" lon="-73.640000"/><node id="301" lat="-42.504000" lon="-73.620000"/>
"""


def _osm(tmp_path, body: str, name: str) -> object:
    path = tmp_path / f"{name}.osm"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="prueba">'
        f"{ROADS}{body}</osm>\n",
        encoding="utf-8",
    )
    return load_network(build_network(path, cache_dir=tmp_path / "redes", name=name))


def test_a_relation_of_three_untagged_ways_with_its_duration(tmp_path):
    model = _osm(
        tmp_path,
        '<way id="5000"><nd ref="104"/><nd ref="300"/></way>'
        '<way id="5001"><nd ref="301"/><nd ref="300"/></way>'  # drawn the other way
        '<way id="5002"><nd ref="301"/><nd ref="200"/></way>'
        '<relation id="9000"><member type="way" ref="5000" role=""/>'
        '<member type="way" ref="5001" role=""/><member type="way" ref="5002" role=""/>'
        '<tag k="type" v="route"/><tag k="route" v="ferry"/><tag k="name" v="Lancha R"/>'
        '<tag k="duration" v="00:35:00"/></relation>',
        "rel3",
    )
    assert model.info()["lineas_barco"] == 1
    j = model.journey(A_SIDE, B_SIDE, TUESDAY_8, on_foot=True)
    assert j.reachable, j.reason
    assert j.boat_legs[0].duration_s == 35 * 60
    assert model.links[0].passengers_only  # no motor_vehicle=yes anywhere


def test_chained_ways_with_a_duration_each_are_summed(tmp_path):
    model = _osm(
        tmp_path,
        '<way id="5000"><nd ref="104"/><nd ref="300"/><tag k="route" v="ferry"/>'
        '<tag k="duration" v="PT10M"/><tag k="motor_vehicle" v="yes"/></way>'
        '<way id="5001"><nd ref="300"/><nd ref="200"/><tag k="route" v="ferry"/>'
        '<tag k="duration" v="00:15"/></way>',
        "sum",
    )
    j = model.journey(A_SIDE, B_SIDE, TUESDAY_8)
    assert j.boat_legs[0].duration_s == 25 * 60


def test_a_branching_ferry_gives_one_line_per_pair_of_piers(tmp_path):
    model = _osm(
        tmp_path,
        '<way id="5000"><nd ref="104"/><nd ref="300"/><tag k="route" v="ferry"/>'
        '<tag k="name" v="Barcaza Y"/><tag k="motor_vehicle" v="yes"/></way>'
        '<way id="5001"><nd ref="300"/><nd ref="200"/><tag k="route" v="ferry"/></way>'
        '<way id="5002"><nd ref="300"/><nd ref="400"/><tag k="route" v="ferry"/></way>',
        "branch",
    )
    assert model.info()["lineas_barco"] == 3
    assert any("se ramifica: 3 muelles" in n for n in model.notes)
    to_b = model.journey(A_SIDE, B_SIDE, TUESDAY_8)
    to_c = model.journey(A_SIDE, (-73.57, -42.555), TUESDAY_8)
    assert to_b.reachable and to_c.reachable
    assert to_b.boat_legs[0].line_id != to_c.boat_legs[0].line_id


def test_a_duration_list_and_a_bad_duration_are_said_in_the_notes(tmp_path):
    model = _osm(
        tmp_path,
        '<way id="5000"><nd ref="104"/><nd ref="300"/><nd ref="200"/><tag k="route" v="ferry"/>'
        '<tag k="name" v="Lista"/><tag k="duration" v="00:30;00:40"/></way>'
        '<way id="6000"><nd ref="100"/><nd ref="400"/><tag k="route" v="ferry"/>'
        '<tag k="name" v="Rara"/><tag k="duration" v="media hora"/></way>',
        "notes",
    )
    lista = next(n for n in model.notes if "(Lista)" in n)
    assert "cruce de 40 min" in lista and "es una lista" in lista
    rara = next(n for n in model.notes if "(Rara)" in n)
    assert "`duration`='media hora' no se entiende" in rara
    assert "cruce supuesto de" in rara


def test_a_ferry_leaving_the_area_says_how_far_its_end_is(tmp_path):
    model = _osm(
        tmp_path,
        '<node id="900" lat="-42.800000" lon="-73.100000"/>'
        '<way id="5000"><nd ref="104"/><nd ref="900"/><tag k="route" v="ferry"/>'
        '<tag k="name" v="Lejos"/></way>',
        "far",
    )
    note = next(n for n in model.notes if "(Lejos)" in n)
    assert "descartada: el fin a" in note and "sale del área" in note
