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

import datetime as dt
from html import escape
from typing import Literal
from urllib.parse import urlencode

import icalendar
import msgspec
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from events.dates import EdtfDate
from events.vocabulary import AgreementReached, MeetingHeld, PledgeMade, PositionTaken, Source, StatementMade
from service.api.reads import read_response
from service.api.timeline import TimelineQuery
from service.api.views import AxesView, DateView
from service.query.timeline import Item, Timeline, TimelinePage

NAMESPACE = "urn:negotiation-timeline:1"
PREFIX = "tl"
FEED_TITLE = "Negotiation Timeline"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
CALENDAR = "text/calendar"
UID_DOMAIN = "negotiation-timeline"
RETRACTED = "[retracted] "
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


# ----------------------------------------------------------------------------------------------------------
# What every format says about an event


def human_date(date: EdtfDate) -> str:
    """``18 February 2025``, ``February 2025``, ``2025``; ``c.`` when approximate, ``?`` when uncertain; an
    interval as ``18 February 2025 to 26 February 2025`` or ``from 18 February 2025, end open``."""
    if date.lower is not None:
        first = human_date(date.lower)
        if date.upper is not None:
            return f"{first} to {human_date(date.upper)}"
        return f"from {first}, end {'open' if date.text.endswith('..') else 'unknown'}"
    start = date.start
    if date.precision == "day":
        text = f"{start.day} {MONTHS[start.month - 1]} {start.year}"
    elif date.precision == "month":
        text = f"{MONTHS[start.month - 1]} {start.year}"
    else:
        text = str(start.year)
    if date.approximate:
        text = f"c. {text}"
    if date.uncertain:
        text = f"{text} (uncertain)"
    return text


def date_line(date: EdtfDate) -> str:
    kind = "an interval of ends of " if date.is_interval else ""
    return f"{human_date(date)} ({date.text}, {kind}{date.precision} precision)"


def headline(item: Item) -> str:
    title = item.effective.event.title
    return RETRACTED + title if item.effective.retracted else title


def details(item: Item) -> list[str]:
    """A few type-specific facts worth a line of their own."""
    event = item.effective.event
    lines = []
    if isinstance(event, MeetingHeld):
        how = event.format.replace("_", " ") if event.format else "format not given"
        lines.append(f"Where: {event.location or 'not given'} ({how}, track {event.track})")
    elif isinstance(event, StatementMade):
        who = f"{event.speaker}, {event.role}" if event.role else event.speaker
        lines.append(f"{who}: “{event.quote}”" if event.quote else f"{who} (not quoted)")
    elif isinstance(event, AgreementReached):
        lines.append(f"Stage: {event.stage.replace('_', ' ')}")
    elif isinstance(event, PledgeMade):
        lines.append(f"Pledge ({event.kind}) by {event.by}: {event.what}")
    return lines


def position_line(taken: PositionTaken) -> str:
    """A stance as a line: who, on what, on what basis; the quote only as the party's words."""
    line = f"{taken.party} {taken.stance} {taken.issue} ({taken.basis}): {taken.summary}"
    return line + (f" “{taken.quote}”" if taken.quote else "")


def source_line(source: Source) -> str:
    line = f"{source.publisher}, “{source.title}”"
    if source.date is not None:
        line += f" ({source.date.text})"
    if source.url:
        line += f" <{source.url}>"
    if source.excerpt:
        line += f": “{source.excerpt}”"
    return line


def status_note(item: Item) -> str | None:
    if item.effective.retracted:
        return "This event has been retracted: it should not have been recorded."
    if item.effective.corrected:
        return "This event has been corrected: shown here in its corrected form."
    return None


def plain_text(item: Item, event_url: str) -> str:
    """The entry as plain text: its dates, summary, details and sources."""
    event = item.effective.event
    lines = [f"Occurred: {date_line(event.occurred)}"]
    if event.reported is not None and event.reported != event.occurred:
        lines.append(f"Reported: {date_line(event.reported)}")
    lines.append(f"Recorded: {item.recorded_at} (log position {item.effective.position})")
    note = status_note(item)
    if note:
        lines.append(f"{note} The event as recorded and its revisions: {event_url}")
    lines.append("")
    if event.summary:
        lines.append(event.summary)
    lines.extend(details(item))
    if event.positions:
        lines.append("")
        lines.append("Positions:")
        lines.extend(f"- {position_line(p)}" for p in event.positions)
    lines.append("")
    lines.append("Sources:")
    lines.extend(f"- {source_line(s)}" for s in event.sources)
    return "\n".join(lines).strip()


def html_text(item: Item, event_url: str) -> str:
    """The entry as HTML (escaped): its dates, summary, details and sources with their excerpts."""
    event = item.effective.event
    parts = [f"<p><strong>Occurred:</strong> {escape(date_line(event.occurred))}"]
    if event.reported is not None and event.reported != event.occurred:
        parts.append(f"<br/><strong>Reported:</strong> {escape(date_line(event.reported))}")
    parts.append(f"<br/><strong>Recorded:</strong> {escape(item.recorded_at)}</p>")
    note = status_note(item)
    if note:
        link = f'<a href="{escape(event_url)}">the event as recorded and its revisions</a>'
        parts.append(f"<p><em>{escape(note)}</em> See {link}.</p>")
    if event.summary:
        parts.append(f"<p>{escape(event.summary)}</p>")
    parts.extend(f"<p>{escape(line)}</p>" for line in details(item))
    if event.positions:
        stances = "".join(f"<li>{escape(position_line(p))}</li>" for p in event.positions)
        parts.append(f"<p><strong>Positions:</strong></p><ul>{stances}</ul>")
    sources = []
    for source in event.sources:
        name = f"{escape(source.publisher)}, “{escape(source.title)}”"
        if source.url:
            name = f'<a href="{escape(source.url)}">{name}</a>'
        if source.date is not None:
            name += f" ({escape(source.date.text)})"
        if source.excerpt:
            name += f"<blockquote>{escape(source.excerpt)}</blockquote>"
        sources.append(f"<li>{name}</li>")
    parts.append(f"<p><strong>Sources:</strong></p><ul>{''.join(sources)}</ul>")
    return "".join(parts)


def issues_of(item: Item) -> list[str]:
    return list(dict.fromkeys(p.issue for p in item.effective.event.positions))


def type_of(item: Item) -> str:
    return type(item.effective.event).__name__


def recorded(item: Item) -> dt.datetime:
    return dt.datetime.fromisoformat(item.recorded_at).astimezone(dt.UTC)


def revised(item: Item) -> dt.datetime:
    """When the form shown took effect: a correction or retraction updates the entry for readers."""
    return dt.datetime.fromisoformat(item.revised_at).astimezone(dt.UTC)


# ----------------------------------------------------------------------------------------------------------
# URLs


class Urls:
    """Absolute URLs for one request: this page, the first page, the next page, an event."""

    def __init__(self, query: TimelineQuery, path: str, page: TimelinePage) -> None:
        request = query.request
        self.base = str(request.base_url).rstrip("/")
        self.home = f"{self.base}/"
        self.self_ = str(request.url)
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        self.first = f"{self.base}{path}" + (f"?{urlencode(params)}" if params else "")
        next_path = query.next_url(path, page)
        self.next_path = next_path
        self.next = f"{self.base}{next_path}" if next_path else None

    def event(self, item: Item) -> str:
        return f"{self.base}/events/{item.effective.event.id}"


def feed_response(query: TimelineQuery, page: TimelinePage, content: object, urls: Urls) -> Response:
    """The answer with the ETag / If-None-Match logic of every read, and the next page in ``Link``."""
    response = read_response(query.request, content, page.head, page.position)
    if urls.next_path:
        response.headers["Link"] = f'<{urls.next_path}>; rel="next"'
    return response


# ----------------------------------------------------------------------------------------------------------
# Atom


class _TimelineFeedExtension(BaseExtension):
    def extend_ns(self) -> dict[str, str]:
        return {PREFIX: NAMESPACE}


class _TimelineEntryExtension(BaseEntryExtension):
    """``tl:occurred``, ``tl:reported``, ``tl:position``, ``tl:stream``, ``tl:type`` and revision flags."""

    item: Item | None = None
    url: str = ""

    def extend_atom(self, entry):  # feedgen's interface
        if self.item is None:
            return entry
        event = self.item.effective.event
        # feedgen 1.0 drops rel and type of entry links, so the links are written here (in no namespace,
        # as feedgen writes every Atom element: the feed declares Atom as the default namespace)
        xml_elem("link", entry, href=self.url, rel="alternate")  # no type: readers then open it
        for source in event.sources:
            if source.url:
                xml_elem("link", entry, href=source.url, rel="related", title=source.publisher)
        for name, date in (("occurred", event.occurred), ("reported", event.reported or event.occurred)):
            element = xml_elem(
                f"{{{NAMESPACE}}}{name}", entry, precision=date.precision, start=date.start.isoformat()
            )
            if date.end is not None:  # an interval with an open end has none
                element.attrib["end"] = date.end.isoformat()
            if date.is_interval:
                element.attrib["interval"] = "true"
            if date.approximate:
                element.attrib["approximate"] = "true"
            if date.uncertain:
                element.attrib["uncertain"] = "true"
            element.text = date.text
        for name, value in (
            ("position", str(self.item.effective.position)),
            ("stream", self.item.stream),
            ("version", str(self.item.version)),
            ("type", type_of(self.item)),
        ):
            xml_elem(f"{{{NAMESPACE}}}{name}", entry).text = value
        if self.item.effective.retracted:
            xml_elem(f"{{{NAMESPACE}}}retracted", entry).text = "true"
        if self.item.effective.corrected:
            xml_elem(f"{{{NAMESPACE}}}corrected", entry).text = "true"
        return entry


def atom_feed(page: TimelinePage, urls: Urls) -> bytes:
    feed = FeedGenerator()
    feed.register_extension(PREFIX, _TimelineFeedExtension, _TimelineEntryExtension, atom=True, rss=False)
    feed.id(urls.first)
    feed.title(FEED_TITLE)
    feed.subtitle(
        "Events in the order they happened. Published/updated dates are when an event was recorded; "
        f"its own date is in the text and in <{PREFIX}:occurred> ({NAMESPACE})."
    )
    feed.author({"name": FEED_TITLE, "uri": urls.home})
    feed.link(href=urls.self_, rel="self", type=ATOM)
    feed.link(href=urls.first, rel="first", type=ATOM)
    if urls.next:
        feed.link(href=urls.next, rel="next", type=ATOM)
    feed.link(href=urls.home, rel="alternate", type="text/html")
    feed.language("en")
    feed.updated(max((revised(i) for i in page.items), default=dt.datetime.now(dt.UTC)))
    for item in page.items:
        event = item.effective.event
        url = urls.event(item)
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{event.id}")
        entry.title(headline(item))
        entry.published(recorded(item))
        entry.updated(revised(item))
        entry.content(html_text(item, url), type="html")
        for scheme, terms in (
            ("type", [type_of(item)]),
            ("party", event.parties),
            ("issue", issues_of(item)),
        ):
            for term in terms:
                entry.category(term=term, scheme=f"urn:{UID_DOMAIN}:{scheme}", label=f"{scheme}: {term}")
        extension = getattr(entry, PREFIX)
        extension.item, extension.url = item, url
    return feed.atom_str(pretty=True)


# ----------------------------------------------------------------------------------------------------------
# JSON Feed 1.1


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


def calendar(page: TimelinePage, urls: Urls, imprecise: bool) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Negotiation Timeline//Timeline feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", FEED_TITLE)
    left_out = (
        "Events known to the month or year are shown as entries spanning that interval (an interval with an "
        "open end, its start)."
        if imprecise
        else "Events known only to the month or year, or from a date on with an open end, are left out (add "
        "imprecise=true to include them)."
    )
    cal.add(
        "x-wr-caldesc",
        "Events of the negotiation timeline with a day-precision date or interval of days, as all-day "
        "entries. "
        f"{left_out} DTSTAMP is when an event was recorded. At most limit events per calendar; "
        "the next ones are at X-NEXT-URL.",
    )
    if urls.next:
        cal.add("x-next-url", urls.next)
    for item in page.items:
        event = item.effective.event
        occurred = event.occurred
        if (occurred.precision != "day" or occurred.open_end) and not imprecise:
            continue
        span = occurred.lower if occurred.open_end else occurred  # a calendar entry needs an end
        url = urls.event(item)
        vevent = icalendar.Event()
        vevent.add("uid", f"{event.id}@{UID_DOMAIN}")
        vevent.add("dtstamp", recorded(item))
        vevent.add("last-modified", revised(item))
        vevent.add("created", recorded(item))
        vevent.add("dtstart", span.start)
        vevent.add("dtend", span.end + dt.timedelta(days=1))
        vevent.add("summary", headline(item))
        vevent.add("description", plain_text(item, url))
        vevent.add("url", url)
        if isinstance(event, MeetingHeld) and event.location:
            vevent.add("location", event.location)
        vevent.add("categories", [type_of(item), *event.parties])
        # a correction and a retraction each revise the entry
        vevent.add("sequence", int(item.effective.corrected) + int(item.effective.retracted))
        vevent.add("status", "CANCELLED" if item.effective.retracted else "CONFIRMED")
        vevent.add("transp", "TRANSPARENT")
        cal.add_component(vevent)
    return cal.to_ical()


# ----------------------------------------------------------------------------------------------------------
# Knight Lab TimelineJS


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


class FeedsController(Controller):
    tags = ["timeline"]

    @get(
        "/timeline.atom",
        media_type=ATOM,
        summary="The timeline as an Atom feed (RFC 4287), paged (RFC 5005)",
        description="Entries are published/updated when recorded; the event's own date is in tl:occurred "
        f"({NAMESPACE}) and the text.",
    )
    async def atom(
        self, timeline: NamedDependency[Timeline], timeline_query: NamedDependency[TimelineQuery]
    ) -> Response[bytes]:
        page = await timeline_query.run(timeline)
        urls = Urls(timeline_query, "/timeline.atom", page)
        return feed_response(timeline_query, page, atom_feed(page, urls), urls)

    @get("/timeline.json", media_type=JSON_FEED, summary="The timeline as a JSON Feed 1.1")
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
