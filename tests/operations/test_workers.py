"""`heatmaps api --workers N`: several processes serve one database, count every event exactly once
under tracker-shaped load, run captures in one process only (another takes over when it dies), and
stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest

from data_layer.capture.leader import LEASE
from data_layer.db import create_db_engine
from data_layer.leases import holder_of
from heatmaps_testing.loopback import ApiServer, make_tokens
from heatmaps_testing.tracker_load import BASE_AGO_MS, LoadShape, check, run_python_client

pytestmark = pytest.mark.live
LEASE_S = 3.0


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def capture_holder(database_url: str) -> int | None:
    """The pid of the process holding the capture lease (None: nobody)."""
    engine = create_db_engine(database_url)
    try:
        holder = holder_of(engine, LEASE)
    finally:
        engine.dispose()
    return int(holder.split(":")[1]) if holder else None


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_workers_end_with_a_killed_supervisor(tmp_path: Path) -> None:
    """SIGKILL to the supervisor alone (the OOM killer's way): its workers stop too, and a new
    `heatmaps api` can bind the port again."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    server = ApiServer(url, tmp_path, args=("--workers", "2")).start()
    try:
        workers = children(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 15), "the workers ended"
        server.start()
    finally:
        server.kill()


def test_workers_serve_capture_once_and_stop_cleanly(database_url: str, tmp_path: Path) -> None:
    server = ApiServer(
        database_url,
        tmp_path,
        args=("--workers", "2"),
        capture_origins="http://127.0.0.1:9",
        capture_lease_s=str(LEASE_S),
    ).start()
    try:
        workers = children(server.process.pid)  # type: ignore[union-attr]
        token = make_tokens(database_url)[0]
        run = f"w{uuid.uuid4().hex[:6]}"
        shape = LoadShape(token, connections=8, run=run, base_ms=int(time.time() * 1000) - BASE_AGO_MS)
        record = run_python_client(server.base, "events", shape, seconds=3)
        verdict = check(database_url, "events", run, record)
        assert record.statuses() == {200: len(record.answers)} and verdict.ok, verdict

        assert wait_for(lambda: capture_holder(database_url) is not None, LEASE_S)
        first = capture_holder(database_url)
        assert first in workers
        seen = set()
        for _ in range(20):  # two lease periods: the other process never takes it from a live holder
            seen.add(capture_holder(database_url))
            time.sleep(LEASE_S / 10)
        assert seen == {first}

        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: capture_holder(database_url) not in (None, first), LEASE_S * 2.5), (
            "another process takes the captures over"
        )
        assert alive(capture_holder(database_url))  # type: ignore[arg-type]

        workers = children(server.process.pid)  # type: ignore[union-attr]
        server.process.send_signal(signal.SIGINT)  # type: ignore[union-attr]
        assert server.process.wait(30) == 0  # type: ignore[union-attr]
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 10), "no worker is left running"
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", server.port)) != 0
        assert capture_holder(database_url) is None, "the lease was released on the way out"
        assert "Traceback" not in server.log_text()
    finally:
        server.kill()


def connections_of(pid: int, port: int) -> int:
    """Established TCP connections of process ``pid`` on local port ``port`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        count += local_port == port and state == "01" and inode in inodes
    return count


def test_workers_share_a_burst_of_connections(tmp_path: Path) -> None:
    """Each worker listens on a socket of its own (SO_REUSEPORT): connections opened at once (a proxy's
    pool, a load test) spread over the workers, where one shared socket gave nearly all to one worker."""
    server = ApiServer(f"sqlite:///{tmp_path / 'w.db'}", tmp_path, args=("--workers", "2")).start()
    clients: list[socket.socket] = []
    try:
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(48)]
        request = f"GET /tracker.js HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
        for client in clients:  # each answered: no connection waits on a socket nobody accepts from
            client.sendall(request)
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        workers = [
            pid for pid in children(server.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        shares = sorted(connections_of(pid, server.port) for pid in workers)
        assert len(shares) == 2 and sum(shares) == 48 and shares[0] >= 10, (
            shares
        )  # a hash's spread: below 10 of 48 is 1 in 10^4
    finally:
        for client in clients:
            client.close()
        server.kill()
