"""A follower of ``GET /events?after=`` never misses an event, whatever the writers do concurrently."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from service.storage.database import Database
from service.storage.log import Batch, EventStore
from tests.factories import events, party, statement
from tests.workers import write


def test_a_later_append_waits_for_an_open_one_and_readers_see_no_gap(
    store: EventStore, database: Database
) -> None:
    store.append("vocabulary", events(party("us")))
    for outcome in ("commit", "rollback"):
        head = store.head()
        slow = database.writer.connect()
        transaction = slow.begin()
        store.append_in(slow, [Batch("slow", events(statement("us")))])  # took position head+1, not committed
        later: dict = {}

        def append_later(result: dict = later) -> None:
            result["r"] = store.append("fast", events(statement("us")))

        thread = threading.Thread(target=append_later)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the later append must wait while an earlier one is in flight"
        assert store.read_log(after=head).events == []  # the follower sees neither yet
        getattr(transaction, outcome)()
        slow.close()
        thread.join(timeout=30)
        seen = [r.position for r in store.read_log(after=head).events]
        if outcome == "commit":
            assert seen == [head + 1, head + 2]
            assert later["r"].events[0].position == head + 2
        else:
            assert seen == [head + 1]  # the rolled-back position is taken by the next append: no gap
            assert later["r"].events[0].position == head + 1


def test_writer_processes_and_a_follower_see_every_event_exactly_once(
    store: EventStore, database_url: str
) -> None:
    store.append("vocabulary", events(party("us")))
    writers, rounds = 4, 40
    seen: list[tuple[str, int]] = []
    cursor = 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(writers, mp_context=context) as pool:
        futures = [pool.submit(write, database_url, seed, rounds) for seed in range(writers)]
        while True:
            finished = all(f.done() for f in futures)
            page = store.read_log(after=cursor, limit=1000)
            for recorded in page.events:
                # no skipping ahead: every page continues exactly where the last one stopped
                assert recorded.position == cursor + 1, f"gap after {cursor}: saw {recorded.position}"
                cursor = recorded.position
                seen.append((str(recorded.event.id), recorded.position))
            if finished and not page.events:
                break
        acknowledged = [pair for f in futures for pair in f.result()]  # raises if a writer failed
    assert len(seen) == len(set(seen))
    assert sorted(acknowledged, key=lambda p: p[1]) == seen
    assert len(acknowledged) > writers * rounds * 0.6
