"""A timeline page deep in a large log must cost about what the first page does (keyset pagination).

For each backend and size: a fresh database, the synthetic log of ``bench/generate.py`` loaded through the
real write path, a real server process, then with one keep-alive client the latency of

- the first page: ``GET /timeline?limit=100``
- the last page: ``GET /timeline?limit=100&cursor=C`` where C is the cursor just before the last 100 events
- the same two pages of ``/timeline.atom``

and the ratio last/first. ``python bench/timeline.py [--sizes 10000,1000000] [--backends sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.projections import (  # noqa: E402
    analyze,
    default_postgres_url,
    fresh_database,
    load,
    machine,
    percentile,
    running_server,
)
from service.api.timeline import encode_cursor  # noqa: E402
from service.query.timeline import TimelineKey  # noqa: E402

TARGET_RATIO = 1.5


def last_page_cursor(client: httpx.Client) -> str:
    """The ascending cursor that points just before the last 100 events."""
    tail = client.get("/timeline", params={"order": "desc", "limit": 101}).json()["items"]
    before = tail[-1]
    return encode_cursor(TimelineKey(before["dates"]["occurred"]["start"], before["position"]), "asc")


def measure(base: str, requests: int) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=base, timeout=120) as client:
        cursor = last_page_cursor(client)
        urls = {
            "json first": "/timeline?limit=100",
            "json last": f"/timeline?limit=100&cursor={cursor}",
            "atom first": "/timeline.atom?limit=100",
            "atom last": f"/timeline.atom?limit=100&cursor={cursor}",
        }
        last = client.get(urls["json last"]).json()
        assert len(last["items"]) == 100 and last["next"] is None, "the last page must hold the last 100"
        timings: dict[str, list[float]] = {name: [] for name in urls}
        for _ in range(10):
            for url in urls.values():
                client.get(url).raise_for_status()
        for _ in range(requests):
            for name, url in urls.items():
                started = time.perf_counter()
                client.get(url).raise_for_status()
                timings[name].append((time.perf_counter() - started) * 1000)
    return {n: {"p50": statistics.median(v), "p99": percentile(v, 99)} for n, v in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--postgres-url", default=default_postgres_url())
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"== {backend}, {size:,} events", file=sys.stderr)
            with tempfile.TemporaryDirectory(prefix="timeline-bench-") as tmp:
                workdir = Path(tmp)
                with fresh_database(backend, workdir, args.postgres_url) as url:
                    load(url, size, args.seed)
                    if backend == "postgresql":
                        analyze(url)
                    with running_server(url, workdir) as (base, _):
                        rows.append((backend, size, measure(base, args.requests)))
    print(f"\ntimeline pages, {time.strftime('%Y-%m-%d')}, {machine()}, {args.requests} requests each\n")
    print(f"{'backend':<11}{'events':>10}  {'page':<11}{'p50 ms':>9}{'p99 ms':>9}{'last/first p50':>16}")
    for backend, size, figures in rows:
        for name, f in figures.items():
            ratio = ""
            if name.endswith("last"):
                first = figures[name.replace("last", "first")]["p50"]
                verdict = "ok" if f["p50"] / first <= TARGET_RATIO else "MISSED"
                ratio = f"{f['p50'] / first:.2f} ({verdict})"
            print(f"{backend:<11}{size:>10,}  {name:<11}{f['p50']:>9.2f}{f['p99']:>9.2f}{ratio:>16}")


if __name__ == "__main__":
    main()
