"""The Chromium that browser tests and benchmarks drive: the one the product's captures would find."""

from __future__ import annotations

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
