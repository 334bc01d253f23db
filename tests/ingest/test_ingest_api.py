"""POST /rest/v1/events: every rule of CONTRACT 3.1 and 3.2, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from data_layer.schema import web_events
from tests.conftest import bearer
from tests.factories import web_click, web_scroll

URL = "/rest/v1/events"


def post(client: TestClient, token: str, events: list[dict[str, Any]], **kwargs: Any):
    return client.post(URL, json={"events": events}, headers=bearer(token), **kwargs)


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(web_events).order_by(web_events.c.seq))]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(web_events))


def test_valid_batch_is_stored_with_normalised_fields(client, tokens, engine) -> None:
    events = [
        web_click(
            url="HTTPS://Example.com:443/Pricing/?a=1#x",
            viewportWidth=800,
            country="de",
            region="Bavaria",
            selector="#buy",
            dead=True,
            fixed=True,
            timestamp="2026-04-10T14:00:00+02:00",
        ),
        web_scroll(viewportWidth=500, depth=72.5, browserName="Firefox"),
    ]
    response = post(client, tokens["ingest"], events)
    assert response.status_code == 200, response.text
    assert response.json() == {"ingested": 2, "duplicates": 0}
    click, scroll = stored(engine)
    assert click["page_key"] == "https://example.com/Pricing"
    assert click["breakpoint"] == "tablet"
    assert click["country"] == "DE"
    assert click["region"] == "Bavaria"
    assert click["ts"] == datetime(2026, 4, 10, 12, 0)
    assert str(click["day"]) == "2026-04-10"
    assert (click["x"], click["y"], click["selector"], click["dead"], click["fixed"]) == (
        100.0,
        200.0,
        "#buy",
        True,
        True,
    )
    assert click["depth"] is None
    assert scroll["breakpoint"] == "mobile"
    assert (scroll["depth"], scroll["x"], scroll["y"], scroll["browser"]) == (72.5, None, None, "Firefox")
    assert scroll["dead"] is False and scroll["fixed"] is False


@pytest.mark.parametrize(
    ("width", "breakpoint"),
    [
        (1, "mobile"),
        (767, "mobile"),
        (768, "tablet"),
        (1023, "tablet"),
        (1024, "desktop"),
        (20000, "desktop"),
    ],
)
def test_breakpoint_thresholds(client, tokens, engine, width: int, breakpoint: str) -> None:
    assert post(client, tokens["ingest"], [web_click(viewportWidth=width)]).status_code == 200
    assert stored(engine)[0]["breakpoint"] == breakpoint


def test_browser_is_derived_from_user_agent_field_then_header(client, tokens, engine) -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    events = [web_click(userAgent=firefox), web_click(), web_click(browserName="Opera", userAgent=firefox)]
    response = client.post(
        URL, json={"events": events}, headers={**bearer(tokens["ingest"]), "User-Agent": chrome}
    )
    assert response.status_code == 200
    assert [row["browser"] for row in stored(engine)] == ["Firefox", "Chrome", "Opera"]
    assert "user_agent" not in stored(engine)[0]


def test_country_and_region_from_trusted_headers(client, tokens, engine, monkeypatch) -> None:
    client.app.state.ctx.settings.country_header = "CF-IPCountry"
    client.app.state.ctx.settings.region_header = "X-Region"
    headers = {**bearer(tokens["ingest"]), "CF-IPCountry": "fr", "X-Region": "Bretagne"}
    events = [web_click(), web_click(country="IT", region="Lazio")]
    assert client.post(URL, json={"events": events}, headers=headers).status_code == 200
    assert [(r["country"], r["region"]) for r in stored(engine)] == [("FR", "Bretagne"), ("IT", "Lazio")]


def test_headers_ignored_when_not_configured(client, tokens, engine) -> None:
    headers = {**bearer(tokens["ingest"]), "CF-IPCountry": "fr"}
    assert client.post(URL, json={"events": [web_click()]}, headers=headers).status_code == 200
    assert stored(engine)[0]["country"] is None


def test_page_key_rules_apply_at_ingest_and_in_queries(client, tokens, engine) -> None:
    settings = client.app.state.ctx.settings
    settings.page_key_index_files, settings.page_key_view_params = "index.html", "search"
    settings.page_key_extensions = ".html"
    settings.__dict__.pop("page_key_rules", None)  # a cached property of the settings object
    events = [
        web_click(url="https://docs.example.com/book/index.html"),
        web_click(url="https://docs.example.com/book/"),
        web_click(url="https://docs.example.com/book/search.html?search=heat&page=2"),
        web_click(url="https://docs.example.com/book/guide.html"),
        web_click(url="https://docs.example.com/book/guide"),
    ]
    assert post(client, tokens["ingest"], events).status_code == 200
    assert [row["page_key"] for row in stored(engine)] == [
        "https://docs.example.com/book",
        "https://docs.example.com/book",
        "https://docs.example.com/book/search?search=heat",
        "https://docs.example.com/book/guide",
        "https://docs.example.com/book/guide",
    ]
    day = events[0]["timestamp"][:10]

    def clicks_of(page_key: str) -> int:
        summary = client.get(
            "/rest/v1/heatmap-pages/summary",
            params={"pageKey": page_key, "breakpoint": "desktop", "from": day, "to": day},
            headers=bearer(tokens["view"]),
        )
        assert summary.status_code == 200, summary.text
        return sum(cell["clicks"] for cell in summary.json()["clickBins"])

    assert clicks_of("https://docs.example.com/book/index.html") == 2
    assert clicks_of("https://docs.example.com/book/guide.html") == 2


def test_same_batch_twice_reports_all_duplicates(client, tokens, engine) -> None:
    events = [web_click(), web_click(), web_scroll()]
    assert post(client, tokens["ingest"], events).json() == {"ingested": 3, "duplicates": 0}
    assert post(client, tokens["ingest"], events).json() == {"ingested": 0, "duplicates": 3}
    assert count(engine) == 3


def test_duplicate_ids_inside_one_batch_and_events_without_id(client, tokens, engine) -> None:
    same = web_click(eventId="dup-1")
    no_id = web_click(eventId=...)
    response = post(client, tokens["ingest"], [same, dict(same), no_id, dict(no_id)])
    assert response.json() == {"ingested": 3, "duplicates": 1}
    assert count(engine) == 3


def test_one_invalid_event_stores_nothing_and_names_index_and_field(client, tokens, engine) -> None:
    events = [web_click(), web_click(x=5000), web_scroll(depth=...), web_click()]
    response = post(client, tokens["ingest"], events)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert "events[1].x" in body["details"]
    assert "events[2].depth" in body["details"]
    assert "events[0]" not in body["details"] and "events[3]" not in body["details"]
    assert count(engine) == 0


def test_only_the_first_20_problems_are_listed(client, tokens) -> None:
    response = post(client, tokens["ingest"], [web_click(sessionId="")] * 25)
    details = response.json()["details"]
    assert "events[19].sessionId" in details
    assert "events[20]" not in details
    assert "5 more" in details


FIELD_CASES = [
    ("eventId", ""),
    ("eventId", "a" * 65),
    ("eventId", "has space"),
    ("eventId", "bad/slash"),
    ("type", "hover"),
    ("type", ...),
    ("timestamp", ...),
    ("timestamp", "2026-04-10"),
    ("timestamp", "2026-04-10T12:00:00"),
    ("timestamp", "10/04/2026 12:00"),
    ("timestamp", 1775822400),
    ("timestamp", "2026-02-30T12:00:00Z"),
    ("sessionId", ""),
    ("sessionId", "s" * 129),
    ("sessionId", ...),
    ("visitorId", ""),
    ("visitorId", "v" * 129),
    ("visitorId", 42),
    ("url", "ftp://example.com/x"),
    ("url", "/relative/path"),
    ("url", "https://"),
    ("url", "https://example.com/" + "a" * 2040),
    ("url", ...),
    ("viewportWidth", 0),
    ("viewportWidth", 20001),
    ("viewportWidth", 12.5),
    ("viewportWidth", "1280"),
    ("viewportHeight", 0),
    ("viewportHeight", ...),
    ("documentWidth", 0),
    ("documentWidth", 1_000_001),
    ("documentHeight", 0),
    ("documentHeight", 1_000_001),
    ("x", -1),
    ("x", 1281),
    ("x", ...),
    ("x", "10"),
    ("y", -0.5),
    ("y", 4001),
    ("y", ...),
    ("selector", "s" * 513),
    ("dead", "yes"),
    ("fixed", 1),
    ("country", "USA"),
    ("country", "1A"),
    ("region", "r" * 101),
    ("browserName", "b" * 65),
    ("userAgent", "u" * 1025),
    # Segments (CONTRACT 14)
    ("utmSource", "s" * 129),
    ("utmSource", 7),
    ("utmMedium", "m" * 129),
    ("utmMedium", "line\nbreak"),
    ("utmCampaign", "c" * 129),
    ("utmCampaign", "tab\there"),
    ("referrerHost", "example.com/path"),
    ("referrerHost", "example.com?q=1"),
    ("referrerHost", "user@example.com"),
    ("referrerHost", "exa mple.com"),
    ("referrerHost", ""),
    ("referrerHost", "h" * 256),
    ("tags", {f"k{n}": "v" for n in range(11)}),
    ("tags", {"bad key": "v"}),
    ("tags", {"k" * 33: "v"}),
    ("tags", {"": "v"}),
    ("tags", {"plan": "v" * 65}),
    ("tags", {"plan": 3}),
    ("tags", {"plan": "a\u0000b"}),
    ("tags", ["plan", "pro"]),
]


@pytest.mark.parametrize(("field", "value"), FIELD_CASES)
def test_click_field_rules(client, tokens, engine, field: str, value: Any) -> None:
    response = post(client, tokens["ingest"], [web_click(**{field: value})])
    assert response.status_code == 400, (field, value)
    assert response.json()["error"] == "bad_request"
    assert "events[0]" in response.json()["details"]
    assert count(engine) == 0


@pytest.mark.parametrize("depth", [-1, 100.01, ..., "50", None])
def test_scroll_depth_rules(client, tokens, engine, depth: Any) -> None:
    response = post(client, tokens["ingest"], [web_scroll(depth=depth)])
    assert response.status_code == 400
    assert "depth" in response.json()["details"]


def test_timestamp_future_limit(client, tokens) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
    late = (now + timedelta(minutes=6)).isoformat().replace("+00:00", "Z")
    assert post(client, tokens["ingest"], [web_click(timestamp=soon)]).status_code == 200
    response = post(client, tokens["ingest"], [web_click(timestamp=late)])
    assert response.status_code == 400
    assert "future" in response.json()["details"]


def test_edges_and_extras_accepted(client, tokens, engine) -> None:
    events = [
        web_click(x=0, y=0, unknownField={"nested": [1]}),
        web_click(x=1280, y=4000, selector="s" * 512, eventId="a" * 64),
        web_click(timestamp="2026-04-10T12:00:00.123456789-05:00"),
        web_scroll(depth=0),
        web_scroll(depth=100, x=99999),  # click-only fields are ignored on scrolls
    ]
    assert post(client, tokens["ingest"], events).json() == {"ingested": 5, "duplicates": 0}
    rows = stored(engine)
    assert rows[2]["ts"] == datetime(2026, 4, 10, 17, 0, 0, 123456)
    assert rows[4]["x"] is None


def test_segment_fields_at_their_edges_are_stored(client, tokens, engine) -> None:
    """The longest campaign fields, a host with a port and the most tags with the longest key and value
    are stored as sent (tags as canonical JSON, keys sorted); an event without them stores none."""
    tags = {f"k{n}": "v" for n in range(9)} | {"K" * 32: "é" * 64}
    events = [
        web_click(
            utmSource="s" * 128,
            utmMedium="",
            utmCampaign="spring sale / 2026",
            referrerHost="news.example.org:8443",
            tags=tags,
        ),
        web_click(eventId="plain"),
    ]
    assert post(client, tokens["ingest"], events).json() == {"ingested": 2, "duplicates": 0}
    first, plain = stored(engine)
    assert (first["utm_source"], first["utm_campaign"], first["referrer_host"]) == (
        "s" * 128,
        "spring sale / 2026",
        "news.example.org:8443",
    )
    assert first["utm_medium"] in ("", None)
    assert json.loads(first["tags"]) == tags and list(json.loads(first["tags"])) == sorted(tags)
    assert [
        plain[name] for name in ("utm_source", "utm_medium", "utm_campaign", "referrer_host", "tags")
    ] == [None] * 5


@pytest.mark.parametrize("size", [0, 501])
def test_batch_size_limits(client, tokens, engine, size: int) -> None:
    response = post(client, tokens["ingest"], [web_click(eventId=f"e{i}") for i in range(size)])
    assert response.status_code == 400
    assert "1 to 500" in response.json()["details"]
    assert count(engine) == 0


def test_500_events_accepted(client, tokens, engine) -> None:
    response = post(client, tokens["ingest"], [web_click(eventId=f"e{i}") for i in range(500)])
    assert response.json() == {"ingested": 500, "duplicates": 0}


def test_body_over_one_mebibyte_is_413(client, tokens, engine) -> None:
    big = [web_click(selector="s" * 500, region="r" * 100) for _ in range(500)]
    body = json.dumps({"events": big, "padding": "x" * (1024 * 1024)})
    response = client.post(
        URL, content=body, headers={**bearer(tokens["ingest"]), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert count(engine) == 0


def test_413_without_content_length(client, tokens) -> None:
    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    headers = {**bearer(tokens["ingest"]), "Content-Type": "application/json"}
    response = client.post(URL, content=chunks(), headers=headers)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"events": "nope"}', b'{"nothing": []}', b"\xff\xfe", b"[" * 100000],
)
def test_malformed_bodies(client, tokens, body: bytes) -> None:
    headers = {**bearer(tokens["ingest"]), "Content-Type": "application/json"}
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "details"}


def test_no_token_is_401(client, engine) -> None:
    response = client.post(URL, json={"events": [web_click()]})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert count(engine) == 0


def test_unknown_and_revoked_tokens_are_401(client, tokens, api_app) -> None:
    """A revoked token is refused once the API's token cache lets go of it (HEATMAPS_TOKEN_CACHE_S;
    the bound itself: tests/ingest/test_token_cache.py)."""
    from data_layer.auth import create_token, revoke_token

    assert post(client, "hm_not-a-real-token", [web_click()]).status_code == 401
    engine = api_app.state.ctx.engine
    token_id, token = create_token(engine, "u")
    assert post(client, token, [web_click()]).status_code == 200
    revoke_token(engine, token_id)
    api_app.state.ctx.tokens._entries.clear()  # as HEATMAPS_TOKEN_CACHE_S later
    assert post(client, token, [web_click()]).status_code == 401


def test_beacon_text_plain_with_key_in_body(client, tokens, engine) -> None:
    body = json.dumps({"key": tokens["ingest"], "events": [web_click()]})
    response = client.post(URL, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 200
    assert response.json() == {"ingested": 1, "duplicates": 0}


def test_key_in_json_body_is_ignored(client, tokens, engine) -> None:
    response = client.post(URL, json={"key": tokens["ingest"], "events": [web_click()]})
    assert response.status_code == 401
    assert count(engine) == 0


def test_token_in_query_string_is_not_accepted(client, tokens, engine) -> None:
    for name in ("key", "token", "access_token"):
        response = client.post(f"{URL}?{name}={tokens['ingest']}", json={"events": [web_click()]})
        assert response.status_code == 401
    assert count(engine) == 0


def test_cors_preflight_and_headers(client, tokens) -> None:
    preflight = client.options(
        URL,
        headers={
            "Origin": "https://shop.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "*"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    response = client.post(
        URL, json={"events": [web_click()]}, headers={**bearer(tokens["ingest"]), "Origin": "https://a.test"}
    )
    assert response.headers["access-control-allow-origin"] == "*"
    error = client.post(URL, json={"events": []}, headers={"Origin": "https://a.test"})
    assert error.headers["access-control-allow-origin"] == "*"


def test_rate_limit_returns_429_with_retry_after(client, tokens) -> None:
    client.app.state.ctx.settings.rate_limit_ingest_per_minute = 2
    for _ in range(2):
        assert post(client, tokens["ingest"], [web_click()]).status_code == 200
    response = post(client, tokens["ingest"], [web_click()])
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


def test_rage_flags_computed_across_batches_and_out_of_order(client, tokens, engine) -> None:
    def at(ms: int, **kw: Any) -> dict[str, Any]:
        stamp = datetime(2026, 4, 10, 12, 0, tzinfo=UTC) + timedelta(milliseconds=ms)
        return web_click(timestamp=stamp.isoformat().replace("+00:00", "Z"), **kw)

    # Batch 1 has two clicks; the third arrives in a later batch, and one earlier click arrives last.
    post(client, tokens["ingest"], [at(1000, eventId="c2"), at(1500, eventId="c3")])
    assert not any(row["rage"] for row in stored(engine))
    post(client, tokens["ingest"], [at(2000, eventId="c4")])
    flags = {row["event_id"]: (row["rage"], row["rage_start"]) for row in stored(engine)}
    assert flags == {"c2": (True, True), "c3": (True, False), "c4": (True, False)}
    post(client, tokens["ingest"], [at(200, eventId="c1")])
    flags = {row["event_id"]: (row["rage"], row["rage_start"]) for row in stored(engine)}
    assert flags == {"c1": (True, True), "c2": (True, False), "c3": (True, False), "c4": (True, False)}


def test_a_started_api_keeps_its_start_up_objects_out_of_full_collections(api_app) -> None:
    """Full collections rescanning the imported modules held the GIL for ~100 ms under load (the
    slowest requests' latency): once started, the API freezes what it holds."""
    gc.unfreeze()  # whatever an earlier test in this process froze
    with TestClient(api_app) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/healthz").status_code == 200
