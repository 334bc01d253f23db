"""Shared settings for tests that drive the system Chromium with Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out, which this sandbox refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = os.environ.get("HEATMAPS_TEST_REQUIRE_BROWSER") == "1"

# Skip without Chromium on a user's machine; in CI (HEATMAPS_TEST_REQUIRE_BROWSER=1) run and fail instead.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRE_BROWSER,
        reason="system Chromium /usr/bin/chromium is not installed",
    ),
]
