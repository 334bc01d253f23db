"""Sessions in Chromium over the demo site: the replay links of the Heatmap view and of the Session
replay view's recorded sessions keep the sidebar's window and filters, so the session's tab and the views
reached from it stay in the user's context; the click path plays without the server saying anything.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import Engine, text

from data_layer.settings import Settings
from heatmaps_testing.browser import launched
from heatmaps_testing.loopback import REPO
from tests.browser import needs_chromium
from tests.live import free_port, running_dashboard, site_settings

pytestmark = [
    *needs_chromium,
    pytest.mark.live,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 60_000  # the Heatmap view on a busy 2-core machine
CART = "https://shop.example.com/cart"
WINDOW = ("2026-10-20", "2026-11-01")
FILTERED = urlencode({"dates": WINDOW, "country": "US"}, doseq=True)
CARRIED = {"dates": list(WINDOW), "country": ["US"], "visitorType": ["returning"]}
"""The sidebar's parameters a link must carry: the window and country from the URL, the visitor type
picked in the sidebar."""
ROW_PX, HEADER_PX = 35, 35
REPLAY_LINKS = '[data-testid="stLinkButton"] a[href*="/session?"]'
REPLAYS_FILTERED = f"""() => {{
    const links = [...document.querySelectorAll('{REPLAY_LINKS}')];
    return links.length > 0 && links.every(link => link.href.includes('visitorType=returning'));
}}"""
"""True once every replay link on the page was drawn for the picked visitor type (read in one go, so a
rerun redrawing the list cannot remove a link between finding and reading it)."""
LOGGED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<message>.*)$", re.MULTILINE)
"""A line of Streamlit's log (``2026-12-06 05:42:38.544 The widget with key ...``): its message."""


@pytest.fixture
def dashboard(demo_site: Settings, engine: Engine, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`streamlit run` on loopback over a copy of the demo site, its output in ``log``."""
    port, log = free_port(), tmp_path / "dashboard.log"
    with running_dashboard(port, log=log, **site_settings(demo_site, port)) as base:
        yield {"base": base, "log": log, "engine": engine}


def longest_page_view(engine: Engine) -> str:
    """The Session view's query for the demo's session with most events on one page (its default page)."""
    with engine.connect() as connection:
        session_id, visitor_id, day = connection.execute(
            text(
                "SELECT session_id, visitor_id, MIN(day) FROM web_events GROUP BY session_id, visitor_id, "
                "page_key ORDER BY COUNT(*) DESC, session_id LIMIT 1"
            )
        ).one()
    return urlencode({"sessionId": session_id, "visitorId": visitor_id, "date": str(day)})


def wait_idle(page: Any) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def logged_messages(log: Path) -> list[str]:
    """What the server logged, one message per entry, the startup notice left out."""
    return [
        found["message"]
        for found in LOGGED.finditer(log.read_text())
        if not found["message"].startswith("Uvicorn server started")
    ]


def test_play_steps_through_the_click_path_without_a_warning(dashboard: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{dashboard['base']}/session?{longest_page_view(dashboard['engine'])}&view=Click+path")
        play = page.get_by_role("button", name="Play")
        play.wait_for()
        wait_idle(page)
        visited = page.get_by_text("Events per page in this session:").inner_text()
        assert re.fullmatch(
            r"Events per page in this session: /\S* \(\d+\)( · /\S* \(\d+\))* on shop\.example\.com", visited
        )
        step = page.locator("strong", has_text=re.compile(r"^Step \d+ of \d+$"))
        first, total = map(int, re.findall(r"\d+", step.inner_text()))
        assert first == total > 3  # the whole page view shown until Play
        for _ in range(3):  # a machine loaded by other tests may let the play end before Pause lands
            play.click()
            # From step 1, one every 0.8 s; a loaded browser may draw two steps at once: any from the third.
            page.locator("strong", has_text=re.compile(rf"^Step (?:[3-9]|[1-9]\d+) of {total}$")).wait_for()
            page.get_by_role("button", name="Pause").click()
            wait_idle(page)
            paused_at = step.inner_text()
            if paused_at != f"Step {total} of {total}":
                break
        page.screenshot(path=str(ARTIFACTS / "session-click-path-played.png"))
        page.wait_for_timeout(2000)
        assert step.inner_text() == paused_at != f"Step {total} of {total}"
    assert logged_messages(dashboard["log"]) == []


def carried(url: str) -> dict[str, list[str]]:
    """The sidebar's parameters in ``url``'s query."""
    return {key: values for key, values in parse_qs(urlsplit(url).query).items() if key in CARRIED}


def pick_returning_visitors(page: Any) -> None:
    """Picks "returning" among the sidebar's segment filters, as a user would.

    A click landing while Streamlit reruns the page can be dropped by the rerun, so the pick is
    clicked again (at most three times) until the URL carries it."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    returning = sidebar.get_by_text("returning", exact=True)
    sidebar.get_by_text("Segments").click()
    returning.wait_for()
    for attempt in range(3):
        wait_idle(page)
        if attempt == 0 or "visitorType=returning" not in page.url:
            returning.click()
        try:
            page.wait_for_function("() => location.search.includes('visitorType=returning')", timeout=15_000)
            break
        except PlaywrightTimeoutError:
            continue
    assert "visitorType=returning" in page.url, "the sidebar's pick reached the URL"
    wait_idle(page)


def test_replay_links_keep_the_sidebar_filters(dashboard: dict[str, Any]) -> None:
    base = dashboard["base"]
    ARTIFACTS.mkdir(exist_ok=True)
    with launched() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1100})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{base}/heatmap?{urlencode({'page': CART})}&{FILTERED}")
        page.get_by_role("heading", name="Replays").wait_for()
        wait_idle(page)
        pick_returning_visitors(page)
        page.wait_for_function(REPLAYS_FILTERED)  # the rerun redraws the links after the status widget goes
        links = page.locator(REPLAY_LINKS).evaluate_all("links => links.map(link => link.href)")
        assert links, "the cart has replays for returning US visitors"
        assert [(carried(link), parse_qs(urlsplit(link).query)["pageKey"]) for link in links] == [
            (CARRIED, [CART])
        ] * len(links)
        page.get_by_role("heading", name="Replays").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "replay-links-heatmap.png"))

        # The session opens in the user's context, and the Heatmap view reached from it keeps it.
        session = context.new_page()
        session.goto(links[0])
        session.get_by_role("heading", name="Session replay").wait_for()
        wait_idle(session)
        session.get_by_role("link", name="Heatmap").click()
        session.get_by_role("heading", name="Replays").wait_for()
        wait_idle(session)
        session.get_by_text(f"{WINDOW[0]} to {WINDOW[1]} · US · returning visitors").wait_for()
        session.screenshot(path=str(ARTIFACTS / "replay-links-back-to-heatmap.png"))

        # The Session replay view's recorded sessions: a link opens a new tab with the filters.
        page.goto(f"{base}/session?{FILTERED}")
        table = page.locator('[data-testid="stDataFrame"]')
        table.wait_for()
        wait_idle(page)
        pick_returning_visitors(page)
        page.screenshot(path=str(ARTIFACTS / "replay-links-recorded-sessions.png"))
        box = table.bounding_box()
        link = (box["x"] + 40, box["y"] + HEADER_PX + ROW_PX // 2)  # the first row's "Open replay"
        page.mouse.move(*link)  # the grid shows a link as one once hovered
        page.wait_for_timeout(300)
        with context.expect_page() as opened:
            page.mouse.click(*link)
        replay = opened.value
        replay.wait_for_load_state()
        assert carried(replay.url) == CARRIED
        replay.get_by_role("heading", name="Session replay").wait_for()
        context.close()
