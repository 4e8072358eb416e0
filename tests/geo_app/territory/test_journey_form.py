"""The map's journey form: a sensible default departure, and legs named by their two ends
(issue 24 item 3)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from geo_app.territory.service import next_working_day


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 11, 30), dt.date(2026, 12, 1)),  # Monday → Tuesday
        (dt.date(2026, 12, 4), dt.date(2026, 12, 7)),  # Friday → Monday
        (dt.date(2026, 12, 5), dt.date(2026, 12, 7)),  # Saturday → Monday
        (dt.date(2026, 12, 6), dt.date(2026, 12, 7)),  # Sunday → Monday
    ],
)
def test_next_working_day(today, expected):
    assert next_working_day(today) == expected


def test_the_form_departs_the_next_working_day_at_eight(client):
    page = client.get("/").get_data(as_text=True)
    value = re.search(r'name="salida" type="datetime-local" value="([^"]+)"', page).group(1)
    day = dt.date.fromisoformat(value[:10])
    assert value.endswith("T08:00")
    assert day.weekday() < 5
    assert 0 <= (day - dt.date.today()).days <= 4  # Chile is behind UTC


def test_no_leg_goes_from_a_place_to_itself(client):
    # Achao → Isla Quenac lands at a terminal named like the island: the walk from it must not
    # read «Isla Quenac → Isla Quenac».
    ask = {"desde": "Castro", "hasta": "Quenac", "salida": "2026-03-11 08:00"}
    journey = client.get("/api/viaje", query_string=ask).get_json()
    assert journey["alcanzable"], journey
    moving = [t for t in journey["tramos"] if t["tipo"] != "espera"]
    assert moving and all(t["desde"] != t["hasta"] for t in moving), [
        (t["desde"], t["hasta"]) for t in moving
    ]
    assert moving[-1]["desde"] == "Embarcadero Isla Quenac"
    assert moving[-1]["hasta"] == "Isla Quenac"
