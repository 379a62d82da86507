"""Interval dates and stances' bases end to end through the HTTP API, on SQLite and PostgreSQL: appended,
then read back on /events, /timeline, /state, /parties, /issues, /changes, history and every feed."""

from __future__ import annotations

import json

import feedparser
import icalendar
import pytest
from litestar.testing import TestClient

from service.dataset import bundled, load
from service.storage.log import EventStore
from tests.factories import SOURCE, issue, party, statement

PLAN = "9be2f8ef-679c-4789-9cc3-9ffeb36dbdbb"


def post(client: TestClient, stream: str, *events: dict):
    return client.post(f"/streams/{stream}/events", json={"events": list(events)})


def taken(stance: str, basis: str | None, summary: str = "s") -> dict:
    position = {"party": "us", "issue": "resource_deal", "stance": stance, "summary": summary}
    return position | ({"basis": basis} if basis is not None else {})


@pytest.fixture
def talks(client: TestClient) -> dict[str, dict]:
    """A vocabulary, then statements dated by a day, a closed interval, an open one and a later day."""
    assert post(client, "vocabulary", party("us"), issue("resource_deal")).status_code == 201
    made = {
        "day": statement("us", "2025-02-10", positions=[taken("opposes", "stated")]),
        "closed": statement("us", "2025-02-18/2025-02-26", positions=[taken("supports", "reported")]),
        "open": statement("us", "2025-02-20/..", positions=[taken("conditional", "inferred")]),
        "later": statement("us", "2025-03-01"),
    }
    response = post(client, "talks", *made.values())
    assert response.status_code == 201, response.text
    return made


def test_a_position_without_a_basis_is_refused_and_nothing_is_stored(client: TestClient) -> None:
    post(client, "vocabulary", party("us"), issue("resource_deal"))
    head = client.get("/events").json()["head"]
    fine = statement("us", positions=[taken("supports", "stated")])
    missing = json.loads(json.dumps(statement("us")))
    missing["positions"] = [taken("supports", None)]  # built by hand: the factory would add a basis
    response = post(client, "talks", fine, missing)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "basis" in problem["detail"] and problem["pointer"] == "/events/1/positions/0/basis"
    for basis, pointer in (("guessed", "/events/0/positions/0/basis"), (None, None)):
        wrong = statement("us")
        wrong["positions"] = [taken("supports", basis)] if basis else []
        wrong["sources"] = [SOURCE | ({"contributes": ["location"]} if basis is None else {})]
        refused = post(client, "talks", wrong)
        assert refused.status_code == 422, refused.text
        if pointer:
            assert refused.json()["pointer"] == pointer
        else:  # a source can only contribute a field its event has
            assert "not a field of StatementMade" in refused.json()["detail"]
    assert client.get("/events").json()["head"] == head


def test_an_interval_keeps_its_text_and_reports_start_end_and_precision(
    client: TestClient, talks: dict[str, dict]
) -> None:
    dates = {
        name: client.get(f"/events/{made['id']}").json()["event"]["dates"]["occurred"]
        for name, made in talks.items()
    }
    assert dates["closed"] == {
        "text": "2025-02-18/2025-02-26",
        "start": "2025-02-18",
        "end": "2025-02-26",
        "precision": "day",
        "approximate": False,
        "uncertain": False,
        "interval": True,
    }
    assert (dates["open"]["text"], dates["open"]["end"], dates["open"]["interval"]) == (
        "2025-02-20/..",
        None,
        True,
    )
    assert dates["day"]["interval"] is False
    # /timeline: in valid-time order by each date's start, with the same dates spelled out
    items = client.get("/timeline", params={"type": "StatementMade"}).json()["items"]
    assert [i["event"]["id"] for i in items] == [talks[n]["id"] for n in ("day", "closed", "open", "later")]
    assert [i["dates"]["occurred"]["text"] for i in items][1:3] == ["2025-02-18/2025-02-26", "2025-02-20/.."]
    # query input: an interval asks from its start (from) or to its end (to, as_of)
    within = client.get(
        "/timeline", params={"type": "StatementMade", "from": "2025-02-18/..", "to": "2025-02-20/2025-02-26"}
    )
    assert [i["event"]["id"] for i in within.json()["items"]] == [talks["closed"]["id"], talks["open"]["id"]]
    refused = client.get("/state", params={"as_of": "2025-02-18/.."})
    assert refused.status_code == 400 and "open end" in refused.json()["detail"]
    assert client.get("/state", params={"as_of": "2025-02-18~/2025-02-20"}).status_code == 400


def test_an_interval_takes_effect_at_its_start_and_every_stance_shows_its_basis(
    client: TestClient, talks: dict[str, dict]
) -> None:
    def stand(as_of: str) -> tuple[str, str, str] | None:
        found = client.get("/state", params={"as_of": as_of}).json()["state"]["positions"]
        return next(((s["stance"], s["basis"], s["since"]) for s in found), None)

    assert stand("2025-02-17") == ("opposes", "stated", "2025-02-10")
    assert stand("2025-02-18") == ("supports", "reported", "2025-02-18/2025-02-26")
    assert stand("2025-02-20") == ("conditional", "inferred", "2025-02-20/..")
    assert stand("2025-02-10/2025-02-19") == ("supports", "reported", "2025-02-18/2025-02-26")  # to its end
    one = client.get("/parties/us", params={"as_of": "2025-02-19"}).json()["positions"]
    assert [(s["basis"], s["since_precision"]) for s in one] == [("reported", "day")]
    everyone = client.get("/issues/resource_deal", params={"known_at": "2025-02-21"}).json()["positions"]
    assert [s["basis"] for s in everyone] == ["inferred"]
    history = client.get("/parties/us/history").json()["changes"]
    assert [(c["before"], c["after"]["stance"], c["after"]["basis"]) for c in history] == [
        (None, "opposes", "stated"),
        ("opposes", "supports", "reported"),
        ("supports", "conditional", "inferred"),
    ]
    changes = client.get("/changes", params={"from": "2025-02-17", "to": "2025-02-18/2025-02-19"}).json()
    assert [(c["after"]["stance"], c["after"]["basis"]) for c in changes["changes"]] == [
        ("supports", "reported")
    ]


def test_the_feeds_show_the_interval_and_every_stance_with_its_basis(
    client: TestClient, talks: dict[str, dict]
) -> None:
    closed, opened = talks["closed"]["id"], talks["open"]["id"]
    feed = client.get("/timeline.json").json()
    items = {i["id"]: i for i in feed["items"]}
    assert items[closed]["_timeline"]["occurred"]["end"] == "2025-02-26"
    assert items[opened]["_timeline"]["occurred"]["end"] is None
    assert [p["basis"] for p in items[opened]["_timeline"]["positions"]] == ["inferred"]
    assert "18 February 2025 to 26 February 2025" in items[closed]["content_text"]
    assert "from 20 February 2025, end open" in items[opened]["content_text"]
    assert "us conditional resource_deal (inferred)" in items[opened]["content_text"]
    assert "(reported)" in items[closed]["content_html"]

    atom = client.get("/timeline.atom")
    entries = {e.id.removeprefix("urn:uuid:"): e for e in feedparser.parse(atom.content).entries}
    assert "18 February 2025 to 26 February 2025" in entries[closed].content[0].value
    assert "(stated)" in entries[talks["day"]["id"]].content[0].value
    assert b'end="2025-02-26"' in atom.content and b'interval="true"' in atom.content

    def calendar(**params) -> dict[str, icalendar.Event]:
        cal = icalendar.Calendar.from_ical(client.get("/timeline.ics", params=params).content)
        return {str(v["UID"]).split("@")[0]: v for v in cal.walk("VEVENT")}

    days = calendar()
    assert (days[closed]["DTSTART"].dt.isoformat(), days[closed]["DTEND"].dt.isoformat()) == (
        "2025-02-18",
        "2025-02-27",  # exclusive: the interval's last day is the 26th
    )
    assert opened not in days  # no end to span: only on request, over its start
    spanned = calendar(imprecise="true")[opened]
    assert (spanned["DTSTART"].dt.isoformat(), spanned["DTEND"].dt.isoformat()) == (
        "2025-02-20",
        "2025-02-21",
    )
    assert "(inferred)" in str(spanned["DESCRIPTION"])

    slides = {e["unique_id"]: e for e in client.get("/timeline/timelinejs.json").json()["events"]}
    assert slides[closed]["start_date"]["day"] == "18" and slides[closed]["end_date"]["day"] == "26"
    assert slides[closed]["start_date"]["display_date"] == "18 February 2025 to 26 February 2025"
    assert "end_date" not in slides[opened]
    assert "(reported)" in slides[closed]["text"]["text"]


def test_the_plan_is_nothing_as_of_the_17th_and_everything_it_sets_says_its_basis(
    client: TestClient, store: EventStore
) -> None:
    load(store, bundled())
    before = client.get("/state", params={"as_of": "2025-02-17"}).json()["state"]
    assert not [p for p in before["proposals"] if p["id"] == "three_stage_peace_plan"]
    assert not [s for s in before["positions"] if s["event"]["id"] == PLAN]
    after = client.get("/state", params={"as_of": "2025-02-18"}).json()["state"]
    plan = next(p for p in after["proposals"] if p["id"] == "three_stage_peace_plan")
    assert plan["history"][0]["date"] == "2025-02-18/.."
    set_by_plan = {(s["party"], s["basis"]) for s in after["positions"] if s["event"]["id"] == PLAN}
    assert {party for party, _ in set_by_plan} == {"us", "russia"}
    everything = client.get("/state").json()["state"]["positions"]
    assert everything and all(s["basis"] in ("stated", "reported", "inferred") for s in everything)
