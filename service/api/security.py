"""What every answer says to browsers, who may read and write from another origin, and who may read.

- Security headers on every answer: ``X-Content-Type-Options: nosniff`` (a JSON answer is never run as a
  script or styled as a page), a ``Content-Security-Policy`` that lets a page load only the service's own
  scripts, styles and images and talk only to the service (``fetch``, ``EventSource`` on ``/live``), with
  no inline script and no framing, and ``Referrer-Policy: no-referrer``. An answer that brings its own
  policy (the web page's, stricter) keeps it. The interactive docs under ``/schema`` load their viewer
  from its CDN, with inline styles: they get a policy that allows exactly that.
- CORS: pages of the origins in ``TIMELINE_CORS_ORIGINS`` (any, ``*``, by default: the log is public) may
  read (``GET``, ``HEAD``); only those in ``TIMELINE_CORS_WRITE_ORIGINS`` (none by default) may also
  append. A preflight for anything else is refused.
- Read protection, off by default: with ``TIMELINE_READ_TOKENS`` set, reads need one of those bearer
  tokens, or a write token; ``/health`` and ``/ready`` stay open for probes.
"""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException

from service.api.auth import require_write_token

Headers = list[tuple[bytes, bytes]]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' {_DOCS_CDN}",
        f"style-src 'self' 'unsafe-inline' {_DOCS_CDN} https://fonts.googleapis.com",
        f"font-src 'self' data: {_DOCS_CDN} https://fonts.gstatic.com",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PREFIX = "/schema"
READ_METHODS = frozenset({"GET", "HEAD"})
SAFE_METHODS = READ_METHODS | {"OPTIONS"}
OPEN_PATHS = frozenset({"/health", "/ready"})  # probes: never behind read protection
# what a script of another origin may read of an answer, beyond the basic headers
EXPOSED = b"Timeline-Head, ETag, Link, Location, Idempotent-Replayed, Retry-After, X-Request-Id"
READ_HEADERS = b"Authorization, If-None-Match, Last-Event-ID, X-Request-Id"
WRITE_HEADERS = b"Authorization, Content-Type, If-None-Match, Last-Event-ID, X-Request-Id"
PREFLIGHT_MAX_AGE = b"600"

_BASE: Headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
_POLICY = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_DOCS = (b"content-security-policy", DOCS_POLICY.encode())


def security_headers(path: str, own_policy: bool) -> Headers:
    """The headers every answer gets; ``own_policy``: the answer brings its own policy."""
    if own_policy:
        return _BASE
    return [*_BASE, _DOCS if path.startswith(DOCS_PREFIX) else _POLICY]


class Cors:
    """Cross-origin reads for ``read_origins``, writes for ``write_origins`` (each may be ``*``)."""

    def __init__(self, read_origins: tuple[str, ...], write_origins: tuple[str, ...]) -> None:
        self._any_write = "*" in write_origins
        self._any_read = "*" in read_origins or self._any_write
        self._write = frozenset(o.encode() for o in write_origins)
        self._read = frozenset(o.encode() for o in read_origins) | self._write
        # when a read's answer depends on who asks, caches must know (answers to writes are not kept)
        self._vary: Headers = [] if self._any_read else [(b"vary", b"Origin")]

    def may(self, origin: bytes, method: str) -> bool:
        if method in SAFE_METHODS:
            return self._any_read or origin in self._read
        return self._any_write or origin in self._write

    def _allow_origin(self, origin: bytes, method: str) -> tuple[bytes, bytes]:
        wildcard = self._any_read if method in SAFE_METHODS else self._any_write
        return (b"access-control-allow-origin", b"*" if wildcard else origin)

    def answer_headers(self, origin: bytes | None, method: str) -> Headers:
        """Headers for the answer to an actual request from ``origin`` (None: not cross-origin)."""
        if origin is None or not self.may(origin, method):
            return self._vary
        return [self._allow_origin(origin, method), (b"access-control-expose-headers", EXPOSED), *self._vary]

    def preflight(self, origin: bytes, method: str) -> Headers | None:
        """The headers that allow ``method`` from ``origin`` (beside the allowed origin, which the
        answer to any request from an origin that may read carries), or None: refused."""
        if not self.may(origin, method):
            return None
        writes = self._any_write or origin in self._write
        return [
            (b"access-control-allow-methods", b"GET, HEAD, POST" if writes else b"GET, HEAD"),
            (b"access-control-allow-headers", WRITE_HEADERS if writes else READ_HEADERS),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
        ]


class ReadAccess:
    """Who may read: anyone, or (with read tokens configured) holders of a read or a write token."""

    def __init__(self, read_tokens: tuple[str, ...]) -> None:
        self._tokens = tuple(token.encode() for token in read_tokens)
        self.required = bool(self._tokens)

    def allows(self, scope: dict, authorization: bytes | None) -> bool:
        scheme, _, token = (authorization or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            return False
        if any(hmac.compare_digest(token, known) for known in self._tokens):
            return True
        try:  # a token that may write may read: the write tokens are the auth module's to know
            require_write_token(ASGIConnection(scope))
        except NotAuthorizedException:
            return False
        return True
