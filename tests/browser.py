"""A real browser against a real server: Debian's Chromium driven by Playwright for Python.

Playwright's own browser download is not used: ``TIMELINE_TEST_CHROMIUM`` names the browser (default
``/usr/bin/chromium``; ``make test`` installs Debian's where it can). Without one the browser tests skip and
say why; under ``CI=true`` that is a failure, as for PostgreSQL.

Each test gets a fresh browser context whose console errors, uncaught exceptions, failed requests and
error responses are collected; any of them fails the test. Screenshots of the states a test reaches go to
``build/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.compose import event_store
from service.dataset import bundled, load
from service.storage.database import connect
from tests.conftest import TOKEN, unavailable
from tests.server import free_port, running_server

CHROMIUM = os.environ.get("TIMELINE_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


def _browser_unavailable(reason: str):
    unavailable("browser", f"browser tests need Chromium and Playwright for Python: {reason}")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        _browser_unavailable(f"Playwright is not installed ({exc}; pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _browser_unavailable(
            f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set TIMELINE_TEST_CHROMIUM)"
        )
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        except Error as exc:
            _browser_unavailable(f"{CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the bundled data set, copied for each server."""
    path = tmp_path_factory.mktemp("seeded") / "timeline.db"
    shutil.copy(sqlite_template, path)
    database = connect(f"sqlite:///{path}")
    load(event_store(database), bundled())
    database.dispose()
    return path


class Site:
    """A server process on loopback over a copy of the seeded data, and its JSON API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)

    def get(self, path: str, **params) -> dict:
        response = self.api.get(path, params={k: v for k, v in params.items() if v is not None})
        assert response.status_code == 200, response.text
        return response.json()

    def append(self, stream: str, *events: dict) -> dict:
        response = self.api.post(f"/streams/{stream}/events", json={"events": list(events)})
        assert response.status_code == 201, response.text
        return response.json()


@contextmanager
def serving(template: Path, folder: Path, url: str | None = None) -> Iterator[Site]:
    """A server over a copy of ``template`` (or over the database at ``url``)."""
    if url is None:
        for suffix in ("", "-wal"):
            if Path(f"{template}{suffix}").exists():
                shutil.copy(f"{template}{suffix}", folder / f"timeline.db{suffix}")
        url = f"sqlite:///{folder / 'timeline.db'}"
    env = {"TIMELINE_DATABASE_URL": url, "TIMELINE_PORT": str(free_port()), "TIMELINE_WRITE_TOKENS": TOKEN}
    with running_server(env, folder) as (base, _):
        site = Site(base)
        yield site
        site.api.close()


@pytest.fixture(scope="module")
def site(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server for the tests of a module that only read."""
    with serving(seeded_template, tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture
def own_site(seeded_template: Path, tmp_path: Path) -> Iterator[Site]:
    """A server of the test's own, for tests that append."""
    with serving(seeded_template, tmp_path) as running:
        yield running


class Tab:
    """One page in a fresh browser context, with everything that went wrong in it."""

    def __init__(self, context, name: str) -> None:
        self.context = context
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        self.problems: list[str] = []
        self.page = self.watch(context.new_page())

    def watch(self, page):
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status} {r.url}"))
        return page

    def _failed(self, request) -> None:
        # a question gone stale (aborted by the page) and /live closed by leaving the page are not failures
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def open(self, base: str, query: str = "", page=None):
        page = page or self.page
        page.goto(f"{base}/{query}")
        settled(page)
        return page

    def shot(self, state: str, page=None) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (page or self.page).screenshot(path=SCREENSHOTS / f"{self.name}-{state}.png", full_page=True)


def settled(page) -> None:
    """Wait until the page shows the view its URL names, with no question in flight."""
    page.wait_for_function(
        "() => { const d = document.documentElement.dataset;"
        " return d.loading === 'false' && d.view === location.pathname + location.search; }",
        timeout=10_000,
    )


@pytest.fixture
def tab(browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    opened = Tab(context, request.node.name)
    yield opened
    context.close()
    assert opened.problems == [], "the page reported problems"
