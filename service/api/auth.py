"""Writes need ``Authorization: Bearer <token>`` with one of the configured tokens (the environment's, the
generated token file's) or a managed one (service.storage.tokens); reads are public."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from service.api.problems import CHALLENGE
from service.storage.tokens import ManagedTokens


def require_write_token(connection: ASGIConnection) -> str | None:
    """Refuse a request without a write token with a 401. Called by the handler itself rather than as a
    Litestar guard, which costs the append handler a fifth of its time under load. Returns None for a
    token of the environment, and for a managed one its digest, for the append to check again in its
    own transaction (service.storage.tokens)."""
    tokens: tuple[str, ...] = connection.app.state.write_tokens
    header = _authorization(connection.scope["headers"])
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "writing needs an `Authorization: Bearer <token>` header", headers=CHALLENGE
        )
    if any(hmac.compare_digest(token.encode(), known.encode()) for known in tokens):
        return None
    managed: ManagedTokens = connection.app.state.managed_tokens
    hashed, refusal = managed.admit(token)
    if refusal is not None:
        raise NotAuthorizedException(refusal, headers=CHALLENGE)
    return hashed


def _authorization(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"authorization":  # ASGI servers give header names in lower case
            return value.decode("latin-1")
    return ""
