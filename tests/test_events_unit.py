"""The pure domain: dates, the vocabulary's validation, references and corrections. No database."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest

from events.codec import apply_changes, decoder, encode
from events.dates import EdtfDate
from events.folds import stand
from events.references import definition, index_terms, references
from events.stand_json import stand_json
from events.timeaxes import Effective
from events.vocabulary import EVENT_TYPES, AnyEvent
from service.dataset import bundled
from tests.factories import body, event, party, statement


@pytest.mark.parametrize(
    ("text", "start", "end", "precision", "approximate", "uncertain"),
    [
        ("2025-02-18", dt.date(2025, 2, 18), dt.date(2025, 2, 18), "day", False, False),
        ("2024-11", dt.date(2024, 11, 1), dt.date(2024, 11, 30), "month", False, False),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "month", False, False),
        ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), "year", False, False),
        ("2025-02~", dt.date(2025, 2, 1), dt.date(2025, 2, 28), "month", True, False),
        ("2025-02-19?", dt.date(2025, 2, 19), dt.date(2025, 2, 19), "day", False, True),
        ("2025%", dt.date(2025, 1, 1), dt.date(2025, 12, 31), "year", True, True),
    ],
)
def test_edtf_dates_stand_for_intervals(text, start, end, precision, approximate, uncertain) -> None:
    date = EdtfDate(text)
    assert (date.text, date.start, date.end, date.precision) == (text, start, end, precision)
    assert (date.approximate, date.uncertain) == (approximate, uncertain)


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",
        "2025-13",
        "2025-00",
        "2023-02-29",
        "0000",
        "25",
        "2025-2-1",
        "2025/02/18",
        "2025-02-18T10:00",
        "~2025",
        "",
    ],
)
def test_invalid_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid date"):
        EdtfDate(text)


def test_every_type_decodes_by_its_tag_and_round_trips() -> None:
    samples = [
        party("us"),
        body("IssueDefined", issue="resource_deal", proposition="p"),
        body("MeetingHeld", location="Riyadh", format="in_person", track="one"),
        statement("us"),
        body(
            "ProposalTabled", proposal="p", by=["us"], name="Plan", stages=[{"name": "one", "terms": ["t"]}]
        ),
        body("ProposalAmended", proposal="p", by=["us"], terms=["t"]),
        body("ProposalRejected", proposal="p", by=["ukraine"]),
        body("ProposalWithdrawn", proposal="p", by=["us"]),
        body(
            "AgreementReached",
            agreement="a",
            name="Deal",
            between=["us", "ukraine"],
            stage="agreed_in_principle",
        ),
        body("PledgeMade", by="germany", kind="military", what="more"),
        body("DevelopmentReported", parties=["ukraine"]),
        body("EventRetracted", target=str(uuid.uuid4()), reason="wrong"),
        body("EventCorrected", target=str(uuid.uuid4()), reason="typo", changes={"title": "T"}),
    ]
    assert {s["type"] for s in samples} == set(EVENT_TYPES)
    one = decoder(AnyEvent)
    for sample in samples:
        decoded = one.decode(msgspec.json.encode(sample))
        assert type(decoded).__name__ == sample["type"]
        assert one.decode(encode(decoded)) == decoded


def test_an_agreement_stage_must_be_one_of_the_known_stages() -> None:
    with pytest.raises(msgspec.ValidationError, match="stage"):
        event(body("AgreementReached", agreement="a", name="D", between=["us"], stage="done"))


def test_references_name_every_party_issue_and_target() -> None:
    meeting = event(
        body(
            "MeetingHeld",
            location="Riyadh",
            format="in_person",
            track="one",
            parties=["us"],
            delegations=[{"party": "russia", "members": [{"name": "Sergey Lavrov"}]}],
            absent=[{"party": "ukraine", "invited": False}],
            positions=[
                {"party": "us", "issue": "us_russia_normalization", "stance": "supports", "summary": "s"}
            ],
        )
    )
    assert [(r.path, r.kind, r.id) for r in references(meeting)] == [
        ("parties[0]", "party", "us"),
        ("positions[0].party", "party", "us"),
        ("positions[0].issue", "issue", "us_russia_normalization"),
        ("delegations[0].party", "party", "russia"),
        ("absent[0].party", "party", "ukraine"),
    ]
    assert index_terms(meeting) == {
        ("party", "us"),
        ("party", "russia"),
        ("party", "ukraine"),
        ("issue", "us_russia_normalization"),
    }
    assert definition(event(party("eu"))) == ("party", "eu")
    rejected = event(body("ProposalRejected", proposal="plan", by=["ukraine"]))
    assert ("proposal", "proposal", "plan") in [(r.path, r.kind, r.id) for r in references(rejected)]


def test_a_correction_is_validated_against_its_target_type() -> None:
    said = event(statement("us"))
    corrected = apply_changes(said, {"occurred": "2025-02-19", "quote": "Another quote"})
    assert corrected.occurred == EdtfDate("2025-02-19") and corrected.quote == "Another quote"
    assert corrected.id == said.id
    for changes in ({"occurred": "2025-02-30"}, {"colour": "red"}, {"id": str(uuid.uuid4())}, {"stance": 3}):
        with pytest.raises(msgspec.ValidationError):
            apply_changes(said, changes)


def test_a_stand_read_from_stored_json_is_the_stand_encoded() -> None:
    """The shortcut /state takes for events it has not decoded gives the bytes the fold's Stand encodes to,
    for every position of the data set and for sources and quotes with and without their optional parts."""
    sources = [
        {"publisher": "P", "title": "T", "url": "https://example.org/a", "date": "2025-02~", "excerpt": "E"},
        {"publisher": "Q", "title": "U"},
    ]
    taken = [
        {"party": "us", "issue": "ceasefire", "stance": "supports", "summary": "s", "quote": '"N" \u00e9'},
        {"party": "eu", "issue": "ceasefire", "stance": "unclear", "summary": "t"},
    ]
    made = [event(statement("us", "2025-02?", sources=sources, positions=taken))]
    checked = 0
    for position, stored in enumerate([*bundled(), *made], start=1):
        for idx, position_taken in enumerate(stored.positions):
            expected = encode(stand(Effective(position, stored, False, False), position_taken))
            assert stand_json(encode(stored), position, idx) == expected
            checked += 1
    assert checked > 40  # the data set has 43 positions
