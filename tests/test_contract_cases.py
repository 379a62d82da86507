"""What schemathesis found, kept as regular tests: the OpenAPI document says every answer an operation
gives, with its media type, and every constraint on a parameter is the one enforced."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from service.api.reads import MAX_VERSION

PROBLEM = "application/problem+json"


def operations(client: TestClient) -> dict[str, dict]:
    document = client.get("/schema/openapi.json").json()
    return {f"{m.upper()} {p}": op for p, item in document["paths"].items() for m, op in item.items()}


def parameter(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)["schema"]


def test_every_refusal_is_documented_as_a_problem(client: TestClient) -> None:
    found = operations(client)
    for name, operation in found.items():
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert list(response["content"]) == [PROBLEM], (name, status)
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/ProblemView"}
        if name.startswith("GET") and name not in ("GET /live", "GET /health", "GET /ready", "GET /metrics"):
            assert {"200", "304", "405"} <= set(operation["responses"]), name
    for name in ("GET /events/{event_id}", "GET /streams/{stream}", "GET /parties/{party_id}",
                 "GET /parties/{party_id}/history", "GET /issues/{issue_id}"):  # fmt: skip
        assert "404" in found[name]["responses"], name
    append = found["POST /streams/{stream}/events"]
    assert {"201", "400", "401", "405", "409", "413", "422"} <= set(append["responses"])
    assert append["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AppendRequestInput"
    )


def test_problems_are_answered_with_the_documented_media_type(client: TestClient) -> None:
    for url in ("/state?as_of=garbage", "/events/not-a-uuid", "/parties/narnia", "/streams/nothing"):
        response = client.get(url)
        assert response.status_code in (400, 404) and response.headers["content-type"] == PROBLEM, url
    assert client.post("/events").status_code == 405
    assert client.post("/events").headers["content-type"] == PROBLEM


def test_bounds_in_the_schema_are_those_enforced(client: TestClient) -> None:
    found = operations(client)
    at = parameter(found["GET /state"], "at")
    assert at["exclusiveMinimum"] == -1  # Litestar leaves out a bound of 0: gt=-1 says the same
    assert client.get("/state", params={"at": "-1"}).status_code == 400
    assert client.get("/state", params={"at": "0"}).status_code == 200
    after = parameter(found["GET /events"], "after")
    assert after["exclusiveMinimum"] == -1 and client.get("/events?after=-1").status_code == 400
    version = parameter(found["GET /streams/{stream}"], "from_version")
    assert version["maximum"] == MAX_VERSION


def test_a_version_past_the_column_is_refused_not_a_server_error(client: TestClient) -> None:
    # found by schemathesis on PostgreSQL, whose stream versions are 32-bit: a 500 before
    assert client.get(f"/streams/talks?from_version={MAX_VERSION}").status_code == 404
    assert client.get(f"/streams/talks?from_version={MAX_VERSION + 1}").status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/events?issue=NOT_AN_ISSUE",  # a list value must be an id, as documented
        "/events?type=Nonsense",
        "/timeline?party=a%20b",
        "/timeline?stream=-x",
        "/state?as_of=",  # empty or garbage dates are not dates
        "/state?as_of=2025-02-29",
        "/timeline?to=2025-02-18/..",  # `to` needs a closed end
        "/changes?party=Russia",
    ],
)
def test_schema_violating_requests_are_refused(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400, url
    assert response.headers["content-type"] == PROBLEM


def test_schema_valid_dates_are_accepted(client: TestClient) -> None:
    for value in ("2024-02-29", "2000-02-29", "2025", "2025-02", "2025-02-18/2025-02-26", "0001"):
        assert client.get("/state", params={"as_of": value}).status_code == 200, value
    assert client.get("/timeline", params={"from": "2025-02-18/.."}).status_code == 200
    assert client.get("/state", params={"as_of": "1900-02-29"}).status_code == 400  # not a leap year
