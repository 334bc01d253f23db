"""Loopback servers for the recording tests: the customer's site, and a collector playing the API.

The *site* serves tests/recordings/privacy_page.html at /page/<n> with a tracker tag whose attributes the
test chooses; the *collector* serves /tracker.js and /tracker-record.js (built as the API builds it) and
records what arrives at POST /rest/v1/recordings and /rest/v1/events, decoding gzip bodies. It answers
like the API (``{"stored": true|false}`` by (sessionId, seq)) unless a test plans other statuses. Against
the real API (tests/recordings/test_recording_privacy_e2e.py) only the site is used.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from api.recorder_script import recorder_script
from heatmaps_testing.loopback import REPO, serving, serving_html

TRACKER_JS = REPO / "tracker" / "tracker.js"
PAGE_HTML = (Path(__file__).with_name("privacy_page.html")).read_text()
RECORDINGS = "/rest/v1/recordings"
KEY = "test-key"
# The page's own text: every capitalised word starting with Q (see privacy_page.html).
PAGE_WORDS = sorted(set(re.findall(r"\bQ[A-Z]{3,}\b", PAGE_HTML)))
DNT_INIT = "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});"


def random_init(value: float) -> str:
    """An init script that makes the page's Math.random() always return ``value``."""
    return f"Math.random = () => {value};"


@dataclass
class Upload:
    """One POST that reached the collector: its headers, the decoded JSON, and the answer given."""

    path: str
    headers: dict[str, str]
    raw: bytes
    payload: dict[str, Any]
    status: int | None

    @property
    def beacon(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/plain")


@dataclass
class Collector:
    """Shared state of the two servers; ``plan`` holds statuses for the next recording POSTs (then 200)."""

    site: str = ""
    api: str = ""
    gets: list[str] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    plan: list[int | None] = field(default_factory=list)
    stored: set[tuple[str, int]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.gets.clear()
            self.uploads.clear()
            self.plan.clear()
            self.stored.clear()

    def chunks(self) -> list[Upload]:
        """The recording POSTs, in arrival order."""
        with self.lock:
            return [u for u in self.uploads if u.path == RECORDINGS]

    def accepted(self) -> list[dict[str, Any]]:
        """Recording chunks stored (answered 200 with stored true), by (sessionId, seq)."""
        with self.lock:
            answered = [u.payload for u in self.uploads if u.path == RECORDINGS and u.status == 200]
        unique = {(c["sessionId"], c["seq"]): c for c in answered}
        return [unique[k] for k in sorted(unique)]

    def script_loads(self) -> int:
        with self.lock:
            return sum(path.startswith("/tracker-record.js") for path in self.gets)


def tag(base: str, key: str = KEY, **attrs: str) -> str:
    """The tracker's tag, served from ``base``, with data-key and the given data-* attributes."""
    extra = "".join(f' data-{name.replace("_", "-")}="{value}"' for name, value in attrs.items())
    return f'<script src="{base}/tracker.js" data-key="{key}"{extra} defer></script>'


def page_html(script_tag: str, next_page: str) -> bytes:
    return PAGE_HTML.replace("SCRIPT_TAG", script_tag).replace("NEXT_PAGE", next_page).encode()


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    @property
    def state(self) -> Collector:
        return self.server.collector  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
        self.end_headers()
        # A closing page's beacon does not wait for the answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        with self.state.lock:
            self.state.gets.append(self.path)
        path, _, query = self.path.partition("?")
        if path == "/tracker.js":
            self._send(200, TRACKER_JS.read_bytes(), "application/javascript")
        elif path == "/tracker-record.js":
            self._send(200, recorder_script(), "application/javascript")
        elif path.startswith("/page/"):
            attrs = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            number = int(path.removeprefix("/page/"))
            html = page_html(tag(self.state.api, **attrs), f"/page/{number + 1}?{query}")
            self._send(200, html, "text/html; charset=utf-8")
        else:
            self._send(404, b"", "text/plain")

    def do_OPTIONS(self) -> None:
        self._send(204, b"", "text/plain")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
        payload = json.loads(body)
        status: int | None = 200
        answer: dict[str, Any] = {"ingested": len(payload.get("events", [])), "duplicates": 0}
        if self.path == RECORDINGS:
            with self.state.lock:
                status = self.state.plan.pop(0) if self.state.plan else 200
                chunk = (payload["sessionId"], payload["seq"])
                answer = {"stored": chunk not in self.state.stored}
                if status == 200:
                    self.state.stored.add(chunk)
        with self.state.lock:
            self.state.uploads.append(Upload(self.path, headers, raw, payload, status))
        if status is None:
            self.close_connection = True  # no answer at all: the browser sees a network error
            return
        answer = answer if status == 200 else {"error": "planned"}
        self._send(status, json.dumps(answer).encode(), "application/json")


@contextmanager
def collector_and_site() -> Iterator[Collector]:
    """Two loopback origins: the site (pages) and the collector (scripts, uploads)."""
    collector = Collector()
    with serving(_Handler, collector=collector) as site, serving(_Handler, collector=collector) as api:
        collector.site, collector.api = site, api
        yield collector


@contextmanager
def site_for(api_base: str, key: str, **attrs: str) -> Iterator[str]:
    """The customer's site embedding the tracker of a real API at ``api_base`` with ingest ``key``;
    yields its base URL, where /page/<n> are the test page (linking to the next one)."""

    def page(path: str) -> bytes | None:
        path = path.partition("?")[0]
        if not path.startswith("/page/"):
            return None
        return page_html(tag(api_base, key, **attrs), f"/page/{int(path.removeprefix('/page/')) + 1}")

    with serving_html(page) as base:
        yield base
