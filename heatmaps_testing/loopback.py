"""The product as real processes on loopback: free ports, waiting until they answer, the API server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from data_layer.auth import Permission, create_token
from data_layer.db import create_db_engine

REPO = Path(__file__).resolve().parents[1]


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


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], **attributes: object) -> Iterator[str]:
    """``handler`` answering on a free loopback port, a thread per request; yields the base URL
    (``http://127.0.0.1:<port>``) and stops the server afterwards. ``attributes`` are set on the server,
    where the handler reads them (``self.server.<name>``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving_html(page: Callable[[str], bytes | None]) -> Iterator[str]:
    """A website on loopback: ``page(path)`` is the HTML at a path (query string included), None for a
    404. Yields the base URL, as :func:`serving`."""

    class Site(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Keep the caller's output quiet."""

        def do_GET(self) -> None:
            body = page(self.path)
            self.send_response(404 if body is None else 200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    with serving(Site) as base:
        yield base


def product_env(**settings: str) -> dict[str, str]:
    """This process's environment without its HEATMAPS_* settings (test switches kept), plus ``settings``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    env.update({f"HEATMAPS_{name.upper()}": value for name, value in settings.items()})
    return env


def make_tokens(database_url: str) -> tuple[str, str]:
    """(ingest-only token, VIEW_HEATMAPS token) created directly in the database."""
    engine = create_db_engine(database_url)
    try:
        ingest = create_token(engine, "load-writer")[1]
        view = create_token(engine, "load-reader", frozenset({Permission.VIEW_HEATMAPS}))[1]
    finally:
        engine.dispose()
    return ingest, view


class ApiServer:
    """``heatmaps api`` as a subprocess on a loopback port; its output goes to ``log_path`` (appended
    across restarts, so a test can read everything the server ever printed).

    Rate limits are raised out of the way (the point is to load the storage, not the limiter);
    ``settings`` (``name=value``, as ``HEATMAPS_NAME``) replace any of the defaults. ``args`` go to the
    command (e.g. ``--workers 2``); ``repo`` is the checkout whose code runs (another worktree's, to
    measure a commit against this one).
    """

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        port: int | None = None,
        args: Sequence[str] = (),
        repo: Path = REPO,
        **settings: str,
    ) -> None:
        self.port = port or free_port()
        self.args, self.repo = tuple(args), repo
        self.log_path = workdir / f"api-{self.port}.log"
        defaults = {
            "database_url": database_url,
            "secret_key": "load-secret",
            "screenshot_dir": str(workdir / "screenshots"),
            "replica_dir": str(workdir / "replica"),
            "rate_limit_query_per_minute": "1000000",
            "rate_limit_ingest_per_minute": "1000000",
        }
        self.env = product_env(**(defaults | settings))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The started command's process id (with ``--workers``, the supervisor's)."""
        assert self.process is not None, "start() the server first"
        return self.process.pid

    def start(self, timeout: float = 60) -> ApiServer:
        """Start and wait until /healthz answers 200; raises RuntimeError with the log tail if not."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "heatmaps_cli.app", "api", "--port", str(self.port), *self.args],
                cwd=self.repo, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process = self.process
        if wait_ok(f"{self.base}/healthz", timeout, alive=lambda: process.poll() is None):
            return self
        self.kill()
        raise RuntimeError(f"the API did not start on port {self.port}:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the server and every process it started (its workers): no shutdown handlers, no
        flushing; what a power cut does to the processes."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
