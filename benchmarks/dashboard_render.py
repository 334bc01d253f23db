"""Render time of the dashboard's Pages and Heatmap views in headless Chromium (ARCHITECTURE.md budget).

    .venv/bin/python -m benchmarks.dashboard_render --db benchmarks/out/perf-1000000.db --runs 5 \\
        --replica-dir benchmarks/out/replica-1000000

Starts the dashboard the way the product does (``heatmaps dashboard --port P``, settings in ``HEATMAPS_*``
variables) on a free loopback port, waits for its health check, then drives the system Chromium with
Playwright. The browser has a profile of its own, as a user's browser does, so its HTTP cache and the
compiled code of scripts it has run (V8's code cache) last from load to load; ``--private`` measures a
private window instead, which keeps downloaded files but compiles every script again in each new tab.
Each load opens a fresh tab (a new Streamlit session) and is timed from navigation until the view is
fully rendered: Streamlit's script run is over (``stApp`` says
``notRunning``, no status widget) and the view's content is drawn (Pages: the metrics and the table's
canvas; Heatmap: the heatmap layer and every Plotly chart). Cold is the first load of each view after the
server started (Pages first: it includes loading the replica, or building it from SQL when the replica
directory is empty); warm is the median of ``--runs`` later loads (server caches warm: no new events
arrive meanwhile). Both views get the window in the URL (``dates``): the 30 days holding the most
events. The Heatmap view is opened without a page, so it shows its default: the page with the most
clicks in that window, desktop breakpoint.

Warm, in-app is what a user switching views does: in one tab already showing Pages, a click on the
sidebar's Heatmap link until that view is fully rendered, then on Pages, ``--runs`` times each (median):
the page's scripts (Streamlit's, Plotly's) are loaded once per tab, not once per view.

Switches are what a user does within the Heatmap view (CONTRACT 15's budget of 0.3 s): from a click on
a control until the rerun it starts is over and every chart has drawn (``--runs`` times each, median):
the layer (Dead clicks, then back to All clicks), and "Compare with" the previous period (three
figures) and back to Off.

Most of a warm load is the browser's (Streamlit's and Plotly's JavaScript), so figures vary with the
machine's load; compare runs taken on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import func, select

from data_layer.db import create_db_engine
from data_layer.schema import web_events
from heatmaps_testing.browser import CHROMIUM, CHROMIUM_ARGS
from heatmaps_testing.loopback import free_port, wait_ok

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 120
RENDER_TIMEOUT_MS = 600_000  # a cold load may build the replica from SQL first
POLL_MS = 20
DEFAULT_WINDOW_DAYS = 30  # the dashboard's default window length

# True once the run is over and the given selectors match; every Plotly chart must have drawn its SVG.
RENDERED_JS = """
(selectors) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    if (app.dataset.testConnectionState !== 'CONNECTED') return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    if (!charts.every(chart => chart.querySelector('.main-svg'))) return false;
    return selectors.every(selector => document.querySelector(selector));
}
"""
PAGES_READY = ['[data-testid="stMetric"]', '[data-testid="stDataFrame"] canvas']
# The view's default drawing, the density, is the chart's PNG image (the backdrop is a JPEG).
HEATMAP_READY = ['[data-testid="stMetric"]', '.js-plotly-plot .imagelayer image[*|href^="data:image/png"]']
# A switch within a view reruns its script. WATCH_RUN_JS, evaluated before the click, notes when a run
# starts (however short: an observer, not a poll), so the view waited for is not the one before the
# click; the run is over when SWITCHED_JS says true, with ``charts`` figures drawn.
WATCH_RUN_JS = """
() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__heatmapsRunStarted = false;
    new MutationObserver((changes, observer) => {
        if (app.dataset.testScriptState === 'running') {
            window.__heatmapsRunStarted = true;
            observer.disconnect();
        }
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}
"""
RUN_STARTED_JS = "() => window.__heatmapsRunStarted === true"
SWITCHED_JS = (
    """
([selectors, charts]) => {
    const charts_ = [...document.querySelectorAll('.js-plotly-plot')];
    const drawn = charts_.filter(chart => chart.querySelector('.main-svg'));
    if (drawn.length !== charts) return false;
    return ("""
    + RENDERED_JS.strip()
    + """)(selectors);
}
"""
)
SWITCHES = (  # (control, option, figures drawn after it)
    ("Layer", "Dead clicks", 1),
    ("Layer", "All clicks", 1),
    ("Compare with", "Previous period", 3),
    ("Compare with", "Off", 1),
)
# In-app navigation keeps the previous view on screen until the new one replaces it: also wait for the
# new view's title (and for the old view's content to be gone).
NAVIGATED_JS = (
    """
([selectors, title, gone]) => {
    const heading = document.querySelector('[data-testid="stMain"] h1');
    if (!heading || heading.textContent.trim() !== title) return false;
    if (document.querySelector(gone)) return false;
    return ("""
    + RENDERED_JS.strip()
    + """)(selectors);
}
"""
)


def busiest_window(db_path: Path, days: int) -> tuple[date, date]:
    """The ``days`` consecutive days holding the most web events (the newest such on ties).

    Not the dashboard's default window: that ends at the newest event, and a benchmark database ends
    with a few events stamped today (performance.py's freshness probe) after weeks without data.
    """
    engine = create_db_engine(f"sqlite:///{db_path.resolve()}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(web_events.c.day, func.count()).group_by(web_events.c.day)).all()
    finally:
        engine.dispose()
    per_day = {date.fromisoformat(str(day)[:10]): int(n) for day, n in rows}
    if not per_day:
        raise ValueError(f"{db_path} holds no web events")

    def events_until(last: date) -> int:
        return sum(per_day.get(last - timedelta(days=back), 0) for back in range(days))

    last = max(per_day, key=lambda day: (events_until(day), day))
    return last - timedelta(days=days - 1), last


def database_url(db_path: Path) -> str:
    """The SQLite URL, relative to the project root when the file lies inside it (as performance.py
    names it): the replica's files are keyed by the URL, so the dashboard reuses the ones it wrote."""
    path = db_path.resolve()
    return f"sqlite:///{path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}"


@contextmanager
def dashboard_server(db_path: Path, replica_dir: Path, log_path: Path) -> Iterator[str]:
    """``heatmaps dashboard`` on a free loopback port over ``db_path``; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("HEATMAPS_")}
    env.update(
        HEATMAPS_DATABASE_URL=database_url(db_path),
        HEATMAPS_REPLICA_DIR=str(replica_dir.resolve()),
        HEATMAPS_DASHBOARD_URL=base,
    )
    command = [str(Path(sys.executable).with_name("heatmaps")), "dashboard", "--port", str(port)]
    with log_path.open("wb") as log:
        # A session of its own: `heatmaps dashboard` runs streamlit as a child; both are stopped together.
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        if not wait_ok(f"{base}/_stcore/health", START_TIMEOUT_S, alive=lambda: server.poll() is None):
            raise RuntimeError(f"the dashboard did not start: {log_path.read_text()[-2000:]}")
        yield base
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


def open_browser(pw: Playwright, profile: Path, private: bool) -> BrowserContext:
    """The system Chromium at the benchmark's window size: with a profile in ``profile``, or private."""
    viewport = {"width": 1440, "height": 900}
    if not private:
        return pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=viewport
        )
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport=viewport)
    context.on("close", lambda _: browser.close())
    return context


def load_seconds(context: BrowserContext, url: str, ready: list[str], rendered: str = RENDERED_JS) -> float:
    """Seconds from navigation in a fresh tab until the view is fully rendered (``rendered``, given
    ``ready``, says true)."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(rendered, arg=ready, polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
        return time.perf_counter() - started
    finally:
        page.close()


def navigation_seconds(page: Page, link: str, ready: list[str], gone: str) -> float:
    """Seconds from a click on the sidebar's ``link`` until that view is fully rendered in the same tab."""
    started = time.perf_counter()
    page.locator('[data-testid="stSidebarNavLink"]', has_text=link).click()
    page.wait_for_function(NAVIGATED_JS, arg=[ready, link, gone], polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
    return time.perf_counter() - started


def switch_seconds(page: Page, control: str, option: str, charts: int) -> float:
    """Seconds from a click on ``option`` of the segmented ``control`` until its rerun is over and
    ``charts`` figures are drawn."""
    button = page.get_by_role("radiogroup", name=control).get_by_role("radio", name=option)
    page.evaluate(WATCH_RUN_JS)
    started = time.perf_counter()
    button.click()
    page.wait_for_function(RUN_STARTED_JS, polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(SWITCHED_JS, arg=[[], charts], polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
    return time.perf_counter() - started


def measure(
    db_path: Path,
    runs: int = 5,
    replica_dir: Path | None = None,
    window: tuple[date, date] | None = None,
    private: bool = False,
) -> dict[str, float]:
    """Cold and warm (median of ``runs``) render seconds of the Pages and Heatmap views, plus start-up.

    ``replica_dir`` is the dashboard's replica directory; None means a fresh one (the cold Pages load
    then includes building the replica from SQL). ``window`` (first, last day) goes in the URL as the
    sidebar's dates; None means :func:`busiest_window` over 30 days. ``private`` loads in a private
    window instead of a browser profile. Keys: ``server start``, ``pages cold``, ``heatmap cold``,
    ``pages warm``, ``heatmap warm``, ``heatmap warm, in-app``, ``pages warm, in-app``, and per switch
    of :data:`SWITCHES` ``switch: <option>``.
    """
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(db_path)
    first, last = window or busiest_window(db_path, DEFAULT_WINDOW_DAYS)
    dates = urlencode({"dates": [first.isoformat(), last.isoformat()]}, doseq=True)
    with tempfile.TemporaryDirectory(prefix="dashboard-render-") as scratch:
        replicas = Path(replica_dir) if replica_dir else Path(scratch) / "replica"
        started = time.perf_counter()
        with (
            dashboard_server(db_path, replicas, Path(scratch) / "dashboard.log") as base,
            sync_playwright() as pw,
        ):
            figures = {"server start": time.perf_counter() - started}
            context = open_browser(pw, Path(scratch) / "profile", private)
            views = {
                "pages": (f"{base}/?{dates}", PAGES_READY),
                "heatmap": (f"{base}/heatmap?bp=desktop&{dates}", HEATMAP_READY),
            }
            for name, (url, ready) in views.items():
                figures[f"{name} cold"] = load_seconds(context, url, ready)
            warm: dict[str, list[float]] = {name: [] for name in views}
            for _ in range(runs):
                for name, (url, ready) in views.items():
                    warm[name].append(load_seconds(context, url, ready))
            for name, times in warm.items():
                figures[f"{name} warm"] = statistics.median(times)
            # What a user switching views does: one tab, the scripts already loaded, the sidebar's links.
            tab = context.new_page()
            tab.goto(views["pages"][0], wait_until="commit")
            tab.wait_for_function(RENDERED_JS, arg=PAGES_READY, polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
            switches: dict[str, list[float]] = {name: [] for name in views}
            for _ in range(runs):
                switches["heatmap"].append(navigation_seconds(tab, "Heatmap", HEATMAP_READY, PAGES_READY[1]))
                switches["pages"].append(navigation_seconds(tab, "Pages", PAGES_READY, HEATMAP_READY[1]))
            for name, times in switches.items():
                figures[f"{name} warm, in-app"] = statistics.median(times)
            tab.goto(views["heatmap"][0], wait_until="commit")
            tab.wait_for_function(RENDERED_JS, arg=HEATMAP_READY, polling=POLL_MS, timeout=RENDER_TIMEOUT_MS)
            toggles: dict[str, list[float]] = {option: [] for _, option, _ in SWITCHES}
            for _ in range(runs):
                for control, option, charts in SWITCHES:
                    toggles[option].append(switch_seconds(tab, control, option, charts))
            for option, times in toggles.items():
                figures[f"switch: {option}"] = statistics.median(times)
            context.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True, help="SQLite file of the benchmark data set")
    parser.add_argument("--runs", type=int, default=5, help="warm loads per view (median reported)")
    parser.add_argument(
        "--replica-dir",
        type=Path,
        default=None,
        help="the dashboard's replica directory (default: a fresh one)",
    )
    parser.add_argument("--days", type=int, default=DEFAULT_WINDOW_DAYS, help="days in the window shown")
    parser.add_argument(
        "--private", action="store_true", help="a private window instead of a browser profile"
    )
    args = parser.parse_args()
    window = busiest_window(args.db, args.days)
    print(f"window: {window[0]} to {window[1]} (the {args.days} days with the most events)")
    figures = measure(args.db, args.runs, args.replica_dir, window, args.private)
    browser = "a private window" if args.private else "a browser profile"
    print(
        f"dashboard render in headless Chromium, {browser} (navigation to fully rendered), "
        f"warm = median of {args.runs}:"
    )
    for name, seconds in figures.items():
        print(f"  {name:32s} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
