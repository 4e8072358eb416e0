"""Counts per H3 cell (layers.clusters): hand-placed points, hand-worked resolutions."""

from __future__ import annotations

import h3
import pytest

from layers.clusters import h3_counts
from layers.clusters import resolution_for_zoom

# three homes within 60 m of Castro's plaza, one in Ancud (68 km north), one in Quellón
CASTRO = [(-73.7624, -42.4824), (-73.7620, -42.4822), (-73.7627, -42.4826)]
ANCUD = (-73.8258, -41.8697)
QUELLON = (-73.6035, -43.1170)


def test_points_are_counted_per_cell_with_groups_and_flags():
    points = [*CASTRO, ANCUD, QUELLON]
    groups = ["critica", "grave", "critica", "grave", "sin_dato"]
    flags = {"baja": [False, True, False, False, True]}
    cells = h3_counts([p[0] for p in points], [p[1] for p in points], groups, flags, 5)
    assert sum(c.n for c in cells) == 5
    by_n = sorted(cells, key=lambda c: -c.n)
    castro, others = by_n[0], by_n[1:]
    assert castro.n == 3 and castro.by_group == {"critica": 2, "grave": 1}
    assert castro.flagged == {"baja": 1}
    assert sorted((c.n, tuple(c.by_group.items()), c.flagged["baja"]) for c in others) == [
        (1, (("grave", 1),), 0), (1, (("sin_dato", 1),), 1)]  # fmt: skip
    for c in cells:  # the marker is the cell's centre, and the cell holds its points
        assert (c.lat, c.lon) == pytest.approx(h3.cell_to_latlng(c.cell))
        west, south, east, north = c.bounds
        assert west < c.lon < east and south < c.lat < north
    assert [c.cell for c in cells] == sorted(c.cell for c in cells)
    # coarser cells (≈ 140 km across): fewer of them, the same total
    coarse = h3_counts(*zip(*points, strict=True), groups, flags, 3)
    assert len(coarse) < len(cells) and sum(c.n for c in coarse) == 5


def test_empty_and_mismatched_input():
    assert h3_counts([], [], [], {"baja": []}, 5) == []
    with pytest.raises(ValueError, match="differ in length"):
        h3_counts([1.0], [2.0, 3.0], ["a"], {}, 5)


def test_resolution_follows_the_zoom():
    # at −42° a pixel is 156,543 m · cos 42° / 2^z; cells two mean edges across ≈ 60 px:
    # zoom 9: 227 m/px; res 5 (edge 9.85 km) is 87 px, res 6 (3.73 km) 33 px → 5
    assert resolution_for_zoom(9) == 5
    # zoom 12: 28.4 m/px; res 8 (0.53 km) is 37 px, res 7 (1.41 km) 99 px → 8
    assert resolution_for_zoom(12) == 8
    assert resolution_for_zoom(0) == 2 and resolution_for_zoom(24) == 11  # clamped
    # nearer the equator a pixel covers more ground: coarser cells at the same zoom
    assert resolution_for_zoom(9, lat=0.0) <= resolution_for_zoom(9, lat=-42.0)


def test_weighted_rows_count_as_many_points():
    # rows grouped by place in SQL: Castro 2 critical (one low-confidence row of 1) + 1 grave
    lon, lat = zip(*CASTRO, strict=True)
    cells = h3_counts(lon, lat, ["critica", "critica", "grave"],
                      {"baja": [False, True, False]}, 5, weights=[1, 1, 4])  # fmt: skip
    assert len(cells) == 1
    assert cells[0].n == 6 and cells[0].by_group == {"critica": 2, "grave": 4}
    assert cells[0].flagged == {"baja": 1}
