"""``GET /``: the web page, and ``GET /assets/{name}``: the files it loads, from ``service/web/``.

No build step and nothing from elsewhere: the page is one HTML file, ES modules and a style sheet, read
once per process and served from memory with an ETag. The page reads the same JSON answers as any client
(``/state``, ``/timeline``, ``/parties/{id}/history``, ``/events/{id}``, ``/live``).

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

WEB = Path(__file__).resolve().parent.parent / "web"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
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


def load_assets(folder: Path = WEB) -> dict[str, Asset]:
    """Every file of the page by name (one flat folder: a name is never a path)."""
    assets = {}
    for path in sorted(folder.iterdir()):
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        assets[path.name] = Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:16]}"')
    return assets


ASSETS = load_assets()


def _send(request: Request, asset: Asset) -> Response[bytes]:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",  # revalidate: a new version of the service serves new files at once
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    }
    if asset.etag in request.headers.get("if-none-match", "").replace("W/", "").split(", "):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.media_type, headers=headers)


class PageController(Controller):
    include_in_schema = False  # a page for people, not part of the JSON API

    @get("/", summary="The web page: the negotiation at a glance")
    async def page(self, request: Request) -> Response[bytes]:
        return _send(request, ASSETS[PAGE])

    @get("/assets/{name:str}", summary="A file the web page loads")
    async def asset(self, request: Request, name: FromPath[str]) -> Response[bytes]:
        found = ASSETS.get(name)
        if found is None or name == PAGE:
            raise problem(404, "No such asset", f"the page has no file {name!r}")
        return _send(request, found)
