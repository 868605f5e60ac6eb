"""Liveness, readiness and what the web app needs to know about the server."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import text

from tidelens.api.errors import envelope
from tidelens.store.db import session_scope

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

METHODS = ["gradcam", "gradcampp", "layercam", "scorecam", "eigencam"]


@router.get("/health")
def health() -> dict:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "a dependency is down"}})
def ready(request: Request):
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        with session_scope(state.settings.database_url) as s:
            s.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable ({type(exc).__name__})"
    try:
        state.objects.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"unavailable ({type(exc).__name__})"
    try:
        state.dispatcher.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"unavailable ({type(exc).__name__})"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ready", "checks": checks}
    log.warning("api.not_ready checks=%s", checks)
    return envelope(
        503, "not_ready", "a service TideLens needs is unavailable", {"checks": checks}
    )


@router.get("/config")
def config(request: Request) -> dict:
    try:
        from tidelens.engine.models import list_architectures

        archs = [
            {"name": a.name, "description": a.description, "layers": list(a.layers)}
            for a in list_architectures()
        ]
    except ImportError:
        archs = []
    return {
        "auth_required": True,
        "mode": request.app.state.settings.mode,
        "architectures": archs,
        "methods": METHODS,
    }
