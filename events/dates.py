"""Dates of the day/month/year subset of EDTF (ISO 8601-2, level 1), and its intervals.

A date is ``2025``, ``2024-11`` or ``2025-02-18``, and may end in ``~`` (approximate), ``?`` (uncertain) or
``%`` (both). An interval joins two such dates with ``/``: ``2025-02-18/2025-02-26``; its end may be open
(``2025-02-18/..``) or unknown (``2025-02-18/``), and each end keeps its own qualifier
(``2025-02-18~/2025-03``). Every date stands for an interval of days: it takes effect at its ``start``,
and ``end`` is its last day (None when the end is open or unknown). An interval's ``precision`` is that of
its coarser end, so it says how finely its ends are known; ``lower`` and ``upper`` are its ends as dates of
their own. The original text is kept, so a response shows the date exactly as the source gave it.

The rest of EDTF (seasons, unspecified digits, sets, times, an open start) is deliberately not accepted:
a timeline takes effect at the start of each date, and a small strict parser gives precise errors. It is
hand-written rather than a regular expression or a general EDTF library: the write path decodes tens of
thousands of dates a second (the ``edtf`` package, which the tests use as an oracle, takes milliseconds).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Precision = Literal["year", "month", "day"]

_COARSENESS = {"day": 0, "month": 1, "year": 2}
_QUALIFIERS = "~?%"
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EXPECTED = (
    "expected YYYY, YYYY-MM or YYYY-MM-DD, optionally followed by ~ or ?, or an interval of two of them "
    "joined by / (its end may be .. for open)"
)


def _days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month]


class EdtfDate:
    """An EDTF date or interval: its text, the days it stands for, its precision and qualifiers."""

    __slots__ = ("text", "start", "end", "precision", "approximate", "uncertain", "lower", "upper")

    text: str
    start: dt.date
    end: dt.date | None  # None: an interval whose end is open or unknown
    precision: Precision
    approximate: bool
    uncertain: bool
    lower: EdtfDate | None  # an interval's ends; None for a single date
    upper: EdtfDate | None  # None also when the end is open or unknown

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.isascii():
            raise ValueError(f"invalid date {text!r}: {_EXPECTED}")
        if "/" not in text:
            self._point(text, text)
            self.lower = self.upper = None
            return
        first, _, second = text.partition("/")
        if first in ("", ".."):
            raise ValueError(f"invalid date {text!r}: an interval needs a start (a date takes effect there)")
        if "/" in second:
            raise ValueError(f"invalid date {text!r}: {_EXPECTED}")
        lower = _end(first, text)
        upper = None if second in ("", "..") else _end(second, text)
        if upper is not None and upper.end < lower.start:  # type: ignore[operator]
            raise ValueError(f"invalid date {text!r}: the interval ends before it starts")
        self.text = text
        self.start = lower.start
        self.end = upper.end if upper is not None else None
        coarser = upper is not None and _COARSENESS[upper.precision] > _COARSENESS[lower.precision]
        self.precision = upper.precision if coarser else lower.precision  # type: ignore[union-attr]
        self.approximate = lower.approximate or (upper is not None and upper.approximate)
        self.uncertain = lower.uncertain or (upper is not None and upper.uncertain)
        self.lower, self.upper = lower, upper

    def _point(self, part: str, whole: str) -> None:
        """Set the fields of a single date ``part`` of ``whole`` (the text as given, for messages)."""
        qualifier = part[-1:]
        if qualifier and qualifier in _QUALIFIERS:
            part = part[:-1]
        else:
            qualifier = ""
        n = len(part)
        # one slice per field, each checked to be digits (ASCII only: checked on the whole text)
        if n == 10 and part[4] == "-" and part[7] == "-":
            digits = (part[:4], part[5:7], part[8:])
            valid = digits[0].isdigit() and digits[1].isdigit() and digits[2].isdigit()
        elif n == 7 and part[4] == "-":
            digits = (part[:4], part[5:])
            valid = digits[0].isdigit() and digits[1].isdigit()
        elif n == 4:
            digits = (part,)
            valid = part.isdigit()
        else:
            valid = False
        if not valid:
            raise ValueError(f"invalid date {whole!r}: {_EXPECTED}")
        year = int(digits[0])
        if year < 1:
            raise ValueError(f"invalid date {whole!r}: year 0000 does not exist")
        if n == 4:
            self.precision = "year"
            self.start, self.end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        else:
            month = int(digits[1])
            if not 1 <= month <= 12:
                raise ValueError(f"invalid date {whole!r}: month {month:02d} does not exist")
            last = _days_in(year, month)
            if n == 7:
                self.precision = "month"
                self.start, self.end = dt.date(year, month, 1), dt.date(year, month, last)
            else:
                day = int(digits[2])
                if not 1 <= day <= last:
                    raise ValueError(f"invalid date {whole!r}: {year}-{month:02d} has no day {day:02d}")
                self.precision = "day"
                self.start = self.end = dt.date(year, month, day)
        self.text = part + qualifier
        self.approximate = qualifier in ("~", "%")
        self.uncertain = qualifier in ("?", "%")

    @property
    def is_interval(self) -> bool:
        return self.lower is not None

    @property
    def open_end(self) -> bool:
        """Whether this is an interval whose end is open (``..``) or unknown (empty)."""
        return self.lower is not None and self.upper is None

    def __repr__(self) -> str:
        return f"EdtfDate({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EdtfDate) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _end(part: str, whole: str) -> EdtfDate:
    """One end of the interval ``whole``, as a date of its own."""
    end = object.__new__(EdtfDate)
    end._point(part, whole)
    end.lower = end.upper = None
    return end
