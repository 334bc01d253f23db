"""Helpers for tests that run the product as real processes on loopback."""

from __future__ import annotations

import os

from benchmarks.loopback import free_port as free_port
from benchmarks.loopback import wait_ok as wait_ok


def product_env(**settings: str) -> dict[str, str]:
    """This process's environment without its HEATMAPS_* settings (test switches kept), plus ``settings``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    env.update({f"HEATMAPS_{name.upper()}": value for name, value in settings.items()})
    return env
