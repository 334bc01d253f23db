"""Page groups and segment filters in a real browser: `streamlit run` on loopback over the small shop of
:mod:`tests.dashboard.segment_shop` (a drawn backdrop for its busiest product page), driven by the
system Chromium. A group is previewed, saved and opened from the Groups view into its heatmap; a segment
filter picked in the sidebar lands in the URL and is there again after a reload, numbers and all.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from data_layer.db import create_db_engine
from data_layer.ingest import ingest_web_batch
from data_layer.screenshots import save_screenshot
from data_layer.settings import Settings
from tests.browser import needs_chromium
from tests.dashboard import segment_shop
from tests.dashboard.segment_shop import PRODUCTS, TENT
from tests.dashboard.test_dashboard_browser import TIMEOUT_MS, full_page_screenshot, wait_idle
from tests.live import dashboard_settings, free_port, running_dashboard

pytestmark = [*needs_chromium, pytest.mark.live]


def tent_backdrop() -> bytes:
    """A 1000 x 2400 px page with a header, a hero and four buttons where the shop's tent clicks land
    (x = 100, 300, 500, 700 at y = 300)."""
    image = Image.new("RGB", (1000, 2400), "#f4f1ea")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1000, 80), fill="#2f4f4f")
    draw.rectangle((40, 120, 960, 240), fill="#d9cfbf")
    for x in (100, 300, 500, 700):
        draw.rounded_rectangle((x - 70, 280, x + 70, 320), radius=8, fill="#8a5a2b")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    values = dashboard_settings(tmp_path, port)
    settings = Settings(**values)  # type: ignore[arg-type]
    engine = create_db_engine(values["database_url"])
    try:
        ingest_web_batch(engine, settings, segment_shop.events())
        save_screenshot(
            engine, settings.screenshot_dir, tent_backdrop(), kind="web", page_key=TENT, breakpoint="desktop"
        )
        with running_dashboard(port, **values):
            yield values["dashboard_url"]
    finally:
        engine.dispose()


expect.set_options(timeout=TIMEOUT_MS)


def metric(page: Any, label: str) -> Any:
    """The metric's value, as a locator: assertions on it retry until a rerun has drawn the figure."""
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]')


def test_a_group_saved_in_the_groups_view_opens_its_heatmap(dashboard: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{dashboard}/groups")
    page.get_by_role("heading", name="Groups").wait_for()
    page.get_by_text("No saved group yet").wait_for()

    page.get_by_label("Name", exact=True).fill("Product pages")
    pattern = page.get_by_label("Pattern", exact=True)
    pattern.fill(PRODUCTS)
    page.get_by_text("Matches 2 pages with data").wait_for()  # the preview, while typing
    wait_idle(page)
    full_page_screenshot(page, "groups-preview")
    page.get_by_role("button", name="Save group").click()
    page.get_by_text("Saved 'Product pages'").wait_for()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    wait_idle(page)

    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell
    page.get_by_role("button", name="Open heatmap").click()
    page.wait_for_url(f"**/heatmap?**{urlencode({'pattern': PRODUCTS})}**")
    page.get_by_text("2 pages", exact=True).wait_for()
    note = f"Backdrop: {TENT}, the busiest of 2 pages (most desktop clicks)."
    page.get_by_text(note).wait_for()
    page.locator(".js-plotly-plot .imagelayer image").first.wait_for()
    wait_idle(page)
    expect(metric(page, "Clicks · desktop")).to_have_text("6")
    full_page_screenshot(page, "groups-heatmap")
    page.close()


def test_a_segment_filter_is_in_the_url_and_restored_on_reload(dashboard: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})  # the segments' selects in view
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(dashboard)
    page.get_by_role("heading", name="Pages").wait_for()
    wait_idle(page)
    expect(metric(page, "Clicks")).to_have_text("7")

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Segments", exact=True).click()
    source = sidebar.get_by_role("combobox", name="UTM source")
    source.wait_for()
    wait_idle(page)  # the expander done opening
    source.click()
    page.get_by_role("option", name="newsletter", exact=True).click()
    page.wait_for_url("**utmSource=newsletter**")
    wait_idle(page)
    expect(metric(page, "Clicks")).to_have_text("2")

    page.reload()
    page.get_by_role("heading", name="Pages").wait_for()
    wait_idle(page)
    assert source.input_value() == "newsletter"
    expect(metric(page, "Clicks")).to_have_text("2")
    full_page_screenshot(page, "segments-reloaded")

    # The filter follows to the Heatmap view: only the newsletter's product page has clicks.
    page.goto(f"{dashboard}/heatmap?{urlencode({'utmSource': 'newsletter', 'tag': 'variant:B'})}")
    page.get_by_role("heading", name="Heatmap").wait_for()
    wait_idle(page)
    expect(metric(page, "Clicks · desktop")).to_have_text("2")
    assert "variant:B" in sidebar.locator('[data-testid="stMultiSelect"]').inner_text()
    full_page_screenshot(page, "segments-heatmap")
    page.close()
