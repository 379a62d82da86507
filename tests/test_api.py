"""The HTTP API through the real Litestar app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from tests.factories import body, issue, party, statement


def post(client: TestClient, stream: str, *events: dict, **extra) -> object:
    return client.post(f"/streams/{stream}/events", json={"events": list(events), **extra})


def vocabulary(client: TestClient) -> None:
    response = post(client, "vocabulary", party("us"), party("ukraine"), issue("resource_deal"))
    assert response.status_code == 201, response.text


def assert_problem(response, status: int, pointer: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if pointer is not None:
        assert problem["pointer"] == pointer
    return problem


def test_append_then_read_back(client: TestClient) -> None:
    vocabulary(client)
    said = statement("us", occurred="2025-02-19", quote="A dictator without elections")
    response = post(client, "us-policy", said, expected_version=0)
    assert response.status_code == 201
    assert response.json() == {
        "stream": "us-policy",
        "version": 1,
        "events": [{"id": said["id"], "position": 4, "version": 1}],
    }
    one = client.get(f"/events/{said['id']}")
    assert one.status_code == 200 and one.headers["timeline-head"] == "4"
    view = one.json()["event"]
    assert view["event"]["quote"] == "A dictator without elections"
    assert view["event"]["stream"] == "us-policy"
    assert view["dates"]["occurred"] == {
        "text": "2025-02-19",
        "start": "2025-02-19",
        "end": "2025-02-19",
        "precision": "day",
        "approximate": False,
        "uncertain": False,
        "interval": False,
    }
    assert view["retracted_by"] == [] and view["position"] == 4
    stream = client.get("/streams/us-policy").json()
    assert stream["version"] == 1 and [e["event"]["id"] for e in stream["events"]] == [said["id"]]
    log = client.get("/events").json()
    assert log["head"] == 4 and [e["position"] for e in log["events"]] == [1, 2, 3, 4]


def test_imprecise_dates_show_their_interval(client: TestClient) -> None:
    vocabulary(client)
    said = statement("ukraine", occurred="2024-11~", reported="2025-02")
    post(client, "talks", said)
    dates = client.get(f"/events/{said['id']}").json()["event"]["dates"]
    assert dates["occurred"]["start"] == "2024-11-01" and dates["occurred"]["end"] == "2024-11-30"
    assert dates["occurred"]["precision"] == "month" and dates["occurred"]["approximate"]
    assert dates["reported"]["text"] == "2025-02"


def test_log_pages_carry_a_next_cursor_and_link(client: TestClient) -> None:
    vocabulary(client)
    post(client, "talks", *[statement("us") for _ in range(5)])
    first = client.get("/events", params={"limit": 3, "type": "StatementMade"})
    assert [e["position"] for e in first.json()["events"]] == [4, 5, 6]
    link = first.headers["link"]
    assert link == '</events?after=6&limit=3&type=StatementMade>; rel="next"'
    second = client.get(first.json()["next"])
    assert [e["position"] for e in second.json()["events"]] == [7, 8]
    assert second.json()["next"] is None and "link" not in second.headers
    assert [e["position"] for e in client.get("/events?party=ukraine").json()["events"]] == [2]
    assert [
        e["position"] for e in client.get("/events?stream=vocabulary&stream=talks&limit=2").json()["events"]
    ] == [1, 2]


def test_reads_answer_if_none_match_with_304(client: TestClient) -> None:
    vocabulary(client)
    first = client.get("/events")
    etag = first.headers["etag"]
    assert client.get("/events", headers={"If-None-Match": etag}).status_code == 304
    for named in (f'"0","1",W/{etag}', f' "7" , {etag} ', "*"):  # a list of tags, weak ones, or any
        assert client.get("/events", headers={"If-None-Match": named}).status_code == 304, named
    post(client, "talks", statement("us"))
    assert client.get("/events", headers={"If-None-Match": etag}).status_code == 200
    assert client.get("/events", headers={"If-None-Match": '"0", "1"'}).status_code == 200


def test_retry_with_the_same_ids_returns_the_earlier_result(client: TestClient) -> None:
    vocabulary(client)
    batch = [statement("us"), statement("ukraine")]
    first = post(client, "talks", *batch, expected_version=0)
    retry = post(client, "talks", *batch, expected_version=0)
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    changed = dict(batch[0], title="Changed")
    assert_problem(post(client, "talks", changed), 409, "/events/0/id")
    assert client.get("/events").json()["head"] == 5


def test_version_conflict_carries_the_current_version(client: TestClient) -> None:
    vocabulary(client)
    problem = assert_problem(
        post(client, "vocabulary", party("eu"), expected_version=1), 409, "/expected_version"
    )
    assert problem["current_version"] == 3


BAD_BATCHES = [
    ("malformed JSON", b'{"events": [', 400, None),
    ("not an object", b"[1, 2]", 422, None),
    ("empty batch", b'{"events": []}', 422, "/events"),
    ("unknown type", json.dumps({"events": [body("Rumour")]}).encode(), 422, "/events/0/type"),
    (
        "unknown field",
        json.dumps({"events": [dict(party("eu"), colour="blue")]}).encode(),
        422,
        "/events/0/colour",
    ),
    ("unknown top-level field", json.dumps({"events": [party("eu")], "x": 1}).encode(), 422, "/x"),
    (
        "impossible day",
        json.dumps({"events": [dict(party("eu"), occurred="2025-02-30")]}).encode(),
        422,
        "/events/0/occurred",
    ),
    (
        "impossible month",
        json.dumps({"events": [dict(party("eu"), occurred="2025-13")]}).encode(),
        422,
        "/events/0/occurred",
    ),
    (
        "not a date",
        json.dumps({"events": [dict(party("eu"), occurred="18 Feb 2025")]}).encode(),
        422,
        "/events/0/occurred",
    ),
    (
        "reported before occurred",
        json.dumps({"events": [dict(party("eu"), occurred="2025-02", reported="2024")]}).encode(),
        422,
        "/events/0",
    ),
    ("no source", json.dumps({"events": [dict(party("eu"), sources=[])]}).encode(), 422, "/events/0/sources"),
    (
        "bad stance",
        json.dumps(
            {
                "events": [
                    statement(
                        "us",
                        positions=[
                            {"party": "us", "issue": "resource_deal", "stance": "maybe", "summary": "s"}
                        ],
                    )
                ]
            }
        ).encode(),
        422,
        "/events/0/positions/0/stance",
    ),
    ("unknown party", json.dumps({"events": [statement("narnia")]}).encode(), 422, "/events/0/party"),
    (
        "unknown issue",
        json.dumps(
            {
                "events": [
                    statement(
                        "us",
                        positions=[{"party": "us", "issue": "nato", "stance": "opposes", "summary": "s"}],
                    )
                ]
            }
        ).encode(),
        422,
        "/events/0/positions/0/issue",
    ),
    (
        "unknown party in parties",
        json.dumps({"events": [statement("us", parties=["us", "narnia"])]}).encode(),
        422,
        "/events/0/parties/1",
    ),
    (
        "negative expected version",
        json.dumps({"events": [party("eu")], "expected_version": -1}).encode(),
        422,
        "/expected_version",
    ),
]


@pytest.mark.parametrize(
    ("content", "status", "pointer"), [b[1:] for b in BAD_BATCHES], ids=[b[0] for b in BAD_BATCHES]
)
def test_bad_input_gets_a_problem_and_stores_nothing(
    client: TestClient, content: bytes, status: int, pointer
) -> None:
    vocabulary(client)
    response = client.post(
        "/streams/talks/events", content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, status, pointer)
    assert client.get("/events").json()["head"] == 3


def test_a_second_bad_event_rejects_the_whole_batch(client: TestClient) -> None:
    vocabulary(client)
    assert_problem(post(client, "talks", statement("us"), statement("narnia")), 422, "/events/1/party")
    assert client.get("/events").json()["head"] == 3
    assert client.get("/streams/talks").status_code == 404


def test_bad_stream_name(client: TestClient) -> None:
    assert_problem(post(client, "Bad Stream!", party("eu")), 422, "/stream")
    assert_problem(post(client, "other", dict(party("eu"), stream="elsewhere")), 422, "/events/0/stream")


def test_writes_need_a_valid_token_reads_do_not(client: TestClient) -> None:
    content = json.dumps({"events": [party("eu")]})
    missing = client.post("/streams/v/events", content=content, headers={"Authorization": ""})
    problem = assert_problem(missing, 401)
    assert "Bearer" in problem["detail"] and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post("/streams/v/events", content=content, headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401)
    assert client.get("/events", headers={"Authorization": ""}).json()["head"] == 0


def test_a_body_sent_as_another_type_than_json_is_refused(client: TestClient) -> None:
    vocabulary(client)
    content = json.dumps({"events": [statement("us")]})
    for kind in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "application/jsonx"):
        refused = client.post("/streams/talks/events", content=content, headers={"content-type": kind})
        assert kind in assert_problem(refused, 415)["detail"]
    assert client.get("/events").json()["head"] == 3
    for kind in ("application/json", "Application/JSON; charset=utf-8", "application/vnd.timeline+json"):
        stored = client.post(
            "/streams/talks/events",
            content=json.dumps({"events": [statement("us")]}),
            headers={"content-type": kind},
        )
        assert stored.status_code == 201, kind
    unnamed = client.post("/streams/talks/events", content=json.dumps({"events": [statement("us")]}))
    assert unnamed.status_code == 201  # a body that names no type is read as JSON
    assert client.get("/events").json()["head"] == 7


def test_a_body_over_one_mebibyte_is_refused(client: TestClient) -> None:
    big = party("eu", summary="x" * (1024 * 1024))
    response = client.post("/streams/v/events", content=json.dumps({"events": [big]}))
    assert "MiB" in assert_problem(response, 413)["detail"]
    assert client.get("/events").json()["head"] == 0


def test_missing_things_are_404_problems(client: TestClient) -> None:
    assert_problem(client.get("/events/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(client.get("/events/not-a-uuid"), 404)
    assert_problem(client.get("/streams/nothing"), 404)
    assert_problem(client.get("/events?limit=5000"), 400)
    assert_problem(client.get("/events?after=-1"), 400)


def test_health_checks_the_database(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "head": 0, "schema": "current"}


def test_the_openapi_document_describes_the_api(client: TestClient) -> None:
    spec = client.get("/schema/openapi.json").json()
    assert {
        "/events",
        "/events/{event_id}",
        "/streams/{stream}",
        "/streams/{stream}/events",
        "/health",
    } <= set(spec["paths"])


def test_no_decoder_or_encoder_is_built_per_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoders and encoders are built once, at import: building one per request costs more than using it."""
    import msgspec

    vocabulary(client)
    built: list[object] = []
    for name in ("Decoder", "Encoder"):
        original = getattr(msgspec.json, name)
        monkeypatch.setattr(msgspec.json, name, lambda *a, _o=original, **k: built.append(a) or _o(*a, **k))
    assert post(client, "talks", statement("us")).status_code == 201
    assert post(client, "talks", {"type": "nonsense"}).status_code == 422
    for url in ("/state", "/timeline", "/events", "/changes", "/parties/us", "/timeline.json"):
        assert client.get(url).status_code == 200, url
    assert built == []
