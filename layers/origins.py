"""Origins for coverage: cases, an H3 grid over the land, Censo 2017 urban zones, schools.

Every origin table has one row per origin, WGS84 points, and the columns
``origin_id, kind, comuna_code, comuna_name, island_id, island_name, cases,
enrolment, population`` (the last three are the weights counted per band; zero
where they do not apply):

* ``caso``: one point per case (weight ``cases`` = 1); the caller gives the
  points, which never leave the server (only counts are published);
* ``celda``: H3 cells (`h3` package, resolution 7 by default: about 5 km² each,
  some 2,000 cells on Chiloé's land). A cell whose centre falls in the sea is
  represented by a point of its land (``represented_by`` = ``tierra``); a cell
  with less than `MIN_LAND_M2` of land is left out, with the reason;
* ``zona``: Censo 2017 urban zones at a point inside each (weight ``population``);
* ``escuela``: functioning schools with their enrolment (weight ``enrolment``),
  the proxy for where students live when cases are few.
"""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from layers.territory import METRIC_CRS
from layers.territory import WGS84
from layers.territory import Territory

__all__ = [
    "DEFAULT_H3_RESOLUTION",
    "MIN_LAND_M2",
    "ORIGIN_COLUMNS",
    "case_origins",
    "grid_origins",
    "school_origins",
    "zone_origins",
]

DEFAULT_H3_RESOLUTION = 7
MIN_LAND_M2 = 10_000.0  # one hectare
ORIGIN_COLUMNS = [
    "origin_id", "kind", "comuna_code", "comuna_name", "island_id", "island_name",
    "cases", "enrolment", "population",
]  # fmt: skip


def _place(points: gpd.GeoDataFrame, territory: Territory) -> gpd.GeoDataFrame:
    """Add comuna and island (the nearest within 1.5 km of a simplified coast)."""
    metric = points.to_crs(METRIC_CRS)
    comunas = territory.comunas.to_crs(METRIC_CRS)[["comuna_code", "comuna_name", "geometry"]]
    islands = territory.islands.to_crs(METRIC_CRS)[["island_id", "name", "geometry"]]
    out = points.copy()
    for table, columns in (
        (comunas, ["comuna_code", "comuna_name"]),
        (islands, ["island_id", "name"]),
    ):
        hit = gpd.sjoin_nearest(metric[["geometry"]], table, max_distance=1500.0)
        hit = hit[~hit.index.duplicated()]
        for column in columns:
            out[column] = hit[column].reindex(out.index)
    out = out.rename(columns={"name": "island_name"})
    for weight in ("cases", "enrolment", "population"):
        if weight not in out:
            out[weight] = 0
    return out


def case_origins(cases: pd.DataFrame, territory: Territory) -> gpd.GeoDataFrame:
    """Origins from case points.

    Parameters
    ----------
    cases
        Columns ``case_id, lon, lat`` (WGS84); rows without a point are dropped.
    territory
        For comuna and island.
    """
    located = cases.dropna(subset=["lon", "lat"])
    gdf = gpd.GeoDataFrame(
        {"origin_id": "caso-" + located["case_id"].astype(str), "kind": "caso", "cases": 1},
        geometry=gpd.points_from_xy(located["lon"], located["lat"]),
        crs=WGS84,
    )
    return _place(gdf, territory)[[*ORIGIN_COLUMNS, "geometry"]].reset_index(drop=True)


def grid_origins(
    territory: Territory, *, resolution: int = DEFAULT_H3_RESOLUTION
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """H3 cells over the territory's land, each at a point of its land.

    Returns
    -------
    (cells, left_out)
        ``cells``: origin columns plus ``h3_cell``, ``represented_by``
        (``centro`` or ``tierra``), ``land_km2`` and the cell polygon in
        ``cell_geometry`` (WGS84); ``left_out``: ``h3_cell, reason``.
    """
    land = territory.islands.to_crs(WGS84).union_all()
    cells: set[str] = set()
    for part in shapely.get_parts(land):
        shape = h3.geo_to_h3shape(part)
        cells.update(h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    ids = sorted(cells)
    polygons = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in ids]
    centres = [h3.cell_to_latlng(c) for c in ids]
    grid = gpd.GeoDataFrame({"h3_cell": ids}, geometry=polygons, crs=WGS84).to_crs(METRIC_CRS)
    land_metric = gpd.GeoSeries([land], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    on_land = grid.geometry.intersection(land_metric)
    land_m2 = on_land.area.to_numpy()
    centre_pts = gpd.GeoSeries(
        gpd.points_from_xy([c[1] for c in centres], [c[0] for c in centres]), crs=WGS84
    ).to_crs(METRIC_CRS)
    centre_in = centre_pts.within(land_metric).to_numpy()
    points = np.where(centre_in, centre_pts.to_numpy(), on_land.representative_point().to_numpy())
    keep = land_m2 >= MIN_LAND_M2
    left_out = pd.DataFrame(
        {
            "h3_cell": np.array(ids)[~keep],
            "reason": [
                f"la celda tiene solo {a:.0f} m² de tierra (mínimo {MIN_LAND_M2:.0f} m²)"
                for a in land_m2[~keep]
            ],
        }
    )
    out = gpd.GeoDataFrame(
        {
            "origin_id": ["celda-" + c for c in np.array(ids)[keep]],
            "kind": "celda",
            "h3_cell": np.array(ids)[keep],
            "represented_by": np.where(centre_in[keep], "centro", "tierra"),
            "land_km2": land_m2[keep] / 1e6,
            "cell_geometry": gpd.GeoSeries(grid.geometry[keep].to_numpy(), crs=METRIC_CRS)
            .to_crs(WGS84)
            .to_numpy(),
        },
        geometry=gpd.GeoSeries(points[keep], crs=METRIC_CRS).to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    out = _place(out, territory)
    extra = ["h3_cell", "represented_by", "land_km2", "cell_geometry"]
    return out[[*ORIGIN_COLUMNS, *extra, "geometry"]].reset_index(drop=True), left_out


def zone_origins(territory: Territory) -> gpd.GeoDataFrame:
    """Censo 2017 urban zones, each at a point inside it, weighted by population."""
    zones = territory.urban_zones.to_crs(METRIC_CRS)
    gdf = gpd.GeoDataFrame(
        {
            "origin_id": "zona-" + zones["geocodigo"].astype(str),
            "kind": "zona",
            "population": pd.to_numeric(zones["population"]).fillna(0).astype(int),
        },
        geometry=zones.geometry.representative_point(),
        crs=METRIC_CRS,
    ).to_crs(WGS84)
    return _place(gdf, territory)[[*ORIGIN_COLUMNS, "geometry"]].reset_index(drop=True)


def school_origins(territory: Territory) -> gpd.GeoDataFrame:
    """Functioning, located schools as origins weighted by their enrolment (MAT_TOTAL 2025)."""
    schools = territory.schools[territory.schools["has_location"]]
    gdf = gpd.GeoDataFrame(
        {
            "origin_id": "escuela-" + schools["rbd"].astype(str),
            "kind": "escuela",
            "enrolment": schools["enrolment"].astype(int),
        },
        geometry=schools.geometry.to_crs(WGS84),
        crs=WGS84,
    )
    return _place(gdf, territory)[[*ORIGIN_COLUMNS, "geometry"]].reset_index(drop=True)
