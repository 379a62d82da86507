"""The OpenAPI contract: what each parameter accepts, what each operation answers, and EDTF dates.

A constraint is declared once, where it is enforced: a pattern or a bound given to a query parameter's
``Parameter`` is checked by Litestar's signature model (a 400 problem) and rendered in the schema from the
same value, so the two cannot drift. Dates and path ids are checked by the handler itself (a date's error
says which day a month lacks; a path id that cannot name anything is a 404), against the same patterns.
What a pattern cannot say (an interval that ends before it starts, a
cursor that decodes) is named by a ``format`` (``edtf-date``, ``timeline-cursor``, ``changes-cursor``) and
described; the handler refuses such a value with a 400 problem. ``answers(...)`` declares, in one line per
route, every status an operation can answer with, each with its media type and body schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter, QueryParameter
from litestar.plugins import OpenAPISchemaPlugin

from events.dates import EdtfDate
from events.vocabulary import EVENT_TYPES, SLUG_PATTERN, STREAM_PATTERN
from service.api.problems import PROBLEM_MEDIA_TYPE, ProblemView

# A day/month/year date, exact to the day: months of 30 and 31 days, February of 28, and of 29 in leap
# years (divisible by 4, centuries only when divisible by 400); no year 0000. [0-9], not \d: Python's \d
# matches every Unicode digit.
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH = "(?:0[1-9]|1[0-2])"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
DATE = f"(?:{_YEAR}(?:-(?:{_MONTH}|{_MONTH_DAY}))?|{_LEAP_YEAR}-02-29)"
_QUALIFIED = f"{DATE}[~?%]?"
# A date parameter that stands for its last day (`as_of`, `known_at`, `to`): a date or a closed interval.
CLOSED_DATE = f"^{DATE}(?:/{DATE})?$"
# A date parameter that stands for its first day (the timeline's `from`): its interval may be open.
START_DATE = rf"^{DATE}(?:/(?:{DATE}|\.\.)?)?$"
# A date of an event: qualifiers (~ approximate, ? uncertain, % both) and open or unknown ends allowed.
EVENT_DATE = rf"^{_QUALIFIED}(?:/(?:{_QUALIFIED}|\.\.)?)?$"
DATE_FORMAT = "edtf-date"
_SEMANTICS = " An interval may not end before it starts (a 400 problem)."


def date_parameter(description: str, pattern: str = CLOSED_DATE, name: str | None = None) -> Any:
    """A query parameter taking an EDTF date without ~ or ?. The date parser (``api/params.py``) enforces
    it, with a message that says what is wrong (a day a month does not have); the pattern says the same
    (``tests/test_contract.py`` holds the two equal)."""
    kind = QueryParameter if name else Parameter
    return kind(
        **({"name": name} if name else {}),
        description=f"{description}.{_SEMANTICS}",
        schema_extra={"pattern": pattern, "format": DATE_FORMAT},
    )


def cursor_parameter(kind: str) -> Any:
    """A keyset cursor: only one this service gave out decodes, which its format says (a pattern of its
    alphabet would call text valid that is no cursor)."""
    return Parameter(
        description="the cursor of the next page, from the `next` link of an answer; one that does not "
        "decode, or belongs to another order, is a 400 problem",
        schema_extra={"format": f"{kind}-cursor"},
    )


def matching(pattern: str, description: str) -> Any:
    """An item type of a list parameter, ``pattern`` enforced by msgspec and rendered by Litestar."""
    return Annotated[str, msgspec.Meta(pattern=pattern), Parameter(pattern=pattern, description=description)]


_NOT_FOUND = "one not defined is a 404 problem"
# The filters the log, the timeline and /live share: each value as every such name is written.
Parties = Annotated[list[matching(SLUG_PATTERN, "a party id")] | None, Parameter(description="party ids")]
Issues = Annotated[list[matching(SLUG_PATTERN, "an issue id")] | None, Parameter(description="issue ids")]
Streams = Annotated[list[matching(STREAM_PATTERN, "a stream")] | None, Parameter(description="stream names")]
EventType = Literal[tuple(sorted(EVENT_TYPES))]  # type: ignore[valid-type]


def path_id(
    pattern: str | None, what: str, refused: str = "one not defined is a 404 problem", **schema: Any
) -> Any:
    """A path parameter naming a thing: documented with the pattern every such name has; the handler
    itself refuses a name that does not match (a GET answers it, like one that names nothing, with 404)."""
    extra = {"pattern": pattern} if pattern else {}
    return Parameter(description=f"{what}; {refused}", schema_extra=extra | schema)


_PROBLEMS = {
    400: "a parameter, header or body that is malformed or breaks the schema",
    401: "no bearer token, or one not allowed to write",
    404: "nothing of that name or id",
    405: "a method this path does not allow (the Allow header lists those it does)",
    409: "an expected_version that is not the stream's, or an event id stored with another body",
    413: "a request body larger than 1 MiB",
    415: "a request body sent as another type than JSON (Content-Type)",
    422: "a body that breaks the event schema, a reference that does not resolve, or a bad stream name",
    503: "this process is shutting down or cannot write now (Retry-After says when to try again)",
}


def answers(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented answers besides the success: 304 (If-None-Match named the answer's ETag) and
    RFC 9457 problems. ``responses=answers(304, 400, 404, 405)`` on a route declares them."""
    specs = {}
    for status in statuses:
        if status == 304:
            specs[status] = ResponseSpec(None, description="not modified: If-None-Match named this ETag")
        else:
            specs[status] = ResponseSpec(
                ProblemView,
                media_type=PROBLEM_MEDIA_TYPE,
                description=f"problem details (RFC 9457): {_PROBLEMS[status]}",
                generate_examples=False,
            )
    return specs


READ = (304, 400, 405)  # every read with parameters


_DOCUMENTS: list[OpenAPI] = []


def finish_document(app: Litestar, *steps: Callable[[OpenAPI], None]) -> None:
    """Run ``steps`` on the app's OpenAPI document as it is built. Building it takes longer than the rest
    of the app's construction, and every app of a process has the same routes: it is built once a process
    and handed to Litestar's OpenAPI plugin of each later app (its private cache of the document)."""
    plugin = next(p for p in app.plugins.init if hasattr(p, "provide_openapi"))
    if _DOCUMENTS:
        plugin._openapi = _DOCUMENTS[0]
        return
    document = plugin.provide_openapi()
    for step in steps:
        step(document)
    _DOCUMENTS.append(document)


_NULL = OpenAPIType.NULL
_LAX = (OpenAPIType.INTEGER, OpenAPIType.NUMBER, OpenAPIType.BOOLEAN)


def plain_query_parameters(document: OpenAPI) -> None:
    """An optional string or list query parameter is left out, never null (a query string cannot say null):
    its schema is the one of its type, with the constraints Litestar rendered beside the ``oneOf [type,
    null]``. An optional number keeps its null: the signature model reads ``at=null`` as left out."""
    for item in (document.paths or {}).values():
        for operation in (item.get, item.post):
            for parameter in (operation.parameters or []) if operation else []:
                schema = getattr(parameter, "schema", None)
                if not isinstance(schema, Schema) or not schema.one_of or parameter.required:
                    continue
                kept = [
                    s for s in schema.one_of if not (isinstance(s, Schema) and s.type == OpenAPIType.NULL)
                ]
                if len(kept) != 1 or not isinstance(kept[0], Schema) or kept[0].type in _LAX:
                    continue
                outer = {
                    f.name: getattr(schema, f.name)
                    for f in dataclasses.fields(schema)
                    if f.name != "one_of" and getattr(schema, f.name) is not None
                }
                parameter.schema = dataclasses.replace(kept[0], **outer)


def document_body(document: OpenAPI, path: str, body_type: type, schema_hook: Any) -> None:
    """The JSON body of a POST whose handler decodes it itself (with a decoder built once), from the same
    msgspec type; its components are named ``<Name>Input``."""
    (schema,), components = msgspec.json.schema_components(
        [body_type], schema_hook=schema_hook, ref_template="#/components/schemas/{name}Input"
    )
    operation = document.paths[path].post  # type: ignore[index]
    assert operation is not None
    operation.request_body = RequestBody(
        content={"application/json": OpenAPIMediaType(schema=schema)},  # type: ignore[arg-type]
        required=True,
    )
    assert document.components.schemas is not None
    document.components.schemas.update({f"{name}Input": s for name, s in components.items()})  # type: ignore[misc]


def event_date_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": EVENT_DATE,
        "description": _EVENT_DATE_TEXT,
        "examples": ["2025-02-18", "2024-11", "2025~", "2025-02-18/2025-02-26", "2025-02-18/.."],
    }


_EVENT_DATE_TEXT = (
    "EDTF date: YYYY, YYYY-MM or YYYY-MM-DD, optionally followed by ~ (approximate), ? (uncertain) or % "
    "(both), or an interval START/END of two of them (END may be .. for an open end, or empty for an "
    "unknown one; it may not be before START); it takes effect at its start"
)


class EdtfDateSchema(OpenAPISchemaPlugin):
    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is EdtfDate

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(
            type=OpenAPIType.STRING, **{k: v for k, v in event_date_schema().items() if k != "type"}
        )
