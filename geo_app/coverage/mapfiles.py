"""Map files of a finished coverage run: what goes in them, and the job that prints PDF/PNG.

The HTML map and the GeoJSON are made in the request (well under a second);
the A4 PDF and PNG take several seconds, so they are made by a background job
(`geo_app.jobs.submit`, a thread or an RQ worker) into a `CoverageMapFile` row
whose state the page polls; the file is then downloaded from that row. A file
is drawn for one audience (`scope_key`): exact counts for staff, protected
counts and only its comunas' cells for a mesa, and only handed to the same audience.
"""

from __future__ import annotations

import json
import logging
import traceback

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo_app import jobs
from geo_app.coverage import maps
from geo_app.coverage import service
from geo_app.coverage import services as store
from geo_app.errors import InvalidRequestError
from geo_app.errors import NotFoundError
from geo_app.scope import Scope
from geo_app.store.models import CoverageMapFile
from geo_app.store.models import CoverageRun
from geo_app.territory.service import layer_geojson

__all__ = [
    "PRINT_FORMATS",
    "file_content",
    "file_state",
    "map_data",
    "map_file_job",
    "request_print",
    "scope_key",
    "start_print_job",
]

log = logging.getLogger(__name__)

PRINT_FORMATS = ("pdf", "png")


def scope_key(scope: Scope) -> str:
    """Audience of a map file: ``exacto`` or ``reservado``, then the comunas (``;``)."""
    kind = "exacto" if service.sees_exact(scope) else "reservado"
    return f"{kind}|{';'.join(sorted(scope.comunas))}"


def _scope_of(key: str, username: str) -> Scope:
    kind, _, comunas = key.partition("|")
    role = "profesional" if kind == "exacto" else "mesa"
    return Scope(username, role, tuple(c for c in comunas.split(";") if c))


def map_data(
    session: Session, territory, scope: Scope, run_id: int, *, k: int, generated: str | None = None
) -> dict:
    """Everything a map file of run `run_id` shows, as `scope` may see it.

    Returns ``{payload, bands, cells, services, boats, comunas, generated}``:
    the run's payload (`service.run_payload`: protected tables for a mesa),
    the band labels, the H3 cells in the scope (GeoJSON, no counts), the
    services of the run's type (public places) and the public background
    layers (boat lines, comunas), all WGS84.

    Raises
    ------
    InvalidRequestError
        When the run has not finished.
    NotFoundError
        When there is no such run.
    """
    run = service.run_or_404(session, run_id)
    if run.job_state != "listo":
        msg = f"El cálculo {run_id} aún no termina (estado: {run.job_state}); espere y reintente."
        raise InvalidRequestError(msg)
    payload = service.run_payload(run, scope, k=k, territory=territory)
    services = store.registry(session, territory)
    return {
        "payload": payload,
        "bands": run.result.get("bands") or maps.default_bands(),
        "cells": service.cells_geojson(run.result, scope),
        "services": service.services_geojson(
            services, run.params["tipo"], run.params.get("escenario")
        ),
        "boats": json.loads(layer_geojson(territory, "barcos")),
        "comunas": json.loads(layer_geojson(territory, "comunas")),
        "generated": generated or maps.generated_now(),
    }


def request_print(
    session: Session, run_id: int, fmt: str, scope: Scope, *, k: int, actor: str
) -> tuple[int, bool]:
    """Return the id of the run's printable map for this audience and whether it is new.

    A file already made (or being made) for the same run, format, audience and
    k is reused; a failed one is made again. Start a new one's job with
    `start_print_job` once the transaction is committed.

    Raises
    ------
    NotFoundError
        For a format other than PDF or PNG, or no such run.
    InvalidRequestError
        When the run has not finished.
    """
    if fmt not in PRINT_FORMATS:
        msg = "Formato desconocido: use mapa.pdf o mapa.png."
        raise NotFoundError(msg)
    run = service.run_or_404(session, run_id)
    if run.job_state != "listo":
        msg = f"El cálculo {run_id} aún no termina (estado: {run.job_state}); espere y reintente."
        raise InvalidRequestError(msg)
    key = scope_key(scope)
    row = session.scalar(
        select(CoverageMapFile)
        .where(
            CoverageMapFile.run_id == run_id,
            CoverageMapFile.fmt == fmt,
            CoverageMapFile.scope_key == key,
            CoverageMapFile.suppression_k == k,
            CoverageMapFile.job_state != "fallido",
        )
        .order_by(CoverageMapFile.id.desc())
    )
    if row is not None:
        return row.id, False
    row = CoverageMapFile(
        run_id=run_id,
        fmt=fmt,
        scope_key=key,
        suppression_k=k,
        job_state="en_cola",
        job_progress=0.0,
        job_message="en cola",
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row.id, True


def start_print_job(app, file_id: int):
    """Draw a stored map file in the background (`geo_app.jobs.submit`)."""
    return jobs.submit(app, f"mapa-{file_id}", "geo_app.coverage.mapfiles:map_file_job", file_id)


def _own(session: Session, run_id: int, file_id: int, scope: Scope) -> CoverageMapFile:
    row = session.get(CoverageMapFile, file_id)
    if row is None or row.run_id != run_id or row.scope_key != scope_key(scope):
        msg = "Ese archivo de mapa no existe (o fue hecho para otra cuenta)."
        raise NotFoundError(msg)
    return row


def file_state(session: Session, run_id: int, file_id: int, scope: Scope) -> dict:
    """``{estado, progreso, mensaje, formato}`` of a map file of this audience."""
    row = _own(session, run_id, file_id, scope)
    return {
        "estado": row.job_state,
        "progreso": row.job_progress,
        "mensaje": row.job_message,
        "formato": row.fmt,
    }


def file_content(session: Session, run_id: int, file_id: int, scope: Scope) -> tuple[bytes, str]:
    """Return the finished file and its format.

    Raises
    ------
    NotFoundError
        No such file for this audience.
    InvalidRequestError
        The job has not finished (or failed: the message says so).
    """
    row = _own(session, run_id, file_id, scope)
    if row.job_state != "listo" or row.content is None:
        msg = (
            "No se pudo hacer el mapa; vuelva a pedirlo desde la página de cobertura."
            if row.job_state == "fallido"
            else f"El mapa aún se está haciendo ({row.job_message}); espere y reintente."
        )
        raise InvalidRequestError(msg)
    return row.content, row.fmt


def _set(sessions, file_id: int, **values) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(CoverageMapFile)
            .where(CoverageMapFile.id == file_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def map_file_job(app, file_id: int) -> None:
    """Draw one printable map (thread or RQ worker); its row gets the state and the file."""
    sessions = app.extensions["revincula.db"]
    with sessions() as session:
        row = session.get(CoverageMapFile, file_id)
        if row is None or row.job_state == "listo":
            return
        run_id, fmt, key, k, actor = (
            row.run_id,
            row.fmt,
            row.scope_key,
            row.suppression_k,
            (row.created_by),
        )
    try:
        _set(
            sessions,
            file_id,
            job_state="calculando",
            job_progress=0.1,
            job_message="reuniendo celdas, servicios y tablas",
        )
        with sessions() as session:
            if session.get(CoverageRun, run_id) is None:
                msg = f"El cálculo {run_id} ya no existe."
                raise ValueError(msg)
            data = map_data(
                session, app.extensions["revincula.territory"], _scope_of(key, actor), run_id, k=k
            )
        _set(sessions, file_id, job_progress=0.4, job_message=f"dibujando el {fmt.upper()} A4")
        content = maps.print_map(data, fmt)
        _set(
            sessions,
            file_id,
            job_state="listo",
            job_progress=1.0,
            job_message="listo",
            content=content,
        )
    except Exception as err:  # any failure becomes a visible state
        log.warning("map file %s of run %s failed", file_id, run_id)
        _set(
            sessions,
            file_id,
            job_state="fallido",
            job_progress=0.0,
            job_message="no se pudo hacer el mapa",
            error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}",
        )
