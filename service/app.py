"""The Litestar application factory."""

from __future__ import annotations

import gc

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin

from events.codec import enc_hook
from events.dates import EdtfDate
from service.api.append import AppendController, AppendRequest
from service.api.feeds.controller import FeedsController
from service.api.health import health, ready
from service.api.lifecycle import Lifecycle
from service.api.live import LiveController
from service.api.metrics import Metrics, metrics
from service.api.middleware import Operations, note_problem
from service.api.openapi import (
    EdtfDateSchema,
    document_body,
    event_date_schema,
    finish_document,
    plain_query_parameters,
)
from service.api.page import PageController
from service.api.problems import MAX_BODY_BYTES, from_http, from_validation
from service.api.reads import LogController
from service.api.security import Cors, ReadAccess
from service.api.state import StateController
from service.api.timeline import TimelineController, timeline_query
from service.compose import event_store
from service.logs import formatter
from service.query.caches import FormCache
from service.query.state import Projections
from service.query.timeline import Timeline
from service.settings import Settings
from service.storage.chain import ChainHashes
from service.storage.committer import GroupCommitter
from service.storage.database import Database, check_schema, connect
from service.storage.lookups import PointReads
from service.storage.notify import LiveLog
from service.storage.tokens import ManagedTokens


def settle_collector() -> None:
    """Make full garbage collections rare. The caches of decoded events and encoded answers keep
    hundreds of thousands of objects for the life of the process, and every full collection walks all of
    them (about 100 ms with a million events in the log), while nothing they hold forms a cycle to free.
    What startup made is moved out of the collector's sight, and full collections run ten times less
    often than by default."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Litestar:
    """Build the app; raises ``SchemaNotCurrent`` unless the database is at the newest migration."""
    settings = settings or Settings.from_env()
    owns_database = database is None
    database = database or connect(settings.database_url)
    check_schema(database)
    store = event_store(database)
    forms = FormCache(settings.cache_entries)
    projections = Projections(database, forms, settings.cache_entries)
    timeline = Timeline(database, forms)
    live_log = LiveLog(store, database)
    figures = Metrics()
    figures.watch_pools(database)
    committer = GroupCommitter(store, on_group=figures.group_committed)
    lifecycle = Lifecycle(database, committer, live_log)
    point_reads = PointReads(database)  # the token checks' and the head hashes' one-row reads

    async def close() -> None:
        lifecycle.drain()  # if no signal began it: /live streams end, writes are refused
        committer.stop()  # after writing what is queued
        await live_log.stop()
        figures.close()
        point_reads.close()
        if owns_database:
            database.dispose()

    app = Litestar(
        route_handlers=[
            AppendController,
            LogController,
            StateController,
            TimelineController,
            FeedsController,
            LiveController,
            health,
            ready,
            metrics,
            PageController,
        ],
        dependencies={
            "store": Provide(lambda: store, sync_to_thread=False),
            "projections": Provide(lambda: projections, sync_to_thread=False),
            "timeline": Provide(lambda: timeline, sync_to_thread=False),
            "live_log": Provide(lambda: live_log, sync_to_thread=False),
            "timeline_query": Provide(timeline_query),
        },
        state=State(
            {
                "write_tokens": settings.write_tokens,
                "committer": committer,
                "live_log": live_log,
                "metrics": figures,
                "lifecycle": lifecycle,
                "managed_tokens": ManagedTokens(point_reads),
                "chain": ChainHashes(database, point_reads),
            }
        ),
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    exception_to_problem_detail_map={
                        HTTPException: from_http,
                        ValidationException: from_validation,
                    },
                )
            ),
            EdtfDateSchema(),
        ],
        after_exception=[note_problem],
        # one line shape for everything logged (TIMELINE_LOG_FORMAT); a server error's traceback is
        # logged, a refusal (4xx) is not: its request's line says why
        logging_config=LoggingConfig(
            formatters={"standard": {"()": formatter(settings.log_format)}},
            # request lines are written from the event loop's thread, those of one turn of the loop together
            # (service/logs.py:BatchedStreamHandler): handing each to the queue's thread cost more than
            # writing it (measured: a tenth of a millisecond a request, the GIL going back and forth), and
            # a write of its own for each line a sixth of the appends a second; the rare others keep going
            # through Litestar's queue
            handlers={"requests": {"class": "service.logs.BatchedStreamHandler", "formatter": "standard"}},
            loggers={
                "service.requests": {"handlers": ["requests"], "level": "INFO", "propagate": False},
                # not a line for every /health and /ready that reads the schema's revision
                "alembic.runtime.migration": {"level": "WARNING"},
            },
            log_exceptions="always",
            disable_stack_trace=set(range(400, 500)),
        ),
        type_encoders={EdtfDate: enc_hook},
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Negotiation Timeline",
            version="0.1.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        on_startup=[settle_collector, committer.start, live_log.start, lifecycle.start],
        on_shutdown=[close],
    )
    # around the exception handler and the router, so that every answer, an unknown path's 404 too, gets
    # its headers, its metrics and its log line (Litestar's own middleware runs after routing)
    app.asgi_handler = Operations(
        app.asgi_handler,
        metrics=figures,
        lifecycle=lifecycle,
        cors=Cors(settings.cors_origins, settings.cors_write_origins),
        read_access=ReadAccess(settings.read_tokens),
        known_head=lambda: live_log.head,
    )
    finish_document(
        app,
        plain_query_parameters,
        lambda document: document_body(document, "/streams/{stream}/events", AppendRequest, _date_schema),
    )
    return app


def _date_schema(tp: type) -> dict:
    if tp is EdtfDate:
        return event_date_schema()
    raise NotImplementedError(f"no schema for {tp!r}")
