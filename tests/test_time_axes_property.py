"""Every state answer equals the oracle fold, for random logs appended in random order, on both databases.

The oracle is the pure definition (events.timeaxes.counting + events.folds): take the events that count on
all three axes, as corrected, and fold them in valid-time order. The service answers from its projection
tables; whatever the append order, dates, precisions, retractions and corrections, the two must agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import hypothesis.strategies as st
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from events.codec import to_builtins
from events.dates import EdtfDate
from events.folds import fold, position_changes
from events.timeaxes import Logged, counting, is_meta
from service.compose import event_store
from service.projection.rebuild import rebuild
from service.query.axes import Axes
from service.query.caches import FormCache
from service.query.state import Projections
from service.storage.database import Database
from service.storage.log import EventStore
from service.storage.refusals import AppendRefused
from service.storage.tables import PROJECTION_TABLES, metadata, proj_stands_rendering
from service.storage.tables import stances as stances_table
from tests.factories import body, event, issue, party

PARTIES = ["p1", "p2", "p3"]
ISSUES = ["i1", "i2"]
STANCES = ["supports", "opposes", "conditional", "neutral", "unclear"]
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 31)


@st.composite
def edtf(draw, low: dt.date = FIRST) -> str:
    day = draw(st.dates(min_value=low, max_value=LAST))
    precision = draw(st.sampled_from(["day", "day", "month", "year"]))
    text = {"day": day.isoformat(), "month": day.isoformat()[:7], "year": day.isoformat()[:4]}[precision]
    if start(text) < low:  # an imprecise date starts at its interval's start: keep it on or after `low`
        text = day.isoformat()
    return text + draw(st.sampled_from(["", "", "~", "?"]))


def start(text: str) -> dt.date:
    return EdtfDate(text).start


@st.composite
def positions(draw) -> list[dict]:
    return [
        {
            "party": draw(st.sampled_from(PARTIES)),
            "issue": draw(st.sampled_from(ISSUES)),
            "stance": draw(st.sampled_from(STANCES)),
            "summary": draw(st.sampled_from(["a", "b", "c"])),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]


@st.composite
def world_event(draw, proposals: list[str]) -> dict:
    occurred = draw(edtf())
    reported = draw(st.one_of(st.none(), edtf(low=start(occurred))))
    fields = {"positions": draw(positions()), "reported": reported}
    kind = draw(
        st.sampled_from(["statement", "statement", "pledge", "meeting", "proposal", "rejection", "deal"])
    )
    if kind == "statement":
        return body(
            "StatementMade", occurred, party=draw(st.sampled_from(PARTIES)), speaker="S", quote="Q", **fields
        )
    if kind == "pledge":
        return body(
            "PledgeMade", occurred, by=draw(st.sampled_from(PARTIES)), kind="military", what="w", **fields
        )
    if kind == "meeting":
        return body("MeetingHeld", occurred, location="L", format="in_person", track="one", **fields)
    if kind == "rejection" and proposals:
        return body(
            "ProposalRejected", occurred, proposal=draw(st.sampled_from(proposals)), by=["p1"], **fields
        )
    if kind == "deal":
        stage = draw(st.sampled_from(["agreed_in_principle", "signed"]))
        return body(
            "AgreementReached",
            occurred,
            agreement="d1",
            name="D",
            between=["p1", "p2"],
            stage=stage,
            **fields,
        )
    name = draw(st.sampled_from(["x", "y"]))
    proposals.append(name)
    return body("ProposalTabled", occurred, proposal=name, by=["p2"], name=name.upper(), **fields)


@st.composite
def meta_event(draw, targets: list[dict]) -> dict:
    target = draw(st.sampled_from(targets))
    occurred = draw(edtf())
    reported = draw(st.one_of(st.none(), edtf(low=start(occurred))))
    if target["type"] in ("EventRetracted", "EventCorrected") or draw(st.booleans()):
        return body("EventRetracted", occurred, reported=reported, target=target["id"], reason="r")
    change = draw(st.sampled_from(["positions", "occurred", "title"]))
    if change == "positions":
        changes = {"positions": draw(positions())}
    elif change == "occurred" and target.get("reported") is None:
        changes = {"occurred": draw(edtf())}
    else:
        changes = {"title": "corrected"}
    return body(
        "EventCorrected", occurred, reported=reported, target=target["id"], reason="r", changes=changes
    )


@st.composite
def logs(draw) -> list[list[dict]]:
    """Batches in append order: the vocabulary, then world events and fixes of earlier ones."""
    batches = [[party(p) for p in PARTIES] + [issue(i) for i in ISSUES]]
    appended: list[dict] = []
    proposals: list[str] = []
    for _ in range(draw(st.integers(1, 14))):
        batch = []
        for _ in range(draw(st.integers(1, 2))):
            if appended and draw(st.integers(0, 3)) == 0:
                batch.append(draw(meta_event(appended)))
            else:
                batch.append(draw(world_event(proposals)))
        appended += batch
        batches.append(batch)
    return batches


@st.composite
def axes(draw, log: list[Logged]) -> Axes:
    """Points on the axes, often exactly on or next to a date or position of the log (the boundaries)."""
    boundaries = sorted(
        {e.event.occurred.start for e in log} | {(e.event.reported or e.event.occurred).start for e in log}
    )
    near = st.builds(
        lambda d, shift: d + dt.timedelta(days=shift), st.sampled_from(boundaries), st.integers(-1, 1)
    )
    date = st.one_of(st.none(), near, st.dates(FIRST - dt.timedelta(days=30), LAST + dt.timedelta(days=400)))
    as_of, known_at = draw(date), draw(date)
    at = draw(st.one_of(st.none(), st.integers(0, log[-1].position + 2)))
    result = Axes()
    if as_of:
        result = result._replace(as_of=as_of)
    if known_at:
        result = result._replace(known_at=known_at)
    if at is not None:
        result = result._replace(at=at)
    return result


def wipe(database: Database) -> None:
    """Empty the database as migrated (the rendering that made the daily stands stays recorded)."""
    with database.writer.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table is not proj_stands_rendering:
                conn.execute(table.delete())


def count_fixes(log: list[Logged]) -> int:
    """The retractions and corrections a log actually stored (appends that would be invalid are refused)."""
    return sum(is_meta(logged.event) for logged in log)


def assert_fixes_were_tested(fixes_stored: list[int]) -> None:
    """A run whose logs stored no fix would pass while testing nothing of retractions and corrections."""
    with_fixes = sum(1 for count in fixes_stored if count)
    assert with_fixes >= len(fixes_stored) // 4, f"only {with_fixes} of {len(fixes_stored)} logs stored a fix"


def append_all(store: EventStore, batches: list[list[dict]]) -> list[Logged]:
    """Append each batch to a stream of its own (appends that would be invalid are dropped)."""
    for n, batch in enumerate(batches):
        # e.g. a correction whose result would be invalid is refused: nothing of it is stored
        with contextlib.suppress(AppendRefused):
            store.append(f"s{n % 3}", [event(e) for e in batch])
    return [Logged(r.position, r.event) for r in store.read_log(limit=1000).events]


def oracle_and_service(projections: Projections, log: list[Logged], at: Axes) -> list[tuple[object, object]]:
    counted = counting(log, at.as_of, at.known_at, at.at)
    expected_state = fold(counted)
    state, _, _ = projections.read(at, projections.state)
    pairs = [(to_builtins(state), to_builtins(expected_state))]
    for p in PARTIES:
        _, stands = projections.read(at, lambda c, a, p=p: projections.party(c, a, p))[0]
        pairs.append(
            (to_builtins(stands), to_builtins([s for s in expected_state.positions if s.party == p]))
        )
        history = projections.read(at, lambda c, a, p=p: projections.changes(c, a, party=p, limit=1000))[0]
        expected = [c for c in position_changes(counted) if c.after.party == p]
        pairs.append((to_builtins(history.changes), to_builtins(expected)))
    for i in ISSUES:
        _, stands = projections.read(at, lambda c, a, i=i: projections.issue(c, a, i))[0]
        pairs.append(
            (to_builtins(stands), to_builtins([s for s in expected_state.positions if s.issue == i]))
        )
    changed = projections.read(at, lambda c, a: projections.changes(c, a, only_changed=True, limit=1000))[0]
    pairs.append(
        (to_builtins(changed.changes), to_builtins([c for c in position_changes(counted) if c.changed]))
    )
    return pairs


def projection_rows(database: Database) -> list[list[tuple]]:
    # a day's `changed_at` is the position its column last changed at: a rebuild, which cannot tell, sets
    # the head, so that only answers at the head read the column
    ignored = {"id", "version", "changed_at"}
    with database.reader.connect() as conn:
        return [
            sorted(tuple(r) for r in conn.execute(sa.select(*[c for c in t.c if c.name not in ignored])))
            for t in (*PROJECTION_TABLES, stances_table)
        ]


def test_every_answer_equals_the_oracle_fold(database: Database) -> None:
    fixes_stored: list[int] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        wipe(database)
        store, projections = event_store(database), Projections(database)
        log = append_all(store, data.draw(logs()))
        fixes_stored.append(count_fixes(log))
        for _ in range(6):
            at = data.draw(axes(log))
            for got, expected in oracle_and_service(projections, log, at):
                assert got == expected, f"axes {at}"
        incremental = projection_rows(database)
        rebuild(store.db)
        assert projection_rows(database) == incremental

    check()
    assert_fixes_were_tested(fixes_stored)


def test_one_reader_follows_the_log_as_it_grows(database: Database) -> None:
    """A long-lived reader keeps what it read before (decoded forms, the structure in memory) and must
    still see every append, including fixes of events it has already answered with. Its caches are
    sometimes off, or tiny, so that they empty themselves in the middle of answers."""
    fixes_stored: list[int] = []

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        wipe(database)
        capacity = data.draw(st.sampled_from([0, 2, 100_000]))
        store, projections = event_store(database), Projections(database, FormCache(capacity), capacity)
        log: list[Logged] = []
        for batch in data.draw(logs()):
            with contextlib.suppress(AppendRefused):
                store.append("s", [event(e) for e in batch])
            log = [Logged(r.position, r.event) for r in store.read_log(limit=1000).events]
            for at in (Axes(), data.draw(axes(log))):
                expected = fold(counting(log, at.as_of, at.known_at, at.at))
                state = projections.read(at, projections.state)[0]
                assert to_builtins(state) == to_builtins(expected), f"axes {at}"
        fixes_stored.append(count_fixes(log))

    check()
    assert_fixes_were_tested(fixes_stored)


def test_a_retraction_applies_at_every_as_of_but_not_before_it_was_made(database: Database) -> None:
    """The worked example of the spec: a wrong event, retracted later, seen on every axis."""
    wipe(database)
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    position = {"party": "p1", "issue": "i1", "stance": "supports", "summary": "s"}
    wrong = event(
        body("StatementMade", "2025-02-10", party="p1", speaker="S", quote="Q", positions=[position])
    )
    store.append("talks", [wrong])  # position 3
    retraction = event(
        body("EventRetracted", "2025-03-01", target=str(wrong.id), reason="misquoted", id=str(uuid.uuid4()))
    )
    store.append("talks", [retraction])  # position 4

    def stance(**axes):
        state = projections.read(Axes()._replace(**axes), projections.state)[0]
        return [s.stance for s in state.positions]

    assert stance() == []  # retracted: gone now
    assert stance(as_of=dt.date(2025, 2, 20)) == []  # at every as_of, even before the retraction happened
    assert stance(at=3) == ["supports"]  # the log as it stood before the retraction
    assert stance(known_at=dt.date(2025, 2, 20)) == ["supports"]  # what the public knew then
    assert stance(known_at=dt.date(2025, 2, 28)) == ["supports"]
    assert stance(known_at=dt.date(2025, 3, 1)) == []  # the day the retraction was made public
    assert stance(at=4) == []
    assert stance(as_of=dt.date(2025, 2, 9), at=3) == []  # before it occurred


def test_rebuild_puts_back_what_was_changed_behind_its_back(database: Database) -> None:
    """Rebuild derives the projections and the `fixed` marks from the log alone, whatever they held."""
    wipe(database)
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    taken = {"party": "p1", "issue": "i1", "stance": "supports", "summary": "s"}
    said = [
        event(body("StatementMade", f"2025-02-1{n}", party="p1", speaker="S", quote="Q", positions=[taken]))
        for n in range(3)
    ]
    store.append("talks", said)  # positions 3, 4, 5
    retraction = body("EventRetracted", "2025-03-01", target=str(said[2].id), reason="wrong")
    store.append("talks", [event(retraction)])
    expected, rows = projections.read(Axes(), projections.state)[0], projection_rows(database)
    with database.writer.begin() as conn:
        p = stances_table
        conn.execute(p.update().where(p.c.as_logged).values(fixed=sa.not_(p.c.fixed)))
        conn.execute(p.update().where(sa.not_(p.c.as_logged)).values(stance="unclear"))
        for table in PROJECTION_TABLES:
            conn.execute(table.delete())
    rebuild(store.db)
    assert projection_rows(database) == rows
    assert Projections(database).read(Axes(), projections.state)[0] == expected
    assert [s.event.id for s in expected.positions] == [said[1].id]


def test_rebuild_with_stored_writes_the_stored_positions_again(database: Database) -> None:
    """A plain rebuild leaves each stored position as it was written with its event; ``stored=True``
    writes every one again from the stored events."""
    wipe(database)
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), party("p2"), issue("i1"))])
    taken = {"party": "p1", "issue": "i1", "stance": "supports", "summary": "s"}
    other = taken | {"party": "p2", "stance": "opposes"}
    said = event(
        body("StatementMade", "2025-02-10", party="p1", speaker="S", quote="Q", positions=[taken, other])
    )
    store.append("talks", [said])
    expected, rows = projections.read(Axes(), projections.state)[0], projection_rows(database)
    p = stances_table
    with database.writer.begin() as conn:
        conn.execute(p.update().where(p.c.idx == 0).values(stance="neutral"))
        conn.execute(p.delete().where(p.c.idx == 1))
    rebuild(store.db)
    assert projection_rows(database) != rows
    rebuild(store.db, rerender=True)
    assert projection_rows(database) == rows
    assert Projections(database).read(Axes(), projections.state)[0] == expected
