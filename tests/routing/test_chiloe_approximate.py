"""The offline Chiloé default: land masses from the comuna polygons plus the boat timetable."""

from __future__ import annotations

import datetime as dt

import pandas as pd

TUESDAY_8 = dt.datetime(2026, 3, 10, 8, 0)


def _trip(model, a, b, when=TUESDAY_8, **kw):
    pa, pb = model.find_place(a), model.find_place(b)
    return model.journey(pa[:2], pb[:2], when, labels=(pa[2], pb[2]), **kw)


def test_castro_to_achao_crosses_the_dalcahue_quinchao_channel(chiloe_model):
    j = _trip(chiloe_model, "Castro", "Achao")
    assert j.reachable
    assert j.approximate
    assert [leg.line_id for leg in j.boat_legs] == ["dalcahue-quinchao"]
    assert "red aproximada" in j.describe()
    # 20 km Castro-Dalcahue at 45 km/h x 1.35 circuity is about 27 min
    assert 20 * 60 < j.legs[0].duration_s < 40 * 60


def test_ancud_to_the_mainland_uses_the_chacao_crossing(chiloe_model):
    j = _trip(chiloe_model, "Ancud", "Punta Coronel")
    assert [leg.line_id for leg in j.boat_legs] == ["chacao"]
    assert j.boat_legs[0].start == "Chacao"


def test_small_island_without_boat_that_day_is_unreachable_with_reason(chiloe_model):
    # the Achao-Quenac lancha sails Monday, Wednesday and Friday only
    j = _trip(chiloe_model, "Castro", "Isla Quenac")
    assert not j.reachable
    assert "Achao - Isla Quenac" in j.reason
    assert "miércoles" in j.reason
    monday = _trip(chiloe_model, "Castro", "Isla Quenac", when=dt.datetime(2026, 3, 9, 8, 0))
    assert "achao-quenac" in [leg.line_id for leg in monday.boat_legs]
    assert monday.legs[-1].kind == "caminar"  # passenger-only lancha: on foot on the island


def test_point_in_the_sea_is_unreachable(chiloe_model):
    j = chiloe_model.journey((-74.5, -42.5), (-73.76, -42.48), TUESDAY_8)
    assert not j.reachable
    assert "en el mar" in j.reason


def test_matrix_long_form(chiloe_model, territory):
    schools = territory.schools[territory.schools["has_location"]].head(6)
    points = pd.DataFrame(
        {"id": schools["rbd"].astype(str), "lat": schools.geometry.y, "lon": schools.geometry.x}
    )
    table = chiloe_model.matrix(points, depart_at=TUESDAY_8)
    assert list(table.columns) == ["from_id", "to_id", "travel_time_s"]
    assert len(table) == 36
    assert (table.loc[table["from_id"] == table["to_id"], "travel_time_s"] == 0).all()
