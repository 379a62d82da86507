"""The hand-written EDTF parser (events.dates) held to the ``edtf`` package as an oracle.

The oracle parses full EDTF (levels 0-2) with pyparsing: far too slow for the write path, but independent.
On generated dates and intervals both must agree on the days each stands for, its precision and its
qualifiers; on generated near-misses, whatever the oracle refuses the parser refuses too. The parser is
deliberately narrower in a few places, each tested on its own: year 0000 (no such day in the calendar
the service uses), an interval that ends before it starts, an open or unknown start.
"""

from __future__ import annotations

import datetime as dt

import pytest
from edtf import parse_edtf
from edtf.parser.edtf_exceptions import EDTFParseException
from hypothesis import given, settings
from hypothesis import strategies as st

from events.dates import EdtfDate

QUALIFIER = st.sampled_from(["", "~", "?", "%"])


@st.composite
def single_dates(draw) -> str:
    day = draw(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
    width = draw(st.sampled_from([4, 7, 10]))
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"[:width] + draw(QUALIFIER)


@st.composite
def intervals(draw) -> str:
    lower = draw(single_dates())
    end = draw(st.sampled_from(["date", "date", "open", "unknown"]))
    if end == "open":
        return f"{lower}/.."
    if end == "unknown":
        return f"{lower}/"
    upper = draw(single_dates())
    if EdtfDate(upper).end < EdtfDate(lower).start:
        lower, upper = upper, lower
    return f"{lower}/{upper}"


def _day(struct) -> dt.date | None:
    """A bound of the oracle as a date; None for its infinities (an open end)."""
    if isinstance(struct, float):
        return None
    return dt.date(struct.tm_year, struct.tm_mon, struct.tm_mday)


def _oracle_end(part) -> tuple[str, str]:
    """(precision, qualifier) of one date as the oracle parsed it."""
    ua = getattr(part, "ua", None)  # an interval's end is wrapped even without a qualifier
    date = getattr(part, "date", part)
    return date.precision, str(ua) if ua is not None else ""


def _ours_end(date: EdtfDate) -> tuple[str, str]:
    qualifier = {(True, False): "~", (False, True): "?", (True, True): "%"}.get(
        (date.approximate, date.uncertain), ""
    )
    return date.precision, qualifier


@settings(max_examples=400, deadline=None)
@given(st.one_of(single_dates(), intervals()))
def test_the_parser_agrees_with_the_oracle(text: str) -> None:
    ours, oracle = EdtfDate(text), parse_edtf(text)
    assert ours.text == text
    assert ours.start == _day(oracle.lower_strict())
    if ours.is_interval:
        if text.endswith("/"):  # unknown end: the oracle guesses one, the parser claims none
            assert ours.end is None and ours.open_end
        else:
            assert ours.end == _day(oracle.upper_strict())
        assert _ours_end(ours.lower) == _oracle_end(oracle.lower)
        if ours.upper is not None:
            assert _ours_end(ours.upper) == _oracle_end(oracle.upper)
        # the interval's own precision is its coarser end's; its qualifiers any end's
        ends = [e for e in (ours.lower, ours.upper) if e is not None]
        order = ["day", "month", "year"]
        assert ours.precision == max((e.precision for e in ends), key=order.index)
        assert ours.approximate == any(e.approximate for e in ends)
        assert ours.uncertain == any(e.uncertain for e in ends)
    else:
        assert ours.end == _day(oracle.upper_strict())
        assert _ours_end(ours) == _oracle_end(oracle)


NEAR_MISS = st.text(alphabet="0123456789-/.~?%X ", min_size=0, max_size=24)


@settings(max_examples=600, deadline=None)
@given(st.one_of(NEAR_MISS, st.builds(lambda a, b: a + b, st.one_of(single_dates(), intervals()), NEAR_MISS)))
def test_what_the_oracle_refuses_the_parser_refuses(text: str) -> None:
    try:
        parse_edtf(text)
    except EDTFParseException:
        with pytest.raises(ValueError, match="invalid date"):
            EdtfDate(text)
        return
    try:
        ours = EdtfDate(text)
    except ValueError:
        return  # narrower on purpose (see below), or a level 2 feature
    assert ours.start == _day(parse_edtf(text).lower_strict())


@pytest.mark.parametrize(
    ("text", "start", "end", "precision", "approximate", "uncertain"),
    [
        ("2025-02-18/2025-02-26", dt.date(2025, 2, 18), dt.date(2025, 2, 26), "day", False, False),
        ("2025-02-18/..", dt.date(2025, 2, 18), None, "day", False, False),
        ("2025-02-18/", dt.date(2025, 2, 18), None, "day", False, False),
        ("2024-11/2025-02-26", dt.date(2024, 11, 1), dt.date(2025, 2, 26), "month", False, False),
        ("2025-02-18~/2025", dt.date(2025, 2, 18), dt.date(2025, 12, 31), "year", True, False),
        ("2025-02-18/2025-03?", dt.date(2025, 2, 18), dt.date(2025, 3, 31), "month", False, True),
        ("2025-02/2025-02-10", dt.date(2025, 2, 1), dt.date(2025, 2, 10), "month", False, False),
    ],
)
def test_intervals_report_start_end_and_precision(text, start, end, precision, approximate, uncertain):
    date = EdtfDate(text)
    assert (date.text, date.start, date.end, date.precision) == (text, start, end, precision)
    assert (date.approximate, date.uncertain, date.is_interval) == (approximate, uncertain, True)
    assert date.open_end == (end is None)
    assert date.lower.text == text.split("/")[0]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2025-02-26/2025-02-18", "ends before it starts"),
        ("2025-03/2025-02", "ends before it starts"),
        ("../2025-02-26", "needs a start"),
        ("/2025-02-26", "needs a start"),
        ("0000/2025", "year 0000"),
        ("2025-02-18/2025-02-30", "has no day 30"),
        ("2025-02-18/2025-13", "month 13"),
        ("2025/2026/2027", "expected"),
        ("2025-02-18/../..", "expected"),
        ("2025-02-18 /2025-02-19", "expected"),
        ("٢٠٢٥-02-18", "expected"),  # digits, but not ASCII ones
    ],
)
def test_bad_intervals_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"invalid date .*{why}"):
        EdtfDate(text)
