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

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from events.codec import current_version, decode_stored, encode
from events.timeaxes import (
    FOREVER_DATE,
    FOREVER_POSITION,
    Effective,
    Logged,
    Version,
    is_meta,
    reported_start,
    versions,
)
from events.vocabulary import type_name
from service.tables import PROJECTION_TABLES, events, proj_cells, proj_positions, proj_versions

REBUILD_CHUNK = 50_000
FOREVER_ISO = FOREVER_DATE.isoformat()
VERSION_COLUMNS = [c.name for c in proj_versions.c]
POSITION_COLUMNS = [c.name for c in proj_positions.c if c.name != "id"]


class _Position(msgspec.Struct):
    party: str
    issue: str
    stance: str


class _Positions(msgspec.Struct):
    """Just the positions of a stored event: all a plain event adds beyond its indexed columns."""

    positions: list[_Position] = []


_positions_only = msgspec.json.Decoder(_Positions)


class Projector:
    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite

    def apply(self, conn: sa.Connection, appended: Sequence[Logged]) -> None:
        """Project events just appended (in position order) inside the append transaction."""
        revisit = {self._root(conn, g.event.target, appended) for g in appended if is_meta(g.event)}
        plain = [g for g in appended if not is_meta(g.event) and g.position not in revisit]
        self._write(conn, [(logged, [_single(logged)]) for logged in plain])
        for root in sorted(revisit):
            conn.execute(proj_positions.delete().where(proj_positions.c.seq == root))
            conn.execute(proj_versions.delete().where(proj_versions.c.seq == root))
            group = self._group(conn, root)
            self._write(conn, [(group[0], versions(group))])

    def rebuild(self, conn: sa.Connection) -> int:
        """Recreate every projection from the log; returns the number of events read."""
        for table in reversed(PROJECTION_TABLES):
            conn.execute(table.delete())
        indexes = [index for table in PROJECTION_TABLES for index in table.indexes]
        for index in indexes:
            index.drop(conn)
        named = self._named_roots(conn)
        cells: set[tuple[str, str]] = set()
        count, after = 0, 0
        columns = (
            events.c.position,
            events.c.type,
            events.c.occurred,
            events.c.reported,
            events.c.target,
            events.c.schema_version,
            events.c.data,
        )
        while rows := conn.execute(
            sa.select(*columns)
            .where(events.c.position > after)
            .order_by(events.c.position)
            .limit(REBUILD_CHUNK)
        ).all():
            count += len(rows)
            after = rows[-1].position
            version_rows, position_rows = [], []
            for row in rows:
                if row.target is not None or row.position in named:
                    continue
                seq, occurred, known = row.position, row.occurred, row.reported
                version_rows.append(
                    (
                        seq,
                        0,
                        row.type,
                        occurred,
                        seq,
                        FOREVER_POSITION,
                        known,
                        FOREVER_ISO,
                        False,
                        False,
                        None,
                    )
                )
                for idx, p in enumerate(_positions_of(row)):
                    cells.add((p.party, p.issue))
                    position_rows.append(
                        (
                            p.party,
                            p.issue,
                            occurred,
                            seq,
                            idx,
                            seq,
                            FOREVER_POSITION,
                            known,
                            FOREVER_ISO,
                            p.stance,
                            0,
                        )
                    )
            self._bulk(conn, proj_versions, VERSION_COLUMNS, version_rows)
            self._bulk(conn, proj_positions, POSITION_COLUMNS, position_rows)
        for root in sorted(named):
            group = self._group(conn, root)
            self._write(conn, [(group[0], versions(group))], cells)
        self._insert_cells(conn, cells)
        for index in indexes:
            index.create(conn)
        return count

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

    def _root(self, conn: sa.Connection, target, appended: Sequence[Logged]) -> int:
        """The log position of the event a chain of retractions and corrections finally names."""
        in_batch = {str(logged.event.id): logged for logged in appended}
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
                        + (known_from, known_to, p.stance, vn)
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


def _positions_of(row: sa.Row) -> list:
    if row.schema_version == current_version(row.type):
        return _positions_only.decode(row.data).positions
    return decode_stored(row.data, row.type, row.schema_version).positions


def _single(logged: Logged) -> Version:
    """The one version of an event no retraction or correction names: open on both axes."""
    return Version(
        logged.position,
        FOREVER_POSITION,
        reported_start(logged.event),
        FOREVER_DATE,
        Effective(logged.position, logged.event, False, False),
    )
