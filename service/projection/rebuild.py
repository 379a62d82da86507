"""Recreate the projections from the log, and check the parts of them a rebuild trusts.

``rebuild`` recreates the projections: the one version of each event no fix reaches in bulk from the
logged columns, with the indexes dropped during the load; the versions and forms of the events fixes
reach through the same functions as the append path (service.projection.apply and .fixes); and the
``fixed`` marks, of which it normally changes none. The stances as logged it leaves as they are: each
depends on its own event alone and was written with it (``rerender`` writes them again from the log). The
daily stands it derives from the stances, and renders again only those that now show another stance (see
DailyStands.rebuild), or all of them when ``rerender`` is set or they were made by another rendering.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from events.codec import decode_stored
from events.stand_json import RENDERING
from events.timeaxes import FOREVER_ISO, FOREVER_POSITION, Logged, is_meta, versions
from events.vocabulary import EVENT_TYPES
from service.projection import fixes
from service.projection.apply import (
    StanceRow,
    VersionRow,
    insert_cells,
    insert_logged_stances,
    logged_stance_rows,
    mark_fixed,
    version_rows,
)
from service.projection.stands import DailyStands, Derived
from service.storage.bulk import chunks, insert_rows
from service.storage.collector import collector_paused
from service.storage.database import Database
from service.storage.log import APPEND_LOCK_KEY, read_head
from service.storage.tables import events, proj_cells, proj_stands_rendering, proj_versions, stances

# What a rebuild empties and fills again; the daily stands it compares with what they should hold instead
# (see DailyStands.rebuild), and of `stances` it rewrites only the forms of fixed events.
EMPTIED = (proj_versions, proj_cells)
REBUILD_PRAGMAS = {"secure_delete": 0, "threads": 2}  # SQLite, while rebuilding: see rebuild_in


def rebuild(database: Database, rerender: bool = False) -> int:
    """Recreate every projection from the log, under the append lock, and with ``rerender`` every stance
    as logged and every daily stand too; returns events read."""
    # the collector paused as for an append (service.storage.collector): a rebuild holds every version,
    # stance and stand row of the log at once. Measured on 200k events (SQLite, in turns with the commit
    # before, six each): 1.86 s median against 2.33 s
    with collector_paused(), database.write_lock(), database.writer.begin() as conn:
        if not database.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        return rebuild_in(conn, rerender, database.reader)


def rebuild_in(conn: sa.Connection, rerender: bool = False, reader: sa.Engine | None = None) -> int:
    """``rebuild`` inside the caller's transaction (a migration's). With a ``reader`` (an engine on the same
    database), the daily stands are derived over a connection of its own meanwhile."""
    work = _Rebuild(conn.dialect.name == "sqlite", rerender or rendered_by(conn) != RENDERING)
    if not work.is_sqlite:
        return work.run(conn, rerender, reader)
    # Projections hold nothing the log beside them does not, so zeroing the pages freed by emptying
    # them (SQLite's secure_delete, on in many builds) is wasted writes; a second sorter thread
    # speeds up the index builds. Both are per connection, so they are put back afterwards.
    saved = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in REBUILD_PRAGMAS}
    for name, value in REBUILD_PRAGMAS.items():
        conn.exec_driver_sql(f"PRAGMA {name} = {value}")
    try:
        return work.run(conn, rerender, reader)
    finally:
        for name, value in saved.items():
            conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")


def rendered_by(conn: sa.Connection) -> int:
    """The rendering (events.stand_json.RENDERING) that made the daily stands' JSON."""
    return conn.scalar(sa.select(proj_stands_rendering.c.version)) or 0


def render_if_stale(database: Database) -> bool:
    """Render the daily stands again if another rendering made them (run at ``serve``); returns whether it
    did."""
    with database.reader.connect() as conn:
        if rendered_by(conn) == RENDERING:
            return False
    with database.write_lock(), database.writer.begin() as conn:
        if not database.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        return render_stale_in(conn)


def render_stale_in(conn: sa.Connection) -> bool:
    """``render_if_stale`` inside the caller's transaction (a migration's)."""
    if rendered_by(conn) == RENDERING:
        return False
    DailyStands(conn.dialect.name == "sqlite").rebuild(conn, read_head(conn), rerender=True)
    _record_rendering(conn)
    return True


def _record_rendering(conn: sa.Connection) -> None:
    conn.execute(proj_stands_rendering.delete())
    conn.execute(proj_stands_rendering.insert().values(version=RENDERING))


class _Rebuild:
    def __init__(self, is_sqlite: bool, rerender_stands: bool) -> None:
        self.is_sqlite = is_sqlite
        self.rerender_stands = rerender_stands
        self.daily = DailyStands(is_sqlite)

    def run(self, conn: sa.Connection, rerender: bool, reader: sa.Engine | None) -> int:
        with ThreadPoolExecutor(1) as ahead:
            # The daily stands depend on `stances`, which a rebuild normally leaves as they are: they are
            # derived from them as committed, by another connection, while this one works on the rest;
            # and again, after, only if the rebuild changed them.
            derived = (
                ahead.submit(self._derive_daily, reader) if reader is not None and not rerender else None
            )
            head, changed = self._versions(conn, rerender)
            ready = derived.result() if derived is not None and not changed else None
        self.daily.rebuild(conn, head, rerender=rerender or self.rerender_stands, derived=ready)
        _record_rendering(conn)
        for index in [index for table in EMPTIED for index in table.indexes]:
            index.create(conn)
        return head

    def _derive_daily(self, reader: sa.Engine) -> Derived:
        with reader.connect() as conn:
            return self.daily.derive(conn)

    def _versions(self, conn: sa.Connection, rerender: bool) -> tuple[int, bool]:
        """Recreate the versions, the cells, the forms' stances and the marks (and with ``rerender`` the
        stances as logged), leaving the tables of ``EMPTIED`` without their indexes; returns the log's head
        and whether any row of ``stances`` changed."""
        if rerender:
            self._relog_stances(conn)
        # The indexes go first, so that emptying the tables does not have to empty them too.
        for index in [index for table in EMPTIED for index in table.indexes]:
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
        # The rows of stances that are projections (the forms of fixed events), and the marks, from one
        # read of both.
        s = stances
        marked: set[int] = set()
        held_forms: dict[tuple, list[int]] = {}  # by the stance row, as version_rows builds it
        query = sa.select(s.c.id, *(s.c[name] for name in StanceRow._fields))
        for row in conn.execute(query.where(sa.or_(s.c.fixed, sa.not_(s.c.as_logged)))):
            if row.as_logged:
                marked.add(row.seq)
            else:
                held_forms.setdefault(tuple(row)[1:], []).append(row.id)
        fixed = fixes.reached(conn)
        changed = mark_fixed(conn, marked - fixed, False) + mark_fixed(conn, fixed - marked, True)
        plain = sa.and_(
            events.c.target.is_(None), *([events.c.position.not_in(sorted(fixed))] if fixed else [])
        )
        # The fixed events' versions are worked out in Python while the database writes the others'.
        groups = fixes.fix_groups(conn, fixed)
        with ThreadPoolExecutor(1) as pool:
            worked_out = pool.submit(lambda: version_rows([(g[0], versions(g)) for g in groups], fixed=True))
            self._insert_plain_versions(conn, plain)
            rows = worked_out.result()
        insert_rows(conn, proj_versions, list(VersionRow._fields), rows.versions)
        # Their forms' stances are written where they differ from what the table holds: normally nowhere.
        missing = []
        for row in rows.stances:
            held = held_forms.get(row)
            if held:
                held.pop()
            else:
                missing.append(row)
        surplus = {ident for held in held_forms.values() for ident in held}
        for chunk in chunks(surplus):
            conn.execute(s.delete().where(s.c.id.in_(chunk)))
        insert_rows(conn, stances, list(StanceRow._fields), missing)
        insert_cells(conn, rows.cells | self._logged_cells(conn))
        return read_head(conn), bool(rerender or changed or surplus or missing)

    @staticmethod
    def _insert_plain_versions(conn: sa.Connection, plain: sa.ColumnElement[bool]) -> None:
        """The events no fix reaches, set-based inside the database: one version each, open on both axes."""
        conn.execute(
            proj_versions.insert().from_select(
                list(VersionRow._fields),
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

    def _relog_stances(self, conn: sa.Connection) -> None:
        """Write every stance as logged again, unmarked, from the logged events: set-based inside the
        database for events of the current schemas, by decoding (and upcasting) the others."""
        indexes = list(stances.indexes)
        for index in indexes:
            index.drop(conn)
        conn.execute(stances.delete().where(stances.c.as_logged))
        current = sa.and_(
            events.c.target.is_(None),
            sa.tuple_(events.c.type, events.c.schema_version).in_(
                [(name, cls.schema_version) for name, cls in EVENT_TYPES.items()]
            ),
        )
        conn.execute(
            sa.text(self._logged_stances_sql(current)), {"forever": FOREVER_POSITION, "end": FOREVER_ISO}
        )
        columns = (events.c.position, events.c.type, events.c.schema_version, events.c.data)
        older = sa.select(*columns).where(events.c.target.is_(None), sa.not_(current))
        for batch in conn.execute(older, execution_options={"yield_per": 1000}).partitions():
            insert_logged_stances(
                conn, [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in batch]
            )
        for index in indexes:
            index.create(conn)

    def _logged_stances_sql(self, where: sa.ColumnElement[bool]) -> str:
        """The stances as logged of the events ``where`` selects, unnested from their logged JSON."""
        dialect = sqlite.dialect() if self.is_sqlite else postgresql.dialect()
        condition = str(where.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        insert = f"INSERT INTO stances ({', '.join(StanceRow._fields)}) "
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
    def _logged_cells(conn: sa.Connection) -> set[tuple[str, str]]:
        """Every (party, issue) pair some logged event names: one index seek per pair, from the first."""
        s = stances
        following = (
            sa.select(s.c.party, s.c.issue)
            .where(
                s.c.as_logged,
                sa.tuple_(s.c.party, s.c.issue) > sa.tuple_(sa.bindparam("party"), sa.bindparam("issue")),
            )
            .order_by(s.c.party, s.c.issue)
            .limit(1)
        )
        cells, cell = set(), conn.execute(following, {"party": "", "issue": ""}).first()
        while cell is not None:
            cells.add(tuple(cell))
            cell = conn.execute(following, {"party": cell.party, "issue": cell.issue}).first()
        return cells


# -- checks of what a rebuild trusts ------------------------------------------------------------------


def check_logged_stances(database: Database, step: int = 5000) -> tuple[int, int | None]:
    """Check every stance as logged against its event: ``rebuild`` trusts them, since each was written with
    its event and depends on it alone, so nothing else would notice one changed behind the service's back.
    Returns (events checked, the position of the first event whose logged stances differ from what it
    says, or None). The ``fixed`` marks are projections, and are not checked."""
    s = stances
    columns = (events.c.position, events.c.type, events.c.schema_version, events.c.data)
    with database.reader.connect() as conn:
        head = read_head(conn)
        for low in range(1, head + 1, step):
            high = min(low + step - 1, head)
            # (retractions and corrections are left out after decoding: a condition on `target`
            # would lead SQLite through its index, over most of the log for every chunk)
            rows = conn.execute(sa.select(*columns).where(events.c.position.between(low, high)))
            logged = [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in rows]
            expected = _unmarked_by_event(logged_stance_rows([g for g in logged if not is_meta(g.event)]))
            held = conn.execute(
                sa.select(*(s.c[name] for name in StanceRow._fields))
                .where(s.c.as_logged, s.c.seq.between(low, high))
                .order_by(s.c.seq, s.c.idx)
            )
            found = _unmarked_by_event(map(tuple, held))
            for seq in sorted(expected.keys() | found.keys()):
                if expected.get(seq) != found.get(seq):
                    return head, seq
    return head, None


def _unmarked_by_event(rows: Iterable[tuple]) -> dict[int, list[StanceRow]]:
    """Stance rows (tuples in the order of ``StanceRow``) without their ``fixed`` mark, by the log position
    of their event."""
    grouped: dict[int, list[StanceRow]] = {}
    for row in map(StanceRow._make, rows):
        grouped.setdefault(row.seq, []).append(row._replace(fixed=False))
    return grouped


def check_daily_stands(database: Database) -> str | None:
    """Check the daily stands against the stances and the log, in one snapshot: ``rebuild`` trusts the
    JSON of a stand that still shows the same stance. Returns what differs first, or None."""
    engine = database.reader
    if not database.is_sqlite:  # its readers take a snapshot per statement
        engine = database.writer.execution_options(isolation_level="REPEATABLE READ")
    with engine.begin() as conn:
        return DailyStands(database.is_sqlite).check(conn)
