"""The bundled data set (events/data/*.json) is valid, sourced verbatim, and internally consistent.

Pure: reads the package's data files through importlib.resources; no database, no network.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from events.codec import decoder
from events.references import definition, references
from events.vocabulary import (
    AgreementReached,
    AnyEvent,
    Event,
    IssueDefined,
    MeetingHeld,
    PartyDefined,
    ProposalTabled,
)

SOURCE_DOCUMENT = "000_ece4d40be4e190a3.txt"
DOCUMENT_TITLE = "As the war in Ukraine reaches its third anniversary (analysis of the 2025 negotiations)"

# The vocabulary of SPEC.md: parties, and the issues table (ids and propositions exactly).
PARTIES = {
    "us": "state",
    "russia": "state",
    "ukraine": "state",
    "eu": "bloc",
    "france": "state",
    "germany": "state",
    "uk": "state",
    "poland": "state",
    "spain": "state",
    "canada": "state",
}
ISSUES = {
    "ceasefire_on_current_lines": (
        "a ceasefire that freezes the front where it stands, without Russian withdrawal"
    ),
    "territorial_concessions": "Ukraine cedes territory that Russia occupies",
    "russian_withdrawal_first": "full Russian withdrawal before any peace settlement",
    "early_ukraine_elections": "Ukraine holds presidential elections as a step of the settlement",
    "ukraine_nato_membership": "Ukraine joins NATO",
    "security_guarantees": "Ukraine receives internationally recognised security guarantees",
    "resource_deal": "Ukraine shares revenue from its natural resources with the United States",
    "ukraine_at_the_table": "Ukraine takes part in the negotiations on its future",
    "europe_at_the_table": "European allies take part in the negotiations",
    "sanctions_on_russia": "sanctions on Russia are kept or increased",
    "military_aid_to_ukraine": "military and financial support for Ukraine is kept or increased",
    "us_russia_normalization": "the United States and Russia restore diplomatic and economic ties",
}
STANCES = {"supports", "opposes", "conditional", "neutral", "unclear"}

# The only days the data set may state at day precision, and where each comes from.
ALLOWED_DAYS = {
    "2025-02-18": "the source document: the Riyadh meeting 'occurred on February 18'",
    "2025-02-26": "the source document: 'An agreement reported on February 26'",
    "2025-02-19": "public record: Trump's 'dictator without elections' post",
    "2025-02-22": "public record: Duda met Trump (CPAC)",
    "2025-02-24": "public record: Macron met Trump at the White House",
    "2025-02-27": "public record: Starmer met Trump at the White House",
}


def _data_dir():
    return resources.files("events").joinpath("data")


def _load() -> list[tuple[str, list[Event]]]:
    decode = decoder(list[AnyEvent])
    files = sorted(
        (entry for entry in _data_dir().iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    return [(entry.name, decode.decode(entry.read_bytes())) for entry in files]


@pytest.fixture(scope="module")
def files() -> list[tuple[str, list[Event]]]:
    return _load()


@pytest.fixture(scope="module")
def events(files) -> list[Event]:
    return [event for _, batch in files for event in batch]


@pytest.fixture(scope="module")
def document() -> str:
    return _data_dir().joinpath("source", SOURCE_DOCUMENT).read_text(encoding="utf-8")


def _one(events: list[Event], predicate) -> Event:
    found = [event for event in events if predicate(event)]
    assert len(found) == 1, f"expected exactly one matching event, found {len(found)}"
    return found[0]


def test_files_decode_and_are_not_empty(files):
    assert files, "no data files found"
    for name, batch in files:
        assert batch, f"{name} has no events"


def test_every_event_has_a_stream_one_per_file(files):
    streams = {}
    for name, batch in files:
        names = {event.stream for event in batch}
        assert None not in names, f"{name}: an event has no stream"
        assert len(names) == 1, f"{name}: events of several streams {sorted(names)}"
        stream = names.pop()
        assert stream not in streams, f"stream {stream} in both {streams.get(stream)} and {name}"
        streams[stream] = name


def test_ids_are_unique(events):
    ids = [event.id for event in events]
    assert len(ids) == len(set(ids))


def test_every_event_is_sourced_and_every_excerpt_is_verbatim(events, document):
    for event in events:
        assert event.sources, f"{event.title}: no source"
        assert event.title.strip()
        for source in event.sources:
            if source.excerpt is not None:
                assert source.title == DOCUMENT_TITLE, f"{event.title}: excerpt of another source"
                assert source.excerpt in document, (
                    f"{event.title}: excerpt not verbatim in the document: {source.excerpt!r}"
                )
        assert any(source.excerpt for source in event.sources), f"{event.title}: no excerpt"


def test_references_resolve_to_earlier_definitions(events):
    defined: set[tuple[str, str]] = set()
    seen_ids: set[str] = set()
    for event in events:
        for ref in references(event):
            if ref.kind == "event":
                assert ref.id in seen_ids, f"{event.title}: {ref.path} targets an unknown event"
            else:
                assert (ref.kind, ref.id) in defined, (
                    f"{event.title}: {ref.path} refers to undefined {ref.kind} {ref.id!r}"
                )
        made = definition(event)
        if made is not None:
            assert made not in defined, f"{made} defined twice"
            defined.add(made)
        seen_ids.add(str(event.id))


def test_vocabulary_is_the_spec(events):
    parties = {e.party: e.kind for e in events if isinstance(e, PartyDefined)}
    issues = {e.issue: e.proposition for e in events if isinstance(e, IssueDefined)}
    assert parties == PARTIES
    assert issues == ISSUES
    for event in events:
        if isinstance(event, PartyDefined | IssueDefined):
            assert event.stream == "vocabulary"


def test_positions_use_known_issues_and_stances(events):
    for event in events:
        for position in event.positions:
            assert position.issue in ISSUES, f"{event.title}: unknown issue {position.issue}"
            assert position.party in PARTIES, f"{event.title}: unknown party {position.party}"
            assert position.stance in STANCES
            assert position.summary.strip()


def test_riyadh_meeting(events):
    meeting = _one(events, lambda e: isinstance(e, MeetingHeld) and e.location == "Riyadh, Saudi Arabia")
    assert meeting.occurred.text == "2025-02-18"
    assert meeting.format == "in_person"
    assert meeting.track == "one"
    members = {d.party: [(m.name, m.role) for m in d.members] for d in meeting.delegations}
    assert members == {
        "russia": [
            ("Sergey Lavrov", "Foreign Minister"),
            ("Yuri Ushakov", "Putin’s aide"),
            ("Kirill Dmitriev", "key negotiator"),
        ],
        "us": [
            ("Marco Rubio", "Secretary of State"),
            ("Michael Waltz", "National Security Adviser"),
            ("Steven Witkoff", "Middle East envoy"),
        ],
    }
    assert [(a.party, a.invited) for a in meeting.absent] == [("ukraine", False)]


def test_resource_agreement_is_agreed_not_signed(events):
    deal = _one(
        events,
        lambda e: isinstance(e, AgreementReached) and e.agreement == "us_ukraine_resource_fund",
    )
    assert deal.stage == "agreed_in_principle"
    assert deal.reported is not None
    assert deal.reported.text == "2025-02-26"
    assert deal.reported.start == dt.date(2025, 2, 26)


def test_geneva_track_two_is_month_precision_and_reported_later(events):
    geneva = _one(
        events,
        lambda e: isinstance(e, MeetingHeld) and e.location == "Geneva, Switzerland",
    )
    assert geneva.track == "two"
    assert geneva.occurred.text == "2024-11"
    assert geneva.occurred.precision == "month"
    assert geneva.reported is not None
    assert geneva.reported.start > geneva.occurred.start
    assert [a.party for a in geneva.absent] == ["ukraine"]
    assert all(not d.members for d in geneva.delegations), "the participants are unnamed"


def test_three_stage_plan_is_attributed(events):
    plan = _one(
        events,
        lambda e: isinstance(e, ProposalTabled) and e.proposal == "three_stage_peace_plan",
    )
    assert len(plan.stages) == 3
    assert "reportedly" in plan.title.lower()
    assert "sources close to trump" in plan.summary.lower()


def test_no_invented_days(events):
    for event in events:
        for date in (event.occurred, event.reported):
            if date is not None and date.precision == "day":
                day = date.text.rstrip("~?%")
                assert day in ALLOWED_DAYS, f"{event.title}: day {date.text} is not established"


def test_vocabulary_comes_first(files):
    name, batch = files[0]
    assert all(isinstance(event, PartyDefined | IssueDefined) for event in batch), name
