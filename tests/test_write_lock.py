"""SQLite's writers queue on a lock file beside the database, across processes, and the server's
checkpointer copies the write-ahead log into the database in the background (service.storage.database)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from service.compose import event_store
from service.storage.database import Checkpointer, connect
from tests.factories import events, party, statement

APPEND = """
import sys
from service.storage.database import connect
from service.compose import event_store
from tests.factories import events, statement
event_store(connect(sys.argv[1])).append("other", events(statement("us")))
print("appended", flush=True)
"""


def test_a_writer_in_another_process_waits_for_the_lock_file(sqlite_url: str) -> None:
    """Holding the lock, and no SQLite transaction at all, keeps another process's append waiting."""
    database = connect(sqlite_url)
    event_store(database).append("vocabulary", events(party("us")))
    root = Path(__file__).resolve().parent.parent
    with database.write_lock():
        other = subprocess.Popen(
            [sys.executable, "-c", APPEND, sqlite_url], cwd=root, stdout=subprocess.PIPE, text=True
        )
        time.sleep(1.5)
        assert other.poll() is None  # still waiting
    out, _ = other.communicate(timeout=30)
    assert other.returncode == 0 and "appended" in out
    with database.reader.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM events")) == 2
    database.dispose()


def test_the_checkpointer_copies_the_log_into_the_database(sqlite_url: str) -> None:
    database = connect(sqlite_url)
    event_store(database).append("talks", events(party("us"), *(statement("us") for _ in range(300))))
    path = Path(sa.make_url(sqlite_url).database)
    before = path.stat().st_size  # appends stay in the WAL until a checkpoint (10,000 pages by default)
    checkpointer = Checkpointer(database.reader)
    try:
        checkpointer.nudge()
        deadline = time.monotonic() + 5
        while path.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.05)
        grown = path.stat().st_size  # before stopping it, which checkpoints once more
    finally:
        checkpointer.stop()
    assert grown > before
    database.dispose()
