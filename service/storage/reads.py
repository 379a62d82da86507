"""The log's reads: in position order, by stream, by id. Every answer names the log head it reflects."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence

import msgspec
import sqlalchemy as sa
from sqlalchemy.pool import Pool

from events.codec import decode_stored
from events.vocabulary import Event
from service.storage.database import Database
from service.storage.tables import event_terms, events


class Revision(msgspec.Struct, frozen=True):
    """An event that retracts or corrects another."""

    id: uuid.UUID
    position: int
    type: str


class Recorded(msgspec.Struct, frozen=True):
    """A stored event with what the store added to it."""

    position: int
    version: int
    recorded_at: str
    event: Event
    hash: str  # the chain hash of this event (service.storage.chain)
    previous_hash: str  # the one before it, which this hash covers ("" at position 1)
    retracted_by: list[Revision] = []
    corrected_by: list[Revision] = []


class LogPage(msgspec.Struct, frozen=True):
    events: list[Recorded]
    head: int


ROW_COLUMNS = (
    events.c.position,
    events.c.version,
    events.c.recorded_at,
    events.c.type,
    events.c.schema_version,
    events.c.data,
)

# what the reads show of each row: the columns above, its hash and the hash it is chained to (one seek
# by primary key per row, in the same statement)
_before = events.alias("before")
_READ_COLUMNS = (
    *ROW_COLUMNS,
    events.c.hash,
    sa.select(_before.c.hash)
    .where(_before.c.position == events.c.position - 1)
    .scalar_subquery()
    .label("previous_hash"),
)

# built once: read on every answer, with the last row's hash (one seek more)
_HEAD = sa.select(events.c.position, events.c.hash).order_by(events.c.position.desc()).limit(1)
_HASH_AT = sa.select(events.c.hash).where(events.c.position == sa.bindparam("position"))

# The hash at each position that a read of this process has seen, per database (by the pool its
# connections come from). Read answers name the hash at their position (``Timeline-Head-Hash``) and find
# it here, read by the thread that read the head: a read of its own on the event loop would let go of the
# GIL and wait for the writer thread to give it back. A position's hash never changes once committed.
_SEEN: weakref.WeakKeyDictionary[Pool, dict[int, str]] = weakref.WeakKeyDictionary()
SEEN_POSITIONS = 10_000  # kept per database; when full, forgotten all at once


def _remember(conn: sa.Connection, position: int, hashed: str) -> None:
    seen = _SEEN.get(conn.engine.pool)
    if seen is None:
        seen = _SEEN.setdefault(conn.engine.pool, {})
    if len(seen) >= SEEN_POSITIONS:
        seen.clear()
    seen[position] = hashed


def seen_hash(pool: Pool, position: int) -> str | None:
    """The hash at ``position``, if a read through ``pool`` has seen it."""
    seen = _SEEN.get(pool)
    return None if seen is None else seen.get(position)


def read_head(conn: sa.Connection) -> int:
    """The position of the last event committed (0 for an empty log)."""
    row = conn.execute(_HEAD).first()
    if row is None:
        return 0
    _remember(conn, row[0], row[1])
    return row[0]


def read_hash_at(conn: sa.Connection, position: int) -> None:
    """Have the hash at ``position`` seen (``seen_hash``), reading its row if no read has yet."""
    if position > 0 and seen_hash(conn.engine.pool, position) is None:
        hashed = conn.scalar(_HASH_AT, {"position": position})
        if hashed is not None:
            _remember(conn, position, hashed)


class LogReads:
    """The reads of :class:`service.storage.log.EventStore`, on the database's reader engine."""

    db: Database

    def head(self) -> int:
        with self.db.reader.connect() as conn:
            return read_head(conn)

    def read_log(
        self,
        after: int = 0,
        limit: int = 100,
        *,
        types: Sequence[str] = (),
        streams: Sequence[str] = (),
        parties: Sequence[str] = (),
        issues: Sequence[str] = (),
    ) -> LogPage:
        query = sa.select(*_READ_COLUMNS).where(events.c.position > after)
        if types:
            query = query.where(events.c.type.in_(types))
        if streams:
            query = query.where(events.c.stream.in_(streams))
        for kind, terms in (("party", parties), ("issue", issues)):
            if terms:
                query = query.where(
                    events.c.position.in_(
                        sa.select(event_terms.c.position).where(
                            event_terms.c.kind == kind, event_terms.c.term.in_(terms)
                        )
                    )
                )
        query = query.order_by(events.c.position).limit(limit)
        with self.db.reader.connect() as conn:
            rows = conn.execute(query).all()
            page = self._recorded(conn, rows)
            return LogPage(page, read_head(conn))

    def read_stream(self, stream: str, from_version: int = 1, limit: int = 100) -> tuple[LogPage, int]:
        """A page of one stream in version order, and the stream's current version (0: no such stream)."""
        query = (
            sa.select(*_READ_COLUMNS)
            .where(events.c.stream == stream, events.c.version >= from_version)
            .order_by(events.c.version)
            .limit(limit)
        )
        with self.db.reader.connect() as conn:
            rows = conn.execute(query).all()
            version = conn.scalar(sa.select(sa.func.max(events.c.version)).where(events.c.stream == stream))
            page = self._recorded(conn, rows)
            return LogPage(page, read_head(conn)), version or 0

    def get(self, event_id: uuid.UUID) -> tuple[Recorded | None, int]:
        with self.db.reader.connect() as conn:
            rows = conn.execute(sa.select(*_READ_COLUMNS).where(events.c.id == str(event_id))).all()
            found = self._recorded(conn, rows)
            return (found[0] if found else None), read_head(conn)

    @staticmethod
    def _recorded(conn: sa.Connection, rows: Sequence[sa.Row]) -> list[Recorded]:
        decoded = [(row, decode_stored(row.data, row.type, row.schema_version)) for row in rows]
        revisions: dict[str, list[sa.Row]] = {}
        if decoded:
            ids = [str(event.id) for _, event in decoded]
            for rev in conn.execute(
                sa.select(events.c.target, events.c.id, events.c.position, events.c.type)
                .where(events.c.target.in_(ids))
                .order_by(events.c.position)
            ):
                revisions.setdefault(rev.target, []).append(rev)
        out = []
        for row, event in decoded:
            revs = revisions.get(str(event.id), [])
            out.append(
                Recorded(
                    position=row.position,
                    version=row.version,
                    recorded_at=row.recorded_at,
                    event=event,
                    hash=row.hash,
                    previous_hash=row.previous_hash or "",
                    retracted_by=[
                        Revision(uuid.UUID(r.id), r.position, r.type)
                        for r in revs
                        if r.type == "EventRetracted"
                    ],
                    corrected_by=[
                        Revision(uuid.UUID(r.id), r.position, r.type)
                        for r in revs
                        if r.type == "EventCorrected"
                    ],
                )
            )
        return out
