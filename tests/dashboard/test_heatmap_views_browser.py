"""The Heatmap view's clickmap, fixed-elements toggle, comparison and zoom in Chromium over the demo site,
at the desktop and mobile breakpoints, and the URL naming the page and breakpoint shown. Screenshots
(the page, the chart panel, the exports) go to test-artifacts/."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import Engine

from data_layer.auth import secret_key
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.screenshots import latest_page_screenshot
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from tests.browser import needs_chromium
from tests.dashboard.test_dashboard_browser import (
    ARTIFACTS,
    EXPORT_TIMEOUT_MS,
    full_page_screenshot,
    wait_idle,
)
from tests.live import free_port, running_dashboard, site_settings

pytestmark = [
    *needs_chromium,
    pytest.mark.live,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TIMEOUT_MS = 30_000
WINDOW = Window(date(2026, 10, 3), date(2026, 11, 1))  # the default: 30 days ending at the demo's last day
LAST_DAYS = {"dates": ["2026-10-28", "2026-11-01"]}  # the demo's last 5 days; the previous 5 are A
CHART = ".cartesian-chart"
PANEL = '[data-testid="stVerticalBlock"]:has(> div .cartesian-chart)'


@pytest.fixture
def dashboard(demo_site: Settings, engine: Engine) -> Iterator[dict[str, Any]]:
    """The demo site (its clicks carry their elements' boxes) on a dashboard on loopback."""
    service = HeatmapService(ReplicaStore(engine), demo_site, secret_key(engine, demo_site.secret_key))
    busiest = service.ranked_pages(WINDOW, WebFilters(), None, "CLICKS", True)["page_key"][0]
    port = free_port()
    with running_dashboard(port, **site_settings(demo_site, port)) as base:
        yield {"base": base, "engine": engine, "service": service, "page_key": busiest}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()


def _open(page: Any, base: str, query: dict[str, Any]) -> None:
    page.goto(f"{base}/heatmap?{urlencode(query, doseq=True)}")
    page.locator(CHART).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_idle(page)


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _traces(page: Any, index: int = 0) -> list[str]:
    script = "(index) => document.querySelectorAll('.js-plotly-plot')[index]._fullData.map(t => t.name)"
    return page.evaluate(script, index)


def _panel_screenshot(page: Any, name: str) -> None:
    page.locator(PANEL).last.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-chart.png"))


def _download(page: Any, name: str) -> Image.Image:
    with page.expect_download(timeout=EXPORT_TIMEOUT_MS) as download:
        page.get_by_role("button", name="Download PNG").click()
    png = Path(download.value.path()).read_bytes()
    (ARTIFACTS / f"dashboard-{name}-export.png").write_bytes(png)
    return Image.open(io.BytesIO(png))


def test_the_url_names_the_page_and_breakpoint_shown(dashboard: dict[str, Any], page: Any) -> None:
    """A bare link gets the busiest page and desktop in the URL; opened later, that link shows them,
    whichever page is busiest then; another page and breakpoint picked replace them."""
    base, busiest = dashboard["base"], dashboard["page_key"]
    _open(page, base, {})
    page.wait_for_url(re.compile(r".*[?&]bp=desktop"))
    assert _query(page)["page"] == [busiest]
    shared = page.url
    _open(page, base, {"draw": "Cells"})  # with another parameter of its own too
    page.wait_for_url(re.compile(r".*[?&]bp=desktop"))
    assert _query(page)["page"] == [busiest] and _query(page)["draw"] == ["Cells"]

    page.get_by_role("radiogroup", name="Breakpoint").get_by_role("radio", name="mobile").click()
    page.wait_for_url(re.compile(r".*[?&]bp=mobile"))
    wait_idle(page)
    assert _query(page)["page"] == [busiest]
    page.goto(shared)
    page.locator(CHART).first.wait_for()
    wait_idle(page)
    assert _query(page)["page"] == [busiest] and _query(page)["bp"] == ["desktop"]
    full_page_screenshot(page, "heatmap-url")


@pytest.mark.parametrize("breakpoint", ["desktop", "mobile"])
def test_the_clickmap_outlines_elements_and_lists_their_sessions(
    dashboard: dict[str, Any], page: Any, breakpoint: str
) -> None:
    base, busiest = dashboard["base"], dashboard["page_key"]
    _open(page, base, {"page": busiest, "bp": breakpoint, "draw": "Clickmap"})
    outlined = [name for name in _traces(page) if name.startswith("element ")]
    assert len(outlined) >= 5  # the demo's clicks carry their elements' boxes
    labels = page.locator(".js-plotly-plot .annotation-text").all_text_contents()
    assert any(re.fullmatch(r"\d+\.\d %", label) for label in labels)

    # Hovering inside the smallest outline (drawn last) names its selector and share.
    box = page.evaluate(
        """() => {
            const gd = document.querySelector('.js-plotly-plot');
            gd.scrollIntoView();
            const shapes = gd._fullData.filter(t => t.name.startsWith('element '));
            const t = shapes[shapes.length - 1], layout = gd._fullLayout, r = gd.getBoundingClientRect();
            const x = (t.x[0] + t.x[1]) / 2, y = (t.y[0] + t.y[2]) / 2;
            return {x: r.left + layout._size.l + layout.xaxis.l2p(x),
                    y: r.top + layout._size.t + layout.yaxis.l2p(y)};
        }"""
    )
    page.mouse.move(**box)
    hover = page.locator(".hoverlayer .hovertext").first
    hover.wait_for()
    assert "% of clicks" in (hover.text_content() or "")
    page.mouse.move(0, 0)

    # The table lists the elements; a row lists the sessions that clicked it, with replay links.
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    frame = table.bounding_box()
    page.mouse.click(frame["x"] + 18, frame["y"] + 35 + 17)  # the first row's selection box
    page.get_by_role("heading", name=re.compile("^Sessions that clicked ")).wait_for()
    wait_idle(page)
    full_page_screenshot(page, f"clickmap-{breakpoint}")
    _panel_screenshot(page, f"clickmap-{breakpoint}")

    shot = latest_page_screenshot(dashboard["engine"], busiest, breakpoint)
    exported = _download(page, f"clickmap-{breakpoint}")
    assert exported.size == (shot["width"], shot["height"])


@pytest.mark.parametrize("breakpoint", ["desktop", "mobile"])
def test_fixed_elements_can_be_hidden(dashboard: dict[str, Any], page: Any, breakpoint: str) -> None:
    """The demo's sticky header is clicked: its clicks, drawn where they were seen at the top of the
    page, leave the numbers and the drawing when hidden, and the URL says so."""
    base, busiest = dashboard["base"], dashboard["page_key"]
    _open(page, base, {"page": busiest, "bp": breakpoint})
    # The chart is redrawn after Streamlit's run ends: poll for it rather than read it once.
    spots = """(below) => {
        const gd = document.querySelector('.js-plotly-plot');
        if (!gd || !gd._fullData) return null;
        const n = gd._fullData.filter(t => t.name === 'hotspots').reduce((n, t) => n + t.y.length, 0);
        return below === null || n < below ? n : null;
    }"""
    seen = page.wait_for_function(spots, arg=None).json_value()
    page.get_by_role("radiogroup", name="Fixed elements").get_by_role("radio", name="hidden").click()
    page.wait_for_url(re.compile(r".*[?&]fixed=hidden"))
    page.locator(CHART).first.wait_for()
    wait_idle(page)
    page.wait_for_function(spots, arg=seen)  # fewer spots once the sticky header's clicks are hidden
    summary = dashboard["service"].page_summary(PageRef(busiest, breakpoint), WINDOW, include_fixed=False)
    clicks = (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text="Clicks ·")
        .locator('[data-testid="stMetricValue"]')
    )
    assert clicks.inner_text() == f"{summary.click_bins['clicks'].sum():,}"
    full_page_screenshot(page, f"fixed-hidden-{breakpoint}")
    _panel_screenshot(page, f"fixed-hidden-{breakpoint}")


@pytest.mark.parametrize("breakpoint", ["desktop", "mobile"])
def test_compare_two_windows_then_two_segments(dashboard: dict[str, Any], page: Any, breakpoint: str) -> None:
    base, busiest = dashboard["base"], dashboard["page_key"]
    _open(page, base, {"page": busiest, "bp": breakpoint, "compare": "Previous period", **LAST_DAYS})
    page.locator(CHART).nth(2).wait_for()
    wait_idle(page)
    assert [name for name in _traces(page, 2) if name != "page"] == ["density", "density scale", "hotspots"]
    page.get_by_text("B (28 Oct to 1 Nov 2026) compared with A (23 to 27 Oct 2026)").wait_for()
    assert page.locator('[data-testid="stMetricDelta"]').count() >= 1
    full_page_screenshot(page, f"compare-windows-{breakpoint}")
    _panel_screenshot(page, f"compare-windows-{breakpoint}")
    shot = latest_page_screenshot(dashboard["engine"], busiest, breakpoint)
    assert _download(page, f"compare-{breakpoint}").size == (shot["width"], shot["height"])

    # Another segment: B is the new visitors, picked in the compare row, bound to the URL.
    page.get_by_role("radiogroup", name="Compare with").get_by_role("radio", name="Another segment").click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Segment B").click()
    page.get_by_role("option", name="Visitors: new").click()
    page.wait_for_url(re.compile(r".*[?&]vs=Visitors"))
    page.locator(CHART).nth(2).wait_for()
    wait_idle(page)
    assert _query(page)["compare"] == ["Another segment"]
    page.get_by_text("B (new visitors) compared with A (all visitors)").wait_for()
    full_page_screenshot(page, f"compare-segments-{breakpoint}")
    _panel_screenshot(page, f"compare-segments-{breakpoint}")


def test_a_desktop_page_reads_at_100_percent(dashboard: dict[str, Any], page: Any) -> None:
    """At 100 % the figure is as wide as the page in CSS px and its panel scrolls sideways."""
    base, busiest = dashboard["base"], dashboard["page_key"]
    _open(page, base, {"page": busiest, "zoom": "100 %"})
    drawn = page.evaluate(
        """() => {
            const gd = document.querySelector('.js-plotly-plot');
            let panel = gd.parentElement;
            while (panel && getComputedStyle(panel).overflowX !== 'auto') panel = panel.parentElement;
            return {figure: gd._fullLayout.width, page: gd._fullLayout.xaxis.range[1],
                    scrolls: panel.scrollWidth > panel.clientWidth};
        }"""
    )
    assert drawn["figure"] == round(drawn["page"]) and drawn["scrolls"]
    full_page_screenshot(page, "zoom-100")
    _panel_screenshot(page, "zoom-100")
