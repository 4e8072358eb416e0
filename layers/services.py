"""Registry of the services a mesa asks about, and the reader of a team's own services list.

Every service has a **type** (`SERVICE_TYPES`), a **location quality**
(`LOCATION_QUALITY`: official coordinates, a geocoded address, the comuna only,
placed by hand) and says whether it **can serve** (a school closed, in
*receso*, without enrolment or without the level in question cannot, nor can a
service that was withdrawn). Only services that are located and can serve are
ever "the nearest" (`usable`). Days and hours open come with the service or are
assumed (``hours_assumed``): Monday to Friday 08:30–17:00, emergencies every
day around the clock; no bundled source publishes them.

Sources (``data/chiloe/PROVENANCE.md``): Mineduc Directorio Oficial 2025 (schools
and their levels, ``ENS_xx`` codes of Anexo II and ``MAT_ENS_x`` enrolment by
level), the early-education and adult-education files derived from it, DEIS
health establishments (type and ``TieneServicioUrgencia``) and
``servicios_sociales_chiloe.csv`` (no coordinates: rows with an address are
geocoded with `layers.geocode`, rows with only a comuna are listed but never
used for travel times).

The registry is long: one row per service and type (a school teaching básica and
media appears under ``escuela``, ``basica`` and ``media``), WGS84 points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

import geopandas as gpd
import numpy as np
import pandas as pd

from layers._validate import Problems
from layers.intake import normalize_text
from layers.intake import read_table
from layers.territory import FILES
from layers.territory import MAX_OFFSHORE_M
from layers.territory import METRIC_CRS
from layers.territory import WGS84
from layers.territory import Territory
from layers.territory import _attach_island

__all__ = [
    "DEFAULT_CLOSES",
    "DEFAULT_DAYS",
    "DEFAULT_OPENS",
    "LOCATION_QUALITY",
    "SERVICE_TYPES",
    "ServiceProblem",
    "ServicesImport",
    "build_registry",
    "parse_days",
    "parse_hhmm",
    "read_services",
]

# type key -> (label shown to users, family)
SERVICE_TYPES: dict[str, tuple[str, str]] = {
    "escuela": ("Escuela o liceo (todos los establecimientos)", "educación"),
    "escuela_slep": ("Escuela o liceo del SLEP", "educación"),
    "parvularia": ("Educación parvularia", "educación"),
    "basica": ("Enseñanza básica", "educación"),
    "media": ("Enseñanza media", "educación"),
    "adultos": ("Educación de adultos (CEIA)", "educación"),
    "posta": ("Posta de salud rural", "salud"),
    "cesfam": ("CESFAM o CECOSF", "salud"),
    "hospital": ("Hospital", "salud"),
    "urgencia": ("Urgencia (SAPU, SAR, SUR u hospital)", "salud"),
    "proteccion_infancia": ("OLN u OPD (protección de la niñez)", "social"),
    "justicia": ("Juzgado de Familia", "social"),
    "salud_mental": ("COSAM (salud mental)", "social"),
    "biblioteca": ("Biblioteca pública", "social"),
    "cultura_infancia": ("Cecrea (cultura para niños y jóvenes)", "social"),
    "seguridad": ("PDI", "social"),
}
LOCATION_QUALITY: dict[str, str] = {
    "oficial": "coordenadas de la fuente oficial (referenciales)",
    "direccion": "dirección geocodificada (aproximada)",
    "manual": "ubicado a mano o con coordenadas del archivo importado",
    "comuna": "solo se conoce la comuna: no se usa para tiempos de viaje",
    "sin_ubicacion": "sin ubicación: no se usa para tiempos de viaje",
}
DEFAULT_DAYS = "lu,ma,mi,ju,vi"
DEFAULT_OPENS = "08:30"
DEFAULT_CLOSES = "17:00"
_DAY_CODES = ("lu", "ma", "mi", "ju", "vi", "sa", "do")
_ALWAYS = ("lu,ma,mi,ju,vi,sa,do", "00:00", "23:59")
# Mineduc ENS codes (Anexo II) of each school level, and the MAT_ENS_x enrolment columns.
_LEVELS: dict[str, tuple[frozenset[int], tuple[str, ...]]] = {
    "parvularia": (frozenset({10}), ("MAT_ENS_1",)),
    "basica": (frozenset({110}), ("MAT_ENS_2",)),
    "media": (frozenset({310, 410, 510, 610, 710, 810, 910}), ("MAT_ENS_5", "MAT_ENS_7")),
}
_STATUS = {2: "en receso", 3: "cerrado", 4: "autorizado sin matrícula"}
_COLUMNS = [
    "service_id", "service_type", "name", "comuna_code", "comuna_name", "location",
    "location_note", "can_serve", "reason", "days", "opens", "closes", "hours_assumed",
    "enrolment", "source",
]  # fmt: skip
# Words a team may write in the `tipo` column, normalised, -> type key.
_TYPE_WORDS: dict[str, str] = {
    **{k.replace("_", " "): k for k in SERVICE_TYPES},
    **{normalize_text(label): k for k, (label, _) in SERVICE_TYPES.items()},
    "jardin": "parvularia", "jardin infantil": "parvularia", "sala cuna": "parvularia",
    "ceia": "adultos", "educacion de adultos": "adultos", "psr": "posta",
    "posta rural": "posta", "posta de salud rural": "posta", "cecosf": "cesfam",
    "sapu": "urgencia", "sar": "urgencia", "sur": "urgencia", "oln": "proteccion_infancia",
    "opd": "proteccion_infancia", "juzgado de familia": "justicia",
    "tribunal de familia": "justicia",
    "cosam": "salud_mental", "cecrea": "cultura_infancia", "pdi": "seguridad",
    "escuela slep": "escuela_slep", "liceo": "escuela", "colegio": "escuela",
}  # fmt: skip


def parse_hhmm(value: str) -> int | None:
    """Return minutes after midnight of ``"HH:MM"`` (00:00–23:59), or None if it is not one."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", value or "")
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def parse_days(value: str) -> frozenset[int] | None:
    """Return weekday numbers (Monday 0) of ``"lu,ma,mi"`` or ``"lu-vi"``; None if invalid."""
    # normalize_text turns "-" into a space: mark ranges as " a " first
    text = normalize_text(str(value).replace("-", " a ")).replace(" a ", "-")
    if not text:
        return None
    days: set[int] = set()
    for part in re.split(r"[ ,;]+", text.replace(" - ", "-")):
        if not part:
            continue
        ends = part.split("-")
        if any(e[:2] not in _DAY_CODES for e in ends) or len(ends) > 2:
            return None
        first, last = _DAY_CODES.index(ends[0][:2]), _DAY_CODES.index(ends[-1][:2])
        if last < first:
            return None
        days.update(range(first, last + 1))
    return frozenset(days) or None


def _row(**values) -> dict:
    base = {
        "days": DEFAULT_DAYS,
        "opens": DEFAULT_OPENS,
        "closes": DEFAULT_CLOSES,
        "hours_assumed": True,
        "enrolment": 0,
        "can_serve": True,
        "reason": "",
    }
    return base | values


def build_registry(
    territory: Territory, *, geocoder=None, extra: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Return every service of the territory, one row per service and type.

    Parameters
    ----------
    territory
        The loaded territory (its ``data_dir`` holds the source files).
    geocoder
        A `layers.geocode.Geocoder` for the addresses of social services; built
        from the territory when omitted.
    extra
        Services imported by the team (`read_services`), appended as they are.

    Returns
    -------
    geopandas.GeoDataFrame
        WGS84 points (None when not located) with the columns ``service_id,
        service_type, name, comuna_code, comuna_name, island_id, island_name,
        location, location_note, can_serve, reason, usable, days, opens, closes,
        hours_assumed, enrolment, source``.
    """
    if geocoder is None:
        from layers.geocode import Geocoder

        geocoder = Geocoder.from_territory(territory)
    rows = [*_school_rows(territory), *_health_rows(territory), *_social_rows(territory, geocoder)]
    names = dict(
        zip(territory.comunas["comuna_code"], territory.comunas["comuna_name"], strict=True)
    )
    table = pd.DataFrame(rows)
    table["comuna_name"] = table["comuna_code"].map(names).fillna(table.get("comuna_name"))
    gdf = gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=WGS84,
    )
    gdf.loc[table["lon"].isna().to_numpy(), "geometry"] = None
    gdf = _attach_island(gdf, territory.islands, "servicios", Problems())
    if extra is not None and len(extra):
        gdf = pd.concat([gdf, extra.to_crs(WGS84)], ignore_index=True)
    gdf["usable"] = (
        gdf["can_serve"]
        & gdf.geometry.notna()
        & gdf["location"].isin(["oficial", "direccion", "manual"])
    )
    return gdf.sort_values(["service_type", "service_id"], kind="stable").reset_index(drop=True)


def _read(territory: Territory, key: str) -> pd.DataFrame:
    return pd.read_csv(
        territory.data_dir / FILES[key], dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _school_rows(territory: Territory) -> list[dict]:
    """Schools of every status (closed ones cannot serve) under each type they belong to."""
    df = _read(territory, "schools")
    lat, lon = _number(df["LATITUD"]), _number(df["LONGITUD"])
    status = _number(df["ESTADO_ESTAB"]).fillna(0).astype(int)
    total = _number(df["MAT_TOTAL"]).fillna(0).astype(int)
    has_enrolment = (_number(df["MATRICULA"]).fillna(0) == 1) & (total > 0)
    codes = df[[c for c in df.columns if c.startswith("ENS_")]].apply(_number).fillna(0)
    source = "Mineduc, Directorio Oficial de Establecimientos 2025 (datos al 30-04-2025)"
    early = set(_read(territory, "early_education")["RBD"])
    adult = set(_read(territory, "adult")["RBD"])
    rows = []
    for i in df.index:
        rbd = df.at[i, "RBD"]
        base_reason = _STATUS.get(status[i], "")
        if not base_reason and not has_enrolment[i]:
            base_reason = "sin matrícula al 30 de abril de 2025"
        types = ["escuela"] + (["escuela_slep"] if df.at[i, "COD_DEPE2"] == "5" else [])
        taught = set(codes.loc[i].astype(int))
        for level, (level_codes, _columns) in _LEVELS.items():
            if (level == "parvularia" and rbd in early) or taught & level_codes:
                types.append(level)
        if rbd in adult:
            types.append("adultos")
        located = not (np.isnan(lat[i]) or np.isnan(lon[i]))
        for service_type in types:
            reason = base_reason
            if not reason and service_type in _LEVELS:
                level_enrolment = sum(_number(df.loc[[i], c]).fillna(0).iloc[0] for c in
                                      _LEVELS[service_type][1])  # fmt: skip
                if level_enrolment <= 0:
                    reason = f"sin matrícula en {SERVICE_TYPES[service_type][0].lower()}"
            rows.append(
                _row(
                    service_id=f"rbd-{rbd}",
                    service_type=service_type,
                    name=df.at[i, "NOM_RBD"].strip(),
                    comuna_code=df.at[i, "COD_COM_RBD"].strip(),
                    location="oficial" if located else "sin_ubicacion",
                    location_note=LOCATION_QUALITY["oficial" if located else "sin_ubicacion"],
                    can_serve=not reason,
                    reason=reason,
                    enrolment=int(total[i]),
                    source=f"{source}, RBD {rbd}",
                    lon=lon[i],
                    lat=lat[i],
                )
            )
    return rows


def _health_rows(territory: Territory) -> list[dict]:
    health = territory.health.to_crs(WGS84)
    types = {"posta": "posta", "cesfam": "cesfam", "cecosf": "cesfam", "hospital": "hospital"}
    rows = []
    for row in health.itertuples():
        kinds = [types[row.kind]] if row.kind in types else []
        if getattr(row, "emergency", False):
            kinds.append("urgencia")
        for service_type in kinds:
            days, opens, closes = _ALWAYS if service_type == "urgencia" else (
                DEFAULT_DAYS, DEFAULT_OPENS, DEFAULT_CLOSES)  # fmt: skip
            rows.append(
                _row(
                    service_id=f"deis-{row.health_id}",
                    service_type=service_type,
                    name=row.name,
                    comuna_code=row.comuna_code,
                    location="oficial",
                    location_note=LOCATION_QUALITY["oficial"],
                    days=days,
                    opens=opens,
                    closes=closes,
                    source=f"DEIS (Minsal), establecimientos de salud 10-03-2026, código "
                    f"{row.health_id}",
                    lon=row.geometry.x,
                    lat=row.geometry.y,
                )
            )
    return rows


def _social_rows(territory: Territory, geocoder) -> list[dict]:
    df = _read(territory, "social_services")
    rows = []
    for _, row in df.iterrows():
        service_type = row["categoria"].strip()
        if service_type not in SERVICE_TYPES:
            continue
        lon = lat = np.nan
        location, note = "comuna", LOCATION_QUALITY["comuna"]
        address = row["direccion"].strip()
        if row["precision_ubicacion"] != "solo_comuna" and address:
            found = geocoder.locate(address=address, comuna=row["comuna"])
            if found.lon is not None:
                from layers.geocode import METHODS

                lon, lat = found.lon, found.lat
                location = "direccion"
                note = (
                    f"dirección geocodificada: {METHODS[found.method][0].lower()}"
                    f" ({found.matched}; puntaje {found.score:.2f})"
                )
        retired = "retirad" in row["estado"].lower()
        rows.append(
            _row(
                service_id=f"ssc-{row['id']}",
                service_type=service_type,
                name=row["nombre"].strip(),
                comuna_code=row["cod_comuna"].strip(),
                location=location,
                location_note=note,
                can_serve=not retired,
                reason=row["estado"].strip() if retired else "",
                source=f"{row['fuente']} ({row['fecha_dato']})",
                lon=lon,
                lat=lat,
            )
        )
    return rows


# -- a team's own list of services -----------------------------------------------------
_HEADERS: dict[str, str] = {
    "nombre": "nombre", "servicio": "nombre", "nombre del servicio": "nombre",
    "tipo": "tipo", "tipo de servicio": "tipo",
    "direccion": "direccion", "domicilio": "direccion",
    "comuna": "comuna",
    "lat": "lat", "latitud": "lat", "lon": "lon", "lng": "lon", "longitud": "lon",
    "dias": "dias", "dias de atencion": "dias",
    "abre": "abre", "apertura": "abre", "hora apertura": "abre", "desde": "abre",
    "cierra": "cierra", "cierre": "cierra", "hora cierre": "cierra", "hasta": "cierra",
}  # fmt: skip


@dataclass(frozen=True)
class ServiceProblem:
    """One problem of one row (``row`` as the user sees it, header = 1; 0 = whole file)."""

    row: int
    column: str
    value: str
    message: str

    def describe(self) -> str:
        """Return the problem as one Spanish line."""
        where = f"fila {self.row}" if self.row else "archivo"
        column = f", columna «{self.column}»" if self.column else ""
        return f"{where}{column}: {self.message}"


@dataclass
class ServicesImport:
    """Result of reading a services list: every service, or nothing and every problem."""

    services: gpd.GeoDataFrame
    problems: list[ServiceProblem] = field(default_factory=list)
    n_rows: int = 0

    @property
    def ok(self) -> bool:
        """True when the whole file can be imported."""
        return not self.problems


def read_services(  # noqa: C901 - header checks, then the row loop
    data: bytes, filename: str, territory: Territory, *, geocoder=None, source: str = ""
) -> ServicesImport:
    """Read and validate a team's list of services (CSV or XLSX), all or nothing.

    Columns (Spanish headers, accents and case ignored): ``nombre``, ``tipo``
    (a key or label of `SERVICE_TYPES`, or a usual name such as *OLN*, *SAPU*,
    *jardín*), and either ``lat``/``lon`` or ``direccion`` (with ``comuna``);
    optional ``dias`` (``lu,ma,mi`` or ``lu-vi``), ``abre`` and ``cierra``
    (``HH:MM``). A point must lie on the territory (within `MAX_OFFSHORE_M` of
    an island); an address must be found by the geocoder.

    Returns
    -------
    ServicesImport
        With ``services`` in the registry's columns (``location`` ``manual`` or
        ``direccion``), or an empty table and every problem when any row is wrong.

    Raises
    ------
    layers.intake.IntakeError
        When the bytes are not a readable table.
    """
    table = read_table(data, filename)
    columns: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        key = _HEADERS.get(normalize_text(header))
        if key and key not in columns:
            columns[key] = index
    problems: list[ServiceProblem] = []
    for needed in ("nombre", "tipo"):
        if needed not in columns:
            problems.append(ServiceProblem(0, "", "", f"falta la columna «{needed}»."))
    if not ("direccion" in columns or {"lat", "lon"} <= set(columns)):
        problems.append(
            ServiceProblem(
                0,
                "",
                "",
                "falta la ubicación: agregue las columnas «lat» y «lon» "
                "o «direccion» (con «comuna»).",
            )
        )
    if problems:
        return ServicesImport(_empty(), problems, len(table.rows))
    if geocoder is None and "direccion" in columns:
        from layers.geocode import Geocoder

        geocoder = Geocoder.from_territory(territory)
    rows = []
    for number, raw in zip(table.row_numbers, table.rows, strict=True):
        cell = {k: (raw[i].strip() if i < len(raw) else "") for k, i in columns.items()}
        row = _check_service(number, cell, problems, territory, geocoder)
        if row is not None:
            row["source"] = f"{source or filename}, fila {number}"
            row["service_id"] = f"importado-{_slug(source or filename)}-{number}"
            rows.append(row)
    if not rows and not problems:
        problems.append(ServiceProblem(0, "", "", "el archivo no tiene filas con servicios."))
    if problems:
        return ServicesImport(_empty(), problems, len(table.rows))
    frame = pd.DataFrame(rows)
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=WGS84,
    )
    gdf = _with_comuna(gdf, territory)
    gdf = _attach_island(gdf, territory.islands, filename, Problems())
    gdf["usable"] = True
    return ServicesImport(gdf, [], len(table.rows))


def _check_service(number, cell, problems, territory, geocoder) -> dict | None:  # noqa: C901
    start = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(ServiceProblem(number, column, cell.get(column, ""), message))

    name = cell.get("nombre", "")
    if not name:
        bad("nombre", "falta el nombre del servicio.")
    service_type = _TYPE_WORDS.get(normalize_text(cell.get("tipo", "")))
    if service_type is None:
        bad(
            "tipo",
            f"«{cell.get('tipo', '')}» no es un tipo conocido; use uno de: "
            f"{', '.join(SERVICE_TYPES)}.",
        )
    lon = lat = None
    location, note = "manual", LOCATION_QUALITY["manual"]
    if cell.get("lat") or cell.get("lon"):
        try:
            lat = float(cell.get("lat", "").replace(",", "."))
            lon = float(cell.get("lon", "").replace(",", "."))
        except ValueError:
            bad("lat", "«lat» y «lon» deben ser números con punto decimal (ej. -42.48 y -73.76).")
        else:
            gap = _offshore_m(territory, lon, lat)
            if gap > MAX_OFFSHORE_M:
                bad(
                    "lat",
                    f"el punto ({lat:.5f}, {lon:.5f}) está fuera del territorio, a "
                    f"{gap / 1000:.1f} km de la costa más cercana; revise que lat y lon no estén "
                    "invertidas ni sin signo negativo.",
                )
    elif cell.get("direccion"):
        found = geocoder.locate(address=cell["direccion"], comuna=cell.get("comuna", ""))
        if found.lon is None:
            bad("direccion", "no se pudo ubicar la dirección; agregue «lat» y «lon».")
        else:
            from layers.geocode import METHODS

            lon, lat, location = found.lon, found.lat, "direccion"
            note = f"dirección geocodificada: {METHODS[found.method][0].lower()} ({found.matched})"
    else:
        bad("direccion", "falta la ubicación: escriba «lat» y «lon» o una dirección.")
    days_text = cell.get("dias", "") or DEFAULT_DAYS
    if parse_days(days_text) is None:
        bad("dias", "días no válidos; escriba por ejemplo «lu,mi,vi» o «lu-vi».")
    hours = {}
    for column, default in (("abre", DEFAULT_OPENS), ("cierra", DEFAULT_CLOSES)):
        text = cell.get(column, "") or default
        hours[column] = parse_hhmm(text)
        if hours[column] is None:
            bad(column, f"«{text}» no es una hora HH:MM (ej. 08:30).")
    if None not in hours.values() and hours["abre"] >= hours["cierra"]:
        bad("cierra", "la hora de cierre debe ser posterior a la de apertura.")
    if len(problems) > start:
        return None
    assumed = not (cell.get("dias") and cell.get("abre") and cell.get("cierra"))
    return _row(
        service_type=service_type,
        name=name,
        comuna_code="",
        location=location,
        location_note=note,
        days=",".join(_DAY_CODES[d] for d in sorted(parse_days(days_text))),
        opens=cell.get("abre") or DEFAULT_OPENS,
        closes=cell.get("cierra") or DEFAULT_CLOSES,
        hours_assumed=assumed,
        lon=lon,
        lat=lat,
    )


def _offshore_m(territory: Territory, lon: float, lat: float) -> float:
    point = gpd.GeoSeries.from_xy([lon], [lat], crs=WGS84).to_crs(METRIC_CRS)
    islands = territory.islands.to_crs(METRIC_CRS)
    return float(islands.distance(point.iloc[0]).min())


def _with_comuna(gdf: gpd.GeoDataFrame, territory: Territory) -> gpd.GeoDataFrame:
    comunas = territory.comunas.to_crs(METRIC_CRS)[["comuna_code", "comuna_name", "geometry"]]
    joined = gpd.sjoin_nearest(gdf.drop(columns=["comuna_code"]).to_crs(METRIC_CRS), comunas)
    joined = joined[~joined.index.duplicated()].drop(columns=["index_right"])
    return joined.to_crs(WGS84)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize_text(text)).strip("-")[:30] or "lista"


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in _COLUMNS}, geometry=[], crs=WGS84)
