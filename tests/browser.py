"""Shared settings for tests that drive the system Chromium with Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.dashboard_render import CHROMIUM as CHROMIUM_PATH
from benchmarks.dashboard_render import CHROMIUM_ARGS as CHROMIUM_ARGS  # shared with the benchmark

CHROMIUM = Path(CHROMIUM_PATH)
REQUIRE_BROWSER = os.environ.get("HEATMAPS_TEST_REQUIRE_BROWSER") == "1"

# Skip without Chromium on a user's machine; in CI (HEATMAPS_TEST_REQUIRE_BROWSER=1) run and fail instead.
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not REQUIRE_BROWSER,
        reason="system Chromium /usr/bin/chromium is not installed",
    ),
]
