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
import threading
import uuid
from collections.abc import Sequence
from typing import NamedTuple

import msgspec
import sqlalchemy as sa

from events.codec import apply_changes, decode_stored, encode
from events.references import definition, index_terms, references
from events.timeaxes import Logged, is_meta, reported_start
from events.vocabulary import Event, EventCorrected, EventRetracted, type_name, with_stream
from service.database import Database
from service.errors import AppendRefused, IdConflict, UnresolvedReference, VersionConflict
from service.projector import POSITION_COLUMNS, Projector, stored_rows
from service.tables import definitions, event_terms, events, positions

# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
APPEND_LOCK_KEY = 0x74696D656C696E65
# PostgreSQL channel notified by every append, delivered when it commits (see service.live).
NOTIFY_CHANNEL = "timeline_appended"


_IN_CHUNK = 5000  # ids per IN (...) list: within every database's limit on bound parameters


class Batch(NamedTuple):
    """Events for one stream, with the version the stream must be at (None: any)."""

    stream: str
    events: Sequence[Event]
    expected_version: int | None = None


class _New(NamedTuple):
    batch: int
    index: int
    event: Event
    position: int
    version: int


_SEQ, _FIXED = POSITION_COLUMNS.index("seq"), POSITION_COLUMNS.index("fixed")


def _unmarked_by_event(rows) -> dict[int, list[tuple]]:
    """Position rows (their columns in ``POSITION_COLUMNS`` order) without their ``fixed`` mark, by the
    log position of their event."""
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[_SEQ], []).append(tuple(row[:_FIXED]) + tuple(row[_FIXED + 1 :]))
    return grouped


@contextlib.contextmanager
def _blame(batch: int):
    """Mark a refusal raised inside with the batch it concerns."""
    try:
        yield
    except AppendRefused as exc:
        exc.batch = batch
        raise


class Appended(msgspec.Struct, frozen=True):
    id: uuid.UUID
    position: int
    version: int


class AppendResult(msgspec.Struct, frozen=True):
    stream: str
    version: int
    events: list[Appended]
    replayed: bool = False  # every event was already stored: this is the earlier result


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


_ROW_COLUMNS = (
    events.c.position,
    events.c.version,
    events.c.recorded_at,
    events.c.type,
    events.c.schema_version,
    events.c.data,
)


_HEAD = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))  # built once: read on every answer


def read_head(conn: sa.Connection) -> int:
    """The position of the last event committed (0 for an empty log)."""
    return conn.scalar(_HEAD) or 0


class EventStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.projector = Projector(database.is_sqlite)
        self._write_lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------------

    def append(
        self, stream: str, batch: Sequence[Event], expected_version: int | None = None
    ) -> AppendResult:
        """Append a batch atomically: all of it is stored, or (on any error) none of it."""
        return self.append_batches([Batch(stream, batch, expected_version)])[0]

    def append_batches(self, batches: Sequence[Batch]) -> list[AppendResult]:
        """Append several batches, to any streams, in one transaction: all stored or none."""
        with self._write_lock, self.db.writer.begin() as conn:
            return self.append_in(conn, batches)

    def append_in(self, conn: sa.Connection, batches: Sequence[Batch]) -> list[AppendResult]:
        """Append inside the caller's transaction (the caller commits or rolls back).

        Every step works on all batches at once (one lookup of ids, of versions, of references; one
        insert of rows), so a bulk load costs a few statements per thousand events, not per batch.
        A refusal names its batch (``AppendRefused.batch``) and a JSON pointer within it.
        """
        prepared = []
        for k, batch in enumerate(batches):
            with _blame(k):
                if not batch.events:
                    raise AppendRefused("the batch holds no events", "/events")
                prepared.append([self._in_stream(i, e, batch.stream) for i, e in enumerate(batch.events)])
        if not self.db.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})

        stored = self._stored(conn, prepared)
        streams = sorted({batch.stream for batch in batches})
        versions = self._versions(conn, streams)
        last = conn.execute(
            sa.select(events.c.position, events.c.hash).order_by(events.c.position.desc()).limit(1)
        ).first()
        last_position, last_hash = last if last else (0, "")

        results: list[AppendResult] = []
        new: list[_New] = []
        position = last_position
        for k, (batch, evs) in enumerate(zip(batches, prepared, strict=True)):
            with _blame(k):
                done: dict[int, Appended] = {}
                fresh = []
                for index, event in enumerate(evs):
                    row = stored.get(str(event.id))
                    if row is None:
                        fresh.append((index, event))
                    elif (
                        row.stream == batch.stream
                        and decode_stored(row.data, row.type, row.schema_version) == event
                    ):
                        done[index] = Appended(event.id, row.position, row.version)
                    else:
                        raise IdConflict(
                            f"event id {event.id} is already stored (position {row.position}) "
                            "with a different body",
                            f"/events/{index}/id",
                            position=row.position,
                        )
                current = versions.get(batch.stream, 0)
                if not fresh:
                    replay = [done[i] for i in range(len(evs))]
                    results.append(AppendResult(batch.stream, max(a.version for a in replay), replay, True))
                    continue
                if batch.expected_version is not None and batch.expected_version != current:
                    raise VersionConflict(
                        f"stream {batch.stream!r} is at version {current}, not {batch.expected_version}",
                        "/expected_version",
                        current_version=current,
                    )
                for index, event in fresh:
                    position, current = position + 1, current + 1
                    new.append(_New(k, index, event, position, current))
                    done[index] = Appended(event.id, position, current)
                versions[batch.stream] = current
                results.append(AppendResult(batch.stream, current, [done[i] for i in range(len(evs))]))
        if not new:
            return results
        new_definitions = self._check_references(conn, new)
        self._insert(conn, new, last_hash, new_definitions)
        return results

    def _insert(
        self,
        conn: sa.Connection,
        new: list[_New],
        last_hash: str,
        new_definitions: dict[tuple[str, str], int],
    ) -> None:
        recorded_at = _utcnow()
        rows, terms = [], []
        for item in new:
            event = item.event
            data = encode(event).decode()
            last_hash = chain_hash(last_hash, item.position, event.stream, item.version, recorded_at, data)
            rows.append(
                {
                    "position": item.position,
                    "id": str(event.id),
                    "stream": event.stream,
                    "version": item.version,
                    "type": type_name(event),
                    "schema_version": type(event).schema_version,
                    "occurred": event.occurred.start.isoformat(),
                    "reported": reported_start(event).isoformat(),
                    "target": str(event.target)
                    if isinstance(event, EventRetracted | EventCorrected)
                    else None,
                    "recorded_at": recorded_at,
                    "data": data,
                    "hash": last_hash,
                }
            )
            terms += [{"kind": k, "term": t, "position": item.position} for k, t in index_terms(event)]
        conn.execute(events.insert(), rows)
        if terms:
            conn.execute(event_terms.insert(), terms)
        if new_definitions:
            conn.execute(
                definitions.insert(),
                [
                    {"kind": kind, "id": ident, "position": pos}
                    for (kind, ident), pos in new_definitions.items()
                ],
            )
        self.projector.apply(
            conn, [Logged(item.position, item.event) for item in new], [r["data"] for r in rows]
        )
        if not self.db.is_sqlite:
            conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, str(new[-1].position))))

    @staticmethod
    def _versions(conn: sa.Connection, streams: list[str]) -> dict[str, int]:
        """Each stream's current version: one index seek per stream, all in one statement. (A grouped
        ``max`` over ``stream IN (...)`` reads every row of those streams: slower as streams grow.)"""
        versions: dict[str, int] = {}
        for start in range(0, len(streams), 500):
            chunk = streams[start : start + 500]
            seeks = [
                sa.select(sa.func.max(events.c.version)).where(events.c.stream == stream).scalar_subquery()
                for stream in chunk
            ]
            row = conn.execute(sa.select(*seeks)).one()
            versions |= {stream: version for stream, version in zip(chunk, row, strict=True) if version}
        return versions

    @staticmethod
    def _in_stream(index: int, event: Event, stream: str) -> Event:
        if event.stream is None:
            return with_stream(event, stream)
        if event.stream != stream:
            raise AppendRefused(
                f"event is for stream {event.stream!r} but was sent to stream {stream!r}",
                f"/events/{index}/stream",
            )
        return event

    @staticmethod
    def _stored(conn: sa.Connection, prepared: list[list[Event]]) -> dict[str, sa.Row]:
        """The stored rows of every id the batches name; an id named twice is refused."""
        seen: dict[str, tuple[int, int]] = {}
        for k, evs in enumerate(prepared):
            for index, event in enumerate(evs):
                ident = str(event.id)
                if ident in seen:
                    with _blame(k):
                        raise IdConflict(
                            f"event id {ident} appears twice (first at batch {seen[ident][0]}, "
                            f"event {seen[ident][1]})",
                            f"/events/{index}/id",
                        )
                seen[ident] = (k, index)
        stored = {}
        ids = list(seen)
        for start in range(0, len(ids), _IN_CHUNK):
            query = sa.select(events.c.id, events.c.stream, *_ROW_COLUMNS).where(
                events.c.id.in_(ids[start : start + _IN_CHUNK])
            )
            stored |= {row.id: row for row in conn.execute(query)}
        return stored

    def _check_references(self, conn: sa.Connection, new: list[_New]) -> dict[tuple[str, str], int]:
        """Check that every reference resolves to something stored or defined by an earlier event.

        Returns the ids the new events define for the first time, each with the defining position.
        """
        defined_here: dict[tuple[str, str], int] = {}  # defined by an earlier new event -> its position
        earlier: dict[str, Event] = {}  # earlier new events, by id
        wanted: list[tuple[_New, str, str, str]] = []  # (event, path, kind, id) to look up
        for item in new:
            defined = definition(item.event)
            if defined is not None:
                defined_here.setdefault(defined, item.position)
            for ref in references(item.event):
                known = ref.id in earlier if ref.kind == "event" else (ref.kind, ref.id) in defined_here
                if not known:
                    wanted.append((item, ref.path, ref.kind, ref.id))
            earlier[str(item.event.id)] = item.event

        lookup = sorted({w[3] for w in wanted if w[2] != "event"} | {ident for _, ident in defined_here})
        stored_defs: set[tuple[str, str]] = set()
        for start in range(0, len(lookup), _IN_CHUNK):
            query = sa.select(definitions.c.kind, definitions.c.id).where(
                definitions.c.id.in_(lookup[start : start + _IN_CHUNK])
            )
            stored_defs |= {(row.kind, row.id) for row in conn.execute(query)}
        targets = sorted({w[3] for w in wanted if w[2] == "event"})
        stored_targets: dict[str, Event] = {}
        for start in range(0, len(targets), _IN_CHUNK):
            query = sa.select(events.c.id, *_ROW_COLUMNS).where(
                events.c.id.in_(targets[start : start + _IN_CHUNK])
            )
            for row in conn.execute(query):
                stored_targets[row.id] = decode_stored(row.data, row.type, row.schema_version)
        for item, path, kind, ident in wanted:
            with _blame(item.batch):
                if kind == "event" and ident not in stored_targets:
                    raise UnresolvedReference(
                        f"{path} names event {ident}, which is not stored", f"/events/{item.index}/{path}"
                    )
                if kind != "event" and (kind, ident) not in stored_defs:
                    raise UnresolvedReference(
                        f"{path} refers to {kind} {ident!r}, which no earlier {kind.capitalize()}"
                        f"{'Tabled' if kind == 'proposal' else 'Defined'} event defines",
                        f"/events/{item.index}/" + path.replace("[", "/").replace("]", "").replace(".", "/"),
                    )
        for item in new:
            if isinstance(item.event, EventCorrected):
                target = stored_targets.get(str(item.event.target)) or earlier[str(item.event.target)]
                with _blame(item.batch):
                    self._check_correction(item.index, item.event, target)
        return {key: position for key, position in defined_here.items() if key not in stored_defs}

    @staticmethod
    def _check_correction(index: int, event: EventCorrected, target: Event | None) -> None:
        if isinstance(target, EventRetracted | EventCorrected):
            raise AppendRefused(
                "a retraction or correction cannot be corrected; retract it instead",
                f"/events/{index}/target",
            )
        try:
            apply_changes(target, event.changes)
        except msgspec.ValidationError as exc:
            raise AppendRefused(
                f"the corrected event would be invalid: {exc}", f"/events/{index}/changes"
            ) from exc

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
        with self._write_lock, self.db.writer.begin() as conn:
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
