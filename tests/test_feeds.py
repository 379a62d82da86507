"""The timeline feeds (Atom, JSON Feed, iCalendar, TimelineJS) on the real data set, on SQLite and PostgreSQL.

Each format is read with a real client of its own (feedparser, icalendar) or checked against its
specification, and compared with what ``GET /timeline`` answers for the same question.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import feedparser
import icalendar
import pytest
from litestar.testing import TestClient

from events.vocabulary import MeetingHeld
from service.dataset import bundled
from tests.factories import body, statement

NS = {"atom": "http://www.w3.org/2005/Atom", "tl": "urn:negotiation-timeline:1"}
FEEDS = ["/timeline.atom", "/timeline.json", "/timeline.ics", "/timeline/timelinejs.json"]
UID_SUFFIX = "@negotiation-timeline"


def meeting(party: str, occurred: str) -> str:
    """The id of the bundled meeting with a delegation of ``party`` on ``occurred``."""
    (found,) = [
        str(e.id)
        for e in bundled()
        if isinstance(e, MeetingHeld)
        and party in {d.party for d in e.delegations}
        and e.occurred.text == occurred
        and e.track == "one"
    ]
    return found


RIYADH = meeting("russia", "2025-02-18")  # day precision
GENEVA = next(str(e.id) for e in bundled() if isinstance(e, MeetingHeld) and e.track == "two")  # a month
DUDA = meeting("poland", "2025-02~")  # with Poland: an approximate month, no place
MACRON = meeting("france", "2025-02-24")  # with France


def timeline_items(client: TestClient, params: dict[str, Any] | None = None) -> list[dict]:
    response = client.get("/timeline", params=params or {})
    assert response.status_code == 200, response.text
    assert response.json()["next"] is None
    return response.json()["items"]


def ids_of(items: list[dict]) -> list[str]:
    return [item["event"]["id"] for item in items]


def day_ids_of(items: list[dict]) -> list[str]:
    """The items iCalendar lists by default: a day, or an interval of days that ends."""
    return [
        item["event"]["id"]
        for item in items
        if item["dates"]["occurred"]["precision"] == "day" and item["dates"]["occurred"]["end"] is not None
    ]


def atom(client: TestClient, url: str = "/timeline.atom", **params: Any) -> feedparser.FeedParserDict:
    response = client.get(url, params=params) if params else client.get(url)  # keep a next link's query
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    parsed["raw"] = response.content
    return parsed


def atom_ids(parsed: feedparser.FeedParserDict) -> list[str]:
    return [entry.id.removeprefix("urn:uuid:") for entry in parsed.entries]


def extension_of(raw: bytes) -> dict[str, dict[str, Any]]:
    """Each entry's ``tl:`` elements, by event id."""
    root = ET.fromstring(raw)
    found = {}
    for entry in root.findall("atom:entry", NS):
        event_id = entry.findtext("atom:id", namespaces=NS).removeprefix("urn:uuid:")
        occurred = entry.find("tl:occurred", NS)
        found[event_id] = {
            "occurred": occurred.text,
            "occurred_attrs": dict(occurred.attrib),
            "position": entry.findtext("tl:position", namespaces=NS),
            "retracted": entry.findtext("tl:retracted", namespaces=NS),
            "corrected": entry.findtext("tl:corrected", namespaces=NS),
        }
    return found


def rel(parsed: feedparser.FeedParserDict, name: str) -> str | None:
    return next((link.href for link in parsed.feed.links if link.rel == name), None)


def calendar(client: TestClient, **params: Any) -> list[icalendar.Event]:
    response = client.get("/timeline.ics", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    return list(cal.walk("VEVENT"))


def uid(vevent: icalendar.Event) -> str:
    return str(vevent["UID"]).removesuffix(UID_SUFFIX)


def json_get(client: TestClient, url: str, **params: Any) -> dict:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def append(client: TestClient, *events: dict, stream: str = "x") -> None:
    response = client.post(f"/streams/{stream}/events", json={"events": list(events)})
    assert response.status_code == 201, response.text


def recorded(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ----------------------------------------------------------------------------------------------------------
# Atom


def test_atom_is_a_valid_feed_of_the_timeline_dated_when_recorded(seeded: TestClient) -> None:
    items = timeline_items(seeded)
    parsed = atom(seeded)
    assert parsed.version == "atom10"
    assert atom_ids(parsed) == ids_of(items)
    extension = extension_of(parsed.raw)
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.title == item["event"]["title"]
        assert recorded(entry.published) == recorded(item["recorded_at"])
        assert recorded(entry.updated) == recorded(item["recorded_at"])
        assert entry.link.endswith(f"/events/{item['event']['id']}")
        mine = extension[item["event"]["id"]]
        occurred = item["dates"]["occurred"]
        assert mine["occurred"] == occurred["text"]
        assert mine["occurred_attrs"]["precision"] == occurred["precision"]
        assert mine["occurred_attrs"]["start"] == occurred["start"]
        assert mine["position"] == str(item["position"])
        assert occurred["text"] in entry.content[0].value  # the event's own date in the text
    assert extension[RIYADH]["occurred"] == "2025-02-18"
    assert extension[RIYADH]["occurred_attrs"] == {
        "precision": "day",
        "start": "2025-02-18",
        "end": "2025-02-18",
    }
    assert extension[GENEVA]["occurred_attrs"] == {
        "precision": "month",
        "start": "2024-11-01",
        "end": "2024-11-30",
    }
    riyadh = next(e for e in parsed.entries if e.id == f"urn:uuid:{RIYADH}")
    assert {t.term for t in riyadh.tags} >= {"MeetingHeld", "us", "russia"}
    assert "Riyadh" in riyadh.content[0].value and "<blockquote>" in riyadh.content[0].value  # excerpts
    assert recorded(parsed.feed.updated) == max(recorded(i["recorded_at"]) for i in items)


def test_atom_pages_by_rel_next(seeded: TestClient) -> None:
    everything = ids_of(timeline_items(seeded))
    page = atom(seeded, limit=10)
    assert rel(page, "self").endswith("/timeline.atom?limit=10")
    assert rel(page, "first") == rel(page, "self")
    assert atom_ids(page) == everything[:10]
    second = atom(seeded, rel(page, "next"))
    assert atom_ids(second) == everything[10:20]
    assert rel(second, "first") == rel(page, "first")
    seen = atom_ids(page)
    while rel(page, "next"):
        page = atom(seeded, rel(page, "next"))
        seen += atom_ids(page)
    assert seen == everything


def test_a_backdated_event_reaches_feed_readers(seeded: TestClient) -> None:
    """Appended later, dated earlier: its published/updated date is later than every earlier entry's."""
    before = atom(seeded)
    latest = max(recorded(e.updated) for e in before.entries)
    late = statement("ukraine", "2024-12", title="A statement of December 2024, recorded late")
    append(seeded, late)
    after = atom(seeded)
    entry = next(e for e in after.entries if e.id == f"urn:uuid:{late['id']}")
    assert recorded(entry.published) > latest and recorded(entry.updated) > latest
    assert recorded(after.feed.updated) == recorded(entry.updated)
    assert extension_of(after.raw)[late["id"]]["occurred"] == "2024-12"
    assert "2024-12" in entry.content[0].value
    # in valid-time order it sits near the start, not at the end, yet it is the newest by date
    # of 58: after what 2024 holds (four definitions, two meetings)
    assert atom_ids(after).index(late["id"]) < 10
    item = next(i for i in json_get(seeded, "/timeline.json")["items"] if i["id"] == late["id"])
    assert recorded(item["date_published"]) > latest
    assert item["_timeline"]["occurred"]["text"] == "2024-12"


def test_an_empty_atom_feed_is_valid(seeded: TestClient) -> None:
    parsed = atom(seeded, q="no event says this")
    assert parsed.entries == [] and parsed.feed.updated and rel(parsed, "next") is None


# ----------------------------------------------------------------------------------------------------------
# JSON Feed


def test_json_feed_has_the_required_fields_and_the_event_data(seeded: TestClient) -> None:
    items = timeline_items(seeded)
    response = seeded.get("/timeline.json")
    assert response.headers["content-type"] == "application/feed+json"
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"].endswith("/timeline.json") and feed["home_page_url"]
    assert "next_url" not in feed
    assert (
        feed["_timeline"]["position"] == feed["_timeline"]["head"] == int(response.headers["etag"].strip('"'))
    )
    assert [i["id"] for i in feed["items"]] == ids_of(items)
    for entry, item in zip(feed["items"], items, strict=True):
        assert isinstance(entry["id"], str)
        assert entry["url"].endswith(f"/events/{entry['id']}")
        assert entry["date_published"] == entry["date_modified"] == item["recorded_at"]
        assert entry["_timeline"]["occurred"] == item["dates"]["occurred"]
        assert entry["_timeline"]["position"] == item["position"]
        assert entry["_timeline"]["retracted"] is False
        assert item["dates"]["occurred"]["text"] in entry["content_text"]
    riyadh = next(i for i in feed["items"] if i["id"] == RIYADH)
    assert riyadh["_timeline"]["occurred"]["precision"] == "day"
    assert riyadh["_timeline"]["type"] == "MeetingHeld" and riyadh["_timeline"]["stream"] == "riyadh-talks"
    assert riyadh["_timeline"]["sources"][0]["excerpt"]
    assert {"MeetingHeld", "us", "russia"} <= set(riyadh["tags"])


def test_json_feed_pages_by_next_url(seeded: TestClient) -> None:
    everything = ids_of(timeline_items(seeded))
    response = seeded.get("/timeline.json", params={"limit": 7})
    feed = response.json()
    assert (
        response.headers["link"]
        == f'<{feed["next_url"].removeprefix("http://testserver.local")}>; rel="next"'
    )
    seen = [i["id"] for i in feed["items"]]
    assert feed["feed_url"].endswith("/timeline.json?limit=7")
    while "next_url" in feed:
        response = seeded.get(feed["next_url"])
        feed = response.json()
        assert ("link" in response.headers) == ("next_url" in feed)
        assert len(feed["items"]) <= 7
        seen += [i["id"] for i in feed["items"]]
    assert seen == everything


# ----------------------------------------------------------------------------------------------------------
# iCalendar


def test_icalendar_lists_day_precision_events_as_all_day_entries(seeded: TestClient) -> None:
    items = timeline_items(seeded)
    vevents = calendar(seeded)
    uids = [uid(v) for v in vevents]
    assert len(uids) == len(set(uids))
    assert uids == day_ids_of(items)
    assert 0 < len(uids) < len(items)
    for vevent in vevents:
        start, end = vevent["DTSTART"], vevent["DTEND"]
        assert start.params["VALUE"] == "DATE" and end.params["VALUE"] == "DATE"
        item = next(i for i in items if i["event"]["id"] == uid(vevent))
        last = dt.date.fromisoformat(item["dates"]["occurred"]["end"])
        assert type(start.dt) is dt.date and end.dt == last + dt.timedelta(days=1)
        assert vevent["DTSTAMP"].dt.tzinfo is not None
        assert int(vevent["SEQUENCE"]) == 0 and str(vevent["STATUS"]) == "CONFIRMED"
        assert str(vevent["SUMMARY"]) and "Sources:" in str(vevent["DESCRIPTION"])
    riyadh = next(v for v in vevents if uid(v) == RIYADH)
    assert riyadh["DTSTART"].dt == dt.date(2025, 2, 18)
    assert str(riyadh["UID"]) == f"{RIYADH}{UID_SUFFIX}"
    assert str(riyadh["URL"]).endswith(f"/events/{RIYADH}")
    assert str(riyadh["LOCATION"]).startswith("Riyadh")
    item = next(i for i in items if i["event"]["id"] == RIYADH)
    assert riyadh["DTSTAMP"].dt == recorded(item["recorded_at"]).replace(microsecond=0)
    assert GENEVA not in uids


def test_icalendar_includes_imprecise_events_over_their_interval_on_request(seeded: TestClient) -> None:
    vevents = {uid(v): v for v in calendar(seeded, imprecise="true")}
    assert list(vevents) == ids_of(timeline_items(seeded))
    geneva = vevents[GENEVA]
    assert (geneva["DTSTART"].dt, geneva["DTEND"].dt) == (dt.date(2024, 11, 1), dt.date(2024, 12, 1))


def test_icalendar_names_the_next_page(seeded: TestClient) -> None:
    response = seeded.get("/timeline.ics", params={"limit": 30})
    cal = icalendar.Calendar.from_ical(response.content)
    next_url = str(cal["X-NEXT-URL"])
    assert "cursor=" in next_url and response.headers["link"].startswith("</timeline.ics?limit=30&cursor=")
    first = [uid(v) for v in cal.walk("VEVENT")]
    rest = icalendar.Calendar.from_ical(seeded.get(next_url).content)
    assert "X-NEXT-URL" not in rest
    assert first + [uid(v) for v in rest.walk("VEVENT")] == day_ids_of(timeline_items(seeded))


# ----------------------------------------------------------------------------------------------------------
# TimelineJS


def test_timelinejs_dates_are_as_precise_as_the_event(seeded: TestClient) -> None:
    items = timeline_items(seeded)
    response = seeded.get("/timeline/timelinejs.json")
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["title"]["text"]["headline"]
    events = {e["unique_id"]: e for e in data["events"]}
    assert list(events) == ids_of(items)
    for event, item in zip(data["events"], items, strict=True):
        assert event["start_date"]["year"] and event["text"]["headline"]
        assert event["group"] == item["event"]["stream"]
        precision = item["dates"]["occurred"]["precision"]
        assert ("month" in event["start_date"]) == (precision != "year")
        assert ("day" in event["start_date"]) == (precision == "day")
    assert events[RIYADH]["start_date"] == {"year": "2025", "month": "2", "day": "18"}
    assert events[GENEVA]["start_date"] == {"year": "2024", "month": "11"}
    assert "<blockquote>" in events[RIYADH]["text"]["text"]
    approximate = next(i for i in items if i["dates"]["occurred"]["approximate"])
    assert events[approximate["event"]["id"]]["start_date"]["display_date"].startswith("c. ")


def test_timelinejs_groups_by_party_on_request(seeded: TestClient) -> None:
    events = {
        e["unique_id"]: e for e in json_get(seeded, "/timeline/timelinejs.json", group="party")["events"]
    }
    assert events[RIYADH]["group"] == "us"
    assert events[DUDA]["group"] == "poland"
    assert seeded.get("/timeline/timelinejs.json", params={"group": "colour"}).status_code == 400


# ----------------------------------------------------------------------------------------------------------
# Every format


def ids_by_format(client: TestClient, params: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "atom": atom_ids(atom(client, **params)),
        "json": [i["id"] for i in json_get(client, "/timeline.json", **params)["items"]],
        "tjs": [e["unique_id"] for e in json_get(client, "/timeline/timelinejs.json", **params)["events"]],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"party": "poland"},
        {"party": ["poland", "france"]},
        {"type": "MeetingHeld"},
        {"from": "2025-02-20", "to": "2025-02-26"},
        {"q": "Riyadh"},
        {"issue": "resource_deal", "order": "desc"},
        {"known_at": "2024-12-31"},
        {"at": 30},
    ],
)
def test_every_format_answers_the_same_question_as_the_timeline(seeded: TestClient, params: dict) -> None:
    items = timeline_items(seeded, params)
    expected = ids_of(items)
    assert ids_by_format(seeded, params) == {"atom": expected, "json": expected, "tjs": expected}
    assert [uid(v) for v in calendar(seeded, **params)] == day_ids_of(items)


def test_the_poland_filter_finds_the_duda_meeting(seeded: TestClient) -> None:
    expected = set(ids_of(timeline_items(seeded, {"party": "poland"})))
    assert DUDA in expected and RIYADH not in expected
    for ids in ids_by_format(seeded, {"party": "poland"}).values():
        assert set(ids) == expected
    assert {uid(v) for v in calendar(seeded, party="poland", imprecise="true")} == expected


def test_retracted_and_corrected_events_in_every_format(seeded: TestClient) -> None:
    append(
        seeded,
        body("EventRetracted", "2025-03", target=DUDA, reason="never happened (test)"),
        body(
            "EventCorrected",
            "2025-03",
            target=MACRON,
            reason="retitled (test)",
            changes={"title": "Retitled"},
        ),
    )
    assert DUDA not in ids_of(timeline_items(seeded))
    for ids in ids_by_format(seeded, {}).values():
        assert DUDA not in ids and MACRON in ids
    assert DUDA not in [uid(v) for v in calendar(seeded)]

    shown = {"include_retracted": "true"}
    parsed = atom(seeded, **shown)
    entries = {e.id.removeprefix("urn:uuid:"): e for e in parsed.entries}
    extension = extension_of(parsed.raw)
    assert entries[DUDA].title.startswith("[retracted] ") and extension[DUDA]["retracted"] == "true"
    assert entries[MACRON].title == "Retitled" and extension[MACRON]["corrected"] == "true"
    # the correction updates the entry for readers; its publication date stays when it was recorded
    assert entries[MACRON].updated > entries[MACRON].published
    assert "corrected" in entries[MACRON].content[0].value
    assert f"/events/{MACRON}" in entries[MACRON].content[0].value

    items = {i["id"]: i for i in json_get(seeded, "/timeline.json", **shown)["items"]}
    assert items[DUDA]["title"].startswith("[retracted] ") and items[DUDA]["_timeline"]["retracted"] is True
    assert items[MACRON]["title"] == "Retitled" and items[MACRON]["_timeline"]["corrected"] is True
    assert items[MACRON]["date_modified"] > items[MACRON]["date_published"]
    assert items[DUDA]["date_modified"] > items[DUDA]["date_published"]

    vevents = {uid(v): v for v in calendar(seeded, **shown, imprecise="true")}
    assert str(vevents[DUDA]["STATUS"]) == "CANCELLED" and int(vevents[DUDA]["SEQUENCE"]) >= 1
    assert str(vevents[MACRON]["STATUS"]) == "CONFIRMED" and int(vevents[MACRON]["SEQUENCE"]) == 1
    assert str(vevents[MACRON]["SUMMARY"]) == "Retitled"

    events = {e["unique_id"]: e for e in json_get(seeded, "/timeline/timelinejs.json", **shown)["events"]}
    assert events[DUDA]["text"]["headline"].startswith("[retracted] ")


@pytest.mark.parametrize("url", FEEDS)
def test_etag_and_if_none_match(seeded: TestClient, url: str) -> None:
    first = seeded.get(url, params={"party": "poland"})
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.headers["timeline-head"]
    again = seeded.get(url, params={"party": "poland"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    append(seeded, statement("poland", "2025-02-25"))
    changed = seeded.get(url, params={"party": "poland"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


@pytest.mark.parametrize("url", FEEDS)
@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "2025-02-30"}, "2025-02 has no day 30"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"at": "-1"}, "at"),
    ],
)
def test_bad_questions_get_a_problem(seeded: TestClient, url: str, params: dict, says: str) -> None:
    response = seeded.get(url, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.text
