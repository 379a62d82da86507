"""Small builders of valid events for tests, as structs or as the JSON a client would send."""

from __future__ import annotations

import uuid
from typing import Any

from events.codec import convert, to_builtins
from events.vocabulary import AnyEvent, Event

SOURCE = {"publisher": "Test Wire", "title": "A report", "excerpt": "A sentence."}
BASIS = "reported"


def body(type_: str, occurred: str = "2025-02-18", **fields: Any) -> dict[str, Any]:
    """An event of ``type_`` as JSON; positions that name no basis get one (tests of the basis itself
    build their positions in full)."""
    fields.setdefault("title", f"{type_} on {occurred}")
    fields.setdefault("sources", [SOURCE])
    fields.setdefault("id", str(uuid.uuid4()))
    if "positions" in fields:
        fields["positions"] = [{"basis": BASIS, **taken} for taken in fields["positions"]]
    return {"type": type_, "occurred": occurred, **fields}


def party(pid: str, **fields: Any) -> dict[str, Any]:
    fields = {"name": pid.upper(), "kind": "state", **fields}
    return body("PartyDefined", "2025", party=pid, **fields)


def issue(iid: str, **fields: Any) -> dict[str, Any]:
    fields = {"proposition": f"the {iid} proposition", **fields}
    return body("IssueDefined", "2025", issue=iid, **fields)


def statement(pid: str, occurred: str = "2025-02-18", **fields: Any) -> dict[str, Any]:
    fields = {"speaker": "A Speaker", "quote": "We said it.", **fields}
    return body("StatementMade", occurred, party=pid, **fields)


def event(data: dict[str, Any]) -> Event:
    return convert(data, AnyEvent)


def events(*data: dict[str, Any]) -> list[Event]:
    return [event(d) for d in data]


def as_json(e: Event) -> dict[str, Any]:
    return to_builtins(e)
