"""Graceful shutdown and readiness: when the service stops taking writes, and says so.

On SIGTERM (or SIGINT) granian stops accepting connections in every server process, lets the requests
in flight finish, and only then tells the app to shut down. Two things cannot wait that long: ``/live``
streams never finish by themselves, and a request that arrives on a connection still open should be told
to go elsewhere rather than be half served. So each server process also hears the signal itself
(:meth:`Lifecycle.hear_signals`, chained before granian's own handler) and starts draining at once:
writes get a 503 problem with ``Retry-After``, ``/ready`` fails, ``/live`` streams end cleanly. Appends
already handed to the writer are committed and acknowledged as usual: the writer thread stops last, at
the app's shutdown, after writing whatever is queued.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import anyio
import anyio.to_thread

from service.storage.committer import GroupCommitter
from service.storage.database import Database
from service.storage.notify import LiveLog
from service.storage.probe import write_probe

RETRY_AFTER_SECONDS = 5  # a restart, or another process behind the same address, is expected by then
PROBE_EVERY = 1.0  # seconds a write probe's result stands: probes may come often, each takes a lock
PROBE_TIMEOUT = 1.0  # seconds the probe waits for the database's write lock


class Lifecycle:
    def __init__(self, database: Database, committer: GroupCommitter, live_log: LiveLog) -> None:
        self.database = database
        self.committer = committer
        self.live_log = live_log
        self.draining = False
        self._probed = (-PROBE_EVERY, None)  # when, and what the last write probe found
        self._probing = asyncio.Lock()
        self._hearing = False

    @property
    def accepting_writes(self) -> bool:
        """Read on every write: the writer can take it, and the process is not shutting down."""
        return not self.draining and self.committer.writing

    def start(self) -> None:
        """Take writes (again: an app may be started anew after a shutdown, as test clients do)."""
        self.draining = False
        self.live_log.closing = False
        self.hear_signals()

    def drain(self) -> None:
        """Take no more writes, and end every ``/live`` stream; what is in flight finishes."""
        if not self.draining:
            self.draining = True
            self.live_log.close()

    def hear_signals(self) -> None:
        """Start draining on SIGTERM and SIGINT, then let whoever handled them before (granian) go on.

        Only in a process's main thread, where signal handlers live: an app run in a thread of its own
        (the tests' in-process clients) is drained at its shutdown instead."""
        if self._hearing or threading.current_thread() is not threading.main_thread():
            return
        self._hearing = True
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)

            def heard(number: int, frame: object, previous: object = previous) -> None:
                loop.call_soon_threadsafe(self.drain)
                if callable(previous):
                    previous(number, frame)
                elif previous == signal.SIG_DFL:  # nobody else listens: end the process as it would have
                    signal.signal(number, signal.SIG_DFL)
                    os.kill(os.getpid(), number)

            signal.signal(signum, heard)

    async def unready(self) -> str | None:
        """Why the service cannot take writes now, or None: it can."""
        if self.draining:
            return "the service is shutting down"
        if not self.committer.writing:
            return "the writer thread has stopped"
        async with self._probing:  # one probe at a time; the others take its result
            when, found = self._probed
            if time.monotonic() - when >= PROBE_EVERY:
                try:
                    with anyio.fail_after(PROBE_TIMEOUT + 1):
                        found = await anyio.to_thread.run_sync(
                            write_probe, self.database, PROBE_TIMEOUT, abandon_on_cancel=True
                        )
                except TimeoutError:
                    found = f"the database took no write within {PROBE_TIMEOUT + 1:g} s"
                self._probed = (time.monotonic(), found)
        return found
