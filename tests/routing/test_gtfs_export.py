"""Exporting imported GTFS feeds with the boats and entered lines (`routing.gtfs.write_gtfs`).

The imported feed is the hand-made Chiloé feed of `tests.routing.transit_chiloe`
(dated 2026-01-01..2026-12-31, a Sunday exception on 2026-03-15, a trip past
midnight, a stop without time); the entered lines are those of
`tests.routing.test_gtfs`, which reuse its ids (CASTRO, MOCO, DALC, R1), so the
imported feed's ids must be renamed to keep each trip on its own calendar.
2026-03-10 is a Tuesday, 2026-03-14 a Saturday, 2026-03-15 and 2026-06-14 Sundays.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import pandas as pd
import pytest

from routing._errors import RoutingInputError
from routing.boats import parse_timetable
from routing.gtfs import disjoint_ids
from routing.gtfs import prefixed
from routing.gtfs import read_gtfs
from routing.gtfs import timetable_feed
from routing.gtfs import write_gtfs
from routing.lines import parse_lines
from routing.model import TravelModel
from routing.transit import TransitModel
from tests.routing.test_gtfs import LINES
from tests.routing.test_gtfs import STOPS
from tests.routing.test_gtfs import TERRITORY
from tests.routing.transit_chiloe import CASTRO
from tests.routing.transit_chiloe import DALCAHUE_PLAZA
from tests.routing.transit_chiloe import DALCAHUE_RAMP
from tests.routing.transit_chiloe import FERRY
from tests.routing.transit_chiloe import MOCOPULLI
from tests.routing.transit_chiloe import QUINCHAO_HOUSE
from tests.routing.transit_chiloe import network
from tests.routing.transit_chiloe import north
from tests.routing.transit_chiloe import write_feed

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{day} {hhmm}")


def _key(journey):
    """Arrival and legs (kind, stops, times): ids may differ after renaming, times may not."""
    return (
        journey.arrive_at,
        tuple((leg.kind, leg.start, leg.end, leg.depart_at, leg.arrive_at) for leg in journey.legs),
    )


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    imported = read_gtfs(write_feed(folder), name="buses", territory=TERRITORY, source="prueba")
    model = TravelModel(network(), parse_timetable(FERRY), name="chiloe-prueba", approximate=True)
    entered = parse_lines(STOPS, LINES, name="lineas-ingresadas")
    merged = disjoint_ids([timetable_feed(model.timetable), entered, imported], {"buses"})
    path = write_gtfs(merged, folder / "todo.zip", valid_from=MARCH[0], valid_to=MARCH[1])
    again = read_gtfs(path, name="todo", territory=TERRITORY)
    return model, imported, entered, merged, again, path


def test_clashing_ids_of_an_imported_feed_are_prefixed_with_its_name(feeds):
    _, _imported, entered, merged, again, _ = feeds
    assert merged[1] is entered  # entered lines keep their ids
    assert set(merged[2].stops["stop_id"]) == {"buses:CASTRO", "buses:MOCO", "buses:DALC"}
    assert set(merged[2].calendar_dates["service_id"]) == {"buses:SD", "buses:FEST"}
    assert {"R1", "C1", "buses:R1"} <= set(again.routes["route_id"])
    # the imported feed keeps its dates and its exceptions; the boats are clipped to March
    cal = again.calendar.set_index("service_id")
    assert (cal.at["buses:LV", "start_date"], cal.at["buses:LV", "end_date"]) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
    )
    assert (cal.at["dq-ida", "start_date"], cal.at["dq-ida", "end_date"]) == MARCH
    exceptions = set(map(tuple, again.calendar_dates[["service_id", "date"]].to_numpy()))
    assert ("buses:SD", dt.date(2026, 3, 15)) in exceptions
    assert ("buses:FEST", dt.date(2026, 3, 15)) in exceptions
    # the imported line's source travels in revincula_fuentes.txt
    sources = again.sources.set_index("route_id")
    assert sources.at["buses:R1", "source"] == "GTFS buses: prueba"
    assert not again.routes.set_index("route_id").at["buses:R1", "assumed"]
    with zipfile.ZipFile(feeds[5]) as zf:
        info = pd.read_csv(zf.open("feed_info.txt"), dtype=str)
    assert (info["feed_start_date"][0], info["feed_end_date"][0]) == ("20260101", "20261231")


def test_reimported_export_gives_the_hand_worked_journeys(feeds):
    model, _imported, _entered, _, again, _ = feeds
    reread = TransitModel(model, [again], boats=False)
    # Tuesday: bus 07:00-07:40, ramp 07:45, ferry 07:50-08:00, walk 600 s -> 08:10
    j = reread.journey(CASTRO, QUINCHAO_HOUSE, at("03-10", "06:50"))
    assert abs((j.arrive_at - at("03-10", "08:10")).total_seconds()) < 0.01
    # Sunday 15 March: the imported SD is removed, FEST runs at 11:00 (the entered r1-sd
    # leaves at 09:00 on Sundays: 09:40 at Dalcahue Plaza, ferry 10:30 -> 10:50)
    sunday = reread.journey(CASTRO, QUINCHAO_HOUSE, at("03-15", "08:30"))
    assert abs((sunday.arrive_at - at("03-15", "10:50")).total_seconds()) < 0.01
    only_imported = TransitModel(model, [read_gtfs(feeds[5], territory=TERRITORY)], boats=False)
    assert only_imported.journey(MOCOPULLI, DALCAHUE_PLAZA, at("03-15", "11:00")).legs[
        1
    ].depart_at == at("03-15", "11:20")  # FEST's interpolated time at Mocopulli
    # Saturday's 23:40 bus reaches Dalcahue Plaza at 24:20 = Sunday 00:20
    late = reread.journey(MOCOPULLI, DALCAHUE_PLAZA, at("03-15", "00:00"))
    assert late.arrive_at == at("03-15", "00:20")


def test_reimported_export_gives_the_same_journeys(feeds):
    model, imported, entered, _, again, _ = feeds
    direct = TransitModel(model, [entered, imported])
    reread = TransitModel(model, [again], boats=False)
    points = [CASTRO, MOCOPULLI, DALCAHUE_PLAZA, QUINCHAO_HOUSE, north(DALCAHUE_RAMP, 900)]
    compared = 0
    for day in ("03-10", "03-14", "03-15"):  # Tuesday, Saturday, Sunday with the exception
        for hhmm in ("00:00", "06:30", "08:30", "11:00", "17:30", "23:30"):
            for a in points:
                for b in points:
                    if a != b:
                        one = direct.journey(a, b, at(day, hhmm))
                        two = reread.journey(a, b, at(day, hhmm))
                        assert _key(one) == _key(two)
                        compared += 1
    assert compared == 360
    # in June (outside the export's window for boats and entered lines) the imported
    # buses still run: Sunday 14 June, SD 09:00 -> Dalcahue Plaza 09:40
    june = TransitModel(model, [read_gtfs(feeds[5], territory=TERRITORY)], boats=False)
    bus = june.journey(CASTRO, DALCAHUE_PLAZA, at("06-14", "08:30"))
    assert bus.arrive_at == at("06-14", "09:40")
    assert _key(bus) == _key(TransitModel(model, [imported]).journey(
        CASTRO, DALCAHUE_PLAZA, at("06-14", "08:30")))  # fmt: skip


def test_ids_that_still_clash_are_refused(feeds, tmp_path):
    _model, imported, entered, *_ = feeds
    with pytest.raises(RoutingInputError, match="ids repetidos") as err:
        write_gtfs([entered, imported], tmp_path / "x.zip", valid_from=MARCH[0],
                   valid_to=MARCH[1])  # fmt: skip
    assert "`stop_id` 'CASTRO' (lineas-ingresadas y buses)" in str(err.value)
    # the same feed twice: the second copy is renamed, the first kept; a copy already
    # renamed clashes with nothing and is kept as it is
    twice = disjoint_ids([imported, imported], {"buses"})
    assert twice[0] is imported
    assert sorted(twice[1].trips["trip_id"])[0] == "buses:FEST-1100"
    renamed = prefixed(imported, "buses:")
    assert disjoint_ids([imported, renamed], {"buses"})[1] is renamed
