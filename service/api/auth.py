"""Writes need ``Authorization: Bearer <token>`` with one of the configured tokens; reads are public."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="timeline"'}


async def require_write_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    tokens: tuple[str, ...] = connection.app.state.write_tokens
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "writing needs an `Authorization: Bearer <token>` header", headers=_CHALLENGE
        )
    if not any(hmac.compare_digest(token.encode(), known.encode()) for known in tokens):
        raise NotAuthorizedException("the bearer token is not one allowed to write", headers=_CHALLENGE)
