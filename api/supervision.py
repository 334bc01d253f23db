"""The processes of ``heatmaps api --workers N``: each listens on a socket of its own, and ends with the
supervisor that started it."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import sys

from uvicorn import Config
from uvicorn.supervisors import multiprocess

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_supervisor() -> None:
    """In a worker process (one started by ``multiprocessing``), have Linux send it SIGTERM, which
    uvicorn answers with a graceful shutdown, when its supervisor dies.

    A supervisor killed outright (SIGKILL, the OOM killer) stops nobody: its workers would go on
    serving the port, and a restarted ``heatmaps api`` could not bind it. Elsewhere this does nothing.
    """
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent.pid:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def port_socket(host: str, port: int, backlog: int | None = None) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` with ``SO_REUSEPORT``, listening when ``backlog`` is given.

    Made with its protocol set to TCP: asyncio sets TCP_NODELAY only on the connections of such a
    listener, and without it each keep-alive answer waits about 40 ms for the client's delayed ACK
    (Kludex/uvicorn#3149, where uvicorn's own supervisor socket has protocol 0).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn binds its own socket
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


class _OwnListenerWorker(multiprocess.Process):
    """A uvicorn worker that, once started, listens on a ``SO_REUSEPORT`` socket of its own.

    With one socket shared by every worker, each worker's event loop accepts every connection pending
    when it wakes up, so a burst of connections (a proxy's keep-alive pool, a load test) lands nearly
    whole on one worker and stays there: with 16 connections, splits of 15 to 1 were seen, and the busy
    worker's queue made its requests wait while the other idled. With a socket per worker, Linux spreads
    new connections over the workers' sockets by a hash of their addresses.
    """

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        config = self.config
        super().target([port_socket(config.host, config.port, config.backlog)])


def serve_workers(config: Config) -> None:
    """Run ``config.workers`` workers under uvicorn's supervisor (it restarts one that dies, and replaces
    them all on SIGHUP), each listening on a socket of its own (:class:`_OwnListenerWorker`).

    The supervisor binds the address first, without listening, so a port in use fails here at once
    rather than in every worker, and stays bound while workers are restarted. A socket that only binds
    takes no connections.
    """
    held = port_socket(config.host, config.port)
    multiprocess.Process = _OwnListenerWorker  # type: ignore[misc]  # the class the supervisor starts
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        held.close()
