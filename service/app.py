"""The Litestar application factory."""

from __future__ import annotations

import gc

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin

from events.codec import enc_hook
from events.dates import EdtfDate
from service.api.append import AppendController
from service.api.feeds.controller import FeedsController
from service.api.health import health
from service.api.live import LiveController
from service.api.openapi import EdtfDateSchema
from service.api.problems import MAX_BODY_BYTES, from_http, from_validation
from service.api.reads import LogController
from service.api.state import StateController
from service.api.timeline import TimelineController, timeline_query
from service.compose import event_store
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
    committer = GroupCommitter(store)
    point_reads = PointReads(database)  # the token checks' and the head hashes' one-row reads

    async def close() -> None:
        committer.stop()
        await live_log.stop()
        point_reads.close()
        if owns_database:
            database.dispose()

    return Litestar(
        route_handlers=[
            AppendController,
            LogController,
            StateController,
            TimelineController,
            FeedsController,
            LiveController,
            health,
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
                "managed_tokens": ManagedTokens(point_reads),
                "chain": ChainHashes(database, point_reads),
                "committer": committer,
                "live_log": live_log,
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
        type_encoders={EdtfDate: enc_hook},
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="Negotiation Timeline",
            version="0.1.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        on_startup=[settle_collector, committer.start, live_log.start],
        on_shutdown=[close],
    )
