"""``GET /live``: Server-Sent Events, one per newly appended event, ``id:`` = its log position.

A client that reconnects with ``Last-Event-ID`` (or ``?after=``) gets every event after that position,
none twice: the stream is read from the log, never from a buffer of notifications.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from events.codec import encode
from service.api.openapi import EventType, Issues, Parties, Streams, answers
from service.api.problems import problem
from service.api.reads import MAX_POSITION
from service.api.views import EventView
from service.query.timeline import matches_text
from service.storage.log import EventStore
from service.storage.notify import LiveLog

PAGE = 200
Heartbeat = Annotated[float, Parameter(ge=0.5, le=300, description="seconds between keep-alive comments")]


class LiveController(Controller):
    tags = ["live"]

    @get(
        "/live",
        summary="Server-Sent Events: every newly appended event, resumable with Last-Event-ID",
        responses=answers(400, 405),
    )
    async def live(
        self,
        request: Request,
        store: NamedDependency[EventStore],
        live_log: NamedDependency[LiveLog],
        after: Annotated[
            int | None,
            Parameter(
                gt=-1, le=MAX_POSITION, description="start after this position (default: the head now)"
            ),
        ] = None,
        party: Parties = None,
        issue: Issues = None,
        type_: Annotated[list[EventType] | None, QueryParameter(name="type")] = None,
        stream: Streams = None,
        q: FromQuery[str | None] = None,
        heartbeat: Heartbeat = 15,
    ) -> ServerSentEvent:
        last_id = request.headers.get("last-event-id")
        if last_id is not None:
            if not last_id.isdigit() or int(last_id) > MAX_POSITION:
                raise problem(400, "Invalid Last-Event-ID", "Last-Event-ID must be a log position")
            after = int(last_id)
        if after is None:
            after = await anyio.to_thread.run_sync(store.head)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            cursor = after
            yield ServerSentEventMessage(comment=f"events after position {cursor}", data=None)
            while not live_log.closing:
                ticket = live_log.ticket()
                page = await anyio.to_thread.run_sync(
                    lambda c=cursor: store.read_log(
                        c,
                        PAGE,
                        types=type_ or (),
                        streams=stream or (),
                        parties=party or (),
                        issues=issue or (),
                    )
                )
                for recorded in page.events:
                    cursor = recorded.position
                    if q and not matches_text(recorded.event, q):
                        continue
                    yield ServerSentEventMessage(
                        data=encode(EventView.of(recorded)).decode(),
                        event=type(recorded.event).__name__,
                        id=str(recorded.position),
                    )
                if len(page.events) == PAGE:
                    continue
                if not await live_log.wait(ticket, heartbeat):
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
            # the server is shutting down: the stream ends whole, and the client reconnects elsewhere
            yield ServerSentEventMessage(comment=f"shutting down after position {cursor}", data=None)

        return ServerSentEvent(events())
