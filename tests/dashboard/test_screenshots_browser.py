"""The Screenshots view in Chromium over the demo site: the Heatmap view's "Upload a backdrop" link opens
it with the page and breakpoint picked, one Upload button stores the file for them at once, and its
lists name pages by their path. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import Engine

from data_layer import screenshots
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
CHECKOUT = "https://shop.example.com/checkout"  # clicked at desktop, no demo backdrop there


@pytest.fixture
def dashboard(demo_site: Settings) -> Iterator[str]:
    port = free_port()
    with running_dashboard(port, **site_settings(demo_site, port)) as base:
        yield base


def png(width: int, height: int) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (width, height), (230, 236, 244)).save(data, "PNG")
    return data.getvalue()


def test_a_backdrop_is_uploaded_for_the_page_the_heatmap_names(dashboard: str, engine: Engine) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{dashboard}/heatmap?{urlencode({'page': CHECKOUT, 'bp': 'desktop'})}")
        page.get_by_role("link", name="Upload a backdrop").click()
        page.get_by_role("heading", name="Screenshots").wait_for()
        page.wait_for_timeout(300)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
        assert parse_qs(urlsplit(page.url).query) == {"pageKey": [CHECKOUT]}  # desktop: the default
        page.screenshot(path=str(ARTIFACTS / "screenshots-preselected.png"))
        main = page.locator('[data-testid="stMain"]')
        pickers = main.locator('[data-testid="stSelectbox"]')
        assert [
            pickers.filter(has_text=label).locator("input").input_value()
            for label in ("Page URL", "Breakpoint")
        ] == [
            CHECKOUT,
            "desktop",
        ]
        assert main.get_by_role("button", name="Upload", exact=True).count() == 1

        with page.expect_file_chooser() as chooser:
            main.get_by_role("button", name="Upload", exact=True).click()
        chooser.value.set_files({"name": "checkout.png", "mimeType": "image/png", "buffer": png(1440, 2000)})
        page.get_by_text("Saved 1440 x 2000 px for https://shop.example.com/checkout (desktop).").wait_for()
        main.get_by_text("checkout.png").wait_for(state="detached")  # the picker is empty again
        assert main.get_by_role("button", name="Upload", exact=True).count() == 1
        page.screenshot(path=str(ARTIFACTS / "screenshots-uploaded.png"), full_page=True)
    latest = screenshots.latest_page_screenshot(engine, CHECKOUT, "desktop")
    assert latest is not None and (latest["width"], latest["height"]) == (1440, 2000)
