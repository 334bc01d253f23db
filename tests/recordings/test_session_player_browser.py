"""The Session replay view's recording player in a real browser: `streamlit run` on loopback over a
database holding one recorded session, driven by the system Chromium with Playwright.

The replay iframe rebuilds the recorded page with its text masked; the timeline carries the session's
click, rage and dead markers; the player waits 3 s before the page's first rage click, or before a
link's ``at``; the recording's script and inline handler never run, and its image and background URLs
on another host are never requested: the dashboard's tab asks nothing of any host but the dashboard.
A screenshot goes to ``test-artifacts/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from data_layer.db import create_db_engine
from data_layer.settings import Settings
from heatmaps_testing.loopback import REPO
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.live import dashboard_settings, free_port, running_dashboard
from tests.recordings import recorded

pytestmark = [*needs_chromium, pytest.mark.live]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000
SHOWS_TIME = "(t) => document.querySelector('.recording-player .rr-timeline__time').textContent.trim() === t"
LINK = {"sessionId": recorded.SESSION, "visitorId": recorded.VISITOR, "date": recorded.DAY}


class _ThirdParty(BaseHTTPRequestHandler):
    """A host the recording names: every request it gets is noted."""

    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def third_party() -> Iterator[tuple[str, list[str]]]:
    """Another host (127.0.0.2: another origin) and the paths asked of it."""
    hits: list[str] = []
    handler = type("Handler", (_ThirdParty,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.2", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dashboard(tmp_path: Path, third_party: tuple[str, list[str]]) -> Iterator[str]:
    port = free_port()
    values = dashboard_settings(tmp_path, port)
    engine = create_db_engine(values["database_url"])
    try:
        recorded.store_recorded_session(engine, Settings(**values), third_party=third_party[0])  # type: ignore[arg-type]
        with running_dashboard(port, **values) as base:
            yield base
    finally:
        engine.dispose()


def wait_idle(page: Any) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def test_a_recorded_session_replays_in_the_player(dashboard: str, third_party: tuple[str, list[str]]) -> None:
    base, (_, hits) = dashboard, third_party
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1300})
        page.set_default_timeout(TIMEOUT_MS)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        blocked: list[str] = []  # "<url> <reason>"
        page.on("requestfailed", lambda request: blocked.append(f"{request.url} {request.failure}"))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        page.goto(f"{base}/session?{urlencode(LINK)}")
        page.get_by_role("heading", name="Session replay").wait_for()
        page.locator(".recording-player .rr-player").wait_for()
        replay = page.frame_locator(".recording-player .replayer-wrapper iframe")
        # The recorded page, rebuilt with its text masked as the recorder sent it.
        replay.locator("h1.title").wait_for(state="attached")
        assert replay.locator("h1.title").inner_text() == recorded.MASKED_HEADING
        assert replay.locator("button#buy").inner_text() == recorded.MASKED_BUTTON
        assert replay.locator("#added").count() == 0  # added at 10 s; the player waits at 5 s
        page.wait_for_function(SHOWS_TIME, arg="00:05")

        # The timeline's markers: the session's clicks, its rage event and its dead click.
        progress = page.locator(".recording-player .rr-progress")
        assert progress.locator('div[title="click"]').count() == 2
        assert progress.locator('div[title="rage click"]').count() == 1
        assert progress.locator('div[title="dead click"]').count() == 1
        legend = page.locator(".recording-player-legend").inner_text()
        assert "rage click" in legend and "dead click" in legend

        # Play at 8x: the page changes as recorded.
        page.locator(".recording-player .rr-controller__btns button", has_text="8x").click()
        page.locator(".recording-player .rr-controller__btns button").first.click()
        replay.locator("#added").wait_for(state="attached")
        assert replay.locator("#added").inner_text() == "****"
        wait_idle(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-session-recording.png"), full_page=True)

        # A link's moment: the player waits 3 s before it.
        page.goto(f"{base}/session?{urlencode({**LINK, 'at': recorded.ms(recorded.DEAD_CLICK_S)})}")
        page.locator(".recording-player .rr-player").wait_for()
        replay = page.frame_locator(".recording-player .replayer-wrapper iframe")
        replay.locator("#added").wait_for(state="attached")  # at 11 s the change is there
        page.wait_for_function(SHOWS_TIME, arg="00:11")

        # Picking an event beside the player plays from 3 s before it, in the same player (a rerun).
        wait_idle(page)
        frame = page.locator(".recording-player .replayer-wrapper iframe").element_handle()
        table = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(table["x"] + 15, table["y"] + 35 + 35 * 2 + 17)  # row 3: the rage event's 2nd click
        page.wait_for_url(f"**at={recorded.ms(recorded.RAGE_CLICKS_S[1])}**")
        page.wait_for_function(SHOWS_TIME, arg="00:05")
        assert frame.evaluate("(iframe) => iframe.isConnected")

        # Another page: the player goes to its first click.
        wait_idle(page)
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Page").first.click()
        page.get_by_role("option", name=recorded.OTHER_PAGE).click()
        page.wait_for_function(SHOWS_TIME, arg="00:21")
        assert "at=" not in page.url
        assert frame.evaluate("(iframe) => iframe.isConnected")

        # Nothing of the recording ran, and nothing was asked of any other host.
        assert page.evaluate("() => [window.__replayScriptRan, window.__replayHandlerRan]") == [None, None]
        frame_ran = replay.locator("body").evaluate(
            "(body) => body.ownerDocument.defaultView.__replayScriptRan"
        )
        assert frame_ran is None
        assert hits == []
        # Chromium reports the recording's requests, each refused by the replay's policy before it left.
        foreign = [url for url in requested if not url.startswith((base, "data:", "blob:"))]
        assert set(foreign) == {f"{third_party[0]}/{name}.png" for name in ("hero", "bg")}, foreign
        refused = [failure for failure in blocked if failure.startswith(third_party[0])]
        assert refused and all(failure.endswith((" csp", "ERR_BLOCKED_BY_CSP")) for failure in refused), (
            refused
        )
        assert len(refused) == len([url for url in requested if url.startswith(third_party[0])])
        assert errors == []
        browser.close()
