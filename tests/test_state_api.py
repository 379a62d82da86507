"""The state endpoints on the real data set and on appended events, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.factories import body, statement


def riyadh(state: dict) -> dict | None:
    return next((m for m in state["meetings"] if (m["location"] or "").startswith("Riyadh")), None)


def stance(state: dict, party: str, issue: str) -> str | None:
    return next((s["stance"] for s in state["positions"] if (s["party"], s["issue"]) == (party, issue)), None)


def test_riyadh_appears_on_the_18th_with_the_delegations_of_the_document(seeded: TestClient) -> None:
    before = seeded.get("/state", params={"as_of": "2025-02-17"}).json()["state"]
    assert riyadh(before) is None
    meeting = riyadh(seeded.get("/state", params={"as_of": "2025-02-18"}).json()["state"])
    assert meeting["date"] == "2025-02-18" and meeting["track"] == "one"
    members = {d["party"]: {m["name"] for m in d["members"]} for d in meeting["delegations"]}
    assert members == {
        "russia": {"Sergey Lavrov", "Yuri Ushakov", "Kirill Dmitriev"},
        "us": {"Marco Rubio", "Michael Waltz", "Steven Witkoff"},
    }
    assert meeting["absent"] == [{"party": "ukraine", "invited": False, "note": meeting["absent"][0]["note"]}]
    assert meeting["event"]["sources"][0]["excerpt"]


def test_the_resource_deal_goes_from_rejected_to_agreed_on_the_26th(seeded: TestClient) -> None:
    """Agreed, and no more: the document describes a fund into which Ukraine contributes, invested in
    Ukraine, and does not say the United States receives any of that revenue, so stances on the issue
    (Ukraine shares its resource revenue with the US) become unclear."""
    before = seeded.get("/state", params={"as_of": "2025-02-25"}).json()["state"]
    proposal = next(p for p in before["proposals"] if p["id"] == "us_resource_demand")
    assert proposal["status"] == "rejected"
    assert not [a for a in before["agreements"] if a["id"] == "us_ukraine_resource_fund"]
    assert stance(before, "ukraine", "resource_deal") == "opposes"
    after = seeded.get("/state", params={"as_of": "2025-02-26"}).json()["state"]
    deal = next(a for a in after["agreements"] if a["id"] == "us_ukraine_resource_fund")
    assert deal["stage"] == "agreed_in_principle"  # agreed, not signed
    assert stance(after, "ukraine", "resource_deal") == "unclear"
    issue = seeded.get("/issues/resource_deal", params={"as_of": "2025-02-26"}).json()
    assert {s["party"]: s["stance"] for s in issue["positions"]}["ukraine"] == "unclear"
    changes = seeded.get("/changes", params={"from": "2025-02-25", "to": "2025-02-26"}).json()["changes"]
    assert {"before": "opposes", "stance": "unclear"} in [
        {"before": c["before"], "stance": c["after"]["stance"]}
        for c in changes
        if c["after"]["party"] == "ukraine" and c["after"]["issue"] == "resource_deal"
    ]


def test_known_at_hides_what_was_reported_later(seeded: TestClient) -> None:
    """The Geneva talks began in November 2024 but were reported months later. (The first call after
    re-election is dated from November 2024 on, and reported as it occurred, for all the document says.)"""
    geneva = {"as_of": "2024-12-31"}
    meetings = seeded.get("/state", params=geneva).json()["state"]["meetings"]
    assert [(m["location"], m["format"], m["track"]) for m in meetings] == [
        ("Geneva, Switzerland", "in_person", "two"),
        (None, "phone", "one"),
    ]
    known_then = seeded.get("/state", params=geneva | {"known_at": "2024-12-31"}).json()["state"]
    assert [m["track"] for m in known_then["meetings"]] == ["one"]


def test_an_answer_can_be_cited_and_reproduced_with_at(client: TestClient) -> None:
    client.post(
        "/streams/v/events",
        json={
            "events": [
                body("PartyDefined", "2025", party="us", name="US", kind="state"),
                body("IssueDefined", "2025", issue="nato", proposition="p"),
            ]
        },
    )
    said = statement(
        "us", "2025-02-10", positions=[{"party": "us", "issue": "nato", "stance": "opposes", "summary": "s"}]
    )
    client.post("/streams/talks/events", json={"events": [said]})
    first = client.get("/state")
    cited = first.json()["position"]
    assert first.headers["etag"] == f'"{cited}"' == '"3"'
    assert client.get("/state", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    backdated = statement(
        "us", "2024-06", positions=[{"party": "us", "issue": "nato", "stance": "supports", "summary": "t"}]
    )
    turned = statement(
        "us", "2025-03-01", positions=[{"party": "us", "issue": "nato", "stance": "supports", "summary": "u"}]
    )
    client.post("/streams/talks/events", json={"events": [backdated, turned]})
    now = client.get("/state").json()
    assert now["position"] == 5 and stance(now["state"], "us", "nato") == "supports"
    again = client.get("/state", params={"at": cited}).json()
    assert again["state"] == first.json()["state"] and again["head"] == 5
    # the backdated event changes answers from its own date on, and not before
    assert stance(client.get("/state", params={"as_of": "2024-05-31"}).json()["state"], "us", "nato") is None
    assert (
        stance(client.get("/state", params={"as_of": "2024-06"}).json()["state"], "us", "nato") == "supports"
    )
    assert (
        stance(client.get("/state", params={"as_of": "2025-02-10"}).json()["state"], "us", "nato")
        == "opposes"
    )
    party = client.get("/parties/us", params={"as_of": "2025-02-10"}).json()
    assert party["party"]["name"] == "US" and [s["stance"] for s in party["positions"]] == ["opposes"]
    history = client.get("/parties/us/history", params={"limit": 2})
    assert [(c["before"], c["after"]["stance"]) for c in history.json()["changes"]] == [
        (None, "supports"),
        ("supports", "opposes"),
    ]
    rest = client.get(history.json()["next"])
    assert history.headers["link"].startswith("</parties/us/history?")
    assert [(c["before"], c["after"]["stance"]) for c in rest.json()["changes"]] == [("opposes", "supports")]
    assert rest.json()["next"] is None


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/state?as_of=2025-02-30", 400),
        ("/state?as_of=yesterday", 400),
        ("/state?known_at=2025-13", 400),
        ("/state?as_of=2025-02~", 400),
        ("/state?at=-1", 400),
        ("/state?at=abc", 400),
        ("/changes?cursor=not-a-cursor", 400),
        ("/changes?cursor=MjAyNS0wMS0wMXw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OXww", 400),  # a position past 2**63
        ("/state?at=99999999999999999999999", 400),
        ("/events?after=99999999999999999999999", 400),
        ("/changes?from=2025-03-01&to=2025-02-01", 400),
        ("/timeline?from=2025-03-01&to=2025-02-01", 400),
        ("/timeline.atom?from=2025-03&to=2025-02", 400),
        ("/parties/narnia", 404),
        ("/parties/narnia/history", 404),
        ("/issues/narnia", 404),
        ("/parties/us/history?limit=501", 400),
    ],
)
def test_bad_questions_get_problems(seeded: TestClient, url: str, status: int) -> None:
    response = seeded.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"]


def test_a_problem_names_the_parameter_at_fault(seeded: TestClient) -> None:
    for url, parameter in [
        ("/changes?from=2025-02-20&to=2025-02-18/..", "to"),  # `to` gives /changes its valid time
        ("/changes?from=2025-02-20/..&to=2025-02-28", "from"),
        ("/state?as_of=2025-02-18/..", "as_of"),
        ("/timeline?from=2025-03-01&to=2025-02-01", "from"),
    ]:
        refused = seeded.get(url)
        assert (refused.status_code, refused.json()["parameter"]) == (400, parameter), url


def test_vocabulary_lists(seeded: TestClient) -> None:
    parties = seeded.get("/parties").json()["parties"]
    assert {p["id"] for p in parties} == {
        "us",
        "russia",
        "ukraine",
        "eu",
        "france",
        "germany",
        "uk",
        "poland",
        "spain",
        "canada",
    }
    assert len(seeded.get("/issues").json()["issues"]) == 12
    # as of the end of 2024: what the events of 2024 name (the Geneva talks, the call of November 2024)
    late_2024 = {"as_of": "2024-12-31"}
    assert {p["id"] for p in seeded.get("/parties", params=late_2024).json()["parties"]} == {
        "us",
        "russia",
        "ukraine",
    }
    assert [i["id"] for i in seeded.get("/issues", params=late_2024).json()["issues"]] == [
        "us_russia_normalization"
    ]
    us = seeded.get("/parties/us", params=late_2024).json()
    assert us["party"]["id"] == "us" and us["positions"]  # a stance, of a party the answer knows
    assert seeded.get("/parties", params={"as_of": "2023-12-31"}).json()["parties"] == []
