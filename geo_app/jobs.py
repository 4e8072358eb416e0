"""Background jobs: long work runs outside the request that asked for it.

A job is a plain function that opens its own database sessions and writes its
progress and its failure where the pages can read them (a plan's job state,
for instance); the request only starts it and answers with a page that polls.

Two runners, chosen by configuration:

* without ``REDIS_URL`` (a laptop, the demo): the job runs in a daemon thread of
  the web process (`start`, `submit`);
* with ``REDIS_URL`` (a team's server): `submit` puts the job on an RQ queue in
  Redis and a separate worker process (``revincula worker``) runs it, so no web
  worker is held and a restart of the web server loses nothing. A job submitted
  this way is named by its import path (``"package.module:function"``) and takes
  the app and plain, picklable arguments (ids, text); the worker
  (`geo_app.worker`) builds its own app from the same configuration.

`start` keeps the older form (any callable, any arguments, always a thread) for
jobs that have not moved to `submit` yet.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

from flask import Flask

__all__ = ["RUNNER", "join_all", "queue", "resolve", "start", "submit"]

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 3600  # a week's plan with many gestores stays well under an hour
RUNNER = "geo_app.worker.run_job"  # what an RQ worker calls (named, so no import cycle)


_THREADS: list[threading.Thread] = []  # jobs started in this process (see `join_all`)


def join_all(timeout: float = 120.0) -> None:
    """Wait for the jobs started in this process's threads (before closing its database)."""
    for thread in list(_THREADS):
        thread.join(timeout)
    _THREADS[:] = [t for t in _THREADS if t.is_alive()]


def start(name: str, job: Callable[..., object], *args: object) -> threading.Thread:
    """Run ``job(*args)`` in a background thread named `name`; return the thread.

    The job must record its own failures for the user; anything that still
    escapes is logged here with the job's name (ids only, no data).
    """

    def run() -> None:
        try:
            job(*args)
        except Exception:
            log.exception("background job %s failed", name)

    thread = threading.Thread(target=run, name=name, daemon=True)
    _THREADS[:] = [t for t in _THREADS if t.is_alive()] + [thread]
    thread.start()
    log.info("background job %s started", name)
    return thread


def resolve(target: str) -> Callable[..., object]:
    """Return the function named ``"package.module:function"``."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def queue(app: Flask):
    """Return the app's RQ queue, or ``None`` when no ``REDIS_URL`` is configured."""
    url = app.config.get("REDIS_URL", "")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    return Queue(app.config.get("JOB_QUEUE", "revincula"), connection=Redis.from_url(url))


def submit(app: Flask, name: str, target: str, *args: object):
    """Run the job `target` (``"module:function"``, called as ``function(app, *args)``).

    On RQ when the app has ``REDIS_URL`` (returns the RQ job, whose id is `name`
    made unique by RQ), else in a thread of this process (returns the thread).
    `args` must be plain values: ids and text, never sessions or models.

    Raises
    ------
    ValueError
        When `target` cannot be imported (a programming error, found at once).
    """
    resolve(target)  # fail now, not in the worker
    rq_queue = queue(app)
    if rq_queue is None:
        return start(name, resolve(target), app, *args)
    job = rq_queue.enqueue(
        RUNNER, target, *args, job_timeout=JOB_TIMEOUT_S, description=name, failure_ttl=7 * 86400
    )
    log.info("job %s queued on RQ as %s", name, job.id)
    return job
