"""The web tracker (tracker/tracker.js) in a real Chromium against a fake collector.

Two local HTTP servers play the two origins of a real deployment: the *site* serves the test page
(tests/fixtures/tracker_page.html), the *collector* serves /tracker.js and records what arrives at
POST /rest/v1/events, so every fetch is cross-origin and goes through a CORS preflight like in production.
The collector answers the way the real API does ({"ingested": n, "duplicates": 0}) unless a test plans
failures (503, or a dropped connection).

Page geometry (fixture): document 3000 px high = sticky header 60 + section 400 (button#grow at 60-100,
input at 100-140) + paragraph 460-660 + card 660-760 + card 760-860 + spacer 860-3000. Headless Chromium
hides scrollbars, so the document is exactly as wide as the viewport. A click's elementRect is the
clicked element's box in the same coordinates (`_box`). Other pages under tests/fixtures/
(/fixture/<name>) reproduce what a trial on real documentation sites found; each documents its geometry.

Needs /usr/bin/chromium (never downloads a browser); skipped with a reason when it is missing.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from heatmaps_testing.loopback import REPO
from tests.browser import needs_chromium, open_tracked, scroll_and_wait

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

TRACKER_JS = REPO / "tracker" / "tracker.js"
FIXTURES = REPO / "tests" / "fixtures"
PAGE_HTML = FIXTURES / "tracker_page.html"
KEY = "test-key"
SECRETS = ("SECRET", "lorem ipsum")  # page text, input value and typed text must never be sent
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
CLIENT_ID = re.compile(r"[A-Za-z0-9]{16}")
VOLATILE = ("eventId", "timestamp", "sessionId", "visitorId")
DEAD_AFTER_S = 2.5
# open_page(width=1280, height=800, init_script=None, has_touch=False) -> playwright Page
OpenPage = Callable[..., Any]
DNT_INIT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"


@dataclass
class Received:
    """One request that reached a server; `status` None means the connection was dropped unanswered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None
    at: float  # time.monotonic() on arrival

    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Backend:
    """Shared state of the two servers. `plan` holds the answers for the next POSTs (then 200)."""

    site: str = ""
    collector: str = ""
    received: list[Received] = field(default_factory=list)
    plan: list[int | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.plan.clear()

    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "POST"]

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Events of the POSTs answered 200, in arrival order."""
        return [
            event
            for r in self.posts()
            if r.status == 200
            for event in r.payload()["events"]
            if type_ is None or event["type"] == type_
        ]


def _script_tag(variant: str, backend: Backend) -> str:
    """`endpoint`: tracker from the site, API named by data-endpoint; `nokey`: no data-key; otherwise
    tracker from the collector, which is then the default endpoint."""
    attrs = {
        "endpoint": f'src="/tracker.js" data-key="{KEY}" data-endpoint="{backend.collector}/"',
        "nokey": f'src="{backend.collector}/tracker.js"',
    }.get(variant, f'src="{backend.collector}/tracker.js" data-key="{KEY}"')
    return f"<script {attrs} defer></script>"


class Handler(BaseHTTPRequestHandler):
    """Serves pages and the tracker, and records ingestion requests. HTTP/1.0: one request per connection."""

    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    @property
    def backend(self) -> Backend:
        return self.server.backend  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, content_type: str, cors: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if cors:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "POST")
            self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: bytes, status: int | None) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.backend.lock:
            self.backend.received.append(
                Received(self.command, self.path, headers, body, status, time.monotonic())
            )

    def do_GET(self) -> None:
        self._record(b"", 200)
        path, _, query = self.path.partition("?")
        if path == "/tracker.js":
            self._send(200, TRACKER_JS.read_bytes(), "application/javascript")
        elif path == "/page":
            tag = _script_tag(query.removeprefix("script="), self.backend)
            self._send(200, PAGE_HTML.read_text().replace("SCRIPT_TAG", tag).encode(), "text/html")
        elif path.startswith("/fixture/") and (FIXTURES / path.removeprefix("/fixture/")).is_file():
            tag = _script_tag("default", self.backend)
            html = (FIXTURES / path.removeprefix("/fixture/")).read_text()
            self._send(200, html.replace("SCRIPT_TAG", tag).encode(), "text/html")
        elif path == "/blank":
            self._send(200, b"<!doctype html><title>blank</title>", "text/html")
        else:
            self._send(404, b"", "text/plain")

    def do_OPTIONS(self) -> None:
        self._record(b"", 204)
        self._send(204, b"", "text/plain", cors=True)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.backend.lock:
            status = self.backend.plan.pop(0) if self.backend.plan else 200
        self._record(body, status)
        if status is None:
            self.close_connection = True  # no response at all: the browser sees a network error
            return
        answer = {"ingested": len(json.loads(body)["events"]), "duplicates": 0} if status == 200 else {}
        self._send(status, json.dumps(answer).encode(), "application/json", cors=True)


def _serve(backend: Backend) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.backend = backend  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def servers() -> Iterator[Backend]:
    backend = Backend()
    site, backend.site = _serve(backend)
    collector, backend.collector = _serve(backend)
    yield backend
    for server in (site, collector):
        server.shutdown()
        server.server_close()


@pytest.fixture
def backend(servers: Backend) -> Backend:
    servers.reset()
    return servers


@pytest.fixture
def open_page(browser: Any) -> Iterator[OpenPage]:
    """Opens a page in a fresh context: `open_page(width, height, init_script=None, has_touch=False)`."""
    contexts: list[Any] = []

    def open_(
        width: int = 1280, height: int = 800, init_script: str | None = None, has_touch: bool = False
    ) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=has_touch)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def _flush(page: Any) -> None:
    page.evaluate("() => window.__heatmaps.flush()")


def _wait_for(check: Callable[[], Any], timeout: float, page: Any = None) -> Any:
    """Polls `check` (flushing the tracker first when a page is given) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        if page is not None:
            _flush(page)
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s"
        time.sleep(0.05)


def _clicks(backend: Backend, n: int) -> Callable[[], list[dict[str, Any]] | None]:
    return lambda: clicks if len(clicks := backend.events("click")) >= n else None


def _box(x: int, y: int, width: int, height: int) -> dict[str, dict[str, int]]:
    """A click's `elementRect` field (CONTRACT 15)."""
    return {"elementRect": {"x": x, "y": y, "width": width, "height": height}}


def _stable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in VOLATILE}


def _load(page: Any, backend: Backend, variant: str = "default", *, paused_clock: bool = False) -> str:
    url = f"{backend.site}/page?script={variant}"
    open_tracked(page, url, paused_clock=paused_clock)
    return url


def _load_fixture(page: Any, backend: Backend, name: str, *, paused_clock: bool = False) -> str:
    """Opens tests/fixtures/<name> with the tracker (served by the collector, the default endpoint)."""
    url = f"{backend.site}/fixture/{name}"
    open_tracked(page, url, paused_clock=paused_clock)
    return url


def _by_time(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: datetime.fromisoformat(e["timestamp"]))


def _assert_clean(backend: Backend, clock_ahead: timedelta = timedelta(0)) -> None:
    """Invariants of every delivery: no page text, valid unique ids, sane timestamps, no token in URLs.
    `clock_ahead`: how far a test ran the page's paused clock ahead of the wall clock."""
    posts = backend.posts()
    assert posts, "nothing was sent"
    now = datetime.now(UTC) + clock_ahead
    for r in posts:
        assert r.path == "/rest/v1/events"
        assert all(secret not in r.body.decode() for secret in SECRETS)
        for event in r.payload()["events"]:
            assert EVENT_ID.fullmatch(event["eventId"])
            assert CLIENT_ID.fullmatch(event["sessionId"])
            assert CLIENT_ID.fullmatch(event["visitorId"])
            stamp = datetime.fromisoformat(event["timestamp"])
            assert stamp.tzinfo is not None
            assert now - timedelta(minutes=2) < stamp <= now + timedelta(seconds=1)
    ids = [event["eventId"] for event in backend.events()]
    assert len(ids) == len(set(ids))


def test_dom_changing_click_is_alive_and_sent_with_bearer_key(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    url = _load(page, backend)
    before = time.monotonic()
    page.mouse.click(50, 80)  # button#grow, which appends a list item

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    assert _stable(click) == {
        "type": "click",
        "url": url,
        "viewportWidth": 1280,
        "viewportHeight": 800,
        "documentWidth": 1280,
        "documentHeight": 3000,
        "x": 50,
        "y": 80,
        "fixed": False,
        "selector": "#grow",
        "dead": False,
    } | _box(0, 60, 200, 40)
    post = next(r for r in backend.posts() if click in r.payload()["events"])
    assert post.at - before < DEAD_AFTER_S  # the mutation settled it; it did not wait for the dead timeout
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert post.headers["content-type"] == "application/json"
    assert "key" not in post.payload()
    assert any(r.method == "OPTIONS" for r in backend.received)  # CORS preflight for the Authorization header
    _assert_clean(backend)


def test_click_without_reaction_is_dead_after_2500_ms(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    url = _load(page, backend)
    before = time.monotonic()
    page.mouse.click(100, 500)  # the paragraph (document y 460-660)
    page.mouse.click(50, 120)  # the input, then type into it
    page.keyboard.type("SECRET-TYPED")

    clicks = _wait_for(_clicks(backend, 2), 5.0, page)

    common = {"type": "click", "url": url, "viewportWidth": 1280, "viewportHeight": 800}
    common |= {"documentWidth": 1280, "documentHeight": 3000, "fixed": False, "dead": True}
    assert sorted((_stable(c) for c in clicks), key=lambda c: c["y"]) == [
        common | {"x": 50, "y": 120, "selector": "body > main > section > input"} | _box(0, 100, 200, 40),
        common | {"x": 100, "y": 500, "selector": "body > main > p.lead"} | _box(0, 460, 1280, 200),
    ]
    first_dead = min(
        r.at for r in backend.posts() if any(e["type"] == "click" for e in r.payload()["events"])
    )
    assert first_dead - before >= DEAD_AFTER_S - 0.05
    _assert_clean(backend)


def test_four_fast_clicks_on_one_spot_are_four_events(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    _load(page, backend)
    for _ in range(4):
        page.mouse.click(100, 700)  # first card, user-select: none

    clicks = _wait_for(_clicks(backend, 4), 5.0, page)

    assert len(clicks) == 4
    assert {json.dumps(_stable(c), sort_keys=True) for c in clicks} == {
        json.dumps(
            {
                "type": "click",
                "url": f"{backend.site}/page?script=default",
                "viewportWidth": 1280,
                "viewportHeight": 800,
                "documentWidth": 1280,
                "documentHeight": 3000,
                "x": 100,
                "y": 700,
                "fixed": False,
                "selector": "body > main > div.card.card_wide:nth-of-type(1)",
                "dead": True,
            }
            | _box(0, 660, 1280, 100),
            sort_keys=True,
        )
    }
    stamps = sorted(datetime.fromisoformat(c["timestamp"]) for c in clicks)
    assert all(b - a < timedelta(seconds=1) for a, b in itertools.pairwise(stamps))
    assert len({c["sessionId"] for c in clicks}) == 1
    _assert_clean(backend)


def test_sticky_header_click_after_scrolling_is_fixed_with_viewport_y(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page()
    _load(page, backend, "endpoint")  # script from the site, data-endpoint names the collector
    scroll_and_wait(page, "scrollTo(0, 1000)")  # its scroll event has passed: no reaction to the click below
    page.mouse.click(30, 30)  # header button; document y would be 1030

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    assert _stable(click) == {
        "type": "click",
        "url": f"{backend.site}/page?script=endpoint",
        "viewportWidth": 1280,
        "viewportHeight": 800,
        "documentWidth": 1280,
        "documentHeight": 3000,
        "x": 30,
        "y": 30,
        "fixed": True,
        "selector": "#top > button.nav-link",  # the state class "active" is left out
        "dead": True,
    } | _box(10, 10, 200, 40)  # viewport px, like y
    _assert_clean(backend)


def test_scroll_depth_and_hidden_page_beacon(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    url = _load(page, backend)
    _flush(page)  # first flush: depth at the fold, 800 / 3000 = 26.67 %
    scroll_and_wait(page, "scrollTo(0, 1300)")  # (1300 + 800) / 3000 = 70 %
    page.mouse.click(100, 500)  # spacer, document y 1800; no reaction, so still pending ...
    page.wait_for_timeout(300)  # ... and past the 100 ms in which the navigation would count as one
    page.goto(f"{backend.site}/blank")  # visibilitychange + pagehide: the beacon path, dead unknown -> false

    beacon = _wait_for(
        lambda: next(
            (r for r in backend.posts() if r.headers["content-type"].startswith("text/plain")), None
        ),
        5.0,
    )

    sizes = {"viewportWidth": 1280, "viewportHeight": 800, "documentWidth": 1280, "documentHeight": 3000}
    assert "authorization" not in beacon.headers
    assert beacon.payload()["key"] == KEY
    assert sorted((_stable(e) for e in beacon.payload()["events"]), key=lambda e: e["type"]) == [
        {"type": "click", "url": url, **sizes, "x": 100, "y": 1800, "fixed": False, "dead": False}
        | {"selector": "body > main > div.spacer:nth-of-type(3)"}
        | _box(0, 860, 1280, 2140),
        {"type": "scroll", "url": url, **sizes, "depth": 70.0},
    ]
    assert [e["depth"] for e in backend.events("scroll")] == [26.7, 70.0]
    _assert_clean(backend)


@pytest.mark.parametrize(("width", "height", "fold"), [(1280, 800, 26.7), (375, 667, 22.2)])
def test_viewport_size_is_reported(
    backend: Backend, open_page: OpenPage, width: int, height: int, fold: float
) -> None:
    page = open_page(width, height)
    url = _load(page, backend)
    page.mouse.click(50, 80)

    _wait_for(_clicks(backend, 1), 5.0, page)

    sizes = {"viewportWidth": width, "viewportHeight": height, "documentWidth": width, "documentHeight": 3000}
    assert sorted((_stable(e) for e in backend.events()), key=lambda e: e["type"]) == [
        {"type": "click", "url": url, **sizes, "x": 50, "y": 80, "fixed": False, "selector": "#grow"}
        | {"dead": False}
        | _box(0, 60, 200, 40),
        {"type": "scroll", "url": url, **sizes, "depth": fold},  # 667 / 3000 = 22.23 %
    ]
    _assert_clean(backend)


@pytest.mark.parametrize(("variant", "init_script"), [("default", DNT_INIT), ("nokey", None)])
def test_do_not_track_or_missing_key_sends_nothing(
    backend: Backend, open_page: OpenPage, variant: str, init_script: str | None
) -> None:
    page = open_page(init_script=init_script)
    page.goto(f"{backend.site}/page?script={variant}")
    page.wait_for_load_state("load")
    page.mouse.click(50, 80)
    page.mouse.click(100, 500)
    assert page.evaluate("() => typeof window.__heatmaps") == "undefined"
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    page.goto(f"{backend.site}/blank")
    page.wait_for_timeout(500)

    assert [r.method for r in backend.received if r.method != "GET"] == []


def test_network_failure_then_recovery_loses_no_events(backend: Backend, open_page: OpenPage) -> None:
    backend.plan.extend([None, 503])  # a dropped connection, then a server error, then 200
    page = open_page()
    _load(page, backend)
    for _ in range(3):
        page.mouse.click(50, 80)
    _wait_for(lambda: len(backend.posts()) >= 1, 2.0, page)  # dropped
    page.mouse.click(50, 80)
    _wait_for(lambda: len(backend.posts()) >= 2, 2.0, page)  # 503

    # No more forced flushes: the tracker retries by itself on its 5 s timer once the backoff has passed.
    _wait_for(_clicks(backend, 4), 12.0)

    posts = backend.posts()
    assert [r.status for r in posts[:2]] == [None, 503]
    failed = {e["eventId"] for r in posts if r.status != 200 for e in r.payload()["events"]}
    delivered = [e["eventId"] for e in backend.events()]
    assert failed <= set(delivered)
    assert len(backend.events("click")) == 4
    _assert_clean(backend)


def test_visitor_and_session_ids_persist_and_session_expires_after_30_idle_minutes(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page()

    def ids_after_load() -> tuple[str, str]:
        backend.reset()
        _load(page, backend)
        (scroll,) = _wait_for(lambda: backend.events("scroll"), 2.0, page)
        return scroll["visitorId"], scroll["sessionId"]

    visitor, session = ids_after_load()
    assert ids_after_load() == (visitor, session)  # same tab, next pageview: same session
    page.evaluate("() => sessionStorage.setItem('hm_sat', String(Date.now() - 31 * 60 * 1000))")
    visitor_after_idle, session_after_idle = ids_after_load()
    assert (visitor_after_idle, session_after_idle != session) == (visitor, True)

    other_tab = page.context.new_page()  # sessionStorage is per tab: new session, same visitor
    backend.reset()
    _load(other_tab, backend)
    (scroll,) = _wait_for(lambda: backend.events("scroll"), 2.0, other_tab)
    assert (scroll["visitorId"], scroll["sessionId"] not in {session, session_after_idle}) == (visitor, True)


def test_hidden_page_falls_back_to_fetch_when_beacon_is_refused(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page(init_script="navigator.sendBeacon = () => false;")
    url = _load(page, backend)
    page.goto(f"{backend.site}/blank")

    (post,) = _wait_for(backend.posts, 5.0)

    assert (post.headers["content-type"], post.headers["authorization"]) == (
        "application/json",
        f"Bearer {KEY}",
    )
    (scroll,) = post.payload()["events"]
    sizes = {"viewportWidth": 1280, "viewportHeight": 800, "documentWidth": 1280, "documentHeight": 3000}
    assert _stable(scroll) == {"type": "scroll", "url": url, **sizes, "depth": 26.7}
    _assert_clean(backend)


def test_queue_is_bounded_and_batches_stay_under_the_keepalive_limit(
    backend: Backend, open_page: OpenPage
) -> None:
    # No periodic flush: on a busy machine 1,200 clicks take longer than its 5 s period, and a flush in
    # the middle would deliver clicks the bound is about to drop. Flushes below are explicit.
    page = open_page(init_script="window.setInterval = function () { return 0; };")
    _load(page, backend)
    _flush(page)  # the pageview's scroll event goes now, so only clicks are queued below
    page.evaluate(
        "() => document.addEventListener('click', () => { document.body.dataset.n = Math.random(); })"
    )
    backend.plan.append(503)
    for x in range(1200):  # alive clicks at x = 0..1199; the queue keeps the newest 1000: x = 200..1199
        page.mouse.click(x, 200)
    _flush(page)  # 503: put back
    _flush(page)  # delivers everything, batch after batch

    assert [r.status for r in backend.posts()][1:3] == [503, 200]
    assert sorted(c["x"] for c in backend.events("click")) == list(range(200, 1200))
    accepted = [r for r in backend.posts() if r.status == 200]
    assert len(accepted) > 2
    assert all(len(r.body) <= 32000 and len(r.payload()["events"]) <= 500 for r in accepted)
    _assert_clean(backend)


def test_double_click_selecting_a_word_and_a_scroll_right_after_a_click_make_clicks_alive(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page()
    url = _load(page, backend, paused_clock=True)
    # A double click on the paragraph, its second press 150 ms after the first click: the press selects a
    # word before its click event fires, and the first click shares the gesture's reaction.
    page.mouse.click(100, 500)
    page.clock.run_for(150)
    page.mouse.down(click_count=2)
    page.mouse.up(click_count=2)
    _wait_for(_clicks(backend, 2), 5.0, page)  # sent once settled: the paused clock holds the dead timer
    page.clock.run_for(150)
    page.mouse.click(100, 780)  # second card, whose handler scrolls the page by 100 px

    clicks = _wait_for(_clicks(backend, 3), 5.0, page)

    common = {"type": "click", "url": url, "viewportWidth": 1280, "viewportHeight": 800}
    common |= {"documentWidth": 1280, "documentHeight": 3000, "x": 100, "fixed": False, "dead": False}
    assert sorted((_stable(c) for c in clicks), key=lambda c: c["y"]) == [
        common | {"y": 500, "selector": "body > main > p.lead"} | _box(0, 460, 1280, 200),
        common | {"y": 500, "selector": "body > main > p.lead"} | _box(0, 460, 1280, 200),
        common | {"y": 780, "selector": "body > main > div.card:nth-of-type(2)"} | _box(0, 760, 1280, 100),
    ]
    _assert_clean(backend)


def test_drag_selecting_text_is_an_alive_click(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    _load(page, backend, paused_clock=True)
    page.mouse.move(20, 468)  # the paragraph's first line of text (document y 460-478)
    page.mouse.down()
    page.mouse.move(300, 468, steps=5)
    page.clock.run_for(500)  # the selection is long done when the button is released
    page.mouse.up()

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    assert (click["x"], click["y"], click["selector"], click["dead"]) == (
        300,
        468,
        "body > main > p.lead",
        False,
    )
    _assert_clean(backend)


def test_scroll_later_than_100_ms_after_a_click_is_no_reaction(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    _load(page, backend, paused_clock=True)
    page.mouse.click(100, 500)  # the paragraph: no reaction of its own
    page.clock.run_for(101)
    scroll_and_wait(page, "scrollBy(0, 200)")
    _flush(page)
    assert backend.events("click") == []  # still waiting for a reaction

    page.clock.run_for(int(DEAD_AFTER_S * 1000))

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)
    assert (click["y"], click["dead"]) == (500, True)
    _assert_clean(backend)


def test_a_reaction_to_the_fourth_click_of_a_burst_leaves_the_first_three_dead(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page()
    _load(page, backend, paused_clock=True)
    page.mouse.move(100, 700)  # first card: no handler, user-select: none
    for count in range(1, 5):  # one burst, 150 ms apart: click counts 1, 2, 3, 4
        if count > 1:
            page.clock.run_for(150)
        page.mouse.down(click_count=count)
        page.mouse.up(click_count=count)
    scroll_and_wait(page, "scrollBy(0, 100)")  # right after the fourth click, 150+ ms after the others

    (alive,) = _wait_for(_clicks(backend, 1), 5.0, page)
    page.clock.run_for(int(DEAD_AFTER_S * 1000))
    clicks = _wait_for(_clicks(backend, 4), 5.0, page)

    assert alive["dead"] is False
    assert alive["timestamp"] == max(c["timestamp"] for c in clicks)  # the fourth click
    assert [c["dead"] for c in clicks if c["eventId"] != alive["eventId"]] == [True] * 3
    _assert_clean(backend)


def test_long_selector_is_cut_from_the_left_at_a_path_boundary(backend: Backend, open_page: OpenPage) -> None:
    page = open_page()
    _load(page, backend)
    # 60 nested div.level first in main; the innermost (20 px high, document y 60-80) has a
    # generated-looking id, which is not used. Full path "body > main" + 60 x " > div.level" = 11 + 720
    # chars > 512. Whole leading parts are dropped until it fits: n parts of "div.level" take 12n - 3
    # chars, so n = 42 (501 chars).
    page.evaluate(
        """() => { let el = document.querySelector('main'), first = null;
        for (let i = 0; i < 60; i++) { const d = document.createElement('div'); d.className = 'level';
          if (first) el.appendChild(d); else first = d; el = d; }
        el.id = 'react-123456'; el.style.height = '20px';
        document.querySelector('main').prepend(first); }"""
    )
    page.mouse.click(50, 70)
    page.evaluate("() => document.body.setAttribute('data-clicked', '1')")  # a reaction: no dead wait

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    assert (click["selector"], click["y"]) == (" > ".join(["div.level"] * 42), 70)
    _assert_clean(backend)


def test_keyboard_activated_click_is_placed_at_the_element_centre(
    backend: Backend, open_page: OpenPage
) -> None:
    page = open_page()
    _load(page, backend)
    page.focus("#grow")
    page.keyboard.press("Enter")  # a click event without pointer position
    page.evaluate("() => document.getElementById('grow').click()")  # scripted: not a user click

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    # button#grow: 200 x 40 px at document (0, 60), centre (100, 80)
    assert (click["selector"], click["x"], click["y"], click["dead"]) == ("#grow", 100, 80, False)
    page.wait_for_timeout(200)
    _flush(page)
    assert len(backend.events("click")) == 1
    _assert_clean(backend)


@pytest.mark.parametrize(("width", "height", "short"), [(1280, 800, 0), (375, 667, 1)])
def test_a_reader_at_the_bottom_has_seen_all_of_the_scrolling_element(
    backend: Backend, open_page: OpenPage, width: int, height: int, short: int
) -> None:
    """<body> 50 px taller than the scrolling element (mdBook): the page is as high as what scrolls, 3000
    px, and its bottom (give or take a pixel of a fractional scroll position) is 100 %, not 98.4 %."""
    page = open_page(width, height)
    url = _load_fixture(page, backend, "tracker_tall_body.html", paused_clock=True)
    scroll_and_wait(page, f"scrollTo(0, {3000 - height - short})")
    page.mouse.click(100, height - 5)  # button.end at the bottom, document y 2995 - short
    page.clock.run_for(int(DEAD_AFTER_S * 1000) + 100)

    (click,) = _wait_for(_clicks(backend, 1), 5.0, page)

    sizes = {"viewportWidth": width, "viewportHeight": height, "documentWidth": width, "documentHeight": 3000}
    common = {"url": url, **sizes}
    assert _stable(click) == {"type": "click", **common, "x": 100, "y": 2995 - short, "fixed": False} | {
        "selector": "body > div.page > button.end",
        "dead": True,
    } | _box(0, 2950, 200, 50)
    assert _stable(backend.events("scroll")[-1]) == {"type": "scroll", **common, "depth": 100.0}
    _assert_clean(backend, clock_ahead=timedelta(seconds=DEAD_AFTER_S + 0.1))


def test_a_click_sends_the_scroll_depth_it_proves_ahead_of_itself(
    backend: Backend, open_page: OpenPage
) -> None:
    """A click proves the visitor saw that far: the replay, which orders events by time, must not draw it
    below the depth reported so far, so the depth goes out at the click, not at the next 5 s flush."""
    page = open_page()
    _load(page, backend, paused_clock=True)
    _flush(page)  # depth at the fold, 26.7 %
    scroll_and_wait(page, "scrollTo(0, 1300)")  # 70 %, measured but not sent
    page.clock.run_for(500)
    page.mouse.click(100, 500)  # the spacer, document y 1800
    page.evaluate("() => document.body.setAttribute('data-clicked', '1')")  # a reaction: alive
    page.clock.run_for(1000)  # the next flush is later than the click

    _wait_for(_clicks(backend, 1), 5.0, page)

    events = backend.events()  # arrival order
    assert [(e["type"], e.get("depth"), e.get("y")) for e in events] == [
        ("scroll", 26.7, None),
        ("scroll", 70.0, None),
        ("click", None, 1800),
    ]
    # Stamped when the depth was reached, 500 ms before the click: it sorts first even when the two
    # arrive in separate requests in the other order (a fetch in flight, then the unload beacon).
    assert _by_time(events[1:]) == events[1:] and events[1]["timestamp"] < events[2]["timestamp"]
    _assert_clean(backend, clock_ahead=timedelta(seconds=1.5))


@pytest.mark.parametrize("tap", [False, True], ids=["mouse", "touch"])
def test_a_click_on_a_label_counts_once_not_again_on_its_control(
    backend: Backend, open_page: OpenPage, tap: bool
) -> None:
    """The browser follows a click on a <label> with a click of its own on the label's control; counted
    twice, two quick taps on a label made four clicks, a rage event."""
    page = open_page(375, 667, has_touch=tap)
    _load_fixture(page, backend, "tracker_labels.html", paused_clock=True)
    act = page.tap if tap else page.click
    for selector in ("#wrap", "#for", "#agree", "#wrap", "#wrap"):  # the last two: two quick taps
        act(selector, position={"x": 100, "y": 30} if selector != "#agree" else None)
        page.clock.run_for(200)
    page.clock.run_for(int(DEAD_AFTER_S * 1000))

    clicks = _wait_for(_clicks(backend, 5), 5.0, page)
    _flush(page)

    assert [c["selector"] for c in _by_time(backend.events("click"))] == [
        "#wrap",  # the label wrapping the checkbox, not the checkbox again
        "#for",  # the label for= a checkbox further down, not that checkbox
        "#agree",  # the checkbox itself, clicked directly: once
        "#wrap",
        "#wrap",
    ]
    assert {(c["x"], c["y"]) for c in clicks if c["selector"] != "#agree"} == {(100, 30), (100, 90)}
    _assert_clean(backend, clock_ahead=timedelta(seconds=1 + DEAD_AFTER_S))


def test_only_changes_a_visitor_can_tie_to_the_click_make_it_alive(
    backend: Backend, open_page: OpenPage
) -> None:
    """Rewrites to the same value and changes far out of view are no reaction (a trial on documentation
    sites found both made dead clicks alive); changes at, in or around the clicked element or in view are,
    from the press on (the same trial found popovers that close when focus leaves them, at the press)."""
    page = open_page()
    _load_fixture(page, backend, "tracker_reactions.html", paused_clock=True)
    verdicts = [  # (element clicked, dead); every click also runs the page's global no-op handler
        ("#plain", True),  # no handler of its own
        ("#far", True),  # its one real change is 2,000 px below the fold
        ("#self", False),  # toggles its own class
        ("#open", False),  # shows a menu elsewhere in view
        ("#count", False),  # changes the text of a counter in view
        ("#dialog", False),  # appends a dialog
        ("#replace", False),  # replaces a panel's content
        ("#pop", False),  # shows a popover ...
        ("#plain", False),  # ... which a click elsewhere hides ...
        ("#plain", True),  # ... once
        ("#hide", False),  # hides itself
        ("#query", False),  # shows suggestions on focus, at the press: before the click event ...
        ("#plain", False),  # ... and hides them on blur, also at the press
    ]
    for selector, dead in verdicts:
        page.click(selector)  # a reaction settles the click at once (a microtask) ...
        if dead:
            page.clock.run_for(int(DEAD_AFTER_S * 1000) + 100)  # ... else the dead timer, before the next

    clicks = _wait_for(_clicks(backend, len(verdicts)), 5.0, page)

    assert [(c["selector"], c["dead"]) for c in _by_time(clicks)] == verdicts
    _assert_clean(backend, clock_ahead=timedelta(seconds=3 * (DEAD_AFTER_S + 0.1)))


def test_changes_in_view_right_after_a_later_scroll_or_press_are_that_actions(
    backend: Backend, open_page: OpenPage
) -> None:
    """A trial on a documentation site (MkDocs Material) found dead clicks made alive by what the theme
    does whenever the page scrolls: it restyles its sticky header and its table of contents, in view. A
    change in view within 500 ms after a later scroll or press is that action's; one that comes later (a
    page waiting for its server) or belongs to the click itself still answers it."""
    page = open_page()
    _load_fixture(page, backend, "tracker_scroll_spy.html", paused_clock=True)

    def back_to_top() -> None:
        scroll_and_wait(page, "scrollTo(0, 0)")
        page.clock.run_for(700)  # past the spy's settling and the scroll's 500 ms

    page.click("#text")  # text, then the reader scrolls on: the header and contents change at once ...
    page.clock.run_for(500)
    scroll_and_wait(page, "scrollBy(0, 300)")
    page.clock.run_for(int(DEAD_AFTER_S * 1000))  # ... and the contents again 200 ms after: still dead
    back_to_top()
    page.click("#text")  # text, then 500 ms later a button showing a panel in view: the button's
    page.clock.run_for(500)
    page.click("#open")
    page.clock.run_for(int(DEAD_AFTER_S * 1000))
    page.click("#load")  # results in view 1,000 ms after the click, 700 ms after a scroll: alive
    page.clock.run_for(300)
    scroll_and_wait(page, "scrollBy(0, 300)")
    page.clock.run_for(1000)
    back_to_top()
    scroll_and_wait(page, "scrollBy(0, 50)")  # a scroll, then at once a click whose own change is in view
    page.clock.run_for(100)
    page.click("#open")

    verdicts = [("#text", True), ("#text", True), ("#open", False), ("#load", False), ("#open", False)]
    clicks = _wait_for(_clicks(backend, len(verdicts)), 5.0, page)
    assert [(c["selector"], c["dead"]) for c in _by_time(clicks)] == verdicts
    _assert_clean(backend, clock_ahead=timedelta(seconds=10))
