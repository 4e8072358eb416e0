"""What imports and case pages need from the territory, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import shapely
from flask import Flask

from layers.gazetteer import WOF_FILE
from layers.gazetteer import Entry
from layers.gazetteer import Gazetteer
from layers.gazetteer import landmarks
from layers.gazetteer import osm_entries
from layers.gazetteer import territory_entries
from layers.gazetteer import wof_entries
from layers.geocode import Geocoder
from layers.geocode import street_places
from layers.intake import normalize_text
from layers.territory import Territory

__all__ = ["CaseContext", "case_context"]


@dataclass
class CaseContext:
    """What imports need from the territory: schools, comunas, islands, gazetteer.

    `base_entries` are the gazetteer entries of the bundled sources (Mineduc,
    DEIS, Censo, islands, Who's On First) and of the app's OSM network;
    `geocoder` matches against them alone. The team's own entries live in the
    store: `geo_app.places.stored.current_geocoder` adds them (`geocoder_with`).
    """

    territory: Territory
    geocoder: Geocoder
    schools: dict[int, dict]
    ceia_rbds: frozenset[int]
    island_names: list[str]
    island_tree: shapely.STRtree
    base_entries: list[Entry] = field(default_factory=list)
    streets: list = field(default_factory=list)
    roads: object = None
    cache: dict = field(default_factory=dict)

    @classmethod
    def from_territory(
        cls,
        territory: Territory,
        streets: list[tuple[str, float, float, float]] | None = None,
        *,
        osm_places=(),
        roads=None,
    ) -> CaseContext:
        """Build once per app (the gazetteer takes a fraction of a second).

        `streets` are the named streets of the app's OSM network, if it has one;
        `osm_places` its named places (`routing.network.load_places`) and
        `roads` its `StreetNetwork` (for «Km N camino a X»).
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
        base = territory_entries(territory)
        base += wof_entries(territory.data_dir / WOF_FILE)
        base += osm_entries(osm_places, territory.comunas)
        context = cls(
            territory=territory,
            geocoder=None,  # type: ignore[arg-type] - set just below
            schools=schools,
            ceia_rbds=ceia,
            island_names=list(islands["name"]),
            island_tree=shapely.STRtree(list(islands.geometry)),
            base_entries=base,
            streets=street_places(streets or [], territory.comunas),
            roads=roads,
        )
        context.cache["landmarks"] = landmarks(territory)
        located = territory.schools[territory.schools["has_location"]].to_crs("EPSG:4326")
        context.cache["school_points"] = {
            int(row.rbd): (row.geometry.x, row.geometry.y) for row in located.itertuples()
        }
        context.geocoder = context.geocoder_with(Gazetteer.from_entries(base))
        return context

    def geocoder_with(self, gazetteer: Gazetteer) -> Geocoder:
        """Return a geocoder on `gazetteer` with the schools, streets, landmarks and roads."""
        geocoder = Geocoder(
            gazetteer.places,
            self.cache["school_points"],
            self.streets,
            landmarks=self.cache["landmarks"],
            roads=self.roads,
            comunas={normalize_text(c) for c in self.territory.comunas["comuna_name"]},
        )
        geocoder.gazetteer = gazetteer
        return geocoder

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
        model = app.extensions.get("revincula.travel")
        built = app.extensions.get("revincula.streets") is not None
        context = CaseContext.from_territory(
            app.extensions["revincula.territory"],
            app.extensions.get("revincula.streets"),
            osm_places=app.extensions.get("revincula.osm_places", ()),
            roads=model.network if built and model is not None else None,
        )
        app.extensions["revincula.cases"] = context
    return context
