"""Small geodesy helpers and the `Places` record shared by every network kind."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj

__all__ = ["EARTH_RADIUS_M", "LAYERS", "Places", "haversine_m", "local_crs"]

EARTH_RADIUS_M = 6_371_008.8
# Travel layers: by vehicle, or on foot (after leaving the vehicle for a passenger boat).
LAYERS: tuple[str, ...] = ("drive", "walk")


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres; broadcasts over numpy arrays."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def local_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return an azimuthal equidistant CRS in metres centred on (lon, lat)."""
    return pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +datum=WGS84 +units=m +no_defs"
    )


@dataclass(frozen=True)
class Places:
    """Points snapped to a network.

    Attributes
    ----------
    lon, lat
        The points as given (WGS84).
    anchor
        Network element each point is attached to (a graph node for an OSM
        network, a land mass for the approximate one); -1 when not snapped.
    access_m
        Straight-line distance from the point to its anchor (0 for land masses).
    reason
        Spanish explanation for points that could not be snapped ("" otherwise).
    edge, along
        For points snapped onto a street edge (`routing.streets.StreetNetwork`):
        the edge (position in the network's edge arrays; -1 when attached to
        the node `anchor` only) and the fraction of the edge's length from its
        first node to the point's projection (0..1). ``None`` for networks
        that attach points to nodes or land masses only. `access_m` is then
        the distance from the point to its projection on the edge.
    """

    lon: np.ndarray
    lat: np.ndarray
    anchor: np.ndarray
    access_m: np.ndarray
    reason: tuple[str, ...]
    edge: np.ndarray | None = None
    along: np.ndarray | None = None

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self.lon)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of snapped points."""
        return self.anchor >= 0

    def take(self, index) -> Places:
        """Return the subset at integer positions `index`."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        return Places(
            self.lon[index],
            self.lat[index],
            self.anchor[index],
            self.access_m[index],
            tuple(self.reason[i] for i in index),
            None if self.edge is None else self.edge[index],
            None if self.along is None else self.along[index],
        )

    @staticmethod
    def concat(parts: list[Places]) -> Places:
        """Concatenate several `Places` (points without an edge get edge -1)."""
        on_edges = any(p.edge is not None for p in parts)
        return Places(
            np.concatenate([p.lon for p in parts]),
            np.concatenate([p.lat for p in parts]),
            np.concatenate([p.anchor for p in parts]),
            np.concatenate([p.access_m for p in parts]),
            tuple(r for p in parts for r in p.reason),
            np.concatenate(
                [p.edge if p.edge is not None else np.full(len(p), -1, np.int64) for p in parts]
            )
            if on_edges
            else None,
            np.concatenate([p.along if p.along is not None else np.zeros(len(p)) for p in parts])
            if on_edges
            else None,
        )
