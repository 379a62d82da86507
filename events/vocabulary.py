"""The event vocabulary: every event type of the timeline as a frozen msgspec struct in one tagged union.

Every type shares the envelope of :class:`Event` (id, stream, dates, title, summary, parties, sources,
positions) and adds its own fields. The ``type`` tag is the class name. Each type carries a
``schema_version``; stored events of an older version are upcast on read (see :mod:`events.codec`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct, field

from events.dates import EdtfDate

Slug = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="a lower-case identifier")]
StreamName = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,127}$", description="a stream name")]
Text = Annotated[str, Meta(min_length=1, max_length=10_000)]
Stance = Literal["supports", "opposes", "conditional", "neutral", "unclear"]
AgreementStage = Literal["agreed_in_principle", "approved", "signed", "ratified", "in_force"]


class _Part(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """A value nested in an event."""


class Source(_Part, kw_only=True):
    """Where a claim comes from; ``excerpt`` is the supporting sentence of the source, verbatim."""

    publisher: Text
    title: Text
    url: str | None = None
    date: EdtfDate | None = None
    excerpt: str | None = None


class PositionTaken(_Part, kw_only=True):
    """A party's stance on an issue, as an event reveals it."""

    party: Slug
    issue: Slug
    stance: Stance
    summary: Text
    quote: str | None = None


class Member(_Part, kw_only=True):
    name: Text
    role: str = ""


class Delegation(_Part, kw_only=True):
    """Who sat at the table for one party."""

    party: Slug
    members: list[Member] = []


class Absence(_Part, kw_only=True):
    """A party that was not at the table; ``invited`` is None when the source does not say."""

    party: Slug
    invited: bool | None = None
    note: str = ""


class Stage(_Part, kw_only=True):
    name: Text
    terms: list[Text] = []


class Event(
    Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type", tag=True, gc=False
):
    """The envelope every event carries."""

    schema_version: ClassVar[int] = 1

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    stream: StreamName | None = None
    occurred: EdtfDate
    reported: EdtfDate | None = None
    title: Text
    summary: str = ""
    parties: list[Slug] = []
    sources: Annotated[list[Source], Meta(min_length=1)]
    positions: list[PositionTaken] = []

    def __post_init__(self) -> None:
        if self.reported is not None and self.reported.start < self.occurred.start:
            raise ValueError(f"reported {self.reported.text!r} is before occurred {self.occurred.text!r}")


class PartyDefined(Event, kw_only=True):
    party: Slug
    name: Text
    kind: Literal["state", "bloc", "organisation", "other"]


class IssueDefined(Event, kw_only=True):
    issue: Slug
    proposition: Text


class MeetingHeld(Event, kw_only=True):
    location: Text
    format: Literal["in_person", "phone", "video"]
    track: Literal["one", "two"]
    delegations: list[Delegation] = []
    absent: list[Absence] = []


class StatementMade(Event, kw_only=True):
    speaker: Text
    role: str = ""
    party: Slug
    quote: Text


class ProposalTabled(Event, kw_only=True):
    proposal: Slug
    by: Annotated[list[Slug], Meta(min_length=1)]
    name: Text
    terms: list[Text] = []
    stages: list[Stage] = []


class ProposalAmended(Event, kw_only=True):
    proposal: Slug
    by: Annotated[list[Slug], Meta(min_length=1)]
    terms: list[Text] = []
    stages: list[Stage] = []


class ProposalRejected(Event, kw_only=True):
    proposal: Slug
    by: Annotated[list[Slug], Meta(min_length=1)]
    reason: str = ""


class ProposalWithdrawn(Event, kw_only=True):
    proposal: Slug
    by: Annotated[list[Slug], Meta(min_length=1)]
    reason: str = ""


class AgreementReached(Event, kw_only=True):
    """A deal and the stage it has reached: agreed terms are not a signed deal."""

    agreement: Slug
    name: Text
    between: Annotated[list[Slug], Meta(min_length=1)]
    stage: AgreementStage
    terms: list[Text] = []
    proposal: Slug | None = None


class PledgeMade(Event, kw_only=True):
    by: Slug
    kind: Literal["military", "economic", "sanctions", "diplomatic"]
    what: Text
    to: Slug | None = None


class _Meta(Event, kw_only=True):
    """A fix of the record, not a happening in the world: it reveals no positions of its own."""

    target: uuid.UUID
    reason: Text

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.positions:
            raise ValueError(f"a {type(self).__name__} cannot carry positions; correct the event instead")


class EventRetracted(_Meta, kw_only=True):
    """Names an earlier event that should not have been recorded."""


class EventCorrected(_Meta, kw_only=True):
    """Names an earlier event and the fields that replace its own (validated against its type)."""

    changes: Annotated[dict[str, Any], Meta(min_length=1)]


AnyEvent = (
    PartyDefined
    | IssueDefined
    | MeetingHeld
    | StatementMade
    | ProposalTabled
    | ProposalAmended
    | ProposalRejected
    | ProposalWithdrawn
    | AgreementReached
    | PledgeMade
    | EventRetracted
    | EventCorrected
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in AnyEvent.__args__  # type: ignore[attr-defined]
}


def type_name(event: Event) -> str:
    return type(event).__name__


def with_stream(event: Event, stream: str) -> Event:
    return msgspec.structs.replace(event, stream=stream)
