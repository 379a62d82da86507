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
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, Protocol

import sqlalchemy as sa

from events.codec import decode_stored, encode
from events.references import terms_of
from events.timeaxes import Logged, is_meta, reported_start
from events.vocabulary import Event, EventCorrected, EventRetracted, type_name
from service.storage.bulk import COPY_FROM_ROWS, DriverQuery, chunks, insert_rows, listed, new_row, run
from service.storage.collector import collector_paused
from service.storage.database import Database
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
from service.storage.reads import ROW_COLUMNS, LogPage, LogReads, Recorded, Revision, read_head
from service.storage.refusals import AppendRefused
from service.storage.tables import definitions, event_terms, events
from service.storage.tokens import refused_in

__all__ = ["Appended", "AppendResult", "Batch", "EventStore", "LogPage", "Recorded", "Revision", "read_head"]


# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
APPEND_LOCK_KEY = 0x74696D656C696E65
# PostgreSQL channel notified by every append, delivered when it commits (see service.storage.notify).
NOTIFY_CHANNEL = "timeline_appended"


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def chain_hash(previous: str, position: int, stream: str, version: int, recorded_at: str, data: str) -> str:
    head = f"{previous}|{position}|{stream}|{version}|{recorded_at}|".encode()
    return hashlib.sha256(head + data.encode()).hexdigest()


class EventRow(NamedTuple):
    """A row of ``events``: an event as logged. (``_insert`` builds these as plain tuples in this order:
    see ``service.storage.bulk.new_row``.)"""

    position: int
    id: str
    stream: str
    version: int
    type: str
    schema_version: int
    occurred: str  # the start of the event's date
    reported: str  # the start of the day it was reported
    target: str | None  # the event a retraction or correction names
    recorded_at: str
    data: str  # the event's canonical JSON
    hash: str  # chains the row to the one before


class TermRow(NamedTuple):
    """A row of ``event_terms``: a party or issue an event concerns (built as a plain tuple, like
    ``EventRow``)."""

    kind: str
    term: str
    position: int


class DefinitionRow(NamedTuple):
    """A row of ``definitions``: an id an event defines."""

    kind: str
    id: str
    position: int


# The lookups of every append, run on the driver's cursor (see service.storage.bulk).
_STORED_IDS = DriverQuery(
    {
        dialect: sa.select(events.c.id, events.c.stream, *ROW_COLUMNS).where(
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


class Projection(Protocol):
    """What the log keeps up to date in the transaction of every append (service.projection.apply.Projector,
    handed over by the composition root, service.compose)."""

    def apply(
        self, conn: sa.Connection, appended: Sequence[Logged], data: Sequence[str] | None = None
    ) -> None:
        """Project the events just appended (in position order); ``data`` is each one's JSON as logged."""


class EventStore(LogReads):
    def __init__(self, database: Database, projection: Projection) -> None:
        self.db = database
        self.projection = projection

    # -- writing ---------------------------------------------------------------------------------------

    def append(
        self, stream: str, batch: Sequence[Event], expected_version: int | None = None
    ) -> AppendResult:
        """Append a batch atomically: all of it is stored, or (on any error) none of it."""
        return self.append_batches([Batch(stream, batch, expected_version)])[0]

    def append_batches(self, batches: Sequence[Batch]) -> list[AppendResult]:
        """Append several batches, to any streams, in one transaction: all stored or none."""
        with collector_paused(), self.db.write_lock(), self.db.writer.begin() as conn:
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
            with collector_paused(), self.db.write_lock(), self.db.writer.begin() as conn:
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
        # What is stored of every event's id, references and stream, and the log's last position, read
        # under the append lock: on PostgreSQL the lock and every lookup go in one pipeline, one round
        # trip for all of them (each took one before), the lookups running once the lock is held.
        candidates = [item for evs in prepared.values() for item in evs]
        with _pipelined(conn, True):
            if not self.db.is_sqlite:
                run(conn, "SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
            read_logged = self._logged_by_id(conn, {item.id for item in candidates})
            read_known = self._known(conn, candidates)
            read_versions = self._versions(conn, sorted({batches[k].stream for k in prepared}))
            read_last = _LAST.send(conn)
            logged, known, versions, last = read_logged(), read_known(), read_versions(), read_last()
        # batches whose managed token was revoked or has expired, read now, in this transaction
        for k, exc in refused_in(conn, {k: batches[k].token for k in prepared if batches[k].token}).items():
            exc.batch = k
            if not isolated:
                raise exc
            outcomes[k] = exc
            del prepared[k]
        last_position, last_hash = last[0] if last else (0, "")

        plan = Plan(logged, known, versions, last_position)
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
                self._insert(conn, plan.new, last_hash, plan.definitions, batches)
        return outcomes  # type: ignore[return-value]

    def _insert(
        self,
        conn: sa.Connection,
        new: list[New],
        last_hash: str,
        new_definitions: dict[tuple[str, str], int],
        batches: Sequence[Batch],
    ) -> None:
        now = _utcnow()
        rows: list[tuple] = []
        data: list[str] = []
        terms: list[tuple] = []
        for item in new:
            event = item.event
            given = batches[item.batch].recorded_at
            recorded_at = now if given is None else given[item.index]
            json = encode(event).decode()
            last_hash = chain_hash(last_hash, item.position, event.stream, item.version, recorded_at, json)
            target = str(event.target) if isinstance(event, EventRetracted | EventCorrected) else None
            rows.append(
                (  # an EventRow, as a plain tuple (see service.storage.bulk.new_row)
                    item.position,
                    item.prepared.id,
                    event.stream,
                    item.version,
                    type_name(event),
                    type(event).schema_version,
                    event.occurred.start.isoformat(),
                    reported_start(event).isoformat(),
                    target,
                    recorded_at,
                    json,
                    last_hash,
                )
            )
            data.append(json)
            # TermRows, as plain tuples
            terms += [(k, t, item.position) for k, t in terms_of(item.prepared.refs, item.prepared.defines)]
        insert_rows(conn, events, list(EventRow._fields), rows)
        insert_rows(conn, event_terms, list(TermRow._fields), terms)
        definition_rows = [DefinitionRow(kind, ident, pos) for (kind, ident), pos in new_definitions.items()]
        insert_rows(conn, definitions, list(DefinitionRow._fields), definition_rows)
        self.projection.apply(conn, [new_row(Logged, (item.position, item.event)) for item in new], data)
        if not self.db.is_sqlite:
            run(conn, "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, str(new[-1].position)))

    @staticmethod
    def _versions(conn: sa.Connection, streams: list[str]) -> Callable[[], dict[str, int]]:
        """Each stream's current version: one index seek per stream, all in one statement built once. (A
        grouped ``max`` over ``stream IN (...)`` reads every row of those streams: slower as they grow.)
        Sent now, read by what it returns (as the other lookups: see ``_append``)."""
        sent = [_VERSIONS.send(conn, streams=chunk) for chunk in chunks(set(streams), 500)]
        return lambda: {row.stream: row.version for read in sent for row in read() if row.version}

    @staticmethod
    def _logged_by_id(conn: sa.Connection, ids: set[str]) -> Callable[[], dict[str, sa.Row]]:
        """The stored rows of the events with these ``ids`` (sent now, read by what it returns)."""
        sent = [_STORED_IDS.send(conn, ids=chunk) for chunk in chunks(ids)]
        return lambda: {row.id: row for read in sent for row in read()}

    @staticmethod
    def _known(conn: sa.Connection, candidates: list[Prepared]) -> Callable[[], Known]:
        """What is stored of everything the events refer to, and of what they define (sent now, read by
        what it returns)."""
        named, targets = set(), set()
        for item in candidates:
            for ref in item.refs:
                (targets if ref.kind == "event" else named).add(ref.id)
            if item.defines is not None:
                named.add(item.defines[1])
        sent_defs = [_DEFINED.send(conn, ids=chunk) for chunk in chunks(named)]
        sent_targets = [_STORED_IDS.send(conn, ids=chunk) for chunk in chunks(targets)]

        def read() -> Known:
            stored_defs = {(row.kind, row.id) for read in sent_defs for row in read()}
            stored_targets = {
                row.id: decode_stored(row.data, row.type, row.schema_version)
                for read in sent_targets
                for row in read()
            }
            return Known(stored_defs, stored_targets)

        return read
