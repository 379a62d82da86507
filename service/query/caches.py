"""What a process keeps between requests: a bounded map, and the decoded event forms every answer shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import sqlalchemy as sa

from events.codec import decode_stored
from events.timeaxes import Effective
from events.vocabulary import Event
from service.projection.forms import VERSIONS_BY_SEQ, effective_of, logged_events
from service.storage.bulk import chunks

K = TypeVar("K")
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """At most ``capacity`` entries (0: none); when full it empties itself and starts again.

    Everything kept can be made again from the database, so forgetting all at once is safe, and it costs
    no bookkeeping on a hit. Callers keep what they found for the request in hand: a later ``keep`` in
    the same request may empty the map.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: dict[K, V] = {}

    def get(self, key: K, default: V | None = None) -> V | None:
        return self._entries.get(key, default)

    def __len__(self) -> int:
        return len(self._entries)

    def keep(self, key: K, value: V) -> V:
        if self.capacity > 0:
            if len(self._entries) >= self.capacity:
                self._entries.clear()
            self._entries[key] = value
        return value


DEFAULT_CAPACITY = 100_000  # entries of each kind a process keeps


class FormCache:
    """Decoded event forms, shared by all requests of a process.

    A version row's form is the event as resolved at the row's lower corner (seq, pos_from, known_from),
    which depends only on log entries at or before ``pos_from``: the log is append-only, so a form under
    that key never changes, even when later fixes split or replace the row. Decoding is most of the cost
    of a state answer; with this cache an answer decodes only what it has not seen before.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._forms: BoundedMap[tuple[int, int, str], Effective] = BoundedMap(capacity)

    @staticmethod
    def key(row: sa.Row) -> tuple[int, int, str]:
        return (row.seq, row.pos_from, row.known_from)

    def of_row(self, row: sa.Row) -> Effective:
        """The form of a row that carries the stored event (``FORM_OF_VERSION``)."""
        key = self.key(row)
        form = self._forms.get(key)
        if form is None:
            form = self._forms.keep(key, effective_of(row))
        return form

    def of_rows(self, conn: sa.Connection, rows: Sequence[sa.Row]) -> list[Effective]:
        """The forms that position rows name (by ``seq``, ``form_no``, ``pos_from``, ``known_from`` and
        ``corrected``); fetches and decodes the missing ones. An uncorrected form is the stored event
        itself, so the log alone is read for it."""
        keys = [(row.seq, row.pos_from, row.known_from) for row in rows]
        found, missing = {}, []
        for row, key in zip(rows, keys, strict=True):
            form = self._forms.get(key)
            if form is None:
                missing.append((row, key))
            else:
                found[key] = form
        if missing:
            stored = self._logged(conn, {row.seq for row, _ in missing if not row.corrected})
            for row, key in missing:
                if not row.corrected:
                    found[key] = self._forms.keep(key, Effective(row.seq, stored[row.seq], False, False))
            for row in self._fetch(conn, {(row.seq, row.form_no) for row, _ in missing if row.corrected}):
                found[self.key(row)] = self._forms.keep(self.key(row), effective_of(row))
        return [found[key] for key in keys]

    @staticmethod
    def _logged(conn: sa.Connection, seqs: set[int]) -> dict[int, Event]:
        """Events as logged, decoded (and upcast), by log position."""
        return {
            position: decode_stored(row.data, row.type, row.schema_version)
            for position, row in logged_events(conn, seqs).items()
        }

    @staticmethod
    def _fetch(conn: sa.Connection, keys: set[tuple[int, int]]) -> list[sa.Row]:
        """Version rows with their events by (seq, form_no), looked up by ``seq`` alone, which the primary key
        serves (a row-value ``IN`` would make SQLite scan the whole table)."""
        return [
            row
            for chunk in chunks({seq for seq, _ in keys})
            for row in conn.execute(VERSIONS_BY_SEQ[conn.dialect.name == "sqlite"], {"seqs": chunk})
            if (row.seq, row.form_no) in keys
        ]
