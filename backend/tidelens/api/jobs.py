"""Jobs: state and progress, cancel, retry."""

from __future__ import annotations

from fastapi import APIRouter, Query

from tidelens.api.deps import DbInt, DispatcherDep, SessionDep, WriteAuth
from tidelens.api.errors import ERROR_RESPONSES, Conflict, NotFound
from tidelens.api.views import job_view
from tidelens.store import jobs as job_repo
from tidelens.store.models import utcnow

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERROR_RESPONSES)


def get_job_or_404(session, job_id: int):
    job = job_repo.get(session, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


@router.get("")
def list_jobs(
    session: SessionDep,
    run_id: DbInt | None = None,
    state: str | None = Query(
        None, pattern="^(queued|running|succeeded|failed|cancelled)$"
    ),
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict]:
    """Newest first."""
    return [job_view(j) for j in job_repo.list_jobs(session, run_id, state, limit)]


@router.get("/{job_id}")
def get_job(job_id: DbInt, session: SessionDep) -> dict:
    return job_view(get_job_or_404(session, job_id))


@router.post("/{job_id}/cancel", dependencies=WriteAuth)
def cancel_job(job_id: DbInt, session: SessionDep, dispatcher: DispatcherDep) -> dict:
    """A queued job never starts; a running one stops at its next progress step
    and its partial results are discarded."""
    job = get_job_or_404(session, job_id)
    if job.state not in job_repo.ACTIVE:
        raise Conflict(
            f"job {job_id} is {job.state}; only queued or running jobs "
            "can be cancelled",
            code="job_not_active",
        )
    job.state = "cancelled"
    job.finished_at = utcnow()
    session.commit()
    if job.task_id:
        dispatcher.revoke(job.task_id)
    return job_view(job)


@router.post("/{job_id}/retry", dependencies=WriteAuth)
def retry_job(job_id: DbInt, session: SessionDep, dispatcher: DispatcherDep) -> dict:
    job = get_job_or_404(session, job_id)
    if job.state not in ("failed", "cancelled"):
        raise Conflict(
            f"job {job_id} is {job.state}; only failed or cancelled jobs "
            "can be retried",
            code="job_not_finished",
        )
    job_repo.reset_for_retry(session, job)
    session.commit()
    dispatcher.send(job.id, job.kind)
    session.refresh(job)
    return job_view(job)
