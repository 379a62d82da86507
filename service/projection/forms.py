"""Event forms: an event as it counts over one rectangle of its versions (a row of ``proj_versions``), and
what a form is made from in a statement: the columns, the logged events, the decoding, a stance's JSON."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from events.codec import current_version, decode_stored, decoder, encode
from events.folds import stand
from events.stand_json import stand_json
from events.timeaxes import Effective
from events.vocabulary import AnyEvent, Event
from service.storage.bulk import chunks
from service.storage.tables import events, proj_versions

_corrected = decoder(AnyEvent)


# What identifies an event form, and what it takes to decode one: its version row and the stored event.
FORM_OF_VERSION = (
    proj_versions.c.seq,
    proj_versions.c.form_no,
    proj_versions.c.pos_from,
    proj_versions.c.known_from,
    proj_versions.c.retracted,
    proj_versions.c.corrected,
    proj_versions.c.data.label("corrected_data"),
    events.c.data,
    events.c.type,
    events.c.schema_version,
)


def form_of_stance(p: sa.FromClause) -> tuple:
    """What the form of a ``stances`` row ``p`` is made from, in a statement that joins ``events`` on
    ``p.seq``: the stored event, and for a corrected row its corrected form (a CASE, so that only corrected
    rows look one up). A position row is never of a retracted form."""
    v = proj_versions
    corrected = sa.select(v.c.data).where(v.c.seq == p.c.seq, v.c.form_no == p.c.form_no).scalar_subquery()
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
VERSIONS_BY_SEQ = {
    is_sqlite: sa.select(*FORM_OF_VERSION)
    .join(events, events.c.position == proj_versions.c.seq)
    .where(_among(proj_versions.c.seq, is_sqlite))
    for is_sqlite in (True, False)
}


def logged_events(conn: sa.Connection, seqs: set[int]) -> dict[int, sa.Row]:
    """The events at the log positions ``seqs``, as logged (``data``, ``type``, ``schema_version``)."""
    query = _STORED[conn.dialect.name == "sqlite"]
    return {row.position: row for chunk in chunks(seqs) for row in conn.execute(query, {"seqs": chunk})}


class FormRow(Protocol):
    """A row that carries a stance and what its form is made from (``FORM_OF_VERSION`` or
    ``form_of_stance``, with the stance's ``idx``): a stance row joined with its event."""

    seq: int
    idx: int
    pos_from: int
    known_from: str
    retracted: bool
    corrected: bool
    corrected_data: str | None
    data: str
    type: str
    schema_version: int


class Forms(Protocol):
    """Where decoded forms are kept (service.query.caches.FormCache)."""

    def of_row(self, row: FormRow) -> Effective: ...


def effective_of(row: FormRow) -> Effective:
    event: Event = (
        _corrected.decode(row.corrected_data)
        if row.corrected_data is not None
        else decode_stored(row.data, row.type, row.schema_version)
    )
    return Effective(row.seq, event, row.retracted, row.corrected)


def stand_json_of(row: FormRow, forms: Forms | None = None) -> bytes:
    """The JSON of the Stand a position row shows, from the columns of its form (``FORM_OF_VERSION``, with
    ``idx``). An uncorrected form stored by the current schema is its stored event, read for the position
    without decoding the whole event (:mod:`events.stand_json`); the others are decoded as forms (kept in
    ``forms`` where given)."""
    if not row.corrected and row.schema_version == current_version(row.type):
        return stand_json(row.data, row.seq, row.idx)
    form = forms.of_row(row) if forms is not None else effective_of(row)
    return encode(stand(form, form.event.positions[row.idx]))
