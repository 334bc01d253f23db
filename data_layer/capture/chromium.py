"""Which Chromium a capture runs; the product never downloads one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt-get install chromium) or set HEATMAPS_CHROMIUM_PATH to a "
    "Chromium or Chrome executable"
)


class ChromiumMissingError(RuntimeError):
    """No usable browser; the message says how to get one."""


def _playwright_browser() -> str | None:
    """Playwright's own Chromium when someone installed it (``playwright install chromium``)."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            path = driver.chromium.executable_path
    except Exception:  # no driver, or no browser registered with it
        return None
    return path if path and os.access(path, os.X_OK) else None


def find_chromium(configured: str | None) -> str:
    """The configured executable, else the first candidate found on this machine."""
    if configured:
        found = shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
        if not found or Path(found).is_dir():
            raise ChromiumMissingError(
                f"HEATMAPS_CHROMIUM_PATH={configured} is not an executable; {INSTALL_HINT}"
            )
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    own = _playwright_browser()
    if own:
        return own
    raise ChromiumMissingError(f"no Chromium found for captures; {INSTALL_HINT}")
