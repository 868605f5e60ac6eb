"""One error envelope for every non-2xx response:
``{"error": {"code": "snake_case", "message": "...", "details": {...}}}``.

Messages say what is wrong and what to do; they never carry stack traces or
server paths (unexpected errors are logged and answered with a generic 500).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Invalid(ApiError):
    status, code = 422, "invalid"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class Unauthorized(ApiError):
    status, code = 401, "auth_required"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict = {}


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ERROR_RESPONSES = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 413, 422)
}

_HTTP_CODES = {
    400: "bad_request",
    401: "auth_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported",
}


def envelope(
    status: int,
    code: str,
    message: str,
    details: dict | None = None,
    headers: dict | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
        headers=headers,
    )


def _clean_loc(loc) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path"))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return envelope(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        fields = [
            {"field": _clean_loc(e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        text = "; ".join(f"{f['field'] or 'request'}: {f['message']}" for f in fields)
        return envelope(
            422, "validation_error", f"invalid request: {text}", {"fields": fields}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        status = exc.status_code
        # Only the web app's GET fallback matched this path: it is no endpoint.
        if status == 405 and not _is_api_path(request):
            status = 404
        code = _HTTP_CODES.get(status, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if status == 404:
            message = "no such endpoint or resource"
        elif status == 405:
            message = (
                f"{request.method} is not allowed on {request.url.path}; "
                "see /docs for what each endpoint accepts"
            )
        return envelope(status, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("api.unexpected_error path=%s", request.url.path)
        return envelope(
            500,
            "internal_error",
            "the server failed to handle this request; see its log",
        )


def _is_api_path(request: Request) -> bool:
    """Whether a route other than the web app's fallback (any method) has this path."""
    for route in request.app.routes:
        if getattr(route, "name", None) == "spa":
            continue
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            return True
    return False
