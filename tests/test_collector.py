"""The garbage collector is paused while a write stores its rows (service.storage.collector)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa

from events.timeaxes import Logged
from service.projection.apply import Projector
from service.storage.collector import collector_paused
from service.storage.database import Database
from service.storage.log import EventStore
from service.storage.plan import Batch
from service.storage.refusals import VersionConflict
from tests.factories import events, party, statement


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_an_error_inside_still_resumes_it() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_resume_when_the_last_ends() -> None:
    entered, release_first, first_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            entered.set()
            release_first.wait(5)
        first_done.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(5)
    with collector_paused():
        release_first.set()
        assert first_done.wait(5)
        assert not gc.isenabled()  # the first has ended, this one has not
    thread.join()
    assert gc.isenabled()


class Watching(Projector):
    """The real projector, noting whether the collector ran while it projected."""

    def __init__(self, is_sqlite: bool) -> None:
        super().__init__(is_sqlite)
        self.collecting: list[bool] = []

    def apply(
        self, conn: sa.Connection, appended: Sequence[Logged], data: Sequence[str] | None = None
    ) -> None:
        self.collecting.append(gc.isenabled())
        super().apply(conn, appended, data)


def test_appends_run_with_the_collector_paused_and_resume_it(database: Database) -> None:
    projector = Watching(database.is_sqlite)
    store = EventStore(database, projector)
    store.append("vocabulary", events(party("us")))
    assert gc.isenabled()
    outcomes = store.append_group(
        [Batch("talks", events(statement("us"))), Batch("talks", events(statement("us")), expected_version=7)]
    )
    assert isinstance(outcomes[1], VersionConflict)
    assert gc.isenabled()
    with pytest.raises(VersionConflict):
        store.append("talks", events(statement("us")), expected_version=0)
    assert gc.isenabled()
    assert projector.collecting == [False, False]  # the refused append projected nothing


def test_a_rebuild_runs_with_the_collector_paused(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.projection import rebuild as rebuilding

    store = EventStore(database, Projector(database.is_sqlite))
    store.append("vocabulary", events(party("us")))
    store.append("talks", events(statement("us"), statement("us")))
    seen: list[bool] = []
    run = rebuilding._Rebuild.run

    def watching(self, *args: object) -> int:
        seen.append(gc.isenabled())
        return run(self, *args)

    monkeypatch.setattr(rebuilding._Rebuild, "run", watching)
    assert rebuilding.rebuild(database) == 3
    assert seen == [False] and gc.isenabled()
