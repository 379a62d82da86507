"""Maintains the projections from the log, in the same transaction as each append.

Every event that is not a retraction or correction is written as its positions as stored (``positions``
rows marked ``stored``: they belong to the log, and count from the event's log position and reported date
on) and as its versions (events.timeaxes.versions): the forms it takes over rectangles of (log position,
knowledge date), numbered 0, 1, ... per event. An event no retraction or correction names has one
version, open on both axes. A retraction or correction marks the stored positions of the event it names
(directly or through another retraction) as ``fixed``, and rewrites that event's versions, with the
positions of each form. Then every cell's stand as of each day (service.projection.stands) is brought up to
date from the days whose positions changed. Because this happens inside the append transaction,
projections always reflect exactly the log they sit beside, and an answer's log position is exact.

``rebuild`` recreates the projections from the log: the one version of each event no fix reaches in bulk
from the stored columns, with the indexes dropped during the load; the versions and forms of the events
fixes reach through the general path; and the ``fixed`` marks, of which it normally changes none. The
stored positions it leaves as they are: each depends on its own event alone and was written with it.
The daily stands it derives from the positions, and renders again only those that now show another
position (see DailyStands.rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from events.codec import decode_stored, encode
from events.timeaxes import (
    FOREVER_DATE,
    FOREVER_ISO,
    FOREVER_POSITION,
    Effective,
    Logged,
    Version,
    groups,
    is_meta,
    reported_start,
    versions,
)
from events.vocabulary import EVENT_TYPES, type_name
from service.storage.bulk import chunks, insert_missing_rows, insert_rows
from service.projection.stands import DailyStands, Derived, Taken, Touched
from service.storage.tables import events, positions, proj_cells, proj_versions

VERSION_COLUMNS = [c.name for c in proj_versions.c]
POSITION_COLUMNS = [c.name for c in positions.c if c.name != "id"]
# What a rebuild empties and fills again; the daily stands it compares with what they should hold instead
# (see DailyStands.rebuild), and of `positions` it rewrites only the forms of fixed events.
EMPTIED = (proj_versions, proj_cells)
REBUILD_PRAGMAS = {"secure_delete": 0, "threads": 2}  # SQLite, while rebuilding: see Projector.rebuild


class Projector:
    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite
        self.daily = DailyStands(is_sqlite)

    def apply(
        self, conn: sa.Connection, appended: Sequence[Logged], data: Sequence[str] | None = None
    ) -> None:
        """Project events just appended (in position order) inside the append transaction; ``data`` holds
        each one's stored JSON, where the caller has it."""
        if data is None:
            data = [encode(logged.event).decode() for logged in appended]
        self._store(conn, [logged for logged in appended if not is_meta(logged.event)])
        in_batch = {str(logged.event.id): logged for logged in appended}
        revisit = {self._root(conn, g.event.target, in_batch) for g in appended if is_meta(g.event)}
        plain = [
            (logged, json)
            for logged, json in zip(appended, data, strict=True)
            if not is_meta(logged.event) and logged.position not in revisit
        ]
        self._write(conn, [(logged, [_single(logged)]) for logged, _ in plain], fixed=False)
        taken = [
            Taken(
                p.party, p.issue, logged.event.occurred.start.isoformat(), logged.position, idx, known, json
            )
            for logged, json in plain
            for known in (reported_start(logged.event).isoformat(),)
            for idx, p in enumerate(logged.event.positions)
        ]
        touched: set[Touched] = set()
        for root in sorted(revisit):
            touched |= self._days_of(conn, root)
            conn.execute(positions.delete().where(positions.c.seq == root, sa.not_(positions.c.stored)))
            conn.execute(proj_versions.delete().where(proj_versions.c.seq == root))
            group = self._group(conn, root)
            self._write(conn, [(group[0], versions(group))], fixed=True)
            touched |= self._days_of(conn, root)
        self._mark_fixed(conn, revisit, True)
        self.daily.refresh(conn, taken, touched, appended[-1].position)

    @staticmethod
    def _days_of(conn: sa.Connection, seq: int) -> set[tuple[str, str, str]]:
        """The cells, and the days, of every position row of the event at ``seq``."""
        p = positions
        return set(conn.execute(sa.select(p.c.party, p.c.issue, p.c.occurred).where(p.c.seq == seq)).all())

    def rebuild(self, conn: sa.Connection, stored: bool = False, reader: sa.Engine | None = None) -> int:
        """Recreate every projection from the log, and with ``stored`` every stored position too; returns
        the number of events read. With a ``reader`` (an engine on the same database), the daily stands
        are derived over a connection of its own meanwhile (see ``_rebuild``)."""
        if not self.is_sqlite:
            return self._rebuild(conn, stored, reader)
        # Projections hold nothing the log beside them does not, so zeroing the pages freed by emptying
        # them (SQLite's secure_delete, on in many builds) is wasted writes; a second sorter thread
        # speeds up the index builds. Both are per connection, so they are put back afterwards.
        saved = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in REBUILD_PRAGMAS}
        for name, value in REBUILD_PRAGMAS.items():
            conn.exec_driver_sql(f"PRAGMA {name} = {value}")
        try:
            return self._rebuild(conn, stored, reader)
        finally:
            for name, value in saved.items():
                conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")

    def _rebuild(self, conn: sa.Connection, stored: bool, reader: sa.Engine | None) -> int:
        with ThreadPoolExecutor(1) as ahead:
            # The daily stands depend on `positions`, which a rebuild normally leaves as they are: they are
            # derived from them as committed, by another connection, while this one works on the rest;
            # and again, after, only if the rebuild changed them.
            derived = ahead.submit(self._derive_daily, reader) if reader is not None and not stored else None
            head, changed = self._rebuild_versions(conn, stored)
            ready = derived.result() if derived is not None and not changed else None
        self.daily.rebuild(conn, head, rerender=stored, derived=ready)
        for index in [index for table in EMPTIED for index in table.indexes]:
            index.create(conn)
        return head

    def _derive_daily(self, reader: sa.Engine) -> Derived:
        with reader.connect() as conn:
            return self.daily.derive(conn)

    def _rebuild_versions(self, conn: sa.Connection, stored: bool) -> tuple[int, bool]:
        """Recreate the versions, the cells, the forms' positions and the marks (and with ``stored`` the
        stored positions), leaving the tables of ``EMPTIED`` without their indexes; returns the log's head
        and whether any row of ``positions`` changed."""
        if stored:
            self._restore(conn)
        # The indexes go first, so that emptying the tables does not have to empty them too.
        indexes = [index for table in EMPTIED for index in table.indexes]
        for index in indexes:
            index.drop(conn)
        if self.is_sqlite:
            for table in reversed(EMPTIED):
                conn.execute(table.delete())
        else:
            # TRUNCATE gives fresh files: DELETE would leave every old row dead in the heap for the index
            # builds to scan past. It locks the tables as the DROP INDEX above already does.
            conn.exec_driver_sql("TRUNCATE " + ", ".join(table.name for table in EMPTIED))
            # room to sort in memory while the indexes are built again
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        # The rows of positions that are projections (the forms of fixed events), and the marks, from one
        # read of both.
        p = positions
        marked: set[int] = set()
        forms: dict[tuple, list[int]] = {}
        query = sa.select(p.c.id, *(p.c[name] for name in POSITION_COLUMNS))
        for row in conn.execute(query.where(sa.or_(p.c.fixed, sa.not_(p.c.stored)))):
            if row.stored:
                marked.add(row.seq)
            else:
                forms.setdefault(tuple(row)[1:], []).append(row.id)
        fixed = self._named_roots(conn)
        changed = self._mark_fixed(conn, marked - fixed, False) + self._mark_fixed(conn, fixed - marked, True)
        plain = sa.and_(
            events.c.target.is_(None), *([events.c.position.not_in(sorted(fixed))] if fixed else [])
        )
        # The fixed events' versions are worked out in Python while the database writes the others'.
        groups = self._groups(conn, fixed)
        with ThreadPoolExecutor(1) as pool:
            worked_out = pool.submit(lambda: self._rows([(g[0], versions(g)) for g in groups], fixed=True))
            self._insert_plain_versions(conn, plain)
            version_rows, position_rows, cells = worked_out.result()
        insert_rows(conn, proj_versions, VERSION_COLUMNS, version_rows)
        # Their forms' positions are written where they differ from what the table holds: normally nowhere.
        missing = []
        for row in position_rows:
            held = forms.get(row)
            if held:
                held.pop()
            else:
                missing.append(row)
        surplus = {ident for held in forms.values() for ident in held}
        for chunk in chunks(surplus):
            conn.execute(p.delete().where(p.c.id.in_(chunk)))
        insert_rows(conn, positions, POSITION_COLUMNS, missing)
        self._insert_cells(conn, cells | self._stored_cells(conn))
        # positions are gapless from 1: the last is the number of events
        head = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0)))
        return head, bool(stored or changed or surplus or missing)

    @staticmethod
    def _insert_plain_versions(conn: sa.Connection, plain: sa.ColumnElement[bool]) -> None:
        """The events no fix reaches, set-based inside the database: one version each, open on both axes."""
        conn.execute(
            proj_versions.insert().from_select(
                VERSION_COLUMNS,
                sa.select(
                    events.c.position,
                    sa.literal(0),
                    events.c.type,
                    events.c.occurred,
                    events.c.position,
                    sa.literal(FOREVER_POSITION, sa.BigInteger),
                    events.c.reported,
                    sa.literal(FOREVER_ISO),
                    sa.false(),
                    sa.false(),
                    sa.null(),
                ).where(plain),
            )
        )

    def _restore(self, conn: sa.Connection) -> None:
        """Write every stored position again, unmarked, from the stored events: set-based inside the
        database for events of the current schemas, by decoding (and upcasting) the others."""
        indexes = list(positions.indexes)
        for index in indexes:
            index.drop(conn)
        conn.execute(positions.delete().where(positions.c.stored))
        current = sa.and_(
            events.c.target.is_(None),
            sa.tuple_(events.c.type, events.c.schema_version).in_(
                [(name, cls.schema_version) for name, cls in EVENT_TYPES.items()]
            ),
        )
        conn.execute(
            sa.text(self._stored_positions_sql(current)), {"forever": FOREVER_POSITION, "end": FOREVER_ISO}
        )
        columns = (events.c.position, events.c.type, events.c.schema_version, events.c.data)
        older = sa.select(*columns).where(events.c.target.is_(None), sa.not_(current))
        for batch in conn.execute(older, execution_options={"yield_per": 1000}).partitions():
            self._store(
                conn, [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in batch]
            )
        for index in indexes:
            index.create(conn)

    def _stored_positions_sql(self, where: sa.ColumnElement[bool]) -> str:
        """The stored positions of the events ``where`` selects, unnested from their stored JSON."""
        dialect = sqlite.dialect() if self.is_sqlite else postgresql.dialect()
        condition = str(where.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        insert = f"INSERT INTO positions ({', '.join(POSITION_COLUMNS)}) "
        if self.is_sqlite:
            return insert + (
                "SELECT json_extract(p.value, '$.party'), json_extract(p.value, '$.issue'), events.occurred, "
                "events.position, p.key, events.position, :forever, events.reported, :end, "
                "json_extract(p.value, '$.stance'), 0, false, true, false "
                f"FROM events, json_each(events.data, '$.positions') AS p WHERE {condition}"
            )
        # json_to_recordset reads the three fields of each position in one pass; ->> would parse the
        # element again for each field.
        return insert + (
            "SELECT p.party, p.issue, events.occurred, events.position, p.idx - 1, events.position, "
            ":forever, events.reported, :end, p.stance, 0, false, true, false FROM events "
            "CROSS JOIN LATERAL ROWS FROM (json_to_recordset(events.data::json -> 'positions') "
            "AS (party text, issue text, stance text)) "
            f"WITH ORDINALITY AS p(party, issue, stance, idx) WHERE {condition}"
        )

    @staticmethod
    def _stored_cells(conn: sa.Connection) -> set[tuple[str, str]]:
        """Every (party, issue) pair some stored event names: one index seek per pair, from the first."""
        p = positions
        following = (
            sa.select(p.c.party, p.c.issue)
            .where(
                p.c.stored,
                sa.tuple_(p.c.party, p.c.issue) > sa.tuple_(sa.bindparam("party"), sa.bindparam("issue")),
            )
            .order_by(p.c.party, p.c.issue)
            .limit(1)
        )
        cells, cell = set(), conn.execute(following, {"party": "", "issue": ""}).first()
        while cell is not None:
            cells.add(tuple(cell))
            cell = conn.execute(following, {"party": cell.party, "issue": cell.issue}).first()
        return cells

    @staticmethod
    def _store(conn: sa.Connection, appended: Sequence[Logged]) -> list[tuple]:
        """Write the positions of events just appended, as stored; returns the rows."""
        rows = stored_rows(appended)
        insert_rows(conn, positions, POSITION_COLUMNS, rows)
        return rows

    # -- helpers -----------------------------------------------------------------------------------------

    def _named_roots(self, conn: sa.Connection) -> set[int]:
        """Positions of the events some retraction or correction reaches."""
        target_of = dict(conn.execute(_metas(events.c.id, events.c.target)).all())
        roots = set()
        for target in target_of.values():
            while target in target_of:
                target = target_of[target]
            roots.add(target)
        found = sa.select(events.c.position).where(events.c.id.in_(sa.bindparam("ids", expanding=True)))
        return {position for chunk in chunks(roots) for position in conn.scalars(found, {"ids": chunk})}

    def _groups(self, conn: sa.Connection, roots: set[int]) -> list[list[Logged]]:
        """Each event at ``roots`` with every retraction and correction that reaches it: the fixes through
        their index, the events they reach by position."""
        if not roots:
            return []
        columns = (events.c.position, events.c.type, events.c.schema_version, events.c.data)
        rows = conn.execute(_metas(*columns)).all()
        for chunk in chunks(roots):
            rows += conn.execute(sa.select(*columns).where(events.c.position.in_(chunk))).all()
        rows.sort(key=lambda r: r.position)
        log = [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in rows]
        return [group for group in groups(log) if group[0].position in roots]

    def _root(self, conn: sa.Connection, target, in_batch: dict[str, Logged]) -> int:
        """The log position of the event a chain of retractions and corrections finally names."""
        ident = str(target)
        while True:
            if ident in in_batch:
                logged = in_batch[ident]
                position, next_target = logged.position, getattr(logged.event, "target", None)
            else:
                row = conn.execute(
                    sa.select(events.c.position, events.c.target).where(events.c.id == ident)
                ).one()
                position, next_target = row.position, row.target
            if next_target is None:
                return position
            ident = str(next_target)

    def _group(self, conn: sa.Connection, root: int) -> list[Logged]:
        """The event at ``root`` and every retraction and correction that reaches it, in position order."""
        columns = (events.c.position, events.c.id, events.c.type, events.c.schema_version, events.c.data)
        found = conn.execute(sa.select(*columns).where(events.c.position == root)).all()
        frontier = [found[0].id]
        while frontier:
            rows = conn.execute(sa.select(*columns).where(events.c.target.in_(frontier))).all()
            found += rows
            frontier = [r.id for r in rows]
        found.sort(key=lambda r: r.position)
        return [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in found]

    def _write(self, conn: sa.Connection, items: Sequence[tuple[Logged, list[Version]]], fixed: bool) -> None:
        """Write the versions of events, and for ``fixed`` ones the positions of each form (their positions
        as stored are written with them), and the cells those name."""
        version_rows, position_rows, cells = self._rows(items, fixed)
        insert_rows(conn, proj_versions, VERSION_COLUMNS, version_rows)
        insert_rows(conn, positions, POSITION_COLUMNS, position_rows)
        self._insert_cells(conn, cells)

    @staticmethod
    def _rows(
        items: Sequence[tuple[Logged, list[Version]]], fixed: bool
    ) -> tuple[list[tuple], list[tuple], set[tuple[str, str]]]:
        """The version rows of events; for ``fixed`` ones, the position rows of each form; and the cells
        their positions name."""
        version_rows, position_rows = [], []
        cells: set[tuple[str, str]] = set()
        for logged, forms in items:
            for vn, form in enumerate(forms):
                event = form.effective.event
                occurred, known_from, known_to = (
                    event.occurred.start.isoformat(),
                    form.known_from.isoformat(),
                    form.known_to.isoformat(),
                )
                version_rows.append(
                    (
                        logged.position,
                        vn,
                        type_name(event),
                        occurred,
                        form.pos_from,
                        form.pos_to,
                        known_from,
                        known_to,
                        form.effective.retracted,
                        form.effective.corrected,
                        encode(event).decode() if form.effective.corrected else None,
                    )
                )
                if form.effective.retracted:
                    continue
                for idx, p in enumerate(event.positions):
                    cells.add((p.party, p.issue))
                    if fixed:
                        position_rows.append(
                            (p.party, p.issue, occurred, logged.position, idx, form.pos_from, form.pos_to)
                            + (known_from, known_to, p.stance, vn, form.effective.corrected, False, False)
                        )
        return version_rows, position_rows, cells

    @staticmethod
    def _mark_fixed(conn: sa.Connection, seqs: set[int], fixed: bool) -> int:
        """Mark the stored positions of the events at ``seqs`` as reached by a fix (``fixed``), or not;
        returns how many rows changed (an event that takes no position has none)."""
        if not seqs:
            return 0
        p = positions
        update = p.update().where(p.c.seq.in_(sa.bindparam("seqs", expanding=True)), p.c.stored)
        update = update.values(fixed=fixed)
        return sum(conn.execute(update, {"seqs": chunk}).rowcount for chunk in chunks(seqs))

    def _insert_cells(self, conn: sa.Connection, cells: set[tuple[str, str]]) -> None:
        insert_missing_rows(conn, proj_cells, sorted(cells))


def stored_rows(appended: Sequence[Logged]) -> list[tuple]:
    """The ``positions`` rows (``POSITION_COLUMNS``) of events as stored, unmarked: they count from the
    event's log position and reported date on, until a fix reaches the event."""
    return [
        (p.party, p.issue, logged.event.occurred.start.isoformat(), logged.position, idx)
        + (logged.position, FOREVER_POSITION, reported_start(logged.event).isoformat(), FOREVER_ISO)
        + (p.stance, 0, False, True, False)
        for logged in appended
        for idx, p in enumerate(logged.event.positions)
    ]


def _metas(*columns: sa.ColumnElement) -> sa.Select:
    """Retractions and corrections: about 1% of the log. Without statistics SQLite takes ``IS NOT NULL``
    for most rows and reads the whole log; a range on ``target`` (every target is an id, never empty)
    makes it use the index on ``target``."""
    return sa.select(*columns).where(events.c.target.is_not(None), events.c.target > "")


def _single(logged: Logged) -> Version:
    """The one version of an event no retraction or correction names: open on both axes."""
    return Version(
        logged.position,
        FOREVER_POSITION,
        reported_start(logged.event),
        FOREVER_DATE,
        Effective(logged.position, logged.event, False, False),
    )
