"""``GET /metrics`` through the app, read with prometheus-client's own parser: requests by route template
and status, appends and their refusals by reason, group commit sizes, the log head, the pools."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.settings import Settings
from service.storage.database import Database
from tests.factories import party, statement
from tests.test_api import assert_problem, post, vocabulary


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    # each parameter once: a strict media-type parser (Prometheus' own scraper) refuses a repeated one
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    missing = uuid.uuid4()
    for _ in range(2):
        assert client.get(f"/events/{missing}").status_code == 404
    assert client.get("/events").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    samples = scrape(client)
    assert (
        value(samples, "timeline_http_requests_total", method="GET", route="/events/{event_id}", status="404")
        == 2
    )
    assert value(samples, "timeline_http_requests_total", method="GET", route="/events", status="200") == 1
    assert value(samples, "timeline_http_requests_total", method="GET", route="unmatched", status="404") == 1
    count = "timeline_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/events/{event_id}", status="404") == 2
    assert not any(str(missing) in str(labels) or "/no/such" in str(labels) for _, labels in samples)
    # a scrape is a request like any other: counted once it is answered, so the next scrape shows it
    assert (
        value(scrape(client), "timeline_http_requests_total", method="GET", route="/metrics", status="200")
        == 1
    )


def test_appends_refusals_by_reason_groups_and_the_head(client: TestClient) -> None:
    vocabulary(client)
    said = statement("us")
    assert post(client, "talks", said).status_code == 201
    assert post(client, "talks", said).headers["idempotent-replayed"] == "true"
    assert_problem(post(client, "talks", statement("us"), expected_version=5), 409)
    assert_problem(post(client, "talks", statement("nobody")), 422)
    assert_problem(client.post("/streams/talks/events", content=b"{not json"), 400)
    assert_problem(
        client.post("/streams/talks/events", json={"events": [said]}, headers={"Authorization": ""}), 401
    )
    samples = scrape(client)
    assert value(samples, "timeline_appends_total", outcome="stored") == 2
    assert value(samples, "timeline_appends_total", outcome="replayed") == 1
    assert value(samples, "timeline_events_appended_total") == 4  # three definitions and a statement
    refusals = {
        dict(labels)["reason"]: (dict(labels)["status"], count)
        for (name, labels), count in samples.items()
        if name == "timeline_append_refusals_total"
    }
    assert refusals == {
        "stream_version_conflict": ("409", 1),
        "unresolved_reference": ("422", 1),
        "malformed_json": ("400", 1),
        "unauthorized": ("401", 1),
    }
    groups = value(samples, "timeline_group_commit_requests_count")
    assert groups >= 3 and value(samples, "timeline_group_commit_requests_sum") == 5  # every batch planned
    assert value(samples, "timeline_group_commit_seconds_count") == groups
    assert value(samples, "timeline_log_head") == client.get("/events").json()["head"] == 4


def test_the_pools_and_the_process_are_reported(client: TestClient, database: Database) -> None:
    samples = scrape(client)
    pools = ["writer", "reader"] if database.is_sqlite else ["shared"]
    for pool in pools:
        assert value(samples, "timeline_db_pool_size", pool=pool) >= 1
        assert ("timeline_db_pool_connections_in_use", frozenset({("pool", pool)})) in samples
    assert value(samples, "timeline_server_processes") == 1
    assert value(samples, "timeline_live_subscribers") == 0


def test_pool_use_follows_checkouts(database: Database) -> None:
    app = create_app(Settings(database_url=str(database.url)), database)
    with TestClient(app) as client:
        pool = "reader" if database.is_sqlite else "shared"
        before = value(scrape(client), "timeline_db_pool_connections_in_use", pool=pool)
        with database.reader.connect(), database.reader.connect():
            held = value(scrape(client), "timeline_db_pool_connections_in_use", pool=pool)
        after = value(scrape(client), "timeline_db_pool_connections_in_use", pool=pool)
    assert held == before + 2 and after == before


def test_metrics_are_documented_as_text_in_the_schema(client: TestClient) -> None:
    spec = client.get("/schema/openapi.json").json()
    answer = spec["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(answer["content"]) == ["text/plain; version=0.0.4"]
    assert {"/health", "/ready", "/metrics"} <= set(spec["paths"])


def test_two_apps_in_one_process_keep_their_own_figures(database: Database) -> None:
    """Without the multiprocess folder each app has a registry of its own (no shared global state)."""
    first = create_app(Settings(database_url=str(database.url), write_tokens=("t",)), database)
    with TestClient(first) as client:
        client.headers["Authorization"] = "Bearer t"
        assert post(client, "vocabulary", party("us")).status_code == 201
        assert value(scrape(client), "timeline_appends_total", outcome="stored") == 1
    second = create_app(Settings(database_url=str(database.url)), database)
    with TestClient(second) as client:
        assert value(scrape(client), "timeline_appends_total", outcome="stored") == 0
