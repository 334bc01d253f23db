"""Nothing leaves the machine: every view of the dashboard, opened in Chromium over the demo data, asks
no host but the dashboard's own.

The browser context refuses (and notes) every request to a host other than 127.0.0.1 or localhost, so a
font, icon or script fetched from a third party would both show up here and be missing from the view.
Streamlit 1.67 asks fonts.gstatic.com for a Material Symbol page icon (``:material/...:``); the
dashboard's page icon is a local SVG for that reason. Each view must still render: its title, no error
box, no exception. The Session replay view plays one of the demo's recordings in rrweb's player.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import Engine

from data_layer.auth import secret_key
from data_layer.filters import WebFilters, Window
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.sessions import SessionQuery, list_sessions
from data_layer.settings import Settings
from heatmaps_testing.browser import launched
from heatmaps_testing.loopback import REPO
from tests.browser import needs_chromium
from tests.conftest import DEMO_END
from tests.live import free_port, running_dashboard

pytestmark = [
    *needs_chromium,
    pytest.mark.live,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000
LOOPBACK = {"127.0.0.1", "localhost"}
WINDOW = Window(DEMO_END.date() - timedelta(days=29), DEMO_END.date())  # the dashboard's default window
PLAYER = ".recording-player .rr-player"
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@pytest.fixture
def dashboard(demo_site: Settings, engine: Engine) -> Iterator[dict[str, Any]]:
    """`streamlit run` on loopback over a copy of the demo site (recordings included)."""
    port = free_port()
    values = {
        "database_url": demo_site.database_url,
        "screenshot_dir": str(demo_site.screenshot_dir),
        "replica_dir": str(demo_site.replica_dir),
        "dashboard_url": f"http://127.0.0.1:{port}",
        "secret_key": str(demo_site.secret_key),
    }
    service = HeatmapService(ReplicaStore(engine), demo_site, secret_key(engine, demo_site.secret_key))
    with running_dashboard(port, **values) as base:
        yield {"base": base, "service": service, "engine": engine}


def recorded_session_link(service: HeatmapService, engine: Engine) -> str:
    """The Session replay view's query for the newest recorded demo session."""
    query = SessionQuery(WINDOW, WebFilters(), has_recording=True)
    newest = list_sessions(service.store, engine, service.secret, query, limit=1).sessions.row(0, named=True)
    return urlencode(
        {
            "sessionId": newest["session_id"],
            "visitorId": newest["visitor_id"],
            "date": newest["start"].date().isoformat(),
        }
    )


def only_loopback(context: Any) -> list[str]:
    """Makes ``context`` abort every request to another host; returns the list they are noted in."""
    foreign: list[str] = []

    def handle(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", handle)
    return foreign


def open_view(page: Any, url: str, title: str) -> None:
    """Opens ``url`` and waits until the view's run is over and its title is shown."""
    page.goto(url)
    page.get_by_role("heading", name=title).wait_for()
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def test_every_view_loads_from_the_dashboard_alone(dashboard: dict[str, Any]) -> None:
    base, service = dashboard["base"], dashboard["service"]
    busiest = service.ranked_pages(WINDOW, WebFilters(), None, "CLICKS", True)["page_key"][0]
    views = [
        ("pages", base, "Pages", '[data-testid="stDataFrame"]'),
        ("heatmap", f"{base}/heatmap?{urlencode({'page': busiest})}", "Heatmap", ".js-plotly-plot image"),
        ("groups", f"{base}/groups", "Groups", '[data-testid="stDataFrame"]'),
        ("screenshots", f"{base}/screenshots", "Screenshots", '[data-testid="stDataFrame"]'),
        ("sessions", f"{base}/session", "Session replay", '[data-testid="stDataFrame"]'),
        (
            "recording",
            f"{base}/session?{recorded_session_link(service, dashboard['engine'])}",
            "Session replay",
            PLAYER,
        ),
        ("mobile", f"{base}/mobile", "Mobile", ".js-plotly-plot"),
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    with launched() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        foreign = only_loopback(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        for name, url, title, drawn in views:
            open_view(page, url, title)
            page.locator(drawn).first.wait_for()
            if name == "recording":
                play_a_little(page)
            assert page.locator(PROBLEMS).count() == 0, (name, page.locator(PROBLEMS).all_inner_texts())
            page.screenshot(path=str(ARTIFACTS / f"offline-{name}.png"))
        icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
        context.close()
    assert foreign == []
    assert errors == []
    assert icon.startswith("data:image/svg+xml;base64,")


def play_a_little(page: Any) -> None:
    """Plays the recording at 8x for a moment: whatever the replayed page asks for is asked now."""
    replay = page.frame_locator(".recording-player .replayer-wrapper iframe")
    replay.locator("body *").first.wait_for(state="attached")
    page.locator(".recording-player .rr-controller__btns button", has_text="8x").click()
    page.locator(".recording-player .rr-controller__btns button").first.click()
    page.wait_for_timeout(2000)
