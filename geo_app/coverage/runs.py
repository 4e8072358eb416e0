"""Coverage computed as a background job (`geo_app.jobs`), its progress in its row.

A run takes one service type, a departure (local America/Santiago date and
hour) and a travel mode (``vehiculo``; ``a_pie``: on foot and by boat;
``transporte_publico``: walk, buses, colectivos and boats, from the stored
timetables, `geo_app.travel.transit_model`), and optionally a what-if
scenario (`layers.coverage.Scenario`). It computes the minutes from every
origin (the cases of the latest list, the H3 cells over the land, the Censo
2017 urban zones and the schools with their enrolment; `layers.origins`) to
the nearest usable service of the type, and stores only aggregates: the
counts per comuna × island × band (``micro``; "before" as well when there is a
scenario), the band and minutes of each H3 cell (cells are places, not
people), the unreachable reasons of the cells and the provenance labels. No
case id or point is stored in the result.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo_app import jobs
from geo_app.coverage.service import run_mode
from geo_app.coverage.services import registry
from geo_app.store.models import Case
from geo_app.store.models import CoverageRun
from geo_app.travel import app_model
from geo_app.travel import transit_or_none
from layers.coverage import MODE_LABELS
from layers.coverage import TRANSIT
from layers.coverage import Coverage
from layers.coverage import Scenario
from layers.coverage import apply_scenario
from layers.coverage import band_counts
from layers.coverage import band_labels
from layers.coverage import local_time
from layers.origins import case_origins
from layers.origins import grid_origins
from layers.origins import school_origins
from layers.origins import zone_origins
from layers.services import SERVICE_TYPES
from layers.territory import Territory

__all__ = [
    "RunParams",
    "all_origins",
    "compute",
    "coverage_job",
    "create_run",
    "hhmm",
    "lacking",
    "run_coverage",
    "start_run_job",
    "trips",
]

log = logging.getLogger(__name__)


class RunParams(dict):
    """Parameters of a run as stored.

    ``tipo``, ``salida`` (local ISO), ``modo``, ``a_pie`` (no vehicle), ``umbral``, ``sugerir``.
    """

    @classmethod
    def build(
        cls,
        service_type: str,
        when: dt.datetime,
        *,
        on_foot: bool = True,
        mode: str | None = None,
        threshold: int = 60,
        suggest: bool = False,
    ) -> RunParams:
        """Check and return the parameters (Spanish `ValueError` when wrong).

        `mode` is a key of `routing.transit.MODES`; without it, `on_foot` picks
        ``a_pie`` or ``vehiculo``.
        """
        if service_type not in SERVICE_TYPES:
            msg = f"Tipo de servicio desconocido {service_type!r}; use uno de: " + ", ".join(
                SERVICE_TYPES
            )
            raise ValueError(msg)
        mode = mode or ("a_pie" if on_foot else "vehiculo")
        if mode not in MODE_LABELS:
            msg = f"Modo de viaje {mode!r} desconocido; use uno de: {', '.join(MODE_LABELS)}."
            raise ValueError(msg)
        return cls(
            tipo=service_type,
            salida=when.replace(tzinfo=None).isoformat(timespec="minutes"),
            modo=mode,
            a_pie=mode != "vehiculo",
            umbral=int(threshold),
            sugerir=bool(suggest),
        )


_STATIC: dict[int, tuple[gpd.GeoDataFrame, pd.DataFrame]] = {}


def _static_origins(territory: Territory) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    if id(territory) in _STATIC:
        return _STATIC[id(territory)]
    cells, left_out = grid_origins(territory)
    cells = cells.drop(columns=["cell_geometry"])
    parts = [cells, zone_origins(territory), school_origins(territory)]
    table = pd.concat(parts, ignore_index=True)
    _STATIC[id(territory)] = gpd.GeoDataFrame(table, geometry="geometry", crs=4326), left_out
    return _STATIC[id(territory)]


def all_origins(session: Session, territory: Territory) -> gpd.GeoDataFrame:
    """Cases of the latest list with a point, H3 cells, census zones and schools.

    Returns the origin columns of `layers.origins` plus ``h3_cell`` (cells only).
    """
    rows = session.execute(
        select(Case.id, Case.lon, Case.lat).where(Case.in_latest_list, Case.lon.is_not(None))
    ).all()
    static, _ = _static_origins(territory)
    frames = [static]
    if rows:
        cases = pd.DataFrame(rows, columns=["case_id", "lon", "lat"])
        frames.insert(0, case_origins(cases, territory))
    table = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=4326)


def create_run(
    session: Session, params: RunParams, *, actor: str, scenario: dict | None = None,
    scenario_id: int | None = None,
) -> int:  # fmt: skip
    """Store a run waiting for its job; return its id."""
    stored = dict(params)
    if scenario:
        stored["escenario"] = scenario
    run = CoverageRun(params=stored, created_by=actor, scenario_id=scenario_id)
    session.add(run)
    session.flush()
    return run.id


def compute(model, territory: Territory, services, origins, params: dict, progress) -> dict:
    """Compute one run's aggregated result (see the module docstring for its content).

    `model` answers the run's mode: a `routing.transit.TransitModel` for
    ``transporte_publico`` (`run_model`).

    Raises
    ------
    ValueError
        In Spanish, for a scenario that cannot be applied (`apply_scenario`), or
        ``transporte_publico`` without a timetable (`routing.transit.NO_TRANSIT_REASON`).
    """
    when = local_time(dt.datetime.fromisoformat(params["salida"]))
    service_type = params["tipo"]
    bands = band_labels()
    progress(0.1, "uniendo los orígenes a la red")
    mode = run_mode(params)
    coverage = Coverage(model, origins, mode=mode)
    progress(0.3, "calculando tiempos al servicio más cercano")
    times = coverage.nearest(services, when, types=[service_type])
    result = _summary(times, origins)
    result["micro_antes"] = None
    progress(0.4, "ida y vuelta en el día y la semana (lunes a viernes)")
    result.update(trips(coverage, services, origins, service_type, when))
    last_cov, last_services = coverage, services
    scenario_spec = params.get("escenario")
    if scenario_spec:
        progress(0.5, "aplicando el escenario")
        scenario = Scenario.from_dict(scenario_spec)
        after_services, after_model = apply_scenario(services, model, scenario, territory)
        after_cov = coverage
        if after_model is not model:
            after_cov = Coverage(after_model, origins, mode=mode)
        after = after_cov.nearest(after_services, when, types=[service_type])
        before = result
        result = _summary(after, origins)
        result["micro_antes"] = before["micro"]
        result["celdas_antes"] = before["celdas"]
        progress(0.6, "ida y vuelta y semana con el escenario")
        result.update(trips(after_cov, after_services, origins, service_type, when))
        result["ida_vuelta_antes"] = before["ida_vuelta"]
        result["semana_antes"] = before["semana"]
        last_cov, last_services = after_cov, after_services
    progress(0.7, "lugares sin varios servicios a la vez")
    result["carencias"] = lacking(last_cov, last_services, origins, when,
                                  int(params.get("umbral", 60)))  # fmt: skip
    if params.get("sugerir"):
        progress(0.8, "buscando dónde agregar un servicio (5 días de la semana)")
        result["sugerencias"] = _suggestions(coverage, services, origins, params, when)
    progress(0.9, "guardando los conteos")
    of_type = services[services["service_type"] == service_type]
    result.update(
        bands=bands,
        modo=coverage.mode_label,
        modo_clave=mode,
        transporte=_transit_facts(model, when) if mode == TRANSIT else None,
        red_aproximada=bool(model.approximate),
        fuente_red=model.source,
        horario_barcos_supuesto=sorted({s.line_id for s in model.timetable.services if s.assumed}),
        servicios_usables=int(of_type["usable"].sum()),
        servicios_sin_ubicacion=int((~of_type["usable"]).sum()),
        servicios_horario_supuesto=int(of_type["hours_assumed"].astype(bool).sum()),
        origenes={
            kind: int((origins["kind"] == kind).sum())
            for kind in ("caso", "celda", "zona", "escuela")
        },
    )
    return result


def _transit_facts(model, when: dt.datetime) -> dict:
    """Return what a «transporte público» run rests on: timetables, assumed lines, limits."""
    routes = model.route_assumed
    return {
        "horarios": [f"{f.name} ({f.source})" for f in model.feeds if f.has_land_transport],
        "lineas_supuestas": sorted(
            {
                str(n)
                for n, k, a in zip(model.route_names, model.route_kinds, routes, strict=True)
                if a and k != "barco"
            }
        ),
        "caminata_max_min": model.params.max_walk_min,
        "transbordo_max_min": model.params.max_transfer_walk_min,
        "margen_transbordo_min": model.params.transfer_slack_min,
        "aviso": model.service_note(when.date()),
    }


def run_model(app, params: dict):
    """Return the travel model answering a run's mode.

    `geo_app.travel.transit_model` for ``transporte_publico`` (the app's model when
    no timetable is stored: the run then fails with the reason), else `app_model`.
    """
    if run_mode(params) == TRANSIT:
        return transit_or_none(app) or app_model(app)
    return app_model(app)


STAY_MIN = 60.0  # minutes at the service for the same-day round trip (issue 19 default)


def _cell_rows(origins: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    cells = (origins["kind"] == "celda").to_numpy()
    return cells, origins.loc[cells, "h3_cell"].to_numpy()


def trips(coverage, services, origins, service_type: str, when: dt.datetime) -> dict:
    """Same-day round trip and the week of every H3 cell (places, not people).

    Returns
    -------
    dict
        ``ida_vuelta``: ``{"estadia_min", "celdas": {cell: [same_day, "HH:MM"
        home or None, reason]}}`` (`layers.coverage.Coverage.round_trip`, a
        stay of `STAY_MIN` minutes within the service's hours); ``semana``:
        ``{"dias": [day names], "celdas": {cell: [minutes or None per day]}}``
        (`Coverage.week_minutes`, the same hour Monday to Friday of the week).
    """
    cells, ids = _cell_rows(origins)
    trip = coverage.round_trip(services, service_type, when, stay_min=STAY_MIN)[cells]
    minutes, names, _ = coverage.week_minutes(services, when, types=[service_type])
    minutes = minutes[cells]
    return {
        "ida_vuelta": {
            "estadia_min": int(STAY_MIN),
            "celdas": {
                cell: [bool(same), hhmm(home), reason]
                for cell, same, home, reason in zip(
                    ids, trip["same_day"], trip["home_at"], trip["reason"], strict=True
                )
            },
        },
        "semana": {
            "dias": names,
            "celdas": {
                cell: [None if np.isnan(m) else int(m) for m in row]
                for cell, row in zip(ids, minutes, strict=True)
            },
        },
    }


def hhmm(when) -> str | None:
    """Local clock time to the nearest minute (``"HH:MM"``), None for NaT."""
    if pd.isna(when):
        return None
    return pd.Timestamp(when).round("min").strftime("%H:%M")


def lacking(coverage, services, origins, when: dt.datetime, threshold: int) -> dict:
    """Minutes from every H3 cell to the nearest service of every type that has one located.

    For `layers.coverage.multi_gaps` on the page (places lacking several
    services at once), at `threshold` minutes for every type.

    Returns
    -------
    dict
        ``{"umbral", "tipos": [types evaluated], "sin_servicios": [types with no
        usable service, not evaluated], "celdas": {cell: [minutes or None per
        type]}}``.
    """
    usable = services[services["usable"]]
    types = [t for t in SERVICE_TYPES if (usable["service_type"] == t).any()]
    missing = [t for t in SERVICE_TYPES if t not in types]
    cells, ids = _cell_rows(origins)
    table = coverage.nearest(services, when, types=types)
    wide = table.pivot(index="origin_id", columns="service_type", values="minutes")
    wide = wide.reindex(origins.loc[cells, "origin_id"])[types].to_numpy()
    return {
        "umbral": int(threshold),
        "tipos": types,
        "sin_servicios": missing,
        "celdas": {
            cell: [None if np.isnan(m) else int(m) for m in row]
            for cell, row in zip(ids, wide, strict=True)
        },
    }


SUGGESTION_COUNT = 3


def _suggestions(coverage, services, origins, params: dict, when: dt.datetime) -> list[dict]:
    """Greedy "where to add next" (`layers.coverage.suggest_sites`) among public sites.

    Candidates: the located schools off the main island (a posta or an office can
    share a school's site); departures: the same hour Monday to Friday of the
    week, so boat days count. Weight: cases when there are any, else enrolment.
    """
    from layers.coverage import suggest_sites

    schools = services[
        (services["service_type"] == "escuela")
        & services["usable"]
        & ~services["island_name"].fillna("").eq("Isla Grande de Chiloé")
    ].drop_duplicates("service_id")
    candidates = schools.assign(candidate_id=schools["service_id"]).reset_index(drop=True)
    monday = when - dt.timedelta(days=when.weekday())
    days = [monday + dt.timedelta(days=d) for d in range(5)]
    weight = "cases" if (origins["cases"] > 0).any() else "enrolment"
    table = suggest_sites(coverage, services, params["tipo"], candidates, days,
                          threshold_min=params.get("umbral", 60), weight=weight,
                          n=SUGGESTION_COUNT)  # fmt: skip
    where = candidates.set_index("candidate_id")
    return [
        {
            "rank": int(row.rank),
            "sitio": row.name,
            "comuna": str(where.at[row.candidate, "comuna_name"] or ""),
            "isla": str(where.at[row.candidate, "island_name"] or ""),
            "peso": weight,
            "reduce": int(row.reduced),
            "queda": int(row.remaining),
        }
        for row in table.itertuples(index=False)
    ]


def _summary(times: pd.DataFrame, origins: pd.DataFrame) -> dict:
    counts = band_counts(times, origins)
    micro = counts.drop(columns=["service_type"]).to_dict(orient="records")
    joined = times.merge(origins[["origin_id", "kind", "h3_cell", "comuna_name", "island_name"]],
                         on="origin_id")  # fmt: skip
    cells = joined[joined["kind"] == "celda"]
    return {
        "micro": micro,
        "celdas": {
            row.h3_cell: [
                None if np.isnan(row.minutes) else int(row.minutes),
                row.band,
                row.comuna_name if isinstance(row.comuna_name, str) else "sin dato",
                row.island_name if isinstance(row.island_name, str) else "sin dato",
                row.reason,
            ]
            for row in cells.itertuples(index=False)
        },
    }


def run_coverage(sessions, territory: Territory, model, run_id: int, k: int = 10) -> None:
    """Compute a stored run; progress, result and failures are written to its row."""
    with sessions() as session, session.begin():
        run = session.get(CoverageRun, run_id)
        params = dict(run.params)
        _set_job(session, run_id, "calculando", 0.0, "cargando servicios y orígenes")
        services = registry(session, territory)
        origins = all_origins(session, territory)
    last = {"t": 0.0}

    def progress(fraction: float, message: str) -> None:
        if time.monotonic() - last["t"] < 0.3 and fraction < 1.0:
            return
        last["t"] = time.monotonic()
        with sessions() as s, s.begin():
            _set_job(s, run_id, "calculando", fraction, message)

    started = time.perf_counter()
    try:
        result = compute(model, territory, services, origins, params, progress)
        result["segundos"] = round(time.perf_counter() - started, 2)
        progress(0.95, "protegiendo las cifras pequeñas para la mesa")
        _warm_protection(sessions, territory, run_id, result, k)
        with sessions() as session, session.begin():
            run = session.get(CoverageRun, run_id)
            run.result = result
            run.job_state, run.job_progress, run.job_message = "listo", 1.0, "listo"
    except Exception as err:  # any failure becomes a visible state
        text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        log.warning("coverage run %s failed", run_id)
        with sessions() as session, session.begin():
            _set_job(session, run_id, "fallido", 0.0, "el cálculo falló")
            session.execute(
                update(CoverageRun)
                .where(CoverageRun.id == run_id)
                .values(error=f"{text}\n{traceback.format_exc(limit=3)}")
            )


def _warm_protection(sessions, territory: Territory, run_id: int, result: dict, k: int) -> None:
    """Protect the run's tables for every mesa account's scope now, so their page opens fast.

    (`geo_app.coverage.service.run_tables` keeps them in this process.)
    """
    from geo_app.coverage.service import run_tables
    from geo_app.scope import Scope
    from geo_app.store.models import User

    with sessions() as session:
        scopes = {
            tuple(user.comuna_list)
            for user in session.scalars(select(User).where(User.role == "mesa", User.active))
        }
    for comunas in sorted(scopes | {()}):
        run_tables(run_id, result, Scope("", "mesa", comunas), k, territory)


def _set_job(session: Session, run_id: int, state: str, fraction: float, message: str) -> None:
    session.execute(
        update(CoverageRun)
        .where(CoverageRun.id == run_id)
        .values(job_state=state, job_progress=round(fraction, 3), job_message=message[:300])
        .execution_options(synchronize_session=False)
    )


def start_run_job(app, run_id: int):
    """Compute a stored run in the background; its row shows the progress.

    `geo_app.jobs` runs it in a thread, or in an RQ worker when ``REDIS_URL`` is set.
    """
    return jobs.submit(app, f"cobertura-{run_id}", "geo_app.coverage.runs:coverage_job", run_id)


def coverage_job(app, run_id: int) -> None:
    """Run one coverage job in `app` (thread or worker); a finished run is left as is."""
    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        run = session.get(CoverageRun, run_id)
        if run is None or run.job_state == "listo":
            return
        params = dict(run.params)
    run_coverage(
        sessions,
        app.extensions["revincula.territory"],
        run_model(app, params),
        run_id,
        int(app.config.get("SUPPRESSION_K", 10)),
    )
