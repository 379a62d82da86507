"""Every cell's stand as of the end of each day it changed, rendered: ``/state`` as of a date in one read.

The general answer (:mod:`service.query.state`) finds each cell's latest position with an index seek per
cell in ``stances``, and renders it from its event. The number of seeks does not grow with the log, but
the pages they land on do: with a million events the seeks, and the events behind them, are spread over a
file of gigabytes, and an answer cost nearly twice what it did with ten thousand. For the question asked
most, the state as of a date as known now, this projection keeps the answer ready: for every cell and
every day on which the cell has a position that counts (``proj_stands``, keyed by party, issue and day), the
stand the cell shows as of the end of that day, as ``/state`` renders it. That is the day's last position
in the cell, so each row depends on that one day of that one cell. An answer as of D takes, for every
cell, its row of the last day on or before D: one seek per cell into a table of at most cells x days
rows, none of which is ever more than one stand. Its size follows what the log changed, not the days or
cells it spans.

It reflects the log at its head, with every report known (``known_at`` left out). Each row carries
``changed_at``, the log position at which it was last written, and ``proj_stands_removed`` the position of
the last append that removed a row: an answer at an earlier position (an ``at=``, or a reader that read the
head just before another append committed) uses the rows only if none it reads has changed since and none
was removed since, and otherwise takes the general path.

It is kept in the append transaction, at a cost that follows the positions appended. A position appended
in the ordinary way is the last of its day in its cell (it has the highest log position), so its row is
rendered from the event in hand, without a read. A retraction or correction, which can take a position
away from a day or move it to another, has the rows of the days it touches found again from ``stances``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, get_type_hints

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from events.stand_json import stand_json
from events.timeaxes import FOREVER_ISO, FOREVER_POSITION
from service.projection.forms import FormRow, form_of_stance, logged_events, stand_json_of
from service.storage.bulk import chunks, delete_rows, insert_rows, new_row, upsert_rows
from service.storage.tables import (
    events,
    proj_stands,
    proj_stands_removed,
    proj_versions,
    stances,
)

Touched = tuple[str, str, str]  # party, issue, day: a cell whose positions changed on that day


class Taken(NamedTuple):
    """A position just appended in the ordinary way (no fix reaches its event), and the stored JSON of its
    event: the stand it shows is rendered from these alone."""

    party: str
    issue: str
    day: str
    seq: int
    idx: int
    known_from: str
    data: str


def _counts_now(p: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """Rows of ``stances`` that count at the head of the log with every report known: their rectangle
    is open on both axes (a fix closes it at its own position, never beyond the head)."""
    return [p.c.pos_to == FOREVER_POSITION, p.c.known_to == FOREVER_ISO, sa.not_(p.c.fixed)]


def _shown_columns(p: sa.FromClause) -> tuple:
    """A stance row, and what its stand is rendered from (``service.projection.forms.stand_json_of``)."""
    return (p.c.seq, p.c.form_no, p.c.idx, p.c.pos_from, p.c.known_from, p.c.corrected, *form_of_stance(p))


def _days_query(is_sqlite: bool) -> sa.Select:
    """For each (party, issue, day) of the JSON list bound as ``touched``: the position that counts last in
    that cell on that day, with what its stand is rendered from (all None if none counts)."""
    if is_sqlite:
        listed = "SELECT json_extract(value, '$.party') AS party, json_extract(value, '$.issue') AS issue, "
        listed += "json_extract(value, '$.day') AS day FROM json_each(:touched)"
    else:  # compared bytewise, as the keys they meet (service.storage.tables.Key)
        listed = (
            'SELECT t.party COLLATE "C" AS party, t.issue COLLATE "C" AS issue, t.day COLLATE "C" AS day '
        )
        listed += "FROM json_to_recordset(CAST(:touched AS json)) AS t(party text, issue text, day text)"
    t = sa.text(listed).columns(party=sa.String, issue=sa.String, day=sa.String).subquery("t")
    h = stances.alias("h")
    last = (
        sa.select(h.c.id)
        .where(h.c.party == t.c.party, h.c.issue == t.c.issue, h.c.occurred == t.c.day, *_counts_now(h))
        .order_by(h.c.seq.desc(), h.c.idx.desc())
        .limit(1)
    )
    if is_sqlite:  # no LATERAL: the subquery finds the row's id, and a join fetches the row
        p = stances
        found = sa.outerjoin(t, p, p.c.id == last.correlate(t).scalar_subquery())
        found = found.outerjoin(events, events.c.position == p.c.seq)  # not nested: SQLite would scan
        columns = _shown_columns(p)
    else:
        row = (
            last.with_only_columns(*_shown_columns(h)).join(events, events.c.position == h.c.seq).lateral("p")
        )
        found = sa.outerjoin(t, row, sa.true())
        columns = tuple(row.c)
    return sa.select(t.c.party, t.c.issue, t.c.day, *columns).select_from(found)


class DailyStands:
    def __init__(self, is_sqlite: bool) -> None:
        self._days = _days_query(is_sqlite)
        self._taken = _taken_query(is_sqlite)

    def refresh(self, conn: sa.Connection, taken: Sequence[Taken], touched: set[Touched], head: int) -> None:
        """Bring the rows up to date after an append (at log position ``head``) that took the positions
        ``taken`` in the ordinary way, and retracted or corrected positions on the cells and days
        ``touched``. The rows of ``taken`` are rendered from their events; those of ``touched`` are found
        again, with one statement for all of them."""
        last: dict[Touched, Taken] = {}
        for t in taken:  # in log order: the last of a cell's day wins
            last[(t.party, t.issue, t.day)] = t
        rendered = {
            key: (
                new_row(Shows, (t.seq, t.idx, t.seq, t.known_from)),
                stand_json(t.data, t.seq, t.idx).decode(),
            )
            for key, t in last.items()
        }
        removed = []
        if touched:
            asked = msgspec.json.encode([{"party": p, "issue": i, "day": d} for p, i, d in sorted(touched)])
            for found in conn.execute(self._days, {"touched": asked.decode()}):
                key = (found.party, found.issue, found.day)
                if found.seq is None:  # no position counts in the cell that day any more
                    rendered.pop(key, None)
                    removed.append(key)
                else:
                    shows = Shows(found.seq, found.idx, found.pos_from, found.known_from)
                    rendered[key] = (shows, stand_json_of(found).decode())
        if removed:
            delete_rows(conn, proj_stands, sorted(removed))
            _mark_removed(conn, head)
        ordered = sorted(rendered.items())
        rows = [(*key, head, *shown, text) for key, (shown, text) in ordered]  # StandRows, as plain tuples
        upsert_rows(conn, proj_stands, list(StandRow._fields), rows)

    def derive(self, conn: sa.Connection, held: bool = True) -> Derived:
        """What the table should hold, from ``stances`` (see ``Derived``)."""
        s = proj_stands
        # keyed by plain tuples: SQLAlchemy's rows hash and compare in Python, several times slower
        rows = {tuple(row[:3]): ShownStance(*row[3:]) for row in map(tuple, conn.execute(self._taken))}
        shown = (s.c.party, s.c.issue, s.c.day, s.c.seq, s.c.idx, s.c.pos_from, s.c.known_from)
        found = conn.execute(sa.select(*shown)) if held else []
        return Derived(rows, {tuple(row[:3]): Shows(*row[3:]) for row in found})

    def rebuild(
        self, conn: sa.Connection, head: int, rerender: bool = False, derived: Derived | None = None
    ) -> None:
        """Derive every row from ``stances`` (or take ``derived``, read from them as they are). The stand
        a row shows is rendered again only where the position it shows is not the one it held (normally
        nowhere), or everywhere with ``rerender``: a row's JSON depends on that position's event and its
        fixes alone, as a stored position depends on its event alone. Rows written or removed count as
        changed at ``head``."""
        s = proj_stands
        if derived is None:
            derived = self.derive(conn, held=not rerender)
        held = derived.held
        if rerender:
            removed = bool(conn.execute(s.delete()).rowcount)
            held = {}
        changed = {key: row for key, row in derived.rows.items() if held.get(key) != row.shows}
        surplus = [key for key in held if key not in derived.rows]
        delete_rows(conn, s, [key for key in held if key not in derived.rows or key in changed])
        if surplus or (rerender and removed):
            _mark_removed(conn, head)
        rendered = _render(conn, set(changed.values()))
        rows = [(*key, head, *row.shows, rendered[row]) for key, row in changed.items()]  # StandRows
        insert_rows(conn, s, list(StandRow._fields), rows)

    def check(self, conn: sa.Connection) -> str | None:
        """What differs first between the table and what ``stances`` and the log say it should hold: a
        row missing, surplus, showing another position, or rendered otherwise (which ``rebuild`` alone
        would not notice); None if nothing does. Renders every row, so it is not cheap."""
        derived = self.derive(conn, held=False)
        s = proj_stands
        rendered = _render(conn, set(derived.rows.values()))
        shown = (s.c.party, s.c.issue, s.c.day, s.c.seq, s.c.idx, s.c.pos_from, s.c.known_from, s.c.json)
        held = {tuple(row[:3]): (Shows(*row[3:7]), row[7]) for row in conn.execute(sa.select(*shown))}
        for key in sorted(derived.rows.keys() | held.keys()):
            row = derived.rows.get(key)
            if held.get(key) != (None if row is None else (row.shows, rendered[row])):
                party, issue, day = key
                return f"the stand of {party} on {issue} as of {day}"
        return None


def _mark_removed(conn: sa.Connection, head: int) -> None:
    """Record that rows were removed at log position ``head`` (the table holds that one row)."""
    conn.execute(proj_stands_removed.delete())
    conn.execute(proj_stands_removed.insert().values(at=head))


def _taken_query(is_sqlite: bool) -> sa.Select:
    """The position that counts last on each day a cell has one."""
    p, h = stances, stances.alias("h")
    columns = ("party", "issue", "occurred", "seq", "idx", "pos_from", "known_from", "form_no", "corrected")
    if not is_sqlite:  # one backward scan of the index, which holds every column asked for
        order = ("party", "issue", "occurred", "seq", "idx")
        return (
            sa.select(*(p.c[name] for name in columns))
            .where(*_counts_now(p))
            .ext(postgresql.distinct_on(p.c.party, p.c.issue, p.c.occurred))
            .order_by(*(p.c[name].desc() for name in order))
        )
    # SQLite has no DISTINCT ON: one index seek per (cell, day) finds the row's id, and a join fetches it
    groups = sa.select(p.c.party, p.c.issue, p.c.occurred).distinct().subquery("g")
    last = (
        sa.select(h.c.id)
        .where(h.c.party == groups.c.party, h.c.issue == groups.c.issue, h.c.occurred == groups.c.occurred)
        .where(*_counts_now(h))
        .order_by(h.c.seq.desc(), h.c.idx.desc())
        .limit(1)
        .correlate(groups)
        .scalar_subquery()
    )
    return sa.select(*(p.c[name] for name in columns)).select_from(sa.join(groups, p, p.c.id == last))


class Derived(NamedTuple):
    """What the daily stands should hold, derived from ``stances``, and what they hold."""

    rows: dict[Touched, ShownStance]  # by (party, issue, day)
    held: dict[Touched, Shows]  # the stance each row shows


class Shows(NamedTuple):
    """Which stance row a daily stand shows: its event, its place in it, and its form's corner."""

    seq: int
    idx: int
    pos_from: int
    known_from: str


class ShownStance(NamedTuple):
    """A stance row as far as its stand depends on it: ``shows`` says which it is."""

    seq: int
    idx: int
    pos_from: int
    known_from: str
    form_no: int
    corrected: bool

    @property
    def shows(self) -> Shows:
        return Shows(self.seq, self.idx, self.pos_from, self.known_from)


class StandRow(NamedTuple):
    """A row of ``proj_stands``. (Built as plain tuples in this order: see ``bulk.new_row``.)"""

    party: str
    issue: str
    day: str
    changed_at: int
    seq: int
    idx: int
    pos_from: int
    known_from: str
    json: str


# The columns ``stand_json_of`` renders from, as a row of their own: the fields its protocol declares.
_Form = NamedTuple("_Form", list(get_type_hints(FormRow).items()))


def _render(conn: sa.Connection, shown: Iterable[ShownStance]) -> dict[ShownStance, str]:
    """The stand JSON of each position row, reading its event, and for a corrected form its version."""
    shown = list(shown)
    stored, corrected = logged_events(conn, {s.seq for s in shown}), {}
    v = proj_versions
    for chunk in chunks({s.seq for s in shown if s.corrected}):
        found = conn.execute(sa.select(v.c.seq, v.c.form_no, v.c.data).where(v.c.seq.in_(chunk)))
        corrected.update(((r.seq, r.form_no), r.data) for r in found)
    rendered = {}
    for s in shown:
        event = stored[s.seq]
        form = _Form(
            s.seq,
            s.idx,
            s.pos_from,
            s.known_from,
            False,
            s.corrected,
            corrected.get((s.seq, s.form_no)) if s.corrected else None,
            event.data,
            event.type,
            event.schema_version,
        )
        rendered[s] = stand_json_of(form).decode()
    return rendered
