"""Event files: the bundled data set (``events/data/*.json``), import of any such file, and export.

A file is a JSON array of events, each naming its ``stream``, in the order they are to be appended. Files
go through the same validation and the same append path as the API. Event ids are fixed in the files, so
loading a file twice stores nothing new: an id already stored with the same body is a no-op.

An export is such a file whose every event also carries ``log``: where it stood in the log it came from
(position, version, when it was recorded) and its hash, all the hash chain needs, so that anyone can
check the chain from the file alone. ``import`` reads the event without it; into an empty database, a
whole log is restored as it was, at the same positions with the same recording times, and refused unless
it gives the same hashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from itertools import groupby
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa

from events.codec import decoder
from events.vocabulary import AnyEvent, Event
from service.storage.bulk import run
from service.storage.chain import Link, logged
from service.storage.log import APPEND_LOCK_KEY, Batch, EventStore, read_head
from service.storage.refusals import AppendRefused
from service.storage.tables import events as events_table

MAX_BATCH = 1000


class LogFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where an exported event stood in its log: what the hash chain covers besides the event, and the
    hash it gave."""

    position: Annotated[int, msgspec.Meta(ge=1)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    recorded_at: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")]
    hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]


class _Entry(msgspec.Struct, frozen=True):
    log: LogFields | None = None  # (the event's own fields are skipped)


_file_decoder = decoder(list[AnyEvent])
_entries_decoder = msgspec.json.Decoder(list[_Entry])
_event_decoder = decoder(AnyEvent)


class EventFile(list):
    """The events of a file, in order; for an export also where each stood in its log (``log``) and
    each one's JSON as the file gives it (``data``): what that log's hash chain covers."""

    def __init__(
        self, events: Iterable[Event], log: list[LogFields] | None = None, data: list[str] | None = None
    ) -> None:
        super().__init__(events)
        self.log = log
        self.data = data

    def links(self) -> list[Link]:
        """What the hash chain covers of each event, with the hash the file gives (an export only)."""
        assert self.log is not None and self.data is not None
        return [
            Link(at.position, event.stream, at.version, at.recorded_at, data, at.hash)
            for event, at, data in zip(self, self.log, self.data, strict=True)
        ]


class InvalidFile(ValueError):
    """A file that is not a valid list of events; says which file and where."""


def parse(content: bytes, name: str) -> EventFile:
    try:
        log = [entry.log for entry in _entries_decoder.decode(content)]
        parsed = EventFile(_file_decoder.decode(content)) if not any(log) else _parse_export(content, log)
    except msgspec.DecodeError as exc:
        raise InvalidFile(f"{name}: {exc}") from exc
    for index, event in enumerate(parsed):
        if event.stream is None:
            raise InvalidFile(f"{name}: event {index} ({event.id}) names no stream")
    return parsed


def _parse_export(content: bytes, log: list[LogFields | None]) -> EventFile:
    """Each event without its ``log``, read as strictly as any other, and its JSON as the file gives it."""
    if None in log:
        raise msgspec.ValidationError(f"an export's events all carry `log` - at `$[{log.index(None)}]`")
    data, events = [], []
    for index, entry in enumerate(msgspec.json.decode(content, type=list[dict[str, Any]])):
        del entry["log"]
        json = msgspec.json.encode(entry)  # compact, in the file's order of fields: as it was logged
        try:
            events.append(_event_decoder.decode(json))
        except msgspec.ValidationError as exc:  # where it is in the file, as the plain decoder says it
            message = str(exc)
            path = f"`$[{index}]"
            message = message.replace("`$", path, 1) if " - at `$" in message else f"{message} - at {path}`"
            raise msgspec.ValidationError(message) from None
        data.append(json.decode())
    return EventFile(events, log, data)  # type: ignore[arg-type]


def bundled() -> list[Event]:
    """The data set shipped with the service, file by file in name order."""
    folder = resources.files("events") / "data"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [event for f in files for event in parse(f.read_bytes(), f"events/data/{f.name}")]


def _batches(events: Sequence[Event], recorded_at: Sequence[str] | None = None) -> Iterator[Batch]:
    for stream, indexes in groupby(range(len(events)), key=lambda i: events[i].stream):
        indexes = list(indexes)
        for start in range(0, len(indexes), MAX_BATCH):
            part = indexes[start : start + MAX_BATCH]
            times = None if recorded_at is None else [recorded_at[i] for i in part]
            yield Batch(stream, [events[i] for i in part], None, times)


def load(store: EventStore, events: list[Event]) -> int:
    """Append the events in one transaction (all or nothing); return how many were new. A whole exported
    log loaded into an empty database is restored as it was (see ``_restore``)."""
    batches = list(_batches(events))
    try:
        if isinstance(events, EventFile) and (restored := _restore(store, events)) is not None:
            return restored
        results = store.append_batches(batches)
    except AppendRefused as exc:
        first = sum(len(b.events) for b in batches[: exc.batch])  # where the batch starts in the file
        pointer = re.sub(r"^/events/(\d+)", lambda m: f"/{first + int(m[1])}", exc.pointer or "")
        raise InvalidFile(f"{exc.detail} (at {pointer or '/'})") from exc
    return sum(0 if r.replayed else len(r.events) for r in results)


def _restore(store: EventStore, file: EventFile) -> int | None:
    """Restore a whole exported log into an empty one: each event at its position with its recording
    time, so that the chain gives the same hashes, and the hashes cited from the old log hold in the new.
    The last hash covers all before it: unless it comes out as the file says, nothing is stored. None
    (nothing done) for a file that is not a whole log, or a database that is not empty: there the events
    are appended as any others, recorded now."""
    if file.log is None or [at.position for at in file.log] != list(range(1, len(file) + 1)):
        return None
    batches = list(_batches(file, [at.recorded_at for at in file.log]))
    with store.db.write_lock(), store.db.writer.begin() as conn:
        if not store.db.is_sqlite:  # the appends' own lock, taken before the head is read
            run(conn, "SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        if read_head(conn) != 0:
            return None
        store.append_in(conn, batches)
        last = conn.scalar(sa.select(events_table.c.hash).where(events_table.c.position == len(file)))
        if last != file.log[-1].hash:
            raise InvalidFile(
                f"restored, the log's hash at position {len(file)} would be {last}, not the file's "
                f"{file.log[-1].hash}: the file was changed after it was exported (`python -m service "
                "verify --from-export FILE` says where)"
            )
    return len(file)


def export(store: EventStore) -> bytes:
    """The whole log, in position order, as one file that `load` accepts: each event as logged (not
    upcast: the chain covers what was logged), with its ``log``."""
    entries = []
    for link in logged(store.db):
        entry = msgspec.json.decode(link.data)
        entry["log"] = LogFields(link.position, link.version, link.recorded_at, link.hash)
        entries.append(entry)
    return msgspec.json.format(msgspec.json.encode(entries), indent=2) + b"\n"
