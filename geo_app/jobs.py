"""Background jobs: long work runs outside the request that asked for it.

A job is a plain function that opens its own database sessions and writes its
progress and its failure where the pages can read them (a plan's job state,
for instance); the request only starts it and answers with a page that polls.
Weekly plans run this way today; network builds, coverage and large imports
are meant to reuse it.

This runner starts the job in a daemon thread of the current process, which
suits one server process and the demo. Because a job takes only plain
arguments and keeps its state in the database, an RQ worker on Redis
(``REDIS_URL``) can later run the same functions unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["start"]

log = logging.getLogger(__name__)


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
    thread.start()
    log.info("background job %s started", name)
    return thread
