"""The demo generators: determinism, contract-valid events, realistic shape, screenshots that line up."""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from data_layer.breakpoints import NAMES as BREAKPOINTS
from data_layer.breakpoints import NOMINAL_WIDTH_PX
from data_layer.event_models import TouchEventIn, WebEventIn, validate_batch
from data_layer.urls import normalize_page_key
from demo_site.app_screens import SCREEN_NAMES, SCREEN_SIZE, screen_layout
from demo_site.app_taps import generate_touch_events
from demo_site.catalog import DEMO_ORIGIN, demo_page_keys
from demo_site.layout import ROLES
from demo_site.pages import page_layout
from demo_site.renderer import (
    demo_page_screenshots,
    demo_screen_screenshots,
    render_page_screenshot,
    render_screen_screenshot,
)
from demo_site.traffic import generate_web_events

END = datetime(2026, 4, 15, 10, 30, 15, tzinfo=UTC)
DAYS = 14
WINDOW_START = datetime(2026, 4, 2, tzinfo=UTC)  # 14 UTC days: 2026-04-02 .. 2026-04-15
WEB_EVENTS = 30_000
TOUCH_EVENTS = 5_000
BROKEN_SELECTORS = {"#product-gallery > button.carousel-next", "#apply-coupon", "#billing-toggle"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
WEB_KEYS = {
    *("eventId", "type", "timestamp", "sessionId", "visitorId", "url"),
    *("viewportWidth", "viewportHeight", "documentWidth", "documentHeight"),
    *("x", "y", "selector", "dead", "fixed", "depth", "country", "region", "browserName", "userAgent"),
    *("utmSource", "utmMedium", "utmCampaign", "referrerHost", "tags"),
    "elementRect",
}
TOUCH_KEYS = {"eventId", "screenName", "x", "y", "timestamp", "campaignId", "eventType", "userId"}
USERS = {f"user-{n:03d}" for n in range(1, 31)}
KEYS = set(demo_page_keys())
DEMO_HOME = "https://shop.example.com/"


@pytest.fixture(scope="module")
def web() -> list[dict[str, Any]]:
    return list(generate_web_events(events=WEB_EVENTS, days=DAYS, seed=11, end=END))


@pytest.fixture(scope="module")
def clicks(web: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event for event in web if event["type"] == "click"]


@pytest.fixture(scope="module")
def touches() -> list[dict[str, Any]]:
    return list(generate_touch_events(events=TOUCH_EVENTS, days=DAYS, seed=11, end=END))


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _breakpoint(width: int) -> str:
    return "mobile" if width < 768 else "tablet" if width < 1024 else "desktop"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _web_problems(event: dict[str, Any]) -> list[str]:
    """Every CONTRACT 3.1 rule the event breaks (written from the contract, not from the generator)."""
    problems = [f"unknown field {key}" for key in event.keys() - WEB_KEYS]
    text_rules = {"sessionId": 128, "visitorId": 128, "region": 100, "browserName": 64, "userAgent": 1024}
    for field, longest in text_rules.items():
        if field in event and not (isinstance(event[field], str) and 1 <= len(event[field]) <= longest):
            problems.append(field)
    if not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", event["eventId"]):
        problems.append("eventId")
    if event["type"] not in ("click", "scroll"):
        problems.append("type")
    if not RFC3339.match(event["timestamp"]) or not WINDOW_START <= _parse(event["timestamp"]) < END:
        problems.append("timestamp")
    url = event["url"]
    if not url.startswith(("https://", "http://")) or len(url) > 2048 or normalize_page_key(url) not in KEYS:
        problems.append("url")
    for field, highest in (
        ("viewportWidth", 20_000),
        ("viewportHeight", 20_000),
        ("documentHeight", 1_000_000),
    ):
        if not (type(event[field]) is int and 1 <= event[field] <= highest):
            problems.append(field)
    if event["documentWidth"] != event["viewportWidth"]:
        problems.append("documentWidth")
    if "country" in event and not re.fullmatch(r"[A-Z]{2}", event["country"]):
        problems.append("country")
    if event["type"] == "click":
        if not (_is_number(event["x"]) and 0 <= event["x"] <= event["documentWidth"]):
            problems.append("x")
        if not (_is_number(event["y"]) and 0 <= event["y"] <= event["documentHeight"]):
            problems.append("y")
        if not (isinstance(event["selector"], str) and 1 <= len(event["selector"]) <= 512):
            problems.append("selector")
        if type(event["dead"]) is not bool or type(event["fixed"]) is not bool or "depth" in event:
            problems.append("dead/fixed/depth")
    elif not (_is_number(event["depth"]) and 0 <= event["depth"] <= 100) or "x" in event or "y" in event:
        problems.append("depth")
    return problems


# ---- determinism and counts ------------------------------------------------------------------------


def test_same_arguments_give_the_same_events_and_fewer_events_a_prefix() -> None:
    first = list(generate_web_events(events=3000, days=DAYS, seed=5, end=END))
    again = list(generate_web_events(events=3000, days=DAYS, seed=5, end=END))
    fewer = list(generate_web_events(events=1000, days=DAYS, seed=5, end=END))
    other_seed = list(generate_web_events(events=1000, days=DAYS, seed=6, end=END))
    assert first == again
    assert fewer == first[:1000]
    assert other_seed[0]["sessionId"] != first[0]["sessionId"]
    assert [event["eventId"] for event in first[:3]] == ["demo-5-0", "demo-5-1", "demo-5-2"]


def test_touch_events_are_deterministic_with_their_own_ids() -> None:
    first = list(generate_touch_events(events=500, days=DAYS, seed=5, end=END))
    assert first == list(generate_touch_events(events=500, days=DAYS, seed=5, end=END))
    assert [event["eventId"] for event in first[:2]] == ["demo-5-touch-0", "demo-5-touch-1"]


@pytest.mark.parametrize("count", [0, 1, 7, 501, 4999])
def test_the_exact_number_of_events_is_generated(count: int) -> None:
    assert sum(1 for _ in generate_web_events(events=count, days=3, seed=1, end=END)) == count
    assert sum(1 for _ in generate_touch_events(events=count, days=3, seed=1, end=END)) == count


def test_event_ids_are_unique(web: list[dict[str, Any]], touches: list[dict[str, Any]]) -> None:
    assert len({event["eventId"] for event in web}) == WEB_EVENTS
    assert len({event["eventId"] for event in touches}) == TOUCH_EVENTS


@pytest.mark.parametrize("kwargs", [{"events": -1, "days": 3}, {"events": 10, "days": 0}])
def test_bad_arguments_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        next(generate_web_events(seed=1, end=END, **kwargs))


# ---- contract validity ---------------------------------------------------------------------------------


def test_every_web_event_satisfies_the_contract(web: list[dict[str, Any]]) -> None:
    problems = {event["eventId"]: found for event in web if (found := _web_problems(event))}
    assert problems == {}


def test_the_ingestion_validator_accepts_every_batch(
    web: list[dict[str, Any]], touches: list[dict[str, Any]]
) -> None:
    for start in range(0, len(web), 500):
        validate_batch(web[start : start + 500], WebEventIn)
    for start in range(0, len(touches), 500):
        validate_batch(touches[start : start + 500], TouchEventIn)


def test_a_short_last_day_keeps_every_timestamp_before_end() -> None:
    end = datetime(2026, 4, 15, 0, 0, 30, tzinfo=UTC)  # only 30 s of the last day exist
    events = list(generate_web_events(events=2000, days=1, seed=2, end=end))
    assert max(_parse(event["timestamp"]) for event in events) < end


def test_a_naive_end_is_utc() -> None:
    naive = list(generate_web_events(events=200, days=2, seed=2, end=END.replace(tzinfo=None)))
    assert naive == list(generate_web_events(events=200, days=2, seed=2, end=END))


def test_events_cover_every_day_with_quieter_weekends(web: list[dict[str, Any]]) -> None:
    per_day = Counter(event["timestamp"][:10] for event in web)
    assert sorted(per_day) == [(WINDOW_START + timedelta(days=n)).date().isoformat() for n in range(DAYS)]
    full_days = [datetime.fromisoformat(day) for day in sorted(per_day)[:-1]]  # the last day is partial
    weekend = [per_day[day.date().isoformat()] for day in full_days if day.weekday() >= 5]
    weekday = [per_day[day.date().isoformat()] for day in full_days if day.weekday() < 5]
    assert statistics.mean(weekend) < 0.9 * statistics.mean(weekday)


def test_sessions_are_in_time_order_and_keep_one_visitor_and_device(web: list[dict[str, Any]]) -> None:
    sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in web:
        sessions[event["sessionId"]].append(event)
    for events in sessions.values():
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        assert (
            len({(e["visitorId"], e["viewportWidth"], e["viewportHeight"], e["browserName"]) for e in events})
            == 1
        )
    per_visitor = Counter(events[0]["visitorId"] for events in sessions.values())
    assert sum(1 for count in per_visitor.values() if count >= 2) >= 0.1 * len(per_visitor)


# ---- realistic shape -----------------------------------------------------------------------------------


def test_device_mix_is_about_half_desktop_forty_percent_mobile(web: list[dict[str, Any]]) -> None:
    per_session = {event["sessionId"]: _breakpoint(event["viewportWidth"]) for event in web}
    shares = Counter(per_session.values())
    total = len(per_session)
    assert abs(shares["desktop"] / total - 0.5) < 0.05
    assert abs(shares["mobile"] / total - 0.4) < 0.05
    assert abs(shares["tablet"] / total - 0.1) < 0.04


def test_geography_and_browsers(web: list[dict[str, Any]]) -> None:
    countries = Counter(event.get("country") for event in web)
    assert countries.most_common(1)[0][0] == "US"
    assert len(countries.keys() - {None}) == 15
    assert all(("country" in event) == ("region" in event) for event in web)
    browsers = {"Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Mobile Safari"}
    assert {event["browserName"] for event in web} == browsers


def test_traffic_is_skewed_towards_the_home_page(web: list[dict[str, Any]]) -> None:
    visits = Counter(key for _, key in {(e["sessionId"], normalize_page_key(e["url"])) for e in web})
    assert set(visits) == KEYS
    top_page, top_sessions = visits.most_common(1)[0]
    assert top_page == DEMO_HOME
    assert top_sessions > 8 * statistics.median(visits.values())


def test_sessions_carry_their_landing_campaign_a_referrer_host_and_a_variant(
    web: list[dict[str, Any]],
) -> None:
    """What the tracker would send (CONTRACT 14): one segment per session, taken from its landing URL."""
    fields = ("utmSource", "utmMedium", "utmCampaign", "referrerHost")
    landing: dict[str, dict[str, Any]] = {}
    for event in web:  # session by session, each in time order: its landing page first
        segment = {field: event.get(field) for field in fields} | {"tags": event["tags"]}
        first = landing.setdefault(event["sessionId"], {"url": event["url"], **segment})
        assert {key: first[key] for key in segment} == segment, event["sessionId"]
    for session in landing.values():
        query = parse_qs(urlsplit(session["url"]).query)
        assert session["utmSource"] == query.get("utm_source", [None])[0]
        assert session["utmCampaign"] == query.get("utm_campaign", [None])[0]
        if session["utmSource"] == "newsletter":
            assert session["referrerHost"] is None  # an email client sends no referrer
        assert "/" not in (session["referrerHost"] or "")
    campaigns = Counter(session["utmSource"] for session in landing.values())
    assert {"google", "newsletter", "instagram", "facebook"} < campaigns.keys()
    assert 0.1 < 1 - campaigns[None] / len(landing) < 0.4
    referred = sum(session["referrerHost"] is not None for session in landing.values()) / len(landing)
    assert 0.4 < referred < 0.7
    variants = Counter(session["tags"]["variant"] for session in landing.values())
    assert variants.keys() == {"A", "B"} and abs(variants["A"] - variants["B"]) < 0.1 * len(landing)


def test_urls_show_off_normalisation(web: list[dict[str, Any]]) -> None:
    urls = [event["url"] for event in web]
    assert any("?utm_source=" in url for url in urls)
    assert any("#" in url for url in urls)
    assert any(url.endswith("/") and normalize_page_key(url) != DEMO_HOME for url in urls)
    assert any(url.startswith("https://Shop.Example.com/") for url in urls)
    assert all(normalize_page_key(url) in KEYS for url in urls)


def _rage_runs(clicks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """CONTRACT 2.2: maximal runs of 3+ clicks, each < 1000 ms and < 30 px (Manhattan) after the last."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in clicks:
        groups[
            (event["sessionId"], normalize_page_key(event["url"]), _breakpoint(event["viewportWidth"]))
        ].append(event)
    runs = []
    for events in groups.values():
        events.sort(key=lambda event: _parse(event["timestamp"]))  # stable: ties keep arrival order
        run = [events[0]]
        for before, after in pairwise(events):
            gap = _parse(after["timestamp"]) - _parse(before["timestamp"])
            distance = abs(after["x"] - before["x"]) + abs(after["y"] - before["y"])
            if gap < timedelta(milliseconds=1000) and distance < 30:
                run.append(after)
            else:
                runs.append(run)
                run = [after]
        runs.append(run)
    return [run for run in runs if len(run) >= 3]


def test_rage_bursts_are_about_two_percent_of_clicks_on_broken_elements(clicks: list[dict[str, Any]]) -> None:
    runs = _rage_runs(clicks)
    share = sum(len(run) for run in runs) / len(clicks)
    assert 0.01 <= share <= 0.04
    assert {len(run) for run in runs} <= set(range(3, 8))
    assert {event["selector"] for run in runs for event in run} == BROKEN_SELECTORS
    assert all(event["dead"] for run in runs for event in run)


def test_the_pricing_toggle_is_broken_on_phones_only(clicks: list[dict[str, Any]]) -> None:
    toggle = [event for event in clicks if event["selector"] == "#billing-toggle"]
    dead_by_breakpoint = {_breakpoint(e["viewportWidth"]) for e in toggle if e["dead"]}
    live_by_breakpoint = {_breakpoint(e["viewportWidth"]) for e in toggle if not e["dead"]}
    assert dead_by_breakpoint == {"mobile"}
    assert live_by_breakpoint == {"desktop", "tablet"}


def test_dead_clicks_are_five_to_twelve_percent(clicks: list[dict[str, Any]]) -> None:
    dead = [event for event in clicks if event["dead"]]
    assert 0.05 <= len(dead) / len(clicks) <= 0.12
    selectors = Counter(event["selector"] for event in dead)
    assert any("img" in selector for selector in selectors)
    assert any("h1" in selector for selector in selectors)


def test_every_click_lands_inside_its_element(clicks: list[dict[str, Any]]) -> None:
    """The selector names an element of the page's layout; the point is inside it and its reported box;
    dead and fixed agree."""
    misplaced = []
    for event in clicks:
        layout = page_layout(event["url"], _breakpoint(event["viewportWidth"]))
        assert layout is not None
        element = next(e for e in layout.elements if e.selector == event["selector"])
        width = event["documentWidth"]
        inside = element.left * width <= event["x"] <= element.right * width
        inside = inside and element.top <= event["y"] <= element.bottom
        box = event["elementRect"]  # the element's box, rounded to whole px
        inside = inside and box["x"] - 1 <= event["x"] <= box["x"] + box["width"] + 1
        inside = inside and box["y"] == element.top and box["y"] + box["height"] == element.bottom
        expected_dead = element.broken or ROLES[element.role][0] == "dead"
        if not inside or event["dead"] != expected_dead or event["fixed"] != element.fixed:
            misplaced.append(event["eventId"])
    assert misplaced == []


def test_sticky_header_clicks_are_fixed_with_viewport_y(clicks: list[dict[str, Any]]) -> None:
    fixed = [event for event in clicks if event["fixed"]]
    assert 0.05 < len(fixed) / len(clicks) < 0.3
    assert max(event["y"] for event in fixed) <= 72  # the tallest header (desktop)
    assert all(
        event["selector"].startswith(("#site-header", "nav.top-nav", "#site-search")) for event in fixed
    )


def test_ordinary_clicks_are_seconds_apart(clicks: list[dict[str, Any]]) -> None:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in clicks:
        by_session[event["sessionId"]].append(event)
    gaps = []
    for events in by_session.values():
        for before, after in pairwise(events):
            if not (before["selector"] == after["selector"] and before["selector"] in BROKEN_SELECTORS):
                gaps.append(_parse(after["timestamp"]) - _parse(before["timestamp"]))
    assert min(gaps) >= timedelta(milliseconds=1000)


def test_scroll_depth_drops_off(web: list[dict[str, Any]]) -> None:
    deepest: dict[tuple[str, str], float] = {}
    kinds: dict[tuple[str, str], str] = {}
    for event in web:
        if event["type"] == "scroll":
            fold = event["viewportHeight"] / event["documentHeight"] * 100
            assert event["depth"] >= round(fold, 1) - 0.05, "depth counts the viewport: (scrollY + vh) / dh"
            key = (event["sessionId"], normalize_page_key(event["url"]))
            deepest[key] = max(deepest.get(key, 0.0), event["depth"])
            kinds[key] = (
                "long" if "/blog/" in key[1] else "short" if key[1].endswith(("/login", "/cart")) else ""
            )
    depths = list(deepest.values())
    reach_half = sum(depth >= 50 for depth in depths) / len(depths)
    reach_end = sum(depth >= 100 for depth in depths) / len(depths)
    assert 0.1 < reach_end < reach_half < 0.9

    def reach_end_share(kind: str) -> float:
        selected = [depth for key, depth in deepest.items() if kinds[key] == kind]
        return sum(depth >= 100 for depth in selected) / len(selected)

    assert reach_end_share("long") < reach_end_share("short") / 2


# ---- layouts and screenshots ---------------------------------------------------------------------------


def test_demo_page_keys() -> None:
    keys = demo_page_keys()
    assert len(keys) == len(set(keys)) == 40
    assert keys[:3] == [DEMO_HOME, "https://shop.example.com/products", "https://shop.example.com/pricing"]
    assert all(normalize_page_key(key) == key and key.startswith(DEMO_ORIGIN) for key in keys)


@pytest.mark.parametrize("breakpoint", BREAKPOINTS)
def test_layouts_are_well_formed(breakpoint: str) -> None:
    for key in demo_page_keys():
        layout = page_layout(key, breakpoint)
        assert layout is not None
        assert layout.width == NOMINAL_WIDTH_PX[breakpoint]
        assert 1200 <= layout.height <= 10_000
        selectors = [element.selector for element in layout.elements]
        assert len(selectors) == len(set(selectors)), key
        for element in layout.elements:
            assert (
                0 <= element.left < element.right <= 1 and 0 <= element.top < element.bottom <= layout.height
            )
        assert any(element.interactive for element in layout.elements)
        assert any(ROLES[element.role][0] == "dead" for element in layout.elements)


def test_unknown_pages_have_no_layout_or_screenshot() -> None:
    assert page_layout("https://shop.example.com/nope", "desktop") is None
    assert page_layout("not a url", "desktop") is None
    assert render_page_screenshot(DEMO_HOME, "watch") is None
    with pytest.raises(ValueError):
        render_screen_screenshot("nope")


def _png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


@pytest.mark.slow  # renders every page at every breakpoint
def test_page_screenshots_cover_the_top_pages_at_every_breakpoint() -> None:
    shots = list(demo_page_screenshots())
    assert [(key, breakpoint) for key, breakpoint, _ in shots] == [
        (key, breakpoint) for key in demo_page_keys()[:8] for breakpoint in BREAKPOINTS
    ]
    for key, breakpoint, data in shots:
        layout = page_layout(key, breakpoint)
        assert layout is not None
        assert _png(data).size == (NOMINAL_WIDTH_PX[breakpoint], layout.height)
        assert len(data) < 2 * 1024 * 1024


def test_buttons_are_drawn_where_the_clicks_land() -> None:
    url = "https://shop.example.com/products/alpine-shell-jacket"
    for breakpoint in BREAKPOINTS:
        layout = page_layout(url, breakpoint)
        image = _png(render_page_screenshot(url, breakpoint) or b"").convert("RGB")
        button = next(element for element in layout.elements if element.selector == "#add-to-cart")
        inside = (round(button.left * layout.width) + 12, button.top + 12)  # clear of the label and corners
        assert image.getpixel(inside) == (79, 70, 229), breakpoint  # the primary button colour


def test_screen_screenshots() -> None:
    shots = list(demo_screen_screenshots())
    assert [name for name, _ in shots] == ["home_feed", "product_detail", "cart", "checkout", "settings"]
    assert all(_png(data).size == (390, 844) for _, data in shots)


# ---- touch events --------------------------------------------------------------------------------------


def test_touch_events_are_valid(touches: list[dict[str, Any]]) -> None:
    for event in touches:
        assert event.keys() <= TOUCH_KEYS and TOUCH_KEYS - {"campaignId"} <= event.keys()
        assert event["screenName"] in SCREEN_NAMES
        assert 0 <= event["x"] <= 1 and 0 <= event["y"] <= 1
        assert event["eventType"] in ("TAP", "SCROLL", "ACTION_CLICK")
        assert event["userId"] in USERS
        assert RFC3339.match(event["timestamp"]) and WINDOW_START <= _parse(event["timestamp"]) < END
        assert len(event.get("campaignId", "")) <= 128


def test_touch_mix_users_and_campaigns(touches: list[dict[str, Any]]) -> None:
    types = Counter(event["eventType"] for event in touches)
    assert types["TAP"] > types["SCROLL"] > types["ACTION_CLICK"] > 0
    assert set(Counter(event["screenName"] for event in touches)) == set(SCREEN_NAMES)
    users = Counter(event["userId"] for event in touches)
    assert len(users) >= 25
    assert users.most_common(1)[0][1] > 3 * statistics.median(users.values())
    with_campaign = sum("campaignId" in event for event in touches) / len(touches)
    assert 0.3 < with_campaign < 0.7


def test_taps_land_on_the_drawn_screen_elements(touches: list[dict[str, Any]]) -> None:
    width, height = SCREEN_SIZE
    for event in touches:
        if event["eventType"] == "SCROLL":
            continue
        x, y = event["x"] * width, event["y"] * height
        hits = [
            element
            for element in screen_layout(event["screenName"])
            if element.role != "band"
            and element.left * width - 1 <= x <= element.right * width + 1
            and element.top - 1 <= y <= element.bottom + 1
        ]
        assert hits, event
        assert (event["eventType"] == "ACTION_CLICK") == any(element.role == "button" for element in hits)
