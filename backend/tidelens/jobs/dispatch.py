"""Queueing jobs: a job row is committed first, then its task is sent, so a
worker never receives an id it cannot read."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from tidelens.jobs.app import TASK_ANALYZE, TASK_HEATMAPS, TASK_IMPORT, make_celery
from tidelens.settings import Settings
from tidelens.store import jobs as job_repo
from tidelens.store import runs as run_repo
from tidelens.store.db import session_scope
from tidelens.store.objects import ObjectStore

log = logging.getLogger(__name__)

TASKS = {"analyze": TASK_ANALYZE, "heatmaps": TASK_HEATMAPS, "import": TASK_IMPORT}


class Dispatcher:
    """Sends job tasks by name through a Celery app built from settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._app = None

    @property
    def app(self):
        if self._app is None:
            self._app = make_celery(self.settings)
        return self._app

    def send(self, job_id: int, kind: str) -> str:
        result = self.app.send_task(TASKS[kind], args=[job_id])
        with session_scope(self.settings.database_url) as s:
            job = job_repo.get(s, job_id)
            if job is not None:
                job.task_id = result.id
        log.info("job.queued id=%s kind=%s task=%s", job_id, kind, result.id)
        return result.id

    def revoke(self, task_id: str) -> None:
        try:
            self.app.control.revoke(task_id)
        except Exception:  # the row state already stops the job; revoke is a bonus
            log.warning("job.revoke_failed task=%s", task_id, exc_info=True)

    def ping(self) -> None:
        """Raise if the broker cannot be reached."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class EpochConflict(ValueError):
    """Another checkpoint already holds that epoch of the run."""


def register_checkpoint(
    settings: Settings,
    objects: ObjectStore,
    dispatcher: Dispatcher,
    run_id: int,
    path: Path,
    *,
    epoch: int | None,
    source: str,
    file_name: str,
    sha256: str | None = None,
    move: bool = False,
) -> tuple[int, int | None, bool]:
    """Store a checkpoint file for a run and queue its analysis.

    De-duplicates by sha256 within the run: an identical file returns the
    existing checkpoint (and re-queues analysis only if none succeeded or is
    active). Returns (checkpoint id, job id, created).
    """
    sha256 = sha256 or sha256_file(path)
    size = path.stat().st_size
    with session_scope(settings.database_url) as s:
        existing = run_repo.checkpoint_by_sha(s, run_id, sha256)
        if existing is not None:
            ckpt_id = existing.id
            job = job_repo.latest_for_checkpoint(s, ckpt_id, "analyze")
            if job is not None and job.state not in ("failed", "cancelled"):
                return ckpt_id, job.id, False
        else:
            if epoch is None:
                epoch = run_repo.next_epoch(s, run_id)
            if run_repo.checkpoint_by_epoch(s, run_id, epoch) is not None:
                raise EpochConflict(
                    f"epoch {epoch} of this run already has a different checkpoint; "
                    "delete it or use another epoch number"
                )
            key = f"checkpoints/{run_id}/{sha256}.pt"
            if move and hasattr(objects, "root"):
                dest = objects.root / key
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(path, dest)
                except OSError:
                    shutil.copyfile(path, dest)
            else:
                objects.put_file(key, path)
            ckpt = run_repo.add_checkpoint(
                s,
                run_id=run_id,
                epoch=epoch,
                source=source,
                sha256=sha256,
                size=size,
                object_key=key,
                file_name=file_name,
            )
            ckpt_id = ckpt.id
        ckpt = run_repo.get_checkpoint(s, ckpt_id)
        job = job_repo.create(
            s, "analyze", run_id=run_id, checkpoint_id=ckpt_id, epoch=ckpt.epoch
        )
        job_id = job.id
    dispatcher.send(job_id, "analyze")
    return ckpt_id, job_id, existing is None


def recover_interrupted(settings: Settings, dispatcher: Dispatcher) -> int:
    """Re-queue jobs a stopped worker left ``running`` and forget ``pending``
    heatmaps nobody is computing (the next request queues them again).

    Only for a single embedded worker started by this process: with several
    workers a running job may be alive elsewhere.
    """
    from sqlalchemy import delete, select

    from tidelens.store.models import Heatmap, Job

    with session_scope(settings.database_url) as s:
        stuck = list(s.scalars(select(Job).where(Job.state == "running")))
        for job in stuck:
            job_repo.reset_for_retry(s, job)
        s.execute(delete(Heatmap).where(Heatmap.status == "pending"))
        ids = [(j.id, j.kind) for j in stuck]
    for job_id, kind in ids:
        dispatcher.send(job_id, kind)
    if ids:
        log.info("jobs.recovered count=%s", len(ids))
    return len(ids)
