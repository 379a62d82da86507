"""The daily stands (service.projection.stands): ``/state`` as of a date, as known now, is read from each
cell's row of its last day on or before it, and only where no row read has changed, and none was removed,
since the log position asked about.

That every answer equals the oracle fold, through this path or the general one, is the property test's
(tests/test_time_axes_property.py); these tests show which path an answer takes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from events.codec import to_builtins
from events.stand_json import RENDERING
from service.compose import event_store
from service.projection import rebuild as rebuild_module
from service.projection.rebuild import check_daily_stands, rebuild, render_if_stale, rendered_by
from service.query.axes import Axes
from service.query.state import Projections
from service.storage.database import Database, migrate
from service.storage.tables import proj_stands, proj_stands_removed
from service.storage.tables import stances as stances_table
from tests.factories import body, event, issue, party

TAKEN = {"party": "p1", "issue": "i1", "summary": "s"}


def said(occurred: str, stance: str, **fields) -> dict:
    position = TAKEN | {"stance": stance}
    return body("StatementMade", occurred, party="p1", speaker="S", quote="Q", positions=[position], **fields)


def stances(projections: Projections, **axes) -> list[str]:
    state = projections.read(Axes()._replace(**axes), projections.state)[0]
    return [s.stance for s in state.positions]


def test_state_as_of_a_date_is_read_from_the_rows_of_the_days_before_it(database: Database) -> None:
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports")), event(said("2025-02-20", "opposes"))])
    day = dt.date(2025, 2, 15)
    before = to_builtins(projections.read(Axes(as_of=day), projections.state)[0])
    with database.writer.begin() as conn:  # the general path reads positions: take them away
        conn.execute(stances_table.delete())
    assert to_builtins(projections.read(Axes(as_of=day), projections.state)[0]) == before
    assert stances(projections, as_of=day) == ["supports"]
    assert stances(projections) == ["opposes"]
    assert stances(projections, as_of=dt.date(2025, 2, 9)) == []  # before any day of the log
    # knowledge at a date is not what the rows hold: the general path, which finds nothing now
    assert stances(projections, as_of=day, known_at=dt.date(2025, 3, 1)) == []


def test_a_row_changed_after_the_position_asked_about_is_not_used(database: Database) -> None:
    """An answer at log position ``at`` uses the rows only if none it reads has changed since: a backdated
    event that changes a row later must not show in an answer at a position before it."""
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    first = store.append("talks", [event(said("2025-02-10", "supports"))]).events[-1].position
    store.append("talks", [event(said("2025-02-10", "opposes", reported="2025-04-01"))])  # backdated
    day = dt.date(2025, 2, 12)
    with database.reader.connect() as conn:
        changed_at = conn.scalar(sa.select(proj_stands.c.changed_at).where(proj_stands.c.day == "2025-02-10"))
    assert changed_at == first + 1
    assert stances(projections, as_of=day) == ["opposes"]
    assert stances(projections, as_of=day, at=first) == ["supports"]


def test_a_row_removed_after_the_position_asked_about_is_not_used(database: Database) -> None:
    """A retraction that leaves a cell's day without a position removes its row: an answer at a position
    before the retraction must still see the retracted stand, which no row holds any more."""
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports"))])
    later = event(said("2025-02-11", "opposes"))
    before = store.append("talks", [later]).events[-1].position
    retraction = body("EventRetracted", "2025-03-01", target=str(later.id), reason="wrong")
    store.append("talks", [event(retraction)])
    with database.reader.connect() as conn:
        assert conn.scalars(sa.select(proj_stands.c.day)).all() == ["2025-02-10"]
        assert conn.scalar(sa.select(proj_stands_removed.c.at)) == before + 1
    assert stances(projections, as_of=dt.date(2025, 2, 12)) == ["supports"]
    assert stances(projections, as_of=dt.date(2025, 2, 12), at=before) == ["opposes"]


def test_an_append_writes_only_the_rows_of_the_days_it_changes(database: Database) -> None:
    """The cost of an append follows what it changes: a position taken in the past adds the row of its day
    and leaves every other row as it was, however many days and cells the log spans."""
    store = event_store(database)
    store.append("v", [event(e) for e in (party("p1"), party("p2"), issue("i1"))])
    store.append("talks", [event(said(f"2025-0{m}-01", "supports")) for m in range(2, 10)])
    columns = sa.select(proj_stands).order_by(proj_stands.c.party, proj_stands.c.day)
    with database.reader.connect() as conn:
        rows = conn.execute(columns).all()
    backdated = store.append("talks", [event(said("2025-01-15", "opposes"))]).events[-1].position
    with database.reader.connect() as conn:
        after = conn.execute(columns).all()
    assert [row for row in after if row.changed_at == backdated] == [after[0]]
    assert (after[0].day, after[1:]) == ("2025-01-15", rows)


def test_rebuild_renders_again_what_shows_another_position_and_with_stored_everything(
    database: Database,
) -> None:
    store = event_store(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append(
        "talks", [event(said(f"2025-02-1{n}", stance)) for n, stance in enumerate(("supports", "opposes"))]
    )
    columns = sa.select(proj_stands).order_by(proj_stands.c.day)
    with database.reader.connect() as conn:
        rows = conn.execute(columns).all()
    assert [row.day for row in rows] == ["2025-02-10", "2025-02-11"]
    head = rows[-1].changed_at
    with database.writer.begin() as conn:
        s = proj_stands
        conn.execute(s.update().where(s.c.day == "2025-02-10").values(seq=rows[1].seq, json="{}"))
        conn.execute(s.update().where(s.c.day == "2025-02-11").values(json="{}"))
    rebuild(store.db)
    with database.reader.connect() as conn:
        rebuilt = conn.execute(columns).all()
    # it showed another position: derived and rendered again, and changed at the head
    assert rebuilt[0]._asdict() == rows[0]._asdict() | {"changed_at": head}
    assert rebuilt[1].json == "{}"  # the same position: its JSON is trusted, as logged stances are
    rebuild(store.db, rerender=True)
    with database.reader.connect() as conn:
        again = conn.execute(columns).all()
    assert [row._asdict() | {"changed_at": 0} for row in again] == [
        row._asdict() | {"changed_at": 0} for row in rows
    ]


def test_verify_finds_a_stand_not_rendered_from_the_log(database: Database) -> None:
    """A plain rebuild trusts the JSON of a stand that still shows the same position; verify does not."""
    store = event_store(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports")), event(said("2025-02-12", "opposes"))])
    assert check_daily_stands(store.db) is None
    with database.writer.begin() as conn:
        s = proj_stands
        conn.execute(s.update().where(s.c.day == "2025-02-12").values(json=s.c.json + " "))
    assert check_daily_stands(store.db) == "the stand of p1 on i1 as of 2025-02-12"
    rebuild(store.db, rerender=True)
    assert check_daily_stands(store.db) is None
    with database.writer.begin() as conn:
        conn.execute(proj_stands.delete().where(proj_stands.c.day == "2025-02-12"))
    assert check_daily_stands(store.db) == "the stand of p1 on i1 as of 2025-02-12"
    rebuild(store.db)
    assert check_daily_stands(store.db) is None
    with database.writer.begin() as conn:
        s = proj_stands
        conn.execute(s.update().where(s.c.day == "2025-02-12").values(day="2025-02-11"))
    assert check_daily_stands(store.db) == "the stand of p1 on i1 as of 2025-02-11"


def test_the_last_row_removed_after_the_position_asked_about_is_not_forgotten(database: Database) -> None:
    """With no row left at all, the removal still says that an answer before it must look elsewhere."""
    store, projections = event_store(database), Projections(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    only = event(said("2025-02-10", "supports"))
    before = store.append("talks", [only]).events[-1].position
    correction = body(
        "EventCorrected", "2025-03-01", target=str(only.id), reason="r", changes={"positions": []}
    )
    store.append("talks", [event(correction)])
    assert stances(projections) == []
    assert stances(projections, at=before) == ["supports"]


def test_stands_made_by_another_rendering_are_rendered_again_at_serve_and_migrate(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stands' JSON records the rendering that made it: a service whose rendering differs renders them
    again when it starts or migrates, rather than serving the old form until someone runs verify."""
    store = event_store(database)
    store.append("v", [event(e) for e in (party("p1"), issue("i1"))])
    store.append("talks", [event(said("2025-02-10", "supports"))])
    with database.writer.begin() as conn:  # as an older rendering would have written it
        conn.execute(proj_stands.update().values(json='{"old": true}'))
    assert render_if_stale(database) is False  # the same rendering: trusted
    assert check_daily_stands(database) == "the stand of p1 on i1 as of 2025-02-10"
    monkeypatch.setattr(rebuild_module, "RENDERING", RENDERING + 1)
    assert render_if_stale(database) is True
    assert check_daily_stands(database) is None
    assert render_if_stale(database) is False  # recorded: once is enough
    with database.writer.begin() as conn:
        conn.execute(proj_stands.update().values(json='{"old": true}'))
    monkeypatch.setattr(rebuild_module, "RENDERING", RENDERING + 2)
    migrate(database)
    assert check_daily_stands(database) is None
    with database.reader.connect() as conn:
        assert rendered_by(conn) == RENDERING + 2
