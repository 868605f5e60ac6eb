"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tidelens import __version__
from tidelens.api import (
    datasets,
    errors,
    health,
    heatmaps,
    jobs,
    objects,
    results,
    runs,
    web,
)
from tidelens.jobs.dispatch import Dispatcher
from tidelens.settings import Settings, get_settings
from tidelens.store.db import migrate
from tidelens.store.objects import make_object_store

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    run_migrations: bool = True,
    web_dir: Path | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    if run_migrations:
        migrate(settings.database_url)
    app = FastAPI(
        title="TideLens",
        version=__version__,
        description="TIDE error evolution and layer-wise heatmaps across checkpoints. "
        "Reads are open; writes need `Authorization: Bearer <token>`.",
    )
    app.state.settings = settings
    app.state.objects = make_object_store(settings)
    if settings.storage == "s3":
        try:
            app.state.objects.ensure_bucket()
        except Exception:
            log.warning("api.bucket_unavailable bucket=%s", settings.s3_bucket)
    app.state.dispatcher = Dispatcher(settings)
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    api = APIRouter(prefix="/api")
    for module in (health, datasets, runs, results, heatmaps, jobs, objects):
        api.include_router(module.router)
    app.include_router(api)
    web.mount(app, web_dir or web.WEB_DIR)
    return app
