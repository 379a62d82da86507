"""Which events count on the three time axes, and in what form, as a pure function of the log.

``as_of`` (valid time) filters by an event's occurred date; ``known_at`` (knowledge time) by its reported
date; ``at`` (system time) by its log position. Retractions and corrections fix the record rather than
happen in the world: they count on ``at`` and ``known_at`` (their own position and reported date) but at
every ``as_of``. A retraction of a retraction or of a correction undoes it.

:func:`resolve` answers one question for one event. :func:`versions` precomputes the answer for every
``(at, known_at)`` at once, as rectangles in that plane, so a store can index them and answer any query
without replaying the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from events.codec import apply_changes
from events.vocabulary import Event, EventCorrected, EventRetracted

FOREVER_POSITION = 2**63 - 1
FOREVER_DATE = dt.date.max
FOREVER_ISO = FOREVER_DATE.isoformat()  # as dates are stored


class Logged(NamedTuple):
    """An event as the log holds it."""

    position: int
    event: Event


class Effective(NamedTuple):
    """An event as it counts: corrected where corrections count; ``retracted`` when a retraction does."""

    position: int
    event: Event
    retracted: bool
    corrected: bool


class Version(NamedTuple):
    """An event's form over a rectangle of (position, knowledge date); each from inclusive, to exclusive."""

    pos_from: int
    pos_to: int
    known_from: dt.date
    known_to: dt.date
    effective: Effective


def is_meta(event: Event) -> bool:
    return isinstance(event, EventRetracted | EventCorrected)


def reported_start(event: Event) -> dt.date:
    return (event.reported or event.occurred).start


def resolve(
    group: Sequence[Logged], at: int = FOREVER_POSITION, known_at: dt.date = FOREVER_DATE
) -> Effective | None:
    """The first event of ``group`` as it counts at ``at``/``known_at``; None if it does not count.

    ``group`` is an event followed by every retraction and correction that targets it, directly or through
    another of them, in position order.
    """
    effective = _apply_metas(group, at, known_at)
    if effective is None or reported_start(effective.event) > known_at:
        return None
    return effective


def _apply_metas(group: Sequence[Logged], at: int, known_at: dt.date) -> Effective | None:
    """The event with the retractions and corrections that count applied; not yet checked as known."""
    root = group[0]
    if root.position > at:
        return None
    counting = [g for g in group[1:] if g.position <= at and reported_start(g.event) <= known_at]
    undone: set = set()
    for logged in reversed(counting):  # a later retraction decides about the earlier ones it names
        if isinstance(logged.event, EventRetracted) and logged.event.id not in undone:
            undone.add(logged.event.target)
    event = root.event
    corrected = False
    for logged in counting:
        meta = logged.event
        if isinstance(meta, EventCorrected) and meta.id not in undone and meta.target == event.id:
            event = apply_changes(event, meta.changes)
            corrected = True
    return Effective(root.position, event, root.event.id in undone, corrected)


def versions(group: Sequence[Logged]) -> list[Version]:
    """Every form the first event of ``group`` takes, each with the (at, known_at) rectangle where it holds.

    Which members count changes only at their positions and reported dates; whether the event itself is
    known changes only at a reported date one of its forms gives it. Between those thresholds the answer is
    constant, so evaluating :func:`resolve` once per cell of that grid covers the whole plane.
    """
    positions = sorted({g.position for g in group})
    member_dates = sorted({reported_start(g.event) for g in group})
    dates = set(member_dates)
    for p in positions:
        for k in member_dates:
            form = _apply_metas(group, p, k)
            if form is not None:
                dates.add(reported_start(form.event))
    return _merge(_grid(group, positions, sorted(dates)))


def _grid(group: Sequence[Logged], positions: list[int], dates: list[dt.date]) -> list[Version]:
    cells = []
    for i, p in enumerate(positions):
        p_to = positions[i + 1] if i + 1 < len(positions) else FOREVER_POSITION
        for j, k in enumerate(dates):
            k_to = dates[j + 1] if j + 1 < len(dates) else FOREVER_DATE
            effective = resolve(group, p, k)
            if effective is not None:
                cells.append(Version(p, p_to, k, k_to, effective))
    return cells


def _merge(cells: list[Version]) -> list[Version]:
    """Join cells that hold the same form and touch along the knowledge axis, then along positions."""
    merged: list[Version] = []
    for cell in cells:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.pos_from == cell.pos_from
            and last.known_to == cell.known_from
            and last.effective == cell.effective
        ):
            merged[-1] = last._replace(known_to=cell.known_to)
        else:
            merged.append(cell)
    result: list[Version] = []
    for cell in sorted(merged, key=lambda v: (v.known_from, v.known_to, v.pos_from)):
        last = result[-1] if result else None
        if (
            last is not None
            and (last.known_from, last.known_to) == (cell.known_from, cell.known_to)
            and last.pos_to == cell.pos_from
            and last.effective == cell.effective
        ):
            result[-1] = last._replace(pos_to=cell.pos_to)
        else:
            result.append(cell)
    return result


def groups(log: Iterable[Logged]) -> list[list[Logged]]:
    """Split a log into groups: each event that is not a retraction or correction, with its metas."""
    root_of: dict = {}
    members: dict = {}
    for logged in sorted(log, key=lambda g: g.position):
        event = logged.event
        if is_meta(event):
            root = root_of.get(event.target)
            if root is None:
                continue  # names an event outside this log slice
            root_of[event.id] = root
            members[root].append(logged)
        else:
            root_of[event.id] = event.id
            members[event.id] = [logged]
    return list(members.values())


def counting(
    log: Iterable[Logged],
    as_of: dt.date = FOREVER_DATE,
    known_at: dt.date = FOREVER_DATE,
    at: int = FOREVER_POSITION,
    include_retracted: bool = False,
) -> list[Effective]:
    """The events that count on all three axes, as they count, in valid-time order (occurred, position)."""
    out = []
    for group in groups(log):
        effective = resolve(group, at, known_at)
        if effective is None or effective.event.occurred.start > as_of:
            continue
        if effective.retracted and not include_retracted:
            continue
        out.append(effective)
    out.sort(key=valid_time_key)
    return out


def valid_time_key(effective: Effective) -> tuple[dt.date, int]:
    return (effective.event.occurred.start, effective.position)
