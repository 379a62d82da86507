"""The write path, measured side by side with the raw database and the ``eventsourcing`` library.

For each backend, log shape and log size, in one run:

1. a fresh database is filled with a generated log through ``python -m service import FILE`` (the
   command a user runs; its rate is the ``import`` figure), with the shape's parties and issues;
2. a real server is started with ``make run``'s settings (``python -m service serve``), and
   - ``wrk`` (Debian's package) with ``bench/append.lua`` makes 32 connections append one
     ``StatementMade`` with one position each, 95% dated on the log's present day and 5% earlier, for
     ``--seconds``: appends/s, p50 and p99;
   - one client posts 500-event batches (well under 1 MiB each) dated all over the shape's years, as a
     backfill would: events/s;
   - ``GET /state`` p50 over 100 requests as of random dates;
3. the raw database's ceiling for the same event rows with the same driver and no service: one row a
   transaction (SQLite: one connection; PostgreSQL: one connection and eight), and 500 rows a
   transaction;
4. the ``eventsourcing`` library in-process on the same kind of database: single-event saves and
   500-event saves;
5. the web stack alone: the same ``wrk`` load against ``bench/bare.py``, a bare Litestar app served as the
   service is, that decodes each body into the service's append type and stores nothing.

Shapes: ``standard`` (12 parties x 15 issues over two years, as bench/generate.py) and ``wide`` (60 x 40
over ten years). It prints one table per backend, with ratios, and the database bytes per event.

    python bench/writes.py [--backends sqlite,postgresql] [--sizes 10000,1000000]
                           [--shapes standard,wide] [--seconds 10] [--connections 32]

Needs ``wrk`` on the PATH for the concurrent appends (``apt-get install wrk``) and the ``bench`` extra
(``pip install -e '.[bench]'``) for the library. Nothing is written into the work tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.projections import (  # noqa: E402
    commit,
    database_bytes,
    default_postgres_url,
    fresh_database,
    machine,
    running_server,
    server_version,
)
from tests.server import free_port, running_process  # noqa: E402

TOKEN = "bench"
PRESENT = dt.date(2026, 2, 28)
BATCH = 500
TARGETS = {  # issue 13: appends/s, p99 ms, import events/s
    "sqlite": {"appends": 4000, "p99": 50.0, "import": 80_000},
    "postgresql": {"appends": 3000, "p99": 50.0, "import": 40_000},
}


class Shape(NamedTuple):
    name: str
    parties: int
    issues: int
    years: int


SHAPES = {"standard": Shape("standard", 12, 15, 2), "wide": Shape("wide", 60, 40, 10)}
STANCES = ["supports", "opposes", "conditional", "neutral", "unclear"]
SOURCE = {"publisher": "Bench Wire", "title": "A report", "excerpt": "We said it."}


# -- events ------------------------------------------------------------------------------------------------


def ids(shape: Shape) -> tuple[list[str], list[str]]:
    return [f"p{n:02d}" for n in range(shape.parties)], [f"i{n:02d}" for n in range(shape.issues)]


def vocabulary(shape: Shape) -> list[dict[str, Any]]:
    parties, issues = ids(shape)
    defined = [
        {"type": "PartyDefined", "party": p, "name": p.upper(), "kind": "state", "occurred": "2020"}
        for p in parties
    ] + [
        {"type": "IssueDefined", "issue": i, "proposition": f"the {i} proposition", "occurred": "2020"}
        for i in issues
    ]
    return [
        d | {"id": str(uuid.uuid4()), "stream": "vocabulary", "title": "Defined", "sources": [SOURCE]}
        for d in defined
    ]


def statement(rng: random.Random, shape: Shape, day: dt.date, stream: str | None = None) -> dict[str, Any]:
    parties, issues = ids(shape)
    party = rng.choice(parties)
    taken = [
        {"party": party, "issue": issue, "stance": rng.choice(STANCES), "basis": "reported", "summary": "s"}
        for issue in rng.sample(issues, rng.randint(1, 3))
    ]
    event = {
        "type": "StatementMade",
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "occurred": day.isoformat(),
        "title": "A statement",
        "party": party,
        "speaker": "A Speaker",
        "quote": "We said it.",
        "positions": taken,
        "sources": [SOURCE],
    }
    return event | ({"stream": stream} if stream else {})


def log(shape: Shape, size: int, seed: int) -> list[dict[str, Any]]:
    """A log of ``size`` events in append order: the vocabulary, then statements day after day up to
    the present, 5% of them backdated, and 0.5% retractions of earlier ones."""
    rng = random.Random(seed)
    days = shape.years * 365
    out = vocabulary(shape)
    statements: list[dict[str, Any]] = []
    body = size - len(out)
    for n in range(body):
        day = PRESENT - dt.timedelta(days=days - 1 - n * days // body)
        if rng.random() < 0.05:
            day -= dt.timedelta(days=rng.randint(20, 240))
        if statements and rng.random() < 0.005:
            target = rng.choice(statements[-5000:])
            out.append(
                {
                    "type": "EventRetracted",
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "stream": "talks",
                    "occurred": day.isoformat(),
                    "title": "Retracted",
                    "target": target["id"],
                    "reason": "wrong",
                    "sources": [SOURCE],
                }
            )
            continue
        statements.append(statement(rng, shape, day, "talks"))
        out.append(statements[-1])
    return out


def backfill(shape: Shape, batches: int, seed: int) -> list[bytes]:
    """Request bodies of ``BATCH`` statements each, dated anywhere over the shape's years."""
    rng = random.Random(seed)
    days = shape.years * 365
    bodies = []
    for _ in range(batches):
        evs = [statement(rng, shape, PRESENT - dt.timedelta(days=rng.randrange(days))) for _ in range(BATCH)]
        bodies.append(json.dumps({"events": evs}).encode())
    return bodies


# -- the service -------------------------------------------------------------------------------------------


def import_log(url: str, events: list[dict[str, Any]], workdir: Path) -> float:
    """Migrate and fill the database with ``python -m service import``; returns events/s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")} | {
        "TIMELINE_DATABASE_URL": url
    }
    subprocess.run(
        [sys.executable, "-m", "service", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    path = workdir / "log.json"
    path.write_text(json.dumps(events))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service", "import", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"import failed: {done.stderr}")
    path.unlink()
    return len(events) / elapsed


def wrk(base: str, shape: Shape, seconds: int, connections: int) -> dict[str, float]:
    """Concurrent single-event appends through ``wrk``: appends/s, p50 and p99 in ms."""
    parties, issues = ids(shape)
    env = os.environ | {
        "BENCH_TOKEN": TOKEN,
        "BENCH_PRESENT": PRESENT.isoformat(),
        "BENCH_DAYS": str(shape.years * 365 - 1),
        "BENCH_PARTIES": ",".join(parties),
        "BENCH_ISSUES": ",".join(issues),
    }
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "bench/append.lua"),
            base,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    if "status " in done.stderr:
        raise RuntimeError(f"appends were refused: {done.stderr[:500]}")
    out = done.stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    if "Non-2xx" in out:
        raise RuntimeError(f"some appends failed:\n{out}")
    return {"appends": rate, "p50": ms("50%"), "p99": ms("99%")}


def framework_ceiling(shape: Shape, seconds: int, connections: int, workdir: Path) -> dict[str, float]:
    """The same ``wrk`` load against ``bench/bare.py`` (the web stack alone, storing nothing, served as the
    service is): appends/s, p50 and p99 in ms."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "bench/bare.py"), str(port)]
    with running_process(command, dict(os.environ), workdir, f"http://127.0.0.1:{port}") as (base, _):
        return wrk(base, shape, seconds, connections)


def post_batches(base: str, bodies: list[bytes]) -> float:
    """One client posting the bodies one after another over one keep-alive connection: events/s."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/streams/backfill/events", body, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 201:
            raise RuntimeError(f"batch refused: {response.status} {answer[:300]!r}")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(bodies) * BATCH / elapsed


def state_p50(base: str, shape: Shape, requests: int = 100) -> float:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    rng = random.Random(1)
    times = []
    for _ in range(requests):
        day = PRESENT - dt.timedelta(days=rng.randrange(shape.years * 365))
        started = time.perf_counter()
        conn.request("GET", f"/state?as_of={day.isoformat()}")
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
    conn.close()
    return statistics.median(times) * 1000


# -- the raw database --------------------------------------------------------------------------------------


RAW_TABLE = (
    "CREATE TABLE raw_events (position BIGINT PRIMARY KEY, id VARCHAR(36) NOT NULL UNIQUE, "
    "stream VARCHAR(128) NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, UNIQUE (stream, version))"
)


def raw_rows(shape: Shape, count: int) -> list[tuple]:
    rng = random.Random(7)
    return [
        (n + 1, str(uuid.uuid4()), "raw", n + 1, json.dumps(statement(rng, shape, PRESENT)))
        for n in range(count)
    ]


def raw_ceiling(backend: str, url: str, shape: Shape, seconds: float) -> dict[str, float]:
    """The same kind of rows, with the same driver and nothing else: rows/s one a transaction, and in
    transactions of ``BATCH``."""
    rows = raw_rows(shape, 200_000)
    if backend == "sqlite":
        path = sa.make_url(url).database + "-raw.db"
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(RAW_TABLE)
        insert = "INSERT INTO raw_events VALUES (?, ?, ?, ?, ?)"
        single = _timed_singles(
            lambda row: (conn.execute("BEGIN IMMEDIATE"), conn.execute(insert, row), conn.execute("COMMIT")),
            rows,
            seconds,
        )
        rest = rows[single["count"] :]
        batched = _timed_batches(
            lambda chunk: (
                conn.execute("BEGIN IMMEDIATE"),
                conn.executemany(insert, chunk),
                conn.execute("COMMIT"),
            ),
            rest,
            seconds,
        )
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return {"single": single["rate"], "batched": batched}
    conninfo = sa.make_url(url).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(RAW_TABLE)
    insert = "INSERT INTO raw_events VALUES (%s, %s, %s, %s, %s)"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        single = _timed_singles(lambda row: conn.execute(insert, row), rows, seconds)
    offset = single["count"]
    eight = _parallel_singles(conninfo, insert, rows[offset : offset + 100_000], seconds, 8)
    rest = rows[offset + 100_000 :]
    with psycopg.connect(conninfo) as conn:

        def copy(chunk: list[tuple]) -> None:
            with conn.cursor().copy("COPY raw_events FROM STDIN") as c:
                for row in chunk:
                    c.write_row(row)
            conn.commit()

        batched = _timed_batches(copy, rest, seconds)
    return {"single": single["rate"], "single8": eight, "batched": batched}


def _timed_singles(write, rows: list[tuple], seconds: float) -> dict[str, float]:
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds and n < len(rows):
        write(rows[n])
        n += 1
    return {"rate": n / (time.perf_counter() - started), "count": n}


def _timed_batches(write, rows: list[tuple], seconds: float) -> float:
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds and n + BATCH <= len(rows):
        write(rows[n : n + BATCH])
        n += BATCH
    return n / (time.perf_counter() - started)


def _parallel_singles(conninfo: str, insert: str, rows: list[tuple], seconds: float, threads: int) -> float:
    counts = [0] * threads

    def work(k: int) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            deadline = time.perf_counter() + seconds
            for row in rows[k::threads]:
                if time.perf_counter() > deadline:
                    break
                conn.execute(insert, row)
                counts[k] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started)


# -- the eventsourcing library -----------------------------------------------------------------------------


def _aggregate() -> type | None:
    """The library's aggregate for the comparison: one kind of event, which carries a statement's JSON."""
    try:
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return None

    class Talks(Aggregate):
        @event("Said")
        def say(self, text: str) -> None:
            pass

    return Talks


_Talks = _aggregate()  # defined once: the library refuses a second class under the same topic


def library(backend: str, url: str, workdir: Path, seconds: float) -> dict[str, float] | None:
    """The ``eventsourcing`` library in-process: single-event saves/s, and events/s in 500-event saves."""
    if _Talks is None:
        return None
    from eventsourcing.application import Application

    Talks = _Talks
    if backend == "sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(workdir / "library.db")}
    else:
        parsed = sa.make_url(url)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.database,
            "POSTGRES_HOST": parsed.host or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": parsed.username or "postgres",
            "POSTGRES_PASSWORD": parsed.password or "",
        }
    app = Application(env=env)
    text = json.dumps(statement(random.Random(3), SHAPES["standard"], PRESENT))
    started, saves = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        talks = Talks()
        talks.say(text)
        app.save(talks)
        saves += 1
    single = saves / (time.perf_counter() - started)
    started, events = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        talks = Talks()
        for _ in range(BATCH - 1):
            talks.say(text)
        app.save(talks)
        events += BATCH
    batched = events / (time.perf_counter() - started)
    app.close()
    return {"single": single, "batched": batched}


# -- the run -----------------------------------------------------------------------------------------------


def measure(backend: str, shape: Shape, size: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend, "shape": shape.name, "size": size}
    with fresh_database(backend, workdir, args.postgres_url) as url:
        print(f"  {backend} {shape.name} {size:,}: importing", file=sys.stderr)
        result["import"] = import_log(url, log(shape, size, args.seed), workdir)
        result["bytes_per_event"] = database_bytes(url) / size
        result["version"] = server_version(backend, url)
        with running_server(url, workdir / "server") as (base, _pid):
            if shutil.which("wrk"):
                print(
                    f"  {backend} {shape.name} {size:,}: {args.connections} clients appending",
                    file=sys.stderr,
                )
                result |= wrk(base, shape, args.seconds, args.connections)
            print(f"  {backend} {shape.name} {size:,}: batches over HTTP", file=sys.stderr)
            result["batches"] = post_batches(base, backfill(shape, args.batches, args.seed + 1))
            result["state_p50"] = state_p50(base, shape)
        if shutil.which("wrk"):  # right after the service's own run, on the machine as it is then
            print(f"  {backend} {shape.name} {size:,}: the bare web stack", file=sys.stderr)
            result["bare"] = framework_ceiling(shape, args.seconds, args.connections, workdir / "bare")
        print(f"  {backend} {shape.name} {size:,}: the raw database and the library", file=sys.stderr)
        result["raw"] = raw_ceiling(backend, url, shape, args.seconds / 2)
        result["library"] = library(backend, url, workdir, args.seconds / 2)
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nmachine: {machine()}; commit {commit()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"wrk: {args.connections} connections, {args.seconds} s; batches: {BATCH} events, one client")
    for backend in args.backends:
        rows = [r for r in results if r["backend"] == backend]
        if not rows:
            continue
        target = TARGETS[backend]
        print(f"\n{backend} ({rows[0]['version']})")
        head = (
            f"{'shape':<9} {'size':>9}  {'appends/s':>9} {'p50 ms':>7} {'p99 ms':>7}  {'HTTP batch ev/s':>15}"
        )
        head += f"  {'import ev/s':>11}  {'/state p50':>10}  {'bytes/event':>11}"
        print(head)
        for r in rows:
            appends = (
                f"{r['appends']:>9,.0f} {r['p50']:>7.1f} {r['p99']:>7.1f}"
                if "appends" in r
                else f"{'(no wrk)':>25}"
            )
            print(
                f"{r['shape']:<9} {r['size']:>9,}  {appends}  {r['batches']:>15,.0f}  {r['import']:>11,.0f}"
                f"  {r['state_p50']:>8.1f}ms  {r['bytes_per_event']:>11,.0f}"
            )
        print("side by side (same run, same database kind):")
        for r in rows:
            raw, lib = r["raw"], r["library"]
            single_raw = raw["single"] if backend == "sqlite" else raw["single8"]
            line = f"  {r['shape']:<9} {r['size']:>9,}: single appends: service {r.get('appends', 0):,.0f}/s"
            line += f", raw {raw['single']:,.0f}/s one connection"
            if backend != "sqlite":
                line += f", {raw['single8']:,.0f}/s eight"
            if lib:
                line += f", eventsourcing {lib['single']:,.0f}/s in-process"
            line += f" (service/raw {r.get('appends', 0) / single_raw:.2f})"
            print(line)
            if "bare" in r:
                bare = r["bare"]
                line = (
                    f"  {'':<20}the web stack alone (bench/bare.py, stores nothing): {bare['appends']:,.0f}/s"
                )
                line += f", p99 {bare['p99']:.1f} ms (service/bare {r['appends'] / bare['appends']:.2f})"
                print(line)
            line = f"  {'':<20}batches: service {r['batches']:,.0f} ev/s over HTTP"
            line += f", import {r['import']:,.0f}"
            line += f", raw {raw['batched']:,.0f} rows/s"
            if lib:
                line += f", eventsourcing {lib['batched']:,.0f} ev/s in-process"
            line += f" (service/raw {r['batches'] / raw['batched']:.2f})"
            print(line)
        print(
            f"targets: appends >= {target['appends']:,}/s with p99 < {target['p99']:.0f} ms, batches and "
            f"import >= {target['import']:,} ev/s; appends at the largest size within 1.2x of the smallest; "
            "wide within 1.5x of standard"
        )
        for r in rows:
            met = [
                ("appends", r.get("appends", 0) >= target["appends"]),
                ("p99", r.get("p99", 1e9) < target["p99"]),
                ("batches", r["batches"] >= target["import"]),
                ("import", r["import"] >= target["import"]),
            ]
            print(
                f"  {r['shape']:<9} {r['size']:>9,}: "
                + ", ".join(f"{n} {'met' if ok else 'MISSED'}" for n, ok in met)
            )
        for shape in {r["shape"] for r in rows}:
            sized = sorted(
                (r for r in rows if r["shape"] == shape and "appends" in r), key=lambda r: r["size"]
            )
            if len(sized) > 1:
                ratio = sized[0]["appends"] / sized[-1]["appends"]
                print(
                    f"  {shape}: appends/s at {sized[0]['size']:,} / at {sized[-1]['size']:,} = {ratio:.2f}"
                )
        standard = [r for r in rows if r["shape"] == "standard" and "appends" in r]
        wide = [r for r in rows if r["shape"] == "wide" and "appends" in r]
        for s in standard:
            for w in wide:
                if w["size"] == s["size"]:
                    print(
                        f"  at {s['size']:,}: appends/s standard / wide = {s['appends'] / w['appends']:.2f}"
                    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--shapes", default="standard,wide")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40, help="500-event requests of the HTTP backfill")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--postgres-url", default=default_postgres_url())
    args = parser.parse_args(argv)
    args.backends = args.backends.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [SHAPES[s] for s in args.shapes.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="timeline-writes-") as tmp:
        for backend in args.backends:
            for shape in shapes:
                for size in sizes:
                    results.append(measure(backend, shape, size, args, Path(tmp)))
    report(results, args)


if __name__ == "__main__":
    main()
