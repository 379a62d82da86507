"""The structure of the negotiation (vocabulary, proposals, agreements, meetings) at any point on the axes.

A negotiation has hundreds of meetings and proposals, not millions: the version rows of these events are
few, so each process keeps all of them in memory, decoded, and answers from there. It keeps them fresh
without re-reading them: an append that adds or rewrites versions of a structural event leaves a row that
starts on the position axis beyond the log position it last caught up with (a new event's rows start at
its own position; a fix splits the rectangles of the event it names at the fix's position, retracted forms
included), so it reads again only the events such rows belong to.

Each entry of the answer (a party, an issue, a proposal, an agreement, a meeting) is folded from its own
events alone (:func:`events.folds.entry_of`), and kept, keyed by the forms it was folded from: an answer
puts together entries it has mostly folded before.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from typing import NamedTuple

import msgspec
import sqlalchemy as sa

from events.codec import encode
from events.folds import (
    STRUCTURAL_TYPES,
    AgreementState,
    IssueInfo,
    MeetingState,
    PartyInfo,
    ProposalState,
    entry_of,
    fold_structure,
)
from events.timeaxes import FOREVER_ISO, FOREVER_POSITION, Effective
from service.projection.forms import FORM_OF_VERSION
from service.query.caches import BoundedMap, FormCache
from service.storage.tables import events, proj_versions

ENTRY_LISTS = ("parties", "issues", "proposals", "agreements", "meetings")
SORTED_BY_KEY = ("parties", "issues", "proposals", "agreements")  # meetings keep valid-time order

_COLUMNS = (*FORM_OF_VERSION, proj_versions.c.occurred, proj_versions.c.pos_to, proj_versions.c.known_to)


class Row(NamedTuple):
    """A structural version row that counts somewhere (retracted forms count nowhere and are not kept)."""

    occurred: str
    seq: int
    pos_from: int
    pos_to: int
    known_from: str
    known_to: str
    form: Effective
    entry: tuple[str, str | int]


class Entry(NamedTuple):
    """An entry of the structure, and its JSON."""

    value: PartyInfo | IssueInfo | ProposalState | AgreementState | MeetingState
    json: msgspec.Raw


class StructureSnapshot(NamedTuple):
    """The rows as last read, in valid-time order (occurred, seq), and what answers need of them."""

    rows: list[Row]
    occurred: list[str]
    open_rows: list[Row]  # those whose rectangle is open on both axes (the form that holds from then on)
    open_occurred: list[str]
    settled_at: int  # the greatest edge of any rectangle on the position axis,
    settled_known: str  # and on the knowledge axis
    # Each list's entries among the open rows, in the order the list shows them, with the places of their
    # rows among the open rows: within the first k open rows an entry counts those of its rows below k.
    open_entries: dict[str, list[tuple[tuple[str, str | int], list[int]]]]
    prefixes: dict[tuple[int, tuple[str, ...]], dict[str, list[Entry]]]  # answers past every edge
    folded: dict[tuple[tuple[str, str | int], int], Entry | None]  # an entry over its first n open rows

    @classmethod
    def of(cls, rows: list[Row]) -> StructureSnapshot:
        open_rows = [r for r in rows if r.pos_to == FOREVER_POSITION and r.known_to == FOREVER_ISO]
        edges_at = [r.pos_from for r in rows] + [r.pos_to for r in rows if r.pos_to != FOREVER_POSITION]
        edges_known = [r.known_from for r in rows] + [r.known_to for r in rows if r.known_to != FOREVER_ISO]
        places: dict[tuple[str, str | int], list[int]] = {}  # in order of first appearance
        for place, row in enumerate(open_rows):
            places.setdefault(row.entry, []).append(place)
        open_entries: dict[str, list[tuple[tuple[str, str | int], list[int]]]] = {k: [] for k in ENTRY_LISTS}
        for entry, found in places.items():
            open_entries[entry[0]].append((entry, found))
        for kind in SORTED_BY_KEY:
            open_entries[kind].sort(key=lambda item: item[0][1])
        return cls(
            rows,
            [r.occurred for r in rows],
            open_rows,
            [r.occurred for r in open_rows],
            max(edges_at, default=0),
            max(edges_known, default=""),
            open_entries,
            {},
            {},
        )


_MISSING = object()  # not kept yet (None is kept too: an entry whose events fold to nothing)


class StructureMirror:
    def __init__(self, forms: FormCache, capacity: int) -> None:
        self._forms = forms  # decodes each form once, shared with the other answers
        self._lock = threading.Lock()
        self._synced = -1  # the log position the rows are known to hold everything of
        self._by_seq: dict[int, list[Row]] = {}
        self._held = StructureSnapshot.of([])
        self._entries: BoundedMap[tuple, Entry | None] = BoundedMap(capacity)

    def entries(
        self, conn: sa.Connection, at: int, known: str, until: str, kinds: tuple[str, ...] = ENTRY_LISTS
    ) -> dict[str, list[Entry]]:
        """The entries of each list of the structure, counting rows that hold at (``at``, ``known``) and
        occurred on or before ``until``; only the lists named by ``kinds`` are filled."""
        held = self._fresh(conn, at)
        if at >= held.settled_at and known >= held.settled_known:
            # Past every edge of every rectangle, the rows that count are the open ones that occurred by
            # ``until``: a prefix of them, so the answer is one per prefix, and is kept.
            prefix = (bisect.bisect_right(held.open_occurred, until), kinds)
            found = held.prefixes.get(prefix)
            if found is None:
                found = held.prefixes[prefix] = self._prefix(held, *prefix)
            return found
        rows = held.rows[: bisect.bisect_right(held.occurred, until)]
        counted = (r for r in rows if r.pos_from <= at < r.pos_to and r.known_from <= known < r.known_to)
        return self._assemble(counted, kinds)

    def _prefix(self, held: StructureSnapshot, count: int, kinds: tuple[str, ...]) -> dict[str, list[Entry]]:
        """The answer counting the first ``count`` open rows: each entry folded over its rows among them.
        An entry over its first n open rows is kept with the rows, so a new prefix mostly looks them up."""
        lists: dict[str, list[Entry]] = {kind: [] for kind in ENTRY_LISTS}
        for kind in kinds:
            for entry, places in held.open_entries[kind]:
                n = bisect.bisect_left(places, count)
                if n == 0:
                    continue
                found = held.folded.get((entry, n), _MISSING)
                if found is _MISSING:
                    rows = [held.open_rows[place] for place in places[:n]]
                    found = held.folded[(entry, n)] = self._entry(entry, rows)
                if found is not None:
                    lists[kind].append(found)
        return lists

    def _assemble(self, counted: Iterable[Row], kinds: tuple[str, ...]) -> dict[str, list[Entry]]:
        groups: dict[tuple[str, str | int], list[Row]] = {}
        for row in counted:
            if row.entry[0] in kinds:
                groups.setdefault(row.entry, []).append(row)
        lists: dict[str, list[tuple[str | int, Entry]]] = {kind: [] for kind in ENTRY_LISTS}
        for entry, members in groups.items():
            folded = self._entry(entry, members)
            if folded is not None:
                lists[entry[0]].append((entry[1], folded))
        for kind in SORTED_BY_KEY:
            lists[kind].sort(key=lambda keyed: keyed[0])
        return {kind: [found for _, found in keyed] for kind, keyed in lists.items()}

    def _entry(self, entry: tuple[str, str | int], members: list[Row]) -> Entry | None:
        key = (entry, tuple((r.seq, r.pos_from, r.known_from) for r in members))
        found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found
        folded = getattr(fold_structure(r.form for r in members), entry[0])
        return self._entries.keep(key, Entry(folded[0], msgspec.Raw(encode(folded[0]))) if folded else None)

    def _fresh(self, conn: sa.Connection, at: int) -> StructureSnapshot:
        """The rows, holding at least every row of log position ``at``, which the caller has read as (or
        below) the head before: rows read now hold everything up to that head."""
        with self._lock:
            if at > self._synced:
                self._sync(conn, at)
            return self._held

    def _sync(self, conn: sa.Connection, at: int) -> None:
        structural = proj_versions.c.type.in_(STRUCTURAL_TYPES)
        if self._synced < 0:  # the first look: read them all
            self._by_seq = {}
            changed = None
        else:
            fresh = proj_versions.c.pos_from > self._synced
            changed = set(conn.scalars(sa.select(proj_versions.c.seq).where(structural, fresh)))
            if not changed:
                self._synced = at
                return
        query = sa.select(*_COLUMNS).join(events, events.c.position == proj_versions.c.seq).where(structural)
        if changed is not None:
            query = query.where(proj_versions.c.seq.in_(sorted(changed)))
            for seq in changed:
                self._by_seq.pop(seq, None)
        for row in conn.execute(query):
            if row.retracted:
                continue
            form = self._forms.of_row(row)
            kept = Row(
                row.occurred,
                row.seq,
                row.pos_from,
                row.pos_to,
                row.known_from,
                row.known_to,
                form,
                entry_of(form),
            )
            self._by_seq.setdefault(row.seq, []).append(kept)
        rows = sorted(
            (r for seq_rows in self._by_seq.values() for r in seq_rows), key=lambda r: (r.occurred, r.seq)
        )
        self._held = StructureSnapshot.of(rows)
        self._synced = at
