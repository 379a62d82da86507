"""``GET /``: the web page, and ``GET /assets/{name}``: the files it loads, from ``service/web/``.

No build step and nothing from elsewhere: the page is one HTML file, ES modules and a style sheet, read
once per process and served from memory. The files live under ``/assets/{version}/``, the version a hash
of them all, so a browser keeps them for good and asks again only when the service brings new ones; the
page itself is always revalidated (ETag). The modules import each other by relative paths, which stay
under the same version. The page reads the same JSON answers as any client (``/state``, ``/timeline``,
``/parties/{id}/history``, ``/events/{id}``, ``/live``).

Every answer carries a strict Content-Security-Policy: the page runs no inline script, no inline style
and no event handler attribute, and loads nothing but its own files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from service.api.problems import problem
from service.api.reads import not_modified

WEB = Path(__file__).resolve().parent.parent / "web"
MEDIA_TYPES = {  # Litestar adds "; charset=utf-8" to the text types
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE = "index.html"


class Asset(NamedTuple):
    body: bytes
    media_type: str
    etag: str


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


def load_assets(folder: Path = WEB) -> tuple[str, dict[str, Asset]]:
    """The version of the page's files, and every file by name (one flat folder: a name is never a path).
    The page's links to its files name that version."""
    assets = {}
    for path in sorted(folder.iterdir()):
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is not None and path.is_file():
            assets[path.name] = _asset(path.read_bytes(), media_type)
    version = hashlib.sha256("".join(a.etag for a in assets.values()).encode()).hexdigest()[:12]
    page = assets[PAGE]
    assets[PAGE] = _asset(page.body.replace(b'"/assets/', f'"/assets/{version}/'.encode()), page.media_type)
    return version, assets


VERSION, ASSETS = load_assets()
FOREVER = "public, max-age=31536000, immutable"


def _send(request: Request, asset: Asset, cache: str = "no-cache") -> Response[bytes]:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": cache,
        # nosniff and the referrer policy come with every answer (service.api.security); the page's own
        # policy is stricter than the default one, and an answer's own policy is kept
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    }
    if not_modified(request.headers.get("if-none-match"), asset.etag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.media_type, headers=headers)


class PageController(Controller):
    include_in_schema = False  # a page for people, not part of the JSON API

    @get("/", summary="The web page: the negotiation at a glance")
    async def page(self, request: Request) -> Response[bytes]:
        return _send(request, ASSETS[PAGE])

    @get("/assets/{version:str}/{name:str}", summary="A file the web page loads")
    async def asset(self, request: Request, version: FromPath[str], name: FromPath[str]) -> Response[bytes]:
        found = ASSETS.get(name)
        if found is None or name == PAGE:
            raise problem(404, "No such asset", f"the page has no file {name!r}")
        # a page of another version (a server restarted with new files) gets today's file, not kept
        return _send(request, found, FOREVER if version == VERSION else "no-cache")
