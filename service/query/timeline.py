"""The timeline: events in valid-time order (occurred, then position), as they count on the time axes.

Read from ``proj_versions`` so that retractions and corrections apply exactly as in the state answers.
Pagination is by keyset on (occurred, position): a page after a cursor starts right after that key, so an
event appended meanwhile with an earlier date cannot shift later pages (nothing repeated, nothing skipped
after the cursor), and a page deep in a large log costs what the first page does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, NamedTuple

import sqlalchemy as sa

from events.timeaxes import Effective
from events.vocabulary import Event
from service.projection.forms import FORM_OF_VERSION
from service.query.axes import Axes, clamp, rect
from service.query.caches import FormCache
from service.storage.database import Database
from service.storage.tables import event_terms, events, proj_versions

Order = Literal["asc", "desc"]
SCAN_BATCH = 200


class TimelineKey(NamedTuple):
    occurred: str
    position: int


class Filters(NamedTuple):
    start: dt.date | None = None  # occurred on or after
    end: dt.date | None = None  # occurred on or before
    parties: Sequence[str] = ()
    issues: Sequence[str] = ()
    types: Sequence[str] = ()
    streams: Sequence[str] = ()
    text: str | None = None
    include_retracted: bool = False


class Item(NamedTuple):
    effective: Effective
    stream: str
    version: int
    recorded_at: str  # when the event was appended
    revised_at: str  # when the form shown took effect: the last correction or retraction that counts


class TimelinePage(NamedTuple):
    items: list[Item]
    next: TimelineKey | None
    position: int  # the log position the page reflects
    head: int


def matches_text(event: Event, text: str) -> bool:
    """Whether ``text`` occurs (case-insensitively) in the title, summary or a source excerpt."""
    needle = text.casefold()
    haystacks = [event.title, event.summary, *(s.excerpt or "" for s in event.sources)]
    return any(needle in h.casefold() for h in haystacks)


class Timeline:
    def __init__(self, database: Database, forms: FormCache | None = None) -> None:
        self.db = database
        self.forms = forms or FormCache()

    def page(
        self,
        axes: Axes,
        filters: Filters,
        *,
        order: Order = "asc",
        cursor: TimelineKey | None = None,
        limit: int = 100,
    ) -> TimelinePage:
        with self.db.reader.connect() as conn:
            axes, head = clamp(conn, axes)
            query = self._query(axes, filters, order)
            items: list[Item] = []
            key = cursor
            while len(items) < limit + 1:
                scan = query
                if key is not None:
                    bound = sa.tuple_(proj_versions.c.occurred, proj_versions.c.seq)
                    scan = scan.where(bound > tuple(key) if order == "asc" else bound < tuple(key))
                batch = SCAN_BATCH if filters.text else limit + 1 - len(items)
                rows = conn.execute(scan.limit(batch)).all()
                for row in rows:
                    effective = self.forms.of_row(row)
                    if filters.text and not matches_text(effective.event, filters.text):
                        continue
                    items.append(Item(effective, row.stream, row.version, row.recorded_at, row.revised_at))
                if len(rows) < batch:
                    break
                key = TimelineKey(rows[-1].occurred, rows[-1].seq)
            more = len(items) > limit
            items = items[:limit]
            last = items[-1].effective if items else None
            next_key = TimelineKey(last.event.occurred.start.isoformat(), last.position) if more else None
            return TimelinePage(items, next_key, axes.at, head)

    @staticmethod
    def _query(axes: Axes, filters: Filters, order: Order) -> sa.Select:
        v = proj_versions
        revision = events.alias("revision")
        query = (
            sa.select(
                *FORM_OF_VERSION,
                v.c.occurred,
                events.c.stream,
                events.c.version,
                events.c.recorded_at,
                revision.c.recorded_at.label("revised_at"),
            )
            .join(events, events.c.position == v.c.seq)
            .join(revision, revision.c.position == v.c.pos_from)
            .where(*rect(v, axes))
        )
        if not filters.include_retracted:
            query = query.where(v.c.retracted.is_(False))
        if filters.start is not None:
            query = query.where(v.c.occurred >= filters.start.isoformat())
        if filters.end is not None:
            query = query.where(v.c.occurred <= filters.end.isoformat())
        if filters.types:
            query = query.where(v.c.type.in_(filters.types))
        if filters.streams:
            query = query.where(events.c.stream.in_(filters.streams))
        for kind, terms in (("party", filters.parties), ("issue", filters.issues)):
            if terms:
                query = query.where(
                    v.c.seq.in_(
                        sa.select(event_terms.c.position).where(
                            event_terms.c.kind == kind, event_terms.c.term.in_(terms)
                        )
                    )
                )
        if filters.text and filters.text.isascii() and not {'"', "\\"} & set(filters.text):
            # a cheap first pass over the stored JSON (where these characters appear as typed);
            # matches_text decides
            pattern = f"%{_escape_like(filters.text)}%"
            query = query.where(
                sa.or_(events.c.data.ilike(pattern, escape="\\"), v.c.data.ilike(pattern, escape="\\"))
            )
        direction = sa.asc if order == "asc" else sa.desc
        return query.order_by(direction(v.c.occurred), direction(v.c.seq))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
