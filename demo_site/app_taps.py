"""Taps in the demo app: users moving between its screens, tapping targets or scrolling, as touch events.

Events are plain dicts in the JSON shape of CONTRACT 5 (IngestTouchEvents) plus the ``userId`` they are
stored under, ready for the ingestion path.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from itertools import accumulate
from typing import Any

from demo_site.app_screens import SCREEN_SIZE, screen_layout
from demo_site.chance import Pool, point, weighted
from demo_site.layout import ROLES
from demo_site.timeline import stamped

_USERS = tuple(f"user-{n:03d}" for n in range(1, 31))
_USER_CUM = tuple(accumulate(1 / rank**0.9 for rank in range(1, len(_USERS) + 1)))
_CAMPAIGNS = (
    ("spring_sale", 20),
    ("push_winback", 12),
    ("email_weekly", 10),
    ("influencer_q2", 6),
    (None, 52),
)
_SCREEN_FLOW: dict[str, tuple[tuple[str | None, int], ...]] = {
    "home_feed": (("product_detail", 55), ("cart", 10), ("settings", 7), (None, 28)),
    "product_detail": (("cart", 35), ("home_feed", 35), (None, 30)),
    "cart": (("checkout", 50), ("home_feed", 20), (None, 30)),
    "checkout": (("home_feed", 15), (None, 85)),
    "settings": (("home_feed", 50), (None, 50)),
}
_SCROLL_SHARE = {"home_feed": 0.35, "product_detail": 0.25, "cart": 0.05, "checkout": 0.1, "settings": 0.1}


@cache
def _screen_pool(screen_name: str) -> Pool:
    return Pool.of([e for e in screen_layout(screen_name) if ROLES[e.role][0] in ("live", "dead")])


def _touch(rng: random.Random, screen: str) -> tuple[float, float, str]:
    """(x, y, eventType) of one touch on ``screen``, x and y as fractions of the screen in [0, 1]."""
    if rng.random() < _SCROLL_SHARE[screen]:
        x, y, kind = rng.gauss(0.55, 0.12), rng.uniform(0.25, 0.85), "SCROLL"
    else:
        element = _screen_pool(screen).pick(rng, SCREEN_SIZE[1])
        assert element is not None  # every screen has touch targets
        px, py = point(rng, element, SCREEN_SIZE[0])
        x, y = px / SCREEN_SIZE[0], py / SCREEN_SIZE[1]
        kind = "ACTION_CLICK" if element.role == "button" else "TAP"
    return round(min(1.0, max(0.0, x)), 4), round(min(1.0, max(0.0, y)), 4), kind


def _simulate_visit(rng: random.Random) -> list[dict[str, Any]]:
    user = _USERS[bisect_right(_USER_CUM, rng.random() * _USER_CUM[-1])]
    campaign = weighted(rng, _CAMPAIGNS)[0]
    screen: str | None = "home_feed"
    at, events = 0, []
    while screen is not None:
        for _ in range(rng.randint(1, 8)):
            x, y, kind = _touch(rng, screen)
            event: dict[str, Any] = {"eventId": None, "screenName": screen, "x": x, "y": y, "timestamp": at}
            if campaign:
                event["campaignId"] = campaign
            event |= {"eventType": kind, "userId": user}
            events.append(event)
            at += rng.randint(400, 6000)
        at += rng.randint(1000, 4000)
        screen = weighted(rng, _SCREEN_FLOW[screen])[0]
    return events


def _visits(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    while True:
        yield _simulate_visit(rng)


def generate_touch_events(*, events: int, days: int, seed: int, end: datetime) -> Iterator[dict[str, Any]]:
    """Yield exactly ``events`` touch events of the demo app (CONTRACT 5 IngestTouchEvents JSON + ``userId``).

    30 users (``user-001`` ...) with skewed activity, 5 screens, campaigns on about half of the visits
    (``campaignId`` absent otherwise), types TAP / SCROLL / ACTION_CLICK; ``x``, ``y`` in [0, 1]. Time
    placement, determinism and ids (``demo-{seed}-touch-{n}``) work as in
    :func:`demo_site.traffic.generate_web_events`.
    """
    rng = random.Random(f"heatmaps-demo-touch:{seed}")
    yield from stamped(_visits(rng), rng, events=events, days=days, end=end, id_prefix=f"demo-{seed}-touch-")
