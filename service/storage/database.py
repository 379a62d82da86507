"""Engines for SQLite and PostgreSQL, chosen from a plain database URL, and the schema-version check.

The store talks to the database through synchronous SQLAlchemy Core, run in worker threads by the web
layer. Measured on the target machine, synchronous SQLAlchemy over the standard ``sqlite3`` module commits
about 17,000 single-row transactions/s against about 1,300/s for the async engine over aiosqlite: the async
bridge, not SQLite, is the bottleneck, so the write path does not use it. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations


class SchemaNotCurrent(RuntimeError):
    """The database has not been migrated to the schema this code expects."""


def driver_url(url: str) -> sa.URL:
    """Accept plain ``sqlite:///…`` and ``postgresql://…`` URLs and pick this service's driver."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path or postgresql://user@host/db")


class WriteLock:
    """Serialises the writers of one database in this process, and on SQLite across processes too.

    SQLite lets one writer in at a time; one that finds the database locked sleeps and tries again, up
    to 100 ms at a time, so with several server processes appending, a writer would often sleep long after
    the lock was free (p99 over a second, measured with two processes). Writers therefore queue on an
    advisory lock of the file beside the database (``flock``), which wakes the next one as soon as the
    last one lets go. On PostgreSQL the append transaction takes an advisory lock of the database's own
    (see service.storage.log); this lock only keeps the threads of a process in line."""

    def __init__(self, path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = path

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._threads:
            if self._path is None:
                yield
                return
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock


@dataclass(frozen=True)
class Database:
    """A writer engine and a reader engine (the same one on PostgreSQL)."""

    url: sa.URL
    label: str  # the URL as configured, without its password
    writer: sa.Engine
    reader: sa.Engine
    write_lock: WriteLock

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


# Readers map the file into memory: the latest position of every cell and the events behind it are read
# from all over a large file, and mapped pages are read without a system call and a copy each (about 7%
# off /state with a million events, measured alternating with unmapped readers on the same database).
READER_MMAP_BYTES = 2**31 - 2**16  # the most a default SQLite build maps


WAL_AUTOCHECKPOINT_PAGES = 10_000  # 40 MB of WAL with 4 KiB pages
SQLITE_BUSY_MS = 60_000  # how long a writer waits for another to finish
CHECKPOINT_INTERVAL = 0.25  # seconds between background checkpoints, while appends come in


class Checkpointer:
    """Copies SQLite's write-ahead log into the database in a thread of its own, over a connection of its
    own. A checkpoint syncs both files to disk; left to the commit that fills the WAL past its limit, it
    made that commit, and every append waiting behind it, several milliseconds slower. In PASSIVE mode it
    never waits for, nor blocks, a writer or a reader: it copies what no reader still needs."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Something was committed: checkpoint soon."""
        self._wanted.set()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join()

    def _run(self) -> None:
        with self._engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            while not self._stopping:
                self._wanted.wait()
                self._wanted.clear()
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                time.sleep(CHECKPOINT_INTERVAL)


def _sqlite_engine(url: sa.URL, begin: str, mmap_bytes: int = 0) -> sa.Engine:
    # Python's sqlite3 module would otherwise open transactions itself, lazily and in DEFERRED mode; a
    # deferred writer that later needs the write lock can fail with "database is locked" at once instead
    # of waiting. So the driver's own transaction handling is switched off and every transaction is begun
    # explicitly: writers with BEGIN IMMEDIATE (they queue on busy_timeout), readers with a plain BEGIN.
    engine = sa.create_engine(url, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The commit that fills the WAL to this many pages copies them into the database and syncs both
        # files, while every writer waits. The server does that in the background instead (Checkpointer);
        # this is the bound for commands, and for a server whose checkpoints fall behind.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute(f"PRAGMA mmap_size={mmap_bytes}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.connection.dbapi_connection.execute(begin)  # on the driver: see service.storage.bulk

    return engine


def connect(url: str) -> Database:
    parsed = driver_url(url)
    label = sa.make_url(url).render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not parsed.database or parsed.database == ":memory:"
        return Database(
            parsed,
            label,
            _sqlite_engine(parsed, "BEGIN IMMEDIATE"),
            _sqlite_engine(parsed, "BEGIN", READER_MMAP_BYTES),
            WriteLock(None if in_memory else f"{parsed.database}-writer.lock"),
        )
    engine = sa.create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
    # Readers run each statement on its own, without BEGIN and ROLLBACK around them: two round trips fewer
    # per answer, and no change in what they see (under READ COMMITTED every statement takes a snapshot of
    # its own anyway; answers stay exact by filtering on the log position read first).
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(parsed, label, engine, reader, WriteLock(None))


def alembic_config(database: Database | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if database is not None:
        config.attributes["engine"] = database.writer
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.reader.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_problem(database: Database, head: str | None = None) -> str | None:
    """What is wrong with the database's schema (``head``: the newest revision, if known), or None."""
    current, head = current_revision(database), head or head_revision()
    if current == head:
        return None
    return "not migrated" if current is None else f"at revision {current}, this code needs {head}"


def check_schema(database: Database) -> None:
    """Refuse to run against a database that is not at the newest migration."""
    state = schema_problem(database)
    if state is not None:
        raise SchemaNotCurrent(
            f"the database {database.label} is {state}: "
            "run `make migrate` (or `python -m service migrate`) first"
        )


def migrate(database: Database) -> None:
    from alembic import command

    command.upgrade(alembic_config(database), "head")
