"""``GET /live`` read by a real SSE client from real server processes on loopback."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import empty_postgres
from tests.factories import body, party, statement
from tests.server import free_port, running_server

TOKEN = "live-token"


class Subscriber:
    """Reads /live in a background thread; received events land in a queue."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the subscription did not open"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with connect_sse(self._client, "GET", url, headers=headers) as source:
                assert source.response.headers["content-type"].startswith("text/event-stream")
                self.ready.set()
                for sse in source.iter_sse():
                    self.events.put(sse)
        except httpx.HTTPError:
            pass  # closed by the test

    def take(self, count: int, within: float = 3.0) -> list:
        got, deadline = [], time.monotonic() + within
        while len(got) < count:
            got.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
        return got

    def quiet(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._client.close()


def append(base: str, stream: str, *events: dict) -> list[int]:
    response = httpx.post(
        f"{base}/streams/{stream}/events",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 201, response.text
    return [e["position"] for e in response.json()["events"]]


def server_env(url: str) -> dict[str, str]:
    return {"TIMELINE_DATABASE_URL": url, "TIMELINE_PORT": str(free_port()), "TIMELINE_WRITE_TOKENS": TOKEN}


def test_subscribers_get_new_events_at_once_and_resume_with_last_event_id(
    sqlite_url: str, tmp_path: Path
) -> None:
    with running_server(server_env(sqlite_url), tmp_path) as (base, _):
        append(base, "vocabulary", party("us"))
        subscriber = Subscriber(f"{base}/live?heartbeat=1")
        started = time.monotonic()
        [position] = append(base, "talks", statement("us"))
        [sse] = subscriber.take(1, within=1.0)
        assert time.monotonic() - started < 1.0
        assert sse.id == str(position) and sse.event == "StatementMade"
        assert sse.json()["position"] == position and sse.json()["event"]["party"] == "us"
        subscriber.close()
        missed = append(base, "talks", statement("us"), statement("us"))  # while disconnected
        resumed = Subscriber(f"{base}/live?heartbeat=1", headers={"Last-Event-ID": str(position)})
        later = append(base, "talks", statement("us"))
        got = resumed.take(3)
        assert [int(e.id) for e in got] == missed + later  # every event after it, none twice
        assert resumed.quiet(0.5)
        resumed.close()


def test_filters_and_keep_alives(sqlite_url: str, tmp_path: Path) -> None:
    with running_server(server_env(sqlite_url), tmp_path) as (base, _):
        append(base, "vocabulary", party("us"), party("uk"))
        pledges = Subscriber(f"{base}/live?type=PledgeMade&after=0&heartbeat=1")
        append(base, "talks", statement("us"), body("PledgeMade", by="uk", kind="military", what="more"))
        [sse] = pledges.take(1)
        assert sse.event == "PledgeMade"
        assert pledges.quiet(0.5)
        pledges.close()
        with (
            httpx.Client(timeout=5) as client,
            client.stream("GET", f"{base}/live", params={"heartbeat": 0.5}) as response,
        ):
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(6)]
        assert ": keep-alive" in seen
        assert httpx.get(f"{base}/live", headers={"Last-Event-ID": "x"}).status_code == 400


def test_a_second_process_on_sqlite_delivers_within_a_second(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_server(server_env(sqlite_url), tmp_path / "a") as (first, _),
        running_server(server_env(sqlite_url), tmp_path / "b") as (second, _),
    ):
        append(first, "vocabulary", party("us"))
        subscriber = Subscriber(f"{first}/live?heartbeat=1")
        started = time.monotonic()
        [position] = append(second, "talks", statement("us"))
        [sse] = subscriber.take(1, within=1.5)
        assert int(sse.id) == position and time.monotonic() - started < 1.0
        subscriber.close()


@pytest.mark.postgres
def test_two_processes_on_postgresql_notify_each_other(postgres_url: str, tmp_path: Path) -> None:
    empty_postgres(postgres_url).dispose()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_server(server_env(postgres_url), tmp_path / "a") as (first, _),
        running_server(server_env(postgres_url), tmp_path / "b") as (second, _),
    ):
        append(second, "vocabulary", party("us"))
        subscriber = Subscriber(f"{first}/live?heartbeat=1")
        started = time.monotonic()
        positions = append(second, "talks", statement("us"), statement("us"))
        got = subscriber.take(2, within=1.5)
        assert [int(e.id) for e in got] == positions
        assert time.monotonic() - started < 1.0
        subscriber.close()
