"""Operations against real server processes on loopback: metrics summed over two processes, JSON log
lines without a token in them, and a graceful shutdown on SIGTERM during concurrent appends."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import party, statement
from tests.server import free_port, running_server
from tests.test_crash import assert_acknowledged_are_logged

TOKEN = "ops-write-secret"
READER = "ops-read-secret"


class LiveReader:
    """A /live subscriber in a thread of its own: what it got, and how its stream ended."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.received: list[int] = []
        self.ended: str | None = None  # "clean", or the error that ended it
        self.open = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()
        assert self.open.wait(10), "the subscription did not open"

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=30)) as client,
                connect_sse(client, "GET", url, headers=headers) as source,
            ):
                self.open.set()
                for sse in source.iter_sse():
                    self.received.append(int(sse.id))
            self.ended = "clean"
        except httpx.HTTPError as exc:
            self.ended = f"{type(exc).__name__}: {exc}"

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def scrape(base: str, headers: dict[str, str]) -> dict[tuple[str, frozenset], float]:
    with httpx.Client(headers=headers) as client:  # a new connection: any process may answer it
        text = client.get(f"{base}/metrics").raise_for_status().text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def request_lines(log: Path) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "service.requests"]


def test_metrics_are_summed_over_two_server_processes(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "TIMELINE_DATABASE_URL": sqlite_url,
        "TIMELINE_PORT": str(free_port()),
        "TIMELINE_WORKERS": "2",
        "TIMELINE_LOG_FORMAT": "json",
        "TIMELINE_WRITE_TOKENS": TOKEN,
        "TIMELINE_READ_TOKENS": READER,
    }
    writes, reads = {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": f"Bearer {READER}"}
    with running_server(env, tmp_path) as (base, _):
        assert httpx.post(f"{base}/streams/vocabulary/events", json={"events": [party("us")]}, headers=writes)
        reader = LiveReader(f"{base}/live?heartbeat=1", reads)
        appended = 1
        # each request on a connection of its own, until both processes have answered some
        for _ in range(20):
            for _ in range(10):
                said = {"events": [statement("us")]}
                assert (
                    httpx.post(f"{base}/streams/talks/events", json=said, headers=writes).status_code == 201
                )
                assert httpx.get(f"{base}/events?limit=1", headers=reads).status_code == 200
                appended += 1
            if len({line["pid"] for line in request_lines(tmp_path / "server.log")}) == 2:
                break
        served = [line for line in request_lines(tmp_path / "server.log") if line["route"] == "/events"]
        assert len({line["pid"] for line in served}) == 2, "one process answered every request"
        assert httpx.get(f"{base}/events", headers={"Authorization": "Bearer wrong"}).status_code == 401
        scrapes = [scrape(base, reads) for _ in range(6)]
        # an append by the other process reaches this subscriber's process within one poll
        # (service/storage/notify.py:POLL_SECONDS): wait for the last one, then compare everything
        deadline = time.monotonic() + 5
        while appended not in reader.received and time.monotonic() < deadline:
            time.sleep(0.05)
        reader_got = list(reader.received)

    def value(samples: dict, name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    for k, samples in enumerate(scrapes):  # whichever process answered, each scrape shows every process
        assert value(samples, "timeline_server_processes") == 2
        assert value(
            samples, "timeline_http_requests_total", method="GET", route="/events", status="200"
        ) == len(served)
        assert (
            value(samples, "timeline_http_requests_total", method="GET", route="/events", status="401") == 1
        )
        assert (
            value(samples, "timeline_http_requests_total", method="GET", route="/metrics", status="200") == k
        )
        assert value(samples, "timeline_appends_total", outcome="stored") == appended
        assert value(samples, "timeline_events_appended_total") == appended
        assert value(samples, "timeline_log_head") == appended
        assert value(samples, "timeline_live_subscribers") == 1
        assert value(samples, "timeline_group_commit_requests_sum") == appended
    assert reader_got == list(range(2, appended + 1))  # what /live sent meanwhile: every statement
    log = (tmp_path / "server.log").read_text()
    assert TOKEN not in log and READER not in log and "wrong" not in log
    lines = request_lines(tmp_path / "server.log")
    assert {"method", "route", "status", "duration_ms", "request_id", "head"} <= set(lines[-1])
    assert any(line["status"] == 401 and line["problem"] == "unauthorized" for line in lines)


def test_sigterm_lets_appends_in_flight_finish_and_ends_live_streams(
    database_url: str, tmp_path: Path
) -> None:
    """(the database is migrated by its fixture)"""
    env = {
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_WRITE_TOKENS": TOKEN,
        "TIMELINE_PORT": str(free_port()),
        "TIMELINE_WORKERS": "2",
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    acknowledged: list[tuple[str, int]] = []
    answers: list[httpx.Response] = []
    signalled = threading.Event()
    after_signal: list[str] = []
    with running_server(env, tmp_path) as (base, process):
        assert httpx.post(
            f"{base}/streams/vocabulary/events", json={"events": [party("us")]}, headers=headers
        )
        subscriber = LiveReader(f"{base}/live?heartbeat=30")

        def append(k: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                while True:
                    said = statement("us")
                    late = signalled.is_set()
                    try:
                        answer = client.post(f"/streams/w{k}/events", json={"events": [said]})
                    except httpx.TransportError as exc:
                        # after the signal: refused, or a connection closed while the request was on its way
                        # (never read, so never stored); before it, a failure of the test
                        after_signal.append(type(exc).__name__ if signalled.is_set() else repr(exc))
                        return
                    answers.append(answer)
                    if answer.status_code == 201:
                        acknowledged.append((said["id"], answer.json()["events"][0]["position"]))
                    elif late:
                        after_signal.append(str(answer.status_code))

        writers = [threading.Thread(target=append, args=(k,)) for k in range(8)]
        for writer in writers:
            writer.start()
        time.sleep(1.5)
        signalled.set()
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=20) == 0
        stopped_in = time.monotonic() - started
        for writer in writers:
            writer.join(10)
        subscriber.join(10)
    assert stopped_in < 8, "a request or a stream held the shutdown until the processes were killed"
    assert len(acknowledged) > 20
    # after the signal a connection may also be reset under a request sent as it closed (ReadError): such
    # a request was not acknowledged, and a retry with the same ids is answered as the first would have been
    assert len(after_signal) >= len(writers) and set(after_signal) <= {
        "503",
        "ConnectError",
        "RemoteProtocolError",
        "ReadError",
    }
    assert {answer.status_code for answer in answers} <= {201, 503}  # never a 500
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert int(answer.headers["retry-after"]) > 0
    assert subscriber.ended == "clean"
    assert subscriber.received  # it was streaming appends when the signal came
    logged = assert_acknowledged_are_logged(database_url, acknowledged)
    env["TIMELINE_PORT"] = str(free_port())
    with running_server(env, tmp_path) as (base, _):  # and after a restart, the service serves them all
        assert httpx.get(f"{base}/ready").json()["head"] == logged
