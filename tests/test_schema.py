"""The migrations create exactly the tables the code defines, and the service refuses a stale database."""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from events import timeaxes
from events.codec import UPCAST_BASIS
from events.timeaxes import Logged
from service.app import create_app
from service.compose import event_store
from service.query.axes import Axes
from service.query.state import Projections
from service.settings import Settings
from service.storage.database import Database, SchemaNotCurrent, alembic_config, check_schema, connect
from service.storage.tables import event_terms, metadata, proj_stands, proj_versions, stances
from service.storage.tables import events as events_table
from tests.factories import body, event, events, issue, party, statement
from tests.test_time_axes_property import projection_rows


def test_migrated_schema_equals_the_table_definitions(database: Database) -> None:
    with database.reader.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(database: Database) -> None:
    config = alembic_config(database)
    command.downgrade(config, "base")
    with pytest.raises(SchemaNotCurrent, match="not migrated"):
        check_schema(database)
    command.upgrade(config, "head")
    check_schema(database)


def test_the_app_refuses_an_unmigrated_database(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaNotCurrent, match=r"python -m service migrate"):
        create_app(Settings(database_url=url))


def test_the_app_refuses_an_outdated_database(database_url: str) -> None:
    database = connect(database_url)
    with database.writer.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'an_old_revision'"))
    try:
        with pytest.raises(SchemaNotCurrent, match="at revision an_old_revision"):
            create_app(Settings(database_url=database_url), database)
    finally:
        command.stamp(alembic_config(database), "head", purge=True)
        database.dispose()


def test_upgrading_a_log_projects_it_as_appending_did(database: Database) -> None:
    """Projections written before a migration (or not at all) come out of it as the append path writes
    them: here a corrected position, which the newest tables mark as corrected."""
    store = event_store(database)
    store.append("vocabulary", events(party("p1"), issue("i1")))
    stance = {"party": "p1", "issue": "i1", "stance": "supports", "basis": "stated", "summary": "s"}
    said = event(statement("p1", positions=[stance]))
    fix = {"positions": [stance | {"stance": "opposes"}]}
    store.append("talks", [said])
    store.append("talks", events(body("EventCorrected", target=str(said.id), reason="r", changes=fix)))
    appended = projection_rows(database)
    with database.reader.connect() as conn:
        rows = conn.execute(
            sa.select(stances.c.stance, stances.c.corrected, stances.c.as_logged, stances.c.fixed)
        ).all()
    # as stored, and reached by a fix; the form before the fix; the corrected form
    assert sorted(rows) == [
        ("opposes", True, False, False),
        ("supports", False, False, False),
        ("supports", False, True, True),
    ]
    config = alembic_config(database)
    # before positions were stored with their events; projections without the mark; no projections
    for revision in ("5f2d68cc6be7", "efddda811897", "9b3a638860dd"):
        command.downgrade(config, revision)
        command.upgrade(config, "head")
        assert projection_rows(database) == appended, revision


@pytest.mark.postgres
def test_the_latest_stance_index_covers_its_lookup_on_postgresql(postgres_url: str) -> None:
    database = connect(postgres_url)
    try:
        with database.reader.connect() as conn:
            definition = conn.scalar(
                sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                {"name": "ix_stances_party_issue_occurred_seq_idx"},
            )
    finally:
        database.dispose()
    assert "INCLUDE (pos_from, pos_to, known_from, known_to, form_no, corrected, fixed)" in definition


def test_the_rows_passed_between_modules_have_the_columns_of_their_tables() -> None:
    """Rows are written by field name order: each named row holds exactly its table's columns, in order."""
    from service.projection.apply import StanceRow, VersionRow
    from service.projection.stands import ShownStance, Shows, StandRow, Taken
    from service.storage.log import DefinitionRow, EventRow, TermRow
    from service.storage.tables import definitions, event_terms, events, proj_stands, proj_versions

    def names(table: sa.Table, without: tuple[str, ...] = ()) -> tuple[str, ...]:
        return tuple(c.name for c in table.c if c.name not in without)

    assert EventRow._fields == names(events)
    assert TermRow._fields == names(event_terms)
    assert DefinitionRow._fields == names(definitions)
    assert VersionRow._fields == names(proj_versions)
    assert StanceRow._fields == names(stances, without=("id",))
    assert StandRow._fields == names(proj_stands)
    # what a daily stand is made from names columns of the stance rows and of the stands
    assert set(ShownStance._fields) <= set(names(stances))
    assert set(Shows._fields) <= set(names(stances)) & set(names(proj_stands))
    assert set(Taken._fields) - {"day", "data"} <= set(names(proj_stands))


def test_the_rows_built_as_plain_tuples_hold_each_value_under_its_columns_name(database: Database) -> None:
    """The write path builds its rows as plain tuples in the order of their NamedTuple (see
    service.storage.bulk.new_row): read back by column name, each value is where its name says."""
    store = event_store(database)
    store.append("v", events(party("p1"), issue("i1")))
    taken = {"party": "p1", "issue": "i1", "summary": "s", "stance": "supports"}
    said = event(statement("p1", "2025-02-10", reported="2025-02-12", positions=[taken]))
    store.append("talks", [said])
    fix = event(
        body(
            "EventCorrected",
            "2025-02-14",
            target=str(said.id),
            changes={"occurred": "2025-02-11"},
            reason="misdated",
        )
    )
    store.append("talks", [fix])
    with database.reader.connect() as conn:
        row = conn.execute(sa.select(events_table).where(events_table.c.id == str(said.id))).one()
        assert (row.position, row.stream, row.version, row.type) == (3, "talks", 1, "StatementMade")
        assert (row.occurred, row.reported, row.target, row.schema_version) == (
            "2025-02-10",
            "2025-02-12",
            None,
            type(said).schema_version,
        )
        assert msgspec.json.decode(row.data)["id"] == str(said.id) and len(row.hash) == 64
        assert conn.execute(
            sa.select(events_table.c.target).where(events_table.c.position == 4)
        ).scalar() == str(said.id)
        terms = conn.execute(sa.select(event_terms).where(event_terms.c.position == 3)).all()
        assert {(t.kind, t.term) for t in terms} == {("party", "p1"), ("issue", "i1")}
        order = (stances.c.as_logged.desc(), stances.c.form_no)
        logged, *forms = conn.execute(sa.select(stances).where(stances.c.seq == 3).order_by(*order)).all()
        assert (logged.party, logged.issue, logged.occurred, logged.idx, logged.stance) == (
            "p1",
            "i1",
            "2025-02-10",
            0,
            "supports",
        )
        assert (logged.pos_from, logged.known_from, logged.as_logged, logged.fixed) == (
            3,
            "2025-02-12",
            True,
            True,
        )
        # the forms the oracle gives the event, over their rectangles, each by its columns' names
        oracle = timeaxes.versions([Logged(3, said), Logged(4, fix)])
        expected = [
            (v.effective.event.occurred.start.isoformat(), v.pos_from, v.pos_to, v.known_from.isoformat())
            + (v.known_to.isoformat(), n, v.effective.corrected, "supports")
            for n, v in enumerate(oracle)
            if not v.effective.retracted
        ]
        assert len(expected) >= 2 and expected[-1][6] and not expected[0][6]  # as logged, then corrected
        assert [
            (f.occurred, f.pos_from, f.pos_to, f.known_from, f.known_to, f.form_no, f.corrected, f.stance)
            for f in forms
        ] == expected
        assert not any(f.as_logged or f.fixed for f in forms)
        forms_of = conn.execute(
            sa.select(proj_versions).where(proj_versions.c.seq == 3).order_by(proj_versions.c.form_no)
        ).all()
        assert [
            (
                f.form_no,
                f.type,
                f.occurred,
                f.pos_from,
                f.pos_to,
                f.known_from,
                f.known_to,
                f.retracted,
                f.corrected,
            )
            for f in forms_of
        ] == [
            (n, "StatementMade", v.effective.event.occurred.start.isoformat(), v.pos_from, v.pos_to)
            + (v.known_from.isoformat(), v.known_to.isoformat(), v.effective.retracted, v.effective.corrected)
            for n, v in enumerate(oracle)
        ]
        assert [f.data is None for f in forms_of] == [not v.effective.corrected for v in oracle]
        assert msgspec.json.decode(forms_of[-1].data)["occurred"] == "2025-02-11"
        stands = conn.execute(sa.select(proj_stands).order_by(proj_stands.c.day)).all()
        assert [(s.party, s.issue, s.day, s.seq, s.idx, s.pos_from) for s in stands] == [
            ("p1", "i1", "2025-02-11", 3, 0, 4)
        ]
        assert stands[0].changed_at == 4 and msgspec.json.decode(stands[0].json)["stance"] == "supports"


def test_a_log_of_the_older_schema_shows_every_stance_with_a_basis_after_the_migration(
    database: Database,
) -> None:
    """Rows written before positions had a basis (schema version 1), with projections rendered from them,
    are not rewritten: the migration renders the projections again, through the upcaster, so every stand
    shows the basis an upcast position gets, and a corrected form (kept encoded) decodes again."""
    store = event_store(database)
    store.append("vocabulary", events(party("p1"), issue("i1"), issue("i2")))
    said = event(
        statement("p1", positions=[{"party": "p1", "issue": "i1", "stance": "supports", "summary": "s"}])
    )
    other = event(
        statement("p1", positions=[{"party": "p1", "issue": "i2", "stance": "opposes", "summary": "t"}])
    )
    store.append("talks", [said, other])
    fix = {"positions": [{"party": "p1", "issue": "i2", "stance": "neutral", "summary": "u"}]}  # version 1
    correction = event(body("EventCorrected", target=str(other.id), reason="r", changes={"title": "T"}))
    store.append("talks", [correction])

    def without_basis(text: str) -> str:
        data = msgspec.json.decode(text)
        for taken in data.get("positions", []):
            taken.pop("basis", None)
        return msgspec.json.encode(data).decode()

    with database.writer.begin() as conn:  # as the older code wrote and rendered them
        for row in conn.execute(sa.select(events_table.c.position, events_table.c.data)).all():
            data = msgspec.json.decode(row.data)
            if data["type"] == "EventCorrected":
                data["changes"] = fix
            data = without_basis(msgspec.json.encode(data).decode())
            conn.execute(
                events_table.update()
                .where(events_table.c.position == row.position)
                .values(data=data, schema_version=1)
            )
        conn.execute(
            proj_stands.update().values(json=sa.func.replace(proj_stands.c.json, '"basis":"reported",', ""))
        )
        for row in conn.execute(
            sa.select(proj_versions.c.seq, proj_versions.c.form_no, proj_versions.c.data)
        ).all():
            if row.data is not None:
                conn.execute(
                    proj_versions.update()
                    .where(proj_versions.c.seq == row.seq, proj_versions.c.form_no == row.form_no)
                    .values(data=without_basis(row.data))
                )
    config = alembic_config(database)
    command.downgrade(config, "4b7e1d9c2a60")
    command.upgrade(config, "head")
    projections = Projections(database)
    state = projections.read(Axes(), projections.state)[0]
    assert [(s.issue, s.stance, s.basis) for s in state.positions] == [
        ("i1", "supports", UPCAST_BASIS),
        ("i2", "neutral", UPCAST_BASIS),  # the corrected form, upcast with its correction
    ]
    with database.reader.connect() as conn:
        rendered = conn.scalars(sa.select(proj_stands.c.json)).all()
    assert rendered and all(f'"basis":"{UPCAST_BASIS}"' in text for text in rendered)
    found, _ = store.get(other.id)
    assert [p.basis for p in found.event.positions] == [UPCAST_BASIS]  # the stored row as upcast on read
