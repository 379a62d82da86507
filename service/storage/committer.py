"""Group commit: one writer thread takes every append waiting and commits them in one transaction.

Appends are serialised (see service.storage.log), so under concurrent load each request used to wait for every
request before it to take its own transaction: statements, projections and a commit each. Here requests
queue, and the writer takes all of them that are waiting at once (up to ``MAX_GROUP_EVENTS`` events) and
stores them with :meth:`EventStore.append_group`: planned one after the other, so each keeps its own
outcome (a refused batch gets its refusal and stores nothing, the others are stored as if it had never
been sent), and written together, with one lookup of each kind, one insert per table and one commit. No
request waits for a timer: the group is whatever arrived while the previous one was being written, so a
lone request is written at once, and the busier the service, the larger the groups. KurrentDB's storage
writer batches concurrent writes the same way.

A request is answered only once its group has committed, so an acknowledged append survives a crash of
the process; a request whose client went away is still stored if its group commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from events.vocabulary import Event
from service.storage.database import Checkpointer
from service.storage.log import EventStore
from service.storage.plan import AppendResult, Batch

MAX_GROUP_EVENTS = 5000  # events a group takes at most: a group is one transaction, held this long

log = logging.getLogger(__name__)
# told, in the writer thread, of every group: each request's outcome (its result or its refusal) and the
# seconds the group took to store and commit (the web layer's metrics listen here)
GroupHook = Callable[[Sequence[object], float], None]


class _Request(NamedTuple):
    batch: Batch
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


class GroupCommitter:
    def __init__(self, store: EventStore, on_group: GroupHook | None = None) -> None:
        self.store = store
        self._on_group = on_group
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._checkpointer: Checkpointer | None = None
        self.groups = 0  # groups committed (for tests and metrics)
        self.largest = 0  # requests in the largest group so far

    def start(self) -> None:
        if self._thread is None:
            if self.store.db.is_sqlite:
                self._checkpointer = Checkpointer(self.store.db.reader)
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    @property
    def writing(self) -> bool:
        """False once the writer thread has died: appends would wait for ever."""
        thread = self._thread
        return thread is None or thread.is_alive()  # not started yet: the first append starts it

    def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    async def append(
        self,
        stream: str,
        events: Sequence[Event],
        expected_version: int | None = None,
        token: str | None = None,
    ) -> AppendResult:
        """Append one batch atomically, in the next group; raises its refusal, if refused. ``token``: the
        digest of the managed write token it came with, checked again in the group's transaction."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.start()
        self._queue.put(_Request(Batch(stream, events, expected_version, token=token), loop, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, size, last = [first], len(first.batch.events), False
            while size < MAX_GROUP_EVENTS:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    last = True
                    break
                group.append(waiting)
                size += len(waiting.batch.events)
            self._write(group)
            if last:
                return

    def _write(self, group: list[_Request]) -> None:
        started = time.perf_counter()
        try:
            outcomes: Sequence[object] = self.store.append_group([request.batch for request in group])
        except Exception as exc:  # a group of one, failed for a reason of its own
            outcomes = [exc] * len(group)
        if self._checkpointer is not None:
            self._checkpointer.nudge()
        self.groups += 1
        self.largest = max(self.largest, len(group))
        if self._on_group is not None:
            try:
                self._on_group(outcomes, time.perf_counter() - started)
            except Exception:  # a listener's failure must not stop the writer
                log.exception("group commit: the group's listener failed")
        # one wake-up of each event loop for the whole group: each is a write to the loop's self-pipe,
        # which under load cost more than the rest of the hand-over
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object]]] = {}
        for request, outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(request.loop, []).append((request.future, outcome))
        for loop, settled in by_loop.items():
            # a RuntimeError: its event loop has closed, and nobody is waiting for the answers
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, object]]) -> None:
    for future, outcome in settled:
        if future.done():  # cancelled: its client went away
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
