"""A recorded session for the dashboard's tests: web events (clicks, a rage event, a dead click, scrolls)
and an rrweb recording of the same visit with its text masked, as the tracker and the recorder would
send them, on one clock.

The recording is written by hand, not by a browser, so each test knows exactly what the replay holds:
a heading and a button whose text is masked (``*``), an image from ``third_party`` (a host the dashboard
must never call), a script and an inline handler (which must never run), then mouse moves, the clicks
and a change to the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from data_layer.ingest import ingest_web_batch
from data_layer.recordings import store_chunk, validate_chunk
from data_layer.settings import Settings
from tests.factories import web_click, web_scroll

SESSION = "rec-session-1"
VISITOR = "rec-visitor-1"
PAGE = "https://recorded.example.org/cart"
OTHER_PAGE = "https://recorded.example.org/checkout"
START = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)
"""The visit's first moment (inside the demo data's last day)."""
DAY = START.date().isoformat()
MASKED_HEADING = "**** ****"
MASKED_BUTTON = "*** ***"
# Offsets (s) of the clicks on the cart page: one plain click, a rage event (3 fast clicks on one spot)
# and a dead click; then the visitor moves on to the checkout page and clicks once there.
PLAIN_CLICK_S = 4.0
RAGE_CLICKS_S = (8.0, 8.3, 8.6)
DEAD_CLICK_S = 14.0
CHECKOUT_CLICK_S = 24.0
END_S = 30.0


def ms(offset_s: float) -> int:
    return round((START + timedelta(seconds=offset_s)).timestamp() * 1000)


def at(offset_s: float) -> str:
    return (START + timedelta(seconds=offset_s)).isoformat()


def web_events() -> list[dict[str, Any]]:
    """The visit as the tracker reports it."""
    base = {"sessionId": SESSION, "visitorId": VISITOR, "url": PAGE}
    clicks = [
        web_click(**base, timestamp=at(PLAIN_CLICK_S), x=200, y=150, selector="h1.title"),
        *(web_click(**base, timestamp=at(s), x=640, y=420, selector="button#buy") for s in RAGE_CLICKS_S),
        web_click(**base, timestamp=at(DEAD_CLICK_S), x=900, y=700, selector="img.hero", dead=True),
        web_scroll(**base, timestamp=at(16.0), depth=60),
        web_click(
            **{**base, "url": OTHER_PAGE}, timestamp=at(CHECKOUT_CLICK_S), x=300, y=300, selector="a.pay"
        ),
    ]
    return clicks


def _element(node_id: int, tag: str, children: list[dict[str, Any]], **attributes: Any) -> dict[str, Any]:
    return {"type": 2, "tagName": tag, "attributes": attributes, "childNodes": children, "id": node_id}


def _text(node_id: int, text: str) -> dict[str, Any]:
    return {"type": 3, "textContent": text, "id": node_id}


def snapshot(third_party: str) -> dict[str, Any]:
    """The cart page as rrweb serialises it, text masked by the recorder."""
    css = (
        "body{margin:0;font:16px sans-serif;background:#fff} h1{color:#1d4ed8} .buy{width:200px;height:48px}"
    )
    body = _element(
        6,
        "body",
        [
            _element(7, "h1", [_text(8, MASKED_HEADING)], **{"class": "title"}),
            _element(9, "button", [_text(10, MASKED_BUTTON)], id="buy", **{"class": "buy"}),
            _element(11, "img", [], src=f"{third_party}/hero.png", **{"class": "hero"}),
            _element(12, "script", [_text(13, "window.parent.__replayScriptRan = 1;")]),
            _element(14, "img", [], src="x", onerror="window.parent.__replayHandlerRan = 1"),
            _element(15, "div", [], style=f"background:url({third_party}/bg.png);width:10px;height:10px"),
        ],
    )
    head = _element(4, "head", [_element(5, "style", [], _cssText=css)])
    html = _element(3, "html", [head, body], lang="en")
    doctype = {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}
    return {"type": 0, "childNodes": [doctype, html], "id": 1}


def recording_events(third_party: str) -> list[dict[str, Any]]:
    """The recording of the whole visit: the cart page, its clicks and a change, then the checkout page."""
    events: list[dict[str, Any]] = [
        {"type": 4, "timestamp": ms(0), "data": {"href": PAGE, "width": 1280, "height": 800}},
        {
            "type": 2,
            "timestamp": ms(0.01),
            "data": {"node": snapshot(third_party), "initialOffset": {"top": 0, "left": 0}},
        },
    ]
    moves = [
        {
            "type": 3,
            "timestamp": ms(s),
            "data": {"source": 1, "positions": [{"x": 40 * s, "y": 30 * s, "id": 6, "timeOffset": 0}]},
        }
        for s in range(1, int(END_S))
    ]
    clicks = [
        {"type": 3, "timestamp": ms(s), "data": {"source": 2, "type": 2, "id": 9, "x": 640, "y": 420}}
        for s in (PLAIN_CLICK_S, *RAGE_CLICKS_S, DEAD_CLICK_S)
    ]
    change = {
        "type": 3,
        "timestamp": ms(10.0),
        "data": {
            "source": 0,
            "texts": [],
            "attributes": [],
            "removes": [],
            # rrweb sends an added subtree node by node, each under its parent.
            "adds": [
                {"parentId": 6, "nextId": None, "node": _element(20, "p", [], id="added")},
                {"parentId": 20, "nextId": None, "node": _text(21, "****")},
            ],
        },
    }
    checkout = [
        {"type": 4, "timestamp": ms(20.0), "data": {"href": OTHER_PAGE, "width": 1280, "height": 800}},
        {
            "type": 2,
            "timestamp": ms(20.01),
            "data": {"node": snapshot(third_party), "initialOffset": {"top": 0, "left": 0}},
        },
    ]
    return sorted([*events, *moves, *clicks, change, *checkout], key=lambda event: event["timestamp"])


def store_recorded_session(
    engine: Engine, settings: Settings, third_party: str = "http://127.0.0.2:9"
) -> None:
    """The visit's web events and its recording (two chunks, as the recorder sends one per page)."""
    ingest_web_batch(engine, settings, web_events())
    events = recording_events(third_party)
    split = next(index for index, event in enumerate(events) if event["timestamp"] >= ms(20.0))
    for seq, (url, part) in enumerate([(PAGE, events[:split]), (OTHER_PAGE, events[split:])]):
        chunk = {"sessionId": SESSION, "visitorId": VISITOR, "url": url, "seq": seq, "events": part}
        store_chunk(engine, validate_chunk(chunk), max_bytes=settings.recording_max_mb * 1024 * 1024)
