"""The query parameters every read shares: the three time axes (``as_of``, ``known_at``, ``at``), dates,
and keyset cursors; each parsed once, into a 400 problem when it is not one."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, NamedTuple

from litestar.params import Parameter

from events.dates import EdtfDate
from service.api.openapi import date_parameter
from service.api.problems import problem
from service.api.reads import MAX_POSITION
from service.api.views import (
    AxesView,
)
from service.query.axes import Axes
from service.query.state import Key

AS_OF = date_parameter(
    "valid time: events that occurred on or before this date (YYYY, YYYY-MM, YYYY-MM-DD or an "
    "interval START/END of them; an imprecise date or an interval means its end)"
)
KNOWN_AT = date_parameter("knowledge time: events reported on or before this date (same format)")
# gt=-1, not ge=0: Litestar leaves a bound of 0 out of the schema (it tests the bound for truth)
AT = Parameter(gt=-1, le=MAX_POSITION, description="system time: the log as it stood at this position")
AsOf = Annotated[str | None, AS_OF]
KnownAt = Annotated[str | None, KNOWN_AT]
At = Annotated[int | None, AT]


def query_date(value: str | None, name: str) -> EdtfDate | None:
    """A date parameter: any date an event may have, intervals included, but without ~ or ? (a question
    is asked about a date, not about a guess)."""
    if value is None:
        return None
    try:
        date = EdtfDate(value)
    except ValueError as exc:
        raise problem(400, "Invalid date", str(exc), parameter=name) from None
    if date.approximate or date.uncertain:
        raise problem(400, "Invalid date", f"{name} must be a plain date, without ~ or ?", parameter=name)
    return date


def parse_date(value: str | None, name: str) -> dt.date | None:
    """The last day a date parameter stands for; an interval with an open end has none to give."""
    date = query_date(value, name)
    if date is None:
        return None
    if date.end is None:
        detail = f"{name}={value} has an open end: give the interval an end, or leave {name} out for now"
        raise problem(400, "Invalid date", detail, parameter=name)
    return date.end


def axes_of(
    as_of: str | None, known_at: str | None, at: int | None, as_of_name: str = "as_of"
) -> tuple[Axes, AxesView]:
    """The axes a read asks about; ``as_of_name``: the parameter that gives the valid time (``/changes``
    asks up to its ``to``), for the problem a bad one gets."""
    axes = Axes()
    if (date := parse_date(as_of, as_of_name)) is not None:
        axes = axes._replace(as_of=date)
    if (date := parse_date(known_at, "known_at")) is not None:
        axes = axes._replace(known_at=date)
    if at is not None:
        axes = axes._replace(at=at)
    return axes, AxesView(as_of, known_at, at)


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(f"{key.occurred}|{key.seq}|{key.idx}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Key | None:
    if cursor is None:
        return None
    try:
        occurred, seq, idx = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        dt.date.fromisoformat(occurred)
        key = Key(occurred, int(seq), int(idx))
        if not (0 <= key.seq <= MAX_POSITION and 0 <= key.idx <= MAX_POSITION):
            raise ValueError("out of range")
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem(
            400, "Invalid cursor", "the cursor is not one this service gave out", parameter="cursor"
        ) from None


class Asked(NamedTuple):
    """The point on the axes a request asks about, parsed, and as the client wrote it."""

    axes: Axes
    echo: AxesView


async def asked_axes(as_of: AsOf = None, known_at: KnownAt = None, at: At = None) -> Asked:
    return Asked(*axes_of(as_of, known_at, at))
