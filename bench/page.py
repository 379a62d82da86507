"""How fast the web page is, in the browser the tests use, over the bundled data set on SQLite.

A real server process and Debian's Chromium (``TIMELINE_TEST_CHROMIUM``, default ``/usr/bin/chromium``),
driven by Playwright. The page measures itself (``performance.measure``): ``view`` runs from the moment it
asks the API for a view until that view is in the DOM, ``view-painted`` until the paint after that.

- first view, cold: a fresh browser context (nothing cached) opens ``/?as_of=2025-02-19``; the time from
  navigation start until the first view is in the DOM, and until it is painted;
- first view, warm: the same in a context that has loaded the page before (its files are cached for good);
- slider: the slider focused on 5 February, one press of an arrow key at a time (a day each, a new entry in
  the browser's history; back at the end of the axis), the time from the key press until the new view is
  painted.

``python bench/page.py [--runs 15] [--steps 20] [--screenshot docs/page.png]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.projections import machine, percentile, running_server  # noqa: E402
from service.compose import event_store  # noqa: E402
from service.dataset import bundled, load  # noqa: E402
from service.storage.database import connect, migrate  # noqa: E402

CHROMIUM = os.environ.get("TIMELINE_TEST_CHROMIUM", "/usr/bin/chromium")
VIEW = "/?as_of=2025-02-19"
SLIDER_FROM = "/?as_of=2025-02-05"
READY = "() => document.documentElement.dataset.ready === 'true'"
SETTLED = (
    "() => { const d = document.documentElement.dataset; "
    "return d.loading === 'false' && d.view === location.pathname + location.search; }"
)
AT_THE_ENDS = (
    "() => { const slider = document.querySelector('#slider'); "
    "return [slider.max, slider.min].map(end => slider.value === end); }"
)
FIRST_VIEW = """() => new Promise(done => {
  const wait = () => {
    const asked = performance.getEntriesByName('view-asked')[0];
    const painted = performance.getEntriesByName('view-painted')[0];
    const view = performance.getEntriesByName('view')[0];
    if (!painted) return setTimeout(wait, 10);
    done({ dom: asked.startTime + view.duration, painted: asked.startTime + painted.duration });
  };
  wait();
})"""


def open_first_view(context, base: str) -> dict[str, float]:
    page = context.new_page()
    page.goto(base + VIEW, wait_until="commit")
    page.wait_for_function(READY, polling=50)  # polling, not visibility checks: they would force layouts
    times = page.evaluate(FIRST_VIEW)
    page.close()
    return times


def slider_steps(context, base: str, steps: int) -> list[float]:
    page = context.new_page()
    page.goto(base + SLIDER_FROM)
    page.wait_for_function(SETTLED, polling=50)
    page.focus("#slider")
    durations = []
    key = "ArrowRight"
    for _ in range(steps):
        last, first = page.evaluate(AT_THE_ENDS)
        key = "ArrowLeft" if last else "ArrowRight" if first else key  # back and forth along the axis
        page.evaluate("() => { performance.clearMeasures(); }")
        start = page.evaluate("() => performance.now()")
        page.keyboard.press(key)
        page.wait_for_function(SETTLED, polling=20)
        painted = page.wait_for_function(
            "() => performance.getEntriesByName('view-painted').at(-1)?.duration", polling=10
        ).json_value()
        asked = page.evaluate("() => performance.getEntriesByName('view-asked').at(-1).startTime")
        durations.append(asked + painted - start)
    page.close()
    return durations


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<28} median {statistics.median(values):6.0f} ms   p90 {percentile(values, 90):6.0f} ms   "
        f"min {min(values):5.0f}   max {max(values):5.0f}   ({len(values)} runs)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--screenshot", type=Path, help="save 27 February, 1280 x 1600, to this PNG")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'page.db'}"
        database = connect(url)
        migrate(database)
        load(event_store(database), bundled())
        database.dispose()
        with running_server(url, Path(folder)) as (base, _), sync_playwright() as playwright:
            launch = {"executable_path": CHROMIUM, "args": ["--no-sandbox"] if os.geteuid() == 0 else []}
            browser = playwright.chromium.launch(**launch)
            viewport = {"width": 1280, "height": 900}
            load_before = os.getloadavg()[0]
            warm_context = browser.new_context(viewport=viewport)
            open_first_view(warm_context, base)
            cold, warm = [], []
            for _ in range(args.runs):  # in turns, so that both see the same load on the machine
                context = browser.new_context(viewport=viewport)
                cold.append(open_first_view(context, base))
                context.close()
                warm.append(open_first_view(warm_context, base))
            steps = slider_steps(warm_context, base, args.steps)
            context = warm_context
            if args.screenshot:  # 24 February, then the 27th: the cells that changed in between are marked
                page = context.new_page()
                page.set_viewport_size({"width": 1280, "height": 1600})
                page.goto(base + "/?as_of=2025-02-24")
                page.wait_for_function(SETTLED, polling=50)
                page.fill("#as-of", "2025-02-27")
                page.wait_for_function("() => location.search.includes('2025-02-27')", polling=50)
                page.wait_for_function(SETTLED, polling=50)
                page.locator("#as-of").blur()
                page.screenshot(path=args.screenshot)
            browser.close()
    print(f"# the web page, bundled data set, SQLite; {machine()}; Chromium at {CHROMIUM}")
    print(f"# load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(summary("first view cold, in DOM", [t["dom"] for t in cold]))
    print(summary("first view cold, painted", [t["painted"] for t in cold]))
    print(summary("first view warm, in DOM", [t["dom"] for t in warm]))
    print(summary("first view warm, painted", [t["painted"] for t in warm]))
    print(summary("slider step, key to paint", steps))


if __name__ == "__main__":
    main()
