"""Through the app: security headers on every answer, CORS, the optional read protection, request ids,
log lines (and that no token reaches one), health and readiness, draining."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from service.app import create_app
from service.logs import JsonFormatter, TextFormatter, masked
from service.settings import Settings
from service.storage.database import Database
from service.storage.log import EventStore
from tests.conftest import TOKEN
from tests.factories import party, statement
from tests.test_api import assert_problem, post, vocabulary


def app_client(database: Database, **settings) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(database.url), write_tokens=(TOKEN,), **settings), database)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def protected(database: Database) -> Iterator[TestClient]:
    yield from app_client(database, read_tokens=("reader-secret",))


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    answers = [
        client.get("/events"),
        client.get("/no/such/path"),  # answered by the router, before any handler
        client.post("/streams/talks/events", content=b"[", headers={"Authorization": ""}),
        client.delete("/events"),  # 405
        client.get("/metrics"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "script-src 'self'" in policy
        assert answer.headers.get_list("content-security-policy") == [policy]
    docs = client.get("/schema")
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]  # the docs' viewer


def test_cors_lets_any_page_read_and_none_write_by_default(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    read = client.get("/events", headers=origin)
    assert read.headers["access-control-allow-origin"] == "*"
    assert "Timeline-Head" in read.headers["access-control-expose-headers"]
    preflight = client.options("/events", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD"
    write = client.options(
        "/streams/talks/events", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert_problem(write, 403)
    assert "access-control-allow-methods" not in write.headers
    assert (
        "access-control-allow-origin" not in client.post("/streams/t/events", json={}, headers=origin).headers
    )


def test_cors_writes_only_from_the_origins_configured(database: Database) -> None:
    writer, other = "https://newsroom.example", "https://elsewhere.example"
    for client in app_client(
        database, cors_origins=(writer, "https://reader.example"), cors_write_origins=(writer,)
    ):
        ask = {"Access-Control-Request-Method": "POST"}
        allowed = client.options("/streams/talks/events", headers={"Origin": writer, **ask})
        assert allowed.status_code == 204 and "POST" in allowed.headers["access-control-allow-methods"]
        assert allowed.headers["access-control-allow-origin"] == writer
        assert "Authorization" in allowed.headers["access-control-allow-headers"]
        assert_problem(client.options("/streams/talks/events", headers={"Origin": other, **ask}), 403)
        reader = client.get("/events", headers={"Origin": "https://reader.example"})
        assert reader.headers["access-control-allow-origin"] == "https://reader.example"
        assert reader.headers["vary"] == "Origin"
        assert "access-control-allow-origin" not in client.get("/events", headers={"Origin": other}).headers
        wrote = client.post(
            "/streams/vocabulary/events",
            json={"events": [party("us")]},
            headers={"Origin": writer, "Authorization": f"Bearer {TOKEN}"},
        )
        assert wrote.status_code == 201 and wrote.headers["access-control-allow-origin"] == writer


def test_no_cross_origin_reads_when_no_origin_is_configured(database: Database) -> None:
    for client in app_client(database, cors_origins=()):
        assert (
            "access-control-allow-origin"
            not in client.get("/events", headers={"Origin": "https://a.example"}).headers
        )


def test_cors_settings_from_the_environment() -> None:
    assert Settings.from_env({}).cors_origins == ("*",)
    assert Settings.from_env({"TIMELINE_CORS_ORIGINS": ""}).cors_origins == ()
    both = Settings.from_env({"TIMELINE_CORS_ORIGINS": "https://a.example/, https://b.example"})
    assert both.cors_origins == ("https://a.example", "https://b.example") and both.cors_write_origins == ()


def test_read_protection_needs_a_read_or_write_token(protected: TestClient) -> None:
    protected.headers.pop("Authorization", None)
    refused = assert_problem(protected.get("/events"), 401)
    assert "read token" in refused["detail"]
    assert protected.get("/events").headers["www-authenticate"].startswith("Bearer")
    assert_problem(protected.get("/state", headers={"Authorization": "Bearer wrong"}), 401)
    assert_problem(protected.get("/metrics"), 401)
    assert protected.get("/events", headers={"Authorization": "Bearer reader-secret"}).status_code == 200
    assert protected.get("/events", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert protected.get("/health").status_code == 200 and protected.get("/ready").status_code == 200
    # a read token does not write
    wrote = protected.post(
        "/streams/vocabulary/events",
        json={"events": [party("us")]},
        headers={"Authorization": "Bearer reader-secret"},
    )
    assert "not one allowed to write" in assert_problem(wrote, 401)["detail"]


def test_reads_are_open_by_default(client: TestClient) -> None:
    assert client.get("/events", headers={"Authorization": ""}).status_code == 200
    assert Settings.from_env({}).read_tokens == ()
    assert Settings.from_env({"TIMELINE_READ_TOKENS": "a, b"}).read_tokens == ("a", "b")


def test_the_request_id_is_returned_and_a_sane_incoming_one_kept(client: TestClient) -> None:
    made = client.get("/events").headers["x-request-id"]
    assert len(made) == 16 and made != client.get("/events").headers["x-request-id"]
    assert (
        client.get("/events", headers={"X-Request-Id": "trace-42.a:b"}).headers["x-request-id"]
        == "trace-42.a:b"
    )
    for insane in ("x" * 200, "a b", "<script>"):
        kept = client.get("/events", headers={"X-Request-Id": insane}).headers["x-request-id"]
        assert kept != insane and len(kept) == 16


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "service.requests"]


def test_one_structured_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    vocabulary(client)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="service.requests"):
        answer = client.get("/events", headers={"X-Request-Id": "req-1"})
        conflict = post(client, "talks", statement("us"), expected_version=3)
    first, second = request_lines(caplog)
    line = json.loads(JsonFormatter().format(first))
    assert line | {"time": None, "duration_ms": None} == {
        "time": None,
        "level": "info",
        "logger": "service.requests",
        "pid": os.getpid(),
        "message": "request",
        "method": "GET",
        "route": "/events",
        "status": 200,
        "duration_ms": None,
        "request_id": "req-1",
        "head": answer.json()["head"],
        "problem": None,
    }
    assert 0 < line["duration_ms"] < 10_000
    refused = json.loads(JsonFormatter().format(second))
    assert (refused["route"], refused["status"], refused["problem"]) == (
        "/streams/{stream}/events",
        409,
        "stream_version_conflict",
    )
    assert refused["request_id"] == conflict.headers["x-request-id"] and refused["head"] == 3
    text = TextFormatter().format(first)
    assert f" INFO service.requests[{os.getpid()}] request method=GET route=/events status=200 " in text
    assert "request_id=req-1" in text


def test_a_refusal_is_logged_without_a_traceback_and_a_server_error_with_one(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocabulary(client)
    framework = logging.getLogger("litestar")  # Litestar's own logger does not propagate to the root
    framework.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            refusals = [
                post(client, "talks", statement("us"), expected_version=7),  # 409
                post(client, "talks", statement("nobody")),  # 422, from the store
                client.post("/streams/talks/events", content=b"{"),  # 400, from the handler
                client.get("/state?as_of=nonsense"),  # 400, from a parameter
                client.get("/no/such"),  # 404, from the router
            ]
            assert [answer.status_code for answer in refusals] == [409, 422, 400, 400, 404]
            assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

            def broken(*args: object, **kwargs: object) -> None:
                raise RuntimeError("the log cannot be read")

            monkeypatch.setattr(EventStore, "read_log", broken)
            assert client.get("/events").status_code == 500
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "litestar"]
        assert len(errors) == 1 and "RuntimeError: the log cannot be read" in TextFormatter().format(
            errors[0]
        )
    finally:
        framework.removeHandler(caplog.handler)


def test_head_answers_with_the_headers_of_a_get_and_no_body(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    vocabulary(client)
    for path in (
        "/state?as_of=2025-02-18",
        "/events?limit=2",
        "/timeline.atom",
        "/",
        "/health",
        "/schema/openapi.json",
    ):
        full, only = client.get(path), client.head(path)
        assert (only.status_code, only.content) == (200, b""), path
        for name in ("content-type", "content-length", "etag", "timeline-head"):
            assert only.headers.get(name) == full.headers.get(name), (path, name)
    assert (client.head("/no/such").status_code, client.head("/no/such").content) == (404, b"")
    assert client.head("/streams/talks/events").status_code == 405  # a write has no HEAD
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="service.requests"):
        client.head("/state")
    assert [(r.fields["method"], r.fields["status"]) for r in request_lines(caplog)] == [("HEAD", 200)]


def test_no_token_reaches_a_log_line(protected: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secrets = [TOKEN, "reader-secret", "not-a-token-but-secret"]
    with caplog.at_level(logging.DEBUG):
        for secret in secrets:
            auth = {"Authorization": f"Bearer {secret}"}
            protected.get("/events", headers=auth)
            protected.get("/no/such", headers=auth)
            protected.post("/streams/vocabulary/events", json={"events": [party("us")]}, headers=auth)
            protected.post("/streams/v/events", content=b"{", headers=auth)
            protected.get("/state?as_of=nonsense", headers=auth)
    assert len(request_lines(caplog)) == 15
    for record in caplog.records:
        for shape in (TextFormatter(), JsonFormatter()):
            line = shape.format(record)
            assert not any(secret in line for secret in secrets), line
            assert "authorization" not in line.lower()


def test_a_bearer_credential_logged_by_anyone_is_masked() -> None:
    assert (
        masked('sent "Authorization: Bearer abc.def-ghi" twice') == 'sent "Authorization: Bearer ***" twice'
    )
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "header was %s", ("bearer s3cret",), None)
    assert "s3cret" not in TextFormatter().format(record) and "s3cret" not in JsonFormatter().format(record)


def test_the_log_format_is_checked() -> None:
    assert Settings.from_env({"TIMELINE_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="TIMELINE_LOG_FORMAT"):
        Settings.from_env({"TIMELINE_LOG_FORMAT": "xml"})


def test_health_says_whether_the_schema_is_current(client: TestClient, database: Database) -> None:
    with database.writer.begin() as conn:
        (revision,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    try:
        stale = client.get("/health")
        assert stale.status_code == 503
        assert stale.json()["schema"] == f"at revision elsewhere, this code needs {revision}"
        assert_problem(client.get("/ready"), 503)
    finally:
        with database.writer.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    assert client.get("/health").json()["status"] == "ok"


def test_readiness_and_writes_fail_while_draining(client: TestClient) -> None:
    vocabulary(client)
    assert client.get("/ready").json() == {"status": "ready", "head": 3}
    client.app.state.lifecycle.drain()
    refused = assert_problem(client.get("/ready"), 503)
    assert "shutting down" in refused["detail"]
    write = post(client, "talks", statement("us"))
    assert_problem(write, 503)
    assert write.headers["retry-after"] == "5"
    assert client.get("/events").json()["head"] == 3  # nothing stored; reads still answered


def test_readiness_fails_once_the_writer_thread_has_stopped(client: TestClient) -> None:
    committer = client.app.state.committer
    committer._queue.put(None)  # the writer thread ends, as it would if it died
    committer._thread.join(5)
    assert "writer thread has stopped" in assert_problem(client.get("/ready"), 503)["detail"]
    assert_problem(post(client, "vocabulary", party("us")), 503)


def test_readiness_fails_while_the_database_takes_no_write(client: TestClient, database: Database) -> None:
    assert client.get("/ready").status_code == 200
    time.sleep(1.1)  # past the last probe's result
    if database.is_sqlite:
        holder = sqlite3.connect(database.url.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(
            database.url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        holder.execute("LOCK TABLE alembic_version IN EXCLUSIVE MODE")
    try:
        refused = assert_problem(client.get("/ready"), 503)
        assert refused["detail"].startswith("the database cannot be written")
        assert client.get("/health").status_code == 200  # it answers: alive, not ready
    finally:
        holder.rollback() if not database.is_sqlite else holder.execute("ROLLBACK")
        holder.close()
    time.sleep(1.1)
    assert client.get("/ready").status_code == 200
