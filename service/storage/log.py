"""The event store: an append-only log over SQLAlchemy Core, on SQLite or PostgreSQL.

Appends are serialised, so positions are gapless and commit in position order: a reader following the log
with ``after=`` can never pass a position that a slower transaction fills in later. PostgreSQL would let
transactions that took positions commit out of order (the failure that made other PostgreSQL event stores
lose events under load); every append therefore takes a transaction-scoped advisory lock first and computes
its positions under it, so the next writer waits until this one has committed or rolled back. A rolled-back
append leaves no gap, because positions come from the committed head, not from a sequence. SQLite has one
writer at a time already; its writers begin with BEGIN IMMEDIATE and queue on the busy timeout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator, Sequence

import msgspec
import sqlalchemy as sa

from events.codec import decode_stored, encode
from events.references import terms_of
from events.timeaxes import Logged, is_meta, reported_start
from events.vocabulary import Event, EventCorrected, EventRetracted, type_name
from service.storage.plan import (
    Appended,
    AppendResult,
    Batch,
    Known,
    New,
    Plan,
    Prepared,
    blame,
    named_once,
    prepare,
)
from service.storage.bulk import COPY_FROM_ROWS, DriverQuery, chunks, insert_rows, listed, run
from service.storage.database import Database
from service.storage.refusals import AppendRefused
from service.projection.apply import POSITION_COLUMNS, Projector, stored_rows
from service.storage.tables import definitions, event_terms, events, positions

__all__ = ["Appended", "AppendResult", "Batch", "EventStore", "LogPage", "Recorded", "Revision", "read_head"]

# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
APPEND_LOCK_KEY = 0x74696D656C696E65
# PostgreSQL channel notified by every append, delivered when it commits (see service.storage.notify).
NOTIFY_CHANNEL = "timeline_appended"


_SEQ, _FIXED = POSITION_COLUMNS.index("seq"), POSITION_COLUMNS.index("fixed")


def _unmarked_by_event(rows) -> dict[int, list[tuple]]:
    """Position rows (their columns in ``POSITION_COLUMNS`` order) without their ``fixed`` mark, by the
    log position of their event."""
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[_SEQ], []).append(tuple(row[:_FIXED]) + tuple(row[_FIXED + 1 :]))
    return grouped


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
    retracted_by: list[Revision] = []
    corrected_by: list[Revision] = []


class LogPage(msgspec.Struct, frozen=True):
    events: list[Recorded]
    head: int


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def chain_hash(previous: str, position: int, stream: str, version: int, recorded_at: str, data: str) -> str:
    head = f"{previous}|{position}|{stream}|{version}|{recorded_at}|".encode()
    return hashlib.sha256(head + data.encode()).hexdigest()


EVENT_COLUMNS = [c.name for c in events.c]
_ROW_COLUMNS = (
    events.c.position,
    events.c.version,
    events.c.recorded_at,
    events.c.type,
    events.c.schema_version,
    events.c.data,
)


# The lookups of every append, run on the driver's cursor (see service.storage.bulk).
_STORED_IDS = DriverQuery(
    {
        dialect: sa.select(events.c.id, events.c.stream, *_ROW_COLUMNS).where(
            listed(events.c.id, "ids", dialect == "sqlite")
        )
        for dialect in ("sqlite", "postgresql")
    },
    lists=("ids",),
)
_DEFINED = DriverQuery(
    {
        dialect: sa.select(definitions.c.kind, definitions.c.id).where(
            listed(definitions.c.id, "ids", dialect == "sqlite")
        )
        for dialect in ("sqlite", "postgresql")
    },
    lists=("ids",),
)
# (each stream listed, with a correlated seek of the (stream, version) index)
_VERSIONS = DriverQuery(
    {
        "sqlite": sa.text(
            "SELECT value AS stream, (SELECT max(version) FROM events WHERE stream = value) AS version "
            "FROM json_each(:streams)"
        ).columns(stream=sa.String, version=sa.Integer),
        "postgresql": sa.text(
            "SELECT s AS stream, (SELECT max(version) FROM events WHERE stream = s) AS version "
            "FROM unnest(CAST(:streams AS text[])) AS s"
        ).columns(stream=sa.String, version=sa.Integer),
    },
    lists=("streams",),
)
_LAST = DriverQuery(
    dict.fromkeys(
        ("sqlite", "postgresql"),
        sa.select(events.c.position, events.c.hash).order_by(events.c.position.desc()).limit(1),
    )
)
_HEAD = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))  # built once: read on every answer


@contextlib.contextmanager
def _pipelined(conn: sa.Connection, wanted: bool) -> Iterator[None]:
    """On PostgreSQL, send the writes of an append without waiting for each to be answered (psycopg's
    pipeline mode): an append's dozen statements then take a round trip or two, not thirty. A statement
    whose rows are read still waits for them; COPY cannot run in a pipeline (``insert_rows`` knows)."""
    if conn.dialect.name == "sqlite" or not wanted:
        yield
        return
    with conn.connection.dbapi_connection.pipeline():
        yield


def read_head(conn: sa.Connection) -> int:
    """The position of the last event committed (0 for an empty log)."""
    return conn.scalar(_HEAD) or 0


class EventStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.projector = Projector(database.is_sqlite)

    # -- writing ---------------------------------------------------------------------------------------

    def append(
        self, stream: str, batch: Sequence[Event], expected_version: int | None = None
    ) -> AppendResult:
        """Append a batch atomically: all of it is stored, or (on any error) none of it."""
        return self.append_batches([Batch(stream, batch, expected_version)])[0]

    def append_batches(self, batches: Sequence[Batch]) -> list[AppendResult]:
        """Append several batches, to any streams, in one transaction: all stored or none."""
        with self.db.write_lock(), self.db.writer.begin() as conn:
            return self.append_in(conn, batches)

    def append_in(self, conn: sa.Connection, batches: Sequence[Batch]) -> list[AppendResult]:
        """Append inside the caller's transaction (the caller commits or rolls back), all or nothing.

        Every step works on all batches at once (one lookup of ids, of versions, of references; one
        insert of rows), so a bulk load costs a few statements per thousand events, not per batch.
        A refusal names its batch (``AppendRefused.batch``) and a JSON pointer within it.
        """
        return self._append(conn, batches, isolated=False)  # type: ignore[return-value]

    def append_group(self, batches: Sequence[Batch]) -> list[AppendResult | AppendRefused]:
        """Append batches sent apart (by different requests) in one transaction, each on its own: a batch
        that is refused gets its refusal and stores nothing, and the others are stored as if it had never
        been sent. Should the transaction fail for a reason of no batch's making, each batch is tried
        again in a transaction of its own, so that one batch's failure is never another's."""
        try:
            with self.db.write_lock(), self.db.writer.begin() as conn:
                return self._append(conn, batches, isolated=True)
        except Exception:
            if len(batches) == 1:
                raise
        return [self._alone(batch) for batch in batches]

    def _alone(self, batch: Batch) -> AppendResult | AppendRefused | Exception:
        try:
            return self.append_group([batch])[0]
        except Exception as exc:  # handed to its request, which answers with a server error
            return exc

    def _append(
        self, conn: sa.Connection, batches: Sequence[Batch], isolated: bool
    ) -> list[AppendResult | AppendRefused]:
        """Plan every batch in order against what is stored and what the batches before it add, then store
        what was planned in one go. With ``isolated`` a refusal is the batch's outcome and leaves the
        others as if it had never been sent; without, the first refusal is raised."""
        outcomes: list[AppendResult | AppendRefused | None] = [None] * len(batches)
        prepared: dict[int, list[Prepared]] = {}
        for k, batch in enumerate(batches):
            try:
                with blame(k):
                    prepared[k] = prepare(batch)
            except AppendRefused as exc:
                if not isolated:
                    raise
                outcomes[k] = exc
        if not isolated:
            named_once(prepared)
        if not self.db.is_sqlite:
            run(conn, "SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        candidates = [item for evs in prepared.values() for item in evs]
        stored = self._stored(conn, {item.id for item in candidates})
        known = self._known(conn, [item for item in candidates if item.id not in stored])
        versions = self._versions(conn, sorted({batches[k].stream for k in prepared}))
        last = _LAST.rows(conn)
        last_position, last_hash = last[0] if last else (0, "")

        plan = Plan(stored, known, versions, last_position)
        for k, evs in prepared.items():
            try:
                with blame(k):
                    outcomes[k] = plan.add(k, batches[k], evs)
            except AppendRefused as exc:
                if not isolated:
                    raise
                outcomes[k] = exc
        if plan.new:
            # Only appends that fix nothing: a fix has the projector read rows back as it goes, which
            # SQLAlchemy cannot do in a pipeline. And with many rows COPY does better than a pipeline
            # of inserts (see service.storage.bulk).
            plain = not any(is_meta(item.event) for item in plan.new)
            with _pipelined(conn, plain and len(plan.new) < COPY_FROM_ROWS):
                self._insert(conn, plan.new, last_hash, plan.definitions)
        return outcomes  # type: ignore[return-value]

    def _insert(
        self,
        conn: sa.Connection,
        new: list[New],
        last_hash: str,
        new_definitions: dict[tuple[str, str], int],
    ) -> None:
        recorded_at = _utcnow()
        rows, data, terms = [], [], []
        for item in new:
            event = item.event
            json = encode(event).decode()
            last_hash = chain_hash(last_hash, item.position, event.stream, item.version, recorded_at, json)
            target = str(event.target) if isinstance(event, EventRetracted | EventCorrected) else None
            rows.append(
                (item.position, item.prepared.id, event.stream, item.version, type_name(event))
                + (type(event).schema_version, event.occurred.start.isoformat())
                + (reported_start(event).isoformat(), target, recorded_at, json, last_hash)
            )
            data.append(json)
            terms += [(k, t, item.position) for k, t in terms_of(item.prepared.refs, item.prepared.defines)]
        insert_rows(conn, events, EVENT_COLUMNS, rows)
        insert_rows(conn, event_terms, ["kind", "term", "position"], terms)
        definition_rows = [(kind, ident, pos) for (kind, ident), pos in new_definitions.items()]
        insert_rows(conn, definitions, ["kind", "id", "position"], definition_rows)
        self.projector.apply(conn, [Logged(item.position, item.event) for item in new], data)
        if not self.db.is_sqlite:
            run(conn, "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(new[-1].position)))

    @staticmethod
    def _versions(conn: sa.Connection, streams: list[str]) -> dict[str, int]:
        """Each stream's current version: one index seek per stream, all in one statement built once. (A
        grouped ``max`` over ``stream IN (...)`` reads every row of those streams: slower as they grow.)"""
        versions: dict[str, int] = {}
        for chunk in chunks(set(streams), 500):
            versions |= {
                row.stream: row.version for row in _VERSIONS.rows(conn, streams=chunk) if row.version
            }
        return versions

    @staticmethod
    def _stored(conn: sa.Connection, ids: set[str]) -> dict[str, sa.Row]:
        """The stored rows of the events with these ``ids``."""
        stored = {}
        for chunk in chunks(ids):
            stored |= {row.id: row for row in _STORED_IDS.rows(conn, ids=chunk)}
        return stored

    @staticmethod
    def _known(conn: sa.Connection, candidates: list[Prepared]) -> Known:
        """What is stored of everything the events refer to, and of what they define."""
        named, targets = set(), set()
        for item in candidates:
            for ref in item.refs:
                (targets if ref.kind == "event" else named).add(ref.id)
            if item.defines is not None:
                named.add(item.defines[1])
        stored_defs: set[tuple[str, str]] = set()
        for chunk in chunks(named):
            stored_defs |= {(row.kind, row.id) for row in _DEFINED.rows(conn, ids=chunk)}
        stored_targets: dict[str, Event] = {}
        for chunk in chunks(targets):
            for row in _STORED_IDS.rows(conn, ids=chunk):
                stored_targets[row.id] = decode_stored(row.data, row.type, row.schema_version)
        return Known(stored_defs, stored_targets)

    def verify(self) -> tuple[int, int | None]:
        """Recompute the hash chain; returns (events checked, first position that fails or None)."""
        previous, checked = "", 0
        # The log is read in chunks through a server-side cursor, which on PostgreSQL needs a transaction:
        # its readers run without one, so this read goes through the writer's engine (it takes no lock).
        engine = self.db.reader if self.db.is_sqlite else self.db.writer
        with engine.connect() as conn:
            rows = conn.execution_options(yield_per=5000).execute(
                sa.select(
                    events.c.position,
                    events.c.stream,
                    events.c.version,
                    events.c.recorded_at,
                    events.c.data,
                    events.c.hash,
                ).order_by(events.c.position)
            )
            for row in rows:
                checked += 1
                expected = chain_hash(
                    previous, row.position, row.stream, row.version, row.recorded_at, row.data
                )
                if row.position != checked or row.hash != expected:
                    return checked, row.position
                previous = row.hash
        return checked, None

    def verify_positions(self, step: int = 5000) -> tuple[int, int | None]:
        """Check every stored position against its event: ``rebuild`` trusts them, since each was written
        with its event and depends on it alone, so nothing else would notice one changed behind the
        service's back. Returns (events checked, the position of the first event whose stored positions
        differ from what it says, or None). The ``fixed`` marks are projections, and are not checked."""
        p = positions
        columns = (events.c.position, events.c.type, events.c.schema_version, events.c.data)
        with self.db.reader.connect() as conn:
            head = read_head(conn)
            for low in range(1, head + 1, step):
                high = min(low + step - 1, head)
                # (retractions and corrections are left out after decoding: a condition on `target`
                # would lead SQLite through its index, over most of the log for every chunk)
                rows = conn.execute(sa.select(*columns).where(events.c.position.between(low, high)))
                logged = [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in rows]
                stored = [g for g in logged if not is_meta(g.event)]
                expected = _unmarked_by_event(stored_rows(stored))
                held = conn.execute(
                    sa.select(*(p.c[name] for name in POSITION_COLUMNS))
                    .where(p.c.stored, p.c.seq.between(low, high))
                    .order_by(p.c.seq, p.c.idx)
                )
                found = _unmarked_by_event(held)
                for seq in sorted(expected.keys() | found.keys()):
                    if expected.get(seq) != found.get(seq):
                        return head, seq
        return head, None

    def verify_daily_stands(self) -> str | None:
        """Check the daily stands against the positions and the log, in one snapshot: ``rebuild`` trusts the
        JSON of a stand that still shows the same position. Returns what differs first, or None."""
        engine = self.db.reader
        if not self.db.is_sqlite:  # its readers take a snapshot per statement
            engine = self.db.writer.execution_options(isolation_level="REPEATABLE READ")
        with engine.begin() as conn:
            return self.projector.daily.check(conn)

    def rebuild_projections(self, stored: bool = False) -> int:
        """Recreate every projection from the log, and with ``stored`` every stored position too, under
        the append lock; returns events read."""
        with self.db.write_lock(), self.db.writer.begin() as conn:
            if not self.db.is_sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
            return self.projector.rebuild(conn, stored, self.db.reader)

    # -- reading ---------------------------------------------------------------------------------------

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
        query = sa.select(*_ROW_COLUMNS).where(events.c.position > after)
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
            sa.select(*_ROW_COLUMNS)
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
            rows = conn.execute(sa.select(*_ROW_COLUMNS).where(events.c.id == str(event_id))).all()
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
