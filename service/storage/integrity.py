"""The log's hash chain, checked: each event's hash covers the previous hash and the event as logged, so an
event changed, removed or inserted behind the service's back breaks the chain from there on."""

from __future__ import annotations

import sqlalchemy as sa

from service.storage.database import Database
from service.storage.log import chain_hash
from service.storage.tables import events


def verify_chain(database: Database) -> tuple[int, int | None]:
    """Recompute the hash chain; returns (events checked, first position that fails or None)."""
    previous, checked = "", 0
    # The log is read in chunks through a server-side cursor, which on PostgreSQL needs a transaction:
    # its readers run without one, so this read goes through the writer's engine (it takes no lock).
    engine = database.reader if database.is_sqlite else database.writer
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(
            sa.select(
                events.c.position,
                events.c.stream,
                events.c.version,
                events.c.recorded_at,
                events.c.data,
                events.c.hash,
            ).order_by(events.c.position)
        )
        for row in rows:
            checked += 1
            expected = chain_hash(previous, row.position, row.stream, row.version, row.recorded_at, row.data)
            if row.position != checked or row.hash != expected:
                return checked, row.position
            previous = row.hash
    return checked, None
