"""Raw reads of the log: by position, by stream, by id. Every answer names the log head it reflects."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter

from events.vocabulary import STREAM_PATTERN
from service.api.openapi import READ, EventType, Issues, Parties, Streams, answers, path_id
from service.api.problems import problem
from service.api.views import EventView, LogView, SingleEventView, StreamView
from service.storage.chain import ChainHashes
from service.storage.log import EventStore

HEAD_HEADER = "Timeline-Head"
# The chain hash at the position the answer reflects (its ETag's): cite the two together, and anyone can
# check later that the log still holds that history (the README shows how). None on an empty log.
HEAD_HASH_HEADER = "Timeline-Head-Hash"
# Positions and versions are 64-bit integers in the database, and numbers in JSON that every client reads
# exactly up to 2**53 - 1 (the largest integer a double holds exactly, so the schema's bound is exact too);
# larger numbers are refused as bad input.
MAX_POSITION = 2**53 - 1
MAX_VERSION = 2**31 - 1  # a stream's versions are 32-bit integers in the database


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly compared, RFC 9110 13.1.2): one of its
    comma-separated tags, with or without ``W/``, or ``*`` (any representation there is)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def read_response(request: Request, content: object, head: int, position: int | None = None) -> Response:
    """A read answer with the log head, and an ETag and a chain hash from the log position it reflects
    (default: the head)."""
    reflected = head if position is None else position
    etag = f'"{reflected}"'
    headers = {HEAD_HEADER: str(head), "ETag": etag}
    chain: ChainHashes = request.app.state.chain
    if (hashed := chain.at(reflected)) is not None:
        headers[HEAD_HASH_HEADER] = hashed
    if not_modified(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=content, headers=headers)


def _page_link(path: str, params: dict[str, object]) -> str:
    pairs = [
        (k, item) for k, v in params.items() for item in (v if isinstance(v, list) else [v]) if v is not None
    ]
    return f"{path}?{urlencode(pairs)}"


class LogController(Controller):
    tags = ["log"]

    @get("/events", summary="The log in position order", responses=answers(*READ))
    async def list_events(
        self,
        request: Request,
        store: NamedDependency[EventStore],
        after: Annotated[
            int, Parameter(gt=-1, le=MAX_POSITION, description="return events after this position")
        ] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        type: FromQuery[list[EventType] | None] = None,  # noqa: A002 - the API's own name
        stream: Streams = None,
        party: Parties = None,
        issue: Issues = None,
    ) -> Response[LogView]:
        page = await anyio.to_thread.run_sync(
            lambda: store.read_log(
                after, limit, types=type or (), streams=stream or (), parties=party or (), issues=issue or ()
            )
        )
        next_link = None
        headers = {}
        if len(page.events) == limit:
            params = {
                "after": page.events[-1].position,
                "limit": limit,
                "type": type,
                "stream": stream,
                "party": party,
                "issue": issue,
            }
            next_link = _page_link("/events", params)
            headers["Link"] = f'<{next_link}>; rel="next"'
        view = LogView(page.head, [EventView.of(e) for e in page.events], next_link)
        response = read_response(request, view, page.head)
        response.headers.update(headers)
        return response

    @get(
        "/events/{event_id:str}",
        summary="One event, and whether and by what it was retracted or corrected",
        responses=answers(*READ, 404),
    )
    async def get_event(
        self,
        request: Request,
        store: NamedDependency[EventStore],
        event_id: Annotated[str, path_id(None, "an event id (a UUID)", format="uuid")],
    ) -> Response[SingleEventView]:
        try:
            ident = uuid.UUID(event_id)
        except ValueError:
            raise problem(404, "No such event", f"{event_id!r} is not an event id (a UUID)") from None
        found, head = await anyio.to_thread.run_sync(store.get, ident)
        if found is None:
            raise problem(404, "No such event", f"no event {ident} is stored")
        return read_response(request, SingleEventView(head, EventView.of(found)), head)

    @get(
        "/streams/{stream:str}", summary="One stream's events in version order", responses=answers(*READ, 404)
    )
    async def get_stream(
        self,
        request: Request,
        store: NamedDependency[EventStore],
        stream: Annotated[str, path_id(STREAM_PATTERN, "a stream name")],
        from_version: Annotated[int, Parameter(ge=1, le=MAX_VERSION)] = 1,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> Response[StreamView]:
        page, version = await anyio.to_thread.run_sync(store.read_stream, stream, from_version, limit)
        if version == 0:
            raise problem(404, "No such stream", f"no event is stored in stream {stream!r}")
        next_link = None
        if page.events and page.events[-1].version < version:
            next_link = _page_link(
                f"/streams/{stream}", {"from_version": page.events[-1].version + 1, "limit": limit}
            )
        view = StreamView(page.head, stream, version, [EventView.of(e) for e in page.events], next_link)
        response = read_response(request, view, page.head)
        if next_link:
            response.headers["Link"] = f'<{next_link}>; rel="next"'
        return response
