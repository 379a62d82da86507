"""``GET /metrics``: what the service does, in Prometheus' text format, through ``prometheus-client``.

Several server processes serve one port (``TIMELINE_WORKERS``), and a scrape reaches whichever of them
accepts it. Labelling each process's figures would make every scrape show one process and miss the
others, so the processes share their figures instead: ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder, every process writes its counters, histograms and gauges to memory-mapped files there, and
any of them answers a scrape with the sum over all (prometheus-client's multiprocess mode). Gauges say
how they combine: the log head is the highest any process saw, the live subscribers and pool connections
are summed over the processes alive. Without that variable (an app built in-process, as the tests do) the
figures are the process's own.

Requests are labelled by route template (``/events/{event_id}``), never by the path asked for, so the
number of series stays bounded whatever clients send.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from http import HTTPStatus

import anyio.to_thread
import sqlalchemy as sa
import sqlalchemy.exc
from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from service.api.openapi import answers
from service.settings import METRICS_DIR_VARIABLE
from service.storage.database import Database
from service.storage.log import EventStore
from service.storage.plan import AppendResult

APPEND_ROUTE = "/streams/{stream}/events"
LIVE_ROUTE = "/live"
UNMATCHED = "unmatched"  # the route of a request no route answers (a 404, a 405)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
_SLUG = re.compile(r"[^a-z0-9]+")


def reason(title: str) -> str:
    """A problem's title as a label: ``Stream version conflict`` → ``stream_version_conflict``."""
    return _SLUG.sub("_", title.lower()).strip("_")


def reason_of(exc: Exception) -> str:
    """Why a request was refused: its problem's title, or the phrase of its status. Titles are the
    code's own, a small set, so the label's values are too."""
    title = getattr(exc, "title", None)
    if not title:
        status = getattr(exc, "status_code", 500)
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
    return reason(title)


class Metrics:
    """Every metric of the service, and how each is fed. One per app; in multiprocess mode they all
    write to the shared folder, so two apps in one process (as in the tests) add up."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(METRICS_DIR_VARIABLE))
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        by_request = ["method", "route", "status"]
        self.requests = Counter(
            "timeline_http_requests",
            "HTTP requests answered, by route template and status",
            by_request,
            registry=r,
        )
        self.latency = Histogram(
            "timeline_http_request_duration_seconds",
            "time to answer a request, until its last byte",
            by_request,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.appends = Counter(
            "timeline_appends",
            "append requests the log took: stored, or replayed (the same ids again)",
            ["outcome"],
            registry=r,
        )
        self.events = Counter("timeline_events_appended", "events stored in the log", registry=r)
        self.refusals = Counter(
            "timeline_append_refusals",
            "append requests refused, by status and reason (the problem's title)",
            ["status", "reason"],
            registry=r,
        )
        self.head = Gauge(
            "timeline_log_head",
            "the log's head: its last committed position",
            multiprocess_mode="max",
            registry=r,
        )
        self.live = Gauge(
            "timeline_live_subscribers", "open /live streams", multiprocess_mode="livesum", registry=r
        )
        self.group_requests = Histogram(
            "timeline_group_commit_requests",
            "append requests committed together in one transaction",
            buckets=GROUP_BUCKETS,
            registry=r,
        )
        self.group_seconds = Histogram(
            "timeline_group_commit_seconds",
            "time to store and commit one group of appends",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pool_in_use = Gauge(
            "timeline_db_pool_connections_in_use",
            "database connections checked out of the pool",
            ["pool"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.pool_size = Gauge(
            "timeline_db_pool_size",
            "connections the pool keeps (it may open some more under load)",
            ["pool"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.processes = Gauge(
            "timeline_server_processes", "server processes serving", multiprocess_mode="livesum", registry=r
        )
        self.processes.set(1)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._unwatch: list[Callable[[], None]] = []

    def request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One answered request (called for every request: the labelled children are looked up once)."""
        key = (method, route or UNMATCHED, status)
        children = self._children.get(key)
        if children is None:
            labels = (method if method in METHODS else "other", key[1], str(status))
            children = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def refused(self, status: int, reason: str) -> None:
        self.refusals.labels(str(status), reason).inc()

    def group_committed(self, outcomes: Sequence[object], seconds: float) -> None:
        """The committer's hook, in its writer thread: one group, each request's outcome."""
        self.group_requests.observe(len(outcomes))
        self.group_seconds.observe(seconds)
        stored = replayed = events = head = 0
        for outcome in outcomes:
            if not isinstance(outcome, AppendResult):
                continue  # a refusal: counted where it is answered, with its reason
            if outcome.replayed:
                replayed += 1
                continue
            stored += 1
            events += len(outcome.events)
            head = max(head, outcome.events[-1].position)
        if stored:
            self.appends.labels("stored").inc(stored)
            self.events.inc(events)
            self.head.set(head)
        if replayed:
            self.appends.labels("replayed").inc(replayed)

    def watch_pools(self, database: Database) -> None:
        """Keep the pool gauges up to date from the pools' own checkout and checkin events."""
        pools = {"writer": database.writer.pool, "reader": database.reader.pool}
        if pools["writer"] is pools["reader"]:  # PostgreSQL: readers share the writer's pool
            pools = {"shared": pools["writer"]}
        for label, pool in pools.items():
            in_use = self.pool_in_use.labels(label)
            if isinstance(pool, sa.QueuePool):  # the service's pools; an in-memory database has another
                in_use.set(pool.checkedout())
                self.pool_size.labels(label).set(pool.size())

            def checkout(*_: object, gauge: Gauge = in_use) -> None:
                gauge.inc()

            def checkin(*_: object, gauge: Gauge = in_use) -> None:
                gauge.dec()

            sa.event.listen(pool, "checkout", checkout)
            sa.event.listen(pool, "checkin", checkin)
            self._unwatch += [
                lambda p=pool, f=checkout: sa.event.remove(p, "checkout", f),
                lambda p=pool, f=checkin: sa.event.remove(p, "checkin", f),
            ]

    def close(self) -> None:
        """This process stops serving: its live gauges leave the sums."""
        for undo in self._unwatch:
            undo()
        self._unwatch.clear()
        if self.multiprocess:
            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(os.getpid())

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry(auto_describe=False)  # read afresh from every process's files
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)


# Prometheus' text format, version 0.0.4. Without its charset: Litestar adds one to every text/* type
# (prometheus-client's own CONTENT_TYPE_PLAIN_0_0_4 carries one too, and the header had it twice, which a
# strict media-type parser refuses).
EXPOSITION_TYPE = "text/plain; version=0.0.4"


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics, summed over every server process",
    media_type=EXPOSITION_TYPE,
    responses=answers(405),
)
async def metrics(request: Request, store: NamedDependency[EventStore]) -> Response[bytes]:
    figures: Metrics = request.app.state.metrics
    # the head as committed, whoever appended it (another process, another instance on PostgreSQL)
    with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):  # metrics answer while the database does not
        figures.head.set(await anyio.to_thread.run_sync(store.head))
    body = await anyio.to_thread.run_sync(figures.exposition)
    return Response(body, media_type=EXPOSITION_TYPE)
