"""The Heatmap view's density in Chromium: drawn by default over the demo's screenshots at desktop and
mobile breakpoints, aligned with the page, hover still naming a hotspot's clicks, the cells on
request, and the PNG export at the screenshot's full resolution. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from PIL import Image

from data_layer.auth import secret_key
from data_layer.db import create_db_engine
from data_layer.filters import WebFilters, Window
from data_layer.replica import ReplicaStore
from data_layer.screenshots import latest_page_screenshot
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from demo_site.loader import load_demo
from heatmaps_testing.browser import launched
from tests.browser import needs_chromium
from tests.dashboard.test_dashboard_browser import (
    ARTIFACTS,
    DENSITY_DRAWN,
    EXPORT_TIMEOUT_MS,
    full_page_screenshot,
    hotspot_position,
    wait_idle,
)
from tests.live import dashboard_settings, free_port, running_dashboard

pytestmark = [*needs_chromium, pytest.mark.live]

TIMEOUT_MS = 30_000

HEATMAP_JS = """[...document.querySelectorAll('.js-plotly-plot')]
    .find(g => g._fullData && g._fullData.some(t => t.name === 'hotspots'))"""
# The traces, the hotspots' (one per element the hover names) once.
TRACES_JS = f"""() => {HEATMAP_JS}._fullData.map(t => t.type + ':' + t.name)
    .filter((name, i, all) => i === 0 || name !== all[i - 1])"""
# Where the density image and the page are on screen (left, right, top), the chart scrolled into view.
PLACEMENT_JS = f"""() => {{
    const gd = {HEATMAP_JS};
    gd.scrollIntoView();
    const density = [...gd.querySelectorAll('.imagelayer image')]
        .find(i => i.href.baseVal.startsWith('data:image/png')).getBoundingClientRect();
    const layout = gd._fullLayout, box = gd.getBoundingClientRect();
    const [left, right] = layout.xaxis.range.map(x => box.left + layout._size.l + layout.xaxis.l2p(x));
    const top = box.top + layout._size.t + layout.yaxis.l2p(0);
    return {{image: [density.left, density.right, density.top], page: [left, right, top]}};
}}"""


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`streamlit run streamlit_app.py` on loopback over the demo (screenshots at every breakpoint)."""
    port = free_port()
    values = dashboard_settings(tmp_path, port)
    settings = Settings(**values)  # type: ignore[arg-type]
    engine = create_db_engine(values["database_url"])
    end = datetime.now(UTC).replace(microsecond=0)
    load_demo(engine, settings, events=3000, days=10, seed=5, end=end, record=False)
    service = HeatmapService(ReplicaStore(engine), settings, secret_key(engine, settings.secret_key))
    window = Window(end.date() - timedelta(days=29), end.date())
    busiest = service.ranked_pages(window, WebFilters(), None, "CLICKS", True)["page_key"][0]
    try:
        with running_dashboard(port, **values):
            yield {"base": values["dashboard_url"], "engine": engine, "page_key": busiest}
    finally:
        engine.dispose()


def _open(page: Any, base: str, query: dict[str, str]) -> None:
    page.goto(f"{base}/heatmap?{urlencode(query)}")
    if query.get("draw") != "Cells":
        page.locator(DENSITY_DRAWN).first.wait_for()
    wait_idle(page)


def _chart_screenshot(page: Any, name: str) -> None:
    """The heatmap's panel alone, at its size on screen, beside the full-page shot."""
    page.locator('[data-testid="stVerticalBlock"]:has(> div .cartesian-chart)').last.screenshot(
        path=str(ARTIFACTS / f"dashboard-{name}-chart.png")
    )


@pytest.mark.parametrize("breakpoint", ["desktop", "mobile"])
def test_the_heatmap_draws_the_density_by_default(dashboard: dict[str, Any], breakpoint: str) -> None:
    base, page_key = dashboard["base"], dashboard["page_key"]
    shot = latest_page_screenshot(dashboard["engine"], page_key, breakpoint)
    assert shot is not None  # the demo photographs its busiest pages at every breakpoint
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        _open(page, base, {"page": page_key, "bp": breakpoint})
        density = page.get_by_role("radiogroup", name="Draw as").get_by_role("radio", name="Density")
        assert density.get_attribute("aria-checked") == "true"

        traces = page.evaluate(TRACES_JS)
        assert traces == ["image:page", "image:density", "scatter:density scale", "scatter:hotspots"]
        placed = page.evaluate(PLACEMENT_JS)
        assert placed["image"] == pytest.approx(placed["page"], abs=1.5)  # the page's box, to a pixel
        assert page.locator(".js-plotly-plot .colorbar").count() == 1
        assert page.locator(".js-plotly-plot .heatmaplayer image").count() == 0

        # Hovering the busiest hotspot names its clicks, as over the cells.
        page.mouse.move(**hotspot_position(page, 0))
        hover = page.locator(".hoverlayer .hovertext").first
        hover.wait_for()
        assert "clicks" in (hover.text_content() or "")
        page.mouse.move(0, 0)
        full_page_screenshot(page, f"density-{breakpoint}")
        _chart_screenshot(page, f"density-{breakpoint}")

        with page.expect_download(timeout=EXPORT_TIMEOUT_MS) as download:
            page.get_by_role("button", name="Download PNG").click()
        png = Path(download.value.path()).read_bytes()
        (ARTIFACTS / f"dashboard-density-{breakpoint}-export.png").write_bytes(png)
        assert Image.open(io.BytesIO(png)).size == (shot["width"], shot["height"])
        browser.close()


def test_the_heatmap_draws_the_cells_on_request(dashboard: dict[str, Any]) -> None:
    base, page_key = dashboard["base"], dashboard["page_key"]
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        _open(page, base, {"page": page_key, "bp": "desktop"})
        page.get_by_role("radiogroup", name="Draw as").get_by_role("radio", name="Cells").click()
        page.wait_for_url("**draw=Cells**")
        page.locator(".js-plotly-plot .heatmaplayer image").first.wait_for()
        wait_idle(page)
        assert page.evaluate(TRACES_JS) == ["image:page", "heatmap:clicks", "scatter:hotspots"]
        full_page_screenshot(page, "cells-desktop")
        _chart_screenshot(page, "cells-desktop")

        # The link reproduces the view.
        _open(page, base, {"page": page_key, "bp": "desktop", "draw": "Cells"})
        page.locator(".js-plotly-plot .heatmaplayer image").first.wait_for()
        assert page.evaluate(TRACES_JS) == ["image:page", "heatmap:clicks", "scatter:hotspots"]
        browser.close()
