"""State as of any point on the three time axes: ``/state``, ``/parties``, ``/issues``, ``/changes``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter

from events.dates import EdtfDate
from service.api.problems import problem
from service.api.reads import read_response
from service.api.views import (
    AxesView,
    ChangesView,
    IssuesView,
    IssueView,
    PartiesView,
    PartyView,
    StateView,
)
from service.projections import Axes, Key, Projections

AS_OF = Parameter(
    description="valid time: events that occurred on or before this date (YYYY, YYYY-MM or YYYY-MM-DD; an "
    "imprecise date means the end of its interval)"
)
KNOWN_AT = Parameter(description="knowledge time: events reported on or before this date (same format)")
AT = Parameter(ge=0, description="system time: the log as it stood at this position")
AsOf = Annotated[str | None, AS_OF]
KnownAt = Annotated[str | None, KNOWN_AT]
At = Annotated[int | None, AT]


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        date = EdtfDate(value)
    except ValueError as exc:
        raise problem(400, "Invalid date", str(exc), parameter=name) from None
    if date.approximate or date.uncertain:
        raise problem(400, "Invalid date", f"{name} must be a plain date, without ~ or ?", parameter=name)
    return date.end


def axes_of(as_of: str | None, known_at: str | None, at: int | None) -> tuple[Axes, AxesView]:
    axes = Axes()
    if (date := parse_date(as_of, "as_of")) is not None:
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
        return Key(occurred, int(seq), int(idx))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise problem(
            400, "Invalid cursor", "the cursor is not one this service gave out", parameter="cursor"
        ) from None


async def answer(projections: Projections, axes: Axes, question):
    return await anyio.to_thread.run_sync(projections.read, axes, question)


class StateController(Controller):
    tags = ["state"]

    @get("/state", summary="Every party's stance on every issue, proposals, agreements and meetings")
    async def state(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
    ) -> Response[StateView]:
        axes, echo = axes_of(as_of, known_at, at)
        state, position, head = await answer(projections, axes, projections.state)
        return read_response(request, StateView(position, head, echo, state), head, position)

    @get("/parties", summary="The parties defined at this point on the time axes")
    async def parties(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
    ) -> Response[PartiesView]:
        axes, echo = axes_of(as_of, known_at, at)
        state, position, head = await answer(projections, axes, projections.vocabulary)
        return read_response(request, PartiesView(position, head, echo, state.parties), head, position)

    @get("/issues", summary="The issues defined at this point on the time axes")
    async def issues(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
    ) -> Response[IssuesView]:
        axes, echo = axes_of(as_of, known_at, at)
        state, position, head = await answer(projections, axes, projections.vocabulary)
        return read_response(request, IssuesView(position, head, echo, state.issues), head, position)

    @get("/parties/{party_id:str}", summary="One party's stance on every issue")
    async def party(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        party_id: FromPath[str],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
    ) -> Response[PartyView]:
        axes, echo = axes_of(as_of, known_at, at)

        def question(conn, clamped):
            if not projections.is_defined(conn, "party", party_id):
                return None
            return projections.party(conn, clamped, party_id)

        found, position, head = await answer(projections, axes, question)
        if found is None:
            raise problem(404, "No such party", f"no event defines a party {party_id!r}")
        view = PartyView(position, head, echo, *found)
        return read_response(request, view, head, position)

    @get("/issues/{issue_id:str}", summary="Every party's stance on one issue")
    async def issue(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        issue_id: FromPath[str],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
    ) -> Response[IssueView]:
        axes, echo = axes_of(as_of, known_at, at)

        def question(conn, clamped):
            if not projections.is_defined(conn, "issue", issue_id):
                return None
            return projections.issue(conn, clamped, issue_id)

        found, position, head = await answer(projections, axes, question)
        if found is None:
            raise problem(404, "No such issue", f"no event defines an issue {issue_id!r}")
        return read_response(request, IssueView(position, head, echo, *found), head, position)

    @get(
        "/parties/{party_id:str}/history",
        summary="Every position the party took, in valid-time order, each with what it replaced",
    )
    async def history(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        party_id: FromPath[str],
        as_of: AsOf = None,
        known_at: KnownAt = None,
        at: At = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> Response[ChangesView]:
        axes, echo = axes_of(as_of, known_at, at)
        key = decode_cursor(cursor)

        def question(conn, clamped):
            if not projections.is_defined(conn, "party", party_id):
                return None
            return projections.changes(conn, clamped, party=party_id, cursor=key, limit=limit)

        page, position, head = await answer(projections, axes, question)
        if page is None:
            raise problem(404, "No such party", f"no event defines a party {party_id!r}")
        params = {"as_of": as_of, "known_at": known_at, "at": position, "limit": limit}
        return _page(request, f"/parties/{party_id}/history", params, page, position, head, echo)

    @get("/changes", summary="What changed in anyone's stance after `from` up to `to`, with the event")
    async def changes(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        from_: Annotated[str | None, QueryParameter(name="from", description="exclusive start date")] = None,
        to: Annotated[str | None, Parameter(description="inclusive end date")] = None,
        known_at: KnownAt = None,
        at: At = None,
        party: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> Response[ChangesView]:
        axes, echo = axes_of(to, known_at, at)
        after = parse_date(from_, "from")
        key = decode_cursor(cursor)
        if after is not None and after >= axes.as_of:
            raise problem(400, "Invalid range", "`from` must be before `to`", parameter="from")

        def question(conn, clamped):
            return projections.changes(
                conn, clamped, after=after, party=party, cursor=key, limit=limit, only_changed=True
            )

        page, position, head = await answer(projections, axes, question)
        params = {
            "from": from_,
            "to": to,
            "known_at": known_at,
            "at": position,
            "party": party,
            "limit": limit,
        }
        return _page(request, "/changes", params, page, position, head, echo)


def _page(request, path, params, page, position, head, echo) -> Response[ChangesView]:
    next_link = None
    if page.next is not None:
        query = {k: v for k, v in params.items() if v is not None} | {"cursor": encode_cursor(page.next)}
        next_link = f"{path}?{urlencode(query)}"
    response = read_response(
        request, ChangesView(position, head, echo, page.changes, next_link), head, position
    )
    if next_link:
        response.headers["Link"] = f'<{next_link}>; rel="next"'
    return response
