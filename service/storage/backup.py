"""A consistent copy of an SQLite database, taken online, while the service serves and appends.

SQLite's backup API copies the database page by page. Done in steps, any write to the source through
another connection starts the copy over, so under steady appends it might never end; done in one step,
it reads the whole file inside one read transaction, which in WAL mode neither waits for writers nor holds
them up: the copy is the database exactly as of one commit. It is written beside the target and renamed
into place only once complete, so a target that exists is always a whole copy.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from service.storage.database import Database


class BackupRefused(RuntimeError):
    """A backup this command cannot take; says what to do instead."""


def backup(database: Database, target: Path) -> tuple[int, str | None]:
    """Copy the SQLite database to ``target`` (which must not exist); returns the copy's (head, hash)."""
    if not database.is_sqlite:
        raise BackupRefused(
            f"`backup` copies SQLite databases; {database.label} is PostgreSQL: take a consistent copy "
            "of it while it serves with `pg_dump --format=custom --file=FILE 'URL'` and restore it into an "
            "empty database with `pg_restore --dbname='URL' FILE` (the README has the details)"
        )
    source_path = database.url.database
    if not source_path or source_path == ":memory:" or not Path(source_path).exists():
        raise BackupRefused(f"there is no SQLite database file at {database.label}")
    if target.exists():
        raise BackupRefused(f"{target} exists: name a new file (a backup never overwrites one)")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=60)
    copy = sqlite3.connect(partial)
    try:
        source.execute("PRAGMA query_only=1")
        source.backup(copy)  # pages=-1: in one step, one read transaction (see above)
        row = copy.execute("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1").fetchone()
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    copy.close()
    os.replace(partial, target)
    return (row[0], row[1]) if row else (0, None)
