"""What every feed says of an event: its dates in words, its text (plain and HTML), its links, and the
feed answer with paging headers; shared by the formats of this package."""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urlencode

from litestar import Response

from events.dates import EdtfDate
from events.vocabulary import AgreementReached, MeetingHeld, PledgeMade, PositionTaken, Source, StatementMade
from service.api.reads import read_response
from service.api.timeline import TimelineQuery
from service.query.timeline import Item, TimelinePage

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
