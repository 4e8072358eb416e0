"""A point a given distance along the road from one place towards another.

Rural Chiloé addresses often give a road and a kilometre instead of a sector:
«Km 12 camino a Tenaún» is 12 km from the comuna's town along the road to
Tenaún. `point_along` follows the fastest driving path of a `StreetNetwork`
between the two places (the road a kilometre post would be on) and returns the
point `distance_m` along it, measured from the origin point itself (the straight
access leg to the first graph node included, as `StreetNetwork.path` draws it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routing._geo import haversine_m
from routing.streets import StreetNetwork

__all__ = ["AlongRoad", "point_along"]


@dataclass(frozen=True)
class AlongRoad:
    """Where a distance along a road path falls.

    Attributes
    ----------
    lon, lat
        The point (WGS84). When the path is shorter than the distance asked for,
        the end of the path.
    path_m
        Length of the whole path in metres.
    beyond
        True when the distance asked for exceeds the path length.
    """

    lon: float
    lat: float
    path_m: float
    beyond: bool


def point_along(
    streets: StreetNetwork,
    start: tuple[float, float],
    end: tuple[float, float],
    distance_m: float,
) -> AlongRoad | None:
    """Return the point `distance_m` metres along the fastest road path from `start` to `end`.

    Parameters
    ----------
    streets
        A built OpenStreetMap street network (``TravelModel.network`` of a
        non-approximate model).
    start, end
        ``(lon, lat)`` in WGS84.
    distance_m
        Metres from `start`, ≥ 0.

    Returns
    -------
    AlongRoad or None
        None when either place cannot be snapped to the network or no driving
        path joins them (different islands: boats are not roads).
    """
    if distance_m < 0:
        msg = f"`distance_m` debe ser ≥ 0; se recibió {distance_m!r}."
        raise ValueError(msg)
    snapped = streets.snap([start[0], end[0]], [start[1], end[1]])
    if not snapped.ok.all():
        return None
    src, dst = snapped.take([0]), snapped.take([1])
    coords, _, seconds = streets.path(src, dst, "drive")
    if not coords or not np.isfinite(seconds):
        return None
    lon = np.array([c[0] for c in coords])
    lat = np.array([c[1] for c in coords])
    steps = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    total = float(cumulative[-1])
    if distance_m >= total:
        return AlongRoad(float(lon[-1]), float(lat[-1]), total, distance_m > total)
    i = int(np.searchsorted(cumulative, distance_m, side="right")) - 1
    fraction = (distance_m - cumulative[i]) / steps[i] if steps[i] > 0 else 0.0
    return AlongRoad(
        float(lon[i] + fraction * (lon[i + 1] - lon[i])),
        float(lat[i] + fraction * (lat[i + 1] - lat[i])),
        total,
        False,
    )
