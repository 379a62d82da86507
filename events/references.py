"""What an event defines and what it refers to, so a store can check that every reference resolves.

Kinds: ``party`` and ``issue`` (defined by PartyDefined / IssueDefined), ``proposal`` (defined by
ProposalTabled), ``event`` (any stored event, the target of a retraction or correction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, NamedTuple

from events.vocabulary import (
    AgreementReached,
    Event,
    EventCorrected,
    EventRetracted,
    IssueDefined,
    MeetingHeld,
    PartyDefined,
    PledgeMade,
    ProposalAmended,
    ProposalRejected,
    ProposalTabled,
    ProposalWithdrawn,
    StatementMade,
)

Kind = Literal["party", "issue", "proposal", "event"]


class Ref(NamedTuple):
    path: str  # where in the event, e.g. "positions[0].party"
    kind: Kind
    id: str


def definition(event: Event) -> tuple[Kind, str] | None:
    if isinstance(event, PartyDefined):
        return ("party", event.party)
    if isinstance(event, IssueDefined):
        return ("issue", event.issue)
    if isinstance(event, ProposalTabled):
        return ("proposal", event.proposal)
    return None


def references(event: Event) -> Iterator[Ref]:
    for i, party in enumerate(event.parties):
        yield Ref(f"parties[{i}]", "party", party)
    for i, position in enumerate(event.positions):
        yield Ref(f"positions[{i}].party", "party", position.party)
        yield Ref(f"positions[{i}].issue", "issue", position.issue)
    match event:
        case MeetingHeld():
            for i, delegation in enumerate(event.delegations):
                yield Ref(f"delegations[{i}].party", "party", delegation.party)
            for i, absence in enumerate(event.absent):
                yield Ref(f"absent[{i}].party", "party", absence.party)
        case StatementMade():
            yield Ref("party", "party", event.party)
        case ProposalTabled() | ProposalAmended() | ProposalRejected() | ProposalWithdrawn():
            for i, party in enumerate(event.by):
                yield Ref(f"by[{i}]", "party", party)
            if not isinstance(event, ProposalTabled):
                yield Ref("proposal", "proposal", event.proposal)
        case AgreementReached():
            for i, party in enumerate(event.between):
                yield Ref(f"between[{i}]", "party", party)
            if event.proposal is not None:
                yield Ref("proposal", "proposal", event.proposal)
        case PledgeMade():
            yield Ref("by", "party", event.by)
            if event.to is not None:
                yield Ref("to", "party", event.to)
        case EventRetracted() | EventCorrected():
            yield Ref("target", "event", str(event.target))


def index_terms(event: Event) -> set[tuple[Kind, str]]:
    """The parties and issues an event concerns, for filtering the log by party or issue."""
    return terms_of(references(event), definition(event))


def terms_of(refs: Iterable[Ref], defined: tuple[Kind, str] | None) -> set[tuple[Kind, str]]:
    """``index_terms`` of an event from its references and its definition, where those are at hand."""
    terms: set[tuple[Kind, str]] = {(ref.kind, ref.id) for ref in refs if ref.kind in ("party", "issue")}
    if defined is not None and defined[0] in ("party", "issue"):
        terms.add(defined)
    return terms
