"""``POST /streams/{stream}/events``: append a batch of events atomically."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, post

from events.codec import decoder
from events.vocabulary import STREAM_PATTERN, AnyEvent, StreamName
from service.api.auth import require_write_token
from service.api.openapi import answers, path_id
from service.api.problems import decode_body, from_refusal, problem
from service.api.views import AppendView
from service.storage.committer import GroupCommitter
from service.storage.notify import LiveLog
from service.storage.refusals import AppendRefused

MAX_BATCH = 1000
# a body said to be JSON: application/json, or a JSON-based type (application/problem+json, ...). A body
# that names no type is read as JSON too; curl's -d without -H names a form, and gets a 415 saying so
_JSON_TYPE = re.compile(r"\s*application/([\w.-]+\+)?json\s*(;.*)?", re.IGNORECASE | re.DOTALL)


class AppendRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    events: Annotated[list[AnyEvent], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


_BATCH = decoder(AppendRequest)  # built once: decoders are per type, never per request


class AppendController(Controller):
    tags = ["append"]

    @post(
        "/streams/{stream:str}/events",
        summary="Append a batch of events to a stream",
        description='Body: `{"expected_version": N (optional), "events": [event, ...]}`. '
        "All events are stored or none; an id already stored with the same body returns its earlier result.",
        status_code=201,
        responses=answers(400, 401, 405, 409, 413, 415, 422, 503),
        security=[{"bearer": []}],
    )
    async def append(
        self,
        request: Request,
        stream: Annotated[
            str, path_id(STREAM_PATTERN, "a stream name", "one that does not match is a 422 problem")
        ],
    ) -> Response[AppendView]:
        # The committer and the live log come from the app's state, not as dependencies: Litestar
        # resolves several dependencies in a task group of their own, which cost this, the one handler
        # whose speed is measured in thousands of requests a second, more than the rest of its work.
        token = require_write_token(request)  # a managed token's digest, checked again when appended
        committer: GroupCommitter = request.app.state.committer
        live_log: LiveLog = request.app.state.live_log
        try:
            msgspec.convert(stream, StreamName)
        except msgspec.ValidationError:
            raise problem(
                422,
                "Invalid stream name",
                f"{stream!r} is not a stream name: use a-z, 0-9, _ . - (max 128)",
                "/stream",
            ) from None
        kind = request.headers.get("content-type")
        if kind is not None and not _JSON_TYPE.fullmatch(kind):
            raise problem(
                415,
                "Unsupported Media Type",
                f"the body must be JSON, sent as Content-Type: application/json, not {kind!r}",
            )
        body = await request.body()
        batch: AppendRequest = decode_body(body, _BATCH, "Invalid event batch")
        try:
            result = await committer.append(stream, batch.events, batch.expected_version, token)
        except AppendRefused as exc:
            raise from_refusal(exc) from exc
        live_log.wake(max(a.position for a in result.events))
        view = AppendView(result.stream, result.version, result.events)
        headers = {"Location": f"/streams/{stream}"}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(content=view, status_code=201, headers=headers)
