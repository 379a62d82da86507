"""``GET /timeline`` through the app on SQLite and PostgreSQL: order, filters, search, stable pages."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.factories import body, party, statement


def page(client: TestClient, url: str = "/timeline", **params) -> dict:
    response = client.get(url, params=params or None)
    assert response.status_code == 200, response.text
    return response.json()


def keys(items: list[dict]) -> list[tuple[str, int]]:
    return [(i["dates"]["occurred"]["start"], i["position"]) for i in items]


def test_valid_time_order_both_ways(seeded: TestClient) -> None:
    ascending = page(seeded, limit=500)["items"]
    assert keys(ascending) == sorted(keys(ascending))
    # the definitions that 2024 names (dated 2024), then Geneva, appended after the vocabulary
    happenings = [i for i in ascending if i["event"]["type"] not in ("PartyDefined", "IssueDefined")]
    assert happenings[0]["event"]["occurred"] == "2024-11"
    assert {i["event"]["occurred"] for i in ascending[: ascending.index(happenings[0])]} == {"2024"}
    descending = page(seeded, limit=500, order="desc")["items"]
    assert keys(descending) == sorted(keys(ascending), reverse=True)
    first = happenings[0]
    assert first["dates"]["occurred"]["precision"] == "month"
    assert first["href"] == f"/events/{first['event']['id']}"
    assert first["event"]["sources"][0]["excerpt"]


def test_pages_stay_correct_when_a_backdated_event_arrives_between_fetches(seeded: TestClient) -> None:
    everything = keys(page(seeded, limit=500)["items"])
    first = seeded.get("/timeline", params={"limit": 10})
    assert first.headers["link"] == f'<{first.json()["next"]}>; rel="next"'
    cursor_key = keys(first.json()["items"])[-1]
    backdated = statement("us", "2024-12-01")  # sorts before the cursor
    ahead = statement("us", "2025-02-25")  # sorts after it
    response = seeded.post("/streams/late/events", json={"events": [backdated, ahead]})
    assert response.status_code == 201
    rest, url = [], first.json()["next"]
    while url:
        body_ = seeded.get(url).json()
        rest += body_["items"]
        url = body_["next"]
    seen = keys(first.json()["items"]) + keys(rest)
    assert len(seen) == len(set(seen))  # nothing repeated
    after_cursor = [k for k in everything if k > cursor_key]
    assert [k for k in keys(rest) if k in set(everything)] == after_cursor  # nothing skipped after it
    assert backdated["id"] not in {i["event"]["id"] for i in rest}
    assert ahead["id"] in {i["event"]["id"] for i in rest}


def test_filters_combine(seeded: TestClient) -> None:
    meetings = page(seeded, type="MeetingHeld", limit=500)["items"]
    assert {i["event"]["type"] for i in meetings} == {"MeetingHeld"} and len(meetings) == 6
    both = page(seeded, type="MeetingHeld", party="ukraine", **{"from": "2025-02", "to": "2025-02-20"})[
        "items"
    ]
    assert "Riyadh, Saudi Arabia" in [i["event"]["location"] for i in both]
    assert all(i["event"]["type"] == "MeetingHeld" and i["event"]["occurred"][:7] >= "2025-02" for i in both)
    assert "Geneva, Switzerland" not in [i["event"]["location"] for i in both]  # 2024-11: before `from`
    streams = page(seeded, stream=["resource-deal", "three-stage-plan"], limit=500)["items"]
    assert {i["event"]["stream"] for i in streams} == {"resource-deal", "three-stage-plan"}
    issue = page(seeded, issue="resource_deal", limit=500)["items"]
    assert issue and all(
        any(p["issue"] == "resource_deal" for p in i["event"]["positions"])
        or i["event"]["type"] == "IssueDefined"
        for i in issue
    )


def test_text_search_in_title_summary_and_excerpts(seeded: TestClient) -> None:
    titles = [i["event"]["title"] for i in page(seeded, q="DICTATOR")["items"]]
    assert titles == ['Trump calls Zelensky a "dictator without elections" and blames him for the war']
    # an excerpt-only match: a word of the source sentence that no title or summary uses
    by_excerpt = page(seeded, q="117 of the world")["items"]
    assert by_excerpt and all(
        any("117 of the world" in (s["excerpt"] or "") for s in i["event"]["sources"]) for i in by_excerpt
    )
    assert page(seeded, q='"dictator without')["items"]  # characters JSON escapes still match
    assert page(seeded, q="no such words anywhere")["items"] == []


def test_known_at_at_and_retractions(seeded: TestClient) -> None:
    known = page(seeded, known_at="2024-12-31")["items"]
    known = [i for i in known if i["event"]["type"] not in ("PartyDefined", "IssueDefined")]
    assert [i["event"]["type"] for i in known] == ["MeetingHeld"]  # the call, dated from November 2024
    assert known[0]["event"]["track"] == "one"  # not Geneva: it was reported in 2025
    head = page(seeded)["head"]
    seeded.post("/streams/v/events", json={"events": [party("zz")]})
    target = statement("zz", "2025-01-10")
    seeded.post("/streams/t/events", json={"events": [target]})
    retraction = body("EventRetracted", "2025-03-01", target=target["id"], reason="wrong")
    seeded.post("/streams/t/events", json={"events": [retraction]})
    ids = {i["event"]["id"] for i in page(seeded, limit=500)["items"]}
    assert target["id"] not in ids and retraction["id"] not in ids  # fixes of the record are not happenings
    shown = {i["event"]["id"]: i for i in page(seeded, limit=500, include_retracted="true")["items"]}
    assert shown[target["id"]]["retracted"] is True
    assert target["id"] in {i["event"]["id"] for i in page(seeded, limit=500, at=head + 2)["items"]}
    assert target["id"] not in {i["event"]["id"] for i in page(seeded, limit=500, at=head)["items"]}
