"""The daily stands (service.daily_stands): ``/state`` as of a date, as known now, is read from one day's
column, and only where that column still holds at the log position asked about.

That every answer equals the oracle fold, through this path or the general one, is the property test's
(tests/test_time_axes_property.py); these tests show which path an answer takes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from events.codec import to_builtins
from service.database import Database
from service.projections import Axes, Projections
from service.store import EventStore
from service.tables import positions, proj_days, proj_stands
from tests.factories import body, event, issue, party

TAKEN = {"party": "p1", "issue": "i1", "summary": "s"}


def said(occurred: str, stance: str, **fields) -> dict:
    position = TAKEN | {"stance": stance}
    return body("StatementMade", occurred, party="p1", speaker="S", quote="Q", positions=[position], **fields)


def stances(projections: Projections, **axes) -> list[str]:
    state = projections.read(Axes()._replace(**axes), projections.state)[0]
    return [s.stance for s in state.positions]


def test_state_as_of_a_date_is_read_from_that_days_column(database: Database) -> None:
    store, projections = EventStore(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports")), event(said("2025-02-20", "opposes"))])
    day = dt.date(2025, 2, 15)
    before = to_builtins(projections.read(Axes(as_of=day), projections.state)[0])
    with database.writer.begin() as conn:  # the general path reads positions: take them away
        conn.execute(positions.delete())
    assert to_builtins(projections.read(Axes(as_of=day), projections.state)[0]) == before
    assert stances(projections, as_of=day) == ["supports"]
    assert stances(projections) == ["opposes"]
    assert stances(projections, as_of=dt.date(2025, 2, 9)) == []  # before any day of the log
    # knowledge at a date is not what the column holds: the general path, which finds nothing now
    assert stances(projections, as_of=day, known_at=dt.date(2025, 3, 1)) == []


def test_a_column_changed_after_the_position_asked_about_is_not_used(database: Database) -> None:
    """An answer at log position ``at`` uses a day's column only if it has not changed since: a backdated
    event that changes the column later must not show in an answer at a position before it."""
    store, projections = EventStore(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    first = store.append("talks", [event(said("2025-02-10", "supports"))]).events[-1].position
    store.append("talks", [event(said("2025-02-10", "opposes", reported="2025-04-01"))])  # backdated
    day = dt.date(2025, 2, 12)
    with database.reader.connect() as conn:
        changed_at = conn.scalar(sa.select(proj_days.c.changed_at).where(proj_days.c.day == "2025-02-10"))
    assert changed_at == first + 1
    assert stances(projections, as_of=day) == ["opposes"]
    assert stances(projections, as_of=day, at=first) == ["supports"]


def test_rebuild_renders_again_what_shows_another_position_and_with_stored_everything(
    database: Database,
) -> None:
    store = EventStore(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append(
        "talks", [event(said(f"2025-02-1{n}", stance)) for n, stance in enumerate(("supports", "opposes"))]
    )
    columns = sa.select(proj_stands).order_by(proj_stands.c.day)
    with database.reader.connect() as conn:
        rows = conn.execute(columns).all()
    assert [row.day for row in rows] == ["2025-02-10", "2025-02-11"]
    with database.writer.begin() as conn:
        s = proj_stands
        conn.execute(s.update().where(s.c.day == "2025-02-10").values(seq=rows[1].seq, json="{}"))
        conn.execute(s.update().where(s.c.day == "2025-02-11").values(json="{}"))
    store.rebuild_projections()
    with database.reader.connect() as conn:
        rebuilt = conn.execute(columns).all()
    assert rebuilt[0] == rows[0]  # it showed another position: derived and rendered again
    assert rebuilt[1].json == "{}"  # the same position: its JSON is trusted, as stored positions are
    store.rebuild_projections(stored=True)
    with database.reader.connect() as conn:
        assert conn.execute(columns).all() == rows


def test_verify_finds_a_stand_not_rendered_from_the_log(database: Database) -> None:
    """A plain rebuild trusts the JSON of a stand that still shows the same position; verify does not."""
    store = EventStore(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports")), event(said("2025-02-12", "opposes"))])
    assert store.verify_daily_stands() is None
    with database.writer.begin() as conn:
        s = proj_stands
        conn.execute(s.update().where(s.c.day == "2025-02-12").values(json=s.c.json + " "))
    assert store.verify_daily_stands() == "the stand of p1 on i1 as of 2025-02-12"
    store.rebuild_projections(stored=True)
    assert store.verify_daily_stands() is None
    with database.writer.begin() as conn:
        conn.execute(proj_days.delete().where(proj_days.c.day == "2025-02-12"))
    assert store.verify_daily_stands() == "no column for 2025-02-12"
    with database.writer.begin() as conn:
        conn.execute(proj_stands.delete().where(proj_stands.c.day == "2025-02-12"))
        conn.execute(proj_days.insert().values(day="2025-02-12", changed_at=0))
    assert store.verify_daily_stands() == "the stand of p1 on i1 as of 2025-02-12"
