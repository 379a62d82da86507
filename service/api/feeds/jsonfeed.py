"""The timeline as a JSON Feed 1.1, with the event's own date and stances under ``_timeline``."""

from __future__ import annotations

import msgspec

from events.vocabulary import PositionTaken, Source
from service.api.feeds.text import (
    Urls,
    headline,
    html_text,
    issues_of,
    plain_text,
    type_of,
)
from service.api.views import AxesView, DateView
from service.query.timeline import Item


class JsonFeedAuthor(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    url: str | None = None


class ItemData(msgspec.Struct, frozen=True):
    """``_timeline`` of an item: the event's own dates, where it sits in the log, how it was revised."""

    occurred: DateView
    reported: DateView
    recorded_at: str
    position: int
    stream: str
    version: int
    type: str
    parties: list[str]
    issues: list[str]
    positions: list[PositionTaken]  # each with its basis
    retracted: bool
    corrected: bool
    sources: list[Source]


class JsonFeedItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    url: str
    title: str
    content_text: str
    content_html: str
    summary: str | None = None
    external_url: str | None = None
    date_published: str
    date_modified: str
    tags: list[str] = []
    timeline: ItemData = msgspec.field(name="_timeline")


class FeedData(msgspec.Struct, frozen=True):
    """``_timeline`` of the feed: the log position the page reflects (cite it, reproduce it with at=)."""

    position: int
    head: int
    axes: AxesView


class JsonFeed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    version: str  # required, so never omitted
    title: str
    home_page_url: str
    feed_url: str
    description: str
    language: str
    authors: list[JsonFeedAuthor]
    next_url: str | None = None
    items: list[JsonFeedItem]
    timeline: FeedData = msgspec.field(name="_timeline")


def json_feed_item(item: Item, urls: Urls) -> JsonFeedItem:
    event = item.effective.event
    url = urls.event(item)
    issues = issues_of(item)
    return JsonFeedItem(
        id=str(event.id),
        url=url,
        title=headline(item),
        content_text=plain_text(item, url),
        content_html=html_text(item, url),
        summary=event.summary or None,
        external_url=next((s.url for s in event.sources if s.url), None),
        date_published=item.recorded_at,
        date_modified=item.revised_at,
        tags=[type_of(item), *event.parties, *issues],
        timeline=ItemData(
            occurred=DateView.of(event.occurred),
            reported=DateView.of(event.reported or event.occurred),
            recorded_at=item.recorded_at,
            position=item.effective.position,
            stream=item.stream,
            version=item.version,
            type=type_of(item),
            parties=list(event.parties),
            issues=issues,
            positions=list(event.positions),
            retracted=item.effective.retracted,
            corrected=item.effective.corrected,
            sources=list(event.sources),
        ),
    )


# ----------------------------------------------------------------------------------------------------------
# iCalendar
