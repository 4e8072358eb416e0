"""Isla Lemuy and every island with a boat line are reachable (issue 17, item 15).

The Huicha terminal of the Huicha–Chulchuy line lies inside the simplified
Puqueldón polygon; the line joined Lemuy to itself and Lemuy (9 schools, 517
students) was unreachable. The exact command of the case must give a journey.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from click.testing import CliRunner

from geo_app.cli import main
from layers.territory import summary_by_island
from routing.boats import DAY_CODES


def test_the_case_command_reaches_lemuy_from_chonchi():
    result = CliRunner().invoke(
        main, ["route", "--at", "2026-03-10 08:00", "--", "Chonchi", "-42.61,-73.65"]
    )
    assert result.exit_code == 0, result.output
    assert "Barco Huicha - Chulchuy" in result.output
    assert "Sin viaje posible" not in result.output


def test_lemuy_counts_its_line(territory):
    islands = summary_by_island(territory).set_index("isla")
    assert islands.loc["Isla Lemuy", "lineas_barco"] == "huicha-chulchuy"
    assert (islands.loc["Isla Lemuy", ["escuelas", "matricula"]] == [9, 517]).all()
    assert territory.line_islands["huicha-chulchuy"] == tuple(
        sorted(
            territory.islands.set_index("name").loc[
                ["Isla Grande de Chiloé", "Isla Lemuy"], "island_id"
            ]
        )
    )


def _lines_with_islands(territory):
    main_id = territory.islands.loc[territory.islands["is_main"], "island_id"].item()
    names = territory.islands.set_index("island_id")["name"]
    for line_id, island_ids in sorted(territory.line_islands.items()):
        for island_id in island_ids:
            if island_id != main_id:
                yield line_id, names[island_id]


@pytest.mark.parametrize(
    "line_id", ["huicha-chulchuy", "achao-quenac", "castro-quehui", "tenaun-mechuque"]
)
def test_known_lines_reach_an_island(territory, line_id):
    assert line_id in {line for line, _ in _lines_with_islands(territory)}


def test_every_island_with_a_line_is_reachable_from_isla_grande_on_a_day_it_sails(
    territory, chiloe_model
):
    castro = chiloe_model.find_place("Castro")
    islands = territory.islands.to_crs(4326).set_index("name")
    checked = []
    for line_id, island in _lines_with_islands(territory):
        days = sorted({d for s in territory.timetable.services_of(line_id) for d in s.days})
        monday = dt.date(2026, 3, 9)
        day = monday + dt.timedelta(days=days[0])
        target = islands.loc[island, "geometry"].representative_point()
        j = chiloe_model.journey(
            castro[:2], (target.x, target.y), dt.datetime.combine(day, dt.time(6, 0))
        )
        assert j.reachable, f"{island} ({line_id}, {DAY_CODES[days[0]]}): {j.reason}"
        assert j.boat_legs, (island, line_id)  # across the water: a boat, never a drive
        checked.append(island)
    assert "Isla Lemuy" in checked
    assert len(set(checked)) >= 14


def test_territory_check_refuses_a_line_on_one_island(data_copy):
    path = data_copy / "horarios_barcos.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0])
    # move Puerto Huicha deep into Lemuy (Puqueldón town): no other coast within 3 km
    for row in rows:
        for end in ("origen", "destino"):
            if row[end] == "Puerto Huicha":
                row[f"{end}_lat"], row[f"{end}_lon"] = "-42.6000", "-73.6700"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(main, ["territory", "check", "--datos", str(data_copy)])
    assert result.exit_code == 1, result.output
    assert "horarios_barcos.csv" in result.output
    assert "Huicha - Chulchuy (Isla Lemuy) (huicha-chulchuy)" in result.output
    assert "misma masa de tierra (Isla Lemuy)" in result.output


def test_territory_check_passes_on_the_bundled_data():
    result = CliRunner().invoke(main, ["territory", "check"])
    assert result.exit_code == 0, result.output
    assert "sin problemas" in result.output
