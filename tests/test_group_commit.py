"""Group commit (service.storage.committer): requests that wait for the writer share one transaction, and
each keeps its own outcome. A refused batch gets its refusal and stores nothing; the batches it shared a
transaction with are stored as if it had never been sent. Run on both databases."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa

from service.compose import event_store
from service.storage.committer import GroupCommitter
from service.storage.database import Database
from service.storage.log import EventStore
from service.storage.plan import AppendResult, Batch
from service.storage.refusals import AppendRefused, IdConflict, UnresolvedReference, VersionConflict
from service.storage.tables import events as events_table
from tests.factories import event, events, party, statement


def _run_grouped(store: EventStore, requests: list[tuple]) -> tuple[list, GroupCommitter]:
    """Submit the first request while the database's write lock is held, and once the writer waits for
    it, the others: they queue behind it and form the second group. Returns each request's outcome (its
    result, or the exception it raised), in order."""
    committer = GroupCommitter(store)
    committer.start()
    held = threading.Event()

    async def submit() -> list:
        with store.db.write_lock():
            tasks = [asyncio.ensure_future(committer.append(*requests[0]))]
            await asyncio.sleep(0.2)  # the writer has taken it, and waits for the lock
            tasks += [asyncio.ensure_future(committer.append(*request)) for request in requests[1:]]
            await asyncio.sleep(0.2)
            held.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        outcomes = asyncio.run(submit())
    finally:
        committer.stop()
    assert held.is_set()
    return outcomes, committer


def _log(database: Database) -> list[tuple]:
    with database.reader.connect() as conn:
        query = sa.select(events_table.c.position, events_table.c.id, events_table.c.stream)
        return [tuple(row) for row in conn.execute(query.order_by(events_table.c.position))]


def test_each_batch_of_a_group_keeps_its_own_outcome(database: Database) -> None:
    store = event_store(database)
    store.append("vocabulary", events(party("us")))
    defines = event(party("newcomer"))
    same_id = event(statement("us"))
    requests = [
        ("first", events(statement("us"))),
        ("a", events(statement("us")), 0),
        ("a", events(statement("us")), 0),  # the stream is at 1 by then: 409
        ("b", events(statement("nobody"))),  # unresolved party: 422
        ("c", [defines]),
        ("d", events(statement("newcomer"))),  # defined by the batch before it, in the same group
        ("e", [same_id]),
        ("e", [same_id]),  # the same body again: its earlier result
        ("f", [same_id]),  # the same id in another stream: 409
        ("g", events(statement("us"), statement("ghost"))),  # refused whole: its first event is not stored
        ("h", events(statement("us"))),
    ]
    outcomes, committer = _run_grouped(store, requests)
    assert committer.groups == 2 and committer.largest == len(requests) - 1
    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [
        AppendResult,
        AppendResult,
        VersionConflict,
        UnresolvedReference,
        AppendResult,
        AppendResult,
        AppendResult,
        AppendResult,
        IdConflict,
        UnresolvedReference,
        AppendResult,
    ]
    assert outcomes[2].extra == {"current_version": 1}
    assert outcomes[9].pointer == "/events/1/party"
    assert outcomes[7].replayed and outcomes[7].events == outcomes[6].events
    # positions follow one another over the accepted batches alone, in the order they were sent
    accepted = [o for k, o in enumerate(outcomes) if isinstance(o, AppendResult) and k != 7]
    taken = [a.position for o in accepted for a in o.events]
    assert taken == list(range(2, 2 + len(taken)))
    assert [(p, stream) for p, _, stream in _log(database)][1:] == [
        (a.position, o.stream) for o in accepted for a in o.events
    ]


def test_a_refused_batch_leaves_the_batches_after_it_as_if_it_had_never_been_sent(
    database: Database,
) -> None:
    """A batch that would define a party, but is refused, defines nothing for the batches after it."""
    store = event_store(database)
    store.append("vocabulary", events(party("us")))
    refused = [event(party("newcomer")), event(statement("nobody"))]
    requests = [
        ("first", events(statement("us"))),
        ("c", refused),
        ("d", events(statement("newcomer"))),
        ("c", events(statement("us")), 0),  # the refused batch did not move stream c
    ]
    outcomes, _ = _run_grouped(store, requests)
    assert [type(o) for o in outcomes] == [
        AppendResult,
        UnresolvedReference,
        UnresolvedReference,
        AppendResult,
    ]
    assert outcomes[3].version == 1
    assert str(refused[0].id) not in {ident for _, ident, _ in _log(database)}


def test_concurrent_appends_with_refusals_lose_nothing_and_leave_no_gap(database: Database) -> None:
    """Many requests at once, a third of them refused: every accepted event is stored once, at the
    position its answer gave, the log is gapless, and nothing of a refused batch is stored."""
    store = event_store(database)
    store.append("vocabulary", events(party("us")))
    committer = GroupCommitter(store)

    async def load() -> list:
        requests = []
        for n in range(150):
            if n % 3 == 1:
                requests.append(committer.append(f"s{n}", events(statement("nobody"))))
            elif n % 3 == 2:
                requests.append(committer.append(f"s{n}", events(statement("us")), 7))
            else:
                requests.append(committer.append(f"s{n}", events(statement("us"), statement("us"))))
        return await asyncio.gather(*requests, return_exceptions=True)

    try:
        outcomes = asyncio.run(load())
    finally:
        committer.stop()
    assert committer.largest > 1  # they did share transactions
    accepted = [o for o in outcomes if isinstance(o, AppendResult)]
    refused = [o for o in outcomes if isinstance(o, AppendRefused)]
    assert len(accepted) == 50 and len(refused) == 100
    log = _log(database)
    assert [position for position, _, _ in log] == list(range(1, len(log) + 1))
    stored = {(ident, position) for position, ident, _ in log}
    answered = {(str(a.id), a.position) for o in accepted for a in o.events}
    assert answered <= stored and len(stored) == 1 + len(answered)


def test_a_group_that_fails_for_no_batchs_fault_is_written_again_batch_by_batch(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the shared transaction fail (here: the first attempt at writing the group), each batch is
    tried again on its own, and each gets the outcome it would have had alone."""
    store = event_store(database)
    store.append("vocabulary", events(party("us")))
    attempts: list[int] = []
    insert = store._insert

    def flaky(conn, new, *args):
        attempts.append(len(new))
        if len(attempts) == 1:
            raise RuntimeError("the disk is full")
        return insert(conn, new, *args)

    monkeypatch.setattr(store, "_insert", flaky)
    batches = [Batch("a", events(statement("us"))), Batch("b", events(statement("nobody")))]
    outcomes = store.append_group([*batches, Batch("c", events(statement("us")))])
    assert [type(o) for o in outcomes] == [AppendResult, UnresolvedReference, AppendResult]
    assert attempts == [2, 1, 1]
    assert [a.position for o in (outcomes[0], outcomes[2]) for a in o.events] == [2, 3]
    assert len(_log(database)) == 3
