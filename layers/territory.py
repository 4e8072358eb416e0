"""Bundled territory of SLEP Chiloé as validated GeoDataFrames.

Every loader reads the files in ``data/chiloe/`` (see its ``PROVENANCE.md``),
checks schema, CRS, unique ids, coordinates and geometries, and raises one
:class:`TerritoryDataError` listing every problem it found. All layers are in
WGS84 (``EPSG:4326``); areas and distances are computed in UTM 18S
(``EPSG:32718``).

Islands are not a separate file: they are the connected parts of the union of
the comuna polygons (Isla Quinchao spans two comunas), the largest being Isla
Grande de Chiloé; names come from ``islas_nombres.csv``, which places a named
point (a health post or school known to be on the island) inside each island.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString

from layers._validate import Problems
from layers._validate import TerritoryDataError
from routing import RoutingInputError
from routing import Timetable
from routing import read_timetable

__all__ = [
    "CHILOE_BBOX",
    "DEFAULT_DATA_DIR",
    "HEALTH_KINDS",
    "METRIC_CRS",
    "WGS84",
    "Territory",
    "TerritoryDataError",
    "boat_lines",
    "load_territory",
    "summary_by_comuna",
    "summary_by_island",
]

WGS84 = "EPSG:4326"
METRIC_CRS = "EPSG:32718"  # UTM zone 18S, metres
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "chiloe"
# (min_lon, min_lat, max_lon, max_lat): the province plus the mainland ramps across Chacao.
CHILOE_BBOX = (-75.5, -44.2, -72.3, -41.5)
# Points farther than this from every island polygon are reported as errors
# (the polygons are simplified; the farthest real school is 25 m off the coast).
MAX_OFFSHORE_M = 1500.0

FILES = {
    "comunas": "chiloe_comunas_chilemapas.geojson",
    "schools": "mineduc_directorio_ee_2025_chiloe.csv",
    "codebook": "mineduc_directorio_codigos.csv",
    "health": "deis_establecimientos_salud_chiloe.csv",
    "adult": "educacion_adultos_ceia_chiloe.csv",
    "island_names": "islas_nombres.csv",
    "timetable": "horarios_barcos.csv",
    "suspensions": "suspensiones_barcos.csv",
    "census": "censo2017_comunas_edad_sexo_chiloe.csv",
    "urban": "censo2017_zonas_urbanas_chiloe.geojson",
    "early_education": "educacion_parvularia_mineduc_chiloe.csv",
    "social_services": "servicios_sociales_chiloe.csv",
}
# Main town of each comuna where its name differs from the comuna's (the comuna's capital).
COMUNA_TOWNS = {"Quinchao": "Achao"}

# DEIS establishment type (TipoEstablecimientoGlosa) -> our category key.
HEALTH_KINDS: dict[str, str] = {
    "Hospital": "hospital",
    "Centro de Salud Familiar (CESFAM)": "cesfam",
    "Centro Comunitario de Salud Familiar (CECOSF)": "cecosf",
    "Posta de Salud Rural (PSR)": "posta",
    "Servicio de Urgencia Rural (SUR)": "urgencia",
    "Servicio de Atención Primaria de Urgencia de Alta Resolutividad (SAR)": "urgencia",
    "Servicio de Atención Primaria de Urgencia (SAPU)": "urgencia",
}
HEALTH_KIND_LABELS: dict[str, str] = {
    "hospital": "Hospital",
    "cesfam": "CESFAM",
    "cecosf": "CECOSF",
    "posta": "Posta de salud rural",
    "urgencia": "Urgencia (SAPU/SAR/SUR)",
    "otro": "Otros (privados, laboratorios, etc.)",
}
# Id and coordinate columns shared by the Mineduc directory and the tables derived from it.
_MINEDUC_POINT_COLUMNS = {"id_column": "RBD", "lat_column": "LATITUD", "lon_column": "LONGITUD"}
SLEP_DEPENDENCY = 5  # COD_DEPE2 = "Servicio Local de Educación"
FUNCTIONING = 1  # ESTADO_ESTAB = "Funcionando"


@dataclass(frozen=True, eq=False)
class Territory:
    """All layers of one territory, validated together (hashed by identity)."""

    comunas: gpd.GeoDataFrame
    islands: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    health: gpd.GeoDataFrame
    adult_education: gpd.GeoDataFrame
    timetable: Timetable
    boat_lines: gpd.GeoDataFrame
    census: pd.DataFrame
    urban_zones: gpd.GeoDataFrame
    data_dir: Path
    # line_id -> island_ids its terminals attach to (see `_boat_line_islands`)
    line_islands: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_territory(data_dir: str | Path | None = None) -> Territory:
    """Load and validate every layer of the territory in `data_dir`.

    Parameters
    ----------
    data_dir
        Folder with the files named in `FILES`; defaults to the bundled
        ``data/chiloe``.

    Returns
    -------
    Territory

    Raises
    ------
    TerritoryDataError
        One error listing every problem of every file, each saying how to fix it.
    """
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    problems = Problems()
    missing = [
        name
        for key, name in FILES.items()
        if key != "suspensions" and not (data_dir / name).is_file()
    ]
    if missing:
        msg = (
            f"Faltan archivos del territorio en {data_dir}: {', '.join(missing)}. "
            "Restaure la carpeta data/chiloe del repositorio."
        )
        raise TerritoryDataError(msg)

    comunas = _load_comunas(data_dir, problems)
    problems.raise_if_any()  # everything below needs the polygons
    islands = _islands_from_comunas(comunas, data_dir, problems)
    schools = _load_schools(data_dir, problems)
    health = _load_health(data_dir, problems)
    adult = _load_adult_education(data_dir, problems)
    census = _load_census(data_dir, problems)
    urban = _load_urban_zones(data_dir, problems)
    try:
        suspensions = data_dir / FILES["suspensions"]
        timetable = read_timetable(
            data_dir / FILES["timetable"],
            suspensions_path=suspensions if suspensions.is_file() else None,
        )
    except RoutingInputError as err:
        problems.add(FILES["timetable"], str(err))
        timetable = Timetable(())
    problems.raise_if_any()

    known = set(comunas["comuna_code"])
    for frame, file_key in ((schools, "schools"), (health, "health"), (adult, "adult")):
        unknown = sorted(set(frame["comuna_code"]) - known)
        if unknown:
            problems.add(FILES[file_key], f"códigos de comuna desconocidos: {unknown}.")
    names = dict(zip(comunas["comuna_code"], comunas["comuna_name"], strict=True))
    schools["comuna_name"] = schools["comuna_code"].map(names)
    line_islands = _boat_line_islands(islands, timetable, problems)
    schools = _attach_island(schools, islands, FILES["schools"], problems)
    health = _attach_island(health, islands, FILES["health"], problems)
    adult = _attach_island(adult, islands, FILES["adult"], problems)
    problems.raise_if_any()
    return Territory(
        comunas=comunas,
        islands=islands,
        schools=schools,
        health=health,
        adult_education=adult,
        timetable=timetable,
        boat_lines=boat_lines(timetable),
        census=census,
        urban_zones=urban,
        data_dir=data_dir,
        line_islands=line_islands,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _points(df: pd.DataFrame, lat: pd.Series, lon: pd.Series) -> gpd.GeoDataFrame:
    """Return `df` as points; rows without coordinates get a missing geometry."""
    present = lat.notna() & lon.notna()
    geometry = gpd.GeoSeries.from_xy(lon.where(present), lat.where(present), crs=WGS84)
    geometry[~present] = None
    return gpd.GeoDataFrame(df, geometry=geometry, crs=WGS84)


def _load_comunas(data_dir: Path, problems: Problems) -> gpd.GeoDataFrame:
    name = FILES["comunas"]
    gdf = gpd.read_file(data_dir / name)
    if not problems.require_columns(gdf, name, ("codigo_comuna", "nombre_comuna")):
        return gdf
    problems.require_valid_geometries(gdf, name)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(WGS84)
    problems.require_unique(gdf, name, "codigo_comuna")
    out = gpd.GeoDataFrame(
        {
            "comuna_code": gdf["codigo_comuna"].astype(str),
            "comuna_name": gdf["nombre_comuna"].astype(str),
        },
        geometry=gdf.geometry,
        crs=gdf.crs,
    )
    out["area_km2"] = out.to_crs(METRIC_CRS).area / 1e6
    return out


def _islands_from_comunas(
    comunas: gpd.GeoDataFrame, data_dir: Path, problems: Problems
) -> gpd.GeoDataFrame:
    """Split the union of the comunas into islands, largest first, and name them."""
    parts = (
        gpd.GeoDataFrame(geometry=[comunas.union_all()], crs=comunas.crs)
        .explode(index_parts=False)
        .reset_index(drop=True)
    )
    parts["area_km2"] = parts.to_crs(METRIC_CRS).area / 1e6
    parts = parts.sort_values("area_km2", ascending=False).reset_index(drop=True)
    parts["island_id"] = [f"isla-{i:02d}" for i in range(len(parts))]
    parts["is_main"] = parts.index == 0
    comuna_points = comunas[["comuna_name", "geometry"]]
    overlap = gpd.sjoin(parts, comuna_points, how="left", predicate="intersects")
    parts["comunas"] = (
        overlap.groupby("island_id")["comuna_name"]
        .agg(lambda s: "; ".join(sorted(set(s))))
        .reindex(parts["island_id"])
    ).to_numpy()

    names_file = FILES["island_names"]
    names = _read_csv(data_dir / names_file)
    parts["name"] = None
    parts["name_source"] = None
    if problems.require_columns(names, names_file, ("nombre", "lat", "lon", "fuente")):
        lat = problems.require_numeric(names, names_file, "lat")
        lon = problems.require_numeric(names, names_file, "lon")
        named = _points(names[["nombre", "fuente"]], lat, lon)
        hit = gpd.sjoin(named.to_crs(METRIC_CRS), parts.to_crs(METRIC_CRS), predicate="within")
        for row in named.index.difference(hit.index):
            problems.add(
                names_file,
                f"el punto de {names.loc[row, 'nombre']!r} (fila {row + 2}) "
                "no cae en ninguna isla; "
                "use un punto en tierra.",
            )
        twice = hit["index_right"].duplicated(keep=False)
        for _, row in hit[twice].iterrows():
            problems.add(names_file, f"{row['nombre']!r} nombra una isla que ya tiene otro nombre.")
        parts.loc[hit["index_right"], "name"] = hit["nombre"].to_numpy()
        parts.loc[hit["index_right"], "name_source"] = hit["fuente"].to_numpy()
    unnamed = parts["name"].isna()
    parts.loc[unnamed, "name"] = [
        f"Isla sin nombre {i.removeprefix('isla-')} ({c})"
        for i, c in zip(parts.loc[unnamed, "island_id"], parts.loc[unnamed, "comunas"], strict=True)
    ]
    parts.loc[unnamed, "name_source"] = "sin nombre en los datos incluidos"
    return parts[["island_id", "name", "is_main", "area_km2", "comunas", "name_source", "geometry"]]


def _attach_island(
    points: gpd.GeoDataFrame, islands: gpd.GeoDataFrame, file_name: str, problems: Problems
) -> gpd.GeoDataFrame:
    """Add ``island_id``, ``island_name`` and ``on_smaller_island`` to located points.

    A point in the sea close to a simplified coastline takes the nearest island
    (within `MAX_OFFSHORE_M`); farther points are reported as errors.
    """
    out = points.copy()
    located = out[out.geometry.notna()]
    joined = gpd.sjoin_nearest(
        located.to_crs(METRIC_CRS)[["geometry"]],
        islands.to_crs(METRIC_CRS)[["island_id", "name", "is_main", "geometry"]],
        max_distance=MAX_OFFSHORE_M,
        distance_col="offshore_m",
    )
    joined = joined[~joined.index.duplicated()]
    lost = located.index.difference(joined.index)
    if len(lost):
        problems.add(
            file_name,
            f"{len(lost)} punto(s) a más de {MAX_OFFSHORE_M:.0f} m de toda isla "
            f"(ids {', '.join(str(out.loc[i].iloc[0]) for i in lost[:10])}); "
            "revise las coordenadas.",
        )
    out["island_id"] = joined["island_id"].reindex(out.index)
    out["island_name"] = joined["name"].reindex(out.index)
    out["on_smaller_island"] = (~joined["is_main"].astype(bool)).reindex(out.index).fillna(False)
    out["on_smaller_island"] = out["on_smaller_island"].astype(bool)
    return out


def _read_point_table(
    data_dir: Path,
    file_key: str,
    problems: Problems,
    *,
    required: tuple[str, ...],
    id_column: str,
    lat_column: str,
    lon_column: str,
) -> tuple[pd.DataFrame, pd.Series, pd.Series] | None:
    """Read a CSV of located establishments and check columns, ids and coordinates.

    Returns None when required columns are missing (already recorded in `problems`).
    """
    name = FILES[file_key]
    df = _read_csv(data_dir / name)
    if not problems.require_columns(df, name, required):
        return None
    problems.require_unique(df, name, id_column)
    lat = problems.require_numeric(df, name, lat_column)
    lon = problems.require_numeric(df, name, lon_column)
    problems.require_in_bbox(lat, lon, name, CHILOE_BBOX)
    return df, lat, lon


def _no_points() -> gpd.GeoDataFrame:
    """Return an empty placeholder for a table that failed validation."""
    return gpd.GeoDataFrame({"comuna_code": []}, geometry=[], crs=WGS84)


def _load_schools(data_dir: Path, problems: Problems) -> gpd.GeoDataFrame:
    """Functioning schools of the Mineduc directory (``ESTADO_ESTAB`` = 1)."""
    name = FILES["schools"]
    required = (
        "RBD",
        "NOM_RBD",
        "COD_COM_RBD",
        "NOM_COM_RBD",
        "COD_DEPE2",
        "RURAL_RBD",
        "LATITUD",
        "LONGITUD",
        "MAT_TOTAL",
        "ESTADO_ESTAB",
    )
    table = _read_point_table(
        data_dir,
        "schools",
        problems,
        required=required,
        **_MINEDUC_POINT_COLUMNS,
    )
    if table is None:
        return _no_points()
    df, lat, lon = table
    for column in ("RBD", "COD_DEPE2", "RURAL_RBD", "MAT_TOTAL", "ESTADO_ESTAB"):
        df[column] = problems.require_numeric(df, name, column)
    labels = _dependency_labels(data_dir, problems)
    functioning = df["ESTADO_ESTAB"] == FUNCTIONING
    df, lat, lon = df[functioning], lat[functioning], lon[functioning]
    out = pd.DataFrame(
        {
            "rbd": df["RBD"].astype("Int64"),
            "name": df["NOM_RBD"].str.strip(),
            "comuna_code": df["COD_COM_RBD"].str.strip(),
            "dependency": df["COD_DEPE2"].map(labels).fillna("Sin dato"),
            "is_slep": df["COD_DEPE2"] == SLEP_DEPENDENCY,
            "is_rural": df["RURAL_RBD"] == 1,
            "enrolment": df["MAT_TOTAL"].fillna(0).astype(int),
            "has_location": lat.notna() & lon.notna(),
        }
    )
    return _points(out, lat, lon).reset_index(drop=True)


def _dependency_labels(data_dir: Path, problems: Problems) -> dict[float, str]:
    name = FILES["codebook"]
    codes = _read_csv(data_dir / name)
    if not problems.require_columns(codes, name, ("variable", "codigo", "descripcion")):
        return {}
    rows = codes[codes["variable"] == "COD_DEPE2"]
    return dict(zip(pd.to_numeric(rows["codigo"]), rows["descripcion"], strict=True))


def _load_health(data_dir: Path, problems: Problems) -> gpd.GeoDataFrame:
    """Health establishments in operation (DEIS), with our category ``kind``."""
    name = FILES["health"]
    required = (
        "EstablecimientoCodigo",
        "EstablecimientoGlosa",
        "TipoEstablecimientoGlosa",
        "TipoPertenenciaEstabGlosa",
        "TipoSistemaSaludGlosa",
        "ComunaCodigo",
        "ComunaGlosa",
        "EstadoFuncionamiento",
        "Latitud",
        "Longitud",
    )
    table = _read_point_table(
        data_dir,
        "health",
        problems,
        required=required,
        id_column="EstablecimientoCodigo",
        lat_column="Latitud",
        lon_column="Longitud",
    )
    if table is None:
        return _no_points()
    df, lat, lon = table
    open_now = df["EstadoFuncionamiento"].str.startswith("Vigente")
    df, lat, lon = df[open_now], lat[open_now], lon[open_now]
    no_location = lat.isna() | lon.isna()
    if no_location.any():
        problems.add(
            name,
            f"establecimiento(s) vigente(s) sin coordenadas: "
            f"{', '.join(df.loc[no_location, 'EstablecimientoCodigo'])}; "
            "agregue Latitud y Longitud.",
        )
    kind = df["TipoEstablecimientoGlosa"].map(HEALTH_KINDS).fillna("otro")
    out = pd.DataFrame(
        {
            "health_id": df["EstablecimientoCodigo"].str.strip(),
            "name": df["EstablecimientoGlosa"].str.strip(),
            "kind": kind,
            "kind_label": df["TipoEstablecimientoGlosa"].str.strip(),
            # DEIS `TieneServicioUrgencia`: hospitals with an emergency unit, SAPU, SAR, SUR
            "emergency": df.get("TieneServicioUrgencia", pd.Series("", index=df.index))
            .str.strip()
            .eq("SI"),
            "system": df["TipoSistemaSaludGlosa"].str.strip(),
            "comuna_code": df["ComunaCodigo"].str.strip(),
            "comuna_name": df["ComunaGlosa"].str.strip(),
            # street or "Sector X" of the DEIS record: the geocoder reads localities from it
            "address": df.get("NombreVia", pd.Series("", index=df.index))
            .fillna("")
            .str.replace(r"\s+", " ", regex=True)
            .str.strip(),
        }
    )
    return _points(out, lat, lon).reset_index(drop=True)


def _load_adult_education(data_dir: Path, problems: Problems) -> gpd.GeoDataFrame:
    """Functioning schools that teach adults (CEIA and similar)."""
    required = ("RBD", "NOM_RBD", "COD_COM_RBD", "ESTADO_ESTAB", "LATITUD", "LONGITUD", "criterio")
    table = _read_point_table(
        data_dir,
        "adult",
        problems,
        required=required,
        **_MINEDUC_POINT_COLUMNS,
    )
    if table is None:
        return _no_points()
    df, lat, lon = table
    keep = (df["ESTADO_ESTAB"] == str(FUNCTIONING)) & lat.notna()
    out = pd.DataFrame(
        {
            "rbd": pd.to_numeric(df.loc[keep, "RBD"]).astype("Int64"),
            "name": df.loc[keep, "NOM_RBD"].str.strip(),
            "comuna_code": df.loc[keep, "COD_COM_RBD"].str.strip(),
            "criterion": df.loc[keep, "criterio"],
        }
    )
    return _points(out, lat[keep], lon[keep]).reset_index(drop=True)


def _load_census(data_dir: Path, problems: Problems) -> pd.DataFrame:
    """Censo 2017 population by comuna, five-year age group and sex."""
    name = FILES["census"]
    df = _read_csv(data_dir / name)
    if not problems.require_columns(
        df, name, ("codigo_comuna", "nombre_comuna", "edad", "sexo", "poblacion")
    ):
        return df
    df["poblacion"] = problems.require_numeric(df, name, "poblacion")
    return df.rename(
        columns={
            "codigo_comuna": "comuna_code",
            "nombre_comuna": "comuna_name",
            "edad": "age_group",
            "sexo": "sex",
            "poblacion": "population",
        }
    )


def _load_urban_zones(data_dir: Path, problems: Problems) -> gpd.GeoDataFrame:
    """Censo 2017 urban zones (polygons), used for urban speeds and town locations."""
    name = FILES["urban"]
    zones = gpd.read_file(data_dir / name)
    if not problems.require_columns(zones, name, ("geocodigo", "nombre_comuna", "pob_total")):
        return zones
    problems.require_valid_geometries(zones, name)
    return zones.to_crs(WGS84).rename(
        columns={"nombre_comuna": "comuna_name", "pob_total": "population"}
    )


def place_names(territory: Territory) -> list[tuple[str, float, float, str]]:
    """Named places for route queries: towns (urban zones), islands and comunas.

    A town is the representative point of the largest urban zone of its comuna
    (Censo 2017), named after the comuna or its capital (`COMUNA_TOWNS`).
    """
    places: list[tuple[str, float, float, str]] = []
    zones = territory.urban_zones.to_crs(METRIC_CRS)
    for comuna, group in zones.groupby("comuna_name"):
        biggest = group.loc[group["population"].idxmax()]
        point = gpd.GeoSeries([biggest.geometry.representative_point()], crs=METRIC_CRS)
        lonlat = point.to_crs(WGS84).iloc[0]
        for name in dict.fromkeys([COMUNA_TOWNS.get(comuna, comuna), comuna]):
            places.append((name, lonlat.x, lonlat.y, "pueblo"))
    for island in territory.islands.to_crs(WGS84).itertuples():
        if island.name.startswith("Isla sin nombre"):
            continue
        point = island.geometry.representative_point()
        places.append((island.name, point.x, point.y, "isla"))
    return places


def boat_lines(timetable: Timetable) -> gpd.GeoDataFrame:
    """Return one straight line per boat line with its schedule summary.

    The geometry joins the two terminals (the real sailing path is not in the
    data); ``schedule`` holds one Spanish line per direction and period, and
    ``assumed`` says whether any value of the line is an assumption.
    """
    rows = []
    for line_id in timetable.line_ids:
        services = timetable.services_of(line_id)
        first = services[0]
        schedule = [f"{s.origin} → {s.destination}: {s.summary()}" for s in services]
        rows.append(
            {
                "line_id": line_id,
                "name": first.line_name,
                "mode": first.mode,
                "passengers_only": first.passengers_only,
                "terminals": f"{first.origin} / {first.destination}",
                "schedule": "\n".join(schedule),
                "assumed": any(s.assumed for s in services),
                "assumed_fields": ", ".join(sorted(set().union(*(s.assumed for s in services)))),
                "geometry": LineString(
                    [
                        (first.origin_lon, first.origin_lat),
                        (first.destination_lon, first.destination_lat),
                    ]
                ),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def summary_by_comuna(territory: Territory) -> pd.DataFrame:
    """Count schools (all, SLEP, on smaller islands), enrolment and health services per comuna."""
    schools = territory.schools.groupby("comuna_code").agg(
        escuelas=("rbd", "size"),
        escuelas_slep=("is_slep", "sum"),
        escuelas_rurales=("is_rural", "sum"),
        escuelas_islas_menores=("on_smaller_island", "sum"),
        matricula=("enrolment", "sum"),
    )
    public_health = territory.health[territory.health["kind"] != "otro"]
    health = public_health.groupby(["comuna_code", "kind"]).size().unstack(fill_value=0)
    out = (
        territory.comunas.set_index("comuna_code")[["comuna_name"]]
        .join(schools)
        .join(health)
        .fillna(0)
        .sort_values("comuna_name")
    )
    numeric = out.columns.drop("comuna_name")
    out[numeric] = out[numeric].astype(int)
    labels = {"hospital": "hospital", "cesfam": "CESFAM", "cecosf": "CECOSF"}
    labels |= {"posta": "postas", "urgencia": "SAPU/SAR/SUR", "comuna_name": "comuna"}
    return out.rename(columns=labels)


def summary_by_island(territory: Territory) -> pd.DataFrame:
    """Count schools and health services per island that has any, plus its boat lines."""
    schools = territory.schools.groupby("island_id").agg(
        escuelas=("rbd", "size"), matricula=("enrolment", "sum")
    )
    health = territory.health.groupby("island_id").size().rename("salud")
    out = (
        territory.islands.set_index("island_id")[["name", "comunas", "area_km2"]]
        .join(schools)
        .join(health)
        .fillna({"escuelas": 0, "matricula": 0, "salud": 0})
    )
    out = out[(out["escuelas"] > 0) | (out["salud"] > 0)]
    terminals = _terminal_islands(territory)
    out["lineas_barco"] = [", ".join(sorted(terminals.get(i, []))) for i in out.index]
    out[["escuelas", "matricula", "salud"]] = out[["escuelas", "matricula", "salud"]].astype(int)
    return out.rename(columns={"name": "isla", "area_km2": "area_km2"}).round({"area_km2": 1})


def _boat_line_islands(
    islands: gpd.GeoDataFrame, timetable: Timetable, problems: Problems
) -> dict[str, tuple[str, ...]]:
    """Islands each boat line's terminals attach to; a line on one island is a problem.

    The terminals attach as the approximate travel network attaches them
    (`routing.approximate`: each to its own shore, since the island polygons are
    simplified and a pier can fall inside the polygon of the island across).
    A line whose two ends still attach to one island joins nothing: it is
    reported with the line, its terminals and the island. Terminals on no
    island (mainland ramps) are left out of the mapping.
    """
    from routing.approximate import ApproximateNetwork
    from routing.approximate import ApproxParams
    from routing.model import TravelModel

    if not timetable.services:
        return {}
    wgs = islands.to_crs(WGS84)
    terminals = [
        t
        for s in timetable.services
        for t in (
            (s.origin, s.origin_lon, s.origin_lat),
            (s.destination, s.destination_lon, s.destination_lat),
        )
    ]
    network = ApproximateNetwork(
        list(zip(wgs["name"], wgs.geometry, strict=True)),
        terminals=terminals,
        params=ApproxParams(max_offshore_m=MAX_OFFSHORE_M),
    )
    model = TravelModel(network, timetable, approximate=True)
    for note in model.notes:
        if note.startswith("línea "):
            problems.add(FILES["timetable"], note)
    ids = islands["island_id"].tolist()
    out: dict[str, set[str]] = {}
    anchors = model.terminals.anchor
    for link in model.links:
        for k in (anchors[link.from_terminal], anchors[link.to_terminal]):
            if 0 <= k < len(ids):
                out.setdefault(link.line_id, set()).add(ids[k])
    return {line: tuple(sorted(found)) for line, found in out.items()}


def _terminal_islands(territory: Territory) -> dict[str, set[str]]:
    """Map island_id -> boat line ids with a terminal on that island (see `_boat_line_islands`)."""
    if territory.line_islands:
        out: dict[str, set[str]] = {}
        for line_id, island_ids in territory.line_islands.items():
            for island_id in island_ids:
                out.setdefault(island_id, set()).add(line_id)
        return out
    rows = [
        {"line_id": s.line_id, "lat": lat, "lon": lon}
        for s in territory.timetable.services
        for lat, lon in ((s.origin_lat, s.origin_lon), (s.destination_lat, s.destination_lon))
    ]
    if not rows:
        return {}
    df = pd.DataFrame(rows)
    terminals = _points(df[["line_id"]], df["lat"], df["lon"]).to_crs(METRIC_CRS)
    joined = gpd.sjoin_nearest(
        terminals,
        territory.islands.to_crs(METRIC_CRS)[["island_id", "geometry"]],
        max_distance=MAX_OFFSHORE_M,
    )
    out: dict[str, set[str]] = {}
    for island_id, line_id in zip(joined["island_id"], joined["line_id"], strict=True):
        out.setdefault(island_id, set()).add(line_id)
    return out
