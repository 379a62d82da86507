"""service/logs.py: request lines written together, once the event loop's turn is done."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from service.logs import BatchedStreamHandler, TextFormatter


class CountingStream:
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass

    @property
    def lines(self) -> list[str]:
        return "".join(self.writes).splitlines()


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, BatchedStreamHandler, CountingStream]]:
    stream = CountingStream()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("test.batched")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, handler, stream
    log.removeHandler(handler)
    handler.close()


def line(log: logging.Logger, n: int) -> None:
    log.info("request", extra={"fields": {"n": n}})


def test_the_lines_of_one_turn_of_the_loop_share_one_write(logged) -> None:
    log, _, stream = logged

    async def main() -> list[str]:
        for n in range(3):
            line(log, n)
        held = list(stream.writes)  # nothing written while the turn goes on
        await asyncio.sleep(0)  # the turn ends: the lines are written
        line(log, 3)
        await asyncio.sleep(0)
        return held

    assert asyncio.run(main()) == []
    assert len(stream.writes) == 2
    assert [text.rsplit(" ", 1)[1] for text in stream.lines] == ["n=0", "n=1", "n=2", "n=3"]


def test_a_line_logged_outside_an_event_loop_is_written_at_once(logged) -> None:
    log, _, stream = logged
    line(log, 7)
    assert len(stream.writes) == 1 and stream.lines[0].endswith("request n=7")


def test_closing_writes_what_a_turn_left_unwritten(logged) -> None:
    log, handler, stream = logged

    async def main() -> None:
        line(log, 1)
        handler.close()  # as logging's shutdown would, before the turn ends

    asyncio.run(main())
    assert stream.lines[0].endswith("request n=1") and len(stream.lines) == 1


def test_each_line_says_its_own_second(logged) -> None:
    """The second's text is kept between lines: lines of other seconds, in any order, still say theirs."""
    log, _, _ = logged
    formatter = TextFormatter()
    for created in (1_764_000_000.25, 1_764_000_001.5, 1_764_000_000.999, 1_764_086_400.0):
        record = log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None)
        record.created, record.msecs = created, (created % 1) * 1000
        expected = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(record.msecs):03d}Z"
        assert formatter.format(record).split(" ", 1)[0] == expected
