"""The Heatmap view with a page of a real (loopback) site that has clicks and no backdrop: "Capture
backdrop" photographs it through the API process, and the heatmap is then drawn over the captured page.
Screenshots of both states are saved in test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from data_layer.db import create_db_engine
from data_layer.ingest import ingest_web_batch
from data_layer.screenshots import latest_page_screenshot
from data_layer.settings import Settings
from heatmaps_testing.browser import launched
from heatmaps_testing.loopback import ApiServer
from tests.backdrops.capture_site import serve_site
from tests.browser import needs_chromium
from tests.dashboard.test_dashboard_browser import DENSITY_DRAWN, full_page_screenshot, wait_idle
from tests.factories import web_click
from tests.live import dashboard_settings, free_port, running_dashboard

pytestmark = [*needs_chromium, pytest.mark.live]

TIMEOUT_MS = 90_000


def test_capture_backdrop_from_the_heatmap_view(tmp_path: Path) -> None:
    with serve_site() as site:
        port = free_port()
        values = {**dashboard_settings(tmp_path, port), "capture_origins": site.origin}
        url, base = values["database_url"], values["dashboard_url"]
        settings = Settings(**values)  # type: ignore[arg-type]
        engine = create_db_engine(url)
        page_key = f"{site.origin}/"
        now = datetime.now(UTC).isoformat()
        # Clicks on the blue lazy image (about 1,600 px down the page) and on the sticky header.
        clicks = [web_click(url=page_key, x=150, y=1650, timestamp=now, documentWidth=1440) for _ in range(6)]
        clicks += [web_click(url=page_key, x=700, y=30, timestamp=now, documentWidth=1440, fixed=True)]
        ingest_web_batch(engine, settings, clicks)
        api = ApiServer(url, tmp_path, **{k: v for k, v in values.items() if k != "database_url"}).start()
        try:
            with running_dashboard(port, **values), launched() as browser:
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                day = datetime.now(UTC).date().isoformat()
                query = urlencode({"page": page_key, "bp": "desktop", "from": day, "to": day})
                page.goto(f"{base}/heatmap?{query}")
                wait_idle(page)
                button = page.get_by_role("button", name="Capture backdrop")
                button.wait_for()
                page.get_by_text("Backdrop: no screenshot").wait_for()
                full_page_screenshot(page, "capture-before")
                button.click()
                page.get_by_text("Backdrop: captured").wait_for()
                wait_idle(page)
                page.get_by_role("button", name="Retake backdrop").wait_for()
                # The backdrop is drawn as an image layer of the chart, under the heatmap's density.
                page.locator(".js-plotly-plot .imagelayer image").first.wait_for()
                page.locator(DENSITY_DRAWN).first.wait_for()
                full_page_screenshot(page, "capture-after")
                browser.close()
            shot = latest_page_screenshot(engine, page_key, "desktop")
            assert shot is not None and shot["source"] == "capture" and shot["width"] == 1440
        finally:
            api.kill()
            engine.dispose()
