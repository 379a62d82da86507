"""The OpenAPI document is an exact contract: schemathesis, with every check and every phase (examples,
coverage, fuzzing and the stateful one), finds no failure of any kind against the app, on both databases.

What a pattern cannot say is named by a ``format`` in the schema (an EDTF interval that does not end before
it starts, a cursor this service gave out); the formats registered here generate only such values, as a
client that read the descriptions would send. Two rules between parameters (a timeline cursor belongs to one
order, /changes asks `from` before `to`) are the only exemptions of positive_data_acceptance.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.engine import Status, events, from_schema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from events.dates import EdtfDate
from service.api.openapi import CLOSED_DATE, CURSOR, DATE_FORMAT, START_DATE
from service.api.params import decode_cursor as decode_changes_cursor
from service.api.params import encode_cursor as encode_changes_cursor
from service.api.reads import MAX_POSITION
from service.api.timeline import encode_cursor as encode_timeline_cursor
from service.app import create_app
from service.compose import event_store
from service.dataset import bundled, load
from service.query.state import Key
from service.query.timeline import TimelineKey
from service.settings import Settings
from service.storage.database import connect
from tests.conftest import TOKEN, empty_postgres

# Per operation and phase: enough to find every failure of the run, well under a minute a database.
MAX_EXAMPLES = 15
SEED = 17

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
    from base64 import urlsafe_b64decode

    return urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().rsplit("|", 1)[-1]


def breaks_a_rule_between_parameters(case) -> bool:
    """Whether a request breaks one of the rules between two parameters, which no schema of one parameter
    can state (each is a 400 problem that says so): a timeline cursor continues the order it was given
    out for, and /changes asks about `from` before `to`."""
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
    return False


@schemathesis.check
def positive_data_acceptance_between_parameters(ctx, response, case):
    """schemathesis' own positive_data_acceptance, but for requests that break a rule between parameters."""
    if breaks_a_rule_between_parameters(case):
        return None
    return positive_data_acceptance(ctx, response, case)


def _app(database_url: str, tmp_path: Path, sqlite_template: Path):
    if database_url.startswith("sqlite"):
        path = tmp_path / "contract.db"
        shutil.copy(sqlite_template, path)
        database_url = f"sqlite:///{path}"
        database = connect(database_url)
    else:
        database = empty_postgres(database_url)
    load(event_store(database), bundled())
    return create_app(Settings(database_url=database_url, write_tokens=(TOKEN,)), database), database


CONFIG = {
    "headers": {"Authorization": f"Bearer {TOKEN}"},
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "operations": [
        # an endless stream: covered by its own tests
        {"include-path": "/live", "enabled": False},
        # A batch the schema allows may still refer to a party, issue or event nobody defined: a 422 that
        # no schema of one request can foresee.
        {
            "include-path": "/streams/{stream}/events",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "409", "422"]}},
        },
    ],
}


def failures_of(recorder) -> list[str]:
    found = []
    for case_id, checks in recorder.checks.items():
        for check in (c for c in checks if c.status == Status.FAILURE):
            case = recorder.cases[case_id].value
            info = check.failure_info
            reason = f"{info.failure.title}: {info.failure.message}" if info else ""
            found.append(f"{recorder.label} {case.path} {case.query}: {check.name} {reason}")
    return found


def run_schemathesis(app) -> tuple[list[str], dict[str, int]]:
    config = schemathesis.Config.from_dict(CONFIG)
    config.projects.override.checks.update(
        included_check_names=["all"], excluded_check_names=["positive_data_acceptance"]
    )
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config)
    failures: list[str] = []
    counts = {"scenarios": 0, "cases": 0}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            counts["scenarios"] += 1
            counts[str(event.phase)] = counts.get(str(event.phase), 0) + len(event.recorder.cases)
            counts["cases"] += len(event.recorder.cases)
            failures += failures_of(event.recorder)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {getattr(event, 'label', '')} {getattr(event, 'value', event)}")
    return failures, counts


def test_schemathesis_finds_no_failure(database_url: str, tmp_path: Path, sqlite_template: Path) -> None:
    app, database = _app(database_url, tmp_path, sqlite_template)
    try:
        started = time.monotonic()
        failures, counts = run_schemathesis(app)
        elapsed = time.monotonic() - started
    finally:
        database.dispose()
    print(f"schemathesis on {database_url.split(':')[0]}: {counts}, {elapsed:.1f} s")
    assert failures == []
    assert counts["cases"] > 500, counts
    assert {"examples", "coverage", "fuzzing", "stateful"} <= set(counts), counts  # every phase ran
    assert elapsed < 120


# The date patterns of the schema say exactly what the date parser accepts (but an interval's order).
texts = st.text(alphabet="0123456789-/.~?%", max_size=24)


@given(st.one_of(texts, st.from_regex(CLOSED_DATE, fullmatch=True), closed_dates()))
def test_the_closed_date_pattern_is_the_parser(text: str) -> None:
    try:
        date = EdtfDate(text)
        parsed = not (date.approximate or date.uncertain) and date.end is not None
    except ValueError as exc:
        parsed = False
        if "ends before it starts" in str(exc):
            return  # syntax the pattern allows; the order is the format's
    assert bool(re.fullmatch(CLOSED_DATE, text)) == parsed, text


@given(st.one_of(texts, st.from_regex(START_DATE, fullmatch=True)))
def test_the_start_date_pattern_is_the_parser(text: str) -> None:
    try:
        date = EdtfDate(text)
        parsed = not (date.approximate or date.uncertain)
    except ValueError as exc:
        parsed = False
        if "ends before it starts" in str(exc):
            return
    assert bool(re.fullmatch(START_DATE, text)) == parsed, text


@given(changes_cursors)
def test_generated_cursors_are_ones_the_service_gives_out(cursor: str) -> None:
    assert re.fullmatch(CURSOR, cursor) and decode_changes_cursor(cursor) is not None
