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

SLUG_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
STREAM_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,127}$"
Slug = Annotated[str, Meta(pattern=SLUG_PATTERN, description="a lower-case identifier")]
StreamName = Annotated[str, Meta(pattern=STREAM_PATTERN, description="a stream name")]
Text = Annotated[str, Meta(min_length=1, max_length=10_000)]
Stance = Literal["supports", "opposes", "conditional", "neutral", "unclear"]
# What a stance rests on: the party's own words (quoted, or a statement the source attributes to a named
# speaker of the party), the source's report of the party's position (possibly attributed: "according to
# sources close to..."), or the source's inference from the party's conduct.
Basis = Literal["stated", "reported", "inferred"]
AgreementStage = Literal["agreed_in_principle", "approved", "signed", "ratified", "in_force"]


class _Part(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """A value nested in an event."""


class Source(_Part, kw_only=True):
    """Where a claim comes from; ``excerpt`` is the supporting sentence of the source, verbatim.

    ``contributes`` names the fields of the event this source is the authority for (``occurred``,
    ``location``, ``format``, ...): a day, place or format that one source lacks comes from another that
    gives it, and says so here.
    """

    publisher: Text
    title: Text
    url: str | None = None
    date: EdtfDate | None = None
    excerpt: str | None = None
    contributes: list[Slug] = []


class PositionTaken(_Part, kw_only=True):
    """A party's stance on an issue, as an event reveals it."""

    party: Slug
    issue: Slug
    stance: Stance
    basis: Basis
    summary: Text
    quote: str | None = None  # only the party's own words, as the source quotes them


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

    # 2: every position has a basis (version 1 is upcast on read, see events.codec)
    schema_version: ClassVar[int] = 2

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
        for source in self.sources:  # on the write path: the usual source contributes nothing, checked fast
            if source.contributes:
                self._check_contributes()
                break

    def _check_contributes(self) -> None:
        for i, source in enumerate(self.sources):
            for name in source.contributes:
                if name not in self.__struct_fields__:
                    raise ValueError(
                        f"sources[{i}].contributes names {name!r}, not a field of {type(self).__name__}"
                    )


class PartyDefined(Event, kw_only=True):
    party: Slug
    name: Text
    kind: Literal["state", "bloc", "organisation", "other"]


class IssueDefined(Event, kw_only=True):
    issue: Slug
    proposition: Text


class MeetingHeld(Event, kw_only=True):
    """``location`` and ``format`` are None where the sources do not say."""

    location: Text | None = None
    format: Literal["in_person", "phone", "video"] | None = None
    track: Literal["one", "two"]
    delegations: list[Delegation] = []
    absent: list[Absence] = []


class StatementMade(Event, kw_only=True):
    """``quote`` holds the speaker's words as the source quotes them; a statement the source gives only in
    its own words (indirect speech) has none."""

    speaker: Text
    role: str = ""
    party: Slug
    quote: Text | None = None


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


class DevelopmentReported(Event, kw_only=True):
    """What a source reports that no other type describes (a stance kept, pressure applied, a concern voiced
    with no speaker named): its title, summary, sources and positions say it all."""


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
    | DevelopmentReported
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
