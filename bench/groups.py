"""The writer's own cost, in-process (no HTTP): what one group commit of single-event appends costs the
store, and what a 500-event backfill batch costs, on each backend.

For each backend a fresh database is filled with a generated log through ``python -m service import``
(as bench/writes.py does), then, in the same process:

1. groups of ``--group`` single-event appends (each one ``StatementMade`` with one position, 95% dated
   on the log's present day, as bench/append.lua sends them), stored with ``EventStore.append_group``
   as the group-commit writer stores them, and one append alone in the same way: ms per group;
2. 500-event batches dated anywhere over the log's years (a backfill): events/s.

Medians and means are both printed: a slow batch now and then (a checkpoint, a collection) shows in the
mean only. On SQLite it also prints what each went through the kernel (``/proc/self/io``, Linux): bytes
written, write calls and read calls, which is mostly SQLite's write-ahead log.

    python bench/groups.py [--backends sqlite,postgresql] [--size 10000] [--group 14] [--groups 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.projections import commit, default_postgres_url, fresh_database, machine  # noqa: E402
from bench.writes import PRESENT, SHAPES, Shape, backfill, import_log, log, statement  # noqa: E402
from service.api.append import _BATCH  # noqa: E402
from service.compose import event_store  # noqa: E402
from service.storage.database import connect  # noqa: E402
from service.storage.log import EventStore  # noqa: E402
from service.storage.plan import Batch  # noqa: E402


def single(rng: random.Random, shape: Shape) -> Batch:
    """One append as bench/append.lua sends it (one statement, one position, 95% dated on the log's present
    day), decoded as the service decodes it."""
    day = PRESENT if rng.random() >= 0.05 else PRESENT - dt.timedelta(days=rng.randint(1, shape.years * 365))
    event = statement(rng, shape, day)
    event["positions"] = event["positions"][:1]
    return Batch("live", _BATCH.decode(msgspec.json.encode({"events": [event]})).events)


def kernel_io() -> dict[str, int]:
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return {}
    return {name: int(value) for name, value in (line.split(": ") for line in lines)}


def timed(store: EventStore, groups: list[list[Batch]]) -> tuple[list[float], dict[str, float]]:
    """Seconds for each group, and what the kernel saw per group."""
    before, seconds = kernel_io(), []
    for group in groups:
        started = time.perf_counter()
        outcomes = store.append_group(group)
        seconds.append(time.perf_counter() - started)
        if any(isinstance(outcome, Exception) for outcome in outcomes):
            raise RuntimeError(f"an append was refused: {outcomes}")
    after = kernel_io()
    per = {k: (after[k] - before[k]) / len(groups) for k in ("wchar", "syscw", "syscr") if k in after}
    return seconds, per


def report(label: str, seconds: list[float], per: dict[str, float], events: int, backend: str) -> None:
    median, mean = statistics.median(seconds), statistics.fmean(seconds)
    line = f"  {label:<28} {median * 1000:7.2f} ms median {mean * 1000:7.2f} ms mean  "
    line += f"{events / median:9,.0f} ev/s median {events / mean:9,.0f} ev/s mean"
    if per and backend == "sqlite":
        line += f"  | {per['wchar'] / 1024 / events:5.1f} KiB, {per['syscw'] / events:4.1f} writes, "
        line += f"{per['syscr'] / events:4.1f} reads per event"
    print(line, flush=True)


def measure(backend: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    shape = SHAPES["standard"]
    import_log(url, log(shape, args.size, 2025), workdir)
    database = connect(url)
    store = event_store(database)
    rng = random.Random(3)
    try:
        warm = [[single(rng, shape) for _ in range(args.group)] for _ in range(10)]
        timed(store, warm)
        print(f"{backend} ({args.size:,} events, standard shape)")
        groups = [[single(rng, shape) for _ in range(args.group)] for _ in range(args.groups)]
        report(f"groups of {args.group} single appends", *timed(store, groups), args.group, backend)
        alone = [[single(rng, shape)] for _ in range(args.groups)]
        report("one append alone", *timed(store, alone), 1, backend)
        bodies = backfill(shape, args.batches, 7)
        batches = [[Batch("backfill", _BATCH.decode(body).events)] for body in bodies]
        report("500-event backfill batches", *timed(store, batches), 500, backend)
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--group", type=int, default=14)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--postgres-url", default=default_postgres_url())
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; commit {commit()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            with fresh_database(backend, Path(tmp), args.postgres_url) as url:
                measure(backend, url, args, Path(tmp))


if __name__ == "__main__":
    main()
