"""A position's :class:`~events.folds.Stand` as JSON, read straight from its event as stored.

``/state`` shows the latest position of every cell, and with a large log most of them belong to events the
process has never decoded. Decoding a whole event (every nested struct, every constraint) and encoding the
Stand costs about 8 µs; a Stand needs a handful of the event's fields, and its sources are the stored JSON
verbatim, as both are written by the one canonical encoder. Reading only those fields and passing the
sources through costs about a third of that, and gives the same bytes as ``encode(stand(...))`` for the
event's stored form (tested). It holds for events stored by the current schema of their type only: older
ones are upcast first, which needs the full decode.
"""

from __future__ import annotations

import uuid

import msgspec

from events.codec import encode, parse_date
from events.folds import EventRef, stand_of

# The version of the rendering of a Stand (what `encode(stand(...))` and `stand_json` give). The daily stands
# keep rendered JSON; raise this whenever that JSON changes (a field added to Stand, say), and the service
# renders them again at the next `migrate` or `serve` instead of serving the old form.
RENDERING = 2  # 2: a stance shows its basis


class _Position(msgspec.Struct, gc=False):
    party: str
    issue: str
    stance: str
    basis: str
    summary: str
    quote: str | None = None


class _Shown(msgspec.Struct, gc=False):
    """What a Stand shows of its event; every other field is skipped unread."""

    type: str
    id: uuid.UUID
    title: str
    occurred: str
    sources: msgspec.Raw
    positions: list[_Position] = []


_shown = msgspec.json.Decoder(_Shown)


def stand_json(data: str | bytes, position: int, idx: int) -> bytes:
    """The JSON of ``stand(Effective(position, event, False, False), event.positions[idx])`` for the event
    stored as ``data`` (validated when it was appended, so it is trusted here)."""
    shown = _shown.decode(data)
    taken = shown.positions[idx]
    occurred = parse_date(shown.occurred)
    event = EventRef(
        id=shown.id,
        type=shown.type,
        title=shown.title,
        position=position,
        occurred=occurred.text,
        precision=occurred.precision,
        corrected=False,
        # the stored JSON of the sources, which encodes as itself: the same bytes as the decoded list
        sources=shown.sources,  # type: ignore[arg-type]
    )
    # the position is read with the field names of PositionTaken, without its constraints
    return encode(stand_of(taken, occurred, event))  # type: ignore[arg-type]
