"""A GTFS upload from the «Transporte» page as a job: validated and stored outside the request.

Reading and validating a feed (`routing.gtfs.read_gtfs`) takes seconds for a real
timetable, longer than a request should wait (issue 22 item 2). `start_gtfs_import`
keeps the zip in the instance folder (``transporte-subidas/<token>.zip``) and queues the
job in `geo_app.jobs` (a thread of the web process, or an RQ worker with ``REDIS_URL``);
the job stores the feed through `geo_app.transit.service.import_feed` (all or nothing)
and its «listo» in the same transaction. A failed job keeps the zip and says why (every
problem of the feed, in Spanish); «Reintentar» runs it again on the same zip. The zip is
deleted once the feed is stored. The worker reads it from the same instance folder as
the web (same server, or a shared volume), like an import's upload.

``revincula transit import`` stays synchronous (a command waits for its work anyway).
A timetable is public data (no person in it): the zip is no minor's data.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import Flask

from geo_app import jobs
from geo_app.audit import record
from geo_app.errors import RequestError
from geo_app.transit import service

__all__ = [
    "GONE",
    "GTFS",
    "TARGETS",
    "gtfs_import_job",
    "kept_upload",
    "start_gtfs_import",
]

GTFS = "transporte_gtfs"
TARGETS = {GTFS: "geo_app.transit.gtfs_jobs:gtfs_import_job"}
FOLDER = "transporte-subidas"
GONE = "El archivo subido ya no está en el servidor: vuelva a subir el GTFS."
TOKEN = re.compile(r"^[0-9a-f]{24}$")


def kept_upload(instance_path: str, token: str) -> Path:
    """Path of the zip kept for upload `token` (a 24-hex-digit token, else ValueError)."""
    if not TOKEN.match(token or ""):
        msg = f"invalid upload token {token!r}"
        raise ValueError(msg)
    return Path(instance_path) / FOLDER / f"{token}.zip"


def start_gtfs_import(
    app: Flask,
    data: bytes,
    filename: str,
    *,
    owner: str,
    source: str = "",
    replace: bool = False,
    ip: str = "",
):
    """Keep the zip `data` and queue its import for `owner`; return ``(job_id, handle)``.

    Each upload is a new job (key ``gtfs:<token>``); its params hold the file name, the
    typed source, `replace` and the client address (for the audit entry).
    """
    token = secrets.token_hex(12)
    path = kept_upload(app.instance_path, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    params = {"token": token, "filename": Path(filename or "gtfs.zip").name[:200],
              "source": source[:500], "replace": bool(replace), "ip": ip}  # fmt: skip
    return jobs.ensure(app, GTFS, f"gtfs:{token}", TARGETS[GTFS], owner=owner, params=params)


def gtfs_import_job(app: Flask, job_id: int, attempt: int) -> None:
    """Validate and store an uploaded GTFS zip (thread or RQ worker)."""
    with app.app_context():
        jobs.run_tracked(app, job_id, attempt, lambda run: _import(app, run))


def _import(app: Flask, run: jobs.JobRun) -> None:
    scope = jobs.owner_scope(app, run.owner)
    params = run.params
    path = kept_upload(app.instance_path, params["token"])
    if not path.is_file():
        raise jobs.JobError(GONE)
    run.progress(0, 0, "Leyendo y validando el GTFS")
    try:
        with app.extensions["revincula.db"]() as session, session.begin():
            row = service.import_feed(
                session, path.read_bytes(), params["filename"],
                territory=app.extensions["revincula.territory"], source=params.get("source", ""),
                actor=run.owner, replace=bool(params.get("replace")),
            )  # fmt: skip
            record(session, scope, "cambiar", "transporte", target_id=row.name,
                   detail="importar GTFS", ip=params.get("ip", ""))  # fmt: skip
            result = {"nombre": row.name, "viajes": row.summary.get("viajes", 0)}
            run.finish(session, result, message="GTFS importado")
    except RequestError as err:  # every problem of the feed; nothing stored, the zip kept
        raise jobs.JobError(str(err)) from err
    path.unlink(missing_ok=True)  # stored in the database with its provenance
