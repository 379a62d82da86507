"""The OpenAPI document is an exact contract: schemathesis, with every check and every phase (examples,
coverage, fuzzing and the stateful one), finds no failure of any kind against the app, on both databases.

What a pattern cannot say is named by a ``format`` in the schema (an EDTF interval that does not end before
it starts, a cursor this service gave out); ``tests/contract_hooks.py`` registers those formats, and
replaces positive_data_acceptance by the same check that knows the rules between parameters.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.engine import Status, events, from_schema

from events.dates import EdtfDate
from service.api.openapi import CLOSED_DATE, START_DATE
from service.api.params import decode_cursor as decode_changes_cursor
from service.app import create_app
from service.compose import event_store
from service.dataset import bundled, load
from service.settings import Settings
from service.storage.database import connect
from tests.conftest import TOKEN, empty_postgres
from tests.contract_hooks import changes_cursors, closed_dates

# Per operation and phase: enough to find every failure of the run, well under a minute a database.
MAX_EXAMPLES = 15
SEED = 17


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
    assert decode_changes_cursor(cursor) is not None
