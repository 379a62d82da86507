"""Maintains the projection tables from the log, in the same transaction as each append.

Every event that is not a retraction or correction is written as its versions (events.timeaxes.versions):
the forms it takes over rectangles of (log position, knowledge date), each with the positions it reveals.
A retraction or correction rewrites the versions of the event it names (directly or through another
retraction). Because this happens inside the append transaction, projections always reflect exactly the
log they sit beside, and an answer's log position is exact.
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
from events.vocabulary import Event, type_name
from service.tables import PROJECTION_TABLES, events, proj_cells, proj_positions, proj_versions

REBUILD_CHUNK = 20_000


class Projector:
    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite

    def apply(self, conn: sa.Connection, appended: Sequence[Logged]) -> None:
        """Project events just appended (in position order) inside the append transaction."""
        plain = [logged for logged in appended if not is_meta(logged.event)]
        revisit = {
            self._root(conn, logged.event.target, appended) for logged in appended if is_meta(logged.event)
        }
        plain = [logged for logged in plain if logged.position not in revisit]
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
        log: list[Logged] = []
        after = 0
        while True:
            rows = conn.execute(
                sa.select(events.c.position, events.c.type, events.c.schema_version, events.c.data)
                .where(events.c.position > after)
                .order_by(events.c.position)
                .limit(REBUILD_CHUNK)
            ).all()
            if not rows:
                break
            log += [Logged(r.position, decode_stored(r.data, r.type, r.schema_version)) for r in rows]
            after = rows[-1].position
        batch = []
        for group in groups(log):
            batch.append((group[0], [_single(group[0])] if len(group) == 1 else versions(group)))
            if len(batch) >= REBUILD_CHUNK:
                self._write(conn, batch)
                batch = []
        self._write(conn, batch)
        return len(log)

    # -- helpers -----------------------------------------------------------------------------------------

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

    def _write(self, conn: sa.Connection, items: Iterable[tuple[Logged, list[Version]]]) -> None:
        version_rows, position_rows, cells = [], [], set()
        pending: list[tuple[int, Version]] = []
        for logged, forms in items:
            for form in forms:
                event = form.effective.event
                version_rows.append(
                    {
                        "seq": logged.position,
                        "type": type_name(event),
                        "occurred": event.occurred.start.isoformat(),
                        "pos_from": form.pos_from,
                        "pos_to": form.pos_to,
                        "known_from": form.known_from.isoformat(),
                        "known_to": form.known_to.isoformat(),
                        "retracted": form.effective.retracted,
                        "corrected": form.effective.corrected,
                        "data": encode(event).decode() if form.effective.corrected else None,
                    }
                )
                pending.append((len(version_rows) - 1, form))
        if not version_rows:
            return
        ids = self._insert_versions(conn, version_rows)
        for (row_index, form), version_id in zip(pending, ids, strict=True):
            if form.effective.retracted:
                continue
            event: Event = form.effective.event
            row = version_rows[row_index]
            for idx, position in enumerate(event.positions):
                cells.add((position.party, position.issue))
                position_rows.append(
                    {
                        "party": position.party,
                        "issue": position.issue,
                        "occurred": row["occurred"],
                        "seq": row["seq"],
                        "idx": idx,
                        "pos_from": row["pos_from"],
                        "pos_to": row["pos_to"],
                        "known_from": row["known_from"],
                        "known_to": row["known_to"],
                        "stance": position.stance,
                        "version": version_id,
                    }
                )
        if position_rows:
            conn.execute(proj_positions.insert(), position_rows)
        if cells:
            insert = (sqlite.insert if self.is_sqlite else postgresql.insert)(proj_cells)
            conn.execute(
                insert.on_conflict_do_nothing(), [{"party": p, "issue": i} for p, i in sorted(cells)]
            )

    def _insert_versions(self, conn: sa.Connection, rows: list[dict]) -> list[int]:
        """Insert version rows and return their ids in order (one statement, ids from RETURNING)."""
        result = conn.execute(
            proj_versions.insert().returning(proj_versions.c.id, sort_by_parameter_order=True), rows
        )
        return [row.id for row in result]


def _single(logged: Logged) -> Version:
    """The one version of an event no retraction or correction names: open on both axes."""
    return Version(
        logged.position,
        FOREVER_POSITION,
        reported_start(logged.event),
        FOREVER_DATE,
        Effective(logged.position, logged.event, False, False),
    )
