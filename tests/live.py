"""Helpers for tests that run the product as real processes on loopback."""

from __future__ import annotations

import os
import socket
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def product_env(**settings: str) -> dict[str, str]:
    """This process's environment without its HEATMAPS_* settings (test switches kept), plus ``settings``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    env.update({f"HEATMAPS_{name.upper()}": value for name, value in settings.items()})
    return env


def wait_ok(url: str, timeout: float = 60) -> bool:
    """True once ``url`` answers 200 (polling), False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False
