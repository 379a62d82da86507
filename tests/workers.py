"""Code run in separate writer processes by the concurrency tests (importable by spawned children)."""

from __future__ import annotations

import random

from service.compose import event_store
from service.storage.database import connect
from service.storage.log import Batch
from tests.factories import events, statement


def write(url: str, seed: int, rounds: int) -> list[tuple[str, int]]:
    """Append `rounds` batches, rolling back some appends midway; return every acknowledged (id, position)."""
    rng = random.Random(seed)
    database = connect(url)
    store = event_store(database)
    acknowledged: list[tuple[str, int]] = []
    try:
        for _ in range(rounds):
            batch = events(*[statement("us") for _ in range(rng.randint(1, 3))])
            if rng.random() < 0.2:
                # took positions, then rolled back: must leave no gap and no trace
                with database.writer.connect() as conn:
                    transaction = conn.begin()
                    store.append_in(conn, [Batch(f"writer-{seed}", batch)])
                    transaction.rollback()
                continue
            result = store.append(f"writer-{seed}", batch)
            acknowledged += [(str(a.id), a.position) for a in result.events]
    finally:
        database.dispose()
    return acknowledged
