"""State as of any point on the three time axes: ``/state``, ``/parties``, ``/issues``, ``/changes``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter

from events.vocabulary import SLUG_PATTERN
from service.api.openapi import READ, answers, cursor_parameter, date_parameter, path_id
from service.api.params import (
    Asked,
    At,
    KnownAt,
    asked_axes,
    axes_of,
    decode_cursor,
    encode_cursor,
    parse_date,
)
from service.api.problems import problem
from service.api.reads import read_response
from service.api.views import (
    ChangesView,
    IssuesView,
    IssueView,
    PartiesView,
    PartyView,
    StateView,
)
from service.query.axes import Axes
from service.query.state import Projections


async def answer(projections: Projections, axes: Axes, question):
    return await anyio.to_thread.run_sync(projections.read, axes, question)


def defined_or_404(projections: Projections, kind: str, ident: str, question):
    """Wrap ``question`` so that an id no event ever defined answers None (a 404), not an empty answer."""

    def checked(conn, clamped):
        return question(conn, clamped) if projections.is_defined(conn, kind, ident) else None

    return checked


def not_defined(kind: str, ident: str):
    return problem(404, f"No such {kind}", f"no event defines a {kind} {ident!r}")


PartyId = Annotated[str, path_id(SLUG_PATTERN, "a party id")]
IssueId = Annotated[str, path_id(SLUG_PATTERN, "an issue id")]
Cursor = Annotated[str | None, cursor_parameter("changes")]


class StateController(Controller):
    tags = ["state"]
    dependencies = {"asked": Provide(asked_axes)}

    @get(
        "/state",
        summary="Every party's stance on every issue, proposals, agreements and meetings",
        responses=answers(*READ),
    )
    async def state(
        self, request: Request, projections: NamedDependency[Projections], asked: NamedDependency[Asked]
    ) -> Response[StateView]:
        state, position, head = await answer(projections, asked.axes, projections.state_json)
        view = StateView(position, head, asked.echo, msgspec.Raw(state))  # a State, encoded already
        return read_response(request, view, head, position)

    @get("/parties", summary="The parties defined at this point on the time axes", responses=answers(*READ))
    async def parties(
        self, request: Request, projections: NamedDependency[Projections], asked: NamedDependency[Asked]
    ) -> Response[PartiesView]:
        state, position, head = await answer(projections, asked.axes, projections.vocabulary)
        return read_response(request, PartiesView(position, head, asked.echo, state.parties), head, position)

    @get("/issues", summary="The issues defined at this point on the time axes", responses=answers(*READ))
    async def issues(
        self, request: Request, projections: NamedDependency[Projections], asked: NamedDependency[Asked]
    ) -> Response[IssuesView]:
        state, position, head = await answer(projections, asked.axes, projections.vocabulary)
        return read_response(request, IssuesView(position, head, asked.echo, state.issues), head, position)

    @get(
        "/parties/{party_id:str}", summary="One party's stance on every issue", responses=answers(*READ, 404)
    )
    async def party(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        asked: NamedDependency[Asked],
        party_id: PartyId,
    ) -> Response[PartyView]:
        question = defined_or_404(
            projections, "party", party_id, lambda c, a: projections.party(c, a, party_id)
        )
        found, position, head = await answer(projections, asked.axes, question)
        if found is None:
            raise not_defined("party", party_id)
        return read_response(request, PartyView(position, head, asked.echo, *found), head, position)

    @get("/issues/{issue_id:str}", summary="Every party's stance on one issue", responses=answers(*READ, 404))
    async def issue(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        asked: NamedDependency[Asked],
        issue_id: IssueId,
    ) -> Response[IssueView]:
        question = defined_or_404(
            projections, "issue", issue_id, lambda c, a: projections.issue(c, a, issue_id)
        )
        found, position, head = await answer(projections, asked.axes, question)
        if found is None:
            raise not_defined("issue", issue_id)
        return read_response(request, IssueView(position, head, asked.echo, *found), head, position)

    @get(
        "/parties/{party_id:str}/history",
        summary="Every position the party took, in valid-time order, each with what it replaced",
        responses=answers(*READ, 404),
    )
    async def history(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        asked: NamedDependency[Asked],
        party_id: PartyId,
        cursor: Cursor = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> Response[ChangesView]:
        key = decode_cursor(cursor)
        question = defined_or_404(
            projections,
            "party",
            party_id,
            lambda c, a: projections.changes(c, a, party=party_id, cursor=key, limit=limit),
        )
        page, position, head = await answer(projections, asked.axes, question)
        if page is None:
            raise not_defined("party", party_id)
        echo = asked.echo
        params = {"as_of": echo.as_of, "known_at": echo.known_at, "at": position, "limit": limit}
        return _page(request, f"/parties/{party_id}/history", params, page, position, head, echo)

    @get(
        "/changes",
        summary="What changed in anyone's stance after `from` up to `to`, with the event",
        responses=answers(*READ),
    )
    async def changes(
        self,
        request: Request,
        projections: NamedDependency[Projections],
        from_: Annotated[
            str | None, date_parameter("after this date (its end); before `to`", name="from")
        ] = None,
        to: Annotated[str | None, date_parameter("up to this date (its end), inclusive")] = None,
        known_at: KnownAt = None,
        at: At = None,
        party: Annotated[str | None, Parameter(pattern=SLUG_PATTERN, description="a party id")] = None,
        cursor: Cursor = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> Response[ChangesView]:
        axes, echo = axes_of(to, known_at, at, as_of_name="to")
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
