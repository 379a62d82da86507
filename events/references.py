"""What an event defines and what it refers to, so a store can check that every reference resolves.

Kinds: ``party`` and ``issue`` (defined by PartyDefined / IssueDefined), ``proposal`` (defined by
ProposalTabled), ``event`` (any stored event, the target of a retraction or correction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, NamedTuple

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
        case EventRetracted():
            yield Ref("target", "event", str(event.target))
        case EventCorrected():
            yield Ref("target", "event", str(event.target))
            yield from change_references(event.changes)


CHANGES = "changes."  # where the references a correction's changes bring in are found in it

# The fields of any event type that name a party or a proposal, by the shape of their JSON value
_ONE: dict[str, Kind] = {
    "party": "party",
    "to": "party",
    "by": "party",
    "proposal": "proposal",
}  # an id (PledgeMade's `by`)
_IDS = ("parties", "between", "by")  # a list of party ids (the proposals' `by`)
_OBJECTS: dict[str, tuple[Kind, ...]] = {
    "delegations": ("party",),
    "absent": ("party",),
    "positions": ("party", "issue"),
}


def change_references(changes: dict[str, Any]) -> Iterator[Ref]:
    """What a correction's ``changes`` refer to, read from their JSON by field name (``changes.positions[0]
    .party`` ...). A value of another shape yields nothing here: the correction's own check, against its
    target's type, refuses it. A field that defines (PartyDefined's ``party``, IssueDefined's ``issue``,
    ProposalTabled's ``proposal``) is read as a reference too; a correction may not change it anyway."""
    for field, value in changes.items():
        at = CHANGES + field
        if isinstance(value, str) and field in _ONE:
            yield Ref(at, _ONE[field], value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if field in _IDS and isinstance(item, str):
                    yield Ref(f"{at}[{i}]", "party", item)
                elif field in _OBJECTS and isinstance(item, dict):
                    for key in _OBJECTS[field]:
                        if isinstance(item.get(key), str):
                            yield Ref(f"{at}[{i}].{key}", key, item[key])


def index_terms(event: Event) -> set[tuple[Kind, str]]:
    """The parties and issues an event concerns, for filtering the log by party or issue."""
    return terms_of(references(event), definition(event))


def terms_of(refs: Iterable[Ref], defined: tuple[Kind, str] | None) -> set[tuple[Kind, str]]:
    """``index_terms`` of an event from its references and its definition, where those are at hand. What a
    correction's changes name is checked, not indexed: a correction is found through its target."""
    terms: set[tuple[Kind, str]] = {
        (ref.kind, ref.id)
        for ref in refs
        if ref.kind in ("party", "issue") and not ref.path.startswith(CHANGES)
    }
    if defined is not None and defined[0] in ("party", "issue"):
        terms.add(defined)
    return terms
