"""The projections as pure folds of effective events in valid-time order (see :mod:`events.timeaxes`).

State answers "who stood where on what, which proposals and agreements stood how, who met whom" as of a
point on the three time axes. The fold is defined here once; the service maintains indexed forms of it
and must return exactly what :func:`fold` returns for the same events.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import msgspec

from events.dates import EdtfDate, Precision
from events.timeaxes import Effective
from events.vocabulary import (
    Absence,
    AgreementReached,
    Delegation,
    Event,
    IssueDefined,
    MeetingHeld,
    PartyDefined,
    PositionTaken,
    ProposalAmended,
    ProposalRejected,
    ProposalTabled,
    ProposalWithdrawn,
    Source,
    Stage,
    type_name,
)

STRUCTURAL_TYPES = (
    "PartyDefined",
    "IssueDefined",
    "MeetingHeld",
    "ProposalTabled",
    "ProposalAmended",
    "ProposalRejected",
    "ProposalWithdrawn",
    "AgreementReached",
)


class _View(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    pass


class EventRef(_View):
    """The event behind an answer, with what a reader needs to check it."""

    id: uuid.UUID
    type: str
    title: str
    position: int
    occurred: str
    precision: Precision
    corrected: bool
    sources: list[Source]

    @classmethod
    def of(cls, effective: Effective) -> EventRef:
        event = effective.event
        return cls(
            id=event.id,
            type=type_name(event),
            title=event.title,
            position=effective.position,
            occurred=event.occurred.text,
            precision=event.occurred.precision,
            corrected=effective.corrected,
            sources=event.sources,
        )


class Stand(_View):
    """A party's stance on an issue, since when, and the event that set it."""

    party: str
    issue: str
    stance: str
    basis: str  # stated, reported or inferred (see events.vocabulary.Basis)
    summary: str
    quote: str | None
    since: str
    since_start: dt.date
    since_precision: Precision
    event: EventRef


class PartyInfo(_View):
    id: str
    name: str
    kind: str
    defined_by: uuid.UUID


class IssueInfo(_View):
    id: str
    proposition: str
    defined_by: uuid.UUID


class StatusChange(_View):
    status: str
    date: str
    by: list[str]
    event: uuid.UUID


class ProposalState(_View):
    id: str
    name: str
    by: list[str]
    terms: list[str]
    stages: list[Stage]
    status: str
    history: list[StatusChange]


class AgreementState(_View):
    id: str
    name: str
    between: list[str]
    terms: list[str]
    proposal: str | None
    stage: str
    history: list[StatusChange]


class MeetingState(_View):
    id: uuid.UUID
    title: str
    date: str
    location: str | None  # None: the sources do not say
    format: str | None
    track: str
    delegations: list[Delegation]
    absent: list[Absence]
    event: EventRef


class State(_View):
    parties: list[PartyInfo]
    issues: list[IssueInfo]
    positions: list[Stand]
    proposals: list[ProposalState]
    agreements: list[AgreementState]
    meetings: list[MeetingState]


def stand(effective: Effective, position: PositionTaken) -> Stand:
    return stand_of(position, effective.event.occurred, EventRef.of(effective))


def stand_of(position: PositionTaken, occurred: EdtfDate, event: EventRef) -> Stand:
    """A position as a Stand, since the date its event occurred."""
    return Stand(
        party=position.party,
        issue=position.issue,
        stance=position.stance,
        basis=position.basis,
        summary=position.summary,
        quote=position.quote,
        since=occurred.text,
        since_start=occurred.start,
        since_precision=occurred.precision,
        event=event,
    )


def fold_positions(events: Iterable[Effective]) -> dict[tuple[str, str], Stand]:
    """The latest stance of each party on each issue: a later event (valid time) replaces an earlier."""
    cells: dict[tuple[str, str], Stand] = {}
    for effective in events:
        for position in effective.event.positions:
            cells[(position.party, position.issue)] = stand(effective, position)
    return cells


def fold_structure(events: Iterable[Effective]) -> State:
    """Vocabulary, proposals, agreements and meetings (everything but positions)."""
    parties: dict[str, PartyInfo] = {}
    issues: dict[str, IssueInfo] = {}
    proposals: dict[str, ProposalState] = {}
    agreements: dict[str, AgreementState] = {}
    meetings: list[MeetingState] = []
    for effective in events:
        event: Event = effective.event
        change = StatusChange(status="", date=event.occurred.text, by=[], event=event.id)
        match event:
            case PartyDefined():
                parties[event.party] = PartyInfo(
                    id=event.party, name=event.name, kind=event.kind, defined_by=event.id
                )
            case IssueDefined():
                issues[event.issue] = IssueInfo(
                    id=event.issue, proposition=event.proposition, defined_by=event.id
                )
            case ProposalTabled():
                step = msgspec.structs.replace(change, status="tabled", by=event.by)
                earlier = proposals.get(event.proposal)
                proposals[event.proposal] = ProposalState(
                    id=event.proposal,
                    name=event.name,
                    by=event.by,
                    terms=event.terms,
                    stages=event.stages,
                    status="tabled",
                    history=[*(earlier.history if earlier else []), step],
                )
            case ProposalAmended() | ProposalRejected() | ProposalWithdrawn():
                status = {
                    ProposalAmended: "amended",
                    ProposalRejected: "rejected",
                    ProposalWithdrawn: "withdrawn",
                }[type(event)]
                earlier = proposals.get(event.proposal)
                if earlier is None:  # its tabling lies later in valid time, or does not count
                    continue
                fields = {
                    "status": status,
                    "history": [
                        *earlier.history,
                        msgspec.structs.replace(change, status=status, by=event.by),
                    ],
                }
                if isinstance(event, ProposalAmended):
                    fields |= {
                        "terms": event.terms or earlier.terms,
                        "stages": event.stages or earlier.stages,
                    }
                proposals[event.proposal] = msgspec.structs.replace(earlier, **fields)
            case AgreementReached():
                earlier_deal = agreements.get(event.agreement)
                step = msgspec.structs.replace(change, status=event.stage, by=event.between)
                agreements[event.agreement] = AgreementState(
                    id=event.agreement,
                    name=event.name,
                    between=event.between,
                    terms=event.terms,
                    proposal=event.proposal,
                    stage=event.stage,
                    history=[*(earlier_deal.history if earlier_deal else []), step],
                )
            case MeetingHeld():
                meetings.append(
                    MeetingState(
                        id=event.id,
                        title=event.title,
                        date=event.occurred.text,
                        location=event.location,
                        format=event.format,
                        track=event.track,
                        delegations=event.delegations,
                        absent=event.absent,
                        event=EventRef.of(effective),
                    )
                )
    return State(
        parties=sorted(parties.values(), key=lambda p: p.id),
        issues=sorted(issues.values(), key=lambda i: i.id),
        positions=[],
        proposals=sorted(proposals.values(), key=lambda p: p.id),
        agreements=sorted(agreements.values(), key=lambda a: a.id),
        meetings=meetings,
    )


def entry_of(effective: Effective) -> tuple[str, str | int]:
    """Which entry of the structure a structural event can change: the list of :class:`State` it lands in,
    and the entry's key there (a meeting is its own entry).

    :func:`fold_structure` folds every entry from that entry's own events alone, so a state can be put
    together from entries folded, and kept, one by one.
    """
    event = effective.event
    match event:
        case PartyDefined():
            return ("parties", event.party)
        case IssueDefined():
            return ("issues", event.issue)
        case ProposalTabled() | ProposalAmended() | ProposalRejected() | ProposalWithdrawn():
            return ("proposals", event.proposal)
        case AgreementReached():
            return ("agreements", event.agreement)
        case MeetingHeld():
            return ("meetings", effective.position)
    raise ValueError(f"a {type_name(event)} is not part of the structure")


def fold(events: Iterable[Effective]) -> State:
    """The whole state: the oracle every projection endpoint must agree with."""
    events = list(events)
    cells = fold_positions(events)
    structure = fold_structure(e for e in events if type_name(e.event) in STRUCTURAL_TYPES)
    return msgspec.structs.replace(structure, positions=[cells[key] for key in sorted(cells)])


class Change(_View):
    """A position taken, with the stance the party held on that issue just before (None: none yet)."""

    before: str | None
    changed: bool
    after: Stand


def position_changes(events: Iterable[Effective]) -> list[Change]:
    """Every position taken, in valid-time order, each with what it replaced."""
    held: dict[tuple[str, str], str] = {}
    changes = []
    for effective in events:
        for position in effective.event.positions:
            key = (position.party, position.issue)
            before = held.get(key)
            changes.append(
                Change(before=before, changed=before != position.stance, after=stand(effective, position))
            )
            held[key] = position.stance
    return changes
