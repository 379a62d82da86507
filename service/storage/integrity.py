"""The log's hash chain, checked: each event's hash covers the previous hash and the event as logged, so an
event changed, removed or inserted behind the service's back breaks the chain from there on."""

from __future__ import annotations

from service.storage.chain import first_break, logged
from service.storage.database import Database


def verify_chain(database: Database) -> tuple[int, int | None]:
    """Recompute the hash chain; returns (events checked, first position that fails or None)."""
    return first_break(logged(database))
