"""End to end, from a visitor's browser to the dashboard's player: a real Chromium visits a test site of its
own on loopback with the real tracker and ``data-record="on"`` pointed at a real API process; the visitor
types, clicks, scrolls, changes the page and goes on to a second page. The recording read back through
``GET /rest/v1/sessions/{id}/recording`` holds both pages' snapshots and those interactions, and the
dashboard (``streamlit run`` over the same database) opens the session's Session replay view, where the
rrweb player rebuilds page 1 as the visitor left it, text masked, in its replay frame.

What the recorder masks, and that nothing of a page's text reaches the server, is
test_recording_privacy_e2e.py's subject; the player against a recording written by hand,
test_session_player_browser.py's. Screenshots of the visitor's page and of the player go to
``test-artifacts/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from heatmaps_testing.loopback import REPO, ApiServer, make_tokens, serving_html
from tests.browser import needs_chromium, scroll_and_wait
from tests.live import dashboard_settings, free_port, running_dashboard
from tests.recordings.site import tag

pytestmark = [*needs_chromium, pytest.mark.live]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000
RECORDING_UP = (
    "() => !!(window.__heatmaps && window.__heatmaps.recording && window.__heatmaps.recording.flush)"
)
META, FULL_SNAPSHOT, INCREMENTAL = 4, 2, 3
MUTATION, MOUSE_INTERACTION, SCROLL, INPUT = 0, 2, 3, 5
CLICK = 2  # rrweb's MouseInteractions.Click
TYPED = "hello trail"
SCROLLED_TO = 40  # px, page 1's document: the heading, the form and the added item stay in view
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TITLE</title>
<style>
  body { margin: 0; font: 18px sans-serif; }
  header { background: #1d4ed8; color: #fff; padding: 56px 24px 12px; }
  main { padding: 12px 24px; }
  [data-part=search] { width: 240px; }
  [data-part=list] li { color: #b91c1c; }
  nav { position: fixed; right: 24px; bottom: 24px; background: #fff; padding: 8px; }
  .tall { height: 2400px; background: linear-gradient(#f8fafc, #94a3b8); }
</style>
</head>
<body>
<header><h1 id="title" data-part="title">HEADING</h1></header>
<nav><a id="next" data-part="next" href="/page/2">Next page</a></nav>
<main>
  <label for="search">Search</label> <input id="search" data-part="search" type="text">
  <button id="add" data-part="add" type="button">Add to cart</button>
  <button id="pay" data-part="pay" type="button">Pay now</button>
  <ul id="list" data-part="list"></ul>
  <div class="tall">The catalogue</div>
</main>
<script>
  document.getElementById("add").addEventListener("click", function () {
    var li = document.createElement("li");
    li.className = "added";
    li.textContent = "Added item";
    document.getElementById("list").appendChild(li);
  });
</script>
SCRIPT_TAG
</body>
</html>
"""
HEADINGS = {"1": "Trail shop", "2": "Your basket"}


def masked(text: str) -> str:
    """``text`` as the recorder masks it: each non-space character a ``*``."""
    return "".join(" " if char.isspace() else "*" for char in text)


@dataclass(frozen=True)
class Product:
    """The API and the dashboard over one SQLite database, and the test's site embedding the tracker."""

    api: str
    view: str
    site: str
    settings: dict[str, str]
    port: int


@pytest.fixture
def product(tmp_path: Path) -> Iterator[Product]:
    port = free_port()
    settings = dashboard_settings(tmp_path, port)  # migrates the database
    ingest, view = make_tokens(settings["database_url"])
    (tmp_path / "api").mkdir()

    def page(path: str) -> bytes | None:
        number = path.partition("?")[0].removeprefix("/page/")
        if number not in HEADINGS:
            return None
        html = PAGE.replace("TITLE", HEADINGS[number]).replace("HEADING", HEADINGS[number])
        return html.replace("SCRIPT_TAG", tag(server.base, ingest, record="on")).encode()

    with ApiServer(settings["database_url"], tmp_path / "api") as server, serving_html(page) as site:
        yield Product(server.base, view, site, settings, port)


def _get(product: Product, path: str, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {product.view}"}
    return httpx.get(f"{product.api}{path}", params=params, headers=headers, timeout=30)


def _visit(context: Any, site: str) -> tuple[str, str]:
    """Page 1: types, clicks (the page adds an item), scrolls; then page 2 (by a link that needs no
    scroll: page 1 stays where the visitor scrolled it) and a click there. Returns (session id, visitor
    id); the page stays open, so nothing it still sends is cut off."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{site}/page/1")
    page.wait_for_function(RECORDING_UP)
    page.click("#search")
    page.keyboard.type(TYPED)
    page.click("#add")
    page.locator("li.added").wait_for()
    scroll_and_wait(page, f"window.scrollTo(0, {SCROLLED_TO})")
    page.wait_for_timeout(400)  # the recorder samples scrolls every 150 ms
    page.evaluate("() => window.__heatmaps.recording.flush()")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "recording-e2e-visitor-page.png"))
    page.evaluate("() => window.__heatmaps.flush()")
    page.click("#next")
    page.wait_for_function(RECORDING_UP)
    page.click("#pay")
    page.evaluate("() => window.__heatmaps.recording.flush()")
    page.evaluate("() => window.__heatmaps.flush()")
    ids = page.evaluate("() => [sessionStorage.getItem('hm_sid'), localStorage.getItem('hm_vid')]")
    return ids[0], ids[1]


def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
    return found


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("childNodes", []):
        yield from _nodes(child)


def _by_part(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The snapshot's elements by their ``data-part`` (the recorder masks ids: they are page text)."""
    elements = (node for node in _nodes(snapshot["data"]["node"]) if node["type"] == 2)
    return {node["attributes"]["data-part"]: node for node in elements if "data-part" in node["attributes"]}


def _complete(product: Product, session: str) -> list[dict[str, Any]] | None:
    """The session's recorded events once both pages' snapshots and page 2's click have arrived."""
    answer = _get(product, f"/rest/v1/sessions/{session}/recording")
    if answer.status_code != 200:
        return None
    events = answer.json()["events"]
    snapshots = [event for event in events if event["type"] == FULL_SNAPSHOT]
    if len(snapshots) < 2:
        return None
    pay = _by_part(snapshots[1])["pay"]["id"]
    after = [event["data"] for event in events if event["timestamp"] >= snapshots[1]["timestamp"]]
    clicked = any(d.get("source") == MOUSE_INTERACTION and d.get("id") == pay for d in after)
    return events if clicked else None


def test_a_visit_recorded_in_a_browser_plays_in_the_dashboard(browser: Any, product: Product) -> None:
    visitor_context = browser.new_context(viewport={"width": 1280, "height": 800})
    session, visitor = _visit(visitor_context, product.site)
    events = _until(lambda: _complete(product, session), "the recording of both pages")
    today = datetime.now(UTC).date().isoformat()
    listed = _until(
        lambda: [
            entity
            for entity in _get(product, "/rest/v1/sessions", **{"from": today, "to": today}).json()[
                "entities"
            ]
            if entity["sessionId"] == session and len(entity["pages"]) == 2
        ],
        "the session's web events of both pages",
    )
    visitor_context.close()
    (entity,) = listed
    assert entity["hasRecording"] is True and entity["visitorId"] == visitor
    page_one, page_two = entity["pages"]
    assert page_one.endswith("/page/1") and page_two.endswith("/page/2")

    # The recording: each page a Meta and a full snapshot, text masked, then the visitor's interactions.
    metas = [event for event in events if event["type"] == META]
    assert [meta["data"]["href"] for meta in metas] == [f"{product.site}/page/1", f"{product.site}/page/2"]
    first, second = (event for event in events if event["type"] == FULL_SNAPSHOT)
    assert [event["type"] for event in events[:2]] == [META, FULL_SNAPSHOT]
    ids = _by_part(first)
    assert ids["title"]["childNodes"][0]["textContent"] == masked(HEADINGS["1"])
    assert _by_part(second)["title"]["childNodes"][0]["textContent"] == masked(HEADINGS["2"])
    on_page_one = [
        event["data"]
        for event in events
        if event["type"] == INCREMENTAL and event["timestamp"] < metas[1]["timestamp"]
    ]
    typed = [d["text"] for d in on_page_one if d["source"] == INPUT and d["id"] == ids["search"]["id"]]
    assert typed and typed[-1] == "*" * len(TYPED)  # every character of an input value, spaces too
    clicks = {d["id"] for d in on_page_one if d["source"] == MOUSE_INTERACTION and d["type"] == CLICK}
    assert {ids["search"]["id"], ids["add"]["id"]} <= clicks
    added = [a["node"] for d in on_page_one if d["source"] == MUTATION for a in d["adds"]]
    assert any(node.get("attributes", {}).get("class") == "added" for node in added)
    scrolls = [
        d["y"] for d in on_page_one if d["source"] == SCROLL and d["id"] == first["data"]["node"]["id"]
    ]
    assert SCROLLED_TO in scrolls

    # The dashboard over the same database: the player stands where page 1 ends, as the visitor left it.
    last_on_page_one = max(e["timestamp"] for e in events if e["timestamp"] < metas[1]["timestamp"])
    moment = (last_on_page_one + metas[1]["timestamp"]) // 2 + 3000  # the player starts 3 s before
    link = {"sessionId": session, "visitorId": visitor, "date": today, "pageKey": page_one, "at": moment}
    with running_dashboard(product.port, **product.settings) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 1300})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/session?{urlencode(link)}")
        page.get_by_role("heading", name="Session replay").wait_for()
        page.locator(".recording-player .rr-player").wait_for()
        replay = page.frame_locator(".recording-player .replayer-wrapper iframe")
        replay.locator("li.added").wait_for(state="attached")
        assert replay.locator("h1[data-part=title]").inner_text() == masked(HEADINGS["1"])
        assert replay.locator("li.added").inner_text() == masked("Added item")
        assert replay.locator("[data-part=search]").input_value() == "*" * len(TYPED)
        assert (
            replay.locator("[data-part=pay]").count() == 1 and replay.locator("[data-part=next]").count() == 1
        )
        scrolled = replay.locator("body").evaluate("(body) => body.ownerDocument.scrollingElement.scrollTop")
        assert scrolled == SCROLLED_TO
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
        page.screenshot(path=str(ARTIFACTS / "recording-e2e-player.png"), full_page=True)
        assert errors == []
        context.close()
