"""Answers from the projection tables, for any point on the three time axes, without replaying the log.

Each query reads the log head first and filters every row by ``at = min(at, head)`` (service.query.axes),
so the answer is exactly the state at that log position, and it can be reproduced with ``at=``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple

import msgspec
import sqlalchemy as sa

from events.codec import decoder, encode
from events.folds import (
    Change,
    IssueInfo,
    PartyInfo,
    Stand,
    State,
    stand,
)
from service.projection.forms import form_of_stance, stand_json_of
from service.query import stands as daily_stands
from service.query.axes import Axes, clamp, counting, valid_until
from service.query.caches import DEFAULT_CAPACITY, BoundedMap, FormCache
from service.query.structure import ENTRY_LISTS, StructureMirror
from service.storage.database import Database
from service.storage.tables import definitions, events, proj_cells, stances

_state = decoder(State)


class Key(NamedTuple):
    """Where a position taken sits in valid-time order: a keyset cursor."""

    occurred: str
    seq: int
    idx: int


class ChangePage(NamedTuple):
    changes: list[Change]
    next: Key | None


@functools.cache
def _latest_query(is_sqlite: bool, by_party: bool, by_issue: bool) -> sa.Select:
    """The statement behind ``Projections._latest``, built once: its values are bound parameters."""
    g = stances.alias("g")
    columns = (g.c.seq, g.c.form_no, g.c.pos_from, g.c.known_from, g.c.corrected, g.c.idx)
    known = sa.bindparam("known")
    latest = (
        sa.select(*columns)
        .where(
            g.c.party == proj_cells.c.party,
            g.c.issue == proj_cells.c.issue,
            g.c.occurred <= sa.bindparam("until"),
            g.c.pos_from <= sa.bindparam("at"),
            g.c.pos_to > sa.bindparam("at"),
            g.c.known_from <= known,
            g.c.known_to > known,
            sa.not_(g.c.fixed),
        )
        .order_by(g.c.occurred.desc(), g.c.seq.desc(), g.c.idx.desc())
        .limit(1)
    )
    if is_sqlite:  # no LATERAL: the subquery finds the row's id, and a join fetches the row
        found = latest.with_only_columns(g.c.id).correlate(proj_cells).scalar_subquery()
        p = stances
        query = sa.select(*(p.c[c.name] for c in columns)).join_from(proj_cells, p, p.c.id == found)
    else:  # PostgreSQL would run a scalar subquery in a join condition twice per cell
        p = latest.lateral("latest")
        query = sa.select(*p.c).join_from(proj_cells, p, sa.true())
    # the form each row belongs to, in the same statement
    query = query.add_columns(*form_of_stance(p)).join(events, events.c.position == p.c.seq)
    if by_party:
        query = query.where(proj_cells.c.party == sa.bindparam("party"))
    if by_issue:
        query = query.where(proj_cells.c.issue == sa.bindparam("issue"))
    return query.order_by(proj_cells.c.party, proj_cells.c.issue)


class Projections:
    def __init__(
        self, database: Database, forms: FormCache | None = None, capacity: int = DEFAULT_CAPACITY
    ) -> None:
        self.db = database
        self.forms = forms or FormCache()
        self.structure = StructureMirror(self.forms, capacity)
        self._encoded: BoundedMap[tuple[int, int, str, int], msgspec.Raw] = BoundedMap(
            capacity
        )  # positions as JSON

    def read(self, axes: Axes, answer):
        """Run ``answer(conn, axes)`` with ``at`` clamped to the head; returns (result, position, head)."""
        with self.db.reader.connect() as conn:
            axes, head = clamp(conn, axes)
            return answer(conn, axes), axes.at, head

    # -- answers (each takes a connection and clamped axes) ---------------------------------------------

    def state_json(self, conn: sa.Connection, axes: Axes) -> bytes:
        """The whole :class:`State` as JSON, put together from entries and positions encoded before: an
        answer encodes only what it has not seen before."""
        lists = self._structure(conn, axes)
        encoded = {kind: [entry.json for entry in entries] for kind, entries in lists.items()}
        stands = None
        if axes.known_now:  # the daily stands, if they hold at `at`
            stands = daily_stands.read(conn, valid_until(axes), axes.at)
        if stands is None:
            stands = self._stands_json(conn, axes)
        return encode(State(positions=stands, **encoded))

    def state(self, conn: sa.Connection, axes: Axes) -> State:
        return _state.decode(self.state_json(conn, axes))

    def vocabulary(self, conn: sa.Connection, axes: Axes) -> State:
        lists = self._structure(conn, axes, ("parties", "issues"))
        values = {kind: [entry.value for entry in entries] for kind, entries in lists.items()}
        return State(positions=[], **values)

    def party(self, conn: sa.Connection, axes: Axes, party: str) -> tuple[PartyInfo | None, list[Stand]]:
        found = self._structure(conn, axes, ("parties",))["parties"]
        info = next((entry.value for entry in found if entry.value.id == party), None)
        return info, self._stands(conn, axes, party=party)

    def issue(self, conn: sa.Connection, axes: Axes, issue: str) -> tuple[IssueInfo | None, list[Stand]]:
        found = self._structure(conn, axes, ("issues",))["issues"]
        info = next((entry.value for entry in found if entry.value.id == issue), None)
        return info, self._stands(conn, axes, issue=issue)

    def is_defined(self, conn: sa.Connection, kind: str, ident: str) -> bool:
        query = sa.select(definitions.c.position).where(definitions.c.kind == kind, definitions.c.id == ident)
        position = conn.scalar(query)
        return position is not None

    def changes(
        self,
        conn: sa.Connection,
        axes: Axes,
        *,
        after: dt.date | None = None,
        party: str | None = None,
        cursor: Key | None = None,
        limit: int = 100,
        only_changed: bool = False,
    ) -> ChangePage:
        """Positions taken with ``after < occurred <= as_of`` in valid-time order, with what they replaced."""
        f, g = stances, stances.alias("g")
        before = (
            sa.select(g.c.stance)
            .where(
                g.c.party == f.c.party,
                g.c.issue == f.c.issue,
                *counting(g, axes),
                sa.tuple_(g.c.occurred, g.c.seq, g.c.idx) < sa.tuple_(f.c.occurred, f.c.seq, f.c.idx),
            )
            .order_by(g.c.occurred.desc(), g.c.seq.desc(), g.c.idx.desc())
            .limit(1)
            .scalar_subquery()
        )
        columns = (
            f.c.occurred,
            f.c.seq,
            f.c.idx,
            f.c.stance,
            f.c.form_no,
            f.c.pos_from,
            f.c.known_from,
            f.c.corrected,
        )
        query = sa.select(*columns, before.label("before")).where(
            f.c.occurred <= valid_until(axes), *counting(f, axes)
        )
        if after is not None:
            query = query.where(f.c.occurred > after.isoformat())
        if party is not None:
            query = query.where(f.c.party == party)
        if cursor is not None:
            query = query.where(sa.tuple_(f.c.occurred, f.c.seq, f.c.idx) > tuple(cursor))
        if only_changed:
            query = query.where(sa.or_(before.is_(None), before != f.c.stance))
        rows = conn.execute(query.order_by(f.c.occurred, f.c.seq, f.c.idx).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        changes = []
        for row, effective in zip(rows, self.forms.of_rows(conn, rows), strict=True):
            after_stand = stand(effective, effective.event.positions[row.idx])
            changes.append(Change(before=row.before, changed=row.before != row.stance, after=after_stand))
        next_key = Key(rows[-1].occurred, rows[-1].seq, rows[-1].idx) if more else None
        return ChangePage(changes, next_key)

    # -- building blocks --------------------------------------------------------------------------------

    def _latest(self, conn: sa.Connection, axes: Axes, party: str | None = None, issue: str | None = None):
        """The latest position in each (party, issue) cell: one index seek per cell, whatever the log size.
        Each row carries what its form is made from (``FORM_OF_VERSION``), so no further query is needed."""
        query = _latest_query(self.db.is_sqlite, party is not None, issue is not None)
        parameters = {"until": valid_until(axes), "at": axes.at, "known": axes.known_at.isoformat()}
        return conn.execute(query, parameters | {"party": party, "issue": issue}).all()

    def _stands(
        self, conn: sa.Connection, axes: Axes, party: str | None = None, issue: str | None = None
    ) -> list[Stand]:
        stands = []
        for row in self._latest(conn, axes, party, issue):
            form = self.forms.of_row(row)
            stands.append(stand(form, form.event.positions[row.idx]))
        return stands

    def _stands_json(self, conn: sa.Connection, axes: Axes) -> list[msgspec.Raw]:
        """Every cell's latest position as JSON. A position row (a form and a place in its list of
        positions) always reads the same, so its JSON is kept. An uncorrected form stored by the current
        schema is its stored event, whose JSON is read for the position without decoding the whole event;
        the others (corrected, or stored by an older schema) are decoded as forms."""
        stands = []
        kept = self._encoded.get
        for row in self._latest(conn, axes):
            key = (row.seq, row.pos_from, row.known_from, row.idx)
            encoded = kept(key)
            if encoded is None:
                encoded = self._encoded.keep(key, msgspec.Raw(stand_json_of(row, self.forms)))
            stands.append(encoded)
        return stands

    def _structure(self, conn: sa.Connection, axes: Axes, kinds: tuple[str, ...] = ENTRY_LISTS):
        known = axes.known_at.isoformat()
        return self.structure.entries(conn, axes.at, known, valid_until(axes), kinds)
