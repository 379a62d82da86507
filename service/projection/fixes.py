"""The events that retractions and corrections reach, and each with every fix that reaches it.

One implementation for both of the projection's paths: an append that fixes events (service.projection.apply)
asks for the few its fixes reach, a rebuild (service.projection.rebuild) for all of them. Both walk the
chains level by level, with one indexed lookup per level and chunk of ids, so the cost follows the chains
walked, not the size of the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from events.codec import decode_stored
from events.timeaxes import Logged, groups
from service.storage.bulk import chunks
from service.storage.tables import events

_EVENT = (
    events.c.position,
    events.c.id,
    events.c.target,
    events.c.type,
    events.c.schema_version,
    events.c.data,
)


def roots(
    conn: sa.Connection, targets: Iterable[str], in_batch: Mapping[str, Logged] | None = None
) -> set[int]:
    """The log positions of the events that chains of retractions and corrections naming ``targets`` (event
    ids) finally name. ``in_batch`` (events just appended, by id) saves looking those up."""
    in_batch = in_batch or {}
    found: set[int] = set()
    frontier = {str(target) for target in targets}
    while frontier:
        links: list[tuple[int, object]] = []
        for ident in frontier & in_batch.keys():
            logged = in_batch[ident]
            links.append((logged.position, getattr(logged.event, "target", None)))
        query = sa.select(events.c.position, events.c.target).where(
            events.c.id.in_(sa.bindparam("ids", expanding=True))
        )
        for chunk in chunks(frontier - in_batch.keys()):
            links += [(row.position, row.target) for row in conn.execute(query, {"ids": chunk})]
        found |= {position for position, target in links if target is None}
        frontier = {str(target) for _, target in links if target is not None}
    return found


def reached(conn: sa.Connection) -> set[int]:
    """The log positions of every event some retraction or correction reaches."""
    return roots(conn, conn.scalars(meta_events(events.c.target)))


def fix_groups(conn: sa.Connection, at: set[int]) -> list[list[Logged]]:
    """Each event at the log positions ``at`` with every retraction and correction that reaches it, in
    position order (as events.timeaxes.groups makes them)."""
    rows: list[sa.Row] = []
    for chunk in chunks(at):
        rows += conn.execute(sa.select(*_EVENT).where(events.c.position.in_(chunk))).all()
    frontier = [row.id for row in rows]
    while frontier:
        level: list[sa.Row] = []
        for chunk in chunks(frontier):
            level += conn.execute(sa.select(*_EVENT).where(events.c.target.in_(chunk))).all()
        rows += level
        frontier = [row.id for row in level]
    rows.sort(key=lambda row: row.position)
    log = [Logged(row.position, decode_stored(row.data, row.type, row.schema_version)) for row in rows]
    return [group for group in groups(log) if group[0].position in at]


def meta_events(*columns: sa.ColumnElement) -> sa.Select:
    """Retractions and corrections: about 1% of the log. Without statistics SQLite takes ``IS NOT NULL``
    for most rows and reads the whole log; a range on ``target`` (every target is an id, never empty)
    makes it use the index on ``target``."""
    return sa.select(*columns).where(events.c.target.is_not(None), events.c.target > "")
