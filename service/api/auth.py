"""Writes need ``Authorization: Bearer <token>`` with one of the configured tokens (the environment's, the
generated token file's) or a managed one (service.storage.tokens); reads are public."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from service.storage.tokens import ManagedTokens

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="timeline"'}


def require_write_token(connection: ASGIConnection) -> None:
    """Refuse a request without a write token with a 401. Called by the handler itself rather than as a
    Litestar guard, which costs the append handler a fifth of its time under load."""
    tokens: tuple[str, ...] = connection.app.state.write_tokens
    header = _authorization(connection.scope["headers"])
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "writing needs an `Authorization: Bearer <token>` header", headers=_CHALLENGE
        )
    if any(hmac.compare_digest(token.encode(), known.encode()) for known in tokens):
        return
    managed: ManagedTokens = connection.app.state.managed_tokens
    if (refusal := managed.refusal(token)) is not None:
        raise NotAuthorizedException(refusal, headers=_CHALLENGE)


def _authorization(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"authorization":  # ASGI servers give header names in lower case
            return value.decode("latin-1")
    return ""
