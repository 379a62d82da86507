"""What every request goes through: its id, the security and CORS headers, the read protection, the
refusal of writes while the process drains, its metrics and its one log line.

One ASGI layer around Litestar's exception handler and router (``Operations``), rather than Litestar
middleware, which runs after routing and so never sees an unknown path's 404; it costs every request one
pass over its headers and one over its answer's. The answers it gives itself (a refused preflight, a 401
for a protected read, a 503 for a write while draining) are RFC 9457 problems like the app's own.

A request's log line: method, route template, status, duration, request id, the log head the answer
reflects (``Timeline-Head``, else the newest this process knows) and, for a refusal, its reason. Never a
header, a query string or a body: a token cannot reach a log through here.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any

import msgspec
from litestar.utils import normalize_path

from service.api.lifecycle import RETRY_AFTER_SECONDS, Lifecycle
from service.api.metrics import APPEND_ROUTE, LIVE_ROUTE, Metrics, reason, reason_of
from service.api.security import OPEN_PATHS, READ_METHODS, SAFE_METHODS, Cors, ReadAccess, security_headers

log = logging.getLogger("service.requests")

REQUEST_ID = b"x-request-id"
_SANE_ID = re.compile(rb"[\w.:+/=@-]{1,128}")  # an incoming id is kept only if it looks like one
_PROBLEM = "timeline.problem"  # where a request's refusal reason waits for its log line and metrics
_ENCODE = msgspec.json.Encoder()
_CHALLENGE = (b"www-authenticate", b'Bearer realm="timeline"')


async def note_problem(exc: Exception, scope: Any) -> None:
    """Litestar's after-exception hook: remember why the request was refused."""
    scope[_PROBLEM] = reason_of(exc)


class Operations:
    def __init__(
        self,
        app: Callable,
        *,
        metrics: Metrics,
        lifecycle: Lifecycle,
        cors: Cors,
        read_access: ReadAccess,
        known_head: Callable[[], int],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.lifecycle = lifecycle
        self.cors = cors
        self.read_access = read_access
        self.known_head = known_head

    async def __call__(self, scope: Any, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        request_id = origin = authorization = None
        for name, value in scope["headers"]:  # ASGI servers give header names in lower case
            if name == REQUEST_ID:
                request_id = value
            elif name == b"origin":
                origin = value
            elif name == b"authorization":
                authorization = value
        if request_id is None or not _SANE_ID.fullmatch(request_id):
            # not os.urandom: its system call lets go of the GIL on every request (a twentieth of the
            # appends a second); an id needs to be distinct, not secret (random is reseeded in each fork)
            request_id = b"%016x" % random.getrandbits(64)
        path: str = scope["path"]
        added = [(REQUEST_ID, request_id), *self.cors.answer_headers(origin, method)]
        status, head, live = 500, None, False
        # HEAD is GET without the body (RFC 9110, 9.3.2): the app answers a GET and only its headers go out;
        # the body ends at once, a stream's (/live) included
        if method == "HEAD":
            scope["method"] = "GET"
        ended = False

        async def answer(message: dict) -> None:
            nonlocal status, head, live, ended
            if method == "HEAD" and message["type"] == "http.response.body":
                if ended or (message.get("more_body") and not live):
                    return
                ended = True
                message = {"type": "http.response.body", "body": b""}
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or ())
                own_policy = False
                for name, value in headers:
                    if name == b"timeline-head":
                        head = value
                    elif name == b"content-security-policy":
                        own_policy = True
                headers += security_headers(path, own_policy)
                headers += added
                message["headers"] = headers
                if status == 200 and scope.get("path_template") == LIVE_ROUTE:
                    live = True
                    self.metrics.live.inc()
            await send(message)

        try:
            early = self._early(scope, method, path, origin, authorization)
            if early is None:
                await self.app(scope, receive, answer)
            else:
                await early(answer)
        finally:
            if live:
                self.metrics.live.dec()
            self._account(scope, method, status, head, request_id, time.perf_counter() - started)

    def _early(
        self, scope: Any, method: str, path: str, origin: bytes | None, authorization: bytes | None
    ) -> Callable | None:
        """An answer the request gets without reaching the app, or None."""
        if method == "OPTIONS" and origin is not None:
            requested = _header(scope, b"access-control-request-method")
            if requested is not None:  # a CORS preflight
                allowed = self.cors.preflight(origin, requested.decode("latin-1").upper())
                if allowed is None:
                    return self._refuse(
                        scope,
                        403,
                        "Cross-origin request refused",
                        f"pages of {origin.decode('latin-1')!r} may not send {requested.decode('latin-1')!r} "
                        "requests here (TIMELINE_CORS_ORIGINS, TIMELINE_CORS_WRITE_ORIGINS)",
                    )
                return _Answer(204, allowed, b"").send
        if method not in SAFE_METHODS and not self.lifecycle.accepting_writes:
            return self._refuse(
                scope,
                503,
                "Service Unavailable",
                "this server process is shutting down or cannot write now: retry shortly",
                [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
            )
        if (
            self.read_access.required
            and method in READ_METHODS
            and path not in OPEN_PATHS
            and not self.read_access.allows(scope, authorization)
        ):
            return self._refuse(
                scope,
                401,
                "Unauthorized",
                "reading needs an `Authorization: Bearer <token>` header "
                "with a read token (or a write token)",
                [_CHALLENGE],
            )
        return None

    def _refuse(self, scope: Any, status: int, title: str, detail: str, headers: list | None = None):
        scope[_PROBLEM] = reason(title)
        scope["path_template"] = _route_of(scope)
        body = _ENCODE.encode({"status": status, "title": title, "detail": detail})
        if scope["method"] == "HEAD":
            body = b""
        return _Answer(status, [(b"content-type", b"application/problem+json"), *(headers or ())], body).send

    def _account(
        self, scope: Any, method: str, status: int, head: bytes | None, request_id: bytes, seconds: float
    ) -> None:
        route: str | None = scope.get("path_template")
        self.metrics.request(method, route, status, seconds)
        problem = scope.get(_PROBLEM)
        if route == APPEND_ROUTE and status >= 400:
            self.metrics.refused(status, problem or "unknown")
        level = logging.ERROR if status >= 500 else logging.INFO
        if log.isEnabledFor(level):
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "request_id": request_id.decode("latin-1"),
                "head": int(head) if head is not None else self.known_head(),
                "problem": problem,
            }
            # a record made directly: logging's own search of the stack for the caller costs more than
            # the rest of the line, and says nothing a request line needs
            log.handle(
                log.makeRecord(log.name, level, __file__, 0, "request", (), None, extra={"fields": fields})
            )


class _Answer:
    def __init__(self, status: int, headers: list, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def send(self, send: Callable) -> None:
        headers = [*self.headers, (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def _header(scope: Any, wanted: bytes) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == wanted), None)


def _route_of(scope: Any) -> str | None:
    """The route template a request would have reached (for the answers given before routing)."""
    try:
        router = scope["app"].asgi_router
        return router.handle_routing(path=normalize_path(scope["path"]), method=scope["method"])[4]
    except Exception:  # no route: a 404 or a 405
        return None
