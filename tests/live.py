"""Helpers for tests that run the product as real processes on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.loopback import free_port as free_port
from benchmarks.loopback import wait_ok as wait_ok


def product_env(**settings: str) -> dict[str, str]:
    """This process's environment without its HEATMAPS_* settings (test switches kept), plus ``settings``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    env.update({f"HEATMAPS_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def running_dashboard(port: int, **settings: str) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on loopback ``port`` with ``settings``; yields its base URL once it
    answers, and stops it afterwards."""
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        ],
        cwd=Path(__file__).resolve().parents[1], env=product_env(**settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        if not wait_ok(f"{base}/_stcore/health", timeout=60):
            server.kill()
            pytest.fail(f"the dashboard did not start: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        yield base
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
