"""Maintains the projection tables from the log, in the same transaction as each append.

Every event that is not a retraction or correction is written as its versions (events.timeaxes.versions):
the forms it takes over rectangles of (log position, knowledge date), numbered 0, 1, ... per event, each
with the positions it reveals. A retraction or correction rewrites the versions of the event it names
(directly or through another retraction). Because this happens inside the append transaction, projections
always reflect exactly the log they sit beside, and an answer's log position is exact.

``rebuild`` recreates everything from the log. Almost every event is never retracted or corrected and
has one version, open on both axes, which the stored columns and the event's positions determine: those
are written in bulk from the rows, reading only the positions out of the stored JSON, with the indexes
dropped during the load. The few events that some retraction or correction names take the general path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from events.codec import decode_stored, encode
from events.timeaxes import (
    FOREVER_DATE,
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
from service.tables import PROJECTION_TABLES, events, proj_cells, proj_positions, proj_versions

FOREVER_ISO = FOREVER_DATE.isoformat()
VERSION_COLUMNS = [c.name for c in proj_versions.c]
POSITION_COLUMNS = [c.name for c in proj_positions.c if c.name != "id"]
REBUILD_PRAGMAS = {"secure_delete": 0, "threads": 2}  # SQLite, while rebuilding: see Projector.rebuild


class Projector:
    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite

    def apply(self, conn: sa.Connection, appended: Sequence[Logged]) -> None:
        """Project events just appended (in position order) inside the append transaction."""
        in_batch = {str(logged.event.id): logged for logged in appended}
        revisit = {self._root(conn, g.event.target, in_batch) for g in appended if is_meta(g.event)}
        plain = [g for g in appended if not is_meta(g.event) and g.position not in revisit]
        self._write(conn, [(logged, [_single(logged)]) for logged in plain])
        for root in sorted(revisit):
            conn.execute(proj_positions.delete().where(proj_positions.c.seq == root))
            conn.execute(proj_versions.delete().where(proj_versions.c.seq == root))
            group = self._group(conn, root)
            self._write(conn, [(group[0], versions(group))])

    def rebuild(self, conn: sa.Connection) -> int:
        """Recreate every projection from the log; returns the number of events read."""
        if not self.is_sqlite:
            return self._rebuild(conn)
        # Projections hold nothing the log beside them does not, so zeroing the pages freed by emptying
        # them (SQLite's secure_delete, on in many builds) is wasted writes; a second sorter thread
        # speeds up the index builds. Both are per connection, so they are put back afterwards.
        saved = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in REBUILD_PRAGMAS}
        for name, value in REBUILD_PRAGMAS.items():
            conn.exec_driver_sql(f"PRAGMA {name} = {value}")
        try:
            return self._rebuild(conn)
        finally:
            for name, value in saved.items():
                conn.exec_driver_sql(f"PRAGMA {name} = {int(value)}")

    def _rebuild(self, conn: sa.Connection) -> int:
        # The indexes go first, so that emptying the tables does not have to empty them too.
        indexes = [index for table in PROJECTION_TABLES for index in table.indexes]
        for index in indexes:
            index.drop(conn)
        if self.is_sqlite:
            for table in reversed(PROJECTION_TABLES):
                conn.execute(table.delete())
        else:
            # TRUNCATE gives fresh files: DELETE would leave every old row dead in the heap for the index
            # builds to scan past. It locks the tables as the DROP INDEX above already does.
            conn.exec_driver_sql("TRUNCATE " + ", ".join(table.name for table in PROJECTION_TABLES))
            # room to sort in memory while the indexes are built again
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        named = self._named_roots(conn)
        plain = sa.and_(
            events.c.target.is_(None),
            sa.tuple_(events.c.type, events.c.schema_version).in_(
                [(name, cls.schema_version) for name, cls in EVENT_TYPES.items()]
            ),
            *([events.c.position.not_in(sorted(named))] if named else []),
        )
        # The plain events, set-based inside the database: one version each, open on both axes ...
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
        # ... and their positions, unnested from the stored JSON.
        conn.execute(
            sa.text(self._plain_positions_sql(plain)), {"forever": FOREVER_POSITION, "end": FOREVER_ISO}
        )
        # The rest (events some fix names, and any stored by an older schema) through the general path.
        special = set(
            conn.scalars(sa.select(events.c.position).where(events.c.target.is_(None), sa.not_(plain)))
        )
        self._write(conn, [(group[0], versions(group)) for group in self._groups(conn, special)], set())
        conn.execute(
            proj_cells.insert().from_select(
                ["party", "issue"], sa.select(proj_positions.c.party, proj_positions.c.issue).distinct()
            )
        )
        for index in indexes:
            index.create(conn)
        return conn.scalar(sa.select(sa.func.count()).select_from(events)) or 0

    def _plain_positions_sql(self, plain: sa.ColumnElement[bool]) -> str:
        where = str(
            plain.compile(
                dialect=sqlite.dialect() if self.is_sqlite else postgresql.dialect(),
                compile_kwargs={"literal_binds": True},
            )
        )
        columns = ", ".join(POSITION_COLUMNS)
        if self.is_sqlite:
            return (
                f"INSERT INTO proj_positions ({columns}) "
                "SELECT json_extract(p.value, '$.party'), json_extract(p.value, '$.issue'), events.occurred, "
                "events.position, p.key, events.position, :forever, events.reported, :end, "
                "json_extract(p.value, '$.stance'), 0, 0 "
                f"FROM events, json_each(events.data, '$.positions') AS p WHERE {where}"
            )
        # json_to_recordset reads the three fields of each position in one pass; ->> would parse the
        # element again for each field.
        return (
            f"INSERT INTO proj_positions ({columns}) "
            "SELECT p.party, p.issue, events.occurred, events.position, p.idx - 1, "
            "events.position, :forever, events.reported, :end, p.stance, 0, false "
            "FROM events CROSS JOIN LATERAL ROWS FROM (json_to_recordset(events.data::json -> 'positions') "
            "AS (party text, issue text, stance text)) WITH ORDINALITY AS p(party, issue, stance, idx) "
            f"WHERE {where}"
        )

    # -- helpers -----------------------------------------------------------------------------------------

    def _named_roots(self, conn: sa.Connection) -> set[int]:
        """Positions of the events some retraction or correction reaches."""
        metas = conn.execute(
            sa.select(events.c.id, events.c.target).where(events.c.target.is_not(None))
        ).all()
        target_of = {row.id: row.target for row in metas}
        roots = set()
        for target in target_of.values():
            while target in target_of:
                target = target_of[target]
            roots.add(target)
        if not roots:
            return set()
        return set(conn.scalars(sa.select(events.c.position).where(events.c.id.in_(roots))))

    def _groups(self, conn: sa.Connection, roots: set[int]) -> list[list[Logged]]:
        """Each event at ``roots`` with every retraction and correction that reaches it (one query)."""
        if not roots:
            return []
        rows = conn.execute(
            sa.select(events.c.position, events.c.type, events.c.schema_version, events.c.data)
            .where(sa.or_(events.c.position.in_(sorted(roots)), events.c.target.is_not(None)))
            .order_by(events.c.position)
        ).all()
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

    def _write(
        self,
        conn: sa.Connection,
        items: Iterable[tuple[Logged, list[Version]]],
        cells: set[tuple[str, str]] | None = None,
    ) -> None:
        version_rows, position_rows = [], []
        new_cells: set[tuple[str, str]] = set()
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
                    new_cells.add((p.party, p.issue))
                    position_rows.append(
                        (p.party, p.issue, occurred, logged.position, idx, form.pos_from, form.pos_to)
                        + (known_from, known_to, p.stance, vn, form.effective.corrected)
                    )
        self._bulk(conn, proj_versions, VERSION_COLUMNS, version_rows)
        self._bulk(conn, proj_positions, POSITION_COLUMNS, position_rows)
        if cells is None:
            self._insert_cells(conn, new_cells)
        else:
            cells |= new_cells

    def _insert_cells(self, conn: sa.Connection, cells: set[tuple[str, str]]) -> None:
        if cells:
            insert = (sqlite.insert if self.is_sqlite else postgresql.insert)(proj_cells)
            conn.execute(
                insert.on_conflict_do_nothing(), [{"party": p, "issue": i} for p, i in sorted(cells)]
            )

    def _bulk(self, conn: sa.Connection, table: sa.Table, columns: list[str], rows: list[tuple]) -> None:
        """Insert plain tuples with the driver's own executemany (PostgreSQL: COPY), skipping per-row work."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.is_sqlite:
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
            conn.exec_driver_sql(sql, rows)
            return
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _single(logged: Logged) -> Version:
    """The one version of an event no retraction or correction names: open on both axes."""
    return Version(
        logged.position,
        FOREVER_POSITION,
        reported_start(logged.event),
        FOREVER_DATE,
        Effective(logged.position, logged.event, False, False),
    )
