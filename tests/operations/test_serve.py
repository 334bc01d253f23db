"""`heatmaps serve`: the API and the dashboard start together and both stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from heatmaps_testing.loopback import REPO
from tests.live import free_port, product_env, wait_ok

pytestmark = pytest.mark.live


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_serve_starts_both_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    api_port, dashboard_port = free_port(), free_port()
    env = product_env(
        database_url=f"sqlite:///{tmp_path / 'serve.db'}",
        screenshot_dir=str(tmp_path / "shots"),
        replica_dir=str(tmp_path / "replica"),
        api_port=str(api_port),
        dashboard_port=str(dashboard_port),
        api_url=f"http://127.0.0.1:{api_port}",
        dashboard_url=f"http://127.0.0.1:{dashboard_port}",
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "heatmaps_cli.app", "serve"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        assert wait_ok(f"http://127.0.0.1:{api_port}/healthz"), "the API answers"
        assert wait_ok(f"http://127.0.0.1:{dashboard_port}/_stcore/health"), "the dashboard answers"
        assert httpx.get(f"http://127.0.0.1:{api_port}/tracker.js").status_code == 200
        serve.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        assert serve.wait(timeout=30) == 0
        output = serve.stdout.read().decode() if serve.stdout else ""
        assert f"127.0.0.1:{dashboard_port}" in output
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (port_closed(api_port) and port_closed(dashboard_port)):
            time.sleep(0.2)
        assert port_closed(api_port) and port_closed(dashboard_port), "no child is left running"
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
