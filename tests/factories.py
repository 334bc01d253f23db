"""Event factories with sensible defaults, so each test states only what matters to it."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def web_click(**overrides: Any) -> dict[str, Any]:
    """A valid click WebEvent (desktop, 1280 px wide) at (100, 200) on https://example.com/pricing."""
    event: dict[str, Any] = {
        "eventId": f"evt-{next(_ids)}",
        "type": "click",
        "timestamp": "2026-04-10T12:00:00Z",
        "sessionId": "s1",
        "visitorId": "v1",
        "url": "https://example.com/pricing",
        "viewportWidth": 1280,
        "viewportHeight": 800,
        "documentWidth": 1280,
        "documentHeight": 4000,
        "x": 100,
        "y": 200,
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


def web_scroll(**overrides: Any) -> dict[str, Any]:
    """A valid scroll WebEvent at 50 % depth; same defaults as :func:`web_click`."""
    event = web_click(type="scroll", x=..., y=..., depth=50)
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


def touch(**overrides: Any) -> dict[str, Any]:
    """A valid TAP touch event (proto3 JSON, lowerCamelCase) on screen home_feed."""
    event: dict[str, Any] = {
        "eventId": f"touch-{next(_ids)}",
        "screenName": "home_feed",
        "x": 0.5,
        "y": 0.5,
        "timestamp": "2026-04-10T12:00:00Z",
        "eventType": "TAP",
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


RECORDED_AT_MS = 1_775_822_400_000
"""2026-04-10T12:00:00Z in ms since the epoch, as rrweb stamps its events."""


def rrweb_event(kind: int = 3, offset_ms: int = 0, **data: Any) -> dict[str, Any]:
    """An rrweb event of type ``kind`` (an incremental snapshot by default) ``offset_ms`` after
    2026-04-10T12:00:00Z."""
    return {"type": kind, "timestamp": RECORDED_AT_MS + offset_ms, "data": data or {"source": 1}}


def recording_chunk(**overrides: Any) -> dict[str, Any]:
    """A valid recording upload (CONTRACT 13): chunk 0 of session s1 (visitor v1) with two events."""
    chunk: dict[str, Any] = {
        "sessionId": "s1",
        "visitorId": "v1",
        "url": "https://example.com/pricing",
        "seq": 0,
        "events": [rrweb_event(4, 0, href="https://example.com/pricing"), rrweb_event(3, 40, source=2)],
    }
    chunk.update(overrides)
    return {key: value for key, value in chunk.items() if value is not ...}
