"""Job rows: state, stage, progress (done of total), timings and a readable error.

States: queued -> running -> succeeded | failed | cancelled. A job is only
``succeeded`` once everything it wrote was committed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tidelens.store.models import Job, utcnow

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")


def create(session: Session, kind: str, params: dict | None = None, **fields) -> Job:
    job = Job(kind=kind, state="queued", timings={}, params=params or {}, **fields)
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def list_jobs(
    session: Session,
    run_id: int | None = None,
    state: str | None = None,
    limit: int = 200,
) -> list[Job]:
    query = select(Job)
    if run_id is not None:
        query = query.where(Job.run_id == run_id)
    if state is not None:
        query = query.where(Job.state == state)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def active_for_checkpoint(
    session: Session, checkpoint_id: int, kind: str
) -> Job | None:
    return session.scalar(
        select(Job)
        .where(
            Job.checkpoint_id == checkpoint_id,
            Job.kind == kind,
            Job.state.in_(ACTIVE),
        )
        .order_by(Job.id.desc())
    )


def latest_for_checkpoint(
    session: Session, checkpoint_id: int, kind: str
) -> Job | None:
    return session.scalar(
        select(Job)
        .where(Job.checkpoint_id == checkpoint_id, Job.kind == kind)
        .order_by(Job.id.desc())
    )


def mark_running(session: Session, job: Job) -> None:
    job.state = "running"
    job.started_at = utcnow()
    job.finished_at = None
    job.error = None
    job.done = 0
    job.total = 0
    job.attempts = (job.attempts or 0) + 1
    job.timings = {}
    session.flush()


def set_progress(
    session: Session, job_id: int, stage: str, done: int, total: int
) -> bool:
    """Update progress unless the job was cancelled; return False if cancelled."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running")
        .values(stage=stage, done=done, total=total)
    )
    return result.rowcount > 0


def finish(
    session: Session,
    job: Job,
    state: str,
    error: str | None = None,
    timings: dict | None = None,
) -> None:
    job.state = state
    job.error = error
    job.finished_at = utcnow()
    if timings is not None:
        job.timings = dict(timings)
    session.flush()


def is_cancelled(session: Session, job_id: int) -> bool:
    return session.scalar(select(Job.state).where(Job.id == job_id)) == "cancelled"


def reset_for_retry(session: Session, job: Job) -> None:
    job.state = "queued"
    job.stage = None
    job.error = None
    job.done = 0
    job.total = 0
    job.started_at = None
    job.finished_at = None
    job.timings = {}  # the last attempt's timings would read as this one's
    session.flush()
