"""``GET /`` and the files of the page, through the app: their types and caching, a strict Content-Security-
Policy the page keeps to (no inline script, style or handler), and a module graph that is complete and
loads nothing from elsewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar.testing import TestClient

from events.vocabulary import EVENT_TYPES
from service.api.page import WEB
from service.app import create_app
from service.settings import Settings
from tests.server import clean_env

TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
IMPORT = re.compile(r"""^import\s+(?:[\w*{}\s,]+?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)
UNSAFE = re.compile(r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(|\bFunction\(")
BENCH = Path(__file__).resolve().parent.parent / "bench" / "page.py"


class Markup(HTMLParser):
    """What an HTML document loads, and what a strict policy would refuse in it."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.preloads: list[str] = []
        self.refused: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.refused += [f"<{tag} {name}>" for name in found if name.startswith("on") or name == "style"]
        if tag == "style":
            self.refused.append("<style>")
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        for name in ("src", "href"):
            if tag in ("script", "link", "img") and found.get(name):
                self.loads.append(found[name])
        if tag == "link" and found.get("rel") == "modulepreload":
            self.preloads.append(found["href"])

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.refused.append("an inline script")


@pytest.fixture
def web(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=sqlite_url))) as client:
        yield client


def page_markup(web: TestClient) -> Markup:
    markup = Markup()
    markup.feed(web.get("/").text)
    return markup


def module_graph(web: TestClient, entries: list[str]) -> dict[str, str]:
    """Every module reachable from ``entries`` by its imports: URL -> source."""
    found: dict[str, str] = {}
    todo = list(entries)
    while todo:
        url = todo.pop()
        if url in found:
            continue
        response = web.get(url)
        assert response.status_code == 200, url
        found[url] = response.text
        for specifier in IMPORT.findall(response.text):
            assert specifier.startswith("./"), f"{url} imports {specifier}: only the page's own files"
            todo.append(url.rsplit("/", 1)[0] + specifier[1:])
    return found


def test_the_page_is_html_under_a_strict_content_security_policy(web: TestClient) -> None:
    response = web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy
    markup = page_markup(web)
    assert markup.refused == []
    assert markup.scripts and all(s.get("type") == "module" and s.get("src") for s in markup.scripts)
    assert "<dialog" in response.text and 'type="range"' in response.text and 'role="switch"' in response.text


def test_every_file_the_page_loads_answers_200_with_its_type_and_is_kept_for_good(web: TestClient) -> None:
    markup = page_markup(web)
    assert markup.loads and all(re.fullmatch(r"/assets/[0-9a-f]{12}/[\w.-]+", url) for url in markup.loads)
    scripts = [s["src"] for s in markup.scripts]
    modules = set(module_graph(web, scripts))
    assert modules - set(scripts) == set(markup.preloads)  # every module asked for at once, none forgotten
    urls = set(markup.loads) | modules
    assert {url.rsplit("/", 1)[1] for url in urls} >= {"main.js", "page.css", "icon.svg", "live.js"}
    for url in urls:
        response = web.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == TYPES[Path(url).suffix], url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        text = re.sub(r'xmlns="[^"]*"', "", response.text)  # a namespace name, not something to load
        assert not re.search(r"""["'(]\s*(https?:)?//""", text), f"{url} loads from elsewhere"
        # text from the log becomes text nodes, never markup, and no string becomes code
        assert not re.search(UNSAFE, text), url


def test_an_unchanged_file_is_not_sent_again_and_an_unknown_one_is_a_404(web: TestClient) -> None:
    page = web.get("/")
    assert page.headers["cache-control"] == "no-cache"
    assert web.get("/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    main = next(url for url in page_markup(web).loads if url.endswith("/page.css"))
    etag = web.get(main).headers["etag"]
    assert web.get(main, headers={"If-None-Match": etag}).status_code == 304
    version = main.split("/")[2]
    for missing in ("nope.js", "index.html"):
        response = web.get(f"/assets/{version}/{missing}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    older = web.get("/assets/000000000000/page.css")  # a page from before a restart: today's file, not kept
    assert older.status_code == 200 and older.headers["cache-control"] == "no-cache"


def test_the_page_listens_for_every_event_type_the_live_stream_sends() -> None:
    listed = re.search(r"EVENT_TYPES = \[(.*?)\]", (WEB / "live.js").read_text(), re.DOTALL)
    assert set(re.findall(r'"(\w+)"', listed.group(1))) == set(EVENT_TYPES)


def test_the_page_is_no_api_operation(web: TestClient) -> None:
    paths = web.get("/schema/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith("/assets") for path in paths)


def test_no_file_of_the_page_runs_much_past_400_lines() -> None:
    lengths = {path.name: len(path.read_text().splitlines()) for path in WEB.iterdir()}
    assert all(length <= 420 for length in lengths.values()), lengths


def test_the_page_bench_measures_the_first_view_and_a_slider_step(browser) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "1", "--steps", "2"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for line in ("first view cold, painted", "first view warm, in DOM", "slider step, key to paint"):
        assert line in done.stdout
