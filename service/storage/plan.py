"""What an append stores: each batch checked, in order, against what is stored and what the batches planned
before it add, and given its log positions. No I/O: the store looks up what the plan needs in one go for
all batches (the ids already stored, the streams' versions, the definitions and events referred to), then
plans them one by one, then writes what was planned.

Planning batch by batch is what lets batches sent apart share one transaction (group commit): a batch
that is refused changes nothing the batches after it see, so they are planned as if it had never been
sent, exactly as they would have been in transactions of their own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from events.codec import apply_changes, decode_stored
from events.references import Kind, Ref, definition, references
from events.vocabulary import Event, EventCorrected, EventRetracted, with_stream
from service.storage.refusals import AppendRefused, IdConflict, UnresolvedReference, VersionConflict


class Batch(NamedTuple):
    """Events for one stream, with the version the stream must be at (None: any)."""

    stream: str
    events: Sequence[Event]
    expected_version: int | None = None
    # when each event was recorded, for a log restored from its export (service.dataset); None: now
    recorded_at: Sequence[str] | None = None
    # the digest of the managed write token it was sent with, checked in the append's transaction
    # (service.storage.tokens.refused_in); None: a token of the environment, or no request at all
    token: str | None = None


class Appended(msgspec.Struct, frozen=True):
    id: uuid.UUID
    position: int
    version: int


class AppendResult(msgspec.Struct, frozen=True):
    stream: str
    version: int
    events: list[Appended]
    replayed: bool = False  # every event was already stored: this is the earlier result


class Prepared(NamedTuple):
    """An event of a batch, in its stream, with what the plan asks of it, worked out once."""

    event: Event
    id: str
    refs: list[Ref]
    defines: tuple[Kind, str] | None


class New(NamedTuple):
    """An event planned for storing: its batch, its place there, and the position and version it takes."""

    batch: int
    index: int
    prepared: Prepared
    position: int
    version: int

    @property
    def event(self) -> Event:
        return self.prepared.event


class Known(NamedTuple):
    """What is stored of what the events refer to: definitions as (kind, id), and events by id."""

    definitions: set[tuple[str, str]]
    events: dict[str, Event]


@contextlib.contextmanager
def blame(batch: int):
    """Mark a refusal raised inside with the batch it concerns."""
    try:
        yield
    except AppendRefused as exc:
        exc.batch = batch
        raise


def prepare(batch: Batch) -> list[Prepared]:
    """The batch's events, each in its stream; refused if empty, for another stream, or naming an id
    twice."""
    if not batch.events:
        raise AppendRefused("the batch holds no events", "/events")
    prepared: list[Prepared] = []
    seen: dict[str, int] = {}
    for index, event in enumerate(batch.events):
        if event.stream is None:
            event = with_stream(event, batch.stream)
        elif event.stream != batch.stream:
            raise AppendRefused(
                f"event is for stream {event.stream!r} but was sent to stream {batch.stream!r}",
                f"/events/{index}/stream",
            )
        ident = str(event.id)
        if ident in seen:
            raise IdConflict(
                f"event id {ident} appears twice (first as event {seen[ident]})",
                f"/events/{index}/id",
            )
        seen[ident] = index
        prepared.append(Prepared(event, ident, list(references(event)), definition(event)))
    return prepared


def named_once(prepared: dict[int, list[Prepared]]) -> None:
    """Refuse an id that two batches of one all-or-nothing append both name."""
    seen: dict[str, tuple[int, int]] = {}
    for k, evs in prepared.items():
        for index, item in enumerate(evs):
            if item.id in seen:
                with blame(k):
                    raise IdConflict(
                        f"event id {item.id} appears twice (first at batch {seen[item.id][0]}, "
                        f"event {seen[item.id][1]})",
                        f"/events/{index}/id",
                    )
            seen[item.id] = (k, index)


class Plan:
    """The batches planned so far, over what is stored: ``stored`` rows by id, the streams' ``versions``,
    ``known`` references, and the log's last position."""

    def __init__(self, stored: dict, known: Known, versions: dict[str, int], last_position: int) -> None:
        self.stored, self.known, self.versions = stored, known, versions
        self.position = last_position
        self.new: list[New] = []
        self.definitions: dict[tuple[str, str], int] = {}  # first defined by a planned event, where
        self._planned: dict[str, New] = {}  # planned events by id

    def add(self, k: int, batch: Batch, evs: list[Prepared]) -> AppendResult:
        """Plan batch ``k`` (its events as ``prepare`` gave them), or raise its refusal and plan nothing."""
        done: dict[int, Appended] = {}
        fresh = []
        for index, item in enumerate(evs):
            event, ident = item.event, item.id
            earlier = self._planned.get(ident)
            if earlier is not None:
                same, position = earlier.event == event, earlier.position
                version = earlier.version
            elif (row := self.stored.get(ident)) is not None:
                same = row.stream == batch.stream and (
                    decode_stored(row.data, row.type, row.schema_version) == event
                )
                position, version = row.position, row.version
            else:
                fresh.append((index, item))
                continue
            if not same:
                raise IdConflict(
                    f"event id {ident} is already stored (position {position}) with a different body",
                    f"/events/{index}/id",
                    position=position,
                )
            done[index] = Appended(event.id, position, version)
        current = self.versions.get(batch.stream, 0)
        if not fresh:
            replay = [done[i] for i in range(len(evs))]
            return AppendResult(batch.stream, max(a.version for a in replay), replay, True)
        if batch.expected_version is not None and batch.expected_version != current:
            raise VersionConflict(
                f"stream {batch.stream!r} is at version {current}, not {batch.expected_version}",
                "/expected_version",
                current_version=current,
            )
        position, items = self.position, []
        for index, item in fresh:
            position, current = position + 1, current + 1
            items.append(New(k, index, item, position, current))
            done[index] = Appended(item.event.id, position, current)
        defined = self._check_references(items)
        # accepted: what it adds is seen by the batches planned after it
        self.position, self.versions[batch.stream] = position, current
        self.new += items
        self._planned |= {item.prepared.id: item for item in items}
        self.definitions |= defined
        return AppendResult(batch.stream, current, [done[i] for i in range(len(evs))])

    def _check_references(self, items: list[New]) -> dict[tuple[str, str], int]:
        """Check that every reference of a batch resolves to something stored, planned, or defined by an
        earlier event of the batch; returns what the batch defines for the first time, with where."""
        here: dict[tuple[str, str], int] = {}
        earlier: dict[str, Event] = {}
        for item in items:
            defined = item.prepared.defines
            if defined is not None:
                here.setdefault(defined, item.position)
            if isinstance(item.event, EventCorrected):  # its target first: what its changes may be
                target = str(item.event.target)
                named = earlier.get(target) or self.known.events.get(target)
                if named is None and target in self._planned:
                    named = self._planned[target].event
                if named is None:
                    raise _unresolved(item.index, "target", "event", target)
                _check_correction(item.index, item.event, named)
            for ref in item.prepared.refs:
                if ref.kind == "event":
                    known = ref.id in earlier or ref.id in self._planned or ref.id in self.known.events
                else:
                    key = (ref.kind, ref.id)
                    known = key in here or key in self.definitions or key in self.known.definitions
                if not known:
                    raise _unresolved(item.index, ref.path, ref.kind, ref.id)
            earlier[item.prepared.id] = item.event
        return {
            key: position
            for key, position in here.items()
            if key not in self.known.definitions and key not in self.definitions
        }


def _unresolved(index: int, path: str, kind: str, ident: str) -> UnresolvedReference:
    if kind == "event":
        return UnresolvedReference(
            f"{path} names event {ident}, which is not stored", f"/events/{index}/{path}"
        )
    return UnresolvedReference(
        f"{path} refers to {kind} {ident!r}, which no earlier {kind.capitalize()}"
        f"{'Tabled' if kind == 'proposal' else 'Defined'} event defines",
        f"/events/{index}/" + path.replace("[", "/").replace("]", "").replace(".", "/"),
    )


def _check_correction(index: int, event: EventCorrected, target: Event) -> None:
    if isinstance(target, EventRetracted | EventCorrected):
        raise AppendRefused(
            "a retraction or correction cannot be corrected; retract it instead",
            f"/events/{index}/target",
        )
    try:
        corrected = apply_changes(target, event.changes)
    except msgspec.ValidationError as exc:
        raise AppendRefused(
            f"the corrected event would be invalid: {exc}", f"/events/{index}/changes"
        ) from exc
    defines = definition(target)
    if defines is not None and definition(corrected) != defines:
        kind, ident = defines
        raise AppendRefused(
            f"a correction cannot change the {kind} an event defines ({ident!r}): "
            f"define another {kind} instead",
            f"/events/{index}/changes/{kind}",
        )
