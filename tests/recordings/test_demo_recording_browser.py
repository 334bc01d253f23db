"""A demo recording in the vendored rrweb player (static/), in the system Chromium: the replay rebuilds
each page of the session from its snapshot with the layout's elements and masked text, scrolls to where
the visitor clicked with the clicked element under the pointer, and fetches nothing. A screenshot goes
to ``test-artifacts/``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from demo_site import recordings
from demo_site.page_html import page_html
from demo_site.pages import page_layout
from demo_site.recordings import DemoRecording
from demo_site.traffic import generate_web_events
from heatmaps_testing.loopback import REPO
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

ARTIFACTS = REPO / "test-artifacts"
END = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
FRAME = ".replayer-wrapper iframe"
START_PLAYER = """events => {
  const Player = window.rrwebPlayer.default || window.rrwebPlayer;
  window.player = new Player({
    target: document.getElementById("replay"),
    props: { events, autoPlay: false, width: 1200, height: 760, showController: true },
  });
}"""
# The replay's document at a point: whether the element there is the recorded node ``id``, the scroll.
AT_POINT = """([x, y, id]) => {
  const doc = document.querySelector(".replayer-wrapper iframe").contentDocument;
  const node = window.player.getReplayer().getMirror().getNode(id);
  return { hit: doc.elementFromPoint(x, y) === node, scrollY: doc.defaultView.scrollY };
}"""


def player_files() -> tuple[str, str]:
    """The vendored rrweb player's script and style sheet."""
    scripts = sorted((REPO / "static").glob("rrweb-player-*.min.js"))
    styles = sorted((REPO / "static").glob("rrweb-player-*.min.css"))
    assert len(scripts) == len(styles) == 1, "the rrweb player is vendored in static/, one version"
    return scripts[0].read_text(encoding="utf-8"), styles[0].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def recording() -> DemoRecording:
    """A desktop session of two or more pages with a click on a page scrolled down."""
    events = recordings.web_events_of(generate_web_events(events=3000, days=10, seed=5, end=END))
    for candidate in recordings.demo_recordings(events):
        metas = [e for e in candidate.events if e["type"] == recordings.META]
        if metas[0]["data"]["width"] >= 1280 and len(metas) >= 2 and _scrolled_click(candidate) is not None:
            return candidate
    raise AssertionError("the demo has no such recording")


def _scrolled_click(recording: DemoRecording) -> tuple[dict[str, Any], int] | None:
    """The first click of the recording's first page made while the page was scrolled down, and the
    scroll position then."""
    scroll_y = 0
    for event in recording.events[2:]:
        data = event["data"]
        if event["type"] == recordings.META:
            return None
        if data["source"] == recordings.SCROLL:
            scroll_y = data["y"]
        elif data["source"] == recordings.MOUSE_INTERACTION and data["type"] == recordings.CLICK and scroll_y:
            return event, scroll_y
    return None


def _layout_of(meta: dict[str, Any]) -> Any:
    layout = page_layout(meta["data"]["href"], "desktop")
    assert layout is not None
    return layout


def test_a_demo_recording_replays_its_pages_in_the_vendored_player(recording: DemoRecording) -> None:
    script, style = player_files()
    metas = [e for e in recording.events if e["type"] == recordings.META]
    start = recording.events[0]["timestamp"]
    found = _scrolled_click(recording)
    assert found is not None
    click, scroll_y = found
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.set_content(f"<!doctype html><style>{style}</style><div id=replay></div>")
            page.add_script_tag(content=script)
            page.evaluate(START_PLAYER, recording.events)
            replay = page.frame_locator(FRAME)

            # The first page, rebuilt: one positioned element per layout element, every text masked.
            first = _layout_of(metas[0])
            replay.locator("body > .e").first.wait_for(state="attached")
            assert replay.locator("body > .e").count() == len(first.elements)
            assert replay.locator("#site-header.f").count() == 1
            assert re.fullmatch(r"[*\s]+", replay.locator("body").inner_text())

            # At the scrolled click: the page scrolled as recorded, the pointer on the click, and the
            # element at that point in the replay is the one clicked.
            page.evaluate("at => window.player.goto(at, false)", click["timestamp"] - start + 1)
            x, y, node = click["data"]["x"], click["data"]["y"], click["data"]["id"]
            page.wait_for_function(f"() => ({AT_POINT})([{x}, {y}, {node}]).scrollY === {scroll_y}")
            assert page.evaluate(AT_POINT, [x, y, node]) == {"hit": True, "scrollY": scroll_y}
            mouse = page.locator(".replayer-mouse")
            assert mouse.evaluate("m => [m.style.left, m.style.top]") == [f"{x}px", f"{y}px"]
            html = page_html(metas[0]["data"]["href"], "desktop")
            assert html is not None
            clicked = first.elements[html.element_ids.index(node)]
            assert clicked.left * metas[0]["data"]["width"] <= x <= clicked.right * metas[0]["data"]["width"]
            assert clicked.top <= y + scroll_y <= clicked.bottom
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "demo-recording-replay.png"))

            # The next page: its own snapshot replaces the first.
            page.evaluate("at => window.player.goto(at, false)", metas[1]["timestamp"] - start + 1)
            second = _layout_of(metas[1])
            page.wait_for_function(
                "n => document.querySelector('.replayer-wrapper iframe').contentDocument"
                ".querySelectorAll('body > .e').length === n",
                arg=len(second.elements),
            )
            assert errors == []
            # Nothing was fetched: the page and its styles name no URL.
            assert requests == []
        finally:
            browser.close()
