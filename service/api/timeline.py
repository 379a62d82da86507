"""``GET /timeline``: events in valid-time order with filters and keyset pagination."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter, QueryParameter

from service.api.openapi import (
    READ,
    START_DATE,
    EventType,
    Issues,
    Parties,
    Streams,
    answers,
    cursor_parameter,
    date_parameter,
)
from service.api.params import At, KnownAt, axes_of, parse_date, query_date
from service.api.problems import problem
from service.api.reads import MAX_POSITION, read_response
from service.api.views import DateView, EventDates, TimelineItem, TimelineView
from service.query.timeline import Filters, Item, Order, Timeline, TimelineKey, TimelinePage

MAX_LIMIT = 500


class TimelineQuery:
    """The query parameters every timeline format shares, parsed and checked once."""

    def __init__(
        self,
        request: Request,
        start: str | None,
        end: str | None,
        party: list[str] | None,
        issue: list[str] | None,
        type_: list[str] | None,
        stream: list[str] | None,
        q: str | None,
        known_at: str | None,
        at: int | None,
        include_retracted: bool,
        order: Order,
        cursor: str | None,
        limit: int,
    ) -> None:
        self.request = request
        self.axes, self.echo = axes_of(None, known_at, at)
        start_date = _start_of(start, "from")
        end_date = parse_date(end, "to")
        if start_date is not None and end_date is not None and start_date > end_date:
            raise problem(400, "Invalid range", "`from` must not be after `to`", parameter="from")
        self.filters = Filters(
            start=start_date,
            end=end_date,
            parties=party or (),
            issues=issue or (),
            types=type_ or (),
            streams=stream or (),
            text=q or None,
            include_retracted=include_retracted,
        )
        self.order = order
        self.cursor = decode_cursor(cursor, order)
        self.limit = limit

    async def run(self, timeline: Timeline) -> TimelinePage:
        return await anyio.to_thread.run_sync(
            lambda: timeline.page(
                self.axes, self.filters, order=self.order, cursor=self.cursor, limit=self.limit
            )
        )

    def next_url(self, path: str, page: TimelinePage) -> str | None:
        """The URL of the next page: same parameters, the cursor after this page."""
        if page.next is None:
            return None
        params = [(k, v) for k, v in self.request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", encode_cursor(page.next, self.order)))
        return f"{path}?{urlencode(params)}"


def _start_of(value: str | None, name: str) -> dt.date | None:
    """`from` means from the start of its interval (`to` runs to the end of its own), which an interval
    with an open end has too."""
    date = query_date(value, name)  # validates and refuses qualifiers
    return date.start if date is not None else None


def encode_cursor(key: TimelineKey, order: Order) -> str:
    raw = f"{key.occurred}|{key.position}|{order}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, order: Order) -> TimelineKey | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        occurred, position, cursor_order = raw.split("|")
        dt.date.fromisoformat(occurred)
        key = TimelineKey(occurred, int(position))
        if not 0 <= key.position <= MAX_POSITION:
            raise ValueError("out of range")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem(
            400, "Invalid cursor", "the cursor is not one this service gave out", parameter="cursor"
        ) from None
    if cursor_order != order:
        raise problem(
            400, "Invalid cursor", f"the cursor belongs to order={cursor_order}", parameter="cursor"
        )
    return key


def item_view(item: Item) -> TimelineItem:
    event = item.effective.event
    return TimelineItem(
        position=item.effective.position,
        version=item.version,
        recorded_at=item.recorded_at,
        event=event,
        dates=EventDates(DateView.of(event.occurred), DateView.of(event.reported or event.occurred)),
        retracted=item.effective.retracted,
        corrected=item.effective.corrected,
        href=f"/events/{event.id}",
    )


async def timeline_query(
    request: Request,
    from_: Annotated[
        str | None,
        date_parameter(
            "occurred on or after this date (its start; its end may be open)", START_DATE, name="from"
        ),
    ] = None,
    to: Annotated[str | None, date_parameter("occurred on or before this date (its end)")] = None,
    party: Parties = None,
    issue: Issues = None,
    type_: Annotated[list[EventType] | None, QueryParameter(name="type")] = None,
    stream: Streams = None,
    q: Annotated[str | None, QueryParameter(description="text in title, summary or excerpts")] = None,
    known_at: KnownAt = None,
    at: At = None,
    include_retracted: FromQuery[bool] = False,
    order: FromQuery[Literal["asc", "desc"]] = "asc",
    cursor: Annotated[str | None, cursor_parameter("timeline")] = None,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 100,
) -> TimelineQuery:
    return TimelineQuery(
        request,
        from_,
        to,
        party,
        issue,
        type_,
        stream,
        q,
        known_at,
        at,
        include_retracted,
        order,
        cursor,
        limit,
    )


class TimelineController(Controller):
    tags = ["timeline"]

    @get(
        "/timeline",
        summary="Events in valid-time order, filtered, with keyset pagination",
        responses=answers(*READ),
    )
    async def timeline(
        self, timeline: NamedDependency[Timeline], timeline_query: NamedDependency[TimelineQuery]
    ) -> Response[TimelineView]:
        page = await timeline_query.run(timeline)
        next_url = timeline_query.next_url("/timeline", page)
        view = TimelineView(
            page.position, page.head, timeline_query.echo, [item_view(i) for i in page.items], next_url
        )
        response = read_response(timeline_query.request, view, page.head, page.position)
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response
