"""Web traffic on the demo shop: sessions of pageviews with scrolls, clicks and rage bursts, as WebEvents.

Visitors arrive on pages by Zipf-like popularity, follow the shop's funnels (product, cart, checkout),
scroll a realistic depth and click what they can see, mostly on live elements, sometimes on dead-click
magnets or copy; a click on a broken element often starts a rage burst. Each session carries what the
tracker would send with it (CONTRACT 14): its landing URL's UTM parameters, the referrer's host and the
variant of an A/B test as a tag. Events are plain dicts in the JSON shape of CONTRACT 3.1, ready for the
ingestion path.
"""

from __future__ import annotations

import math
import random
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import accumulate
from operator import itemgetter
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from demo_site.audience import Visitor, new_visitor, random_id
from demo_site.catalog import DEMO_ORIGIN, PAGES, Page
from demo_site.chance import Pool, point
from demo_site.layout import ROLES, Element, PageLayout
from demo_site.pages import layout
from demo_site.timeline import stamped

_ZIPF_EXPONENT = 1.05

PAGES_PER_SESSION = (38, 22, 15, 11, 8, 6)  # weights for 1..6 pageviews
_RETURN_SHARE = 0.3
_DEAD_SHARE = 0.06  # of ordinary clicks: on dead-click magnets
_TEXT_SHARE = 0.03  # of ordinary clicks: on copy (text selection, not dead)
_BURST_SHARE = 0.45  # of clicks on a broken element: the start of a rage burst
_FUNNEL = {"product": ("/cart", 0.22), "cart": ("/checkout", 0.45), "pricing": ("/signup", 0.25)}
_UTM = (
    "utm_source=google&utm_medium=cpc&utm_campaign=spring_sale",
    "utm_source=newsletter&utm_medium=email&utm_campaign=trail_notes",
    "utm_source=instagram&utm_medium=social",
    "utm_source=facebook&utm_medium=paid_social&utm_campaign=retarget",
    "gclid=Cj0KCQjw",
)
_CAMPAIGN_REFERRERS = {
    "google": "www.google.com",
    "instagram": "l.instagram.com",
    "facebook": "m.facebook.com",
}
"""utm_source -> the host such a visit comes from (an email client sends no referrer)."""
_ORGANIC_REFERRERS = (
    (30, "www.google.com"),
    (34, "www.bing.com"),
    (37, "duckduckgo.com"),
    (40, "www.reddit.com"),
)
"""Cumulative share in % of the other sessions coming from each host; the rest type the address."""
_UTM_FIELDS = {"utm_source": "utmSource", "utm_medium": "utmMedium", "utm_campaign": "utmCampaign"}


@dataclass(frozen=True, slots=True)
class _PageTables:
    layout: PageLayout
    live: Pool
    dead: Pool
    text: Pool


@cache
def _tables(index: int, breakpoint: str) -> _PageTables:
    page = layout(index, breakpoint)
    pools: dict[str | None, list[Element]] = {"live": [], "dead": [], "text": []}
    for element in page.elements:
        pool = ROLES[element.role][0]
        if pool is not None:
            pools[pool].append(element)
    return _PageTables(page, Pool.of(pools["live"]), Pool.of(pools["dead"]), Pool.of(pools["text"]))


@cache
def _traffic_cum() -> tuple[float, ...]:
    return tuple(accumulate(1 / rank**_ZIPF_EXPONENT for rank in range(1, len(PAGES) + 1)))


_PATH_INDEX = {spec.path: index for index, spec in enumerate(PAGES)}


def _next_page(rng: random.Random, current: int) -> int:
    funnel = _FUNNEL.get(PAGES[current].kind)
    if funnel and rng.random() < funnel[1]:
        return _PATH_INDEX[funnel[0]]
    cum = _traffic_cum()
    return bisect_right(cum, rng.random() * cum[-1])


def _url(rng: random.Random, spec: Page, landing: bool) -> str:
    """An absolute URL of the page, with the variants real traffic has (all normalise to the pageKey)."""
    roll = rng.random()
    origin = (
        "https://Shop.Example.com"
        if roll < 0.01
        else "https://shop.example.com:443"
        if roll < 0.015
        else DEMO_ORIGIN
    )
    path = spec.path + "/" if spec.path != "/" and rng.random() < 0.05 else spec.path
    if landing and rng.random() < 0.3:
        path += "?" + rng.choice(_UTM)
    elif rng.random() < 0.03:
        path += "?ref=nav"
    if spec.kind in ("product", "docs") and rng.random() < 0.08:
        path += "#reviews" if spec.kind == "product" else "#section-2"
    return origin + path


def _reach_px(rng: random.Random, viewport_height: int, document_height: int) -> float:
    """Deepest document px seen: some never scroll, a few jump to the end, the rest decay with distance."""
    roll = rng.random()
    if roll < 0.16:
        return viewport_height
    if roll < 0.26:
        return document_height
    return min(document_height, viewport_height + rng.expovariate(1 / (1300 + 0.2 * document_height)))


def _segment(session_id: str, landing_url: str) -> dict[str, Any]:
    """What the tracker sends with every event of the session: the landing URL's UTM parameters, the
    referrer's host (the campaign's, a search engine's, or none), and the shop's A/B test variant.

    Drawn from a hash of the session id, never from the generator's random stream, so every other value
    of the demo is what it was before sessions had segments.
    """
    query = dict(parse_qsl(urlsplit(landing_url).query))
    segment: dict[str, Any] = {field: query[name] for name, field in _UTM_FIELDS.items() if name in query}
    roll = zlib.crc32(session_id.encode())
    source = query.get("utm_source") or ("google" if "gclid" in query else None)
    organic = next((host for share, host in _ORGANIC_REFERRERS if roll % 100 < share), None)
    referrer = _CAMPAIGN_REFERRERS.get(source) if source else organic
    if referrer:
        segment["referrerHost"] = referrer
    segment["tags"] = {"variant": "A" if roll >> 8 & 1 else "B"}
    return segment


def _box(element: Element, width: int) -> dict[str, int]:
    """The element's box as the tracker measures it (CONTRACT 15): document px, viewport px when fixed."""
    left, right = round(element.left * width), round(element.right * width)
    return {"x": left, "y": element.top, "width": right - left, "height": element.bottom - element.top}


class _Pageview:
    """Events of one pageview; timestamps are session-relative ms until the session is placed in time."""

    def __init__(
        self, visitor: Visitor, session_id: str, tables: _PageTables, url: str, segment: dict[str, Any]
    ) -> None:
        width, height = visitor.viewport
        self.tables = tables
        self.width = width
        self.viewport_height = height
        self.events: list[dict[str, Any]] = []
        self.head = {"sessionId": session_id, "visitorId": visitor.visitor_id, "url": url}
        self.size = {
            "viewportWidth": width,
            "viewportHeight": height,
            "documentWidth": width,
            "documentHeight": tables.layout.height,
        }
        self.tail: dict[str, Any] = {}
        if visitor.country:
            self.tail = {"country": visitor.country, "region": visitor.region}
        self.tail |= {"browserName": visitor.browser, "userAgent": visitor.user_agent, **segment}

    def click(self, at: int, element: Element, x: int, y: int, dead: bool) -> None:
        self.events.append(
            {
                "eventId": None,
                "type": "click",
                "timestamp": at,
                **self.head,
                **self.size,
                "x": x,
                "y": y,
                "selector": element.selector,
                "elementRect": _box(element, self.width),
                "dead": dead,
                "fixed": element.fixed,
                **self.tail,
            }
        )

    def scroll(self, at: int, depth: float) -> None:
        self.events.append(
            {
                "eventId": None,
                "type": "scroll",
                "timestamp": at,
                **self.head,
                **self.size,
                "depth": depth,
                **self.tail,
            }
        )


def _simulate_pageview(rng: random.Random, view: _Pageview, start: int) -> int:
    """Fills ``view`` with scroll and click events from ``start`` (ms); returns the pageview's end."""
    document_height = view.tables.layout.height
    reach = _reach_px(rng, view.viewport_height, document_height)
    dwell = min(600_000, 3000 + int(rng.lognormvariate(math.log(30_000), 0.8)))
    _add_scrolls(rng, view, start, dwell, reach, document_height)
    at = start + rng.randint(1500, 12_000)
    for _ in range(min(12, int(rng.expovariate(1 / 2.9)))):
        at = _add_click(rng, view, at, reach)
        at += 1200 + int(rng.lognormvariate(math.log(4000), 0.7))
    return max(at, start + dwell)


def _add_scrolls(
    rng: random.Random, view: _Pageview, start: int, dwell: int, reach: float, height: int
) -> None:
    fold = min(100.0, view.viewport_height * 100 / height)
    final = min(100.0, reach * 100 / height)
    steps = 1 if final - fold < 1 else rng.randint(1, 4)
    depths = sorted(rng.uniform(fold, final) for _ in range(steps - 1))
    times = sorted(start + rng.randint(300, dwell) for _ in range(steps))
    for at, depth in zip(times, [*depths, final], strict=True):
        view.scroll(at, round(depth, 1))


def _add_click(rng: random.Random, view: _Pageview, at: int, reach: float) -> int:
    """One click (or a rage burst on a broken element) at ``at``; returns the time of the last click."""
    tables, roll = view.tables, rng.random()
    element = None
    if roll < _DEAD_SHARE:
        element = tables.dead.pick(rng, reach)
    elif roll < _DEAD_SHARE + _TEXT_SHARE:
        element = tables.text.pick(rng, reach)
    element = element or tables.live.pick(rng, reach)
    if element is None:
        return at
    x, y = point(rng, element, view.width)
    dead = element.broken or ROLES[element.role][0] == "dead"
    view.click(at, element, x, y, dead)
    if element.broken and rng.random() < _BURST_SHARE:
        for _ in range(rng.randint(2, 6)):  # 3-7 clicks in all
            at += rng.randint(120, 650)
            bx = min(
                math.floor(element.right * view.width),
                max(math.ceil(element.left * view.width), x + rng.randint(-4, 4)),
            )
            by = min(element.bottom, max(element.top, y + rng.randint(-4, 4)))
            view.click(at, element, bx, by, True)
    return at


def _simulate_session(rng: random.Random, visitor: Visitor) -> list[dict[str, Any]]:
    session_id = random_id(rng)
    cum = _traffic_cum()
    page = bisect_right(cum, rng.random() * cum[-1])
    events: list[dict[str, Any]] = []
    at = 0
    segment: dict[str, Any] = {}
    for number in range(rng.choices(range(1, 7), weights=PAGES_PER_SESSION)[0]):
        spec = PAGES[page]
        url = _url(rng, spec, number == 0)
        if number == 0:  # the tracker takes the session's segment from its landing page
            segment = _segment(session_id, url)
        view = _Pageview(visitor, session_id, _tables(page, visitor.breakpoint), url, segment)
        at = _simulate_pageview(rng, view, at) + rng.randint(800, 6000)
        events.extend(sorted(view.events, key=itemgetter("timestamp")))
        page = _next_page(rng, page)
    return events


def _sessions(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """Sessions without end: a new visitor's, or (30 %) a returning one's."""
    visitors: list[Visitor] = []
    while True:
        if visitors and rng.random() < _RETURN_SHARE:
            visitor = visitors[rng.randrange(len(visitors))]
        else:
            visitor = new_visitor(rng)
            visitors.append(visitor)
        yield _simulate_session(rng, visitor)


def generate_web_events(*, events: int, days: int, seed: int, end: datetime) -> Iterator[dict[str, Any]]:
    """Yield exactly ``events`` WebEvent dicts (CONTRACT 3.1 JSON) for the demo site.

    Sessions are spread over the ``days`` UTC days ending at ``end`` (a naive ``end`` is taken as UTC),
    with weekly and daily seasonality; every timestamp is strictly before ``end``. The last session is
    cut short to hit the count exactly. Events come session by session, each session in time order,
    sessions in no time order. ``eventId`` is ``demo-{seed}-{n}`` (n = 0, 1, ...), so the same arguments
    give the same events and a smaller ``events`` gives a prefix of a larger one. About 2 s for
    200,000 events on one core.
    """
    rng = random.Random(f"heatmaps-demo-web:{seed}")
    yield from stamped(_sessions(rng), rng, events=events, days=days, end=end, id_prefix=f"demo-{seed}-")
