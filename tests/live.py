"""Helpers for tests that run the product as real processes on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from heatmaps_testing.loopback import REPO
from heatmaps_testing.loopback import free_port as free_port
from heatmaps_testing.loopback import product_env as product_env
from heatmaps_testing.loopback import wait_ok as wait_ok

if TYPE_CHECKING:
    from data_layer.settings import Settings


@contextmanager
def running_dashboard(port: int, *, log: Path | None = None, **settings: str) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on loopback ``port`` with ``settings``; yields its base URL once it
    answers, and stops it afterwards.

    With ``log``, everything the server prints (Streamlit's warnings included) goes to that file, so a
    test can read what a user's action made it say."""
    base = f"http://127.0.0.1:{port}"
    output = log.open("wb") if log is not None else None
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
            "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        ],
        cwd=REPO, env=product_env(**settings),
        stdout=output or subprocess.DEVNULL, stderr=output or subprocess.PIPE,
    )  # fmt: skip
    if output is not None:
        output.close()  # the server writes through its own copy
    try:
        if not wait_ok(f"{base}/_stcore/health", timeout=60):
            server.kill()
            said = log.read_bytes() if log is not None else server.stderr.read()  # type: ignore[union-attr]
            pytest.fail(f"the dashboard did not start: {said.decode()[-2000:]}")
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


def site_settings(site: Settings, port: int) -> dict[str, str]:
    """Settings of a dashboard on loopback ``port`` over the database, screenshots and replica of ``site``
    (e.g. the ``demo_site`` fixture's), as keyword arguments of :func:`running_dashboard`."""
    return {
        "database_url": site.database_url,
        "screenshot_dir": str(site.screenshot_dir),
        "replica_dir": str(site.replica_dir),
        "dashboard_url": f"http://127.0.0.1:{port}",
        "secret_key": str(site.secret_key),
    }
