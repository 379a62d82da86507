"""Realistic synthetic negotiation logs for benchmarks: pure, seeded, reproducible.

:func:`generate` yields ``(stream, event)`` pairs in append order, each event a JSON-ready dict as a client
would send it (see ``tests/factories.py``). A log of any size has:

- a vocabulary first: 12 ``PartyDefined`` and 15 ``IssueDefined`` events;
- a bounded structure over two years (2024-03-01 .. 2026-02-28): about 300 ``MeetingHeld``, 200 proposals
  (``ProposalTabled`` with ``Amended`` / ``Rejected`` / ``Withdrawn`` after it) and 50 ``AgreementReached``.
  A real negotiation has a bounded number of meetings and proposals, and ``/state`` lists them all, so
  these counts do not grow with the log (from 10,000 events on they are the same events at every size;
  smaller logs get proportionally fewer);
- everything else ``StatementMade`` (60 %) and ``PledgeMade`` (40 %), each revealing 1-3 positions, more of
  them as the talks intensify, fewer at weekends; stances drift around a per-party baseline;
- dates mostly of day precision, some approximate (``~``) and some of month or year precision;
- about 5 % backdated events: appended 20-240 days after they occurred, with ``reported`` set to the day
  they were appended;
- about 0.5 % ``EventRetracted`` and 0.5 % ``EventCorrected`` naming earlier events (a correction changes a
  stance through ``changes={"positions": [...]}``, the ``occurred`` date, or a meeting's location); a few
  retractions retract an earlier retraction.

Every id is a fixed UUID drawn from the seed, so the same ``(size, seed)`` always gives the same log. A
retraction, correction or agreement names only events at least :data:`MIN_GAP` places earlier in append
order, so a loader may group up to :data:`MIN_GAP` consecutive events by stream (reordering them across
streams) without ever putting a reference before what it refers to.

Run ``python bench/generate.py SIZE [SEED]`` to print a summary of a log.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

START = dt.date(2024, 3, 1)
END = dt.date(2026, 2, 28)
DAYS = (END - START).days + 1

MIN_GAP = 1000
FULL_STRUCTURE_FROM = 10_000  # logs at least this large have the whole bounded structure
MEETINGS = 300
PROPOSALS = 200
AGREEMENT_EVENTS = 50
BACKDATED = 0.05
RETRACTED = 0.005
CORRECTED = 0.005
_RESERVOIR = 4096  # candidate targets of retractions and corrections kept at any time

# slug, name, kind, weight (how often it speaks), speakers (name, role)
PARTIES: list[tuple[str, str, str, float, list[tuple[str, str]]]] = [
    ("us", "United States", "state", 5.0, [("A. Carter", "Secretary of State"), ("B. Lane", "Envoy")]),
    ("russia", "Russia", "state", 4.0, [("D. Orlov", "Foreign Minister"), ("E. Volkov", "Aide")]),
    ("ukraine", "Ukraine", "state", 5.0, [("H. Koval", "President"), ("I. Bondar", "Foreign Minister")]),
    ("eu", "European Union", "bloc", 2.5, [("J. Weber", "High Representative")]),
    ("france", "France", "state", 1.5, [("L. Martin", "President"), ("M. Dubois", "Foreign Minister")]),
    ("germany", "Germany", "state", 1.5, [("N. Fischer", "Chancellor")]),
    ("uk", "United Kingdom", "state", 1.5, [("O. Hughes", "Prime Minister")]),
    ("poland", "Poland", "state", 1.0, [("P. Nowak", "Foreign Minister")]),
    ("spain", "Spain", "state", 0.5, [("R. Garcia", "Prime Minister")]),
    ("canada", "Canada", "state", 0.5, [("S. Tremblay", "Foreign Minister")]),
    ("turkey", "Turkey", "state", 0.8, [("T. Demir", "Foreign Minister")]),
    ("china", "China", "state", 0.7, [("W. Zhang", "Special Envoy")]),
]

ISSUES: list[tuple[str, str]] = [
    ("ceasefire_on_current_lines", "a ceasefire that freezes the front where it stands"),
    ("territorial_concessions", "Ukraine cedes territory that Russia occupies"),
    ("russian_withdrawal_first", "full Russian withdrawal before any peace settlement"),
    ("early_ukraine_elections", "Ukraine holds presidential elections as a step of the settlement"),
    ("ukraine_nato_membership", "Ukraine joins NATO"),
    ("security_guarantees", "Ukraine receives internationally recognised security guarantees"),
    ("resource_deal", "Ukraine shares revenue from its natural resources with the United States"),
    ("ukraine_at_the_table", "Ukraine takes part in the negotiations on its future"),
    ("europe_at_the_table", "European allies take part in the negotiations"),
    ("sanctions_on_russia", "sanctions on Russia are kept or increased"),
    ("military_aid_to_ukraine", "military and financial support for Ukraine is kept or increased"),
    ("us_russia_normalization", "the United States and Russia restore diplomatic and economic ties"),
    ("prisoner_exchange", "all-for-all exchange of prisoners of war"),
    ("black_sea_navigation", "safe commercial navigation in the Black Sea"),
    ("energy_strike_moratorium", "a moratorium on strikes against energy infrastructure"),
]

PARTY_IDS = [p[0] for p in PARTIES]
ISSUE_IDS = [i[0] for i in ISSUES]
STANCES = ["supports", "opposes", "conditional", "neutral", "unclear"]
PUBLISHERS = [
    "Reuters", "Associated Press", "AFP", "BBC News", "Kyiv Independent", "TASS", "Politico Europe",
    "The Guardian", "Le Monde", "Der Spiegel", "Financial Times", "Bloomberg", "Anadolu Agency", "Xinhua",
]  # fmt: skip
LOCATIONS = [
    "Riyadh", "Geneva", "Istanbul", "Jeddah", "Paris", "London", "Brussels", "Washington", "Moscow",
    "Kyiv", "Berlin", "Warsaw", "Abu Dhabi", "Doha", "Vienna", "Helsinki",
]  # fmt: skip
PLEDGE_WHAT = {
    "military": ["air-defence systems", "artillery ammunition", "armoured vehicles", "drones", "training"],
    "economic": ["budget support", "reconstruction loans", "energy-grid repairs", "grain-export guarantees"],
    "sanctions": ["a new sanctions package", "an oil price cap", "asset freezes", "export controls"],
    "diplomatic": ["hosting talks", "a peace envoy", "a monitoring mission", "a summit invitation"],
}
AGREEMENT_STAGES = ["agreed_in_principle", "approved", "signed", "ratified", "in_force"]


def day(index: int) -> dt.date:
    return START + dt.timedelta(days=index)


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _source(rng: random.Random, title: str, date: str, ident: str, excerpt: str | None) -> dict[str, Any]:
    publisher = rng.choice(PUBLISHERS)
    source = {
        "publisher": publisher,
        "title": title,
        "url": f"https://news.example/{publisher.lower().replace(' ', '-')}/{date[:10]}/{ident[:8]}",
        "date": date,
    }
    if excerpt is not None:
        source["excerpt"] = excerpt
    return source


def _sources(rng: random.Random, title: str, date: str, ident: str, excerpt: str | None) -> list[dict]:
    count = 1 if rng.random() < 0.7 else 2
    return [_source(rng, title, date, ident, excerpt if i == 0 else None) for i in range(count)]


def _date_text(rng: random.Random, date: dt.date) -> str:
    """Mostly day precision; some approximate; some month or year precision."""
    r = rng.random()
    if r < 0.86:
        return date.isoformat()
    if r < 0.93:
        return date.isoformat() + "~"
    if r < 0.98:
        return date.isoformat()[:7]
    if r < 0.99:
        return date.isoformat()[:7] + "~"
    return str(date.year)


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _spread(total: int, first: int) -> list[int]:
    """``total`` events spread evenly over the days from ``first`` on."""
    counts = [0] * DAYS
    for k in range(total):
        counts[first + int((k + 0.5) * (DAYS - first) / total)] += 1
    return counts


class _Item:
    """A structural event scheduled for an append day."""

    __slots__ = ("append_day", "seq", "kind", "occurred_day", "fields", "proposal", "tabled_on")

    def __init__(self, append_day: int, seq: int, kind: str, occurred_day: int, fields: dict) -> None:
        self.append_day, self.seq, self.kind = append_day, seq, kind
        self.occurred_day, self.fields = occurred_day, fields
        self.proposal: str | None = None  # for agreements: the proposal it implements, if any
        self.tabled_on: int | None = None


def _structure(seed: int, scale: float) -> list[_Item]:
    """The bounded structure: meetings, proposals and agreements, by append day (independent of size)."""
    rng = random.Random(f"{seed}:structure")
    items: list[_Item] = []
    seq = iter(range(10**9))
    weights = [p[3] for p in PARTIES]

    for _ in range(round(MEETINGS * scale)):
        occurred = rng.randrange(DAYS)
        appended = occurred
        if rng.random() < BACKDATED and occurred + 20 < DAYS:
            appended = min(DAYS - 1, occurred + rng.randint(20, 240))
        present = sorted(set(rng.choices(PARTY_IDS, weights, k=rng.randint(2, 4))))
        if len(present) < 2:
            present = sorted({present[0], "ukraine" if present[0] != "ukraine" else "us"})
        absent = [p for p in rng.sample(PARTY_IDS, 2) if p not in present][: rng.randint(0, 2)]
        location = rng.choice(LOCATIONS)
        fields = {
            "title": f"Talks in {location}: {', '.join(present)}",
            "summary": f"Delegations of {', '.join(present)} met in {location}.",
            "parties": present,
            "location": location,
            "format": rng.choices(["in_person", "phone", "video"], [6, 2, 2])[0],
            "track": rng.choices(["one", "two"], [4, 1])[0],
            "delegations": [
                {
                    "party": p,
                    "members": [
                        {"name": name, "role": role}
                        for name, role in rng.sample(PARTIES[PARTY_IDS.index(p)][4], 1)
                    ],
                }
                for p in present
            ],
            "absent": [
                {"party": p, "invited": rng.choice([True, False, None]), "note": "not at the table"}
                for p in absent
            ],
        }
        items.append(_Item(appended, next(seq), "MeetingHeld", occurred, fields))

    tabled_days: list[tuple[int, str]] = []
    for number in range(1, round(PROPOSALS * scale) + 1):
        proposal = f"proposal_{number:03d}"
        by = sorted(set(rng.choices(PARTY_IDS, weights, k=rng.randint(1, 2))))
        when = rng.randrange(int(DAYS * 0.85))
        terms = [f"{rng.choice(ISSUES)[1]} (term {i + 1})" for i in range(rng.randint(2, 5))]
        stages = []
        if rng.random() < 0.3:
            stages = [{"name": f"stage {i + 1}", "terms": [terms[i % len(terms)]]} for i in range(3)]
        issue = rng.choice(ISSUE_IDS)
        positions = [
            {
                "party": by[0],
                "issue": issue,
                "stance": "supports",
                "basis": "reported",
                "summary": f"{by[0]} proposes {issue.replace('_', ' ')}",
            }
        ]
        fields = {
            "title": f"{', '.join(by)} table {proposal}",
            "parties": by,
            "proposal": proposal,
            "by": by,
            "name": f"Plan {number}: {issue.replace('_', ' ')}",
            "terms": terms,
            "stages": stages,
            "positions": positions if rng.random() < 0.5 else [],
        }
        items.append(_Item(when, next(seq), "ProposalTabled", when, fields))
        tabled_days.append((when, proposal))
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3])):
            when += rng.randint(5, 60)
            if when >= DAYS:
                break
            amended = {
                "title": f"{proposal} amended",
                "parties": by,
                "proposal": proposal,
                "by": by,
                "terms": terms[: rng.randint(1, len(terms))] + ["an amended term"],
            }
            items.append(_Item(when, next(seq), "ProposalAmended", when, amended))
        r = rng.random()
        end_kind = "ProposalRejected" if r < 0.25 else "ProposalWithdrawn" if r < 0.4 else None
        when += rng.randint(5, 90)
        if end_kind is not None and when < DAYS:
            others = [p for p in PARTY_IDS if p not in by]
            who = by if end_kind == "ProposalWithdrawn" else [rng.choice(others)]
            ending = {
                "title": f"{proposal} {'rejected' if end_kind == 'ProposalRejected' else 'withdrawn'}",
                "parties": who,
                "proposal": proposal,
                "by": who,
                "reason": "the terms are unacceptable",
            }
            items.append(_Item(when, next(seq), end_kind, when, ending))

    tabled_days.sort()
    remaining = round(AGREEMENT_EVENTS * scale)
    number = 0
    while remaining > 0:
        number += 1
        agreement = f"agreement_{number:02d}"
        between = sorted(set(rng.choices(PARTY_IDS, weights, k=3)))
        if len(between) < 2:
            between = sorted({between[0], "ukraine" if between[0] != "ukraine" else "us"})
        when = rng.randrange(120, DAYS)
        proposal, tabled_on = None, None
        earlier = tabled_days[: bisect.bisect_left(tabled_days, (when - 120, ""))]
        if earlier and rng.random() < 0.7:
            tabled_on, proposal = rng.choice(earlier)
        terms = [f"{rng.choice(ISSUES)[1]} (clause {i + 1})" for i in range(rng.randint(1, 4))]
        for stage in AGREEMENT_STAGES[: min(remaining, rng.randint(1, 3))]:
            fields = {
                "title": f"{agreement}: {stage.replace('_', ' ')}",
                "parties": between,
                "agreement": agreement,
                "name": f"Agreement {number}",
                "between": between,
                "stage": stage,
                "terms": terms,
            }
            item = _Item(when, next(seq), "AgreementReached", when, fields)
            item.proposal, item.tabled_on = proposal, tabled_on
            items.append(item)
            remaining -= 1
            when += rng.randint(10, 120)
            if when >= DAYS:
                break
    items.sort(key=lambda item: (item.append_day, item.seq))
    return items


class _Target:
    __slots__ = ("index", "id", "type", "occurred", "positions")

    def __init__(self, index: int, ident: str, type_: str, occurred: dt.date, positions: list | None):
        self.index, self.id, self.type, self.occurred, self.positions = (
            index,
            ident,
            type_,
            occurred,
            positions,
        )


class _Reservoir:
    """A uniform sample of events old enough (``MIN_GAP`` earlier) to be retracted or corrected."""

    def __init__(self, rng: random.Random, capacity: int) -> None:
        self.rng, self.capacity = rng, capacity
        self.pending: collections.deque[_Target] = collections.deque()
        self.sample: list[_Target] = []
        self.seen = 0

    def add(self, target: _Target) -> None:
        self.pending.append(target)

    def ripen(self, index: int) -> None:
        while self.pending and self.pending[0].index <= index - MIN_GAP:
            target = self.pending.popleft()
            self.seen += 1
            if len(self.sample) < self.capacity:
                self.sample.append(target)
            else:
                slot = self.rng.randrange(self.seen)
                if slot < self.capacity:
                    self.sample[slot] = target

    def take(self) -> _Target | None:
        if not self.sample:
            return None
        slot = self.rng.randrange(len(self.sample))
        self.sample[slot], self.sample[-1] = self.sample[-1], self.sample[slot]
        return self.sample.pop()


def structure_size(size: int, seed: int = 2025) -> int:
    return len(_structure(seed, min(1.0, size / FULL_STRUCTURE_FROM)))


def generate(size: int, seed: int = 2025) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield exactly ``size`` events of a synthetic log, as ``(stream, event)``, in append order."""
    vocabulary_size = len(PARTIES) + len(ISSUES)
    if size < 100:
        raise ValueError("a synthetic log has at least 100 events")
    rng = random.Random(f"{seed}:{size}")
    new_id = _Ids(random.Random(f"{seed}:{size}:ids"))
    structure = _structure(seed, min(1.0, size / FULL_STRUCTURE_FROM))
    stance_rng = random.Random(f"{seed}:stances")
    baseline = {(p, i): stance_rng.choice(STANCES) for p in PARTY_IDS for i in ISSUE_IDS}

    retractions = round(size * RETRACTED)
    corrections = round(size * CORRECTED)
    plain = size - vocabulary_size - len(structure) - retractions - corrections
    if plain < 0:
        raise ValueError(f"{size} events cannot hold the structure of {len(structure)} events")
    weights = [(0.35 if day(d).weekday() >= 5 else 1.0) * (0.6 + 0.8 * d / DAYS) for d in range(DAYS)]
    plain_per_day = _apportion(plain, weights)
    meta_per_day = _spread(retractions + corrections, first=120)

    index = 0
    targets = _Reservoir(rng, _RESERVOIR)
    retraction_targets = _Reservoir(rng, 256)
    proposal_index: dict[str, int] = {}

    def emit(stream: str, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        nonlocal index
        index += 1
        return stream, event

    # -- the vocabulary ----------------------------------------------------------------------------------
    for slug, name, kind, _, _ in PARTIES:
        ident = new_id()
        title = f"Party: {name}"
        yield emit(
            "vocabulary",
            {
                "type": "PartyDefined",
                "id": ident,
                "occurred": "2024-03",
                "title": title,
                "summary": f"{name} ({kind}), a party to the negotiations.",
                "sources": [{"publisher": "Negotiation Timeline bench", "title": "Synthetic vocabulary"}],
                "party": slug,
                "name": name,
                "kind": kind,
            },
        )
    for slug, proposition in ISSUES:
        yield emit(
            "vocabulary",
            {
                "type": "IssueDefined",
                "id": new_id(),
                "occurred": "2024-03",
                "title": f"Issue: {slug.replace('_', ' ')}",
                "sources": [{"publisher": "Negotiation Timeline bench", "title": "Synthetic vocabulary"}],
                "issue": slug,
                "proposition": proposition,
            },
        )

    party_weights = [p[3] for p in PARTIES]
    names = {p[0]: p[1] for p in PARTIES}

    def positions_for(party: str, count: int) -> list[dict[str, Any]]:
        out = []
        for issue in rng.sample(ISSUE_IDS, count):
            who = party if rng.random() < 0.8 else rng.choices(PARTY_IDS, party_weights)[0]
            stance = baseline[(who, issue)] if rng.random() < 0.75 else rng.choice(STANCES)
            position = {
                "party": who,
                "issue": issue,
                "stance": stance,
                "summary": f"{names[who]} {stance} {issue.replace('_', ' ')}",
            }
            if rng.random() < 0.3:
                position["quote"] = f"Our position on {issue.replace('_', ' ')} is clear."
            # decided by the quote rather than drawn, so the log is the one generated before bases existed
            position["basis"] = "stated" if "quote" in position else "reported"
            out.append(position)
        return out

    def plain_event(append_day: int) -> tuple[str, dict[str, Any]]:
        occurred_day = append_day
        reported = None
        if rng.random() < BACKDATED:
            lag = rng.randint(20, 240)
            if append_day - lag >= 0:
                occurred_day = append_day - lag
                reported = day(append_day).isoformat()
        occurred = _date_text(rng, day(occurred_day))
        party = rng.choices(PARTY_IDS, party_weights)[0]
        positions = positions_for(party, rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0])
        involved = sorted({party} | {p["party"] for p in positions})
        ident = new_id()
        if rng.random() < 0.6:
            speaker, role = rng.choice(PARTIES[PARTY_IDS.index(party)][4])
            issue = positions[0]["issue"].replace("_", " ")
            quote = f"On {issue}, {names[party]} {positions[0]['stance']} what is on the table."
            title = f"{speaker} ({names[party]}) on {issue}"
            event = {
                "type": "StatementMade",
                "speaker": speaker,
                "role": role,
                "party": party,
                "quote": quote,
            }
            stream = f"{party}-statements"
        else:
            kind = rng.choice(list(PLEDGE_WHAT))
            what = rng.choice(PLEDGE_WHAT[kind])
            title = f"{names[party]} pledges {what}"
            quote = None
            event = {"type": "PledgeMade", "by": party, "kind": kind, "what": what}
            if party != "ukraine" and kind in ("military", "economic"):
                event["to"] = "ukraine"
                involved = sorted(set(involved) | {"ukraine"})
            stream = f"{party}-pledges"
        event |= {
            "id": ident,
            "occurred": occurred,
            "title": title,
            "summary": f"{title}. Synthetic event {index + 1}.",
            "parties": involved,
            "sources": _sources(rng, title, reported or occurred, ident, quote),
            "positions": positions,
        }
        if reported is not None:
            event["reported"] = reported
        start = _start(occurred)
        targets.add(_Target(index + 1, ident, event["type"], start, positions))
        return stream, event

    def meta_event(append_day: int, retract: bool) -> tuple[str, dict[str, Any]] | None:
        today = day(append_day).isoformat()
        ident = new_id()
        base = {"id": ident, "occurred": today}
        if retract:
            target = retraction_targets.take() if rng.random() < 0.05 else None
            target = target or targets.take()
            if target is None:
                return None
            title = f"Retraction of {target.type} {target.id[:8]}"
            event = {
                "type": "EventRetracted",
                **base,
                "title": title,
                "sources": _sources(rng, title, today, ident, None),
                "target": target.id,
                "reason": "the report was not confirmed by a second source",
            }
            retraction_targets.add(_Target(index + 1, ident, "EventRetracted", day(append_day), None))
            return "corrections", event
        target = targets.take()
        if target is None:
            return None
        if target.positions and rng.random() < 0.6:
            positions = [dict(p) for p in target.positions]
            changed = rng.randrange(len(positions))
            stance = rng.choice([s for s in STANCES if s != positions[changed]["stance"]])
            positions[changed]["stance"] = stance
            positions[changed]["summary"] = f"corrected: {positions[changed]['summary']} -> {stance}"
            changes: dict[str, Any] = {"positions": positions}
            reason = "the stance was misreported"
        elif target.type == "MeetingHeld" and rng.random() < 0.5:
            changes = {"location": rng.choice(LOCATIONS)}
            reason = "the meeting took place elsewhere"
        else:
            earlier = max(target.occurred - dt.timedelta(days=rng.randint(1, 20)), START)
            changes = {"occurred": earlier.isoformat()}
            reason = "the event happened earlier than first reported"
        title = f"Correction of {target.type} {target.id[:8]}"
        event = {
            "type": "EventCorrected",
            **base,
            "title": title,
            "sources": _sources(rng, title, today, ident, None),
            "target": target.id,
            "reason": reason,
            "changes": changes,
        }
        return "corrections", event

    def structural_event(item: _Item) -> tuple[str, dict[str, Any]]:
        ident = new_id()
        occurred = day(item.occurred_day).isoformat()
        event = {"type": item.kind, "id": ident, "occurred": occurred, **item.fields}
        if item.append_day != item.occurred_day:
            event["reported"] = day(item.append_day).isoformat()
        if item.kind == "AgreementReached" and item.proposal is not None:
            tabled = proposal_index.get(item.proposal)
            if tabled is not None and tabled <= index + 1 - MIN_GAP:
                event["proposal"] = item.proposal
        event["sources"] = _sources(rng, event["title"], event.get("reported", occurred), ident, None)
        if item.kind == "ProposalTabled":
            proposal_index[item.fields["proposal"]] = index + 1
        if item.kind == "MeetingHeld":
            targets.add(_Target(index + 1, ident, "MeetingHeld", day(item.occurred_day), None))
        stream = {"MeetingHeld": "meetings", "AgreementReached": "agreements"}.get(item.kind, "proposals")
        return stream, event

    # -- two years of events -----------------------------------------------------------------------------
    left_retractions, left_corrections = retractions, corrections
    cursor = 0
    for d in range(DAYS):
        scheduled = []
        while cursor < len(structure) and structure[cursor].append_day == d:
            scheduled.append(structure[cursor])
            cursor += 1
        slots = ["s"] * len(scheduled) + ["p"] * plain_per_day[d] + ["m"] * meta_per_day[d]
        rng.shuffle(slots)
        scheduled.reverse()
        for slot in slots:
            targets.ripen(index + 1)
            retraction_targets.ripen(index + 1)
            if slot == "s":
                yield emit(*structural_event(scheduled.pop()))
                continue
            if slot == "m":
                retract = rng.random() < left_retractions / (left_retractions + left_corrections)
                made = meta_event(d, retract)
                if made is not None:
                    if retract:
                        left_retractions -= 1
                    else:
                        left_corrections -= 1
                    yield emit(*made)
                    continue
                # nothing old enough to retract or correct yet: the log gets a plain event instead
            yield emit(*plain_event(d))
    assert index == size, (index, size)


def _start(text: str) -> dt.date:
    text = text.rstrip("~?%")
    if len(text) == 4:
        return dt.date(int(text), 1, 1)
    if len(text) == 7:
        return dt.date(int(text[:4]), int(text[5:7]), 1)
    return dt.date.fromisoformat(text)


def summary(size: int, seed: int = 2025) -> dict[str, Any]:
    """Counts by type and stream, backdated events and date precisions of a generated log."""
    types: collections.Counter[str] = collections.Counter()
    streams: collections.Counter[str] = collections.Counter()
    precision: collections.Counter[str] = collections.Counter()
    backdated = 0
    for stream, event in generate(size, seed):
        types[event["type"]] += 1
        streams[stream] += 1
        text = event["occurred"].rstrip("~")
        qualifier = "~" if event["occurred"].endswith("~") else ""
        precision[{4: "year", 7: "month"}.get(len(text), "day") + qualifier] += 1
        backdated += "reported" in event
    return {
        "types": dict(types),
        "streams": len(streams),
        "backdated": backdated,
        "precision": dict(precision),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(summary(int(sys.argv[1]), *(int(a) for a in sys.argv[2:3])), indent=2))
