"""RFC 9457 problem responses: every refusal says what is wrong and where (a JSON pointer)."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

from service.storage.refusals import AppendRefused

MAX_BODY_BYTES = 1024 * 1024
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="timeline"'}  # with every 401
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemView(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem as this service answers it: a refusal may add members of its own (the
    ``current_version`` of a conflict, the validation ``errors`` of a request)."""

    status: int
    title: str
    detail: str
    pointer: str | None = None  # a JSON pointer into the request body
    parameter: str | None = None  # the query parameter at fault


_FIELD = re.compile(r"^Object (contains unknown|missing required) field `(?P<field>[^`]+)`")
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class Refusal(ProblemDetailsException):
    """A problem of the client's making (4xx). Litestar leaves out the traceback of the statuses in
    ``disable_stack_trace`` by the status its exception's *class* declares, not the instance's: as a plain
    ``ProblemDetailsException`` (a 500 by class) every refusal was logged as an uncaught error, with its
    traceback."""

    status_code = 400


def problem(
    status: int, title: str, detail: str, pointer: str | None = None, **extra: Any
) -> ProblemDetailsException:
    fields = {k: v for k, v in extra.items() if v is not None}
    if pointer is not None:
        fields["pointer"] = pointer
    kind = Refusal if status < 500 else ProblemDetailsException
    return kind(status_code=status, title=title, detail=detail, extra=fields or None)


def pointer_of(message: str) -> tuple[str, str | None]:
    """Split a msgspec error message into its text and a JSON pointer to where it applies."""
    match = _PATH.search(message)
    text = message[: match.start()] if match else message
    path = match["path"] if match else ""
    field = _FIELD.match(text)
    if field:
        path += "." + field["field"]
    if not match and not field:
        return text, None
    return text, re.sub(r"\[(\d+)\]", r"/\1", path).replace(".", "/")


def decode_body(body: bytes, decoding: msgspec.json.Decoder, title: str) -> Any:
    """``body`` decoded by ``decoding`` (a decoder built once, at import), or a problem response: 422 with a
    pointer for a value that breaks the schema, 400 for a body that is not JSON."""
    try:
        return decoding.decode(body)
    except msgspec.DecodeError as exc:
        if isinstance(exc, msgspec.ValidationError):
            detail, pointer = pointer_of(str(exc))
            raise problem(422, title, detail, pointer) from exc
        raise problem(400, "Malformed JSON", f"the request body is not valid JSON: {exc}") from exc


def from_refusal(exc: AppendRefused) -> ProblemDetailsException:
    refused = problem(exc.status, exc.title, exc.detail, exc.pointer, **exc.extra)
    if exc.status == 401:  # a managed token revoked or expired by the time its batch was appended
        refused.headers = CHALLENGE
    return refused


def from_http(exc: HTTPException) -> ProblemDetailsException:
    """Any other HTTP error, with the standard phrase as its title and the specific reason as detail."""
    detail = exc.detail
    if exc.status_code == 413:
        detail = f"the request body is larger than {MAX_BODY_BYTES:,} bytes (1 MiB)"
    problem_exc = problem(exc.status_code, HTTPStatus(exc.status_code).phrase, detail)
    problem_exc.headers = exc.headers
    return problem_exc


def from_validation(exc: ValidationException) -> ProblemDetailsException:
    """Litestar's own validation of path and query parameters."""
    extra = exc.extra if isinstance(exc.extra, list) else None
    return problem(400, "Invalid request", exc.detail, errors=extra)
