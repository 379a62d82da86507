"""As-of reads must not replay the log: their cost must stay flat as the log grows.

For each backend this script creates a fresh database per log size, migrates it, loads a synthetic log
(``bench/generate.py``) through the real write path (``EventStore.append_batches``, batches of up to 1,000
events grouped by stream), starts a real server process (``python -m service serve``) on each, and
measures, with one keep-alive HTTP client per server, the latency of

- ``GET /state?as_of=D``
- ``GET /issues/{issue}?as_of=D``
- ``GET /parties/{party}/history?limit=100&as_of=D``

for random dates D over the two years of the log and random issues and parties. The sizes are measured in
turns (``--rounds``), each asked the same requests, so that a ratio between sizes is not a ratio between
two moments of a noisy machine. Then it stops the servers, runs ``python -m service rebuild`` on each
database and reports its rate. At the end it prints p50/p99 per endpoint, the ratio of p50 at the largest
size to p50 at the smallest (and its range over the rounds), load and rebuild rates, and the machine.

    python bench/projections.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql]
                                [--requests 200] [--rounds 10] [--warmup 20] [--seed 2025]

SQLite databases live in a temporary directory; PostgreSQL databases (``timeline_bench_<random>``) are
created on the server named by ``--postgres-url`` (default: ``TIMELINE_BENCH_POSTGRES_URL``, then
``TIMELINE_TEST_POSTGRES_URL``, then ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped at the
end. On PostgreSQL the script runs ``VACUUM (ANALYZE)`` after loading, as autovacuum would on a default server
(since PostgreSQL 13 it vacuums tables that only grow, too); this machine's server runs with autovacuum off,
and ``--no-analyze`` measures without statistics and with every row's visibility still to be checked.
Nothing is written into the work tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import math
import os
import platform
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.generate import DAYS, ISSUE_IDS, MIN_GAP, PARTY_IDS, day, generate  # noqa: E402
from events.codec import convert  # noqa: E402
from events.vocabulary import AnyEvent  # noqa: E402
from service.compose import event_store  # noqa: E402
from service.storage.database import connect, migrate  # noqa: E402
from service.storage.log import Batch  # noqa: E402
from tests.server import free_port  # noqa: E402
from tests.server import running_server as serving  # noqa: E402

BATCH = MIN_GAP  # events per append transaction (the API's limit per batch is 1,000 too)
TOKEN = "bench"
TARGET_RATIO = 1.5
TARGET_P50_MS = {"sqlite": 5.0, "postgresql": 10.0}
TARGET_REBUILD = 150_000
ENDPOINTS = ("state", "issue", "history")


# -- databases ---------------------------------------------------------------------------------------------


def default_postgres_url() -> str:
    return (
        os.environ.get("TIMELINE_BENCH_POSTGRES_URL")
        or os.environ.get("TIMELINE_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextmanager
def fresh_database(backend: str, workdir: Path, admin_url: str) -> Iterator[str]:
    """A new, empty database; yields its URL and removes it afterwards."""
    if backend == "sqlite":
        path = workdir / "bench.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"timeline_bench_{secrets.token_hex(6)}"
    admin = sa.make_url(admin_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_bytes(url: str) -> int:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sum(
            Path(f"{parsed.database}{s}").stat().st_size
            for s in ("", "-wal")
            if Path(f"{parsed.database}{s}").exists()
        )
    with psycopg.connect(parsed.render_as_string(hide_password=False)) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def server_version(backend: str, url: str) -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(sa.make_url(url).render_as_string(hide_password=False)) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        return f"PostgreSQL {version} (autovacuum {autovacuum})"


def analyze(url: str) -> None:
    """Vacuum and gather planner statistics, as autovacuum would after a bulk load on a default server."""
    with psycopg.connect(sa.make_url(url).render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


# -- loading -----------------------------------------------------------------------------------------------


def load(url: str, size: int, seed: int) -> dict[str, float]:
    """Migrate and append a generated log of ``size`` events; returns timings."""
    database = connect(url)
    try:
        migrate(database)
        store = event_store(database)
        started = time.perf_counter()
        appending = 0.0
        chunk: list[tuple[str, dict[str, Any]]] = []
        loaded = 0
        report_every = max(BATCH, size // 10)

        def flush() -> None:
            nonlocal appending, loaded
            batches: dict[str, list] = {}
            for stream, event in chunk:
                batches.setdefault(stream, []).append(convert(event, AnyEvent))
            t = time.perf_counter()
            store.append_batches([Batch(stream, evs) for stream, evs in batches.items()])
            appending += time.perf_counter() - t
            loaded += len(chunk)
            chunk.clear()
            if loaded % report_every == 0 and loaded < size:
                rate = loaded / appending
                print(f"    loaded {loaded:,} events ({rate:,.0f} events/s appending)", file=sys.stderr)

        for item in generate(size, seed):
            chunk.append(item)
            if len(chunk) == BATCH:
                flush()
        if chunk:
            flush()
        head = store.head()
        if head != size:
            raise RuntimeError(f"loaded {size} events but the log head is {head}")
        return {"append_s": appending, "wall_s": time.perf_counter() - started}
    finally:
        database.dispose()


# -- the server --------------------------------------------------------------------------------------------


def service_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")}
    return env | {"TIMELINE_DATABASE_URL": url, "TIMELINE_WRITE_TOKENS": TOKEN} | extra


@contextmanager
def running_server(
    url: str, workdir: Path, cache_entries: int | None = None, timeout: float = 60
) -> Iterator[tuple[str, int]]:
    """Start ``python -m service serve`` (as the tests do) in ``workdir``; yield its base URL and process id
    once ``/health`` answers."""
    env = {"TIMELINE_DATABASE_URL": url, "TIMELINE_WRITE_TOKENS": TOKEN, "TIMELINE_PORT": str(free_port())}
    if cache_entries is not None:
        env["TIMELINE_CACHE_ENTRIES"] = str(cache_entries)
    workdir.mkdir(parents=True, exist_ok=True)
    with serving(env, workdir, timeout) as (base, process):
        yield base, process.pid


def major_faults(pid: int) -> int | None:
    """Pages the process ``pid`` and its children (the server's workers) have had to read from disk so far
    (Linux), or None where the system does not say.

    Reads that miss the operating system's file cache cost a disk read each. On a machine that hands idle
    memory back to its host, as this one does, part of a large database leaves the cache between requests,
    and its answers slow down for that rather than for anything the service does; this shows how much."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        faults = int(stat.rsplit(")", 1)[1].split()[9])  # majflt, the 12th field
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                faults += major_faults(int(child)) or 0
        return faults
    except (OSError, ValueError, IndexError):
        return None


def random_date(rng: random.Random) -> str:
    return day(rng.randrange(DAYS)).isoformat()


REQUESTS: dict[str, Callable[[random.Random], str]] = {
    "state": lambda rng: f"/state?as_of={random_date(rng)}",
    "issue": lambda rng: f"/issues/{rng.choice(ISSUE_IDS)}?as_of={random_date(rng)}",
    "history": lambda rng: f"/parties/{rng.choice(PARTY_IDS)}/history?limit=100&as_of={random_date(rng)}",
}


class KeepAlive:
    """One keep-alive HTTP/1.1 connection through the standard library's ``http.client``, the thinnest real
    client Python has: the figures are then the service's more than a client library's (httpx adds about
    0.8 ms to each ``/state`` answer on this machine)."""

    def __init__(self, base: str) -> None:
        parsed = urlsplit(base)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def measure(
    bases: dict[int, str], rounds: int, requests: int, warmup: int, seed: int
) -> dict[int, dict[str, Any]]:
    """Latency in ms of each endpoint of the servers in ``bases`` (by log size), after a warm-up.

    The sizes are measured in turns, each round asking every server the same random requests (the order of
    the servers reversed every other round), so that whatever the machine does over the minutes of a run
    falls on all sizes alike, and the ratio between sizes compares like with like."""
    rng = random.Random(f"{seed}:requests")
    timings = {size: {name: [] for name in ENDPOINTS} for size in bases}
    per_round = {size: {name: [] for name in ENDPOINTS} for size in bases}
    sizes: dict[str, list[int]] = {name: [] for name in ENDPOINTS}
    clients = {size: KeepAlive(base) for size, base in bases.items()}
    order = list(bases)
    try:
        for size in order:
            for _ in range(warmup):
                for name in ENDPOINTS:
                    get(clients[size], REQUESTS[name](rng))
        per = max(1, requests // rounds)
        for turn in range(rounds):
            paths = [(name, REQUESTS[name](rng)) for _ in range(per) for name in ENDPOINTS]
            for size in order if turn % 2 == 0 else reversed(order):
                measured = {name: [] for name in ENDPOINTS}
                for name, path in paths:
                    started = time.perf_counter()
                    body = get(clients[size], path)
                    measured[name].append((time.perf_counter() - started) * 1000)
                    sizes[name].append(len(body))
                for name, values in measured.items():
                    timings[size][name] += values
                    per_round[size][name].append(statistics.median(values))
    finally:
        for client in clients.values():
            client.close()
    return {
        size: {
            name: {
                "p50": statistics.median(values),
                "p99": percentile(values, 99),
                "max": max(values),
                "kib": statistics.mean(sizes[name]) / 1024,
                "rounds": per_round[size][name],
            }
            for name, values in timings[size].items()
        }
        for size in bases
    }


def get(client: KeepAlive, path: str) -> bytes:
    status, body = client.get(path)
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {body[:500]!r}")
    return body


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- rebuild -----------------------------------------------------------------------------------------------


def rebuild(url: str, workdir: Path) -> dict[str, float]:
    """Run ``python -m service rebuild``; its own rate, its wall time and its peak memory."""
    with open(workdir / "rebuild.log", "w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "rebuild"],
            cwd=workdir,
            env=service_env(url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if process.returncode != 0:
        raise RuntimeError(f"rebuild failed ({process.returncode}):\n{output}")
    match = re.search(r"from (\d+) events in ([\d.]+) s", output)
    if match is None:
        raise RuntimeError(f"cannot read the rebuild rate from:\n{output}")
    count, seconds = int(match[1]), float(match[2])
    return {"events": count, "seconds": seconds, "wall_s": wall, "max_rss_mib": usage.ru_maxrss / 1024}


# -- the run -----------------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} CPUs ({model}), {memory:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def commit() -> str:
    """The checked-out commit of the work tree (``+`` if it has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def run_backend(
    backend: str, sizes: list[int], args: argparse.Namespace, workdir: Path
) -> list[dict[str, Any]]:
    """Load a log of each size, measure all sizes in turns (see ``measure``), then rebuild each."""
    results: dict[int, dict[str, Any]] = {}
    with ExitStack() as stack:
        urls, bases, pids = {}, {}, {}
        for size in sizes:
            print(f"== {backend}, {size:,} events", file=sys.stderr)
            place = workdir / f"{backend}-{size}"
            place.mkdir()
            url = urls[size] = stack.enter_context(fresh_database(backend, place, args.postgres_url))
            loaded = load(url, size, args.seed)
            results[size] = {
                "backend": backend,
                "size": size,
                "version": server_version(backend, url),
                "load": size / loaded["append_s"],
                "load_wall": size / loaded["wall_s"],
                "mib": database_bytes(url) / 2**20,
            }
            print(
                f"   load: {results[size]['load']:,.0f} events/s appending "
                f"({results[size]['load_wall']:,.0f}/s with generation), "
                f"database {results[size]['mib']:,.0f} MiB",
                file=sys.stderr,
            )
            if backend == "postgresql" and args.analyze:
                analyze(url)
        with ExitStack() as servers:
            for size in sizes:
                bases[size], pids[size] = servers.enter_context(
                    running_server(urls[size], workdir / f"{backend}-{size}", args.cache_entries)
                )
            print(f"   measuring {', '.join(f'{size:,}' for size in sizes)} in turns", file=sys.stderr)
            # on PostgreSQL the database server's own processes read the pages, and are not counted
            faults = {size: major_faults(pid) for size, pid in pids.items() if backend == "sqlite"}
            latency = measure(bases, args.rounds, args.requests, args.warmup, args.seed)
            for size, pid in pids.items():
                results[size]["latency"] = latency[size]
                after = major_faults(pid)
                if faults.get(size) is not None and after is not None:
                    asked = (args.requests // args.rounds * args.rounds + args.warmup) * len(ENDPOINTS)
                    results[size]["faults"] = (after - faults[size]) / asked
        for size in sizes:
            for name, figures in results[size]["latency"].items():
                print(
                    f"   {size:>9,} {name:8} p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms  "
                    f"({figures['kib']:.0f} KiB)",
                    file=sys.stderr,
                )
        if args.rebuild:
            for size in sizes:
                rebuilt = results[size]["rebuild"] = rebuild(urls[size], workdir / f"{backend}-{size}")
                print(
                    f"   {size:>9,} rebuild: {rebuilt['events'] / rebuilt['seconds']:,.0f} events/s "
                    f"({rebuilt['seconds']:.1f} s, peak {rebuilt['max_rss_mib']:,.0f} MiB)",
                    file=sys.stderr,
                )
    return [results[size] for size in sizes]


def report(results: list[dict[str, Any]], args: argparse.Namespace, commits: tuple[str, str]) -> None:
    print()
    print(f"Negotiation Timeline: as-of read benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {machine()}")
    if commits[0] == commits[1]:
        print(f"code: commit {commits[0]}")
    else:
        print(f"code: commit {commits[0]} at the start, {commits[1]} at the end: figures mix code versions")
    print(
        f"{args.requests} requests per endpoint in {args.rounds} rounds (the sizes in turns, asked the same) "
        f"after {args.warmup} warm-up rounds, one keep-alive client per server, "
        f"random as_of over {day(0)}..{day(DAYS - 1)}; seed {args.seed}"
    )
    if args.cache_entries is not None:
        print(f"server caches: TIMELINE_CACHE_ENTRIES={args.cache_entries}")
    if any(r["backend"] == "postgresql" for r in results):
        print(f"PostgreSQL: {'VACUUM (ANALYZE)' if args.analyze else 'no VACUUM or ANALYZE'} after the load")
    print()
    header = (
        f"{'backend':<11}{'events':>10}  {'endpoint':<9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'KiB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        for name in ENDPOINTS:
            f = r["latency"][name]
            print(
                f"{r['backend']:<11}{r['size']:>10,}  {name:<9}{f['p50']:>9.2f}{f['p99']:>9.2f}"
                f"{f['max']:>9.1f}{f['kib']:>7.0f}"
            )
    if any("faults" in r for r in results):
        print()
        for r in results:
            if "faults" in r:
                label = f"{r['backend']:<11}{r['size']:>10,}"
                print(f"{label}  pages read from disk per request {r['faults']:.2f}")
    print()
    print(
        f"{'backend':<11}{'events':>10}{'load ev/s':>12}{'rebuild ev/s':>14}{'rebuild s':>11}"
        f"{'rebuild MiB':>13}{'db MiB':>9}  server"
    )
    for r in results:
        rb = r.get("rebuild")
        rebuild_cols = (
            f"{rb['events'] / rb['seconds']:>14,.0f}{rb['seconds']:>11.1f}{rb['max_rss_mib']:>13,.0f}"
            if rb
            else f"{'-':>14}{'-':>11}{'-':>13}"
        )
        print(
            f"{r['backend']:<11}{r['size']:>10,}{r['load']:>12,.0f}{rebuild_cols}{r['mib']:>9,.0f}"
            f"  {r['version']}"
        )
    print()
    checks = []
    for backend in dict.fromkeys(r["backend"] for r in results):
        runs = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        small, large = runs[0], runs[-1]
        if len(runs) > 1:
            for name in ENDPOINTS:
                ratio = large["latency"][name]["p50"] / small["latency"][name]["p50"]
                ratio99 = large["latency"][name]["p99"] / small["latency"][name]["p99"]
                turns = sorted(
                    a / b
                    for a, b in zip(
                        large["latency"][name]["rounds"], small["latency"][name]["rounds"], strict=True
                    )
                )
                ok = ratio <= TARGET_RATIO
                print(
                    f"{backend:<11}{name:<9} p50 ratio {large['size']:,}/{small['size']:,} = {ratio:.2f}"
                    f" (p99 ratio {ratio99:.2f}; round by round {turns[0]:.2f} to {turns[-1]:.2f})"
                    f"  target <= {TARGET_RATIO}: {'ok' if ok else 'MISSED'}"
                )
                checks.append(ok)
        if large["size"] >= 1_000_000:
            limit = TARGET_P50_MS[backend]
            for name in ENDPOINTS:
                p50 = large["latency"][name]["p50"]
                ok = p50 < limit
                print(
                    f"{backend:<11}{name:<9} p50 at {large['size']:,} = {p50:.2f} ms"
                    f"  target < {limit:g} ms: {'ok' if ok else 'MISSED'}"
                )
                checks.append(ok)
            if "rebuild" in large:
                rb = large["rebuild"]
                rate = rb["events"] / rb["seconds"]
                ok = rate >= TARGET_REBUILD
                print(
                    f"{backend:<11}rebuild  at {large['size']:,} = {rate:,.0f} events/s"
                    f"  target >= {TARGET_REBUILD:,}: {'ok' if ok else 'MISSED'}"
                )
                checks.append(ok)
    if checks:
        print(f"\n{sum(checks)} of {len(checks)} targets met")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated log sizes")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up requests per endpoint")
    parser.add_argument(
        "--rounds", type=int, default=10, help="turns the sizes take, each with its share of the requests"
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--postgres-url", default=default_postgres_url(), help="where to create databases")
    parser.add_argument("--no-rebuild", dest="rebuild", action="store_false", help="skip the rebuild")
    parser.add_argument(
        "--cache-entries",
        type=int,
        help="the server's TIMELINE_CACHE_ENTRIES (default: the service's own); 0 measures every answer "
        "decoded afresh, which shows how the work of one answer grows with the log, apart from how often "
        "random dates find it already decoded",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="on PostgreSQL, measure without VACUUM (ANALYZE) after the load (by default the bench runs it, "
        "as autovacuum would; a server with autovacuum off otherwise plans on empty-table statistics)",
    )
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    backends = [b.strip() for b in args.backends.split(",")]
    for backend in backends:
        if backend not in TARGET_P50_MS:
            parser.error(f"unknown backend {backend!r}")

    workdir = Path(tempfile.mkdtemp(prefix="timeline-bench-"))
    results = []
    started_at = commit()
    try:
        for backend in backends:
            results += run_backend(backend, sizes, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if results:
            report(results, args, (started_at, commit()))


if __name__ == "__main__":
    main()
