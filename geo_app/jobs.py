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

Jobs with a row in the ``jobs`` table (`JobRow`: imports, PDF reports) go through
`ensure` and `run_tracked`: the row holds the input, the state, the rows done of
the total, the Spanish reason of a failure and the result, so a page polls it and
a web restart loses nothing. `ensure` is idempotent per key (asking twice for the
same work finds the same row) and retries a failed or interrupted job; a run
claims its row atomically, so a job delivered twice runs once.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import fcntl
import functools
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from flask import Flask
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_app.store.models import JobRow
from geo_app.store.models import utcnow

__all__ = [
    "RUNNER",
    "JobError",
    "JobRun",
    "ensure",
    "job_state",
    "join_all",
    "owner_scope",
    "progress",
    "queue",
    "resolve",
    "revive",
    "run_tracked",
    "start",
    "submit",
    "sweep",
    "wait",
]

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


def _real(app: Flask) -> Flask:
    """Return the app itself, not Flask's `current_app` proxy (a thread outlives the request)."""
    getter = getattr(app, "_get_current_object", None)
    return getter() if getter is not None else app


def resolve(target: str) -> Callable[..., object]:
    """Return the function named ``"package.module:function"``."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def queue(app: Flask):
    """Return the app's RQ queue, or ``None`` when no ``REDIS_URL`` is configured.

    One Redis client (and its connection pool) per app and URL, kept in
    ``app.extensions``: every progress poll asks for the queue, and a new client
    each time opened a new connection each time.
    """
    url = app.config.get("REDIS_URL", "")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    clients = app.extensions.setdefault("revincula.redis", {})
    if url not in clients:
        clients[url] = Redis.from_url(url)
    return Queue(app.config.get("JOB_QUEUE", "revincula"), connection=clients[url])


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
    app = _real(app)
    rq_queue = queue(app)
    if rq_queue is None:
        return start(name, resolve(target), app, *args)
    job = rq_queue.enqueue(
        RUNNER, target, *args, job_timeout=JOB_TIMEOUT_S, description=name, failure_ttl=7 * 86400
    )
    log.info("job %s queued on RQ as %s", name, job.id)
    return job


# --------------------------------------------------------------------------- tracked jobs

WAITING = ("en_cola", "en_curso")
ENDED = ("listo", "fallido")
# A job still "en curso" after this long without news is taken as interrupted (its thread
# died with a web restart, or RQ stopped it at JOB_TIMEOUT_S): it may be retried.
STALE_S = JOB_TIMEOUT_S
INTERRUPTED = (
    "El trabajo se interrumpió (¿se reinició el servidor o el trabajador?) y no guardó nada. "
    "Pulse «Reintentar»."
)
NO_ACCOUNT = "La cuenta que pidió este trabajo ya no está activa: no se hizo nada."
UNEXPECTED = (
    "Falló por un error interno ({}); no se guardó nada. Pulse «Reintentar»; si vuelve a fallar, "
    "avise al administrador con la hora."
)


class JobError(Exception):
    """A job failed for a reason the user can act on; the message (Spanish) is shown as is."""


@dataclass
class JobRun:
    """One run of a tracked job, handed to its work function.

    `params` is the input stored with the row; `progress` records rows done of the
    total (and a Spanish phase); `finish` marks the row done in the caller's
    transaction (so the work and its «listo» commit together).
    """

    app: Flask
    job_id: int
    attempt: int
    owner: str
    params: dict = field(default_factory=dict)
    finished: bool = False

    def _mine(self, query):
        return query.where(JobRow.id == self.job_id, JobRow.attempt == self.attempt)

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record `done` of `total` (rows) and the phase, in a transaction of its own."""
        values = {"done": int(done), "total": int(total), "updated_at": utcnow()}
        if message:
            values["message"] = message[:300]
        with self.app.extensions["revincula.db"]() as session, session.begin():
            session.execute(self._mine(update(JobRow)).values(**values))

    def finish(
        self, session: Session, result: dict, output: bytes | None = None, message: str = "Listo"
    ) -> None:
        """Mark the job done with its `result` in `session`'s transaction.

        Raises
        ------
        JobError
            The row is no longer this run's (retried or finished meanwhile): the caller's
            transaction must roll back so the work is not stored twice.
        """
        done = self._mine(update(JobRow)).where(JobRow.state == "en_curso")
        n = session.execute(
            done.values(
                state="listo",
                result=result,
                output=output,
                message=message[:300],
                done=JobRow.total,
                updated_at=utcnow(),
            )
        ).rowcount
        if n != 1:
            msg = "Este trabajo ya se hizo o se reinició; no se guardó de nuevo."
            raise JobError(msg)
        self.finished = True


_CURRENT: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar("job", default=None)


def progress(done: int, total: int, message: str = "") -> None:
    """Record progress of the tracked job running in this context (no-op outside one).

    Code deep in a job (an import's store loop) may call it every few thousand rows,
    even inside its own write transaction: the row is written in another one. On SQLite
    nothing is recorded (that transaction holds the database's only write lock, so the
    write would wait for it); the page then shows the job's phase.
    """
    run = _CURRENT.get()
    if run is not None and run.app.extensions["revincula.engine"].dialect.name != "sqlite":
        run.progress(done, total, message)


def owner_scope(app: Flask, owner: str):
    """Return the `geo_app.scope.Scope` of the account `owner`, read when its job runs.

    Raises
    ------
    JobError
        The account no longer exists or was deactivated (nothing is done for it).
    """
    from geo_app.scope import Scope
    from geo_app.store.models import User

    with app.extensions["revincula.db"]() as session:
        user = session.scalar(select(User).where(User.username == owner))
        if user is None or not user.active:
            raise JobError(NO_ACCOUNT)
        # as geo_app.accounts.service.scope_of (the core never imports a job's package)
        return Scope(user.username, user.role, tuple(user.comuna_list), user.gestor_code)


def _now() -> dt.datetime:
    return utcnow()


def _is_stale(row: JobRow) -> bool:
    updated = row.updated_at
    if updated.tzinfo is None:  # SQLite returns naive UTC
        updated = updated.replace(tzinfo=dt.UTC)
    return (_now() - updated).total_seconds() > STALE_S


@functools.cache
def _database_tag(url: str) -> str:
    """Return a short name of a database URL: two databases never share a lock or key."""
    return hashlib.sha1(url.encode()).hexdigest()[:12]


def _lock_path(app: Flask, job_id: int, *, create: bool = False) -> Path:
    """Return the lock file of job `job_id` (a folder per database; made when `create`)."""
    folder = Path(app.instance_path, "trabajos-en-curso", _database_tag(app.config["DATABASE_URL"]))
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{int(job_id)}.lock"


ALIVE_TTL_S = 30  # with RQ, a running job's key in Redis lives this long unless refreshed


def _alive_key(app: Flask, job_id: int) -> str:
    return f"revincula:trabajo-en-curso:{_database_tag(app.config['DATABASE_URL'])}:{int(job_id)}"


@contextlib.contextmanager
def _running_here(app: Flask, job_id: int):
    """Show that job `job_id` is running in this process, for as long as it runs.

    Without a queue: an exclusive lock on the job's lock file, which the operating system
    releases when the process dies (a restart, ``kill -9``). With RQ: a key in Redis that
    a heartbeat thread renews every `ALIVE_TTL_S` / 3 s; it expires `ALIVE_TTL_S` after
    the worker dies. `_runner_gone` reads either.
    """
    rq_queue = queue(app)
    if rq_queue is None:
        path = _lock_path(app, job_id, create=True)
        with path.open("a+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # waits only while a check holds it briefly
            try:
                yield
            finally:
                path.unlink(missing_ok=True)  # the row already says how the job ended
                fcntl.flock(file, fcntl.LOCK_UN)
        return
    redis, key, stop = rq_queue.connection, _alive_key(app, job_id), threading.Event()
    redis.set(key, "1", ex=ALIVE_TTL_S)

    def beat() -> None:
        while not stop.wait(ALIVE_TTL_S / 3):
            with contextlib.suppress(Exception):  # a missed beat: the next one renews it
                redis.set(key, "1", ex=ALIVE_TTL_S)

    heart = threading.Thread(target=beat, name=f"latido-{job_id}", daemon=True)
    heart.start()
    try:
        yield
    finally:
        stop.set()
        heart.join()
        redis.delete(key)


def _runner_gone(app: Flask, row: JobRow) -> bool:
    """Whether the runner of the ``en_curso`` job `row` is gone (its process died).

    Reads what `_running_here` keeps: nobody holds the job's lock file (no queue), or
    its key expired in Redis (RQ).
    """
    if row.state != "en_curso":
        return False
    rq_queue = queue(app)
    if rq_queue is not None:
        return not rq_queue.connection.exists(_alive_key(app, row.id))
    path = _lock_path(app, row.id)
    if not path.exists():  # never locked here, or its runner ended (the row is then updated)
        return True
    with path.open("rb") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its runner holds it
        fcntl.flock(file, fcntl.LOCK_UN)
        return True


def job_state(row: JobRow, app: Flask | None = None) -> dict:
    """Return the state a page shows: ``estado``, ``hechas``, ``total``, ``mensaje``, ``error``.

    A waiting job with no news for `STALE_S`, or (given the `app`) a job ``en_curso``
    whose runner is gone (`_runner_gone`), is shown ``fallido`` (interrupted): it may
    be retried.
    """
    state, error = row.state, row.error
    if state in WAITING and (_is_stale(row) or (app is not None and _runner_gone(app, row))):
        state, error = "fallido", INTERRUPTED
    return {"estado": state, "hechas": row.done, "total": row.total, "mensaje": row.message,
            "error": error, "intento": row.attempt}  # fmt: skip


def ensure(
    app: Flask,
    kind: str,
    key: str,
    target: str,
    *,
    owner: str,
    params: dict,
    retry: bool = False,
):
    """Find or create the job `key` and run it when it is new (or retried); return (id, handle).

    The job named `target` (``"module:function"``) is called as
    ``function(app, job_id, attempt)`` by `submit` and should call `run_tracked`.
    An existing job is left alone (idempotent), except with `retry` when it failed or
    was interrupted: then its input becomes `params`, its attempt grows and it runs
    again. `handle` is the thread or RQ job, or None when nothing was started.
    """
    sessions = app.extensions["revincula.db"]
    fresh = {
        "state": "en_cola",
        "params": params,
        "error": "",
        "done": 0,
        "total": 0,
        "result": None,
        "output": None,
        "message": "En cola",
        "updated_at": utcnow(),
    }
    try:
        with sessions() as session, session.begin():
            row = session.scalar(select(JobRow).where(JobRow.key == key))
            if row is None:
                row = JobRow(kind=kind, key=key, owner=owner, attempt=1, created_at=utcnow(),
                             **fresh)  # fmt: skip
                session.add(row)
                session.flush()
                job_id, attempt = row.id, 1
            elif retry and job_state(row, app)["estado"] == "fallido":
                job_id, attempt = row.id, row.attempt + 1
                claimed = session.execute(
                    update(JobRow)
                    .where(JobRow.id == row.id, JobRow.attempt == row.attempt)
                    .values(attempt=attempt, **fresh)
                ).rowcount
                if claimed != 1:  # another request retried it first
                    return row.id, None
            else:
                return row.id, None
    except IntegrityError:  # another request created it at the same moment
        with sessions() as session:
            return session.scalar(select(JobRow.id).where(JobRow.key == key)), None
    return job_id, submit(app, f"{kind}-{job_id}", target, job_id, attempt)


def run_tracked(app: Flask, job_id: int, attempt: int, work: Callable[[JobRun], dict | None]):
    """Run `work` for one attempt of a tracked job, once; record its end on the row.

    The row is claimed (``en_cola`` → ``en_curso``) atomically: a job delivered twice,
    or an attempt superseded by a retry, does nothing. `work` returns the result (a
    JSON dict) unless it called `JobRun.finish` itself. A `JobError` becomes the row's
    Spanish reason; any other exception a generic one (logged with the job's id only).
    """
    with _running_here(app, job_id):
        _run_tracked(app, job_id, attempt, work)


def _run_tracked(app: Flask, job_id: int, attempt: int, work) -> None:
    sessions = app.extensions["revincula.db"]
    with sessions() as session, session.begin():
        row = session.get(JobRow, job_id)
        if row is None or row.attempt != attempt:
            return
        claimed = session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.attempt == attempt, JobRow.state == "en_cola")
            .values(state="en_curso", message="En curso", updated_at=utcnow())
        ).rowcount
        if claimed != 1:
            return
        run = JobRun(app, job_id, attempt, row.owner, dict(row.params or {}))
    token = _CURRENT.set(run)
    try:
        result = work(run)
        if not run.finished:
            with sessions() as session, session.begin():
                run.finish(session, result or {})
    except JobError as err:
        _fail(run, str(err))
    except Exception as err:  # no traceback: database errors quote the rows' values
        log.error("job %s (attempt %s) failed: %s", job_id, attempt, type(err).__name__)
        _fail(run, UNEXPECTED.format(type(err).__name__))
    finally:
        _CURRENT.reset(token)


def _fail(run: JobRun, reason: str) -> None:
    with run.app.extensions["revincula.db"]() as session, session.begin():
        session.execute(
            run._mine(update(JobRow))
            .where(JobRow.state == "en_curso")
            .values(state="fallido", error=reason, message="Falló", updated_at=utcnow())
        )


def wait(app: Flask, job_id: int, handle, seconds: float | None = None) -> dict:
    """Wait up to `seconds` (default ``JOB_WAIT_S``) for a job to end; return `job_state`.

    A request that started a small job answers with its result at once; a longer one
    answers with the page that polls. A thread is joined; an RQ job is polled in the
    database every 50 ms.
    """
    seconds = float(app.config.get("JOB_WAIT_S", 1.0) if seconds is None else seconds)
    deadline = time.monotonic() + seconds
    if isinstance(handle, threading.Thread):
        handle.join(seconds)
    sessions = app.extensions["revincula.db"]
    while True:
        with sessions() as session:
            state = job_state(session.get(JobRow, job_id), app)
        if state["estado"] in ENDED or time.monotonic() >= deadline:
            return state
        time.sleep(0.05)


def sweep(app: Flask, kinds: tuple[str, ...], max_age_s: float) -> int:
    """Delete the jobs of `kinds` with no news for `max_age_s` (their results and files).

    For jobs whose result holds personal data (an import's review echoes the file's
    cells) or a file nobody fetched; returns how many rows were deleted.
    """
    cutoff = _now() - dt.timedelta(seconds=max_age_s)
    with _real(app).extensions["revincula.db"]() as session, session.begin():
        gone = session.execute(
            delete(JobRow).where(JobRow.kind.in_(kinds), JobRow.updated_at < cutoff)
        )
        return gone.rowcount


def revive(app: Flask, job_id: int, targets: dict[str, str], after_s: float = 10.0) -> bool:
    """Without a queue, start again a job left ``en_cola`` for `after_s` (its thread died).

    A thread claims its row within milliseconds, so a job still queued after `after_s`
    in a web process without Redis lost its thread in a restart: the page that polls it
    calls this, and the job runs in this process (the claim in `run_tracked` keeps two
    processes from both running it). `targets` maps a job kind to its
    ``"module:function"``. Returns whether it was started. With RQ, Redis keeps it.
    """
    app = _real(app)
    if queue(app) is not None:
        return False
    with app.extensions["revincula.db"]() as session:
        row = session.get(JobRow, job_id)
        if row is None or row.state != "en_cola" or row.kind not in targets:
            return False
        updated = row.updated_at.replace(tzinfo=row.updated_at.tzinfo or dt.UTC)
        if (_now() - updated).total_seconds() < after_s:
            return False
        kind, attempt = row.kind, row.attempt
    start(f"{kind}-{job_id}", resolve(targets[kind]), app, job_id, attempt)
    return True
