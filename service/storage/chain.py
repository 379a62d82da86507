"""The hash chain as anyone can check it: the log's rows in order with what the chain covers, the check
itself (of the database or of an export, the same code), and the hash at a position for read answers.

Each event's hash is ``sha256(f"{previous}|{position}|{stream}|{version}|{recorded_at}|" + data)`` in hex,
where ``previous`` is the hash of the event before it ("" for position 1) and ``data`` the event's JSON as
logged (service.storage.log.chain_hash; the README spells it out for third parties).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import sqlalchemy as sa

from service.storage.database import Database
from service.storage.log import chain_hash
from service.storage.lookups import PointReads
from service.storage.reads import seen_hash
from service.storage.tables import events


class Link(NamedTuple):
    """What the chain covers of one event, and the hash it gives."""

    position: int
    stream: str
    version: int
    recorded_at: str
    data: str  # the event's JSON as logged
    hash: str


_LINKS = sa.select(
    events.c.position,
    events.c.stream,
    events.c.version,
    events.c.recorded_at,
    events.c.data,
    events.c.hash,
).order_by(events.c.position)


def logged(database: Database) -> Iterator[Link]:
    """Every event of the log in position order, read in chunks."""
    # A server-side cursor, which on PostgreSQL needs a transaction: its readers run without one, so this
    # read goes through the writer's engine (it takes no lock).
    engine = database.reader if database.is_sqlite else database.writer
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=5000).execute(_LINKS):
            yield Link(*row)


def first_break(links: Iterable[Link]) -> tuple[int, int | None]:
    """Recompute the chain over ``links`` (from position 1, in order); returns (links checked, the first
    position that is missing or whose hash differs, or None)."""
    previous, checked = "", 0
    for link in links:
        checked += 1
        expected = chain_hash(previous, link.position, link.stream, link.version, link.recorded_at, link.data)
        if link.position != checked:
            return checked, checked
        if link.hash != expected:
            return checked, link.position
        previous = link.hash
    return checked, None


class ChainHashes:
    """The hash at a log position, for the ``Timeline-Head-Hash`` of read answers. The read that made the
    answer has seen it already (service.storage.reads.seen_hash: the head's comes with the head, and an
    answer ``at`` an earlier position reads that one's); should it have been forgotten since, one row by
    its primary key."""

    _SQL = "SELECT hash FROM events WHERE position = ?"

    def __init__(self, database: Database, reads: PointReads) -> None:
        self._pool = database.reader.pool
        self._reads = reads

    def at(self, position: int) -> str | None:
        """The hash at ``position``, or None where no event is (position 0: the empty log)."""
        found = seen_hash(self._pool, position)
        if found is None and position > 0:
            row = self._reads.one(self._SQL, (position,))
            found = None if row is None else row[0]
        return found
