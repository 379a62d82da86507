"""How the parts are put together, for the web app (service.app) and the command line (service.cli): the
log with the projections it keeps in the transaction of every append. The storage layer does not import
the projection layer above it; it is handed a projector here."""

from __future__ import annotations

from service.projection.apply import Projector
from service.storage.database import Database
from service.storage.log import EventStore


def event_store(database: Database) -> EventStore:
    return EventStore(database, Projector(database.is_sqlite))
