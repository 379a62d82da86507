"""``GET /health``: liveness, with a database round trip."""

from __future__ import annotations

import anyio.to_thread
import sqlalchemy.exc
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from service.api.openapi import answers
from service.api.views import HealthView
from service.storage.log import EventStore


@get(
    "/health",
    tags=["operations"],
    summary="Liveness, with a database check",
    responses={**answers(405), 503: ResponseSpec(HealthView, description="the database does not answer")},
)
async def health(store: NamedDependency[EventStore]) -> Response[HealthView]:
    try:
        head = await anyio.to_thread.run_sync(store.head)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return Response(HealthView("unavailable", f"error: {type(exc).__name__}", None), status_code=503)
    return Response(HealthView("ok", "ok", head))
