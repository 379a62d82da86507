"""Event files: the bundled data set (``events/data/*.json``), import of any such file, and export.

A file is a JSON array of events, each naming its ``stream``, in the order they are to be appended. Files
go through the same validation and the same append path as the API. Event ids are fixed in the files, so
loading a file twice stores nothing new: an id already stored with the same body is a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import resources
from itertools import groupby

import msgspec

from events.codec import decoder, encode
from events.vocabulary import AnyEvent, Event
from service.storage.log import Batch, EventStore
from service.storage.refusals import AppendRefused

_file_decoder = decoder(list[AnyEvent])
MAX_BATCH = 1000


class InvalidFile(ValueError):
    """A file that is not a valid list of events; says which file and where."""


def parse(content: bytes, name: str) -> list[Event]:
    try:
        events = _file_decoder.decode(content)
    except msgspec.DecodeError as exc:
        raise InvalidFile(f"{name}: {exc}") from exc
    for index, event in enumerate(events):
        if event.stream is None:
            raise InvalidFile(f"{name}: event {index} ({event.id}) names no stream")
    return events


def bundled() -> list[Event]:
    """The data set shipped with the service, file by file in name order."""
    folder = resources.files("events") / "data"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [event for f in files for event in parse(f.read_bytes(), f"events/data/{f.name}")]


def _batches(events: Iterable[Event]) -> Iterator[Batch]:
    for stream, run in groupby(events, key=lambda e: e.stream):
        run = list(run)
        for start in range(0, len(run), MAX_BATCH):
            yield Batch(stream, run[start : start + MAX_BATCH])


def load(store: EventStore, events: list[Event]) -> int:
    """Append the events in one transaction (all or nothing); return how many were new."""
    batches = list(_batches(events))
    try:
        results = store.append_batches(batches)
    except AppendRefused as exc:
        first = sum(len(b.events) for b in batches[: exc.batch])  # where the batch starts in the file
        pointer = re.sub(r"^/events/(\d+)", lambda m: f"/{first + int(m[1])}", exc.pointer or "")
        raise InvalidFile(f"{exc.detail} (at {pointer or '/'})") from exc
    return sum(0 if r.replayed else len(r.events) for r in results)


def export(store: EventStore) -> bytes:
    """The whole log, in position order, as one file that `load` accepts."""
    events: list[Event] = []
    after = 0
    while page := store.read_log(after=after, limit=1000).events:
        events += [recorded.event for recorded in page]
        after = page[-1].position
    return msgspec.json.format(encode(events), indent=2) + b"\n"
