"""Approximate network for territories without an OpenStreetMap road network.

Land masses are polygons (each island separate). Inside one land mass the time
is the great-circle distance × a circuity factor ÷ a speed (urban when both ends
lie in the same town, i.e. the same connected urban area; rural otherwise;
walking speed on foot). Between land
masses the only way is a boat line of the timetable. Boat terminals that lie on
no land mass (e.g. the mainland ramp of a crossing) become small *outposts*:
discs of ``outpost_radius_m`` around the terminal.

The two ends of a boat line must attach to two different land masses: the
polygons are simplified, and a pier on one shore of a narrow channel can fall
inside the polygon of the island across (Puerto Huicha, on Isla Grande, lies
440 m inside the simplified Isla Lemuy). Each terminal attaches to its own
shore: among the land masses within ``terminal_shore_m``, the ends of its lines
take the assignment with distinct land masses whose summed signed distance
(negative inside a polygon: depth from its coast) is smallest. When the nearest
land masses already differ this is the plain nearest attachment; a line whose
ends cannot be put on two land masses is reported by `line_problems`.

Every result computed on it is flagged as approximate (``TravelModel.approximate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point

from routing._geo import Places
from routing._geo import haversine_m
from routing._geo import local_crs

__all__ = ["ApproxParams", "ApproximateNetwork"]


@dataclass(frozen=True)
class ApproxParams:
    """Assumed speeds and factors of the approximate network (all documented on screen)."""

    circuity: float = 1.35
    rural_kmh: float = 45.0
    urban_kmh: float = 25.0
    walk_kmh: float = 4.5
    max_offshore_m: float = 1500.0
    outpost_radius_m: float = 3000.0
    # a boat terminal swallowed by the simplified polygon of the island across the
    # channel attaches to its own shore up to this distance (see the module docstring)
    terminal_shore_m: float = 3000.0


class ApproximateNetwork:
    """Static times on land masses (see module docstring)."""

    def __init__(
        self,
        landmasses: list[tuple[str, object]],
        urban_zones: list[object] = (),
        *,
        terminals: list[tuple[str, float, float]] = (),
        params: ApproxParams | None = None,
    ) -> None:
        """Create the network.

        Parameters
        ----------
        landmasses
            ``(name, polygon)`` pairs in WGS84, one per island.
        urban_zones
            Polygons (WGS84) where the urban speed applies.
        terminals
            ``(name, lon, lat)`` of the boat terminals; those on no land mass
            (farther than ``max_offshore_m`` from every polygon) become outposts.
        params
            Speeds and factors.
        """
        self.params = params or ApproxParams()
        polys = [shapely.make_valid(p) for _, p in landmasses]
        names = [n for n, _ in landmasses]
        centre = shapely.union_all(polys).centroid if polys else Point(0, 0)
        self._crs = local_crs(centre.x, centre.y)
        from pyproj import Transformer

        self._fwd = Transformer.from_crs("EPSG:4326", self._crs, always_xy=True)
        self._inv = Transformer.from_crs(self._crs, "EPSG:4326", always_xy=True)
        metric = [shapely.transform(p, self._project) for p in polys]
        self._n_land = len(metric)
        self._land_tree = shapely.STRtree(metric)
        for name, lon, lat in dict.fromkeys(terminals):
            x, y = self._fwd.transform(lon, lat)
            _, gap = self._land_tree.query_nearest(Point(x, y), return_distance=True)
            if not len(gap) or gap[0] > self.params.max_offshore_m:
                metric.append(Point(x, y).buffer(self.params.outpost_radius_m))
                names.append(name)
        self.names = tuple(names)
        self._metric = metric
        self._outpost_tree = shapely.STRtree(metric[self._n_land :])
        self._all_tree = shapely.STRtree(metric)
        urban = [shapely.transform(shapely.make_valid(p), self._project) for p in urban_zones]
        merged = shapely.union_all(urban) if urban else shapely.Polygon()
        # one polygon per town (adjacent census zones merged)
        self._towns = list(shapely.get_parts(merged)) if not merged.is_empty else []
        self._town_tree = shapely.STRtree(self._towns)

    def _project(self, xy: np.ndarray) -> np.ndarray:
        x, y = self._fwd.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def _unproject(self, xy: np.ndarray) -> np.ndarray:
        x, y = self._inv.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    # -- facts -----------------------------------------------------------------
    anchors_are_land = True  # an anchor is a land mass: equal anchors, same land
    n_nodes = 0
    n_edges = 0

    def components(self) -> tuple[int, int]:
        """Return (number of land masses, 1)."""
        return len(self._metric), 1

    # -- snapping --------------------------------------------------------------
    def snap(self, lon, lat, *, avoid=None, **_ignored) -> Places:
        """Attach points to the land mass they lie on (or the nearest within the tolerance).

        `avoid` (one list of (lon, lat) per point) is given for boat terminals:
        the terminals across the water of the point's lines. The point then
        attaches to its own shore (see the module docstring), never to the land
        mass its lines lead to, unless no other land mass is within
        ``terminal_shore_m`` (a data error that `line_problems` reports).
        """
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        xy = self._project(np.column_stack([lon, lat])) if len(lon) else np.zeros((0, 2))
        points = shapely.points(xy)
        anchor = np.full(len(lon), -1, dtype=np.int64)
        access = np.zeros(len(lon))
        coast = np.full(len(lon), np.inf)
        # islands first; a point off every island may still be at a mainland terminal
        (which_point, which_land), dist = self._land_tree.query_nearest(
            points, return_distance=True, all_matches=False
        )
        coast[which_point] = dist
        near = dist <= self.params.max_offshore_m
        anchor[which_point[near]] = which_land[near]
        access[which_point[near]] = dist[near]
        rest = np.flatnonzero(anchor < 0)
        if len(rest) and len(self._metric) > self._n_land:
            hit_point, hit_outpost = self._outpost_tree.query(points[rest], predicate="within")
            anchor[rest[hit_point]] = self._n_land + hit_outpost
        if avoid is not None:
            for i in range(len(lon)):
                if len(avoid[i]):
                    best = self._own_shore(xy[i], np.asarray(avoid[i], dtype=float))
                    if best is not None:
                        anchor[i], access[i] = best
        reasons = tuple(
            ""
            if anchor[i] >= 0
            else (
                f"el punto está en el mar o fuera del territorio, a {coast[i] / 1000:.1f} km "
                "de la costa más cercana"
            )
            for i in range(len(lon))
        )
        return Places(lon, lat, anchor, access, reasons)

    def _shores(self, xy) -> dict[int, float]:
        """Land masses (and outposts) within ``terminal_shore_m`` of a metric point.

        Value: signed distance in metres (negative inside: minus the depth from the coast).
        """
        point = Point(*xy)
        near = self._all_tree.query(
            point, predicate="dwithin", distance=self.params.terminal_shore_m
        )
        out = {}
        for k in near.tolist():
            poly = self._metric[k]
            gap = poly.distance(point)
            out[k] = gap if gap > 0 else -poly.boundary.distance(point)
        return out

    def _own_shore(self, xy, across: np.ndarray) -> tuple[int, float] | None:
        """(land mass, access metres) of a terminal whose lines lead to the `across` points."""
        mine = self._shores(xy)
        theirs = [self._shores(q) for q in self._project(across)]
        best, best_score = None, np.inf
        for k, gap in mine.items():
            if k >= self._n_land and gap > 0:
                continue  # an outpost is only the land of the terminal it was made for
            score = gap
            for other in theirs:
                options = [g for j, g in other.items() if j != k]
                score += min(options) if options else np.inf
            if score < best_score:
                best, best_score = (k, max(gap, 0.0)), score
        return best

    def line_problems(self, timetable) -> list[str]:
        """Spanish problems of boat lines whose two ends attach to one land mass.

        Each names the line, its terminals, the land mass and how to fix it.
        """
        from routing.model import TravelModel

        model = TravelModel(self, timetable, approximate=True)
        return [note for note in model.notes if note.startswith("línea ")]

    def land_name(self, anchor: int) -> str:
        """Name of a land mass (or outpost) by its anchor."""
        return self.names[anchor]

    def _speeds(self, src: Places, dst: Places, layer: str) -> np.ndarray:
        if layer == "walk":
            return np.full((len(src), len(dst)), self.params.walk_kmh / 3.6)
        town_s = self._town_of(src)
        town_d = self._town_of(dst)
        same_town = (town_s[:, None] == town_d[None, :]) & (town_s[:, None] >= 0)
        return np.where(same_town, self.params.urban_kmh, self.params.rural_kmh) / 3.6

    def _town_of(self, places: Places) -> np.ndarray:
        """Index of the urban area containing each point (-1: rural)."""
        town = np.full(len(places), -1, dtype=np.int64)
        if not self._towns or not len(places):
            return town
        xy = self._project(np.column_stack([places.lon, places.lat]))
        point_idx, town_idx = self._town_tree.query(shapely.points(xy), predicate="within")
        town[point_idx] = town_idx
        return town

    def times(self, src: Places, dst: Places, layer: str) -> np.ndarray:
        """Seconds between snapped points on the same land mass; inf across the water."""
        metres = self._metres(src, dst)
        seconds = metres / self._speeds(src, dst, layer)
        same = (src.anchor[:, None] == dst.anchor[None, :]) & src.ok[:, None] & dst.ok[None, :]
        return np.where(same, seconds, np.inf)

    def _metres(self, src: Places, dst: Places) -> np.ndarray:
        d = haversine_m(src.lon[:, None], src.lat[:, None], dst.lon[None, :], dst.lat[None, :])
        return d * self.params.circuity + src.access_m[:, None] + dst.access_m[None, :]

    def path(self, src: Places, dst: Places, layer: str):
        """Straight line between the points, with the circuity-corrected distance and the time."""
        a, b = src.take([0]), dst.take([0])
        coords = [(float(a.lon[0]), float(a.lat[0])), (float(b.lon[0]), float(b.lat[0]))]
        return coords, float(self._metres(a, b)[0, 0]), float(self.times(a, b, layer)[0, 0])

    def reach(self, seeds: Places, seed_s: np.ndarray, budget_s: float, layer: str):
        """Discs of the distance coverable in the time left, clipped to each land mass."""
        parts = []
        for i in np.flatnonzero(seeds.ok & np.isfinite(seed_s) & (seed_s <= budget_s)):
            speed = self.params.walk_kmh if layer == "walk" else self.params.rural_kmh
            radius = (budget_s - seed_s[i]) * speed / 3.6 / self.params.circuity
            x, y = self._fwd.transform(seeds.lon[i], seeds.lat[i])
            disc = Point(x, y).buffer(max(radius, 1.0))
            parts.append(disc.intersection(self._metric[seeds.anchor[i]]))
        if not parts:
            return shapely.Polygon()
        return shapely.transform(shapely.union_all(parts), self._unproject)
