"""The dashboard in a real browser: `streamlit run` on loopback over a small demo database, driven by the
system Chromium with Playwright (never a downloaded browser).

One walk through the product: a replay link opened first on a fresh server (a deep link must get the
full app, not the bare page), the Pages list, a sidebar filter landing in the URL, a row opening its
heatmap with the overlay drawn over the screenshot, its PNG export downloaded, a replay link landing on
the Session page, then the Mobile and Screenshots pages. Full-page screenshots of each go to
``test-artifacts/`` for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from data_layer.auth import secret_key
from data_layer.db import create_db_engine
from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_web_batch
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.urls import normalize_page_key
from demo_site.loader import load_demo
from heatmaps_testing.loopback import REPO
from tests.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.live import dashboard_settings, free_port, running_dashboard

pytestmark = [*needs_chromium, pytest.mark.live]
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")

ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 20_000
EXPORT_TIMEOUT_MS = 60_000
"""The PNG export is drawn when clicked, at the screenshot's full resolution: on a loaded 2-core CI
machine that took over 20 s once (a wait, not a budget: docs/performance.md measures it)."""
CLICK_PATH, PLAYER = ".js-plotly-plot", ".recording-player .rr-player"  # the Session page's two views
# The Heatmap view's default drawing, its density, is a PNG image on the chart (the backdrop is a JPEG).
DENSITY_DRAWN = '.js-plotly-plot .imagelayer image[*|href^="data:image/png"]'


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`streamlit run streamlit_app.py` on a free loopback port over a fresh demo database."""
    port = free_port()
    values = dashboard_settings(tmp_path, port)
    base = values["dashboard_url"]
    settings = Settings(**values)  # type: ignore[arg-type]
    engine = create_db_engine(values["database_url"])
    end = datetime.now(UTC).replace(microsecond=0)
    load_demo(engine, settings, events=3000, days=10, seed=5, end=end)
    ingest_web_batch(engine, settings, hostile_events(end))
    try:
        with running_dashboard(port, **values):
            service = HeatmapService(ReplicaStore(engine), settings, secret_key(engine, settings.secret_key))
            yield {"base": base, "service": service, "last_day": end.date()}
    finally:
        engine.dispose()


HOSTILE_SELECTOR = '<img src=x onerror="window.__xss=1">'
HOSTILE_SESSION = "**s**<script>window.__xss=2</script>"
HOSTILE_PAGE = "https://shop.example.com/evil/<b>bold</b>[link](javascript:window.__xss=3)"


def hostile_events(end: datetime) -> list[dict[str, Any]]:
    """Dead clicks whose selector, session id and page URL carry HTML, script and Markdown."""
    first = end - timedelta(hours=1)
    base = {
        "type": "click", "sessionId": HOSTILE_SESSION, "visitorId": "v-hostile", "url": HOSTILE_PAGE,
        "viewportWidth": 1280, "viewportHeight": 800, "documentWidth": 1280, "documentHeight": 2000,
        "x": 300, "y": 300, "selector": HOSTILE_SELECTOR, "dead": True,
    }  # fmt: skip
    return [
        {**base, "timestamp": (first + timedelta(seconds=delay)).isoformat(), "x": 300 + delay}
        for delay in (0, 5)
    ]


def full_page_screenshot(page: Any, name: str) -> None:
    """Streamlit scrolls inside its main block, so grow the viewport to the content before the shot."""
    page.wait_for_timeout(1000)  # images and tables finish laying out after the run
    height = page.evaluate(
        "Math.max(document.querySelector('[data-testid=\"stMain\"]').scrollHeight,"
        " document.querySelector('[data-testid=\"stMainBlockContainer\"]').offsetHeight + 120)"
    )
    page.set_viewport_size({"width": 1440, "height": min(max(900, int(height) + 40), 8000)})
    page.wait_for_timeout(800)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def wait_idle(page: Any) -> None:
    """Until Streamlit has finished the current run (its status widget disappears)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def test_walk_through_the_dashboard(dashboard: dict[str, Any]) -> None:
    base, service, last_day = dashboard["base"], dashboard["service"], dashboard["last_day"]
    window = Window(last_day - timedelta(days=29), last_day)
    busiest = service.ranked_pages(window, WebFilters(), None, "CLICKS", True)["page_key"][0]
    deep_link = service.page_summary(PageRef(busiest, "desktop"), window).replays["url"][0]
    assert deep_link.startswith(f"{base}/session?sessionId=")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)

        # A replay link is the first request the fresh server sees: the whole app must answer.
        page.goto(deep_link)
        page.get_by_role("heading", name="Session replay").wait_for()
        page.locator('[data-testid="stSidebar"]').get_by_text("Filters", exact=True).wait_for()
        page.locator(f"{CLICK_PATH}, {PLAYER}").first.wait_for()  # a recorded session opens in the player

        # Pages: a filter lands in the URL.
        page.goto(base)
        page.get_by_role("heading", name="Pages").wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        wait_idle(page)
        full_page_screenshot(page, "pages")
        country = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
            has_text="Country"
        )
        country.click()
        page.get_by_role("option", name="US", exact=True).click()
        page.wait_for_url("**country=US**")
        wait_idle(page)

        # Selecting the first row opens its heatmap, the filter kept.
        table = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(table["x"] + 18, table["y"] + 35 + 17)
        page.wait_for_url("**/heatmap?page=**")
        page.locator(DENSITY_DRAWN).first.wait_for()
        wait_idle(page)
        page.wait_for_url("**country=US**")

        # The busiest page has a demo screenshot: the overlay is drawn over it.
        page.goto(f"{base}/heatmap?{urlencode({'page': busiest})}")
        page.locator(DENSITY_DRAWN).first.wait_for()
        page.locator(".js-plotly-plot .imagelayer image").first.wait_for()
        wait_idle(page)
        # The 720 px page figure is scaled down to its narrower column: nothing is cut off at the right.
        fits = "() => { const c = document.querySelector('.cartesian-chart');"
        fits += " return c.clientWidth > 0 && c.scrollWidth <= c.clientWidth; }"
        assert page.evaluate(fits)
        page.set_viewport_size({"width": 1280, "height": 900})  # and again in a narrower window
        page.wait_for_function(fits)
        page.set_viewport_size({"width": 1440, "height": 900})
        full_page_screenshot(page, "heatmap")
        with page.expect_download(timeout=EXPORT_TIMEOUT_MS) as download:
            page.get_by_role("button", name="Download PNG").click()
        png = Path(download.value.path()).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        (ARTIFACTS / "dashboard-heatmap-export.png").write_bytes(png)

        # Clicking a hotspot lists the sessions behind it (the chart reports the selection to Python).
        page.mouse.click(**hotspot_position(page, 0))
        page.get_by_role("heading", name="Sessions that clicked this spot").wait_for()
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        wait_idle(page)
        full_page_screenshot(page, "heatmap-hotspot")

        # A replay link opens the Session page.
        link = page.locator('[data-testid="stLinkButton"] a').first
        assert link.get_attribute("href").startswith(f"{base}/session?sessionId=")
        with page.context.expect_page() as opened:
            link.click()
        replay = opened.value
        replay.set_default_timeout(TIMEOUT_MS)
        replay.get_by_role("heading", name="Session replay").wait_for()
        replay.locator(f"{CLICK_PATH}, {PLAYER}").first.wait_for()
        if replay.locator(PLAYER).count() == 0:
            assert replay.get_by_text("Step ", exact=False).count() >= 1
        wait_idle(replay)
        full_page_screenshot(replay, "session")
        replay.close()

        for name, heading in (("mobile", "Mobile"), ("screenshots", "Screenshots")):
            page.goto(f"{base}/{name}")
            page.get_by_role("heading", name=heading).wait_for()
            wait_idle(page)
            full_page_screenshot(page, name)

        check_hostile_strings_stay_text(page, base, last_day)
        browser.close()


def hotspot_position(page: Any, index: int) -> dict[str, float]:
    """Where the heatmap's ``index``-th hotspot is on screen (the chart scrolled into view)."""
    return page.evaluate(
        """(index) => {
            const gd = [...document.querySelectorAll('.js-plotly-plot')]
                .find(g => g._fullData && g._fullData.some(t => t.name === 'hotspots'));
            gd.scrollIntoView();
            const layout = gd._fullLayout, trace = gd._fullData.find(t => t.name === 'hotspots');
            const box = gd.getBoundingClientRect();
            return {x: box.left + layout._size.l + layout.xaxis.l2p(trace.x[index]),
                    y: box.top + layout._size.t + layout.yaxis.l2p(trace.y[index])};
        }""",
        index,
    )


def check_hostile_strings_stay_text(page: Any, base: str, last_day: date) -> None:
    """Selectors, session ids and page URLs with HTML/JS/Markdown are shown as text and never run."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    key = normalize_page_key(HOSTILE_PAGE)
    page.goto(f"{base}/heatmap?{urlencode({'page': key, 'layer': 'Dead clicks'})}")
    page.locator(DENSITY_DRAWN).first.wait_for()
    wait_idle(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Page").first
    shown = picker.inner_text() + " ".join(box.input_value() for box in picker.locator("input").all())
    assert "<b>bold</b>[link](javascript:window.__xss=3)" in shown
    replay = page.locator('[data-testid="stLinkButton"]').first
    assert "**s**<script>" in replay.inner_text()
    # Hover the dead-click hotspot: its label shows the selector literally.
    page.mouse.move(**hotspot_position(page, 0))
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for()
    assert HOSTILE_SELECTOR in (hover.text_content() or "")
    full_page_screenshot(page, "hostile-heatmap")

    query = {"sessionId": HOSTILE_SESSION, "visitorId": "v-hostile", "date": last_day.isoformat()}
    page.goto(f"{base}/session?{urlencode(query)}")
    page.get_by_role("heading", name="Session replay").wait_for()
    page.get_by_text(HOSTILE_SESSION, exact=False).first.wait_for()
    wait_idle(page)
    assert page.evaluate("window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("main b", has_text="bold").count() == 0
    assert dialogs == []
