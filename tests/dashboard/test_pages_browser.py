"""The Pages view in Chromium over the demo site plus a second site with a long URL and pages read
without a click: the list shows paths with the site beside them, and a page with scroll data but no
clicks, listed under the page list, opens the Heatmap view on its scroll depth. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine

from data_layer.ingest import ingest_web_batch
from data_layer.settings import Settings
from heatmaps_testing.browser import launched
from heatmaps_testing.loopback import REPO
from tests.browser import needs_chromium
from tests.conftest import DEMO_END
from tests.dashboard.test_pages_view import BLOG, LONG_PATH, POLICY
from tests.factories import web_click, web_scroll
from tests.live import free_port, running_dashboard

pytestmark = [
    *needs_chromium,
    pytest.mark.live,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000
AT = (DEMO_END - timedelta(hours=2)).isoformat()
ARTICLE = f"{BLOG}/journal/2026/11/why-we-stopped-counting-pageviews-and-started-reading-scroll-depth"
ROW_PX, HEADER_PX = 35, 35


@pytest.fixture
def dashboard(demo_site: Settings, engine: Engine) -> Iterator[str]:
    """The demo shop, a clicked page with a long URL on a blog, and two pages read without a click: the
    shop's privacy policy (3 phone sessions, 1 desktop) and a blog article (1 session)."""
    phone = {"viewportWidth": 390, "documentWidth": 390, "timestamp": AT}
    ingest_web_batch(
        engine,
        demo_site,
        [
            web_click(url=BLOG + LONG_PATH, timestamp=AT),
            *(
                web_scroll(url=POLICY, sessionId=f"policy-{n}", visitorId=f"pv-{n}", depth=depth, **phone)
                for n, depth in enumerate((40, 70, 100))
            ),
            web_scroll(url=POLICY, sessionId="policy-d", timestamp=AT),
            web_scroll(url=ARTICLE, sessionId="article", timestamp=AT, depth=90),
        ],
    )
    port = free_port()
    values = {
        "database_url": demo_site.database_url,
        "screenshot_dir": str(demo_site.screenshot_dir),
        "replica_dir": str(demo_site.replica_dir),
        "dashboard_url": f"http://127.0.0.1:{port}",
        "secret_key": str(demo_site.secret_key),
    }
    with running_dashboard(port, **values) as base:
        yield base


def wait_idle(page: Any) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def test_a_page_without_clicks_is_listed_and_opens_its_scroll_depth(dashboard: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{dashboard}/?sort=Page+URL&dir=Lowest+first")  # the blog's long URL first
        page.get_by_role("heading", name="Pages").wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        wait_idle(page)
        page.screenshot(path=str(ARTIFACTS / "pages-paths-and-sites.png"), full_page=True)

        section = page.locator('[data-testid="stExpander"]').filter(has_text="Pages with scroll data but no")
        assert section.locator("summary").inner_text().strip().endswith("(2)")
        section.locator("summary").click()
        table = section.locator('[data-testid="stDataFrame"]')
        table.wait_for()
        section.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "pages-scroll-only.png"), full_page=True)

        # Most sessions with scroll data first: the privacy policy (4), then the article (1).
        box = table.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + HEADER_PX + ROW_PX // 2)
        page.wait_for_url("**/heatmap?**")
        page.get_by_role("heading", name="Heatmap").wait_for()
        query = parse_qs(urlsplit(page.url).query)
        assert (query["page"], query["bp"]) == ([POLICY], ["mobile"])
        page.get_by_text("3 sessions with scroll data", exact=False).wait_for()
        wait_idle(page)
        page.screenshot(path=str(ARTIFACTS / "heatmap-scroll-only.png"), full_page=True)
