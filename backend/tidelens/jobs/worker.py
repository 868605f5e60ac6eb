"""The worker process: ``celery -A tidelens.jobs.worker worker`` or
``tidelens worker``. Tasks take a job id and open their own sessions."""

from __future__ import annotations

import logging

from tidelens.jobs.analysis import analyze_job, import_job
from tidelens.jobs.app import (
    TASK_ANALYZE,
    TASK_HEATMAPS,
    TASK_IMPORT,
    TASK_SCAN,
    make_celery,
)
from tidelens.jobs.dispatch import Dispatcher
from tidelens.jobs.heatmaps import heatmaps_job
from tidelens.jobs.runner import run_job
from tidelens.jobs.watch import scan_all
from tidelens.settings import get_settings

log = logging.getLogger(__name__)

settings = get_settings()
celery_app = make_celery(settings)
app = celery_app


@celery_app.task(name=TASK_ANALYZE)
def analyze_checkpoint(job_id: int) -> str:
    return run_job(settings, job_id, analyze_job)


@celery_app.task(name=TASK_HEATMAPS)
def compute_heatmaps(job_id: int) -> str:
    return run_job(settings, job_id, heatmaps_job)


@celery_app.task(name=TASK_IMPORT)
def import_detections(job_id: int) -> str:
    return run_job(settings, job_id, import_job)


@celery_app.task(name=TASK_SCAN, acks_late=False)
def scan_watched_folders() -> int:
    return scan_all(settings, Dispatcher(settings))
