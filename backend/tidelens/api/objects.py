"""Objects of the local store, behind HMAC-signed expiring URLs."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from tidelens.api.errors import ERROR_RESPONSES, Forbidden, NotFound
from tidelens.store.objects import InvalidKey, LocalObjectStore, ObjectNotFound

router = APIRouter(prefix="/objects", tags=["objects"], responses=ERROR_RESPONSES)


@router.get("/{key:path}")
def get_object(
    key: str, request: Request, expires: int = Query(...), sig: str = Query(...)
):
    store = request.app.state.objects
    if not isinstance(store, LocalObjectStore):
        raise NotFound("objects are served by the S3 store")
    try:
        valid = store.verify(key, expires, sig)
        if not valid:
            raise Forbidden(
                "this link is invalid or has expired; reload the page",
                code="bad_signature",
            )
        path = store.local_path(key)
    except (InvalidKey, ObjectNotFound):
        raise NotFound("no such object") from None
    media = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": "private, max-age=3600, immutable"},
    )
