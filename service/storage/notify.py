"""Wakes ``/live`` subscribers when the log grows, within this process and across processes.

An append in this process wakes subscribers at once. Appends by other processes are noticed through
PostgreSQL ``LISTEN/NOTIFY`` (every append transaction notifies; the notification is delivered on commit)
and, on either database, by watching the log head a few times a second. Wake-ups carry no data:
subscribers always read what is new from the log itself, after the last position they sent, so a lost
notification delays an event by at most one poll and never drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import anyio.to_thread
import psycopg

from service.storage.database import Database
from service.storage.log import NOTIFY_CHANNEL, EventStore

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25


class LiveLog:
    def __init__(self, store: EventStore, database: Database) -> None:
        self.store = store
        self.database = database
        self._changed = asyncio.Event()
        self._head = 0
        self._tasks: list[asyncio.Task] = []
        self.closing = False  # the process is shutting down: subscribers end their streams

    @property
    def head(self) -> int:
        """The highest log head this process has seen committed (its own appends, or others' polled)."""
        return self._head

    def wake(self, head: int | None = None) -> None:
        """The log may have grown: release everyone waiting."""
        if head is not None:
            self._head = max(self._head, head)
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Release every subscriber for good: each sees ``closing`` and ends its stream."""
        self.closing = True
        self.wake()

    def ticket(self) -> asyncio.Event:
        """Take before reading the log; a wake-up after that moment is not missed by :meth:`wait`."""
        return self._changed

    async def wait(self, ticket: asyncio.Event, timeout: float) -> bool:
        """Wait until the log may have grown since ``ticket`` was taken (True), or ``timeout`` seconds."""
        try:
            await asyncio.wait_for(ticket.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        self._head = await anyio.to_thread.run_sync(self.store.head)
        self._tasks.append(asyncio.create_task(self._watch_head()))
        if not self.database.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _watch_head(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                head = await anyio.to_thread.run_sync(self.store.head)
            except Exception:  # the database may be briefly unavailable; keep watching
                log.exception("live: reading the log head failed")
                continue
            if head > self._head:
                self.wake(head)

    async def _listen(self) -> None:
        url = self.database.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for notification in conn.notifies():
                        self.wake(int(notification.payload or 0))
            except (psycopg.Error, OSError):
                log.warning("live: LISTEN connection lost; reconnecting (polling covers the gap)")
                await asyncio.sleep(1)
