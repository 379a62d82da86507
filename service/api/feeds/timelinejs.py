"""The timeline as Knight Lab TimelineJS JSON: one slide per event, grouped by stream or by party."""

from __future__ import annotations

from html import escape
from typing import Literal

import msgspec

from events.dates import EdtfDate
from service.api.feeds.text import (
    Urls,
    headline,
    html_text,
    human_date,
)
from service.query.timeline import Item


class TjsDate(msgspec.Struct, frozen=True, omit_defaults=True):
    year: str
    month: str | None = None
    day: str | None = None
    display_date: str | None = None


class TjsText(msgspec.Struct, frozen=True, omit_defaults=True):
    headline: str
    text: str = ""


class TjsTitle(msgspec.Struct, frozen=True):
    text: TjsText


class TjsEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    start_date: TjsDate
    end_date: TjsDate | None = None  # a closed interval's end
    text: TjsText
    group: str | None = None
    unique_id: str


class TjsTimeline(msgspec.Struct, frozen=True):
    title: TjsTitle
    events: list[TjsEvent]


def tjs_date(date: EdtfDate, shown: EdtfDate | None = None) -> TjsDate:
    """Month and day only as far as the date is known; a qualified date, or the interval ``shown`` that
    it is an end of, says so in ``display_date``."""
    start = date.start
    shown = shown or date
    return TjsDate(
        year=str(start.year),
        month=str(start.month) if date.precision in ("month", "day") else None,
        day=str(start.day) if date.precision == "day" else None,
        display_date=human_date(shown) if shown.approximate or shown.uncertain or shown.is_interval else None,
    )


def tjs_event(item: Item, urls: Urls, group: Literal["stream", "party"]) -> TjsEvent:
    event = item.effective.event
    group_name = item.stream
    if group == "party":
        group_name = event.parties[0] if event.parties else None
    occurred = event.occurred
    return TjsEvent(
        start_date=tjs_date(occurred.lower or occurred, occurred),
        end_date=tjs_date(occurred.upper, occurred) if occurred.upper is not None else None,
        text=TjsText(headline=escape(headline(item)), text=html_text(item, urls.event(item))),
        group=group_name,
        unique_id=str(event.id),
    )


# ----------------------------------------------------------------------------------------------------------
# The endpoints
