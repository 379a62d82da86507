"""The benchmark scripts still run end to end (on tiny logs, SQLite only): their figures are quoted, so
they must keep working as the service changes under them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.server import clean_env

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH / script), "--backends", "sqlite", *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_projections_bench_measures_sizes_in_turns_and_rebuilds() -> None:
    done = run("projections.py", "--sizes", "200,400", "--requests", "4", "--rounds", "2", "--warmup", "1")
    assert done.returncode == 0, done.stderr
    assert "measuring 200, 400 in turns" in done.stderr
    for name in ("state", "issue", "history"):
        assert f"sqlite     {name:<9} p50 ratio 400/200 = " in done.stdout
    assert "pages read from disk per request" in done.stdout
    assert "rebuild ev/s" in done.stdout and "figures mix code versions" not in done.stdout


def test_the_timeline_bench_measures_first_and_last_pages() -> None:
    done = run("timeline.py", "--sizes", "200", "--requests", "2")
    assert done.returncode == 0, done.stderr
    for page in ("json first", "json last", "atom first", "atom last"):
        assert f"sqlite            200  {page}" in done.stdout


def test_the_writes_bench_measures_the_service_beside_the_raw_database() -> None:
    done = run("writes.py", "--sizes", "300", "--shapes", "standard", "--seconds", "1", "--batches", "1")
    assert done.returncode == 0, done.stderr
    assert "standard        300" in done.stdout
    assert "raw " in done.stdout and "rows/s" in done.stdout


def test_the_groups_bench_measures_the_writer_in_process() -> None:
    done = run("groups.py", "--size", "300", "--group", "4", "--groups", "3", "--batches", "1")
    assert done.returncode == 0, done.stderr
    for label in ("groups of 4 single appends", "one append alone", "500-event backfill batches"):
        assert f"  {label}" in done.stdout
    assert "KiB" in done.stdout and "writes" in done.stdout
