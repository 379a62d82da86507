"""One-row reads by primary key made on the event loop itself, on a connection of the driver's own.

The append handler looks up a managed write token it has not seen in the last second
(service.storage.tokens.ManagedTokens), and a read answer the hash at its position should no read have
seen it (service.storage.chain.ChainHashes): one row by its key, for a request that has no worker thread
of its own. Measured on the target machine, such a read costs 4.5 µs on the ``sqlite3`` driver's own
connection against 68 µs through a pooled SQLAlchemy connection (checkout, BEGIN, ROLLBACK); on
PostgreSQL, 100 to 170 µs on psycopg's (one round trip on loopback, prepared) against 560 µs through the
pool (its pre-ping is a second round trip). But every such read lets go of the GIL, and under appends the
loop then waits for the writer thread to give it back: p99 0.7 ms on SQLite and 10 ms on PostgreSQL, with
a read per append. So these reads are kept rare, never one per request. Each sees what was committed
before it began: an SQLite connection with no transaction open reads the newest snapshot, and psycopg's
in autocommit mode runs each statement in a snapshot of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import psycopg

from service.storage.database import Database


class PointReads:
    """Statements written with ``?`` marks, each answered with its first row (or None)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        path = database.url.database if database.is_sqlite else None
        # an in-memory SQLite database is private to each connection: it is read through the pool
        self._pooled = database.is_sqlite and (not path or path == ":memory:")
        self._lock = threading.Lock()  # the event loop's thread, and the test client's, may share it
        self._conn: Any = None

    def one(self, sql: str, params: tuple) -> tuple | None:
        if self._pooled:
            with self._database.reader.connect() as conn:
                return conn.exec_driver_sql(sql, params).first()
        with self._lock:
            try:
                return self._execute(sql, params)
            except (psycopg.OperationalError, sqlite3.OperationalError):
                # a connection the server closed (a restart, an idle timeout): once more, on a new one
                self._close()
                return self._execute(sql, params)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _execute(self, sql: str, params: tuple) -> tuple | None:
        if self._conn is None:
            self._conn = self._open()
        if self._database.is_sqlite:
            return self._conn.execute(sql, params).fetchone()
        return self._conn.execute(sql.replace("?", "%s"), params, prepare=True).fetchone()

    def _open(self) -> Any:
        url = self._database.url
        if self._database.is_sqlite:
            conn = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute("PRAGMA query_only=1")
            return conn
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True)

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
