"""The life cycle every job shares: running -> succeeded | failed | cancelled.

Each step opens its own short transaction so progress is visible while the job
runs. A failure is stored as a readable message (no traceback; that goes to
the worker log).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager

from tidelens.settings import Settings
from tidelens.store import jobs as job_repo
from tidelens.store.db import session_scope

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job when its row was set to cancelled."""


class JobFailed(Exception):
    """A failure with a message meant for the user."""


# Errors whose message is written for users (the engine's readable errors).
USER_ERRORS: tuple[type[BaseException], ...] = (
    JobFailed,
    ValueError,
    OSError,
    KeyError,
)


class JobContext:
    """What a job body gets: settings, its id, progress reporting and timings."""

    def __init__(self, settings: Settings, job_id: int):
        self.settings = settings
        self.job_id = job_id
        self.timings: dict[str, float] = {}
        self._last_check = 0.0
        self._cancelled = False

    def session(self):
        return session_scope(self.settings.database_url)

    def progress(self, stage: str, done: int, total: int, force: bool = False) -> None:
        """Record progress (at most ~4 writes a second); raise if cancelled."""
        now = time.monotonic()
        if not force and now - self._last_check < 0.25 and done < total:
            return
        self._last_check = now
        with self.session() as s:
            if not job_repo.set_progress(s, self.job_id, stage, done, total):
                self._cancelled = True
        if self._cancelled:
            raise JobCancelled()

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_check >= 0.5:
            self._last_check = now
            with self.session() as s:
                self._cancelled = job_repo.is_cancelled(s, self.job_id)
        return self._cancelled

    @contextmanager
    def stage(self, name: str, total: int = 0):
        self.progress(name, 0, total, force=True)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)


def run_job(settings: Settings, job_id: int, body: Callable[[JobContext], None]) -> str:
    """Run body for the job row; return the final state."""
    with session_scope(settings.database_url) as s:
        job = job_repo.get(s, job_id)
        if job is None:
            log.warning("job.missing id=%s", job_id)
            return "missing"
        if job.state in ("cancelled", "succeeded"):
            log.info("job.skipped id=%s state=%s", job_id, job.state)
            return job.state
        job_repo.mark_running(s, job)
        kind = job.kind
    log.info("job.started id=%s kind=%s", job_id, kind)
    ctx = JobContext(settings, job_id)
    start = time.perf_counter()
    state, error = "succeeded", None
    try:
        body(ctx)
    except JobCancelled:
        state = "cancelled"
    except USER_ERRORS as exc:
        state, error = "failed", _message(exc)
        log.warning("job.failed id=%s error=%s", job_id, error, exc_info=True)
    except Exception as exc:
        state = "failed"
        error = f"internal error ({type(exc).__name__}); see the worker log"
        log.exception("job.crashed id=%s", job_id)
    ctx.timings["total"] = round(time.perf_counter() - start, 3)
    with session_scope(settings.database_url) as s:
        job = job_repo.get(s, job_id)
        if job is not None:
            if job.state == "cancelled":
                state = "cancelled"
            job_repo.finish(s, job, state, error, ctx.timings)
    log.info("job.finished id=%s state=%s timings=%s", job_id, state, ctx.timings)
    return state


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__
