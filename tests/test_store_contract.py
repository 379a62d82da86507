"""The store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest
import sqlalchemy as sa

from events import codec
from events.timeaxes import FOREVER_DATE, FOREVER_POSITION
from service.projection.rebuild import check_logged_stances, rebuild
from service.query.axes import Axes
from service.query.state import Projections
from service.storage.integrity import verify_chain
from service.storage.log import EventStore, chain_hash
from service.storage.refusals import AppendRefused, IdConflict, UnresolvedReference, VersionConflict
from service.storage.tables import events as events_table
from service.storage.tables import stances as stances_table
from tests.factories import body, event, events, issue, party, statement


def seed_vocabulary(store: EventStore) -> None:
    store.append("vocabulary", events(party("us"), party("russia"), party("ukraine"), issue("resource_deal")))


def test_positions_are_global_and_gapless_versions_per_stream(store: EventStore) -> None:
    seed_vocabulary(store)
    a = store.append("talks", events(statement("us"), statement("russia")))
    b = store.append("other", events(statement("ukraine")))
    c = store.append("talks", events(statement("us")))
    assert [e.position for e in a.events + b.events + c.events] == [5, 6, 7, 8]
    assert [e.version for e in a.events] == [1, 2]
    assert [e.version for e in b.events] == [1]
    assert c.events[0].version == 3 and c.version == 3
    page = store.read_log()
    assert [r.position for r in page.events] == list(range(1, 9))
    assert page.head == 8
    assert all(r.recorded_at.endswith("Z") for r in page.events)


def test_expected_version_conflict_reports_current_and_stores_nothing(store: EventStore) -> None:
    seed_vocabulary(store)
    store.append("talks", events(statement("us")), expected_version=0)
    with pytest.raises(VersionConflict) as caught:
        store.append("talks", events(statement("us")), expected_version=0)
    assert caught.value.extra["current_version"] == 1
    assert store.head() == 5
    assert store.append("talks", events(statement("us")), expected_version=1).version == 2


def test_a_batch_is_atomic(store: EventStore) -> None:
    seed_vocabulary(store)
    with pytest.raises(UnresolvedReference) as caught:
        store.append("talks", events(statement("us"), statement("nobody")))
    assert caught.value.pointer == "/events/1/party"
    assert store.head() == 4
    assert store.read_stream("talks")[1] == 0


def test_an_id_already_stored_is_not_stored_again(store: EventStore) -> None:
    seed_vocabulary(store)
    batch = events(statement("us"), statement("russia"))
    first = store.append("talks", batch, expected_version=0)
    again = store.append("talks", batch, expected_version=0)  # a retry: the earlier result
    assert again.replayed and again.events == first.events and again.version == first.version
    assert store.head() == 6
    changed = msgspec.structs.replace(batch[0], title="Something else")
    with pytest.raises(IdConflict) as caught:
        store.append("talks", [changed])
    assert caught.value.pointer == "/events/0/id"
    with pytest.raises(IdConflict):
        store.append("elsewhere", [batch[0]])  # the same id in another stream is another body
    twice = event(statement("us"))
    with pytest.raises(IdConflict):
        store.append("talks", [twice, twice])
    assert store.head() == 6


def test_references_must_resolve_to_earlier_definitions(store: EventStore) -> None:
    # defined earlier in the same batch: fine
    result = store.append("vocabulary", events(party("us"), statement("us", parties=["us"])))
    assert len(result.events) == 2
    # defined later in the same batch: not earlier, refused
    with pytest.raises(UnresolvedReference) as caught:
        store.append("vocabulary", events(statement("eu"), party("eu")))
    assert caught.value.pointer == "/events/0/party"
    position = {"party": "us", "issue": "nato", "stance": "opposes", "summary": "no"}
    with pytest.raises(UnresolvedReference) as caught:
        store.append("talks", events(statement("us", positions=[position])))
    assert caught.value.pointer == "/events/0/positions/0/issue"
    assert "issue 'nato'" in caught.value.detail
    store.append("vocabulary", events(issue("nato")))
    store.append("talks", events(statement("us", positions=[position])))
    with pytest.raises(UnresolvedReference):
        store.append("talks", events(body("ProposalRejected", proposal="plan", by=["us"])))
    store.append(
        "talks",
        events(
            body("ProposalTabled", proposal="plan", by=["us"], name="A plan"),
            body("ProposalRejected", proposal="plan", by=["us"]),
        ),
    )


def test_redefining_a_party_is_allowed(store: EventStore) -> None:
    store.append("vocabulary", events(party("us")))
    store.append("vocabulary", events(party("us", name="United States of America")))
    assert store.head() == 2


def test_retractions_and_corrections_name_a_stored_event(store: EventStore) -> None:
    seed_vocabulary(store)
    original = event(statement("us"))
    store.append("talks", [original])
    with pytest.raises(UnresolvedReference) as caught:
        store.append("talks", events(body("EventRetracted", target=str(uuid.uuid4()), reason="wrong")))
    assert caught.value.pointer == "/events/0/target"
    with pytest.raises(AppendRefused) as refused:
        store.append(
            "talks",
            events(
                body(
                    "EventCorrected", target=str(original.id), reason="r", changes={"occurred": "2025-02-31"}
                )
            ),
        )
    assert refused.value.pointer == "/events/0/changes"
    with pytest.raises(AppendRefused):
        store.append(
            "talks", events(body("EventCorrected", target=str(original.id), reason="r", changes={"id": "x"}))
        )
    correction = event(
        body("EventCorrected", target=str(original.id), reason="r", changes={"occurred": "2025-02-19"})
    )
    retraction = event(body("EventRetracted", target=str(original.id), reason="never said"))
    store.append("talks", [correction, retraction])
    found, head = store.get(original.id)
    assert head == 7
    assert [r.id for r in found.corrected_by] == [correction.id]
    assert [r.id for r in found.retracted_by] == [retraction.id]
    assert found.retracted_by[0].position == 7


def test_what_a_correction_changes_must_refer_to_what_is_defined(store: EventStore) -> None:
    """A correction's changes are checked as an event's own fields are: every party, issue and proposal
    they name resolves, to something stored or defined earlier in the batch, or the batch is refused and
    nothing of it is stored."""
    seed_vocabulary(store)
    position = {
        "party": "us",
        "issue": "resource_deal",
        "stance": "opposes",
        "summary": "no",
        "basis": "reported",
    }
    original = event(statement("us", positions=[position], parties=["russia"]))
    tabled = event(body("ProposalTabled", proposal="plan", by=["us"], name="A plan"))
    withdrawn = event(body("ProposalWithdrawn", proposal="plan", by=["us"]))
    store.append("talks", [original, tabled, withdrawn])
    head = store.head()

    def correcting(target: object, **changes: object) -> dict:
        return body("EventCorrected", target=str(target), reason="r", changes=changes)

    unknown = [
        (
            original.id,
            {"positions": [{**position, "party": "atlantis"}]},
            "/events/0/changes/positions/0/party",
        ),
        (
            original.id,
            {"positions": [{**position, "issue": "whaling"}]},
            "/events/0/changes/positions/0/issue",
        ),
        (original.id, {"parties": ["russia", "atlantis"]}, "/events/0/changes/parties/1"),
        (original.id, {"party": "atlantis"}, "/events/0/changes/party"),
        (withdrawn.id, {"proposal": "no_such_plan"}, "/events/0/changes/proposal"),
        (withdrawn.id, {"by": ["atlantis"]}, "/events/0/changes/by/0"),
    ]
    for target, changes, pointer in unknown:
        with pytest.raises(UnresolvedReference) as caught:
            store.append("talks", events(correcting(target, **changes)))
        assert caught.value.pointer == pointer
    assert store.head() == head
    # what the same batch defines first, or what is stored already (looked up for the changes alone)
    store.append("talks", events(party("atlantis"), correcting(original.id, parties=["atlantis"])))
    store.append("talks", events(correcting(original.id, positions=[{**position, "party": "atlantis"}])))
    assert store.head() == head + 3
    # what a correction names is checked, not indexed: it is found through its target
    assert [r.position for r in store.read_log(parties=["atlantis"]).events] == [head + 1]


def test_a_correction_cannot_change_what_an_event_defines(store: EventStore) -> None:
    seed_vocabulary(store)
    defined = event(party("atlantis"))
    store.append("vocabulary", [defined])
    changes = {"party": "ukraine"}  # defined too: still not a correction's to change
    with pytest.raises(AppendRefused) as refused:
        store.append(
            "vocabulary", events(body("EventCorrected", target=str(defined.id), reason="r", changes=changes))
        )
    assert refused.value.pointer == "/events/0/changes/party"
    assert "define another party" in refused.value.detail
    store.append(
        "vocabulary",
        events(body("EventCorrected", target=str(defined.id), reason="r", changes={"name": "Atlantis"})),
    )


def test_read_log_filters_and_pages(store: EventStore) -> None:
    seed_vocabulary(store)
    position = {"party": "ukraine", "issue": "resource_deal", "stance": "opposes", "summary": "no"}
    store.append("talks", events(statement("us"), statement("russia", positions=[position])))
    store.append("other", events(statement("ukraine")))
    assert [r.position for r in store.read_log(after=4, limit=2).events] == [5, 6]
    assert [r.position for r in store.read_log(types=["StatementMade"]).events] == [5, 6, 7]
    assert [r.position for r in store.read_log(streams=["other"]).events] == [7]
    assert [r.position for r in store.read_log(parties=["ukraine"]).events] == [3, 6, 7]
    assert [r.position for r in store.read_log(issues=["resource_deal"]).events] == [4, 6]
    assert [r.position for r in store.read_log(parties=["us"], types=["StatementMade"]).events] == [5]
    assert store.read_log(after=7).events == [] and store.read_log(after=7).head == 7


def test_read_stream_in_version_order(store: EventStore) -> None:
    seed_vocabulary(store)
    store.append("talks", events(statement("us"), statement("russia"), statement("ukraine")))
    page, version = store.read_stream("talks", from_version=2, limit=1)
    assert version == 3 and [r.version for r in page.events] == [2]
    assert store.read_stream("nothing")[1] == 0


def test_round_trip_keeps_every_field(store: EventStore) -> None:
    seed_vocabulary(store)
    original = event(
        body(
            "MeetingHeld",
            "2024-11~",
            reported="2025-02",
            location="Geneva",
            format="in_person",
            track="two",
            delegations=[{"party": "us", "members": [{"name": "Someone", "role": "envoy"}]}],
            absent=[{"party": "ukraine", "invited": False}],
        )
    )
    store.append("geneva", [original])
    found, _ = store.get(original.id)
    assert found.event == msgspec.structs.replace(original, stream="geneva")
    assert found.event.occurred.precision == "month" and found.event.occurred.approximate


def test_each_row_is_hash_chained_to_the_previous(store: EventStore, database) -> None:
    seed_vocabulary(store)
    store.append("talks", events(statement("us"), statement("russia")))
    with database.reader.connect() as conn:
        rows = conn.execute(sa.select(events_table).order_by(events_table.c.position)).all()
    previous = ""
    for row in rows:
        expected = chain_hash(previous, row.position, row.stream, row.version, row.recorded_at, row.data)
        assert row.hash == expected
        previous = row.hash


def test_verify_detects_an_edit_behind_the_services_back(store: EventStore, database) -> None:
    seed_vocabulary(store)
    store.append("talks", events(statement("us"), statement("russia")))
    assert verify_chain(store.db) == (6, None)
    with database.writer.begin() as conn:
        row = conn.execute(sa.select(events_table.c.data).where(events_table.c.position == 5)).scalar_one()
        conn.execute(
            events_table.update()
            .where(events_table.c.position == 5)
            .values(data=row.replace("We said it.", "We never said it."))
        )
    assert verify_chain(store.db) == (5, 5)


def test_verify_positions_detects_stored_positions_changed_behind_the_services_back(
    store: EventStore, database
) -> None:
    """Each stored position must be what its event says: rebuild trusts them, so verify checks them."""
    seed_vocabulary(store)
    taken = {"party": "us", "issue": "resource_deal", "stance": "supports", "summary": "s"}
    other = taken | {"party": "russia", "stance": "opposes"}
    said = events(*(statement("us", positions=[taken, other]) for _ in range(3)))
    store.append("talks", said)  # positions 5, 6, 7: two stances logged with each
    retraction = body("EventRetracted", "2025-03-01", target=str(said[1].id), reason="wrong")
    store.append("talks", events(retraction))  # position 8: marks 6 fixed, writes the rows of its forms
    # small chunks, so that the events and their rows are compared across chunk boundaries too
    assert check_logged_stances(store.db, step=3) == (8, None)
    p = stances_table
    changes = {
        "a changed stance": (7, p.update().where(p.c.seq == 7, p.c.idx == 1).values(stance="neutral")),
        "a deleted row": (5, p.delete().where(p.c.seq == 5, p.c.idx == 0)),
        "a row no event took": (
            8,
            p.insert().values(
                party="us",
                issue="resource_deal",
                occurred="2025-03-01",
                seq=8,
                idx=0,
                pos_from=8,
                pos_to=FOREVER_POSITION,
                known_from="2025-03-01",
                known_to=FOREVER_DATE.isoformat(),
                stance="supports",
                form_no=0,
                corrected=False,
                as_logged=True,
                fixed=False,
            ),
        ),
        "a changed date": (6, p.update().where(p.c.seq == 6, p.c.as_logged).values(occurred="2025-01-01")),
    }
    for what, (seq, change) in changes.items():
        with database.writer.begin() as conn:
            conn.execute(change)
        assert check_logged_stances(store.db, step=3) == (8, seq), what
        assert verify_chain(store.db) == (8, None)  # the log itself is intact
        rebuild(store.db, rerender=True)
        assert check_logged_stances(store.db, step=3) == (8, None), what
    # the marks and the forms' rows are projections, which a plain rebuild puts back: not checked here
    with database.writer.begin() as conn:
        conn.execute(p.update().values(fixed=sa.not_(p.c.fixed)))
    assert check_logged_stances(store.db) == (8, None)


def test_stored_events_of_an_older_schema_are_upcast_on_read(
    store: EventStore, database, monkeypatch
) -> None:
    seed_vocabulary(store)
    taken = {"party": "us", "issue": "resource_deal", "stance": "supports", "summary": "s"}
    new = event(statement("us", positions=[taken]))
    store.append("talks", [new])
    # Rewrite the row as an imagined version 0 of StatementMade wrote it: `who` instead of `speaker`, and
    # `view` instead of `stance` in its positions.
    old = codec.to_builtins(new)
    old["who"] = old.pop("speaker")
    old["positions"][0]["view"] = old["positions"][0].pop("stance")
    with database.writer.begin() as conn:
        conn.execute(
            events_table.update()
            .where(events_table.c.id == str(new.id))
            .values(schema_version=0, data=msgspec.json.encode(old).decode())
        )

    def rename_who(obj: dict) -> dict:
        obj = dict(obj, positions=[dict(p) for p in obj["positions"]])
        obj["speaker"] = obj.pop("who")
        obj["positions"][0]["stance"] = obj["positions"][0].pop("view")
        return obj

    monkeypatch.setitem(codec.UPCASTERS, ("StatementMade", 0), rename_who)
    found, _ = store.get(new.id)
    assert found.event == new
    # /state shows its position as upcast (it cannot take the shortcut read of the current schema's JSON)
    # and its stored position, written again from its JSON, is read through the upcaster too
    for rebuilt in (False, True):
        assert check_logged_stances(store.db) == (5, None)  # its logged stances are what it says, upcast
        if rebuilt:
            rebuild(store.db, rerender=True)
        projections = Projections(database)
        state = projections.read(Axes(), projections.state)[0]
        assert [(s.party, s.issue, s.stance, s.event.id) for s in state.positions] == [
            ("us", "resource_deal", "supports", new.id)
        ]


def test_large_and_small_batches_are_stored_alike(store: EventStore) -> None:
    """A batch of many rows goes by COPY on PostgreSQL and a small one in a pipeline of inserts (see
    service.storage.bulk): both store every row, and the daily stands show the last position of each."""
    store.append("vocabulary", events(party("us"), issue("sanctions_on_russia")))
    taken = {"party": "us", "issue": "sanctions_on_russia", "summary": "s"}
    many = [
        statement("us", f"2025-01-{1 + n % 28:02d}", positions=[taken | {"stance": "supports"}])
        for n in range(250)
    ]
    store.append("many", events(*many))
    store.append("few", events(statement("us", "2025-03-01", positions=[taken | {"stance": "opposes"}])))
    assert [store.read_stream(s)[1] for s in ("many", "few")] == [250, 1]
    projections = Projections(store.db)
    stands = {
        day: [s.stance for s in projections.read(Axes(as_of=day), projections.state)[0].positions]
        for day in (dt.date(2025, 1, 31), dt.date(2025, 3, 1))
    }
    assert stands == {dt.date(2025, 1, 31): ["supports"], dt.date(2025, 3, 1): ["opposes"]}
