"""An acknowledged append survives ``kill -9`` of the server mid-load: the group commit answers a request
only once its group has committed. Real server processes on loopback, on both databases."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from service.storage.database import connect
from service.storage.tables import events
from tests.factories import party, statement
from tests.server import free_port, running_server

TOKEN = "crash-token"


def _kill_everything(process: subprocess.Popen) -> None:
    """SIGKILL the server and its worker processes, without a chance to clean up."""
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in [*children, str(process.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    process.wait(timeout=10)


def test_no_acknowledged_append_is_lost_when_the_server_is_killed(database_url: str, tmp_path: Path) -> None:
    """(the database is migrated by its fixture)"""
    env = {
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_WRITE_TOKENS": TOKEN,
        "TIMELINE_PORT": str(free_port()),
    }
    acknowledged: list[tuple[str, int]] = []
    stop = threading.Event()
    with running_server(env, tmp_path) as (base, process):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        defined = httpx.post(
            f"{base}/streams/vocabulary/events", json={"events": [party("us")]}, headers=headers
        )
        assert defined.status_code == 201

        def append(k: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
                while not stop.is_set():
                    said = statement("us")
                    try:
                        answer = client.post(f"/streams/w{k}/events", json={"events": [said]})
                    except httpx.TransportError:
                        return
                    if answer.status_code == 201:
                        acknowledged.append((said["id"], answer.json()["events"][0]["position"]))

        writers = [threading.Thread(target=append, args=(k,)) for k in range(8)]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        _kill_everything(process)
        stop.set()
        for writer in writers:
            writer.join()
    assert len(acknowledged) > 20
    assert_acknowledged_are_logged(database_url, acknowledged)


def assert_acknowledged_are_logged(database_url: str, acknowledged: list[tuple[str, int]]) -> int:
    """Every acknowledged (id, position) is in the log, once, at its position, and the log is gapless;
    returns the number of events logged."""
    database = connect(database_url)
    try:
        with database.reader.connect() as conn:
            stored = dict(conn.execute(sa.select(events.c.id, events.c.position)).all())
    finally:
        database.dispose()
    assert {ident: stored.get(ident) for ident, _ in acknowledged} == dict(acknowledged)
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
    return len(stored)
