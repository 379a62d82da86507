"""``GET /health``: liveness, with a database round trip and the schema checked; ``GET /ready``:
readiness, whether this process can take writes now."""

from __future__ import annotations

import functools

import anyio.to_thread
import sqlalchemy.exc
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from service.api.lifecycle import RETRY_AFTER_SECONDS, Lifecycle
from service.api.openapi import answers
from service.api.problems import problem
from service.api.views import HealthView, ReadyView
from service.storage.database import head_revision, schema_problem
from service.storage.log import EventStore

_newest_revision = functools.cache(head_revision)  # the code's own: read from the migrations once


def _check(store: EventStore) -> tuple[int, str | None]:
    return store.head(), schema_problem(store.db, _newest_revision())


@get(
    "/health",
    tags=["operations"],
    summary="Liveness, with a database check and the schema's revision",
    responses={
        **answers(405),
        503: ResponseSpec(
            HealthView, description="the database does not answer, or its schema is not current"
        ),
    },
)
async def health(store: NamedDependency[EventStore]) -> Response[HealthView]:
    try:
        head, schema = await anyio.to_thread.run_sync(_check, store)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return Response(
            HealthView("unavailable", f"error: {type(exc).__name__}", None, "unknown"), status_code=503
        )
    if schema is not None:
        return Response(HealthView("unavailable", "ok", head, schema), status_code=503)
    return Response(HealthView("ok", "ok", head))


@get(
    "/ready",
    tags=["operations"],
    summary="Readiness: this process takes writes (a 503 problem while it cannot, or shuts down)",
    responses=answers(405, 503),
)
async def ready(request: Request, store: NamedDependency[EventStore]) -> Response[ReadyView]:
    lifecycle: Lifecycle = request.app.state.lifecycle
    try:
        head, schema = await anyio.to_thread.run_sync(_check, store)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        why: str | None = f"the database does not answer: {type(exc).__name__}"
    else:
        why = f"the database's schema is {schema}" if schema else await lifecycle.unready()
    if why is not None:
        refusal = problem(503, "Not ready", why)
        refusal.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        raise refusal
    return Response(ReadyView("ready", head))
