"""Helpers for tests that run the product as real processes on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from heatmaps_testing.loopback import REPO
from heatmaps_testing.loopback import free_port as free_port
from heatmaps_testing.loopback import product_env as product_env
from heatmaps_testing.loopback import wait_ok as wait_ok


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
        cwd=REPO, env=product_env(**settings),
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


def dashboard_settings(directory: Path, port: int) -> dict[str, str]:
    """Settings of a dashboard on loopback ``port`` over a migrated SQLite database in ``directory``, as
    keyword arguments of :func:`running_dashboard` (and of ``Settings``)."""
    from data_layer.migrate import upgrade

    url = f"sqlite:///{directory / 'dashboard.db'}"
    upgrade(url)
    return {
        "database_url": url,
        "screenshot_dir": str(directory / "shots"),
        "replica_dir": str(directory / "replica"),
        "dashboard_url": f"http://127.0.0.1:{port}",
        "secret_key": "browser-test",
    }
