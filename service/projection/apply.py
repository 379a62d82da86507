"""Maintains the projections from the log, in the same transaction as each append.

Every event that is not a retraction or correction is written as its stances as logged (``stances`` rows
marked ``as_logged``: they belong to the log, and count from the event's log position and reported date
on) and as its versions (events.timeaxes.versions): the forms it takes over rectangles of (log position,
knowledge date), numbered 0, 1, ... per event (``form_no``). An event no retraction or correction names has
one version, open on both axes. A retraction or correction marks the stances as logged of the event it
names (directly or through another retraction) as ``fixed``, and rewrites that event's versions, with the
stances of each form. Then every cell's stand as of each day (service.projection.stands) is brought up to
date from the days whose stances changed. Because this happens inside the append transaction, projections
always reflect exactly the log they sit beside, and an answer's log position is exact.

``rebuild`` (service.projection.rebuild) recreates them from the log with the same rows and functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa

from events.codec import encode
from events.timeaxes import (
    FOREVER_DATE,
    FOREVER_ISO,
    FOREVER_POSITION,
    Effective,
    Logged,
    Version,
    is_meta,
    reported_start,
    versions,
)
from events.vocabulary import type_name
from service.projection import fixes
from service.projection.stands import DailyStands, Taken, Touched
from service.storage.bulk import chunks, insert_missing_rows, insert_rows, new_row
from service.storage.tables import proj_cells, proj_versions, stances


class VersionRow(NamedTuple):
    """A row of ``proj_versions``: one form of an event over its rectangle of the axes. (``version_rows``
    builds these as plain tuples in this order: see ``service.storage.bulk.new_row``.)"""

    seq: int
    form_no: int
    type: str
    occurred: str
    pos_from: int
    pos_to: int
    known_from: str
    known_to: str
    retracted: bool
    corrected: bool
    data: str | None  # the corrected event, when the form differs from the event as logged


class StanceRow(NamedTuple):
    """A row of ``stances`` (without its ``id``): one stance an event, or one of its forms, takes. (Built
    as plain tuples in this order, like ``VersionRow``.)"""

    party: str
    issue: str
    occurred: str
    seq: int
    idx: int
    pos_from: int
    pos_to: int
    known_from: str
    known_to: str
    stance: str
    form_no: int
    corrected: bool
    as_logged: bool
    fixed: bool


class Rows(NamedTuple):
    """What the versions of some events write: their version rows, the stance rows of fixed events'
    forms, and the cells their stances name."""

    versions: list[tuple]  # VersionRows and StanceRows, as plain tuples (see service.storage.bulk.new_row)
    stances: list[tuple]
    cells: set[tuple[str, str]]


class Projector:
    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite
        self.daily = DailyStands(is_sqlite)

    def apply(
        self, conn: sa.Connection, appended: Sequence[Logged], data: Sequence[str] | None = None
    ) -> None:
        """Project events just appended (in position order) inside the append transaction; ``data`` holds
        each one's JSON as logged, where the caller has it."""
        if data is None:
            data = [encode(logged.event).decode() for logged in appended]
        insert_logged_stances(conn, [logged for logged in appended if not is_meta(logged.event)])
        in_batch = {str(logged.event.id): logged for logged in appended}
        revisit = fixes.roots(conn, [g.event.target for g in appended if is_meta(g.event)], in_batch)
        plain = [
            (logged, json)
            for logged, json in zip(appended, data, strict=True)
            if not is_meta(logged.event) and logged.position not in revisit
        ]
        write_rows(
            conn, version_rows([(logged, [single_version(logged)]) for logged, _ in plain], fixed=False)
        )
        taken = [
            new_row(
                Taken,
                (p.party, p.issue, occurred, logged.position, idx, known, data),
            )
            for logged, data in plain
            for occurred, known in (
                (logged.event.occurred.start.isoformat(), reported_start(logged.event).isoformat()),
            )
            for idx, p in enumerate(logged.event.positions)
        ]
        touched: set[Touched] = set()
        s = stances
        for group in fixes.fix_groups(conn, revisit):
            root = group[0].position
            touched |= self._days_of(conn, root)
            conn.execute(s.delete().where(s.c.seq == root, sa.not_(s.c.as_logged)))
            conn.execute(proj_versions.delete().where(proj_versions.c.seq == root))
            write_rows(conn, version_rows([(group[0], versions(group))], fixed=True))
            touched |= self._days_of(conn, root)
        mark_fixed(conn, revisit, True)
        self.daily.refresh(conn, taken, touched, appended[-1].position)

    @staticmethod
    def _days_of(conn: sa.Connection, seq: int) -> set[Touched]:
        """The cells, and the days, of every stance row of the event at ``seq``."""
        s = stances
        return set(conn.execute(sa.select(s.c.party, s.c.issue, s.c.occurred).where(s.c.seq == seq)).all())


def logged_stance_rows(appended: Sequence[Logged]) -> list[tuple]:
    """The ``stances`` rows of events as logged, unmarked: they count from the event's log position and
    reported date on, until a fix reaches the event. (StanceRows, as plain tuples: see
    ``service.storage.bulk.new_row``.)"""
    return [
        (
            p.party,
            p.issue,
            logged.event.occurred.start.isoformat(),
            logged.position,
            idx,
            logged.position,
            FOREVER_POSITION,
            reported_start(logged.event).isoformat(),
            FOREVER_ISO,
            p.stance,
            0,
            False,
            True,
            False,
        )
        for logged in appended
        for idx, p in enumerate(logged.event.positions)
    ]


def insert_logged_stances(conn: sa.Connection, appended: Sequence[Logged]) -> None:
    """Write the stances of events just appended, as logged."""
    insert_rows(conn, stances, list(StanceRow._fields), logged_stance_rows(appended))


def version_rows(items: Sequence[tuple[Logged, list[Version]]], fixed: bool) -> Rows:
    """The version rows of events; for ``fixed`` ones, the stance rows of each form (their stances as
    logged are written with them); and the cells their stances name."""
    out = Rows([], [], set())
    for logged, forms in items:
        for form_no, form in enumerate(forms):
            event = form.effective.event
            occurred, known_from, known_to = (
                event.occurred.start.isoformat(),
                form.known_from.isoformat(),
                form.known_to.isoformat(),
            )
            corrected = form.effective.corrected
            out.versions.append(
                (
                    logged.position,
                    form_no,
                    type_name(event),
                    occurred,
                    form.pos_from,
                    form.pos_to,
                    known_from,
                    known_to,
                    form.effective.retracted,
                    corrected,
                    encode(event).decode() if corrected else None,
                )
            )
            if form.effective.retracted:
                continue
            for idx, p in enumerate(event.positions):
                out.cells.add((p.party, p.issue))
                if fixed:
                    out.stances.append(
                        (
                            p.party,
                            p.issue,
                            occurred,
                            logged.position,
                            idx,
                            form.pos_from,
                            form.pos_to,
                            known_from,
                            known_to,
                            p.stance,
                            form_no,
                            corrected,
                            False,
                            False,
                        )
                    )
    return out


def write_rows(conn: sa.Connection, rows: Rows) -> None:
    insert_rows(conn, proj_versions, list(VersionRow._fields), rows.versions)
    insert_rows(conn, stances, list(StanceRow._fields), rows.stances)
    insert_cells(conn, rows.cells)


def mark_fixed(conn: sa.Connection, seqs: set[int], fixed: bool) -> int:
    """Mark the stances as logged of the events at ``seqs`` as reached by a fix (``fixed``), or not;
    returns how many rows changed (an event that takes no stance has none)."""
    if not seqs:
        return 0
    s = stances
    update = s.update().where(s.c.seq.in_(sa.bindparam("seqs", expanding=True)), s.c.as_logged)
    update = update.values(fixed=fixed)
    return sum(conn.execute(update, {"seqs": chunk}).rowcount for chunk in chunks(seqs))


def insert_cells(conn: sa.Connection, cells: set[tuple[str, str]]) -> None:
    insert_missing_rows(conn, proj_cells, sorted(cells))


def single_version(logged: Logged) -> Version:
    """The one version of an event no retraction or correction names: open on both axes."""
    return new_row(
        Version,
        (
            logged.position,
            FOREVER_POSITION,
            reported_start(logged.event),
            FOREVER_DATE,
            new_row(Effective, (logged.position, logged.event, False, False)),
        ),
    )
