"""The bundled data set (events/data/*.json) is valid, sourced verbatim, and internally consistent.

Pure: reads the package's data files through importlib.resources; no database, no network.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from events.codec import decoder
from events.dates import EdtfDate
from events.references import definition, references
from events.vocabulary import (
    AgreementReached,
    AnyEvent,
    Event,
    IssueDefined,
    MeetingHeld,
    PartyDefined,
    PledgeMade,
    ProposalAmended,
    ProposalRejected,
    ProposalTabled,
    ProposalWithdrawn,
    Source,
    StatementMade,
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

# What the document's text itself dates: the days and months it names, as it spells them.
DOCUMENT_DATES = {
    "2025-02-18": "February 18",
    "2025-02-26": "February 26",
    "2024-11": "November 2024",
}
# The document cites a report of 26 February, so it was written on or after that day.
DOCUMENT_DATE = "2025-02-26/.."
# The words by which an excerpt of the document gives a meeting's format (in person: it names the place).
FORMAT_WORDS = {"phone": "call", "video": "video"}
BASES = {"stated", "reported", "inferred"}
SPEC_PUBLISHER = "Negotiation Timeline project"


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


def _is_document(source: Source) -> bool:
    return source.title == DOCUMENT_TITLE


def _ends(date: EdtfDate) -> list[EdtfDate]:
    """The dates a date's text names: itself, or an interval's ends."""
    return [e for e in (date.lower, date.upper) if e is not None] if date.is_interval else [date]


def _facts(event: Event):
    """What the event states beyond a year: each date (or interval end) known to the month or day and not
    marked approximate, a meeting's place and format; as (field, value)."""
    for name in ("occurred", "reported"):
        date = getattr(event, name)
        for end in _ends(date) if date is not None else []:
            if end.precision != "year" and not end.approximate:
                yield name, end
    if isinstance(event, MeetingHeld):
        for name in ("location", "format"):
            if getattr(event, name) is not None:
                yield name, getattr(event, name)


def _document_gives(event: Event, name: str, value, excerpt: str) -> bool:
    """Whether an excerpt of the document gives the fact in its own words."""
    if name in ("occurred", "reported"):
        key = value.start.isoformat()[: 10 if value.precision == "day" else 7]
        return key in DOCUMENT_DATES and DOCUMENT_DATES[key] in excerpt
    place = event.location.split(",")[0] if event.location else None
    if name == "location" or value == "in_person":  # a meeting in person: the excerpt places it
        return place is not None and place in excerpt
    return FORMAT_WORDS[value] in excerpt


def test_every_date_place_and_format_comes_from_a_source_that_gives_it(events):
    """A day, month, place or format the document's text does not give comes from a dated source of its
    own; one it gives comes with the excerpt that gives it. Each such source says what it contributes."""
    checked = 0
    for event in events:
        for name, value in _facts(event):
            givers = [s for s in event.sources if name in s.contributes]
            assert givers, f"{event.title}: no source contributes its {name} ({value})"
            assert any(
                _document_gives(event, name, value, s.excerpt or "")
                if _is_document(s)
                else s.date is not None
                for s in givers
            ), f"{event.title}: no source gives its {name} {value}"
            checked += 1
        for source in event.sources:  # a document source claims only what its excerpt gives
            for name in source.contributes if _is_document(source) else ():
                facts = [value for fact, value in _facts(event) if fact == name]
                assert any(_document_gives(event, name, v, source.excerpt or "") for v in facts), (
                    f"{event.title}: the excerpt {source.excerpt!r} does not give the {name}"
                )
    assert checked > 20


def test_sources_are_dated_and_outside_ones_say_what_they_contribute(events, document):
    assert "February 26" in document  # the latest day the document cites, so the earliest it was written
    outside = 0
    for event in events:
        for source in event.sources:
            if _is_document(source):
                assert source.date == EdtfDate(DOCUMENT_DATE), f"{event.title}: {source.date}"
            elif source.publisher != SPEC_PUBLISHER:
                assert source.date is not None and source.date.precision == "day", f"{event.title}"
                assert source.contributes, f"{event.title}: {source.publisher} contributes nothing"
                assert source.excerpt is None and source.url and source.url.startswith("https://")
                outside += 1
    assert outside >= 8


def _quoted(document: str, words: str) -> bool:
    return f"“{words}”" in document or f'"{words}"' in document


def test_quotes_are_the_speakers_words_in_quotation_marks(events, document):
    for event in events:
        if isinstance(event, StatementMade) and event.quote is not None:
            assert _quoted(document, event.quote), f"{event.title}: {event.quote!r} is not quoted"
        for position in event.positions:
            if position.quote is not None:
                assert _quoted(document, position.quote), f"{event.title}: {position.quote!r}"
                assert position.basis == "stated", f"{event.title}: a quote is the party's own words"


def _actors(event: Event) -> set[str]:
    """The parties an event names as acting: who spoke, met, proposed, agreed or pledged."""
    match event:
        case StatementMade():
            return {event.party}
        case MeetingHeld():
            return {d.party for d in event.delegations if d.members}
        case ProposalTabled() | ProposalAmended() | ProposalRejected() | ProposalWithdrawn():
            return set(event.by)
        case AgreementReached():
            return set(event.between)
        case PledgeMade():
            return {event.by}
    return set()


def test_every_stance_says_its_basis_and_a_stated_one_is_its_partys_own(events):
    for event in events:
        for position in event.positions:
            assert position.basis in BASES
            if position.basis == "stated":
                assert position.party in _actors(event), f"{event.title}: {position.party} said nothing"
    assert {p.basis for e in events for p in e.positions} == BASES


def test_the_parties_of_one_proposal_are_treated_alike(events):
    for event in events:
        if isinstance(event, ProposalTabled | ProposalAmended) and len(event.by) > 1:
            cells = {
                party: {(p.issue, p.stance, p.basis) for p in event.positions if p.party == party}
                for party in event.by
            }
            assert len({frozenset(c) for c in cells.values()}) == 1, f"{event.title}: {cells}"


# (later, earlier, why): events the document places after another, by the start of their ids
DOCUMENT_ORDER = [
    ("9be2f8ef", "ae0dfde8", "the Riyadh talks and subsequent negotiations indicated the plan"),
    ("6bf17696", "ae0dfde8", "agreed as part of the discussions that began in Riyadh"),
    ("a2390894", "8c0ffdc6", "Kyiv rejected the initial proposal"),
    ("614135e7", "8c0ffdc6", "the demand was later dropped"),
    ("1d3a551b", "fcb93996", "a previous draft of the deal"),
    ("49ae3001", "43789b25", "elections under war conditions are rejected"),
    ("de56218a", "775c0e0c", "the first call after re-election; Geneva dates the election victory"),
]


def test_events_the_document_orders_are_dated_in_that_order(events):
    found = {str(event.id)[:8]: (index, event) for index, event in enumerate(events)}
    for later, earlier, why in DOCUMENT_ORDER:
        (i, after), (j, before) = found[later], found[earlier]
        assert (after.occurred.start, i) > (before.occurred.start, j), f"{after.title}: {why}"
    plan, riyadh = found["9be2f8ef"][1], found["ae0dfde8"][1]
    assert plan.occurred.is_interval and plan.occurred.start == riyadh.occurred.start


def test_the_reviewed_stances(events):
    """What the review of issue 15 decided, cell by cell (see the README's data section)."""
    taken = [(str(e.id)[:8], p) for e in events for p in e.positions]
    cells = {(p.party, p.issue) for _, p in taken}
    for dropped in (
        ("russia", "ukraine_at_the_table"),  # "Ukraine lacks agency" is no objection to it taking part
        ("ukraine", "ceasefire_on_current_lines"),  # the data set's own inference, not the document's
        ("france", "europe_at_the_table"),  # "a unified transatlantic approach" does not say it
    ):
        assert dropped not in cells, dropped
    by_event = {(ident, p.party, p.issue): p for ident, p in taken}
    for party, issue in (("us", "ukraine_at_the_table"), ("us", "europe_at_the_table")):
        assert by_event[("ae0dfde8", party, issue)].basis == "inferred"  # by its conduct
    for party in ("us", "russia"):
        assert by_event[("9be2f8ef", party, "territorial_concessions")].basis == "inferred"
        assert (
            by_event[("1d3a551b", party if party == "us" else "ukraine", "resource_deal")].stance == "unclear"
        )
    elections = by_event[("49ae3001", "ukraine", "early_ukraine_elections")]
    assert (elections.stance, elections.basis) == ("conditional", "stated")  # "under current war conditions"


def test_vocabulary_comes_first(files):
    name, batch = files[0]
    assert all(isinstance(event, PartyDefined | IssueDefined) for event in batch), name


def test_what_an_event_names_is_defined_as_of_its_date(events):
    """A party or issue is defined (on the valid-time axis) from the start of every event that names it:
    otherwise an answer as of that day would show a stance of a party it does not know (``/parties/us``
    with ``"party": null``)."""
    defined: dict[tuple[str, str], dt.date] = {}
    for event in events:
        if (kind_id := definition(event)) is not None and kind_id[0] in ("party", "issue"):
            defined.setdefault(kind_id, event.occurred.start)
    for event in events:
        for ref in references(event):
            if ref.kind in ("party", "issue"):
                since = defined[(ref.kind, ref.id)]
                assert since <= event.occurred.start, (event.title, ref.kind, ref.id, since)
