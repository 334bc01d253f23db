"""Deterministic events shaped like ARCHITECTURE.md's benchmark data set (benchmarks, replica tests).

5,000 pages with Zipf-like popularity, 3 breakpoints, ~40 countries, 6 browsers, about 2 % of clicks in
rage bursts, about 8 % dead clicks, plus one or two scroll events per pageview, spread over ``days``
UTC days ending at ``end``. Sessions carry segments (CONTRACT 14) as a tracker would send them: a
campaign on about a quarter, a referrer on about 40 %, an A/B tag on a third, and clicks their element's
box. The same arguments always give the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

PAGES = 5_000
COUNTRIES = [
    "US",
    "GB",
    "DE",
    "FR",
    "CA",
    "AU",
    "NL",
    "SE",
    "ES",
    "IT",
    "BR",
    "MX",
    "IN",
    "JP",
    "KR",
    "PL",
    "CH",
    "AT",
    "BE",
    "DK",
    "NO",
    "FI",
    "IE",
    "PT",
    "CZ",
    "RO",
    "HU",
    "GR",
    "TR",
    "IL",
    "ZA",
    "AR",
    "CL",
    "CO",
    "NZ",
    "SG",
    "HK",
    "TW",
    "PH",
    "ID",
]
UTM_SOURCES = ["google", "newsletter", "facebook", "linkedin", "bing", "partner", "twitter", "reddit"]
UTM_MEDIUMS = ["cpc", "email", "social", "referral"]
REFERRERS = [f"www.site{n}.example" for n in range(30)]
REGIONS = ["North", "South", "East", "West", "Central"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"]
VIEWPORTS = [(390, 844), (414, 896), (820, 1180), (1280, 800), (1440, 900), (1920, 1080)]


def _segment(session: int) -> dict[str, Any]:
    """A session's segment fields, from a generator of its own so the events' other values stay those
    of earlier data sets (figures stay comparable)."""
    rng = random.Random(session * 7_919 + 1)
    fields: dict[str, Any] = {}
    if rng.random() < 0.25:
        fields["utmSource"] = rng.choice(UTM_SOURCES)
        fields["utmMedium"] = rng.choice(UTM_MEDIUMS)
        fields["utmCampaign"] = f"campaign-{rng.randrange(20)}"
    if rng.random() < 0.4:
        fields["referrerHost"] = rng.choice(REFERRERS)
    if rng.random() < 0.33:
        fields["tags"] = {"variant": rng.choice("AB"), "plan": rng.choice(["free", "pro"])}
    return fields


def _cumulative(weights: list[float]) -> list[float]:
    return list(accumulate(weights))


def generate(
    *, events: int, days: int = 90, seed: int = 42, end: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """About ``events`` WebEvent dicts (CONTRACT 3.1 shape), in session order."""
    rng = random.Random(seed)
    end = end or datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds() - 3600
    page_weights = _cumulative([1 / (rank + 1) ** 1.1 for rank in range(PAGES)])
    country_weights = _cumulative([1 / (rank + 1) for rank in range(len(COUNTRIES))])
    produced = 0
    session = 0
    while produced < events:
        session += 1
        sid, vid = f"s{seed}-{session}", f"v{seed}-{session // 3}"
        width, height = VIEWPORTS[rng.randrange(len(VIEWPORTS))]
        country = rng.choices(COUNTRIES, cum_weights=country_weights)[0]
        region = f"{country}-{REGIONS[rng.randrange(len(REGIONS))]}"
        browser = BROWSERS[min(int(rng.expovariate(0.9)), len(BROWSERS) - 1)]
        moment = start + timedelta(seconds=rng.random() * span)
        segment = _segment(session)
        for _ in range(1 + int(rng.expovariate(0.6))):
            page = rng.choices(range(PAGES), cum_weights=page_weights)[0]
            doc_height = 2000 + (page * 7919) % 7000
            common = {
                "sessionId": sid,
                "visitorId": vid,
                "url": f"https://bench.example.com/p/{page}",
                "viewportWidth": width,
                "viewportHeight": height,
                "documentWidth": width,
                "documentHeight": doc_height,
                "country": country,
                "region": region,
                "browserName": browser,
                **segment,
            }
            for _ in range(1 + int(rng.expovariate(0.35))):
                moment += timedelta(milliseconds=2000 + rng.random() * 8000)
                x, y = rng.random() * width, rng.random() * min(doc_height, height * 3)
                burst = 3 + rng.randrange(3) if rng.random() < 0.006 else 1
                dead = rng.random() < 0.08
                for step in range(burst):
                    produced += 1
                    yield {
                        **common,
                        "eventId": f"b{seed}-{produced}",
                        "type": "click",
                        "timestamp": (moment + timedelta(milliseconds=150 * step))
                        .isoformat()
                        .replace("+00:00", "Z"),
                        "x": round(min(width, x + step * 2), 1),
                        "y": round(min(doc_height, y + step), 1),
                        "dead": dead,
                        "selector": f"main > div:nth-of-type({1 + int(y) // 400}) > button",
                        "elementRect": {"x": 40, "y": int(y) // 400 * 400 + 16, "width": 240, "height": 48},
                    }
            produced += 1
            moment += timedelta(milliseconds=500)
            yield {
                **common,
                "eventId": f"b{seed}-{produced}",
                "type": "scroll",
                "timestamp": moment.isoformat().replace("+00:00", "Z"),
                "depth": round(min(100.0, height / doc_height * 100 + rng.random() * 80), 1),
            }
