"""Event forms: an event as it counts over one rectangle of its versions, decoded once and kept."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from events.codec import current_version, decode_stored, decoder, encode
from events.folds import stand
from events.stand_json import stand_json
from events.timeaxes import Effective
from events.vocabulary import AnyEvent, Event
from service.storage.bulk import chunks
from service.query.caches import Kept
from service.storage.tables import events, proj_versions

_corrected = decoder(AnyEvent)


# What identifies an event form, and what it takes to decode one: its version row and the stored event.
FORM_COLUMNS = (
    proj_versions.c.seq,
    proj_versions.c.vn,
    proj_versions.c.pos_from,
    proj_versions.c.known_from,
    proj_versions.c.retracted,
    proj_versions.c.corrected,
    proj_versions.c.data.label("corrected_data"),
    events.c.data,
    events.c.type,
    events.c.schema_version,
)


def form_columns(p: sa.FromClause) -> tuple:
    """What the form of a ``positions`` row ``p`` is made from, in a statement that joins ``events`` on
    ``p.seq``: the stored event, and for a corrected row its corrected form (a CASE, so that only corrected
    rows look one up). A position row is never of a retracted form."""
    v = proj_versions
    corrected = sa.select(v.c.data).where(v.c.seq == p.c.seq, v.c.vn == p.c.vn).scalar_subquery()
    return (
        sa.false().label("retracted"),
        sa.case((p.c.corrected, corrected)).label("corrected_data"),
        events.c.data,
        events.c.type,
        events.c.schema_version,
    )


def _among(column: sa.Column, is_sqlite: bool) -> sa.ColumnElement[bool]:
    """``column`` is one of the list bound as ``seqs``. PostgreSQL gets it as one array, so the statement
    is the same text whatever the list's length, and is parsed and planned once per connection."""
    if is_sqlite:
        return column.in_(sa.bindparam("seqs", expanding=True))
    return column == sa.any_(sa.bindparam("seqs", type_=postgresql.ARRAY(sa.BigInteger)))


# Stored events, and version rows with their events, by position; for SQLite (True) and PostgreSQL.
_STORED = {
    is_sqlite: sa.select(events.c.position, events.c.data, events.c.type, events.c.schema_version).where(
        _among(events.c.position, is_sqlite)
    )
    for is_sqlite in (True, False)
}
_VERSIONS = {
    is_sqlite: sa.select(*FORM_COLUMNS)
    .join(events, events.c.position == proj_versions.c.seq)
    .where(_among(proj_versions.c.seq, is_sqlite))
    for is_sqlite in (True, False)
}


def stored_events(conn: sa.Connection, seqs: set[int]) -> dict[int, sa.Row]:
    """The stored events at the positions ``seqs``, as stored (``data``, ``type``, ``schema_version``)."""
    query = _STORED[conn.dialect.name == "sqlite"]
    return {row.position: row for chunk in chunks(seqs) for row in conn.execute(query, {"seqs": chunk})}


DEFAULT_CAPACITY = 100_000  # entries of each kind a process keeps


class FormCache:
    """Decoded event forms, shared by all requests of a process.

    A version row's form is the event as resolved at the row's lower corner (seq, pos_from, known_from),
    which depends only on log entries at or before ``pos_from``: the log is append-only, so a form under
    that key never changes, even when later fixes split or replace the row. Decoding is most of the cost
    of a state answer; with this cache an answer decodes only what it has not seen before.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._forms: Kept[tuple[int, int, str], Effective] = Kept(capacity)

    @staticmethod
    def key(row: sa.Row) -> tuple[int, int, str]:
        return (row.seq, row.pos_from, row.known_from)

    def of_row(self, row: sa.Row) -> Effective:
        """The form of a row that carries the stored event (``FORM_COLUMNS``)."""
        key = self.key(row)
        form = self._forms.get(key)
        if form is None:
            form = self._forms.keep(key, effective_of(row))
        return form

    def of_rows(self, conn: sa.Connection, rows: Sequence[sa.Row]) -> list[Effective]:
        """The forms that position rows name (by ``seq``, ``vn``, ``pos_from``, ``known_from`` and
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
            stored = self._stored(conn, {row.seq for row, _ in missing if not row.corrected})
            for row, key in missing:
                if not row.corrected:
                    found[key] = self._forms.keep(key, Effective(row.seq, stored[row.seq], False, False))
            for row in self._fetch(conn, {(row.seq, row.vn) for row, _ in missing if row.corrected}):
                found[self.key(row)] = self._forms.keep(self.key(row), effective_of(row))
        return [found[key] for key in keys]

    @staticmethod
    def _stored(conn: sa.Connection, seqs: set[int]) -> dict[int, Event]:
        """Stored events by position."""
        return {
            position: decode_stored(row.data, row.type, row.schema_version)
            for position, row in stored_events(conn, seqs).items()
        }

    @staticmethod
    def _fetch(conn: sa.Connection, keys: set[tuple[int, int]]) -> list[sa.Row]:
        """Version rows with their events by (seq, vn), looked up by ``seq`` alone, which the primary key
        serves (a row-value ``IN`` would make SQLite scan the whole table)."""
        return [
            row
            for chunk in chunks({seq for seq, _ in keys})
            for row in conn.execute(_VERSIONS[conn.dialect.name == "sqlite"], {"seqs": chunk})
            if (row.seq, row.vn) in keys
        ]


def effective_of(row: sa.Row) -> Effective:
    event: Event = (
        _corrected.decode(row.corrected_data)
        if row.corrected_data is not None
        else decode_stored(row.data, row.type, row.schema_version)
    )
    return Effective(row.seq, event, row.retracted, row.corrected)


def stand_json_of(row, forms: FormCache | None = None) -> bytes:
    """The JSON of the Stand a position row shows, from the columns of its form (``FORM_COLUMNS``, with
    ``idx``). An uncorrected form stored by the current schema is its stored event, read for the position
    without decoding the whole event (:mod:`events.stand_json`); the others are decoded as forms (kept in
    ``forms`` where given)."""
    if not row.corrected and row.schema_version == current_version(row.type):
        return stand_json(row.data, row.seq, row.idx)
    form = forms.of_row(row) if forms is not None else effective_of(row)
    return encode(stand(form, form.event.positions[row.idx]))
