"""``/state`` as of a date, as known now, read from the daily stands (service.projection.stands, which keeps
them): every cell's row of its last day on or before that date, trusted only where no row read has changed,
and none was removed, since the log position asked about."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from service.storage.tables import proj_cells, proj_stands, proj_stands_removed


def _read_query(is_sqlite: bool) -> sa.Select:
    """Every cell's row of its last day on or before the day bound as ``until``, in (party, issue) order,
    each with the position of the last removal."""
    c, s = proj_cells, proj_stands
    removed = sa.select(sa.func.coalesce(sa.func.max(proj_stands_removed.c.at), 0))
    removed = removed.scalar_subquery().label("removed_at")
    if is_sqlite:  # the newest day is one seek of the primary key's index, and the row a second
        last = (
            sa.select(sa.func.max(s.c.day))
            .where(s.c.party == c.c.party, s.c.issue == c.c.issue, s.c.day <= sa.bindparam("until"))
            .correlate(c)
            .scalar_subquery()
        )
        found = c.join(s, sa.and_(s.c.party == c.c.party, s.c.issue == c.c.issue, s.c.day == last))
        return sa.select(s.c.changed_at, s.c.json, removed).select_from(found).order_by(c.c.party, c.c.issue)
    row = (
        sa.select(s.c.changed_at, s.c.json)
        .where(s.c.party == c.c.party, s.c.issue == c.c.issue, s.c.day <= sa.bindparam("until"))
        .order_by(s.c.day.desc())
        .limit(1)
        .lateral("s")
    )
    return (
        sa.select(row.c.changed_at, row.c.json, removed)
        .select_from(c.join(row, sa.true()))
        .order_by(c.c.party, c.c.issue)
    )


_READ = {is_sqlite: _read_query(is_sqlite) for is_sqlite in (True, False)}
_REMOVED = sa.select(sa.func.max(proj_stands_removed.c.at))


def read(conn: sa.Connection, until: str, at: int) -> list[msgspec.Raw] | None:
    """Every cell's stand as of the end of day ``until``, at log position ``at`` and as known now, in
    (party, issue) order; None where a row read has changed, or a row was removed, since ``at``."""
    rows = conn.execute(_READ[conn.dialect.name == "sqlite"], {"until": until}).all()
    if not rows:  # no cell has a row on or before that day: unless one was removed since `at`, none had
        return None if (conn.scalar(_REMOVED) or 0) > at else []
    if rows[0].removed_at > at or max(row.changed_at for row in rows) > at:
        return None
    return [msgspec.Raw(row.json) for row in rows]
