"""The Chromium that browser tests and benchmarks drive: the one the product's captures would find."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright import sync_api

from data_layer.capture.chromium import ChromiumMissingError, find_chromium

# Without background networking, which the sandbox refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _installed_chromium() -> str | None:
    try:
        return find_chromium(None)
    except ChromiumMissingError:
        return None


CHROMIUM = _installed_chromium()
"""The executable, or None on a machine without one (browser tests then skip, outside CI)."""


@contextmanager
def launched() -> Iterator[Any]:
    """That Chromium under Playwright (never a downloaded browser), closed on the way out."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
