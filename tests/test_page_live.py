"""The web page while the log grows: a cited view stays as cited, appended events arrive without a reload,
retractions and corrections show as the API answers them. Each test has a server of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.compose import event_store
from service.dataset import bundled, load
from tests.browser import Site, Tab, serving, settled
from tests.conftest import empty_postgres
from tests.factories import body, statement
from tests.test_page_browser import answered_cells, meeting_at, shown_cells, shown_items


def test_a_deep_link_opens_its_view_and_the_at_link_reproduces_it_after_more_events(
    own_site: Site, tab: Tab
) -> None:
    head = own_site.get("/health")["head"]
    axes = {"as_of": "2025-02-19", "known_at": "2025-02-19", "at": head}
    query = f"?as_of=2025-02-19&known_at=2025-02-19&at={head}"
    page = tab.open(own_site.base, query)
    assert page.input_value("#as-of") == "2025-02-19"
    assert page.is_checked("#known-then")
    assert page.inner_text("#position") == f"Log position {head}"
    cited = shown_cells(page)
    assert cited == answered_cells(own_site, **axes)
    cited_items = shown_items(page)
    link = page.get_attribute("#cite-link", "href")
    assert link == f"/{query}"
    tab.shot("cited")

    stance = {"party": "ukraine", "issue": "resource_deal", "stance": "neutral", "summary": "Undecided."}
    own_site.append("page-test", statement("ukraine", "2025-02-10", parties=["ukraine"], positions=[stance]))
    latest = answered_cells(own_site, as_of="2025-02-19", known_at="2025-02-19")
    assert latest != cited  # the new event changes the answer for that date as the log stands now

    again = tab.open(own_site.base, link[1:], page=tab.watch(tab.context.new_page()))
    assert shown_cells(again) == cited
    assert shown_items(again) == cited_items
    assert again.inner_text("#position").startswith(f"Log position {head}")
    tab.shot("cited-again", page=again)

    # the page that was open stays as cited, says the log has moved on, and follows it when asked
    page.bring_to_front()
    page.wait_for_function("() => document.querySelector('#position').textContent.includes('appended since')")
    page.click("#follow")
    page.wait_for_function("() => !/[?&]at=/.test(location.search)")
    settled(page)
    assert shown_cells(page) == latest
    assert page.inner_text("#position") == f"Log position {head + 1}"


def test_an_event_appended_through_the_api_appears_without_a_reload(own_site: Site, tab: Tab) -> None:
    page = tab.open(own_site.base)
    head = own_site.get("/health")["head"]
    page.evaluate("() => { window.stillTheSamePage = true; }")
    delegations = [{"party": "us", "members": [{"name": "A Negotiator"}]}, {"party": "ukraine"}]
    meeting = body(
        "MeetingHeld",
        "2025-02-20",
        title="US and Ukrainian officials meet in Istanbul",
        location="Istanbul, Türkiye",
        format="in_person",
        track="one",
        parties=["us", "ukraine"],
        delegations=delegations,
    )
    own_site.append("page-test", meeting)
    page.wait_for_selector(f'.tl-item[data-event-id="{meeting["id"]}"]')
    page.wait_for_function(f"() => document.documentElement.dataset.position === '{head + 1}'")
    assert page.evaluate("() => window.stillTheSamePage") is True
    assert page.inner_text("#position") == f"Log position {head + 1}"
    card = f'#meetings [data-meeting="{meeting["id"]}"]'
    assert "A Negotiator" in page.text_content(card)
    assert "fresh" in page.get_attribute(f'.tl-item[data-event-id="{meeting["id"]}"] >> nth=0', "class")
    tab.shot("appended")


def test_retracted_events_hide_unless_asked_for_and_corrected_ones_link_to_their_original(
    own_site: Site, tab: Tab
) -> None:
    macron = next(m for m in own_site.get("/state")["state"]["meetings"] if "Macron" in m["title"])
    starmer = next(m for m in own_site.get("/state")["state"]["meetings"] if "Starmer" in m["title"])
    page = tab.open(own_site.base, "?as_of=2025-02-28")
    retraction = body(
        "EventRetracted", "2025-03-01", title="Retracted: a test", target=macron["id"], reason="a test"
    )
    new_title = "Starmer and Trump meet at the White House (title corrected)"
    correction = body(
        "EventCorrected",
        "2025-03-01",
        title="Corrected: a test",
        target=starmer["id"],
        reason="a test",
        changes={"title": new_title},
    )
    own_site.append("page-test", retraction, correction)
    retracted = f'.tl-item[data-event-id="{macron["id"]}"]'
    page.wait_for_selector(retracted, state="detached")
    settled(page)
    assert shown_cells(page) == answered_cells(own_site, as_of="2025-02-28")
    corrected = page.locator(f'.tl-item[data-event-id="{starmer["id"]}"]').first
    assert new_title in corrected.text_content()

    page.click("#filters summary")
    page.check("#retracted")
    page.wait_for_function("() => location.search.includes('include_retracted=true')")
    settled(page)
    assert page.get_attribute(f"{retracted} >> nth=0", "data-status") == "retracted"
    assert page.get_attribute(f"{retracted} >> nth=0", "data-counts") == "false"
    tab.shot("retracted-shown")

    corrected.click()
    page.wait_for_selector("#detail[open] .original-link")
    assert page.get_attribute("#detail .original-link", "href") == f"/events/{starmer['id']}"
    assert starmer["title"] in page.inner_text("#detail .revision")  # the original, as first recorded
    assert page.inner_text("#detail-title") == new_title
    tab.shot("corrected")
    page.click("#detail-close")


@pytest.fixture
def postgres_site(postgres_url: str, tmp_path: Path) -> Iterator[Site]:
    database = empty_postgres(postgres_url)
    load(event_store(database), bundled())
    database.dispose()
    with serving(Path(), tmp_path, url=postgres_url) as running:
        yield running


@pytest.mark.postgres
def test_the_page_on_postgresql(postgres_site: Site, tab: Tab) -> None:
    page = tab.open(postgres_site.base, "?as_of=2025-02-19")
    riyadh = meeting_at(postgres_site, "Riyadh", as_of="2025-02-19")
    assert page.locator(f'#meetings [data-meeting="{riyadh["id"]}"]').count() == 1
    assert shown_cells(page) == answered_cells(postgres_site, as_of="2025-02-19")
    tab.shot("postgresql")
