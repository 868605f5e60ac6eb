"""Request dependencies: settings, a database session, storage, the queue, auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from annotated_types import Interval
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tidelens.api.errors import Forbidden, Unauthorized
from tidelens.jobs.dispatch import Dispatcher
from tidelens.settings import Settings
from tidelens.store.db import session_scope
from tidelens.store.objects import ObjectStore


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_objects(request: Request) -> ObjectStore:
    return request.app.state.objects


def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.settings.database_url) as session:
        yield session


def require_token(request: Request) -> None:
    """Writes need ``Authorization: Bearer <token>``: 401 without, 403 wrong."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "this action needs the API token: send 'Authorization: Bearer <token>'"
        )
    expected = request.app.state.settings.api_token or ""
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Forbidden("the API token is not valid for this server")


# Ids and epochs are INTEGER columns (32-bit on Postgres); a larger number in a
# URL, form or body is refused as a validation error instead of reaching SQL.
DB_INT_MAX = 2**31 - 1
DbInt = Annotated[int, Interval(ge=-DB_INT_MAX - 1, le=DB_INT_MAX)]

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ObjectsDep = Annotated[ObjectStore, Depends(get_objects)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
WriteAuth = [Depends(require_token)]
