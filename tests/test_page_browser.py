"""The web page in a real browser, over a server seeded with the bundled data set: what it shows on a date
is what the API answers for that date. Expected values are read from the API, never written down here."""

from __future__ import annotations

import datetime as dt
import re

from tests.browser import Site, Tab, settled

GENEVA = "Geneva"
RIYADH = "Riyadh"


def shown_cells(page) -> dict[tuple[str, str], str]:
    found = page.eval_on_selector_all(
        "#matrix td[data-party]",
        "cells => cells.map(c => [c.dataset.party, c.dataset.issue, c.dataset.stance])",
    )
    return {(party, issue): stance for party, issue, stance in found}


def answered_cells(site: Site, **axes) -> dict[tuple[str, str], str]:
    state = site.get("/state", **axes)["state"]
    cells = {(p["id"], i["id"]): "none" for p in state["parties"] for i in state["issues"]}
    cells.update({(s["party"], s["issue"]): s["stance"] for s in state["positions"]})
    return cells


def shown_items(page) -> dict[str, str]:
    """Each timeline item's data-counts by event id (an event drawn in several rows says the same in each)."""
    found = page.eval_on_selector_all(
        ".tl-item", "items => items.map(i => [i.dataset.eventId, i.dataset.counts, !!i.closest('[hidden]')])"
    )
    items = {}
    for event_id, counts, hidden in found:
        assert items.setdefault(event_id, (counts, hidden)) == (counts, hidden), event_id
    return {event_id: counts for event_id, (counts, _) in items.items()}


def meeting_at(site: Site, place: str, **axes) -> dict | None:
    meetings = site.get("/state", **axes)["state"]["meetings"]
    return next((m for m in meetings if (m["location"] or "").startswith(place)), None)


def choose_date(page, date: str) -> None:
    page.fill("#as-of", date)
    page.wait_for_function(f"() => location.search.includes('as_of={date}')")
    settled(page)


def test_the_page_shows_the_latest_state_with_no_error(site: Site, tab: Tab) -> None:
    page = tab.open(site.base)
    assert shown_cells(page) == answered_cells(site)
    timeline = site.get("/timeline", limit=500)["items"]
    definitions = {"PartyDefined", "IssueDefined"}
    assert set(shown_items(page)) == {
        i["event"]["id"] for i in timeline if i["event"]["type"] not in definitions
    }
    assert set(shown_items(page).values()) == {"true"}  # no date chosen: everything counts
    assert page.inner_text("#position").startswith(f"Log position {site.get('/health')['head']}")
    assert page.get_attribute("#slider", "aria-valuetext") == "latest"
    tab.shot("latest")
    page.click("#filters summary")
    page.check("#vocabulary")
    settled(page)
    assert set(shown_items(page)) == {i["event"]["id"] for i in timeline}
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tab.shot("phone")


def test_riyadh_is_not_there_on_17_february_and_is_on_the_19th_with_both_delegations(
    site: Site, tab: Tab
) -> None:
    assert meeting_at(site, RIYADH, as_of="2025-02-17") is None
    riyadh = meeting_at(site, RIYADH, as_of="2025-02-19")
    page = tab.open(site.base, "?as_of=2025-02-17")
    card = f'#meetings [data-meeting="{riyadh["id"]}"]'
    assert page.locator(card).count() == 0
    assert shown_items(page)[riyadh["id"]] == "false"
    tab.shot("17-february")

    choose_date(page, "2025-02-19")
    assert page.locator(card).count() == 1
    assert shown_items(page)[riyadh["id"]] == "true"
    delegations = page.eval_on_selector_all(
        f"{card} .delegations li", "lis => lis.map(li => li.dataset.party)"
    )
    assert sorted(delegations) == sorted(d["party"] for d in riyadh["delegations"]) == ["russia", "us"]
    text = page.text_content(card)
    for delegation in riyadh["delegations"]:
        for member in delegation["members"]:
            assert member["name"] in text
    absent = page.eval_on_selector_all(f"{card} .absent li", "lis => lis.map(li => li.dataset.party)")
    assert absent == [a["party"] for a in riyadh["absent"]]
    assert shown_cells(page) == answered_cells(site, as_of="2025-02-19")
    tab.shot("19-february")


def test_ukraine_on_the_resource_deal_differs_on_24_and_27_february_and_back_steps_through_dates(
    site: Site, tab: Tab
) -> None:
    cell = '#matrix td[data-party="ukraine"][data-issue="resource_deal"]'
    expected = {
        d: answered_cells(site, as_of=d)[("ukraine", "resource_deal")] for d in ("2025-02-24", "2025-02-27")
    }
    assert expected["2025-02-24"] != expected["2025-02-27"]
    page = tab.open(site.base, "?as_of=2025-02-24")
    assert page.get_attribute(cell, "data-stance") == expected["2025-02-24"]
    tab.shot("24-february")
    choose_date(page, "2025-02-27")
    assert page.get_attribute(cell, "data-stance") == expected["2025-02-27"]
    assert page.get_attribute(cell, "data-changed") == "true"  # changed since the date shown before
    assert shown_cells(page) == answered_cells(site, as_of="2025-02-27")
    tab.shot("27-february")

    page.go_back()
    settled(page)
    assert "as_of=2025-02-24" in page.url
    assert page.get_attribute(cell, "data-stance") == expected["2025-02-24"]
    assert page.input_value("#as-of") == "2025-02-24"
    page.go_forward()
    settled(page)
    assert page.get_attribute(cell, "data-stance") == expected["2025-02-27"]


def test_agreements_show_their_stage_on_the_date(site: Site, tab: Tab) -> None:
    agreements = site.get("/state", as_of="2025-02-27")["state"]["agreements"]
    fund = next(a for a in agreements if "ukraine" in a["between"])
    assert all(a["id"] != fund["id"] for a in site.get("/state", as_of="2025-02-25")["state"]["agreements"])
    page = tab.open(site.base, "?as_of=2025-02-25")
    card = f'#agreements [data-agreement="{fund["id"]}"]'
    assert page.locator(card).count() == 0
    choose_date(page, "2025-02-27")
    assert page.get_attribute(card, "data-stage") == fund["stage"] == "agreed_in_principle"
    assert "not signed" in page.text_content(card)
    assert page.text_content(f"{card} .stages [aria-current=step]") == "agreed in principle"
    proposals = site.get("/state", as_of="2025-02-27")["state"]["proposals"]
    for proposal in proposals:
        assert (
            page.get_attribute(f'#proposals [data-proposal="{proposal["id"]}"]', "data-status")
            == proposal["status"]
        )


def test_what_was_known_then_hides_the_geneva_talks_before_they_were_reported(site: Site, tab: Tab) -> None:
    geneva = meeting_at(site, GENEVA)
    reported = site.get(f"/events/{geneva['id']}")["event"]["dates"]["reported"]["start"]
    before = (dt.date.fromisoformat(reported) - dt.timedelta(days=1)).isoformat()
    assert meeting_at(site, GENEVA, as_of=before) is not None  # it had happened ...
    assert meeting_at(site, GENEVA, as_of=before, known_at=before) is None  # ... but was not yet known
    card = f'#meetings [data-meeting="{geneva["id"]}"]'
    page = tab.open(site.base, f"?as_of={before}")
    assert page.locator(card).count() == 1
    assert shown_items(page)[geneva["id"]] == "true"
    tab.shot("as-of")

    page.check("#known-then")
    page.wait_for_function("() => location.search.includes('known_at=')")
    settled(page)
    assert f"known_at={before}" in page.url
    assert page.locator(card).count() == 0
    assert shown_items(page)[geneva["id"]] == "false"
    assert page.locator(f'.tl-item[data-event-id="{geneva["id"]}"]').first.is_hidden()
    assert shown_cells(page) == answered_cells(site, as_of=before, known_at=before)
    tab.shot("known-then")

    page.uncheck("#known-then")
    page.wait_for_function("() => !location.search.includes('known_at=')")
    settled(page)
    assert page.locator(card).count() == 1


def test_filters_by_party_issue_and_text_show_what_the_timeline_answers(site: Site, tab: Tab) -> None:
    page = tab.open(site.base, "?as_of=2025-02-27")
    page.click("#filters summary")
    page.fill("#q", "dictator")
    page.wait_for_function("() => location.search.includes('q=dictator')")
    settled(page)
    assert set(shown_items(page)) == {i["event"]["id"] for i in site.get("/timeline", q="dictator")["items"]}
    page.fill("#q", "")
    page.wait_for_function("() => !location.search.includes('q=')")
    page.check('#party-filter input[value="ukraine"]')
    page.check('#issue-filter input[value="resource_deal"]')
    page.wait_for_function("() => location.search.includes('issue=resource_deal')")
    settled(page)
    answered = site.get("/timeline", party="ukraine", issue="resource_deal")["items"]
    assert set(shown_items(page)) == {i["event"]["id"] for i in answered}
    assert set(shown_cells(page)) == {("ukraine", "resource_deal")}
    tab.shot("filtered")


def test_keyboard_alone_moves_the_slider_opens_a_cell_and_closes_it(site: Site, tab: Tab) -> None:
    page = tab.open(site.base, "?as_of=2025-02-24")
    focused = "() => document.activeElement"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(f"({focused})().id") == "slider":
            break
    else:
        raise AssertionError("Tab never reached the slider")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('as_of=2025-02-27')")
    settled(page)
    assert page.input_value("#as-of") == "2025-02-27"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(f"({focused})().classList.contains('cell-button')"):
            break
    else:
        raise AssertionError("Tab never reached the matrix")
    where = "() => ['party', 'issue'].map(k => document.activeElement.closest('td').dataset[k])"
    target = ("ukraine", "resource_deal")
    for _ in range(60):  # walk the grid with the arrow keys: down to the issue's row, across to the party
        party, issue = page.evaluate(where)
        if (party, issue) == target:
            break
        issues = page.eval_on_selector_all(
            "#matrix tbody tr", "rows => rows.map(r => r.querySelector('td').dataset.issue)"
        )
        if issue != target[1]:
            page.keyboard.press("ArrowDown" if issues.index(issue) < issues.index(target[1]) else "ArrowUp")
        else:
            page.keyboard.press("ArrowRight")
    assert page.evaluate(where) == list(target)
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail[open] .history:not([aria-busy])")
    assert page.evaluate("document.querySelector('#detail').contains(document.activeElement)")
    assert "Ukraine" in page.inner_text("#detail-title")
    history = site.get("/parties/ukraine/history", as_of="2025-02-27")["changes"]
    summaries = [c["after"]["summary"] for c in history if c["after"]["issue"] == "resource_deal"]
    assert summaries and all(s in page.inner_text("#detail .history") for s in summaries)
    tab.shot("detail")
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail:not([open])", state="attached")
    assert page.evaluate(where) == list(target)  # focus is back on the cell


def test_a_basis_and_an_interval_show_where_the_api_gives_them(site: Site, tab: Tab) -> None:
    """Answers as they will be once stances carry a basis and dates may be intervals: the page shows the
    basis (an inferred one marked apart) and draws an interval from its start to its end."""
    deal = next(
        a for a in site.get("/state", as_of="2025-02-27")["state"]["agreements"] if "ukraine" in a["between"]
    )
    deal_event = deal["history"][-1]["event"]
    interval = {
        "text": "2025-02-18/2025-02-26",
        "start": "2025-02-18",
        "end": "2025-02-26",
        "precision": "day",
    }
    interval |= {"approximate": False, "uncertain": False}

    def state_with_bases(route) -> None:
        response = route.fetch()
        answer = response.json()
        for stand in answer["state"]["positions"]:
            stand["basis"] = "inferred" if stand["party"] == "us" else "stated"
            if stand["event"]["id"] == deal_event:
                stand |= {
                    "since": interval["text"],
                    "since_start": interval["start"],
                    "since_end": interval["end"],
                }
        route.fulfill(response=response, json=answer)

    def timeline_with_an_interval(route) -> None:
        response = route.fetch()
        answer = response.json()
        for item in answer["items"]:
            if item["event"]["id"] == deal_event:
                item["dates"]["occurred"] = interval
        route.fulfill(response=response, json=answer)

    tab.page.route(re.compile(r"/state\?"), state_with_bases)
    tab.page.route(re.compile(r"/timeline\?"), timeline_with_an_interval)
    page = tab.open(site.base, "?as_of=2025-02-27")
    us = '#matrix td[data-party="us"][data-issue="resource_deal"]'
    ukraine = '#matrix td[data-party="ukraine"][data-issue="resource_deal"]'
    assert page.get_attribute(us, "data-basis") == "inferred"
    assert page.text_content(f"{us} .basis-inferred") == "inferred"
    assert page.text_content(f"{ukraine} .basis") == "stated"
    assert page.locator('#matrix td[data-stance="none"] .basis').count() == 0
    item = page.locator(f'.tl-item[data-event-id="{deal_event}"]').first
    assert "tl-span" in item.get_attribute("class")
    assert item.get_attribute("aria-label").startswith("18 Feb 2025 – 26 Feb 2025")
    page.click(ukraine)
    page.wait_for_selector("#detail[open] .since")
    assert page.text_content("#detail .since").startswith("Since 18 Feb 2025 – 26 Feb 2025")
    tab.shot("basis-and-interval")
    page.keyboard.press("Escape")
