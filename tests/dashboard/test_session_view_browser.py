"""The Session replay view in Chromium over the demo site: the click path plays without the server
saying anything. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
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
TIMEOUT_MS = 30_000
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
        step = page.locator("strong", has_text=re.compile(r"^Step \d+ of \d+$"))
        first, total = map(int, re.findall(r"\d+", step.inner_text()))
        assert first == total > 3  # the whole page view shown until Play
        play.click()
        page.locator("strong", has_text=f"Step 3 of {total}").wait_for()  # from step 1, one every 0.8 s
        page.get_by_role("button", name="Pause").click()
        wait_idle(page)
        page.screenshot(path=str(ARTIFACTS / "session-click-path-played.png"))
        paused_at = step.inner_text()
        page.wait_for_timeout(2000)
        assert step.inner_text() == paused_at != f"Step {total} of {total}"
    assert logged_messages(dashboard["log"]) == []
