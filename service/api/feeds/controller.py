"""The timeline as feeds: Atom, JSON Feed 1.1, iCalendar and Knight Lab TimelineJS JSON.

Every format takes the query parameters of ``GET /timeline`` (the same filters, the same time axes, the same
keyset cursor and limit) and answers with the log position it reflects, an ETag, and ``Link: rel="next"``
when there is a next page.

A feed reader decides what is new by the dates of an entry, so those dates are when the event was *recorded*:
an event that happened in November 2024 but was appended today shows up as new. The event's own (possibly
imprecise) date is in the text of each entry and in a machine-readable extension (Atom: ``tl:occurred`` in
the namespace :data:`NAMESPACE`; JSON Feed: ``_timeline.occurred``).

iCalendar has no paging and no imprecise dates: it lists the day-precision events of the page (and those
dated by an interval of days) as all-day entries and leaves out those known only to the month or year, or
dated by an interval with an open end, unless ``imprecise=true`` asks for them as entries spanning their
interval (an open-ended one, its start); the next page's URL is in ``X-NEXT-URL`` (and the ``Link`` header).
"""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from service.api.feeds.atom import atom_feed
from service.api.feeds.ical import calendar
from service.api.feeds.jsonfeed import (
    FeedData,
    JsonFeed,
    JsonFeedAuthor,
    json_feed_item,
)
from service.api.feeds.text import (
    ATOM,
    CALENDAR,
    FEED_TITLE,
    JSON_FEED,
    JSON_FEED_VERSION,
    NAMESPACE,
    Urls,
    feed_response,
)
from service.api.feeds.timelinejs import (
    TjsText,
    TjsTimeline,
    TjsTitle,
    tjs_event,
)
from service.api.openapi import READ, answers
from service.api.timeline import TimelineQuery
from service.query.timeline import Timeline


class FeedsController(Controller):
    tags = ["timeline"]

    @get(
        "/timeline.atom",
        media_type=ATOM,
        summary="The timeline as an Atom feed (RFC 4287), paged (RFC 5005)",
        responses=answers(*READ),
        description="Entries are published/updated when recorded; the event's own date is in tl:occurred "
        f"({NAMESPACE}) and the text.",
    )
    async def atom(
        self, timeline: NamedDependency[Timeline], timeline_query: NamedDependency[TimelineQuery]
    ) -> Response[bytes]:
        page = await timeline_query.run(timeline)
        urls = Urls(timeline_query, "/timeline.atom", page)
        return feed_response(timeline_query, page, atom_feed(page, urls), urls)

    @get(
        "/timeline.json",
        media_type=JSON_FEED,
        summary="The timeline as a JSON Feed 1.1",
        responses=answers(*READ),
    )
    async def json_feed(
        self, timeline: NamedDependency[Timeline], timeline_query: NamedDependency[TimelineQuery]
    ) -> Response[JsonFeed]:
        page = await timeline_query.run(timeline)
        urls = Urls(timeline_query, "/timeline.json", page)
        feed = JsonFeed(
            version=JSON_FEED_VERSION,
            title=FEED_TITLE,
            home_page_url=urls.home,
            feed_url=urls.first,
            description="Events in the order they happened. date_published/date_modified are when an event "
            "was recorded; its own date is in the text and in _timeline.occurred.",
            language="en",
            authors=[JsonFeedAuthor(FEED_TITLE, urls.home)],
            next_url=urls.next,
            items=[json_feed_item(item, urls) for item in page.items],
            timeline=FeedData(page.position, page.head, timeline_query.echo),
        )
        return feed_response(timeline_query, page, feed, urls)

    @get(
        "/timeline.ics",
        media_type=CALENDAR,
        summary="The timeline as an iCalendar (RFC 5545): day-precision events as all-day entries",
        responses=answers(*READ),
        description="Month- and year-precision events are left out unless imprecise=true. No paging in "
        "iCalendar: at most limit events, the next ones at X-NEXT-URL (and Link: rel=next).",
    )
    async def ics(
        self,
        timeline: NamedDependency[Timeline],
        timeline_query: NamedDependency[TimelineQuery],
        imprecise: FromQuery[bool] = False,
    ) -> Response[bytes]:
        page = await timeline_query.run(timeline)
        urls = Urls(timeline_query, "/timeline.ics", page)
        return feed_response(timeline_query, page, calendar(page, urls, imprecise), urls)

    @get(
        "/timeline/timelinejs.json",
        summary="The timeline as Knight Lab TimelineJS JSON",
        responses=answers(*READ),
        description="Slides grouped by stream, or by the first party involved with group=party.",
    )
    async def timelinejs(
        self,
        timeline: NamedDependency[Timeline],
        timeline_query: NamedDependency[TimelineQuery],
        group: FromQuery[Literal["stream", "party"]] = "stream",
    ) -> Response[TjsTimeline]:
        page = await timeline_query.run(timeline)
        urls = Urls(timeline_query, "/timeline/timelinejs.json", page)
        title = TjsTitle(
            TjsText(FEED_TITLE, "Events of the negotiations in the order they happened, with their sources.")
        )
        content = TjsTimeline(title, [tjs_event(item, urls, group) for item in page.items])
        return feed_response(timeline_query, page, content, urls)
