"""Every cell's latest position as of the end of each day, rendered: ``/state`` as of a date in one read.

The general answer (:mod:`service.projections`) finds each cell's latest position with an index seek per
cell. The number of seeks does not grow with the log, but the pages they land on do: with a million events
the seeks, and the events behind them, are spread over a file of gigabytes, and an answer cost nearly twice
what it did with ten thousand. For the question asked most, the state as of a date as known now, this
projection keeps the answer ready. For every day on which some position was taken (``proj_days``) it
holds, per cell, the stand that cell shows as of the end of that day, as ``/state`` renders it
(``proj_stands``, keyed by day, party and issue). An answer as of D reads the column of the last such day
on or before D: adjacent rows, whatever the number of events. Its size is days x cells.

It reflects the log at its head, with every report known (``known_at`` left out). Each day carries
``changed_at``, the log position at which its column last changed: an answer at an earlier position (an
``at=``, or a reader that read the head just before another append committed) uses a column only if it has
not changed since, and otherwise takes the general path. Days are never removed: a day none of whose
positions counts any more keeps a column equal to the one before it.

It is kept in the append transaction. A position taken, retracted or corrected on day t in a cell sets
that cell's stand from t up to the next day on which the cell has a position that counts (before which
nothing else in the cell changes); a day new to the log starts as a copy of the column before it.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from typing import NamedTuple

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from events.timeaxes import FOREVER_ISO, FOREVER_POSITION
from service.bulk import chunks, delete_rows, insert_rows, upsert_rows
from service.forms import form_columns, stand_json_of, stored_events
from service.tables import events, positions, proj_days, proj_stands, proj_versions

STAND_COLUMNS = [c.name for c in proj_stands.c]

Touched = tuple[str, str, str]  # party, issue, day: a cell whose positions changed on that day


def _counts_now(p: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """Rows of ``positions`` that count at the head of the log with every report known: their rectangle
    is open on both axes (a fix closes it at its own position, never beyond the head)."""
    return [p.c.pos_to == FOREVER_POSITION, p.c.known_to == FOREVER_ISO, sa.not_(p.c.fixed)]


def _shown_columns(p: sa.FromClause) -> tuple:
    """A position row, and what its stand is rendered from (see ``service.forms.stand_json_of``)."""
    return (p.c.seq, p.c.vn, p.c.idx, p.c.pos_from, p.c.known_from, p.c.corrected, *form_columns(p))


def _spans_query(is_sqlite: bool) -> sa.Select:
    """For each (party, issue, day) of the JSON list bound as ``touched``: the day after it on which the
    cell next has a position that counts (``until``, None if none), and the position that counts last on
    or before it, with what its stand is rendered from (all None if none)."""
    if is_sqlite:
        listed = "SELECT json_extract(value, '$.party') AS party, json_extract(value, '$.issue') AS issue, "
        listed += "json_extract(value, '$.day') AS day FROM json_each(:touched)"
    else:  # compared bytewise, as the keys they meet (service.tables.Key)
        listed = (
            'SELECT t.party COLLATE "C" AS party, t.issue COLLATE "C" AS issue, t.day COLLATE "C" AS day '
        )
        listed += "FROM json_to_recordset(CAST(:touched AS json)) AS t(party text, issue text, day text)"
    t = sa.text(listed).columns(party=sa.String, issue=sa.String, day=sa.String).subquery("t")
    h = positions.alias("h")
    cell = (h.c.party == t.c.party, h.c.issue == t.c.issue)
    until = sa.select(sa.func.min(h.c.occurred)).where(*cell, h.c.occurred > t.c.day, *_counts_now(h))
    last = (
        sa.select(h.c.id)
        .where(*cell, h.c.occurred <= t.c.day, *_counts_now(h))
        .order_by(h.c.occurred.desc(), h.c.seq.desc(), h.c.idx.desc())
        .limit(1)
    )
    if is_sqlite:  # no LATERAL: the subquery finds the row's id, and a join fetches the row
        p = positions
        found = sa.outerjoin(t, p, p.c.id == last.correlate(t).scalar_subquery())
        found = found.outerjoin(events, events.c.position == p.c.seq)  # not nested: SQLite would scan
        columns = _shown_columns(p)
    else:
        row = (
            last.with_only_columns(*_shown_columns(h)).join(events, events.c.position == h.c.seq).lateral("p")
        )
        found = sa.outerjoin(t, row, sa.true())
        columns = tuple(row.c)
    return sa.select(
        t.c.party, t.c.issue, t.c.day, until.scalar_subquery().label("until"), *columns
    ).select_from(found)


def _read_query() -> sa.Select:
    d, s = proj_days, proj_stands
    last = sa.select(sa.func.max(d.c.day)).where(d.c.day <= sa.bindparam("until")).scalar_subquery()
    return (
        sa.select(d.c.changed_at, s.c.json)
        .select_from(d.outerjoin(s, s.c.day == d.c.day))
        .where(d.c.day == last)
        .order_by(s.c.party, s.c.issue)
    )


_READ = _read_query()


def read(conn: sa.Connection, until: str, at: int) -> list[msgspec.Raw] | None:
    """Every cell's stand as of the end of day ``until``, at log position ``at`` and as known now, in
    (party, issue) order; None where the column has changed since ``at``."""
    rows = conn.execute(_READ, {"until": until}).all()
    if not rows:  # no position was ever taken on or before that day
        return []
    if rows[0].changed_at > at:
        return None
    return [msgspec.Raw(row.json) for row in rows if row.json is not None]


class DailyStands:
    def __init__(self, is_sqlite: bool) -> None:
        self._taken = _taken_query(is_sqlite)
        self._spans = _spans_query(is_sqlite)

    def refresh(self, conn: sa.Connection, touched: set[Touched], head: int) -> None:
        """Bring the columns up to date after an append (at log position ``head``) that took, retracted or
        corrected the positions ``touched``: for each, one statement finds the stand the cell shows from
        that day on, and the next day it changes."""
        if not touched:
            return
        self._add_days(conn, {day for _, _, day in touched}, head)
        d, s = proj_days, proj_stands
        first = min(day for _, _, day in touched)
        days = list(conn.scalars(sa.select(d.c.day).where(d.c.day >= first).order_by(d.c.day)))
        asked = msgspec.json.encode([{"party": p, "issue": i, "day": t} for p, i, t in sorted(touched)])
        # by (day, party, issue): spans of one cell can overlap, and then agree
        rows: dict[tuple[str, str, str], tuple] = {}
        emptied: set[tuple[str, str, str]] = set()
        changed, rendered = set(), {}
        for found in conn.execute(self._spans, {"touched": asked.decode()}):
            end = bisect.bisect_left(days, found.until) if found.until is not None else len(days)
            span = days[bisect.bisect_left(days, found.day) : end]
            changed.update(span)
            if found.seq is None:  # no position counts in the cell up to then
                emptied.update((day, found.party, found.issue) for day in span)
                continue
            shown = (found.seq, found.idx, found.pos_from, found.known_from)
            json = rendered.get(shown)
            if json is None:
                json = rendered[shown] = stand_json_of(found).decode()
            rows.update(((day, found.party, found.issue), (*shown, json)) for day in span)
        delete_rows(conn, s, sorted(emptied))
        upsert_rows(conn, s, STAND_COLUMNS, [(*key, *row) for key, row in sorted(rows.items())])
        for chunk in chunks(changed):
            conn.execute(d.update().where(d.c.day.in_(chunk)).values(changed_at=head))

    def _add_days(self, conn: sa.Connection, days: set[str], head: int) -> None:
        """Add the days not yet known, each with a copy of the column of the day before it."""
        d, s = proj_days, proj_stands
        known = set(conn.scalars(sa.select(d.c.day).where(d.c.day.in_(sorted(days)))))
        for day in sorted(days - known):
            before = conn.scalar(sa.select(sa.func.max(d.c.day)).where(d.c.day < day))
            conn.execute(d.insert().values(day=day, changed_at=head))
            if before is not None:
                copied = [sa.literal(day), *(s.c[name] for name in STAND_COLUMNS[1:])]
                copy = sa.select(*copied).where(s.c.day == before)
                conn.execute(s.insert().from_select(STAND_COLUMNS, copy))

    def derive(self, conn: sa.Connection, held: bool = True) -> Derived:
        """What the tables should hold, from ``positions``: the days, and every column (see
        ``Derived``)."""
        p, s = positions, proj_stands
        days = sorted(conn.scalars(sa.select(p.c.occurred).distinct()))
        # sorted as plain tuples: SQLAlchemy's rows compare in Python, several times slower
        columns = _columns(days, sorted(map(tuple, conn.execute(self._taken))))
        shown = (s.c.day, s.c.party, s.c.issue, s.c.seq, s.c.idx, s.c.pos_from, s.c.known_from)
        found = conn.execute(sa.select(*shown)) if held else []
        return Derived(days, columns, {tuple(row[:3]): tuple(row[3:]) for row in found})

    def rebuild(
        self, conn: sa.Connection, head: int, rerender: bool = False, derived: Derived | None = None
    ) -> None:
        """Derive the days and every column from ``positions`` (or take ``derived``, read from them as they
        are). The stand a row shows is rendered again only where the position it shows is not the one it
        held (normally nowhere), or everywhere with ``rerender``: a row's JSON depends on that position's
        event and its fixes alone, as a stored position depends on its event alone."""
        d, s = proj_days, proj_stands
        if derived is None:
            derived = self.derive(conn, held=not rerender)
        conn.execute(d.delete())
        insert_rows(conn, d, ["day", "changed_at"], [(day, head) for day in derived.days])
        held = derived.held
        if rerender:
            conn.execute(s.delete())
            held = {}
        changed = {key: row for key, row in derived.columns.items() if held.get(key) != row[:4]}
        delete_rows(conn, s, [key for key in held if key not in derived.columns or key in changed])
        rendered = _render(conn, set(changed.values()))
        insert_rows(conn, s, STAND_COLUMNS, [(*k, *row[:4], rendered[row]) for k, row in changed.items()])

    def check(self, conn: sa.Connection) -> str | None:
        """What differs first between the tables and what ``positions`` and the log say they should hold:
        a day missing, or a row missing, surplus, showing another position, or rendered otherwise (which
        ``rebuild`` alone would not notice); None if nothing does. Renders every row, so it is not
        cheap."""
        derived = self.derive(conn, held=False)
        d, s = proj_days, proj_stands
        missing = sorted(set(derived.days) - set(conn.scalars(sa.select(d.c.day))))
        if missing:
            return f"no column for {missing[0]}"
        rendered = _render(conn, set(derived.columns.values()))
        shown = (s.c.day, s.c.party, s.c.issue, s.c.seq, s.c.idx, s.c.pos_from, s.c.known_from, s.c.json)
        held = {tuple(row[:3]): (tuple(row[3:7]), row[7]) for row in conn.execute(sa.select(*shown))}
        for key in sorted(derived.columns.keys() | held.keys()):
            row = derived.columns.get(key)
            if held.get(key) != (None if row is None else (row[:4], rendered[row])):
                day, party, issue = key
                return f"the stand of {party} on {issue} as of {day}"
        return None


def _taken_query(is_sqlite: bool) -> sa.Select:
    """The position that counts last on each day a cell has one."""
    p, h = positions, positions.alias("h")
    columns = ("party", "issue", "occurred", "seq", "idx", "pos_from", "known_from", "vn", "corrected")
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


def _columns(days: list[str], taken: list[tuple]) -> dict[tuple[str, str, str], _Shown]:
    """Every day's column, from the last position of each day each cell has one (``_taken_query``'s
    rows, in cell and day order)."""
    place = {day: n for n, day in enumerate(days)}
    columns = {}
    for (party, issue), changes in itertools.groupby(taken, key=lambda row: row[:2]):
        changes = list(changes)
        for this, following in zip(changes, [*changes[1:], None], strict=True):
            end = place[following[2]] if following is not None else len(days)
            shown = _Shown(*this[3:])
            for day in days[place[this[2]] : end]:
                columns[(day, party, issue)] = shown
    return columns


class Derived(NamedTuple):
    """What the daily stands should hold, derived from ``positions``, and what they hold."""

    days: list[str]
    columns: dict[tuple[str, str, str], _Shown]  # by (day, party, issue)
    held: dict[tuple[str, str, str], tuple]  # the (seq, idx, pos_from, known_from) each row shows


class _Shown(NamedTuple):
    """A position row as far as its stand depends on it: the first four say which it is."""

    seq: int
    idx: int
    pos_from: int
    known_from: str
    vn: int
    corrected: bool


class _Form(NamedTuple):
    """The columns ``stand_json_of`` renders from."""

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


def _render(conn: sa.Connection, shown: Iterable[_Shown]) -> dict[_Shown, str]:
    """The stand JSON of each position row, reading its event, and for a corrected form its version."""
    shown = list(shown)
    stored, corrected = stored_events(conn, {s.seq for s in shown}), {}
    v = proj_versions
    for chunk in chunks({s.seq for s in shown if s.corrected}):
        found = conn.execute(sa.select(v.c.seq, v.c.vn, v.c.data).where(v.c.seq.in_(chunk)))
        corrected.update(((r.seq, r.vn), r.data) for r in found)
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
            corrected.get((s.seq, s.vn)) if s.corrected else None,
            event.data,
            event.type,
            event.schema_version,
        )
        rendered[s] = stand_json_of(form).decode()
    return rendered
