"""The RQ worker's side of `geo_app.jobs`: build the app once per process, run jobs in it.

``revincula worker`` calls `work`; RQ calls `run_job` (by name, `geo_app.jobs.RUNNER`).
"""

from __future__ import annotations

import os

from flask import Flask

from geo_app.jobs import queue
from geo_app.jobs import resolve

__all__ = ["JOB_MODULES", "preload", "run_job", "work"]

# The modules of every job target submitted through `geo_app.jobs.submit`
# (tests/geo_app/test_jobs.py checks that none is missing).
JOB_MODULES = (
    "geo_app.cases.import_jobs",
    "geo_app.coverage.mapfiles",
    "geo_app.coverage.runs",
    "geo_app.planning.plans",
    "geo_app.reports.report_jobs",
    "geo_app.transit.gtfs_jobs",
)

_APP: Flask | None = None  # the worker process's app, built once
_APP_PID = 0  # the process whose database connections the app holds


def run_job(target: str, *args: object) -> None:
    """Run a submitted job in an RQ worker, with this process's app (built once)."""
    global _APP, _APP_PID
    if _APP is None:
        from geo_app import create_app

        _APP, _APP_PID = create_app(), os.getpid()
    if os.getpid() != _APP_PID:  # a forked job: never share the parent's connections
        _APP.extensions["revincula.engine"].dispose(close=False)
        _APP_PID = os.getpid()
    with _APP.app_context():
        resolve(target)(_APP, *args)


def preload(app: Flask) -> None:
    """Import every job's module and run its ``warm(app)``, if any, once, in this process.

    RQ's forking ``Worker`` runs each job in a new child of the worker process (its
    "work horse"); what the parent has imported and built (the import jobs' case
    context: gazetteer, geocoder, schools), every child inherits copy-on-write instead
    of importing and building it again for each job (RQ's documentation, «Workers —
    Performance notes», recommends importing before the fork). Nothing here keeps a
    database connection: the engine is disposed after.
    """
    import importlib

    with app.app_context():
        for name in JOB_MODULES:
            warm = getattr(importlib.import_module(name), "warm", None)
            if warm is not None:
                warm(app)
    app.extensions["revincula.engine"].dispose()


def work(app: Flask, *, burst: bool = False, fork: bool = False) -> bool:
    """Work the app's RQ queue until stopped (or until it is empty, with `burst`).

    By default each job runs in this process (RQ's ``SimpleWorker``): what one job
    built — database connections, SQLAlchemy's compiled statements, the case
    context — serves the next. `fork` True runs each job in a new child process
    (RQ's ``Worker``, after `preload`): a job that crashes or grows the memory takes
    only its child with it, at about 0.15–0.25 s more per job (measured with
    bench/load.py: a small list's review took 0.17–0.29 s in a child, 0.015–0.035 s
    in a warm process). Returns whether any job was worked.

    Raises
    ------
    RuntimeError
        When the app has no ``REDIS_URL`` (message in Spanish).
    """
    global _APP, _APP_PID
    rq_queue = queue(app)
    if rq_queue is None:
        msg = (
            "No hay cola de trabajos: defina REVINCULA_REDIS_URL (por ejemplo "
            "redis://127.0.0.1:6379/0) en la aplicación y en el trabajador."
        )
        raise RuntimeError(msg)
    from rq import SimpleWorker
    from rq import Worker

    _APP, _APP_PID = app, os.getpid()
    if fork:
        preload(app)
    kind = Worker if fork else SimpleWorker
    return kind([rq_queue], connection=rq_queue.connection).work(burst=burst)
