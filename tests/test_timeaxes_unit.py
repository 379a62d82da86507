"""What counts on the three axes (events.timeaxes), and the rectangles that precompute it. No database."""

from __future__ import annotations

import datetime as dt
import itertools

from events.timeaxes import FOREVER_DATE, FOREVER_POSITION, Logged, counting, resolve, versions
from tests.factories import body, event, statement

D = dt.date


def logged(position: int, data: dict) -> Logged:
    return Logged(position, event(data))


def retract(target: Logged, occurred: str = "2025-03-01", **fields) -> dict:
    return body("EventRetracted", occurred, target=str(target.event.id), reason="wrong", **fields)


def correct(target: Logged, changes: dict, occurred: str = "2025-03-01", **fields) -> dict:
    return body(
        "EventCorrected", occurred, target=str(target.event.id), reason="fix", changes=changes, **fields
    )


def test_an_event_counts_from_its_position_and_reported_date() -> None:
    said = logged(5, statement("us", "2025-02-10", reported="2025-02-20"))
    assert resolve([said], at=4) is None
    assert resolve([said], at=5).event == said.event
    assert resolve([said], known_at=D(2025, 2, 19)) is None
    assert resolve([said], known_at=D(2025, 2, 20)) is not None


def test_a_retraction_counts_from_its_own_position_and_reported_date() -> None:
    said = logged(1, statement("us", "2025-02-10"))
    retraction = logged(2, retract(said, "2025-03-01"))
    group = [said, retraction]
    assert not resolve(group, at=1).retracted
    assert resolve(group, at=2).retracted
    assert not resolve(group, known_at=D(2025, 2, 28)).retracted
    assert resolve(group, known_at=D(2025, 3, 1)).retracted


def test_retracting_a_retraction_restores_the_event_and_retracting_a_correction_undoes_it() -> None:
    said = logged(1, statement("us", "2025-02-10", quote="first"))
    fix = logged(2, correct(said, {"quote": "second"}))
    undo_fix = logged(3, retract(fix))
    retraction = logged(4, retract(said))
    undo_retraction = logged(5, retract(retraction))
    group = [said, fix, undo_fix, retraction, undo_retraction]
    assert resolve(group, at=2).event.quote == "second" and resolve(group, at=2).corrected
    assert resolve(group, at=3).event.quote == "first" and not resolve(group, at=3).corrected
    assert resolve(group, at=4).retracted
    assert not resolve(group, at=5).retracted


def test_corrections_apply_in_position_order_and_can_move_an_event_in_valid_time() -> None:
    said = logged(1, statement("us", "2025-02-10"))
    first = logged(2, correct(said, {"occurred": "2025-01-05", "quote": "one"}))
    second = logged(3, correct(said, {"quote": "two"}))
    effective = resolve([said, first, second])
    assert effective.event.occurred.text == "2025-01-05" and effective.event.quote == "two"
    assert [e.event.id for e in counting([said, first, second], as_of=D(2025, 1, 31))] == [said.event.id]
    assert counting([said, first], as_of=D(2025, 1, 31), at=1) == []


def test_counting_orders_by_valid_time_then_position_whatever_the_append_order() -> None:
    late = logged(1, statement("us", "2025-02-18"))
    backdated = logged(2, statement("us", "2024-11"))
    same_day = logged(3, statement("us", "2025-02-18"))
    order = [e.position for e in counting([late, backdated, same_day])]
    assert order == [2, 1, 3]
    assert [e.position for e in counting([late, backdated, same_day], as_of=D(2024, 11, 1))] == [2]


def test_versions_tile_the_plane_exactly_as_resolve_answers() -> None:
    said = logged(1, statement("us", "2025-02-10", reported="2025-02-12"))
    fix = logged(3, correct(said, {"reported": "2025-02-11", "quote": "x"}, occurred="2025-02-15"))
    retraction = logged(6, retract(said, "2025-02-20"))
    group = [said, fix, retraction]
    forms = versions(group)
    for at, day in itertools.product(range(0, 9), range(9, 23)):
        known = D(2025, 2, day)
        holding = [v for v in forms if v.pos_from <= at < v.pos_to and v.known_from <= known < v.known_to]
        expected = resolve(group, at, known)
        assert len(holding) == (expected is not None), (at, known)
        if expected is not None:
            assert holding[0].effective == expected
    plain = versions([said])
    assert [(v.pos_from, v.pos_to, v.known_from, v.known_to) for v in plain] == [
        (1, FOREVER_POSITION, D(2025, 2, 12), FOREVER_DATE)
    ]
