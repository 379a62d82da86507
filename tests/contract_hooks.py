"""What the schema names but cannot spell, for schemathesis: the formats of the service's EDTF dates and
cursors generate only values that mean something (an interval that does not end before it starts, a cursor
this service gives out), as a client that read the descriptions would send; and positive_data_acceptance
knows the rules between parameters no schema of one parameter states. ``tests/test_contract.py`` uses it;
so can the command line: ``SCHEMATHESIS_HOOKS=tests.contract_hooks st run URL/schema/openapi.json --checks
all --exclude-checks positive_data_acceptance`` (the README shows the whole command).
"""

from __future__ import annotations

import datetime as dt
from base64 import urlsafe_b64decode

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from events.dates import EdtfDate
from service.api.openapi import DATE_FORMAT
from service.api.params import encode_cursor as encode_changes_cursor
from service.api.reads import MAX_POSITION
from service.api.timeline import encode_cursor as encode_timeline_cursor
from service.query.state import Key
from service.query.timeline import TimelineKey

APPEND = "/streams/{stream}/events"

days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


def _as(day: dt.date, precision: str) -> str:
    text = day.isoformat()
    return {"year": text[:4], "month": text[:7], "day": text}[precision]


@st.composite
def closed_dates(draw) -> str:
    """A date or a closed interval whose end is not before its start."""
    precisions = st.sampled_from(["year", "month", "day"])
    first = _as(draw(days), draw(precisions))
    if not draw(st.booleans()):
        return first
    start = EdtfDate(first).start
    end = draw(st.dates(min_value=start, max_value=dt.date(9999, 12, 31)))
    return f"{first}/{_as(end, draw(precisions))}"


positions = st.integers(0, MAX_POSITION)
changes_cursors = st.builds(
    lambda d, seq, idx: encode_changes_cursor(Key(d.isoformat(), seq, idx)), days, positions, positions
)
timeline_cursors = st.builds(
    lambda d, p, order: encode_timeline_cursor(TimelineKey(d.isoformat(), p), order),
    days,
    positions,
    st.sampled_from(["asc", "desc"]),
)
schemathesis.openapi.format(DATE_FORMAT, closed_dates())
schemathesis.openapi.format("changes-cursor", changes_cursors)
schemathesis.openapi.format("timeline-cursor", timeline_cursors)


def _cursor_order(cursor: str) -> str:
    return urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().rsplit("|", 1)[-1]


def breaks_a_rule_between_parameters(case) -> bool:
    """Whether a request breaks one of the rules between two parameters, which no schema of one parameter
    can state (each is a 400 problem that says so): a timeline cursor continues the order it was given
    out for, /changes asks about `from` before `to`, and /timeline about `from` not after `to`."""
    query = case.query or {}
    cursor = query.get("cursor")
    if case.path.startswith("/timeline") and isinstance(cursor, str):
        try:
            if _cursor_order(cursor) != query.get("order", "asc"):
                return True
        except (ValueError, UnicodeDecodeError):
            pass
    start, end = query.get("from"), query.get("to")
    if case.path == "/changes" and isinstance(start, str) and isinstance(end, str):
        try:
            return EdtfDate(start).end >= EdtfDate(end).end  # type: ignore[operator]
        except (ValueError, TypeError):
            pass
    if case.path.startswith("/timeline") and isinstance(start, str) and isinstance(end, str):
        try:
            return EdtfDate(start).start > EdtfDate(end).end  # type: ignore[operator]
        except (ValueError, TypeError):
            pass
    return False


@schemathesis.check
def positive_data_acceptance_between_parameters(ctx, response, case):
    """schemathesis' own positive_data_acceptance, but for requests that break a rule between parameters,
    and for a batch whose events the schema allows but whose references do not resolve (a party, issue or
    event nobody defined: a 422 no schema of one request can foresee)."""
    if breaks_a_rule_between_parameters(case):
        return None
    if case.operation.path == APPEND and response.status_code == 422:
        return None
    return positive_data_acceptance(ctx, response, case)
