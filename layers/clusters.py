"""Counts of points per H3 cell, for a map that must not send every point at a wide zoom.

A map of 50,000 cases at province zoom cannot draw (or download) 50,000 markers; the
server groups them into hexagonal cells of the H3 grid (Uber's hierarchical index, the
``h3`` package) whose size follows the zoom, and sends one count per cell. Cells are
fixed by the grid, not by the points: a cell's marker is the cell's centre, never a
point's position, so a group of one case does not give its place away beyond the cell.

Zoom to resolution (`resolution_for_zoom`): at Web Mercator zoom z a screen pixel spans
156,543.03 m · cos(lat) / 2^z (≈ 116 km / 2^z at Chiloé's −42°); H3 resolution r has a
mean hexagon edge of ``h3.average_hexagon_edge_length(r)`` (≈ 1,281 km / 7^(r/2); H3
documentation, "Tables of cell statistics across resolutions"). The resolution chosen is
the one whose cells (two edges across) are nearest `TARGET_PX` pixels wide, the size of
a cluster badge and its margin: zoom 9 at −42° gives resolution 5 (edge ≈ 9.9 km, 87 px),
zoom 12 resolution 8 (edge ≈ 0.53 km, 37 px).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np

__all__ = [
    "MAX_RESOLUTION",
    "MIN_RESOLUTION",
    "TARGET_PX",
    "CellCount",
    "h3_counts",
    "resolution_for_zoom",
]

MIN_RESOLUTION = 2  # cells ≈ 360 km across: the whole of Chile in a few dozen
MAX_RESOLUTION = 11  # cells ≈ 60 m across: finer than a geocoded address is sure
TARGET_PX = 60  # cell width on screen aimed at, pixels
EQUATOR_M_PER_PX = 156_543.03  # Web Mercator, 256-pixel tiles, zoom 0


@dataclass(frozen=True)
class CellCount:
    """The points that fall in one H3 cell.

    Attributes
    ----------
    cell
        H3 index (hex string) at the requested resolution.
    lon, lat
        The cell's centre, WGS84 degrees (not any point's position).
    bounds
        ``(west, south, east, north)`` of the cell's hexagon, WGS84 degrees.
    n
        Points in the cell.
    by_group
        Points per group label (only labels present), e.g. attendance categories.
    flagged
        Flag name → points in the cell with that flag set (e.g. a low-confidence place).
    """

    cell: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float]
    n: int
    by_group: dict[str, int]
    flagged: dict[str, int]


def resolution_for_zoom(zoom: float, lat: float = -42.0) -> int:
    """H3 resolution whose cells are nearest `TARGET_PX` pixels across at Web Mercator `zoom`.

    `lat` (WGS84 degrees) is where the map looks (the pixel shrinks with cos(lat)); the
    answer is within [`MIN_RESOLUTION`, `MAX_RESOLUTION`] (arithmetic in the module
    docstring).
    """
    metres_per_px = EQUATOR_M_PER_PX * max(math.cos(math.radians(lat)), 0.01) / 2**zoom
    return min(
        range(MIN_RESOLUTION, MAX_RESOLUTION + 1),
        key=lambda r: abs(math.log(2 * h3.average_hexagon_edge_length(r, "m")
                                   / metres_per_px / TARGET_PX)),
    )  # fmt: skip


def h3_counts(
    lon: Sequence[float],
    lat: Sequence[float],
    groups: Sequence[str],
    flags: Mapping[str, Sequence[bool]],
    resolution: int,
    weights: Sequence[int] | None = None,
) -> list[CellCount]:
    """Count points per H3 cell at `resolution`, with counts per group and per flag.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, one pair per point (same length as `groups` and each flag).
    groups
        A label per point (counted per cell in `CellCount.by_group`).
    flags
        Flag name → one bool per point (set ones counted per cell in `CellCount.flagged`).
    resolution
        H3 resolution, 0 to 15.
    weights
        How many points each entry stands for (e.g. rows grouped by place and label in
        SQL); None = one each.

    Returns
    -------
    list of CellCount
        One per cell holding at least one point, ordered by H3 index; the ``n`` add up
        to the number of points.

    Raises
    ------
    ValueError
        When the sequences differ in length, or `resolution` or a coordinate is out of
        range (``h3`` raises its own ``H3ResDomainError``/``H3LatLngDomainError``,
        subclasses of ValueError).
    """
    weights = np.ones(len(lon), dtype=np.int64) if weights is None else np.asarray(weights)
    lengths = {len(lon), len(lat), len(groups), len(weights), *(len(f) for f in flags.values())}
    if len(lengths) > 1:
        msg = f"lon, lat, groups, weights and flags differ in length: {sorted(lengths)}"
        raise ValueError(msg)
    if not len(lon):
        return []
    cells = [h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)]
    keys, which = np.unique(np.asarray(cells), return_inverse=True)
    totals = np.bincount(which, weights=weights, minlength=len(keys))
    marked = {
        name: np.bincount(
            which, weights=np.where(np.asarray(f, dtype=bool), weights, 0), minlength=len(keys)
        )
        for name, f in flags.items()
    }
    labels, label_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    per_label = np.zeros((len(keys), len(labels)), dtype=np.int64)
    np.add.at(per_label, (which, label_of), weights)
    out = []
    for k, cell in enumerate(keys.tolist()):
        lat_c, lon_c = h3.cell_to_latlng(cell)
        ring = np.asarray(h3.cell_to_boundary(cell))  # (lat, lon) pairs
        bounds = (ring[:, 1].min(), ring[:, 0].min(), ring[:, 1].max(), ring[:, 0].max())
        by_group = {str(labels[j]): int(per_label[k, j]) for j in np.flatnonzero(per_label[k])}
        flagged = {name: int(m[k]) for name, m in marked.items()}
        out.append(CellCount(cell, lon_c, lat_c, tuple(float(b) for b in bounds),
                             int(totals[k]), by_group, flagged))  # fmt: skip
    return out
