"""Shared settings for tests that drive the system Chromium with Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from heatmaps_testing.browser import CHROMIUM as CHROMIUM
from heatmaps_testing.browser import CHROMIUM_ARGS as CHROMIUM_ARGS

REQUIRE_BROWSER = os.environ.get("HEATMAPS_TEST_REQUIRE_BROWSER") == "1"

# Skip without Chromium on a user's machine; in CI (HEATMAPS_TEST_REQUIRE_BROWSER=1) run and fail instead.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRE_BROWSER,
        reason="no Chromium is installed (apt-get install chromium)",
    ),
]


def open_tracked(page: Any, url: str, *, paused_clock: bool = False) -> None:
    """Opens a page with the tracker and waits until the tracker is up.

    With ``paused_clock`` the page's clock (Date, performance.now, timers) is paused from then on: only
    `page.clock.run_for` moves its time, so a busy machine can neither stretch the tracker's 100 ms
    reaction window nor delay its 2.5 s dead verdicts."""
    if paused_clock:
        page.clock.install(time=datetime.now(UTC) - timedelta(seconds=5))
    page.goto(url)
    page.wait_for_function("() => window.__heatmaps !== undefined")
    if paused_clock:
        page.clock.pause_at(datetime.now(UTC))


def scroll_and_wait(page: Any, script: str) -> None:
    """Runs a scrolling `script` and returns once the page has dispatched the scroll event, which a busy
    machine could otherwise deliver later, right after the next click."""
    page.evaluate(
        "script => new Promise(done => { addEventListener('scroll', () => done(), { once: true });"
        " new Function(script)(); })",
        script,
    )
