"""A worker of ``heatmaps api --workers N`` ends with the supervisor that started it."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys

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
