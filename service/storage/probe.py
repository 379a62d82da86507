"""Can the database take a write now? Asked by readiness (``GET /ready``); it writes nothing.

The probe does what an append does first, in a transaction it rolls back: it takes the write lock
(``BEGIN IMMEDIATE`` on SQLite; a row lock on PostgreSQL) and updates the one row of ``alembic_version``
to itself. A database opened read-only, a standby, a full or failed disk, or a lock another writer holds
longer than the probe waits: each makes it fail, with the database's own words.
"""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa
import sqlalchemy.exc

from service.storage.database import SQLITE_BUSY_MS, Database

_TOUCH = sa.text("UPDATE alembic_version SET version_num = version_num")


def write_probe(database: Database, timeout: float = 1.0) -> str | None:
    """None if the database takes a write within ``timeout`` seconds, else why not."""
    try:
        with database.writer.connect() as conn:
            if database.is_sqlite:
                return _probe_sqlite(conn, timeout)
            transaction = conn.begin()
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
            conn.execute(_TOUCH)
            transaction.rollback()
    # the driver's own errors too: the write lock is taken on the driver's connection (BEGIN IMMEDIATE)
    except (sqlalchemy.exc.SQLAlchemyError, sqlite3.Error, psycopg.Error) as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"the database cannot be written: {cause[0] if cause else type(exc).__name__}"
    return None


def _probe_sqlite(conn: sa.Connection, timeout: float) -> None:
    raw = conn.connection.dbapi_connection
    raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")  # BEGIN IMMEDIATE waits this long at most
    try:
        transaction = conn.begin()
        conn.execute(_TOUCH)
        transaction.rollback()
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")  # the writer engine's own, put back
