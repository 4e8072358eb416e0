"""What imports and case pages need from the territory, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from flask import Flask

from layers.geocode import Geocoder
from layers.territory import Territory

__all__ = ["CaseContext", "case_context"]


@dataclass
class CaseContext:
    """What imports need from the territory: schools, comunas, islands, gazetteer."""

    territory: Territory
    geocoder: Geocoder
    schools: dict[int, dict]
    ceia_rbds: frozenset[int]
    island_names: list[str]
    island_tree: shapely.STRtree

    @classmethod
    def from_territory(
        cls, territory: Territory, streets: list[tuple[str, float, float, float]] | None = None
    ) -> CaseContext:
        """Build once per app (the gazetteer takes a fraction of a second).

        `streets` are the named streets of the app's OSM network, if it has one.
        """
        schools = {
            int(row.rbd): {
                "name": row.name,
                "comuna": row.comuna_name,
                "island": row.island_name or "",
                "is_slep": bool(row.is_slep),
            }
            for row in territory.schools.itertuples()
        }
        ceia = frozenset(int(r) for r in territory.adult_education["rbd"].dropna())
        islands = territory.islands.to_crs("EPSG:4326")
        return cls(
            territory=territory,
            geocoder=Geocoder.from_territory(territory, streets),
            schools=schools,
            ceia_rbds=ceia,
            island_names=list(islands["name"]),
            island_tree=shapely.STRtree(list(islands.geometry)),
        )

    @property
    def comunas(self) -> list[str]:
        """Comuna names of the territory."""
        return list(self.territory.comunas["comuna_name"])

    def island_of(self, lon: float | None, lat: float | None) -> str:
        """Name of the island containing (or nearest to, within ~2 km) a point."""
        if lon is None or lat is None:
            return ""
        point = shapely.Point(lon, lat)
        hits = self.island_tree.query(point, predicate="intersects")
        if len(hits):
            return self.island_names[int(hits[0])]
        nearest = self.island_tree.query_nearest(point, max_distance=0.02)
        return self.island_names[int(nearest[0])] if len(nearest) else ""


def case_context(app: Flask) -> CaseContext:
    """Return the `CaseContext` of `app`'s territory (and streets), built on first use."""
    context = app.extensions.get("revincula.cases")
    if context is None:
        context = CaseContext.from_territory(
            app.extensions["revincula.territory"], app.extensions.get("revincula.streets")
        )
        app.extensions["revincula.cases"] = context
    return context
