"""Running the product as real processes on loopback: shared by the benchmarks and the live tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ok(url: str, timeout: float = 60, *, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once ``url`` answers 200 (polling), False after ``timeout`` seconds or as soon as ``alive``
    says the server process is gone (no point waiting for a crashed server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False
