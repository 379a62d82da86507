"""``python -m service backup``: a consistent copy of an SQLite database, taken while a server appends."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import statement
from tests.server import cli, free_port, running_server

TOKEN = "backup-test-token"


def chain(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT position, hash FROM events ORDER BY position").fetchall()


@pytest.mark.timeout(300)
def test_a_backup_taken_while_a_server_appends_is_the_log_as_of_one_commit(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    assert cli(tmp_path, "seed").returncode == 0
    bulk = tmp_path / "bulk.json"  # a few thousand events, so that a copy takes a while
    bulk.write_text(json.dumps([statement("us", stream="bulk", title=f"Statement {n}") for n in range(3000)]))
    assert cli(tmp_path, "import", str(bulk)).returncode == 0
    live = tmp_path / "data" / "timeline.db"
    acknowledged: list[tuple[float, int]] = []  # (when, position) of every append answered
    stop = threading.Event()

    def append(base: str) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            while not stop.is_set():
                said = statement("us", stream="live")
                answer = client.post("/streams/live/events", json={"events": [said]})
                assert answer.status_code == 201, answer.text
                acknowledged.append((time.monotonic(), answer.json()["events"][0]["position"]))

    env = {"TIMELINE_PORT": str(free_port()), "TIMELINE_WRITE_TOKENS": TOKEN, "TIMELINE_WORKERS": "2"}
    copies = []
    with running_server(env, tmp_path) as (base, _):
        appenders = [threading.Thread(target=append, args=(base,)) for _ in range(4)]
        for thread in appenders:
            thread.start()
        try:
            while len(acknowledged) < 50:
                time.sleep(0.05)
            for n in range(3):
                started = time.monotonic()
                before = max(position for when, position in acknowledged if when < started)
                copy = tmp_path / "backups" / f"copy-{n}.db"
                copy.parent.mkdir(exist_ok=True)
                taken = cli(tmp_path, "backup", str(copy))
                assert taken.returncode == 0, taken.stderr
                finished = time.monotonic()
                # the service went on appending, and answering, while the backup ran
                assert any(started < when < finished for when, _ in acknowledged)
                copies.append((copy, before, taken.stderr))
                time.sleep(0.3)
        finally:
            stop.set()
            for thread in appenders:
                thread.join()
    written = chain(live)
    heads = []
    for copy, before, said in copies:
        rows = chain(copy)
        head = rows[-1][0]
        heads.append(head)
        assert head >= before  # everything acknowledged before the backup began is in it
        assert rows == written[:head]  # and it is exactly the log up to one commit: no gap, no stray row
        assert f"{head} events, head hash {rows[-1][1]}" in said
        restored = cli(tmp_path, "verify", TIMELINE_DATABASE_URL=f"sqlite:///{copy}")
        assert restored.returncode == 0, restored.stderr
        assert f"log verified: {head} events" in restored.stderr
    assert heads == sorted(set(heads)) and written[-1][0] > heads[-1]  # appends went on all along


def test_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    target = tmp_path / "kept.db"
    target.write_text("something precious")
    refused = cli(tmp_path, "backup", str(target))
    assert refused.returncode != 0 and "exists" in refused.stderr
    assert target.read_text() == "something precious"
    assert list(tmp_path.glob(".*partial")) == []


def test_backup_on_postgresql_names_pg_dump(tmp_path: Path, postgres_url: str) -> None:
    refused = cli(tmp_path, "backup", str(tmp_path / "copy.db"), TIMELINE_DATABASE_URL=postgres_url)
    assert refused.returncode != 0
    assert "pg_dump" in refused.stderr and "pg_restore" in refused.stderr
    assert not (tmp_path / "copy.db").exists()
