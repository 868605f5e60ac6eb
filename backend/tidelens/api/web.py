"""The built web app (backend/tidelens/web) at ``/`` with a single-page-app
fallback: any non-API path that is not a file gets index.html."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from tidelens.api.errors import NotFound

WEB_DIR = Path(__file__).resolve().parents[1] / "web"

_NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>TideLens</title></head><body>
<h1>TideLens</h1><p>The web app is not built. Run <code>scripts/setup.sh</code>,
or use the API: <a href="/docs">/docs</a>.</p></body></html>"""


def mount(app: FastAPI, web_dir: Path = WEB_DIR) -> None:
    root = web_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str):
        if path == "api" or path.startswith("api/"):
            raise NotFound("no such endpoint")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT)
        candidate = (root / path).resolve()
        if path and candidate.is_relative_to(root) and candidate.is_file():
            cache = (
                "public, max-age=31536000, immutable"
                if path.startswith("assets/")
                else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
