"""A point on the three time axes (``as_of``, ``known_at``, ``at``), and what it selects of the rows whose
rectangles of (log position, knowledge date) the projections hold.

Each query reads the log head first and pins ``at`` to it (``clamp``): positions commit in order and
projections are written in the append transaction, so the answer is exactly the state at that log
position even while writers append concurrently, and it can be reproduced with ``at=``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa

from events.timeaxes import FOREVER_DATE, FOREVER_POSITION
from service.storage.log import read_head
from service.storage.reads import read_hash_at

# Rectangles open on the knowledge axis end at FOREVER_DATE (exclusive): "known at any time" is asked as
# the day before it, which every open rectangle contains and every closed one excludes.
LAST_QUERYABLE_DAY = FOREVER_DATE - dt.timedelta(days=1)


class Axes(NamedTuple):
    """A point on the three time axes. ``at`` is the log position the answer reflects."""

    as_of: dt.date = FOREVER_DATE
    known_at: dt.date = FOREVER_DATE
    at: int = FOREVER_POSITION

    @property
    def known_now(self) -> bool:
        """Whether the point is asked as known at any time: ``known_at`` left out (or past any report)."""
        return self.known_at >= LAST_QUERYABLE_DAY


def rect(table: sa.Table, axes: Axes) -> list[sa.ColumnElement[bool]]:
    """Rows whose (position, knowledge date) rectangle holds the point ``axes`` asks about."""
    known = axes.known_at.isoformat()
    return [
        table.c.pos_from <= axes.at,
        table.c.pos_to > axes.at,
        table.c.known_from <= known,
        table.c.known_to > known,
    ]


def counting(table: sa.FromClause, axes: Axes) -> list[sa.ColumnElement[bool]]:
    """Rows of ``stances`` that count at the point ``axes`` asks about."""
    return [*rect(table, axes), sa.not_(table.c.fixed)]


def valid_until(axes: Axes) -> str:
    # An event counts only once reported, and is never reported before it occurred: so nothing occurring
    # after known_at can count, and bounding the scan by it keeps old-knowledge queries cheap.
    return min(axes.as_of, axes.known_at).isoformat()


def clamp(conn: sa.Connection, axes: Axes) -> tuple[Axes, int]:
    """Read the head, and pin ``at`` to it: the answer then reflects exactly that log position."""
    head = read_head(conn)
    at = min(axes.at, head)
    if at < head:  # the hash the answer names (service.api.reads), read here rather than on the event loop
        read_hash_at(conn, at)
    return axes._replace(at=at, known_at=min(axes.known_at, LAST_QUERYABLE_DAY)), head
