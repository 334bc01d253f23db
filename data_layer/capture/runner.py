"""Runs one capture in a child process with hard bounds on time, and reads back what it made."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from data_layer.capture.chromium import ChromiumMissingError, find_chromium
from data_layer.capture.origins import OriginNotAllowedError, check_allowed
from data_layer.capture.photograph import CaptureFailed
from data_layer.settings import Settings

# Beyond the capture's own deadline: Python and Playwright starting, Chromium closing, the PNG written.
GRACE_S = 20
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class CapturedPage:
    """A photographed page: PNG bytes, the URL it ended on, the document size in CSS px."""

    png: bytes
    url: str
    document_width: int
    document_height: int


def _kill_group(process: subprocess.Popen[str]) -> None:
    """The child, its Playwright driver and Chromium: all of them, whatever state they are in (a
    browser helper left behind by a child that exited is still in the group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def capture_page(settings: Settings, url: str, breakpoint: str) -> CapturedPage:
    """Photograph ``url`` at ``breakpoint``. Raises CaptureFailed (``retry`` tells whether a later try
    may succeed); a URL of a not-allowed origin or a missing Chromium fail without starting anything."""
    try:
        check_allowed(url, settings.allowed_capture_origins)
        chromium = find_chromium(settings.chromium_path)
    except (OriginNotAllowedError, ChromiumMissingError) as exc:
        raise CaptureFailed(str(exc), retry=False) from None
    with tempfile.TemporaryDirectory(prefix="heatmaps-capture-") as folder:
        out = Path(folder) / "page.png"
        request = {
            "url": url,
            "breakpoint": breakpoint,
            "width": settings.capture_width(breakpoint),
            "chromium": chromium,
            "allowed": list(settings.allowed_capture_origins),
            "timeout_s": settings.capture_timeout_s,
            "out": str(out),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "data_layer.capture.photograph"],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, so a kill reaches Chromium too
        )
        try:
            stdout, stderr = process.communicate(
                json.dumps(request), timeout=settings.capture_timeout_s + GRACE_S
            )
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise CaptureFailed(
                f"the capture took longer than {settings.capture_timeout_s} s", retry=True
            ) from None
        finally:
            _kill_group(process)
        try:
            result = json.loads(stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            reason = (stderr.strip().splitlines() or [f"exit status {process.returncode}"])[-1][:200]
            raise CaptureFailed(f"the capture program failed: {reason}", retry=True) from None
        if not result["ok"]:
            raise CaptureFailed(result["error"], retry=result["retry"])
        return CapturedPage(
            out.read_bytes(), result["url"], result["documentWidth"], result["documentHeight"]
        )
