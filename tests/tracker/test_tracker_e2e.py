"""End to end: a real Chromium runs /tracker.js served by the real API, and the events land in the database.

The API runs as `heatmaps api` in a subprocess on loopback with a temporary SQLite database; a second
local server plays the customer's website (tests/fixtures/tracker_page.html, geometry documented in
tests/tracker/test_tracker_browser.py). After the browser session, the summary endpoint must show the
rage event and the dead click in the bins worked out by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from data_layer.auth import Permission, create_token
from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.schema import web_events
from heatmaps_testing.loopback import REPO
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, open_tracked, scroll_and_wait
from tests.live import free_port, wait_ok

pytestmark = [*needs_chromium, pytest.mark.live]
PAGE = (REPO / "tests" / "fixtures" / "tracker_page.html").read_text()
TALL_BODY_PAGE = (REPO / "tests" / "fixtures" / "tracker_tall_body.html").read_text()


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`heatmaps api` on a free loopback port with a fresh SQLite database and two tokens."""
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    ingest_key = create_token(engine, "website")[1]
    view_key = create_token(engine, "pm", frozenset({Permission.VIEW_HEATMAPS}))[1]
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    env.update(HEATMAPS_DATABASE_URL=url, HEATMAPS_SCREENSHOT_DIR=str(tmp_path / "shots"))
    server = subprocess.Popen(
        [sys.executable, "-m", "heatmaps_cli.app", "api", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    if not wait_ok(f"{base}/healthz", timeout=30):
        server.kill()
        pytest.fail(f"the API did not start: {server.stderr.read().decode()[-2000:]}")
    try:
        yield {"base": base, "engine": engine, "ingest": ingest_key, "view": view_key}
    finally:
        server.terminate()
        server.wait(10)
        engine.dispose()


@pytest.fixture
def website(live_api: dict[str, Any]) -> Iterator[str]:
    """The customer's site: the fixture page embedding the API's tracker with the ingest key."""
    yield from _site(live_api, PAGE, "/shop/landing?utm_source=test")


@pytest.fixture
def docs_site(live_api: dict[str, Any]) -> Iterator[str]:
    """A documentation page whose <body> is 50 px taller than what scrolls (mdBook's layout)."""
    yield from _site(live_api, TALL_BODY_PAGE, "/book/ch01.html")


def _site(live_api: dict[str, Any], page: str, path: str) -> Iterator[str]:
    """Serves `page` embedding the API's tracker with the ingest key; yields its URL at `path`."""
    tag = f'<script src="{live_api["base"]}/tracker.js" data-key="{live_api["ingest"]}" defer></script>'
    body = page.replace("SCRIPT_TAG", tag).encode()

    class Site(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    server.shutdown()


def stored_events(engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(select(web_events).order_by(web_events.c.ts, web_events.c.seq))
        ]


def wait_for(engine, predicate, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = stored_events(engine)
        if predicate(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_real_browser_events_reach_the_database_and_the_summary(live_api, website) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        desktop = browser.new_page(viewport={"width": 1280, "height": 800})
        open_tracked(desktop, website, paused_clock=True)
        desktop.click("#grow")  # changes the DOM: alive
        desktop.mouse.click(100, 500)  # the paragraph: dead
        for _ in range(4):  # the first card, 4 fast clicks on one spot: a rage run (and dead)
            desktop.mouse.click(100, 700)
            desktop.clock.run_for(120)
        scroll_and_wait(desktop, "scrollTo(0, 1000)")
        desktop.mouse.click(100, 30)  # the sticky header's button: fixed, viewport y; alive by ...
        scroll_and_wait(desktop, "scrollTo(0, 1300)")  # ... this scroll; (1300 + 800) / 3000 = 70 %
        desktop.clock.run_for(3000)  # dead-click verdicts come after 2.5 s
        desktop.close(run_before_unload=True)  # pagehide: the beacon carries the rest

        phone = browser.new_page(viewport={"width": 375, "height": 667})
        open_tracked(phone, website)
        phone.click("#grow")
        phone.wait_for_timeout(300)
        phone.evaluate("window.__heatmaps.flush()")
        phone.wait_for_timeout(500)
        phone.close(run_before_unload=True)
        # The browser stays up until the closed pages' beacons have landed: closing it may cancel them.
        engine = live_api["engine"]
        rows = wait_for(
            engine,
            lambda r: sum(e["event_type"] == "click" for e in r) >= 8 and any(e["depth"] == 70 for e in r),
        )
        browser.close()

    clicks = [r for r in rows if r["event_type"] == "click"]
    page_key = website.split("?")[0]
    assert {r["page_key"] for r in rows} == {page_key}
    desktop_clicks = [r for r in clicks if r["breakpoint"] == "desktop"]
    assert [(r["x"], r["y"], r["dead"], r["fixed"]) for r in desktop_clicks] == [
        (100, 80, False, False),
        (100, 500, True, False),
        (100, 700, True, False),
        (100, 700, True, False),
        (100, 700, True, False),
        (100, 700, True, False),
        (100, 30, False, True),
    ]
    assert [(r["rage"], r["rage_start"]) for r in desktop_clicks[2:6]] == [(True, True)] + [(True, False)] * 3
    assert desktop_clicks[0]["selector"] == "#grow"
    assert desktop_clicks[1]["selector"] == "body > main > p.lead"
    assert [r["breakpoint"] for r in clicks if r["viewport_width"] == 375] == ["mobile"]
    assert max(r["depth"] for r in rows if r["breakpoint"] == "desktop" and r["depth"] is not None) == 70
    assert all(r["browser"] == "Chrome" or r["browser"] == "HeadlessChrome" for r in rows)

    day = desktop_clicks[0]["day"].isoformat()
    summary = httpx.get(
        f"{live_api['base']}/rest/v1/heatmap-pages/summary",
        params={"pageKey": website, "breakpoint": "desktop", "from": day, "to": day},
        headers={"Authorization": f"Bearer {live_api['view']}"},
    ).json()
    # document width 1280: x=100 -> binX 7; y=500 -> binY 31; y=700 -> binY 43
    assert summary["rageClicks"] == [{"binX": 7, "binY": 43, "rageEvents": 1, "totalClicks": 4}]
    dead = {(b["binX"], b["binY"]): b for b in summary["deadClicks"]}
    assert dead[(7, 31)]["deadClicks"] == 1
    assert dead[(7, 31)]["topElement"] == desktop_clicks[1]["selector"]
    assert dead[(7, 43)]["deadClicks"] == 4
    assert summary["scrollDepth"][7] == {"bucket": 70, "sessions": 1}
    assert summary["scrollDepth"][8] == {"bucket": 80, "sessions": 0}
    assert summary["fold"] == {"medianViewportHeightPx": 800}


def test_reading_to_the_bottom_is_100_percent_and_no_click_lies_below_the_stored_depth(
    live_api, docs_site
) -> None:
    """The scrolling element's height is the document's (3000 px, not <body>'s 3050), reaching its
    bottom fills the 100 % bucket, and every stored click comes after (ts, then arrival) a scroll event at
    least as deep: the replay never draws a click in a part of the page not yet seen."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        open_tracked(page, docs_site, paused_clock=True)
        page.evaluate("window.__heatmaps.flush()")  # the fold: 800 / 3000 = 26.7 %
        scroll_and_wait(page, "scrollTo(0, 1000)")  # (1000 + 800) / 3000 = 60 %
        page.clock.run_for(500)
        page.mouse.click(300, 700)  # document y 1700, below the 26.7 % sent so far
        page.clock.run_for(3000)  # dead after 2.5 s, before the next 5 s flush
        scroll_and_wait(page, "scrollTo(0, 2200)")  # the bottom
        page.clock.run_for(500)
        page.mouse.click(100, 790)  # button.end, document y 2990
        page.clock.run_for(3000)
        page.close(run_before_unload=True)  # pagehide: the beacon carries the rest
        browser.close()

    engine = live_api["engine"]
    rows = wait_for(engine, lambda r: sum(e["event_type"] == "click" for e in r) >= 2)
    assert {r["document_height"] for r in rows} == {3000}
    deepest, seen = 0.0, []
    for r in rows:  # ordered by ts, then seq
        if r["event_type"] == "scroll":
            deepest = max(deepest, r["depth"])
        else:
            seen.append((r["y"], deepest))
    assert seen == [(1700, 60.0), (2990, 100.0)]

    day = rows[0]["day"].isoformat()
    summary = httpx.get(
        f"{live_api['base']}/rest/v1/heatmap-pages/summary",
        params={"pageKey": docs_site, "breakpoint": "desktop", "from": day, "to": day},
        headers={"Authorization": f"Bearer {live_api['view']}"},
    ).json()
    assert summary["scrollDepth"][10] == {"bucket": 100, "sessions": 1}


REAL_PAGE = Path("/usr/share/doc/python3/python-policy.html")
"""A page nobody here wrote: the Debian Python policy as Sphinx renders it (package python3-dev)."""


@pytest.fixture
def policy_site(live_api: dict[str, Any]) -> Iterator[str]:
    if not REAL_PAGE.is_file():
        pytest.skip(f"{REAL_PAGE} is missing: install the Debian package python3-dev (.ci/run does)")
    page = REAL_PAGE.read_text().replace("</body>", "SCRIPT_TAG</body>", 1)
    yield from _site(live_api, page, "/python/policy.html")


def test_a_real_page_reports_its_campaign_referrer_tags_and_boxes(live_api, policy_site) -> None:
    """Landing from another site with a campaign in the URL: the stored clicks carry the campaign, the
    referrer's host (never its path), a tag the page set, and each clicked element's box as the page
    laid it out; the elements endpoint answers with those boxes."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    landing = f"{policy_site}?utm_source=News&utm_medium=email&utm_campaign=spring"
    referrer = f'<a id="go" href="{landing}">policy</a>'.encode()

    class Referrer(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header(
                "Referrer-Policy", "unsafe-url"
            )  # the whole URL would be shared: must not be sent
            self.end_headers()
            self.wfile.write(referrer)

    other = ThreadingHTTPServer(("localhost", 0), Referrer)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    other_host = f"localhost:{other.server_address[1]}"
    boxes: dict[str, dict[str, float]] = {}
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://{other_host}/secret/path?q=1")
            page.click("#go")
            page.wait_for_function("() => window.__heatmaps !== undefined && !!window.heatmaps")
            assert "/secret/path" in page.evaluate("document.referrer")
            page.evaluate("window.heatmaps.tag('variant', 'B')")
            page.evaluate("scrollTo(0, 400)")
            for selector in ("h1", "p"):
                target = page.locator(selector).nth(1)
                target.click()
                box = page.evaluate(
                    "el => { const r = el.getBoundingClientRect();"
                    " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; }",
                    target.element_handle(),
                )
                boxes[selector] = box
            page.wait_for_timeout(3000)  # dead-click verdicts
            page.evaluate("window.__heatmaps.flush()")
            rows = wait_for(live_api["engine"], lambda r: sum(e["event_type"] == "click" for e in r) >= 2)
            browser.close()
    finally:
        other.shutdown()

    clicks = [r for r in rows if r["event_type"] == "click"]
    assert len(clicks) == 2
    for row in rows:
        assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == ("News", "email", "spring")
        assert row["referrer_host"] == other_host
        assert row["tags"] == '{"variant":"B"}' or row["event_type"] == "scroll"
        assert row["visitor_type"] == "new"
        assert "secret" not in str(row) and "q=1" not in str(row)
    for row, box in zip(clicks, boxes.values(), strict=True):
        stored = (row["rect_x"], row["rect_y"], row["rect_width"], row["rect_height"])
        assert stored == pytest.approx((box["x"], box["y"], box["width"], box["height"]), abs=1)

    day = clicks[0]["day"].isoformat()
    answer = httpx.get(
        f"{live_api['base']}/rest/v1/heatmap-pages/elements",
        params={"pageKey": policy_site, "breakpoint": "desktop", "from": day, "to": day, "tag": "variant:b"},
        headers={"Authorization": f"Bearer {live_api['view']}"},
    ).json()
    elements = {e["selector"]: e for e in answer["elements"]}
    assert set(elements) == {row["selector"] for row in clicks}
    for row in clicks:
        element = elements[row["selector"]]
        assert (element["clicks"], element["share"]) == (1, 0.5)
        assert element["rect"] == {
            "x": round(row["rect_x"]),
            "y": round(row["rect_y"]),
            "width": round(row["rect_width"]),
            "height": round(row["rect_height"]),
        }


MATERIAL_PAGES = {
    "index.md": "# Widget\n\nStart with [the install guide](install.md).\n",
    "install.md": (
        "# Install\n\n"
        + "\n\n".join(
            "SECRET-PARAGRAPH-TEXT of the install guide, long enough to wrap. " * 4 for _ in range(3)
        )
        + '\n\n=== "pip"\n\n    pip install widget\n\n=== "conda"\n\n    conda install widget\n\n'
        + "Then read [how to use it](../usage/).\n\n"
        + "\n\n".join(f"## Part {i}\n\n" + "More SECRET-PARAGRAPH-TEXT here. " * 30 for i in range(8))
    ),
    "usage.md": "# Usage\n\n" + "\n\n".join("Usage SECRET-PARAGRAPH-TEXT. " * 20 for _ in range(10)),
}
MATERIAL_CONFIG = """site_name: Widget
theme:
  name: material
  custom_dir: overrides
  font: false
  features: [navigation.instant, navigation.top, toc.follow]
markdown_extensions:
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
"""


@pytest.fixture(scope="module")
def material_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A documentation site built by MkDocs with the Material theme (requirements-dev.txt), whose pages
    carry SCRIPT_TAG where the tracker goes; its fonts are the browser's (no third-party host)."""
    pytest.importorskip("material", reason="mkdocs-material (requirements-dev.txt) is not installed")
    root = tmp_path_factory.mktemp("material")
    (root / "docs").mkdir()
    (root / "overrides").mkdir()
    for name, text in MATERIAL_PAGES.items():
        (root / "docs" / name).write_text(text)
    (root / "overrides" / "main.html").write_text(
        '{% extends "base.html" %}{% block scripts %}{{ super() }}SCRIPT_TAG{% endblock %}'
    )
    (root / "mkdocs.yml").write_text(MATERIAL_CONFIG)
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(root / "site")],
        cwd=root, check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    return root / "site"


@pytest.fixture
def material_site(live_api: dict[str, Any], material_build: Path) -> Iterator[str]:
    """The built site, served with the API's tracker (recording every session) in place of SCRIPT_TAG."""
    tag = (
        f'<script src="{live_api["base"]}/tracker.js" data-key="{live_api["ingest"]}" data-record="on" '
        "defer></script>"
    )

    class Site(SimpleHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return None

        def do_GET(self) -> None:
            path = Path(self.translate_path(self.path))
            page = path / "index.html" if path.is_dir() else path
            if page.suffix != ".html" or not page.is_file():
                super().do_GET()
                return
            body = page.read_text().replace("SCRIPT_TAG", tag).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Site, directory=str(material_build)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_on_a_theme_that_restyles_itself_as_the_page_scrolls_a_click_on_text_stays_dead(
    live_api, material_site
) -> None:
    """MkDocs Material, a common documentation theme nobody here wrote: it shadows its sticky header,
    shows the section's title in it, moves the active entry of its contents and shows a back-to-top
    button whenever the page scrolls, and swaps pages in place by script (instant navigation). A click
    on text followed by a scroll stays dead; a content tab and a link to the next page are alive; the
    next page's clicks carry its own page key, in the same session."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{material_site}/install/")
        page.wait_for_function("() => window.__heatmaps !== undefined")
        page.locator("article p").first.click()  # text ...
        page.wait_for_timeout(500)
        page.mouse.wheel(0, 600)  # ... then the reader scrolls on, and the theme restyles what is in view
        page.wait_for_timeout(3000)
        page.locator(".tabbed-labels label").nth(1).click()  # shows the other tab
        page.wait_for_timeout(500)
        page.locator("article a[href*='usage']").click()  # instant navigation: no page load
        page.wait_for_url("**/usage/")
        page.wait_for_timeout(1000)
        page.locator("article p").first.click()  # text on the next page
        page.wait_for_timeout(3000)
        page.evaluate("window.__heatmaps.flush()")
        rows = wait_for(live_api["engine"], lambda r: sum(e["event_type"] == "click" for e in r) >= 4)
        browser.close()

    clicks = [
        (r["page_key"].removeprefix(material_site), r["dead"]) for r in rows if r["event_type"] == "click"
    ]
    assert clicks == [("/install", True), ("/install", False), ("/install", False), ("/usage", True)]
    assert len({row["session_id"] for row in rows}) == 1
    assert all("SECRET" not in str(row) for row in rows)


def test_a_recording_of_a_real_theme_keeps_what_its_stylesheets_select_by_and_no_text(
    live_api, material_site
) -> None:
    """MkDocs Material hides its drawer and search toggles by [for=__drawer] and [for=__search]: the
    recording keeps those names, which its stylesheet spells out, so the replay lays the header out as
    the visitor saw it, while the headings' ids (made from their words) and every text stay masked."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{material_site}/install/")
        page.wait_for_function("() => !!(window.__heatmaps && window.__heatmaps.recording && "
                               "window.__heatmaps.recording.flush)")  # fmt: skip
        page.evaluate("() => window.__heatmaps.recording.flush()")
        session = page.evaluate("() => sessionStorage.getItem('hm_sid')")
        browser.close()
    answer = httpx.get(
        f"{live_api['base']}/rest/v1/sessions/{session}/recording",
        headers={"Authorization": f"Bearer {live_api['view']}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert "SECRET" not in answer.text and "install guide" not in answer.text

    def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("childNodes", []):
            yield from nodes(child)

    snapshot = next(e for e in answer.json()["events"] if e["type"] == 2)  # the full snapshot
    attributes = [n.get("attributes", {}) for n in nodes(snapshot["data"]["node"]) if n["type"] == 2]
    assert {"__drawer", "__search"} <= {a["for"] for a in attributes if "for" in a}
    assert {"__drawer", "__search"} <= {a["id"] for a in attributes if "id" in a}
    headings = [a["id"] for a in attributes if a.get("id", "").startswith("*")]
    assert len(headings) >= 8 and all(set(h) == {"*"} for h in headings)  # part-0 ... part-7, masked
