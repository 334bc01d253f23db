"""Segments, tags and element boxes from the web tracker (tracker/tracker.js; CONTRACT 14, 15) in Chromium.

Three loopback servers: the *site* serves the pages below; *elsewhere* (another port, so another host)
serves /secret/path, a page whose link leads to the site's landing page with UTM parameters and whose
`Referrer-Policy: unsafe-url` hands the landing page the referrer's whole URL, path and query included;
the *collector* serves /tracker.js and records the bodies posted to /rest/v1/events. The API does not
store these fields yet, so the tests read what the tracker sends, at the HTTP level.

Site pages (1280 x 800 viewport, no margins): /landing and /second each have a button#buy (40 px high
at the top; a click changes its attribute, so it is settled at once) and a link#next to /second;
/landing calls `window.heatmaps.tag("variant", "B")` at DOMContentLoaded. /boxes is 2000 x 3000 px with
button#abs absolutely placed at document (400, 1200), 150 x 40 px, and button#pinned `position: fixed` at
viewport (20, 30), 80 x 50 px. /giant has a button#huge at (0, 0), 3,000,000 x 40 px.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from heatmaps_testing.loopback import REPO
from tests.browser import needs_chromium, open_tracked, scroll_and_wait

pytestmark = needs_chromium
pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

TRACKER_JS = REPO / "tracker" / "tracker.js"
KEY = "test-key"
CAMPAIGN = {"utmSource": "News", "utmMedium": "email", "utmCampaign": "spring"}
SEGMENT_FIELDS = ("utmSource", "utmMedium", "utmCampaign", "referrerHost", "tags")
REACTS = "onclick=\"this.setAttribute('data-n', Math.random())\""
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>* {{ margin: 0; padding: 0; }} button {{ display: block; width: 200px; height: 40px; }}</style>
{head}</head><body>
<button id="buy" {reacts}>Buy</button><a id="next" href="/second">Next</a>
<div style="height: 2000px"></div>
<script src="{collector}/tracker.js" data-key="{key}" defer></script>
</body></html>"""
BOXES = """<!doctype html><html><head><meta charset="utf-8"><title>boxes</title>
<style>* {{ margin: 0; padding: 0; }} button {{ border: 0; }}</style></head><body>
<div style="width: 2000px; height: 3000px"></div>
<button id="abs" {reacts} style="position: absolute; left: 400px; top: 1200px; width: 150px; height: 40px">
Absolute</button>
<button id="pinned" {reacts} style="position: fixed; left: 20px; top: 30px; width: 80px; height: 50px">
Fixed</button>
<script src="{collector}/tracker.js" data-key="{key}" defer></script>
</body></html>"""
TAG_AT_LOAD = (
    "<script>document.addEventListener('DOMContentLoaded', function () {"
    " window.heatmaps.tag('variant', 'B'); });</script>"
)
GIANT = """<!doctype html><html><head><meta charset="utf-8"><title>giant</title>
<style>* {{ margin: 0; padding: 0; }}</style></head><body>
<button id="huge" {reacts} style="display: block; border: 0; width: 3000000px; height: 40px">Huge</button>
<script src="{collector}/tracker.js" data-key="{key}" defer></script>
</body></html>"""
# Hands the landing page its whole URL as document.referrer, where browsers would cut it to the origin.
REFERRER = """<!doctype html><meta name="referrer" content="unsafe-url"><title>elsewhere</title>
<a id="go" href="{landing}">to the site</a>"""
# The way a page tags before the tracker has run: a stub that queues its calls, which the tracker replays.
STUB = """window.heatmaps = { keep: 1 };
heatmaps.tag = function () { (heatmaps.tag.q = heatmaps.tag.q || []).push(arguments); };
heatmaps.tag("early", "yes");"""


@dataclass
class Servers:
    """The three origins and the bodies posted to the collector (text/plain beacons included)."""

    site: str = ""
    elsewhere: str = ""
    collector: str = ""
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            bodies = list(self.bodies)
        events = [event for body in bodies for event in json.loads(body)["events"]]
        return [e for e in events if type_ is None or e["type"] == type_]

    def pages(self) -> dict[str, str]:
        landing_link = f"{self.site}/landing?utm_source=News&utm_medium=email&utm_campaign=spring"
        common = {"collector": self.collector, "key": KEY, "reacts": REACTS}
        return {
            "/landing": PAGE.format(title="landing", head=TAG_AT_LOAD, **common),
            "/second": PAGE.format(title="second", head="", **common),
            "/boxes": BOXES.format(**common),
            "/giant": GIANT.format(**common),
            "/secret/path": REFERRER.format(landing=landing_link),
        }


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        servers: Servers = self.server.servers  # type: ignore[attr-defined]
        path = self.path.partition("?")[0]
        html = servers.pages().get(path)
        if path == "/tracker.js":
            self._send(200, TRACKER_JS.read_bytes(), "application/javascript")
        elif html is not None:
            self._send(200, html.encode(), "text/html; charset=utf-8")
        else:
            self._send(404, b"", "text/plain")

    def do_OPTIONS(self) -> None:
        self._send(204, b"", "text/plain")

    def do_POST(self) -> None:
        servers: Servers = self.server.servers  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with servers.lock:
            servers.bodies.append(body)
        answer = {"ingested": len(json.loads(body)["events"]), "duplicates": 0}
        self._send(200, json.dumps(answer).encode(), "application/json")


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    state, running = Servers(), []
    for name in ("site", "elsewhere", "collector"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.servers = state  # type: ignore[attr-defined]
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        setattr(state, name, f"http://127.0.0.1:{server.server_address[1]}")
        running.append(server)
    yield state
    for server in running:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site(servers: Servers) -> Servers:
    with servers.lock:
        servers.bodies.clear()
    return servers


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """`new_page(init_script=None)`: a page in a fresh context (its own storage), 1280 x 800."""
    contexts: list[Any] = []

    def open_(init_script: str | None = None) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def _wait_for(check: Callable[[], Any], page: Any, timeout: float = 5.0) -> Any:
    """Flushes the tracker and polls `check` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        page.evaluate("() => window.__heatmaps.flush()")
        if result := check():
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s"
        time.sleep(0.05)


def _clicks_on(site: Servers, url: str, n: int = 1) -> Callable[[], list[dict[str, Any]] | None]:
    """The clicks sent from `url` once there are at least `n`."""

    def check() -> list[dict[str, Any]] | None:
        clicks = [e for e in site.events("click") if e["url"] == url]
        return clicks if len(clicks) >= n else None

    return check


def _segments(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in SEGMENT_FIELDS if k in event}


def _land(page: Any, site: Servers) -> str:
    """From the referrer's page to the landing page by its link; returns the landing URL."""
    page.goto(f"{site.elsewhere}/secret/path?q=1")
    with page.expect_navigation():
        page.click("#go")
    page.wait_for_function("() => window.__heatmaps !== undefined")
    assert page.evaluate("() => document.referrer") == f"{site.elsewhere}/secret/path?q=1"
    return page.url


def test_landing_campaign_referrer_host_and_tags_ride_on_every_event_of_the_session(
    site: Servers, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    landing = _land(page, site)
    page.click("#buy")
    _wait_for(_clicks_on(site, landing), page)
    with page.expect_navigation():
        page.click("#next")  # same site: an internal referrer, the same session
    page.wait_for_function("() => window.__heatmaps !== undefined")
    page.click("#buy")

    _wait_for(_clicks_on(site, f"{site.site}/second"), page)

    events = site.events()
    expected = CAMPAIGN | {"referrerHost": site.elsewhere.removeprefix("http://"), "tags": {"variant": "B"}}
    assert {e["url"] for e in events} == {landing, f"{site.site}/second"}
    assert {e["type"] for e in events} == {"click", "scroll"}
    assert [_segments(e) for e in events] == [expected] * len(events)
    assert len({e["sessionId"] for e in events}) == 1
    assert expected["referrerHost"].startswith("127.0.0.1:")  # host and port
    with site.lock:
        bodies = b"".join(site.bodies).decode()
    assert "secret" not in bodies
    assert "q=1" not in bodies


def test_a_session_after_30_idle_minutes_takes_the_segments_of_its_own_landing_page(
    site: Servers, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    landing = _land(page, site)
    page.click("#buy")
    (first,) = _wait_for(_clicks_on(site, landing), page)
    page.evaluate("() => sessionStorage.setItem('hm_sat', String(Date.now() - 31 * 60 * 1000))")
    url = f"{site.site}/second?utm_source=%20A%0Ads%20&utm_medium=%09&utm_campaign=" + "c" * 200
    open_tracked(page, url)  # typed in: no referrer
    page.click("#buy")

    (click,) = _wait_for(_clicks_on(site, url), page)

    assert click["sessionId"] != first["sessionId"]
    assert click["visitorId"] == first["visitorId"]
    # Control characters removed (the API refuses them), white space trimmed, an empty medium left out.
    assert _segments(click) == {"utmSource": "Ads", "utmCampaign": "c" * 128}


def test_tags_follow_their_rules_and_calls_queued_before_the_tracker_are_replayed(
    site: Servers, new_page: Callable[..., Any]
) -> None:
    page = new_page(init_script=STUB)
    url = f"{site.site}/second"
    open_tracked(page, url)
    page.click("#buy")  # tagged with the queued call only
    (before,) = _wait_for(_clicks_on(site, url), page)
    page.evaluate(
        """() => {
        const tag = window.heatmaps.tag;
        tag("bad key", "x"); tag("k".repeat(33), "x"); tag("", "x");  // ignored: not a valid key
        tag("long", "v".repeat(70));  // cut to 64
        tag("n", 42);  // converted to a string
        tag("ctl", "a\\nb\\u0000c");  // control characters removed
        tag("half", "x\\ud800y");  // a lone surrogate (no UTF-8 for it) replaced
        tag("gone", "soon"); tag("gone", "");  // an empty value removes the key
        tag("variant", "A"); tag("variant", "B");  // replaced
        for (let i = 0; i < 4; i++) tag("k" + i, "v" + i);  // ten keys now
        tag("eleventh", "x");  // ignored: ten is the most
        tag("k0", "again");  // a known key is still replaced
    }"""
    )
    page.click("#buy")

    clicks = _wait_for(_clicks_on(site, url, 2), page)

    assert page.evaluate("() => window.heatmaps.keep") == 1  # the page's own member is kept
    assert _segments(before) == {"tags": {"early": "yes"}}  # a direct visit: no campaign, no referrer
    tags = {"early": "yes", "long": "v" * 64, "n": "42", "ctl": "abc", "half": "x\ufffdy", "variant": "B"}
    tags |= {"k0": "again", "k1": "v1", "k2": "v2", "k3": "v3"}
    assert _segments(clicks[1]) == {"tags": tags}


def test_element_rect_is_the_clicked_box_in_document_px_or_viewport_px_when_fixed(
    site: Servers, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    url = f"{site.site}/boxes"
    open_tracked(page, url)
    scroll_and_wait(page, "scrollTo(300, 1000)")
    page.mouse.click(175, 220)  # button#abs, viewport (100-250, 200-240)
    page.mouse.click(60, 55)  # button#pinned

    clicks = _wait_for(_clicks_on(site, url, 2), page)

    by_selector = {c["selector"]: c for c in clicks}
    absolute, pinned = by_selector["#abs"], by_selector["#pinned"]
    assert (absolute["x"], absolute["y"], absolute["fixed"]) == (475, 1220, False)
    assert absolute["elementRect"] == {"x": 400, "y": 1200, "width": 150, "height": 40}
    # Placed like the click: y in viewport px, x (like the click's own x) with the horizontal scroll.
    assert (pinned["x"], pinned["y"], pinned["fixed"]) == (360, 55, True)
    assert pinned["elementRect"] == {"x": 320, "y": 30, "width": 80, "height": 50}


def test_element_rect_wider_than_the_api_accepts_is_clamped_to_it(
    site: Servers, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    url = f"{site.site}/giant"
    open_tracked(page, url)
    page.mouse.click(100, 20)

    (click,) = _wait_for(_clicks_on(site, url), page)

    # Its width (3,000,000 px) past the API's 1,000,000 would fail the whole batch.
    assert click["elementRect"] == {"x": 0, "y": 0, "width": 1_000_000, "height": 40}
