"""The cyclic garbage collector, paused while a write builds and stores its rows.

An append makes several small objects for every event it stores (its rows, its stances, the plan's
records), and the collector runs a young collection every 700 of them; every tenth of those goes over the
middle generation, and every tenth of those over everything the process holds. During a bulk append
that is the growing batch itself, again and again: measured on an import of 50,000 events into SQLite,
``python -m service import`` ran at 4,400 to 5,600 events a second with the collector and 6,600 to 8,400
without it (bench/writes.py shows the same side by side). Nothing on the write path relies on the
collector: what it makes is freed by reference counting once the transaction is over, and any cycle made
meanwhile, by this thread or another, is collected at the next collection after the pause.

(The server also makes full collections rare from its start, for the caches its reads keep:
``service.app.settle_collector``.)

The collector is one per process, so the pause is counted: it is switched off by the first write to
begin and on again by the last to end, and only if it was on when the first began (a caller that switched
it off itself keeps it off).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_writes = 0  # writes under way that paused the collector
_resume = False  # whether the collector was on when the first of them began


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of the block (see the module's docstring)."""
    global _writes, _resume
    with _lock:
        if _writes == 0:
            _resume = gc.isenabled()
            gc.disable()
        _writes += 1
    try:
        yield
    finally:
        with _lock:
            _writes -= 1
            if _writes == 0 and _resume:
                gc.enable()
