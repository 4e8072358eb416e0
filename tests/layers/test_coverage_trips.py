"""Same-day round trip, the week, an added departure and multi-service gaps, worked by hand.

The network is `tests.routing.handbuilt`: island A (nodes 0-1-2, pier A at 2) and
island B (nodes 3-4, pier B at 3); each edge 800 s on foot. Boats A→B: ferry
08:00, 09:00, 10:00 (30 min) and lancha 08:10 (10 min); B→A: ferry 15:00 and
17:00 (30 min); Monday to Friday, no boarding margin. 2026-03-09 is a Monday.
The home is node 0, the posta node 4, on foot.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from layers.coverage import AddedDeparture
from layers.coverage import Coverage
from layers.coverage import Scenario
from layers.coverage import apply_scenario
from layers.coverage import multi_gaps
from layers.coverage import summarise_week
from tests.routing.handbuilt import HEADER
from tests.routing.handbuilt import PIER_A
from tests.routing.handbuilt import PIER_B
from tests.routing.handbuilt import at
from tests.routing.handbuilt import build_model
from tests.routing.handbuilt import node
from tests.routing.handbuilt import row


def _origins() -> gpd.GeoDataFrame:
    x, y = node(0)
    points = gpd.points_from_xy([x], [y])
    return gpd.GeoDataFrame({"origin_id": ["casa"]}, geometry=points, crs=4326)


def _posta(days="lu,ma,mi,ju,vi", opens="08:30", closes="17:00") -> gpd.GeoDataFrame:
    x, y = node(4)
    return gpd.GeoDataFrame(
        {
            "service_id": ["p1"],
            "service_type": ["posta"],
            "name": ["Posta B"],
            "usable": [True],
            "days": [days],
            "opens": [opens],
            "closes": [closes],
        },
        geometry=gpd.points_from_xy([x], [y]),
        crs=4326,
    )


def _coverage(model=None) -> Coverage:
    return Coverage(model or build_model(), _origins(), on_foot=True)


def _local(text: str) -> pd.Timestamp:
    return pd.Timestamp(at(text)).tz_localize("America/Santiago")


def test_round_trip_before_the_last_boat_gives_the_time_home():
    trip = _coverage().round_trip(_posta(), "posta", at("07:30")).iloc[0]
    # walk 0->2 (1,600 s) 07:56:40; lancha 08:10-08:20; walk 3->4 (800 s) 08:33:20
    assert trip["arrive_at"] == _local("08:33:20")
    # 60 min there (open 08:30-17:00): leave 09:33:20; pier B 09:46:40; ferry 15:00-15:30;
    # walk 2->0 1,600 s: home 15:56:40
    assert trip["leave_at"] == _local("09:33:20")
    assert trip["home_at"] == _local("15:56:40")
    assert bool(trip["same_day"]) and trip["reason"] == ""


def test_round_trip_refusals_say_why():
    cov = _coverage()
    # closes 09:00: 08:33:20 + 60 min is past closing time
    early = cov.round_trip(_posta(closes="09:00"), "posta", at("07:30")).iloc[0]
    assert not early["same_day"] and "dentro del horario" in early["reason"]
    # 520 min there (open until 20:00): leave 17:13:20, pier B 17:26:40, no boat back
    late = cov.round_trip(_posta(closes="20:00"), "posta", at("07:30"), stay_min=520).iloc[0]
    assert late["leave_at"] == _local("17:13:20")
    assert not late["same_day"] and "no hay barco de vuelta a tiempo" in late["reason"]
    # leaving at 10:30 the pier is reached at 10:56:40, after the last boat out
    gone = cov.round_trip(_posta(), "posta", at("10:30")).iloc[0]
    assert not gone["same_day"] and "no se llega hoy" in gone["reason"]
    assert pd.isna(gone["home_at"])


def test_an_added_departure_brings_the_traveller_home_earlier_or_at_all():
    base = build_model()
    noon = Scenario("ferry de mediodía", add_departures=(AddedDeparture("ferry", "B", "12:00"),))
    services, model = apply_scenario(_posta(), base, noon)
    assert model is not base and base.timetable is not model.timetable
    trip = _coverage(model).round_trip(services, "posta", at("07:30")).iloc[0]
    # pier B 09:46:40, the added 12:00 ferry, 12:30 at A, walk 1,600 s: 12:56:40
    assert trip["home_at"] == _local("12:56:40")
    # the long stay that missed the last boat now returns on an 18:00 sailing
    evening = Scenario("", add_departures=(AddedDeparture("ferry", "B", "18:00"),))
    services, model = apply_scenario(_posta(closes="20:00"), base, evening)
    late = _coverage(model).round_trip(services, "posta", at("07:30"), stay_min=520).iloc[0]
    assert late["home_at"] == _local("18:56:40") and bool(late["same_day"])
    # the added sailing is flagged as assumed and the inputs are not changed
    added = [s for s in model.timetable.services if s.service_id.startswith("escenario-")]
    assert len(added) == 1 and "salidas" in added[0].assumed
    assert len(base.timetable.services) == 3


def test_an_added_departure_is_refused_in_spanish_when_wrong():
    bad = Scenario(
        add_departures=(
            AddedDeparture("ferry", "C", "12:00"),
            AddedDeparture("ferry", "B", "25:00"),
            AddedDeparture("ferry", "B", "12:00", days="lunes y martes"),
        )
    )
    with pytest.raises(ValueError, match="problemas") as err:
        apply_scenario(_posta(), build_model(), bad)
    text = str(err.value)
    assert "la línea «ferry» no sale de «C»" in text
    assert "la hora «25:00» no es válida; use HH:MM" in text
    assert "los días «lunes y martes» no son válidos" in text


def _lancha_days(days: str) -> str:
    ferry = row("f-ab", "ferry", ("A", PIER_A), ("B", PIER_B), "barcaza",
                "vehiculos_y_pasajeros", "08:00 09:00 10:00", 30)  # fmt: skip
    back = row("f-ba", "ferry", ("B", PIER_B), ("A", PIER_A), "barcaza",
               "vehiculos_y_pasajeros", "15:00 17:00", 30)  # fmt: skip
    lancha = row("l-ab", "lancha", ("A", PIER_A), ("B", PIER_B), "lancha", "solo_pasajeros",
                 "08:10", 10, days=days)  # fmt: skip
    return "\n".join([HEADER, ferry, back, lancha])


def test_the_week_names_the_best_typical_and_worst_day():
    # the lancha sails Monday and Wednesday: 63 min (07:30 -> 08:33:20); other days the
    # 08:00 ferry: 08:30 + 800 s = 08:43:20, 73 min
    cov = _coverage(build_model(timetable_csv=_lancha_days("lu,mi")))
    week = cov.week(_posta(), at("07:30", day=11), types=["posta"]).iloc[0]  # a Wednesday
    assert (week["best_min"], week["median_min"], week["worst_min"]) == (63, 73, 73)
    assert (week["best_day"], week["worst_day"]) == ("lunes", "martes")
    assert week["days_reached"] == 5 and week["days"] == 5
    # a posta open Monday, Wednesday and Friday: not reached on Tuesday and Thursday
    week = _coverage().week(_posta(days="lu,mi,vi"), at("07:30"), types=["posta"]).iloc[0]
    assert (week["best_min"], week["median_min"]) == (63, 63)
    assert np.isnan(week["worst_min"]) and week["worst_day"] == "martes"
    assert week["days_reached"] == 3


def test_summarise_week_of_a_place_never_reached():
    table = summarise_week(np.array([[np.nan, np.nan], [30.0, 20.0]]), ["lunes", "martes"])
    assert table["best_day"].tolist() == ["", "martes"]
    assert table["median_min"].isna().tolist() == [True, False]
    assert table.loc[1, "median_min"] == 20  # the lower middle of two days
    assert table.loc[1, "worst_day"] == "lunes"


def test_places_lacking_several_services_at_once():
    # island X: three origins; posta 20, 70, 90 min (median 70 > 60), opd never reached
    # (median inf > 120), escuela 10, 10, 200 (median 10). Island Y: posta 30 (within).
    per_origin = {
        "x1": (20, np.nan, 10),
        "x2": (70, np.nan, 10),
        "x3": (90, 500, 200),
        "y1": (30, 200, 5),
    }
    types = ("posta", "proteccion_infancia", "escuela")
    times = pd.DataFrame(
        [(o, t, m) for o, ms in per_origin.items() for t, m in zip(types, ms, strict=True)],
        columns=["origin_id", "service_type", "minutes"],
    )
    origins = pd.DataFrame(
        {
            "origin_id": ["x1", "x2", "x3", "y1"],
            "island_name": ["X", "X", "X", "Y"],
            "cases": [1, 2, 3, 4],
            "enrolment": [0, 0, 0, 0],
            "population": [0, 0, 0, 0],
        }
    )
    limits = {"posta": 60, "proteccion_infancia": 120, "escuela": 60}
    table = multi_gaps(times, origins, limits)
    assert table["place"].tolist() == ["X"]  # Y lacks only the OPD (200 > 120)
    row_x = table.iloc[0]
    assert row_x["lacking"] == 2 and row_x["cases"] == 6
    # the types in the order given, by their Spanish labels
    assert row_x["types"] == "Posta de salud rural, OLN u OPD (protección de la niñez)"
    assert multi_gaps(times, origins, limits, at_least=1)["place"].tolist() == ["X", "Y"]


def test_the_round_trip_takes_the_service_that_brings_one_home_earliest():
    # three postas: «a» at pier B (opens 08:00: starts first, 08:20, but home 15:56:40 on
    # the 15:00 ferry); «b» at home (opens 08:40: home 09:40); «c» at node 1 (800 s away,
    # opens 08:30: leaves 09:30, home 09:43:20). «b» and «c» both beat «a»: «b» is kept.
    points = [PIER_B, node(0), node(1)]
    services = gpd.GeoDataFrame(
        {
            "service_id": ["a", "b", "c"],
            "service_type": ["posta"] * 3,
            "name": ["A", "B", "C"],
            "usable": [True] * 3,
            "days": ["lu,ma,mi,ju,vi"] * 3,
            "opens": ["08:00", "08:40", "08:30"],
            "closes": ["17:00"] * 3,
        },
        geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
        crs=4326,
    )
    trip = _coverage().round_trip(services, "posta", at("07:30")).iloc[0]
    assert trip["service_id"] == "b" and trip["home_at"] == _local("09:40")
