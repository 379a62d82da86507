"""Dates of the day/month/year subset of EDTF (ISO 8601-2): ``2025``, ``2024-11``, ``2025-02-18``.

A date may end in ``~`` (approximate), ``?`` (uncertain) or ``%`` (both). An imprecise date stands for an
interval; it takes effect at the start of that interval. The original text is kept, so a response shows the
date exactly as the source gave it. Full EDTF (seasons, sets, open intervals) is deliberately not accepted:
a negotiation timeline needs these three precisions, and a small strict parser gives precise errors.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Literal

Precision = Literal["year", "month", "day"]

_PATTERN = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?(?P<qualifier>[~?%])?")


class EdtfDate:
    """An EDTF date: its text, the interval it stands for, its precision and qualifiers."""

    __slots__ = ("text", "start", "end", "precision", "approximate", "uncertain")

    text: str
    start: dt.date
    end: dt.date
    precision: Precision
    approximate: bool
    uncertain: bool

    def __init__(self, text: str) -> None:
        match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"invalid date {text!r}: expected YYYY, YYYY-MM or YYYY-MM-DD, optionally followed by ~ or ?"
            )
        year = int(match["year"])
        month = int(match["month"]) if match["month"] else None
        day = int(match["day"]) if match["day"] else None
        if year < 1:
            raise ValueError(f"invalid date {text!r}: year 0000 does not exist")
        if month is not None and not 1 <= month <= 12:
            raise ValueError(f"invalid date {text!r}: month {month:02d} does not exist")
        if day is not None:
            last = calendar.monthrange(year, month)[1]
            if not 1 <= day <= last:
                raise ValueError(f"invalid date {text!r}: {year}-{month:02d} has no day {day:02d}")
        qualifier = match["qualifier"] or ""
        self.text = text
        self.approximate = qualifier in ("~", "%")
        self.uncertain = qualifier in ("?", "%")
        if day is not None:
            self.precision = "day"
            self.start = self.end = dt.date(year, month, day)
        elif month is not None:
            self.precision = "month"
            self.start = dt.date(year, month, 1)
            self.end = dt.date(year, month, calendar.monthrange(year, month)[1])
        else:
            self.precision = "year"
            self.start = dt.date(year, 1, 1)
            self.end = dt.date(year, 12, 31)

    def __repr__(self) -> str:
        return f"EdtfDate({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EdtfDate) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)
