"""What each role sees of a coverage run: tables, gaps, map layers, labels (no Flask).

The mesa never receives a point or an identity: only counts per band ×
comuna and per band × island, protected with `layers.privacy.protect` (every
count from 1 to k−1 hidden, plus complementary cells so that none can be
recovered from totals, from the other table, or from the before/after of a
what-if; hidden cells all look the same, ``<k``). Staff roles (admin,
profesional) see exact counts. Every table a mesa can get — the page, the JSON
and the exports — is built here, by `run_tables`, so they cannot differ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

import h3
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_app.coverage import trips
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import CoverageRun
from geo_app.store.models import CoverageScenario
from layers.coverage import DEFAULT_BANDS_MIN
from layers.coverage import band_labels
from layers.privacy import SUPPRESSED
from layers.privacy import TOTAL
from layers.privacy import protect
from layers.services import LOCATION_QUALITY
from layers.services import SERVICE_TYPES
from layers.services import parse_hhmm

__all__ = [
    "DEFAULT_K",
    "VALUES",
    "RunForm",
    "cells_geojson",
    "gap_rows",
    "parse_departure",
    "run_mode",
    "run_or_404",
    "run_tables",
    "services_geojson",
    "suppressed_label",
]

DEFAULT_K = 10
VALUES = {
    "cases": "Casos (última lista)",
    "enrolment": "Matrícula (establecimientos)",
    "population": "Población (zonas urbanas Censo 2017)",
}
TABLE_LABELS = {"comuna": "Comuna", "isla": "Isla"}
BEFORE, AFTER = "antes", "después"
ISLAND_MIN_KM2 = 75.0
_CACHE: OrderedDict = OrderedDict()


def suppressed_label(k: int) -> str:
    """How a hidden count is shown (primary and complementary alike)."""
    return f"<{k}"


def sees_exact(scope: Scope) -> bool:
    """Staff roles see exact counts; the mesa (and anyone else) protected ones."""
    return scope.role in {"admin", "profesional"}


def parse_departure(day: str, hour: str) -> dt.datetime:
    """Local departure from ``AAAA-MM-DD`` and ``HH:MM`` (Spanish `InvalidRequestError`)."""
    try:
        date = dt.date.fromisoformat(day.strip())
    except ValueError:
        msg = f"La fecha «{day}» no es válida; use AAAA-MM-DD (ej. 2026-03-10)."
        raise InvalidRequestError(msg) from None
    minute = parse_hhmm(hour)
    if minute is None:
        msg = f"La hora «{hour}» no es válida; use HH:MM (ej. 08:00)."
        raise InvalidRequestError(msg)
    return dt.datetime.combine(date, dt.time(minute // 60, minute % 60))


def run_or_404(session: Session, run_id: int) -> CoverageRun:
    """Return the run, or raise a Spanish `NotFoundError`."""
    run = session.get(CoverageRun, run_id)
    if run is None:
        msg = f"No existe el cálculo de cobertura {run_id}."
        raise NotFoundError(msg)
    return run


def island_groups(territory) -> dict[str, str]:
    """Island name -> the row it is published under in a mesa's island table.

    The main island and named islands of at least `ISLAND_MIN_KM2` keep their
    row; the other islands of a comuna are published together as «Islas
    menores de <comuna>» (a rule on public geography, so it reveals no count,
    and it spares most suppression: small islands hold few cases each).
    """
    out = {}
    for row in territory.islands.itertuples(index=False):
        keep = row.is_main or (row.area_km2 >= ISLAND_MIN_KM2 and "sin nombre" not in row.name)
        first = str(row.comunas).split(";")[0].strip()
        out[row.name] = row.name if keep else f"Islas menores de {first}"
    return out


def _micro(result: dict, scope: Scope, groups: dict | None = None) -> pd.DataFrame:
    frames = []
    pairs = [("micro", result["micro"])]
    if result.get("micro_antes") is not None:
        pairs = [("micro_antes", result["micro_antes"]), ("micro", result["micro"])]
    names = {"micro_antes": BEFORE, "micro": AFTER if len(pairs) == 2 else "cobertura"}
    for key, rows in pairs:
        frame = pd.DataFrame(rows)
        frame["layer"] = names[key]
        frames.append(frame)
    micro = pd.concat(frames, ignore_index=True)
    if not scope.all_comunas:
        micro = micro[micro["comuna_name"].isin(scope.comunas)]
    if groups:
        micro = micro.assign(island_name=micro["island_name"].map(groups).fillna("sin dato"))
        keys = ["layer", "comuna_name", "island_name", "band"]
        micro = micro.groupby(keys, sort=False, as_index=False)[list(VALUES)].sum()
    return micro


def run_tables(run_id: int, result: dict, scope: Scope, k: int = DEFAULT_K, territory=None) -> dict:
    """Every table of a run this scope may get: ``{value: {(layer, table): DataFrame}}``.

    Values are strings: exact counts for staff; for others, counts protected
    with complementary suppression (hidden cells shown as ``<k``). Also
    ``"_hidden"``: the same keys with boolean DataFrames (True where hidden),
    and ``"_layers"``: the layers in order (one, or before and after).
    """
    exact = sees_exact(scope)
    # the counts themselves are in the key: run ids restart with a new database
    fingerprint = hashlib.sha1(
        json.dumps([result["micro"], result.get("micro_antes")], sort_keys=True).encode(),
        usedforsecurity=False,
    ).hexdigest()
    key = (run_id, fingerprint, exact, scope.comunas, k)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    groups = island_groups(territory) if territory is not None and not exact else None
    micro = _micro(result, scope, groups)
    bands = result.get("bands") or band_labels()
    out: dict = {"_hidden": {}, "_layers": list(dict.fromkeys(micro["layer"]))}
    if micro.empty:
        _CACHE[key] = out
        return out
    for value in VALUES:
        protected = protect(micro, value=value, bands=bands, k=1 if exact else k)
        tables = {}
        for table_key in protected.tables:
            shown = protected.shown(*table_key)
            if not exact:
                shown = shown.replace(SUPPRESSED, suppressed_label(k))
            tables[table_key] = shown
            out["_hidden"][(value, *table_key)] = protected.suppressed[table_key]
        out[value] = tables
    _CACHE[key] = out
    while len(_CACHE) > 64:
        _CACHE.popitem(last=False)
    return out


def compare_tables(
    first: tuple[int, dict], second: tuple[int, dict], scope: Scope, k: int, territory=None
) -> dict:
    """Tables of two runs side by side, A as ``antes`` and B as ``después``, as `run_tables`.

    `first` and `second` are ``(run_id, result)``. Each side is the run's own
    last layer (a plain run's «cobertura», a what-if's «después») exactly as its
    own page publishes it, suppression pattern included: a mesa that keeps both
    pages and the comparison learns nothing new (two what-ifs protected together
    as one would hide other cells of B than B's page did, and the two patterns
    together narrow hidden counts). Differences (`_differences`) then reveal
    nothing either: only between two published counts.
    """
    out: dict = {"_hidden": {}, "_layers": [BEFORE, AFTER]}
    for (run_id, result), side in ((first, BEFORE), (second, AFTER)):
        tables = run_tables(run_id, result, scope, k, territory)
        if not tables["_layers"]:
            return {"_hidden": {}, "_layers": []}
        own = tables["_layers"][-1]
        for value in VALUES:
            for (layer, table), frame in tables[value].items():
                if layer == own:
                    out.setdefault(value, {})[(side, table)] = frame
                    hidden = tables["_hidden"][(value, layer, table)]
                    out["_hidden"][(value, side, table)] = hidden
    return out


def beyond_bands(threshold: int, bands: list[str]) -> list[str]:
    """Band labels beyond `threshold` minutes (the threshold is one of the band edges)."""
    edges = list(DEFAULT_BANDS_MIN)
    if threshold not in edges:
        msg = f"El umbral debe ser uno de {', '.join(map(str, edges))} minutos."
        raise InvalidRequestError(msg)
    return bands[edges.index(threshold) + 1 :]


def gap_rows(
    run_id: int, result: dict, scope: Scope, k: int, threshold: int, territory=None
) -> list[dict]:
    """Islands with origins beyond `threshold` minutes (or not reached today).

    Each row: ``place, cases, enrolment, population`` (text, from the
    published island table: a sum is shown only when every band it adds is
    published, else ``<k``), ``cells`` (H3 cells of the place beyond the
    threshold, of ``cells_total``) and ``worst`` (minutes of the worst cell,
    None = some cell not reached today). Staff rows are ranked by cases; mesa
    rows by cells beyond (land, not people), so the order reveals no count.
    """
    tables = run_tables(run_id, result, scope, k, territory)
    layers = tables["_layers"]
    exact = sees_exact(scope)
    groups = island_groups(territory) if territory is not None and not exact else {}
    if not layers:
        return []
    layer = layers[-1]
    bands = result.get("bands") or band_labels()
    beyond = beyond_bands(threshold, bands)
    cells = cells_in_scope(result["celdas"], scope)
    per_island: dict[str, list] = {}
    for minutes, band, _comuna, island, _reason in cells.values():
        island = groups.get(island, island)
        entry = per_island.setdefault(island, [0, 0, 0])
        entry[1] += 1
        if band in beyond:
            entry[0] += 1
            entry[2] = None if minutes is None or entry[2] is None else max(entry[2], minutes)
    rows = []
    for island in tables["cases"][(layer, "isla")].index:
        if island == TOTAL:
            continue
        row = {"place": island}
        for value in VALUES:
            shown = tables[value][(layer, "isla")].loc[island, beyond]
            hidden = tables["_hidden"][(value, layer, "isla")].loc[island, beyond]
            row[value] = (
                str(sum(int(v) for v in shown)) if not hidden.any() else suppressed_label(k)
            )
        beyond_cells, total_cells, worst = per_island.get(island, [0, 0, 0])
        row.update(cells=beyond_cells, cells_total=total_cells, worst=worst)
        if row["cells"] or row["cases"] != "0":
            rows.append(row)

    def rank(row):
        cases = int(row["cases"]) if exact and row["cases"].isdigit() else 0
        return (-cases, -row["cells"], row["place"])

    return sorted(rows, key=rank)


def cells_in_scope(cells: dict, scope: Scope) -> dict:
    """Return the run's cells ``{h3: [minutes, band, comuna, island, reason]}`` in the scope."""
    if scope.all_comunas:
        return cells
    return {h: v for h, v in cells.items() if v[2] in scope.comunas}


def cells_geojson(result: dict, scope: Scope, *, before: bool = False) -> dict:
    """H3 cells of the run as GeoJSON polygons (WGS84): band, minutes, reason, comuna, island.

    Also ``ida_vuelta`` and ``semana``: the same-day round trip and the week of
    the cell as Spanish text (`geo_app.coverage.trips.cell_texts`). Cells are
    places, not people: no count is attached.
    """
    stored = result.get("celdas_antes") if before else result["celdas"]
    cells = cells_in_scope(stored or {}, scope)
    texts = trips.cell_texts(result, list(cells), before=before)
    features = []
    for cell, (minutes, band, comuna, island, reason) in cells.items():
        ring = [[round(lng, 5), round(lat, 5)] for lat, lng in h3.cell_to_boundary(cell)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "celda": cell,
                    "minutos": minutes,
                    "banda": band,
                    "comuna": comuna,
                    "isla": island,
                    "motivo": reason,
                    **texts[cell],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def services_geojson(services, service_type: str, scenario: dict | None = None) -> dict:
    """Services of a type as GeoJSON points with their provenance (public places).

    Services without a usable location are left out of the map (listed on the page).
    """
    rows = services[(services["service_type"] == service_type) & services["usable"]]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(p.x, 6), round(p.y, 6)]},
            "properties": {
                "id": row.service_id,
                "nombre": row.name,
                "ubicacion": LOCATION_QUALITY.get(row.location, row.location),
                "fuente": row.source,
                "horario": f"{row.days} {row.opens}–{row.closes}"
                + (" (horario supuesto)" if row.hours_assumed else ""),
                "agregado": False,
            },
        }
        for row, p in zip(rows.itertuples(index=False), rows.geometry, strict=True)
    ]
    for n, extra in enumerate((scenario or {}).get("add_services", ()), start=1):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [extra["lon"], extra["lat"]]},
                "properties": {
                    "id": f"escenario-{n}",
                    "nombre": extra.get("name", "servicio agregado"),
                    "ubicacion": "agregado en el escenario",
                    "fuente": "escenario",
                    "horario": f"{extra['days']} {extra['opens']}–{extra['closes']}",
                    "agregado": True,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def unlocated_services(services, service_type: str) -> list[dict]:
    """Services of a type that are listed but never used for travel times, with why."""
    rows = services[(services["service_type"] == service_type) & ~services["usable"]]
    return [
        {
            "nombre": r.name,
            "comuna": r.comuna_name if isinstance(r.comuna_name, str) else "",
            "motivo": r.reason or LOCATION_QUALITY.get(r.location, r.location),
        }
        for r in rows.itertuples(index=False)
    ]


def scenarios(session: Session) -> list[CoverageScenario]:
    """Return the saved scenarios, by name."""
    return list(session.scalars(select(CoverageScenario).order_by(CoverageScenario.name)))


def type_label(service_type: str) -> str:
    """Spanish label of a service type."""
    return SERVICE_TYPES[service_type][0]


# -- the page ----------------------------------------------------------------------
@dataclass(frozen=True)
class RunForm:
    """The page's form as typed: type, date, hour, mode, threshold."""

    tipo: str = "posta"
    fecha: str = ""
    hora: str = "08:00"
    modo: str = "a_pie"
    umbral: str = "60"
    sugerir: str = ""


def run_mode(params: dict) -> str:
    """Return the travel mode (a key of `routing.transit.MODES`) of stored run parameters.

    Runs stored before the ``modo`` key have only ``a_pie``.
    """
    return params.get("modo") or ("a_pie" if params.get("a_pie", True) else "vehiculo")


# Short names of the modes in the list of recent runs.
RUN_MODES = {"vehiculo": "vehículo", "a_pie": "a pie y barco",
             "transporte_publico": "transporte público"}  # fmt: skip


def next_tuesday(today: dt.date) -> dt.date:
    """Return the form's default day: the next Tuesday (a school day with boats)."""
    return today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)


def recent_runs(session: Session, limit: int = 12) -> list[dict]:
    """Return the latest runs (any account's: they hold aggregates only), newest first."""
    runs = session.scalars(select(CoverageRun).order_by(CoverageRun.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "tipo": type_label(r.params["tipo"]) if r.params["tipo"] in SERVICE_TYPES else "",
            "salida": r.params["salida"].replace("T", " "),
            "modo": RUN_MODES[run_mode(r.params)],
            "escenario": (r.params.get("escenario") or {}).get("name", ""),
            "estado": r.job_state,
        }
        for r in runs
    ]


def job_state(session: Session, run_id: int) -> dict:
    """State of a run's job for the progress bar."""
    run = run_or_404(session, run_id)
    return {"estado": run.job_state, "progreso": run.job_progress, "mensaje": run.job_message}


def labels(result: dict) -> list[str]:
    """Provenance and approximation labels every figure of the run rests on."""
    out = [f"Modo: {result['modo']}. Salida: el día y la hora elegidos (hora de Chile)."]
    out += transit_labels(result.get("transporte"))
    if result["red_aproximada"]:
        out.append(
            "Red aproximada: los tiempos por tierra son estimaciones (línea recta × factor), "
            f"no un camino real. {result['fuente_red']}."
        )
    else:
        out.append(f"Red: {result['fuente_red']}.")
    if result["horario_barcos_supuesto"]:
        out.append(
            "Horario supuesto en las líneas de barco "
            + ", ".join(result["horario_barcos_supuesto"])
            + " (algún dato del horario no tiene fuente; ver la capa de barcos)."
        )
    if result["servicios_horario_supuesto"]:
        out.append(
            f"Horario supuesto en {result['servicios_horario_supuesto']} de los servicios "
            "(lunes a viernes 08:30–17:00 cuando la fuente no lo publica)."
        )
    origins = result["origenes"]
    out.append(
        f"Orígenes: {origins.get('caso', 0)} casos de la última lista, "
        f"{origins.get('celda', 0)} celdas H3 (resolución 7, ~5 km²), "
        f"{origins.get('zona', 0)} zonas urbanas (Censo 2017) y "
        f"{origins.get('escuela', 0)} establecimientos (matrícula Mineduc 2025)."
    )
    return out


def transit_labels(facts: dict | None) -> list[str]:
    """Labels of a «transporte público» run: its timetables, assumed lines, walking limits."""
    if not facts:
        return []
    out = [
        "Transporte público según los horarios cargados: "
        + "; ".join(facts["horarios"])
        + f". Caminata de hasta {facts['caminata_max_min']:g} min a una parada y desde ella, "
        f"hasta {facts['transbordo_max_min']:g} min entre paradas al transbordar y "
        f"{facts['margen_transbordo_min']:g} min para cambiar de bus (supuestos; ver Transporte)."
    ]
    if facts["lineas_supuestas"]:
        out.append(
            "Horario supuesto en las líneas de bus o colectivo "
            + ", ".join(facts["lineas_supuestas"])
            + " (algún dato del horario no tiene fuente)."
        )
    if facts["aviso"]:
        out.append(facts["aviso"])
    return out


def _table_view(frame: pd.DataFrame, hidden: pd.DataFrame | None) -> dict:
    return {
        "columns": list(frame.columns),
        "rows": [
            {
                "label": label,
                "cells": list(frame.loc[label]),
                "hidden": list(hidden.loc[label]) if hidden is not None else [],
            }
            for label in frame.index
        ],
    }


def run_payload(
    run: CoverageRun, scope: Scope, *, k: int, territory, threshold: int | None = None
) -> dict:
    """Everything a page or the JSON shows of a finished run, as this scope may see it.

    ``tablas``: ``[{valor, capa, tabla, columns, rows}]``; ``diferencias`` (a
    what-if: after − before where both counts are published, else ``<k``);
    ``brechas``; ``etiquetas``; ``exactas`` (True for staff); ``ida_vuelta``
    (per island: one departure, same-day round trip, the week;
    `geo_app.coverage.trips.trip_rows`) and ``carencias`` (places lacking
    several services; `trips.multi_gap_rows`).
    """
    result = run.result
    threshold = threshold or int(run.params.get("umbral", 60))
    tables = run_tables(run.id, result, scope, k, territory)
    places = _places(result, scope, territory)
    out = {
        "corrida": run.id,
        "tipo": run.params["tipo"],
        "tipo_etiqueta": type_label(run.params["tipo"]),
        "salida": run.params["salida"],
        "modo": result["modo"],
        "umbral": threshold,
        "exactas": sees_exact(scope),
        "reserva": None if sees_exact(scope) else suppressed_label(k),
        "capas": tables["_layers"],
        "escenario": run.params.get("escenario"),
        "etiquetas": labels(result) + _scenario_labels(run.params.get("escenario")),
        "tablas": [],
        "diferencias": [],
        "brechas": gap_rows(run.id, result, scope, k, threshold, territory),
        "sugerencias": _suggestions_for(result, scope),
        "ida_vuelta": trips.trip_rows(result, places),
        "estadia_min": (result.get("ida_vuelta") or {}).get("estadia_min"),
        "dias_semana": (result.get("semana") or {}).get("dias", []),
        "carencias": trips.multi_gap_rows(
            result, places, _island_totals(tables), exact=sees_exact(scope)
        ),
    }
    out["tablas"] = _table_views(tables, sees_exact(scope))
    if len(tables["_layers"]) == 2:
        out["diferencias"] = _differences(tables, k, sees_exact(scope))
    return out


def _table_views(tables: dict, exact: bool) -> list[dict]:
    out = []
    for value, title in VALUES.items():
        for (layer, table), frame in tables.get(value, {}).items():
            hidden = tables["_hidden"][(value, layer, table)]
            view = _table_view(frame, hidden if not exact else None)
            out.append({"valor": value, "titulo": title, "capa": layer, "tabla": table, **view})
    return out


def compare_payload(
    first: CoverageRun, second: CoverageRun, scope: Scope, *, k: int, territory
) -> dict:
    """Return what the comparison page shows of two finished runs (A = `first`, B = `second`).

    B's `run_payload` with ``tablas`` and ``diferencias`` (B − A) from
    `compare_tables` (each side under its own page's suppression pattern),
    ``capas`` = ``[antes, después]`` for A and B, and ``etiquetas`` of both
    runs (a hypothetical sailing of either is labelled).
    """
    out = run_payload(second, scope, k=k, territory=territory)
    tables = compare_tables(
        (first.id, first.result), (second.id, second.result), scope, k, territory
    )
    out["capas"] = tables["_layers"]
    out["tablas"] = _table_views(tables, sees_exact(scope))
    out["diferencias"] = (
        _differences(tables, k, sees_exact(scope)) if len(tables["_layers"]) == 2 else []
    )
    first_labels = labels(first.result) + _scenario_labels(first.params.get("escenario"))
    out["etiquetas"] = list(dict.fromkeys([*first_labels, *out["etiquetas"]]))
    return out


def _places(result: dict, scope: Scope, territory) -> dict[str, list[str]]:
    """Place (island; grouped as in the mesa's island table) -> its H3 cells in the scope."""
    groups = island_groups(territory) if territory is not None and not sees_exact(scope) else {}
    out: dict[str, list[str]] = {}
    for cell, (_m, _b, _comuna, island, _r) in cells_in_scope(result["celdas"], scope).items():
        out.setdefault(groups.get(island, island), []).append(cell)
    return out


def _island_totals(tables: dict) -> dict[str, dict[str, str]]:
    """Place -> value -> its row total in the run's published island table (last layer)."""
    if not tables["_layers"]:
        return {}
    layer = tables["_layers"][-1]
    out: dict[str, dict[str, str]] = {}
    for value in VALUES:
        frame = tables[value][(layer, "isla")]
        for place in frame.index:
            out.setdefault(place, {})[value] = str(frame.at[place, TOTAL])
    return out


def _scenario_labels(scenario: dict | None) -> list[str]:
    """Say that a what-if's sailings are hypothetical (they are not in any timetable)."""
    return [
        f"Salida de barco hipotética (escenario, no está en el horario): línea {d['line_id']} "
        f"desde {d['origin']} a las {d['at']} ({d['days']}), con el barco y el cruce del tramo."
        for d in (scenario or {}).get("add_departures", ())
    ]


def _suggestions_for(result: dict, scope: Scope) -> list[dict]:
    """Suggested sites; the mesa gets their order and places only (the gains count people)."""
    rows = result.get("sugerencias") or []
    if sees_exact(scope):
        return rows
    return [
        {key: row[key] for key in ("rank", "sitio", "comuna", "isla")}
        for row in rows
        if scope.all_comunas or row["comuna"] in scope.comunas
    ]


def _differences(tables: dict, k: int, exact: bool) -> list[dict]:
    """After − before per cell, only where both are published (a difference reveals counts)."""
    out = []
    for value in VALUES:
        for table in ("comuna", "isla"):
            before = tables[value][(BEFORE, table)]
            after = tables[value][(AFTER, table)]
            hidden = tables["_hidden"][(value, BEFORE, table)] | tables["_hidden"][
                (value, AFTER, table)
            ].reindex_like(tables["_hidden"][(value, BEFORE, table)]).fillna(True)
            diff = after.reindex_like(before).copy()
            for label in before.index:
                for band in before.columns:
                    if band == TOTAL:  # the same origins before and after: always 0
                        diff.at[label, band] = "0"
                    elif hidden.at[label, band] and not exact:
                        diff.at[label, band] = suppressed_label(k)
                    else:
                        change = int(after.at[label, band]) - int(before.at[label, band])
                        diff.at[label, band] = f"{change:+d}" if change else "0"
            out.append({"valor": value, "titulo": VALUES[value], "tabla": table,
                        **_table_view(diff, None)})  # fmt: skip
    return out
