"""What the read API returns: stored events with their dates spelled out, and pages of them."""

from __future__ import annotations

import datetime as dt

import msgspec

from events.dates import EdtfDate, Precision
from events.folds import Change, IssueInfo, PartyInfo, Stand, State
from events.vocabulary import AnyEvent
from service.storage.log import Appended, Recorded, Revision


class DateView(msgspec.Struct, frozen=True):
    """An EDTF date as given, and the interval it stands for (``end`` null: an interval with an open or
    unknown end; an interval's precision is that of its coarser end)."""

    text: str
    start: dt.date
    end: dt.date | None
    precision: Precision
    approximate: bool
    uncertain: bool
    interval: bool

    @classmethod
    def of(cls, date: EdtfDate) -> DateView:
        approximate, uncertain, interval = date.approximate, date.uncertain, date.is_interval
        return cls(date.text, date.start, date.end, date.precision, approximate, uncertain, interval)


class EventDates(msgspec.Struct, frozen=True):
    occurred: DateView
    reported: DateView  # when it became public: the occurred date unless the event says otherwise


class EventView(msgspec.Struct, frozen=True):
    position: int
    version: int
    recorded_at: str
    event: AnyEvent
    dates: EventDates
    retracted_by: list[Revision]
    corrected_by: list[Revision]
    href: str
    hash: str  # the chain hash of the event: the README says how to recompute it
    previous_hash: str  # the chain's link: the hash of the event before it ("" at position 1)

    @classmethod
    def of(cls, recorded: Recorded) -> EventView:
        event = recorded.event
        return cls(
            position=recorded.position,
            version=recorded.version,
            recorded_at=recorded.recorded_at,
            event=event,
            dates=EventDates(DateView.of(event.occurred), DateView.of(event.reported or event.occurred)),
            retracted_by=recorded.retracted_by,
            corrected_by=recorded.corrected_by,
            href=f"/events/{event.id}",
            hash=recorded.hash,
            previous_hash=recorded.previous_hash,
        )


class LogView(msgspec.Struct, frozen=True):
    head: int
    events: list[EventView]
    next: str | None


class StreamView(msgspec.Struct, frozen=True):
    head: int
    stream: str
    version: int
    events: list[EventView]
    next: str | None


class SingleEventView(msgspec.Struct, frozen=True):
    head: int
    event: EventView


class AppendView(msgspec.Struct, frozen=True):
    stream: str
    version: int
    events: list[Appended]


class HealthView(msgspec.Struct, frozen=True):
    status: str
    database: str
    head: int | None
    schema: str = "current"  # or what is wrong with it: "not migrated", "at revision …"


class ReadyView(msgspec.Struct, frozen=True):
    status: str
    head: int


class AxesView(msgspec.Struct, frozen=True):
    """The point on the three time axes an answer was asked for (null: now / everything)."""

    as_of: str | None
    known_at: str | None
    at: int | None


class StateView(msgspec.Struct, frozen=True):
    position: int  # the log position the answer reflects: cite it, reproduce it with at=
    head: int
    axes: AxesView
    state: State


class PartiesView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    parties: list[PartyInfo]


class IssuesView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    issues: list[IssueInfo]


class PartyView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    party: PartyInfo | None  # None: not (yet) defined at this point on the axes
    positions: list[Stand]


class IssueView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    issue: IssueInfo | None
    positions: list[Stand]


class ChangesView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    changes: list[Change]
    next: str | None


class TimelineItem(msgspec.Struct, frozen=True):
    """An event as it counts (corrected where corrections count), with where it sits in the log."""

    position: int
    version: int
    recorded_at: str
    event: AnyEvent
    dates: EventDates
    retracted: bool
    corrected: bool
    href: str  # the stored event, with what retracted or corrected it


class TimelineView(msgspec.Struct, frozen=True):
    position: int
    head: int
    axes: AxesView
    items: list[TimelineItem]
    next: str | None
