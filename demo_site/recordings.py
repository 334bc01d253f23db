"""Session recordings of the demo shop: rrweb events for a chosen set of demo sessions, made from their
web events and the pages' layouts, so the Session replay view has recordings to play.

Which sessions (:func:`choose_sessions`): on the most visited pages (those with screenshots), at every
breakpoint, the ones the summary's replay links point at (CONTRACT 2.7's ranking over the dashboard's
default window) and the first few behind each of the busiest hotspots (all clicks, rage and dead clicks,
ranked as the Heatmap view ranks them), plus a sample of every session. For the default demo (100,000
events) that is 333 of 8,613 sessions: 2,511 chunks, 23 MB of events, 3.3 MB stored compressed.

What a recording holds (:func:`session_events`), page by page as the recorder would send it: a Meta event
(type 4: href, viewport width and height) and a FullSnapshot (type 2) of the page as static HTML
(:mod:`demo_site.page_html`, text masked), then IncrementalSnapshot events (type 3) that replay the
session's web events at their timestamps: scrolls of the document (source 3) reaching each stored
scroll depth, and a scroll that brings each clicked point into view when the depths alone would not;
mouse moves (source 1) interpolated towards each click on desktops; the clicks (source 2: mouse down,
up and click on desktops, touch start, end and click on tablets and phones) at their x/y, on the
clicked element. Mouse positions are viewport (client) px, as rrweb records them.

Everything is deterministic: the same web events give the same recordings.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from heapq import nsmallest
from typing import Any

from data_layer.bins import COLUMNS, ROW_HEIGHT_PX
from data_layer.breakpoints import DESKTOP_MIN_PX, TABLET_MIN_PX, breakpoint_for
from data_layer.metrics import REPLAYS_PER_BREAKPOINT
from data_layer.rage import rage_flags_of_rows
from data_layer.urls import normalize_page_key
from demo_site.catalog import demo_page_keys
from demo_site.page_html import DOCUMENT_ID, PageHtml, page_html
from demo_site.renderer import SCREENSHOT_PAGES

WINDOW_DAYS = 30
"""The dashboard's default window (``dashboard.filters.DEFAULT_WINDOW_DAYS``): the 30 UTC days ending
at the newest day with data, over which its replay links and hotspots are ranked."""
RECORDED_PAGES = SCREENSHOT_PAGES
"""The most visited pages, whose replay links and hotspots get recordings."""
HOTSPOT_BINS = 2
"""Per page, breakpoint and layer (clicks, rage, dead): the busiest bins whose sessions are recorded."""
HOTSPOT_SESSIONS = 3
"""Per such bin: the first sessions the Heatmap view lists behind it."""
SAMPLE_PER_MILLE = 5
"""Any session is also recorded with this chance (by a hash of its id)."""
CHUNK_MS = 30_000
"""A page's events after its snapshot go in chunks of this span. The recorder cuts one every 5 s (and
right after a full snapshot, as here); 30 s makes a fifth of the rows to store for the same replay."""

META, FULL_SNAPSHOT, INCREMENTAL = 4, 2, 3
MOUSE_MOVE, MOUSE_INTERACTION, SCROLL = 1, 2, 3
MOUSE_UP, MOUSE_DOWN, CLICK, TOUCH_START, TOUCH_END = 0, 1, 2, 7, 9
POINTER_MOUSE, POINTER_TOUCH = 0, 2

_LEAD_MS = 1000  # a page's snapshot comes this long before its first web event
_SCROLL_SAMPLE_MS = 150  # the recorder's scroll sampling (tracker/record.js)
_MOVE_SAMPLE_MS = 50  # rrweb samples mouse positions every 50 ms ...
_MOVE_BATCH_MS = 500  # ... and emits them every 500 ms
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class WebEvent:
    """A stored web event, as much of it as choosing and recording sessions needs.

    ``at`` is ms since 1970 UTC; ``x``/``y`` document px (viewport px when ``fixed``); ``seq`` orders
    events of the same ms. ``url`` is the page's URL as visited (its pageKey when only that is known).
    """

    seq: int
    session_id: str
    visitor_id: str
    kind: str
    at: int
    url: str
    page_key: str
    breakpoint: str
    viewport_width: int
    viewport_height: int
    document_width: int
    x: float | None
    y: float | None
    selector: str | None
    depth: float | None
    fixed: bool
    dead: bool
    rage_start: bool


def web_events_of(
    events: Iterable[Mapping[str, Any]],
    *,
    tablet_min_px: int = TABLET_MIN_PX,
    desktop_min_px: int = DESKTOP_MIN_PX,
    rage: Mapping[str, Any] | None = None,
) -> list[WebEvent]:
    """The demo generator's WebEvent dicts (CONTRACT 3.1 JSON) as ingestion would store them: pageKey
    and breakpoint derived, rage starts flagged by the rule (``rage``: its thresholds, defaults if None).
    """
    rows: list[WebEvent] = []
    for seq, event in enumerate(events, start=1):
        at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        rows.append(
            WebEvent(
                seq=seq,
                session_id=event["sessionId"],
                visitor_id=event["visitorId"],
                kind=event["type"],
                at=(at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1),
                url=event["url"],
                page_key=normalize_page_key(event["url"]),
                breakpoint=breakpoint_for(
                    event["viewportWidth"], tablet_min_px=tablet_min_px, desktop_min_px=desktop_min_px
                ),
                viewport_width=event["viewportWidth"],
                viewport_height=event["viewportHeight"],
                document_width=event["documentWidth"],
                x=event.get("x"),
                y=event.get("y"),
                selector=event.get("selector"),
                depth=event.get("depth"),
                fixed=bool(event.get("fixed")),
                dead=bool(event.get("dead")),
                rage_start=False,
            )
        )
    clicks = [row for row in rows if row.kind == "click"]
    flags = rage_flags_of_rows(
        [
            (row.seq, _EPOCH + timedelta(milliseconds=row.at), row.session_id, row.page_key, *_place(row))
            for row in clicks
        ],
        **(rage or {}),
    )
    starts = {row.seq for row, (_, start) in zip(clicks, flags, strict=True) if start}
    return [replace(row, rage_start=True) if row.seq in starts else row for row in rows]


# -- which sessions --------------------------------------------------------------------------------------


def _place(row: WebEvent) -> tuple[str, float | None, float | None]:
    return row.breakpoint, row.x, row.y


def _rank(clicks: Sequence[WebEvent], last_of: Mapping[str, int] | None = None) -> list[str]:
    """Session ids in the replay order (CONTRACT 2.7) over ``clicks``: rage events, dead clicks, clicks,
    the latest event (all descending: ``last_of[session]`` when given, which counts scrolls too, else the
    latest click), then the id."""
    keys: dict[str, list[int]] = {}
    for event in clicks:
        key = keys.setdefault(event.session_id, [0, 0, 0, 0])
        key[0] -= event.rage_start
        key[1] -= event.dead
        key[2] -= 1
        key[3] = min(key[3], -event.at)
    if last_of is not None:
        for session_id, key in keys.items():
            key[3] = -last_of[session_id]
    return sorted(keys, key=lambda session_id: (*keys[session_id], session_id))


def _bin(event: WebEvent) -> tuple[int, int]:
    x_percent = min(max(event.x or 0.0, 0.0) * COLUMNS / event.document_width, COLUMNS)
    return min(math.floor(x_percent), COLUMNS - 1), math.floor((event.y or 0.0) / ROW_HEIGHT_PX)


def _hotspot_sessions(clicks: Sequence[WebEvent]) -> set[str]:
    """The first sessions behind the busiest bins of each layer (all clicks, rage starts, dead clicks)."""
    chosen: set[str] = set()
    for layer in (clicks, [c for c in clicks if c.rage_start], [c for c in clicks if c.dead]):
        per_bin: dict[tuple[int, int], list[WebEvent]] = defaultdict(list)
        for click in layer:
            per_bin[_bin(click)].append(click)
        busiest = nsmallest(HOTSPOT_BINS, per_bin, key=lambda b: (-len(per_bin[b]), b[1], b[0]))
        for bin_ in busiest:  # the Heatmap view ranks a bin's sessions by the layer's clicks in it
            chosen.update(_rank(per_bin[bin_])[:HOTSPOT_SESSIONS])
    return chosen


def _sampled(session_id: str) -> bool:
    return zlib.crc32(session_id.encode()) % 1000 < SAMPLE_PER_MILLE


def choose_sessions(events: Sequence[WebEvent], *, pages: Sequence[str] | None = None) -> set[str]:
    """The sessions to record: per page of ``pages`` (default: the demo's most visited) and breakpoint,
    those its replay links point at and those first behind its busiest hotspots, over the dashboard's
    default window (the :data:`WINDOW_DAYS` UTC days ending at the newest event's), plus a sample."""
    if not events:
        return set()
    wanted = set(pages if pages is not None else demo_page_keys()[:RECORDED_PAGES])
    newest_day = max(event.at for event in events) // 86_400_000
    first_ms = (newest_day - WINDOW_DAYS + 1) * 86_400_000
    per_page: dict[tuple[str, str], list[WebEvent]] = defaultdict(list)
    for event in events:
        if event.page_key in wanted and event.at >= first_ms:
            per_page[event.page_key, event.breakpoint].append(event)
    chosen = {event.session_id for event in events if _sampled(event.session_id)}
    for page_events in per_page.values():
        last_of: dict[str, int] = {}
        for event in page_events:
            last_of[event.session_id] = max(last_of.get(event.session_id, 0), event.at)
        clicks = [event for event in page_events if event.kind == "click"]
        # Sessions that only scrolled rank after every session with a click (fewer clicks).
        ranked = _rank(clicks, last_of) + sorted(
            set(last_of) - {c.session_id for c in clicks}, key=lambda s: (-last_of[s], s)
        )
        chosen.update(ranked[:REPLAYS_PER_BREAKPOINT])
        chosen.update(_hotspot_sessions(clicks))
    return chosen


# -- what a recording holds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRecording:
    """A session's rrweb events, and the chunks the recorder would have uploaded them in."""

    session_id: str
    visitor_id: str
    events: list[dict[str, Any]]

    def chunks(self, chunk_ms: int = CHUNK_MS) -> list[dict[str, Any]]:
        """Upload bodies (CONTRACT 13: sessionId, visitorId, url, seq, events) numbered from 0 across the
        session's pages: a page's Meta and FullSnapshot alone, then its other events ``chunk_ms`` at a
        time (the recorder sends every 5,000)."""
        bodies: list[dict[str, Any]] = []
        url, current = "", []
        for event in self.events:
            cut = current and (
                event["type"] == META or event["timestamp"] - current[0]["timestamp"] >= chunk_ms
            )
            if cut:
                bodies.append(self._body(len(bodies), url, current))
                current = []
            if event["type"] == META:
                url = event["data"]["href"]
            current.append(event)
            if event["type"] == FULL_SNAPSHOT:
                bodies.append(self._body(len(bodies), url, current))
                current = []
        if current:
            bodies.append(self._body(len(bodies), url, current))
        return bodies

    def _body(self, seq: int, url: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "visitorId": self.visitor_id,
            "url": url,
            "seq": seq,
            "events": events,
        }


def demo_recordings(
    events: Sequence[WebEvent], *, pages: Sequence[str] | None = None
) -> Iterator[DemoRecording]:
    """The recordings of the chosen sessions (:func:`choose_sessions`) among ``events``, by session id."""
    chosen = choose_sessions(events, pages=pages)
    per_session: dict[str, list[WebEvent]] = defaultdict(list)
    for event in events:
        if event.session_id in chosen:
            per_session[event.session_id].append(event)
    for session_id in sorted(per_session):
        visits = sorted(per_session[session_id], key=lambda event: (event.at, event.seq))
        recorded = session_events(visits)
        if recorded:
            yield DemoRecording(session_id, visits[0].visitor_id, recorded)


def session_events(events: Sequence[WebEvent]) -> list[dict[str, Any]]:
    """rrweb events replaying one session's web events (in time order); pages the demo has not are left
    out. Timestamps never decrease; each page starts with its Meta and FullSnapshot."""
    if not events:
        return []
    rng = random.Random(f"heatmaps-demo-recording:{events[0].session_id}")
    out: list[dict[str, Any]] = []
    pointer: tuple[float, float] | None = None
    for page_events in _pageviews(events):
        first = page_events[0]
        html = page_html(first.page_key, first.breakpoint)
        if html is None:
            continue
        start = first.at - _LEAD_MS if not out else max(first.at - _LEAD_MS, out[-1]["timestamp"])
        player = _Pageview(html, first, start, rng, pointer)
        out += player.replay(page_events)
        pointer = player.pointer
    return out


def _pageviews(events: Sequence[WebEvent]) -> Iterator[list[WebEvent]]:
    """Runs of consecutive events on one page (URL and breakpoint)."""
    run: list[WebEvent] = []
    for event in events:
        if run and (event.url, event.breakpoint) != (run[0].url, run[0].breakpoint):
            yield run
            run = []
        run.append(event)
    if run:
        yield run


class _Pageview:
    """The rrweb events of one pageview, from its snapshot at ``start`` on: the document's scroll position
    and the pointer (client px) move as the visitor's scrolls and clicks need."""

    def __init__(
        self,
        html: PageHtml,
        first: WebEvent,
        start: int,
        rng: random.Random,
        pointer: tuple[float, float] | None,
    ) -> None:
        self.html = html
        self.width, self.height = first.viewport_width, first.viewport_height
        self.touch = first.breakpoint != "desktop"
        self.rng = rng
        self.now = start
        self.scroll_y = 0
        self.max_scroll = max(0, html.layout.height - self.height)
        self.pointer = pointer or (rng.uniform(0.3, 0.7) * self.width, rng.uniform(0.3, 0.7) * self.height)
        self.by_selector = {element.selector: i for i, element in enumerate(html.layout.elements)}
        self.events: list[dict[str, Any]] = [
            {
                "type": META,
                "data": {"href": first.url, "width": self.width, "height": self.height},
                "timestamp": start,
            },
            {
                "type": FULL_SNAPSHOT,
                "data": {"node": html.node, "initialOffset": {"left": 0, "top": 0}},
                "timestamp": start,
            },
        ]

    def replay(self, events: Sequence[WebEvent]) -> list[dict[str, Any]]:
        for event in events:
            if event.kind == "scroll" and event.depth is not None:
                self.scroll_to(self._depth_scroll(event.depth), event.at)
            elif event.kind == "click" and event.x is not None and event.y is not None:
                self.click(event)
        return self.events

    def _emit(self, at: int, data: dict[str, Any]) -> None:
        self.now = max(self.now, at)
        self.events.append({"type": INCREMENTAL, "data": data, "timestamp": self.now})

    def _depth_scroll(self, depth: float) -> int:
        """The scroll position whose viewport bottom is at ``depth`` % of the document."""
        return min(self.max_scroll, max(0, round(depth / 100 * self.html.layout.height) - self.height))

    def scroll_to(self, target: int, end: int) -> None:
        """Scroll events (every 150 ms, as sampled) easing from the current position to ``target``, the
        last one at ``end`` (sooner ones squeezed after the last event when there is no room)."""
        if target == self.scroll_y:
            return
        steps = min(10, max(1, math.ceil(abs(target - self.scroll_y) / 250)))
        gap = min(_SCROLL_SAMPLE_MS, max(0, end - self.now) // steps)
        origin = self.scroll_y
        for step in range(1, steps + 1):
            share = _ease(step / steps)
            self.scroll_y = round(origin + (target - origin) * share)
            self._emit(
                end - (steps - step) * gap, {"source": SCROLL, "id": DOCUMENT_ID, "x": 0, "y": self.scroll_y}
            )

    def click(self, event: WebEvent) -> None:
        assert event.x is not None and event.y is not None
        index = self.by_selector.get(event.selector or "")
        if not event.fixed and not self.scroll_y <= event.y < self.scroll_y + self.height:
            target = min(self.max_scroll, max(0, round(event.y - self.height * 0.4)))
            # Done a moment before the click, or (a click right after a scroll) between the two.
            self.scroll_to(
                target, event.at - 250 if event.at - 250 > self.now else max(self.now, event.at - 1)
            )
        client = (event.x, event.y if event.fixed else event.y - self.scroll_y)
        node_id = self.html.element_ids[index] if index is not None else self._node_at(*client)
        if self.touch:
            self._interaction(
                TOUCH_START, node_id, client, max(self.now, event.at - self.rng.randint(60, 140))
            )
            self._interaction(TOUCH_END, node_id, client, event.at)
            self._interaction(CLICK, node_id, client, event.at, POINTER_TOUCH)
        else:
            self._move(client, event.at - 90)
            self._interaction(
                MOUSE_DOWN, node_id, client, max(self.now, event.at - self.rng.randint(60, 120))
            )
            self._interaction(MOUSE_UP, node_id, client, event.at)
            self._interaction(CLICK, node_id, client, event.at, POINTER_MOUSE)
        self.pointer = client

    def _interaction(
        self, kind: int, node_id: int, at_point: tuple[float, float], at: int, pointer: int | None = None
    ) -> None:
        data = {"source": MOUSE_INTERACTION, "type": kind, "id": node_id, "x": at_point[0], "y": at_point[1]}
        self._emit(at, data if pointer is None else data | {"pointerType": pointer})

    def _move(self, target: tuple[float, float], end: int) -> None:
        """Mouse positions every 50 ms along a slightly curved path from the pointer to ``target``, ending
        by ``end``, emitted in batches of 500 ms as rrweb does (``timeOffset`` ≤ 0 from the batch's time)."""
        (x0, y0), (x1, y1) = self.pointer, target
        distance = math.hypot(x1 - x0, y1 - y0)
        duration = min(end - self.now - 1, round(min(1200, 250 + distance * 0.6)))
        count = duration // _MOVE_SAMPLE_MS
        if count < 1 or distance < 1:
            return
        bend = self.rng.uniform(-0.15, 0.15) * distance
        normal = ((y0 - y1) / distance, (x1 - x0) / distance)
        positions: list[tuple[int, float, float]] = []
        for step in range(1, count + 1):
            share = step / count
            eased, arc = _ease(share), math.sin(math.pi * share) * bend
            x = x0 + (x1 - x0) * eased + normal[0] * arc
            y = y0 + (y1 - y0) * eased + normal[1] * arc
            x, y = min(self.width - 1, max(0, round(x))), min(self.height - 1, max(0, round(y)))
            positions.append((end - (count - step) * _MOVE_SAMPLE_MS, x, y))
        per_batch = _MOVE_BATCH_MS // _MOVE_SAMPLE_MS
        for first in range(0, len(positions), per_batch):
            batch = positions[first : first + per_batch]
            sent = batch[-1][0]
            moves = [
                {"x": x, "y": y, "id": self._node_at(x, y), "timeOffset": at - sent} for at, x, y in batch
            ]
            self._emit(sent, {"source": MOUSE_MOVE, "positions": moves})

    def _node_at(self, x: float, y: float) -> int:
        """The node id of the topmost element under the client point (fixed elements first), else body's."""
        fixed, bands = _hit_index(self.html.layout.page_key, self.html.layout.breakpoint, self.width)
        row = y + self.scroll_y
        for boxes, at_y in ((fixed, y), (bands.get(int(row) // _BAND_PX, ()), row)):
            for left, right, top, bottom, node_id in boxes:
                if left <= x <= right and top <= at_y <= bottom:
                    return node_id
        return self.html.body_id


_Box = tuple[float, float, int, int, int]  # left, right (px), top, bottom, node id
_BAND_PX = 128


@cache
def _hit_index(
    page_key: str, breakpoint: str, width: int
) -> tuple[tuple[_Box, ...], dict[int, tuple[_Box, ...]]]:
    """A page's element boxes at a viewport width, topmost first: the fixed ones, and the others by the
    128 px bands of the document they reach into (a pointer's element is found among a few)."""
    html = page_html(page_key, breakpoint)
    assert html is not None
    fixed: list[_Box] = []
    bands: dict[int, list[_Box]] = defaultdict(list)
    for element, node_id in zip(reversed(html.layout.elements), reversed(html.element_ids), strict=True):
        box = (element.left * width, element.right * width, element.top, element.bottom, node_id)
        if element.fixed:
            fixed.append(box)
        else:
            for band in range(element.top // _BAND_PX, element.bottom // _BAND_PX + 1):
                bands[band].append(box)
    return tuple(fixed), {band: tuple(boxes) for band, boxes in bands.items()}


def _ease(share: float) -> float:
    """Ease in and out: slow at both ends, as a hand moves."""
    return share * share * (3 - 2 * share)
