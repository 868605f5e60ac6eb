"""The Celery application, configured from settings.

The API builds one with ``make_celery(settings)`` only to send tasks by name;
the worker process (``tidelens.jobs.worker``) builds one and registers tasks.
"""

from __future__ import annotations

from celery import Celery

from tidelens.settings import Settings

TASK_ANALYZE = "tidelens.analyze_checkpoint"
TASK_HEATMAPS = "tidelens.compute_heatmaps"
TASK_IMPORT = "tidelens.import_detections"
TASK_SCAN = "tidelens.scan_watched_folders"


def make_celery(settings: Settings) -> Celery:
    app = Celery("tidelens")
    conf = {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend or None,
        "task_ignore_result": True,
        # Job state lives in the database; a task message is only acknowledged
        # when the task returns, so a worker that dies mid-job gives the message
        # back and the job runs again from the start (writes are idempotent).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": "tidelens",
        "beat_schedule": {
            "scan-watched-folders": {
                "task": TASK_SCAN,
                "schedule": settings.watch_interval_seconds,
                "options": {"expires": settings.watch_interval_seconds * 2},
            }
        },
    }
    if settings.broker_url.startswith("filesystem"):
        conf["broker_transport_options"] = settings.filesystem_broker_options()
    app.conf.update(conf)
    return app
