"""Seeding the bundled data set, importing and exporting files, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from service.compose import event_store
from service.dataset import InvalidFile, bundled, export, load, parse
from service.storage.database import connect, migrate
from service.storage.log import EventStore
from tests.conftest import empty_postgres
from tests.factories import party, statement
from tests.server import clean_env


def snapshot(store: EventStore) -> list[tuple[int, int, object]]:
    return [(r.position, r.version, r.event) for r in store.read_log(limit=1000).events]


def test_seeding_twice_leaves_the_log_unchanged(store: EventStore) -> None:
    events = bundled()
    assert load(store, events) == len(events)
    before = snapshot(store)
    assert load(store, events) == 0
    assert snapshot(store) == before
    assert len(before) == len(events)


def test_export_then_import_into_an_empty_database_gives_the_same_log(
    store: EventStore, database_url: str, tmp_path: Path
) -> None:
    load(store, bundled())
    store.append("extra", parse(json.dumps([statement("us", stream="extra")]).encode(), "x"))
    content = export(store)
    before = snapshot(store)
    if database_url.startswith("sqlite"):
        other = connect(f"sqlite:///{tmp_path / 'other.db'}")
        migrate(other)
    else:
        other = empty_postgres(database_url)  # the same database, emptied: the snapshot is taken
    try:
        copy = event_store(other)
        assert load(copy, parse(content, "export.json")) == len(before)
        assert snapshot(copy) == before
        assert export(copy) == content
    finally:
        other.dispose()


def test_a_bad_file_is_refused_whole(store: EventStore) -> None:
    good = party("us", stream="vocabulary")
    bad = statement("nobody", stream="talks")
    with pytest.raises(InvalidFile, match="nobody"):
        load(store, parse(json.dumps([good, bad]).encode(), "bad.json"))
    assert store.head() == 0
    with pytest.raises(InvalidFile, match="names no stream"):
        parse(json.dumps([party("us")]).encode(), "nostream.json")
    with pytest.raises(InvalidFile, match="broken.json"):
        parse(b"[{", "broken.json")


def test_the_cli_seeds_imports_and_exports(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "service", *args],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
        )

    assert run("migrate").returncode == 0
    seeded = run("seed")
    assert seeded.returncode == 0 and f"{len(bundled())} new" in seeded.stderr
    assert " 0 new" in run("seed").stderr
    exported = run("export")
    assert json.loads(exported.stdout)[0]["type"] == "PartyDefined"
    extra = tmp_path / "mine.json"
    extra.write_text(json.dumps([statement("us", stream="mine")]))
    imported = run("import", str(extra))
    assert imported.returncode == 0 and "1 new" in imported.stderr
    verified = run("verify")
    assert verified.returncode == 0
    assert "hash chain intact, logged stances match, daily stands match" in verified.stderr
    with sqlite3.connect(tmp_path / "data" / "timeline.db") as db:
        (seq,) = db.execute("SELECT max(seq) FROM stances WHERE as_logged AND stance <> 'neutral'").fetchone()
        db.execute("UPDATE stances SET stance = 'neutral' WHERE as_logged AND seq = ?", (seq,))
    refused = run("verify")
    assert refused.returncode != 0 and f"event at position {seq} differ" in refused.stderr
    assert "rebuild --rerender" in refused.stderr
    for rebuild in (("rebuild",), ("rebuild", "--rerender")):
        rebuilt = run(*rebuild)
        assert rebuilt.returncode == 0 and f"from {len(bundled()) + 1} events" in rebuilt.stderr
    assert run("verify").returncode == 0
    with sqlite3.connect(tmp_path / "data" / "timeline.db") as db:
        day, party, issue = db.execute("SELECT day, party, issue FROM proj_stands LIMIT 1").fetchone()
        db.execute(
            "UPDATE proj_stands SET json = '{}' WHERE day = ? AND party = ? AND issue = ?",
            (day, party, issue),
        )
    refused = run("verify")
    assert refused.returncode != 0 and f"the stand of {party} on {issue} as of {day}" in refused.stderr
    assert "rebuild --rerender" in refused.stderr
    assert run("rebuild", "--rerender").returncode == 0
    assert run("verify").returncode == 0
    (tmp_path / "bad.json").write_text("[{}]")
    refused = run("import", "bad.json")
    assert refused.returncode != 0 and "bad.json" in refused.stderr
