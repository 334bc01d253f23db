"""Hostile input: whatever an attacker sends is refused cleanly (4xx in the error shape) or handled as
plain data, never a 5xx, a hang or a change to data it should not touch. On SQLite and PostgreSQL.

Covered: SQL-looking strings in every filter and stored field, ``%``/``_`` and regex characters in the
search, huge and deeply nested JSON, invalid UTF-8, NaN/Infinity/1e308 and 4,300-digit numbers,
timestamps at the ends of the calendar, 10,000-character values, decompression-bomb PNGs, a PNG
declared as another size, and replay URL templates that are not http(s) (``heatmaps api`` refuses to
start). HTML/JS in selectors rendered by the dashboard is checked by the dashboard's browser test.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError
from sqlalchemy import Engine, func, inspect, select

from data_layer.schema import web_events
from data_layer.settings import Settings
from heatmaps_testing.loopback import REPO
from tests.conftest import bearer
from tests.factories import touch, web_click, web_scroll
from tests.live import free_port

EVENTS = "/rest/v1/events"
PAGES = "/rest/v1/heatmap-pages"
SUMMARY = "/rest/v1/heatmap-pages/summary"
SERVICE = "/heatmap.v1.HeatmapService"
DAY = {"from": "2026-04-10", "to": "2026-04-10"}
SQL = [
    "' OR '1'='1",
    "'; DROP TABLE web_events; --",
    '" OR 1=1 --',
    "%' OR 'x' LIKE '%",
    "1; SELECT pg_sleep(10)",
    "US' --",
    "*/ UNION SELECT token_hash FROM api_tokens /*",
    "\\'; DELETE FROM api_tokens; --",
]
LONG = "a" * 10_000


def tables(engine: Engine) -> dict[str, int]:
    """Row count of every table: the fingerprint an injection would change."""
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(inspect_table(engine, name))) for name in names
        }


def inspect_table(engine: Engine, name: str) -> Any:
    from sqlalchemy import MetaData, Table

    return Table(name, MetaData(), autoload_with=engine)


def post_events(client: TestClient, token: str, events: list[dict[str, Any]]):
    return client.post(EVENTS, json={"events": events}, headers=bearer(token))


def connect(client: TestClient, token: str, method: str, body: Any, **kwargs: Any):
    content = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    headers = {**bearer(token), "Content-Type": "application/json"}
    return client.post(f"{SERVICE}/{method}", content=content, headers=headers, **kwargs)


def assert_rest_error(response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) == {"error", "details"} and all(isinstance(v, str) for v in body.values()), body
    assert len(body["details"]) < 3000, "the error echoes the hostile input back"
    return body


def assert_connect_error(response, code: str = "invalid_argument") -> None:
    assert response.json() == {"code": code, "message": response.json()["message"]}, response.text[:500]


# -- SQL-looking strings ---------------------------------------------------------------------------------


def test_sql_in_stored_fields_is_stored_verbatim_and_matched_exactly(
    client, tokens, engine, unlimited
) -> None:
    events = [
        web_click(
            url=f"https://example.com/p{i}",
            sessionId=value,
            visitorId=value,
            selector=value,
            region=value,
            browserName=value,
            dead=True,
        )
        for i, value in enumerate(SQL)
    ]
    assert post_events(client, tokens["ingest"], events).json() == {"ingested": len(SQL), "duplicates": 0}
    with engine.connect() as conn:
        stored = conn.execute(
            select(web_events.c.session_id, web_events.c.selector, web_events.c.region)
        ).all()
    assert sorted(stored) == sorted((v, v, v) for v in SQL)
    for i, value in enumerate(SQL):
        body = client.get(
            PAGES, params={**DAY, "region": value, "browserName": value}, headers=bearer(tokens["view"])
        )
        assert [e["pageKey"] for e in body.json()["entities"]] == [f"https://example.com/p{i}"]
        summary = client.get(
            SUMMARY,
            params={**DAY, "pageKey": f"https://example.com/p{i}", "breakpoint": "desktop", "region": value},
            headers=bearer(tokens["view"]),
        ).json()
        assert [b["topElement"] for b in summary["deadClicks"]] == [value]


@pytest.mark.slow  # every filter and identifier with each string: about 200 requests
def test_sql_in_every_filter_matches_nothing_and_changes_nothing(client, tokens, engine, unlimited) -> None:
    post_events(client, tokens["ingest"], [web_click(), web_click(url="https://example.com/other")])
    connect(client, tokens["ingest"], "IngestTouchEvents", {"events": [touch()]})
    before = tables(engine)
    for value in SQL:
        filters_find_nothing(client, tokens, value)
    assert tables(engine) == before


def filters_find_nothing(client: TestClient, tokens: dict[str, str], value: str) -> None:
    """Every filter and identifier of every query endpoint set to ``value``: empty answers or 400/404."""
    view = bearer(tokens["view"])
    for name in ("country", "region", "browserName", "search"):
        response = client.get(PAGES, params={**DAY, name: value}, headers=view)
        assert response.json()["entities"] == [], (name, response.text)
    for name in ("sortBy", "sortDir", "limit", "cursor", "from", "to"):
        assert_rest_error(client.get(PAGES, params={**DAY, name: value}, headers=view), 400)
    for name in ("country", "region", "browserName"):
        params = {**DAY, "pageKey": "https://example.com/pricing", "breakpoint": "desktop", name: value}
        assert client.get(SUMMARY, params=params, headers=view).json()["clickBins"] == []
    for params in (
        {"pageKey": value, "breakpoint": "desktop"},
        {"pageKey": "https://example.com/pricing", "breakpoint": value},
    ):
        assert client.get(SUMMARY, params={**DAY, **params}, headers=view).status_code in (400, 404)
    assert client.get(f"/rest/v1/screenshots/{value}", headers=view).status_code in (404, 400)
    everything = bearer(tokens["all"])
    for body in (
        {"screenName": value},
        {"screenName": "home_feed", "campaignId": value},
        {"screenName": "home_feed", "mode": "PER_USER", "userId": value},
    ):
        response = connect(client, tokens["all"], "QueryHeatmapData", body)
        assert response.json() == {"dataPoints": [], "userTouchCounts": response.json()["userTouchCounts"]}
        assert all(row["userId"] != value for row in response.json()["userTouchCounts"])
    assert_connect_error(
        connect(client, tokens["all"], "QueryHeatmapData", {"screenName": "x", "mode": value})
    )
    assert connect(client, tokens["all"], "ListScreenshots", {"screenName": value}).json() == {
        "screenshots": []
    }
    listed = client.get(
        "/rest/v1/heatmap-pages/screenshots",
        params={"pageKey": value, "breakpoint": "desktop"},
        headers=everything,
    )
    assert listed.status_code == 400


SEARCHES = [
    ("%", ["https://example.com/100%25_off"]),
    ("_", ["https://example.com/100%25_off", "https://example.com/a_b"]),
    ("a_b", ["https://example.com/a_b"]),
    ("A_B", ["https://example.com/a_b"]),
    (".*", []),
    ("[", ["https://example.com/x[1]"]),
    ("(", []),
    ("\\", []),
]


def test_search_is_a_literal_case_insensitive_substring(client, tokens, unlimited) -> None:
    urls = ["https://example.com/100%25_off", "https://example.com/a_b", "https://example.com/axb"]
    post_events(client, tokens["ingest"], [web_click(url=url) for url in [*urls, "https://example.com/x[1]"]])
    for search, expected in SEARCHES:
        params = {**DAY, "search": search, "sortBy": "PAGE_KEY", "sortDir": "ASC"}
        body = client.get(PAGES, params=params, headers=bearer(tokens["view"])).json()
        assert [e["pageKey"] for e in body["entities"]] == expected, search


# -- malformed and oversized bodies ----------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"events": [' + b"[" * depth + b"]" * depth + b"]}"


BODIES = [
    (nested(100_000), 400),  # 200 kB of brackets: the JSON parser gives up, the API answers 400
    (b'{"events": "' + b"x" * (1024 * 1024) + b'"}', 413),
    (b'{"events": [' + b",".join([json.dumps(web_click(eventId=None)).encode()] * 501) + b"]}", 400),
    (b'{"events": [{"type": "click", "sessionId": "\xff\xfe"}]}', 400),  # invalid UTF-8
    (b'{"events": [{"sessionId": "\\ud800"}]}', 400),  # a lone surrogate
    (b"\xef\xbb\xbf{}", 400),  # a byte order mark
    (b'{"events": [' + b"1" * 5000 + b"]}", 400),  # an integer of 5,000 digits
    (b'{"events": [], "events": "twice"}', 400),
    (b"", 400),
    (b"null", 400),
]


@pytest.mark.parametrize("media_type", ["application/json", "text/plain"])
def test_malformed_bodies_are_refused_cleanly(client, tokens, engine, media_type: str) -> None:
    headers = {**bearer(tokens["ingest"]), "Content-Type": media_type}
    for body, status in BODIES:
        assert_rest_error(client.post(EVENTS, content=body, headers=headers), status)
    assert tables(engine)["web_events"] == 0
    deep = web_click(extra={"unknown": json.loads(b"[" * 500 + b"]" * 500)})  # unknown fields are ignored
    assert client.post(EVENTS, content=json.dumps({"events": [deep]}), headers=headers).status_code == 200


CONNECT_BODIES = [
    nested(100_000),
    b'{"events": [{"screenName": "\xff"}]}',
    b'{"events": [{"x": ' + b"9" * 5000 + b"}]}",
    b"[]",
    b'"events"',
]


def test_malformed_connect_bodies_are_invalid_argument(client, tokens, engine) -> None:
    for method in ("IngestTouchEvents", "QueryHeatmapData", "ListScreenshots", "UploadScreenshot"):
        for body in CONNECT_BODIES:
            response = connect(client, tokens["all"], method, body)
            assert response.status_code == 400, (method, body[:40])
            assert_connect_error(response)
        huge = b'{"screenName": "' + b"x" * (16 * 1024 * 1024) + b'"}'
        response = connect(client, tokens["all"], method, huge)
        assert response.status_code == 429, method
        assert_connect_error(response, "resource_exhausted")
    assert tables(engine)["touch_events"] == tables(engine)["screenshots"] == 0


def test_invalid_utf8_in_the_url(client, tokens) -> None:
    """Refused, not decoded with U+FFFD in place of the bytes (every parameter: test_invalid_unicode)."""
    for query in ("from=%FF%FE&to=2026-04-10", "search=%FF&from=2026-04-10&to=2026-04-10", "country=%C0%AF"):
        assert_rest_error(client.get(f"{PAGES}?{query}", headers=bearer(tokens["view"])), 400)
    assert_rest_error(client.get("/rest/v1/screenshots/%FF%FE", headers=bearer(tokens["view"])), 400)


# -- absurd numbers and timestamps -----------------------------------------------------------------------


NUMBERS = [
    ("x", "NaN"), ("x", "Infinity"), ("y", "-Infinity"), ("x", "1e308"), ("x", "1e309"), ("x", "-1e308"),
    ("x", "1" * 4000), ("viewportWidth", "1e308"), ("viewportWidth", "18446744073709551616"),
    ("documentHeight", "-0"), ("viewportHeight", "2.0"), ("depth", "NaN"),
]  # fmt: skip


def test_absurd_numbers_are_refused(client, tokens, engine) -> None:
    headers = {**bearer(tokens["ingest"]), "Content-Type": "application/json"}
    for field, raw in NUMBERS:
        factory = web_scroll if field == "depth" else web_click
        event = json.dumps(factory(**{field: "PLACEHOLDER"})).replace('"PLACEHOLDER"', raw)
        response = client.post(EVENTS, content=f'{{"events": [{event}]}}', headers=headers)
        assert f"events[0].{field}" in assert_rest_error(response, 400)["details"], (field, raw)
    # Fields no range rule checks for this event type (a scroll's x and y, a click's depth): an integer too
    # big for a float is still refused, not a 500.
    for factory, field, raw in ((web_scroll, "x", "1" * 400), (web_scroll, "y", "-" + "1" * 400),
                                (web_click, "depth", "1" * 400)):  # fmt: skip
        event = json.dumps(factory(**{field: "PLACEHOLDER"})).replace('"PLACEHOLDER"', raw)
        response = client.post(EVENTS, content=f'{{"events": [{event}]}}', headers=headers)
        assert f"events[0].{field}" in assert_rest_error(response, 400)["details"], (field, raw)
    for raw in ("NaN", "Infinity", "-Infinity", "1e308", "1e309", "-1e308", "1" * 4000, "-1e-320"):
        touched = json.dumps(touch(x="PLACEHOLDER")).replace('"PLACEHOLDER"', raw)
        body = f'{{"events": [{touched}]}}'.encode()
        assert connect(client, tokens["ingest"], "IngestTouchEvents", body).status_code == 400, raw
    assert tables(engine)["web_events"] == tables(engine)["touch_events"] == 0
    for limit in ("1e308", "NaN", "99999999999999999999999", "-99999999999999999999", "0x10", "1.5"):
        response = client.get(PAGES, params={**DAY, "limit": limit}, headers=bearer(tokens["view"]))
        assert response.status_code in (200, 400), limit
        if response.status_code == 400:
            assert_rest_error(response, 400)


FAR_PAST = [
    ("0001-01-01T00:00:00Z", "0001-01-01"),
    ("0001-01-01T00:59:59-01:00", "0001-01-01"),
    ("1969-12-31T23:59:59.999999999Z", "1969-12-31"),
    ("1900-02-28T23:30:00-01:00", "1900-03-01"),
]
IMPOSSIBLE = [
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    "9999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-04-10T24:00:00Z",
    "2026-04-10T12:00:60Z",
    "2026-04-10T12:00:00+24:00",
]


def test_timestamps_at_the_ends_of_the_calendar(client, tokens, engine, unlimited) -> None:
    for timestamp in IMPOSSIBLE:
        response = post_events(client, tokens["ingest"], [web_click(timestamp=timestamp)])
        assert "events[0].timestamp" in assert_rest_error(response, 400)["details"], timestamp
        response = connect(
            client, tokens["ingest"], "IngestTouchEvents", {"events": [touch(timestamp=timestamp)]}
        )
        assert response.status_code == 400, timestamp
    assert tables(engine)["web_events"] == tables(engine)["touch_events"] == 0
    events = [web_click(timestamp=timestamp) for timestamp, _ in FAR_PAST]  # may be arbitrarily old
    assert post_events(client, tokens["ingest"], events).status_code == 200
    for day, clicks in Counter(day for _, day in FAR_PAST).items():
        body = client.get(PAGES, params={"from": day, "to": day}, headers=bearer(tokens["view"])).json()
        assert [e["totalClicks"] for e in body["entities"]] == [clicks], day


WINDOWS = [
    ({"from": "0001-01-01", "to": "0001-02-28"}, 200),
    ({"from": "9999-11-02", "to": "9999-12-31"}, 200),
    ({"from": "0000-01-01", "to": "0000-01-02"}, 400),
    ({"from": "10000-01-01", "to": "10000-01-02"}, 400),
    ({"from": "0001-01-01", "to": "9999-12-31"}, 400),
]


def test_query_windows_at_the_ends_of_the_calendar(client, tokens) -> None:
    for window, status in WINDOWS:
        assert client.get(PAGES, params=window, headers=bearer(tokens["view"])).status_code == status, window
        body = {"screenName": "home_feed", **window}
        assert connect(client, tokens["view"], "QueryHeatmapData", body).status_code == status, window


# -- very long values ------------------------------------------------------------------------------------


def test_ten_thousand_character_values(client, tokens, engine) -> None:
    for field in ("selector", "sessionId", "visitorId", "region", "browserName", "userAgent", "url"):
        value = "https://e.com/" + LONG if field == "url" else LONG
        response = post_events(client, tokens["ingest"], [web_click(), web_click(**{field: value})])
        assert f"events[1].{field}" in assert_rest_error(response, 400)["details"]
    assert tables(engine)["web_events"] == 0
    view = bearer(tokens["view"])
    for name in ("country", "region", "browserName", "search"):
        assert client.get(PAGES, params={**DAY, name: LONG}, headers=view).json()["entities"] == []
    for name in ("sortBy", "sortDir", "cursor", "limit", "from"):
        assert_rest_error(client.get(PAGES, params={**DAY, name: LONG}, headers=view), 400)
    for page, breakpoint in (("https://e.com/" + LONG, "desktop"), ("https://e.com/", LONG)):
        params = {**DAY, "pageKey": page, "breakpoint": breakpoint}
        assert_rest_error(client.get(SUMMARY, params=params, headers=view), 400)
    assert_rest_error(client.get(PAGES, params=DAY, headers={"Authorization": "Bearer " + LONG}), 401)
    response = connect(client, tokens["all"], "QueryHeatmapData", {"screenName": LONG, "campaignId": LONG})
    assert response.json() == {"dataPoints": [], "userTouchCounts": []}


# -- images ----------------------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb(width: int, height: int) -> bytes:
    """A small, well-formed PNG claiming ``width`` x ``height`` greyscale pixels, all zero: its zlib
    stream would inflate to about width x height bytes, a thousand times its own size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    stream = b"".join(compressor.compress(row) for _ in range(min(height, 2_000))) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def upload(client: TestClient, token: str, data: bytes, width: int, height: int) -> Any:
    body = {
        "screenName": "home",
        "imageData": base64.b64encode(data).decode(),
        "width": width,
        "height": height,
    }
    return connect(client, token, "UploadScreenshot", body)


def test_decompression_bombs_are_refused_without_decoding(client, tokens, engine) -> None:
    for width, height in ((100_000, 100_000), (4_000, 40_001), (4_001, 10), (3_000, 30_000)):
        data = bomb(width, height)
        started = time.monotonic()
        response = client.put(
            "/rest/v1/heatmap-pages/screenshot",
            params={"pageKey": "https://example.com/", "breakpoint": "desktop"},
            content=data,
            headers={**bearer(tokens["manage"]), "Content-Type": "image/png"},
        )
        assert_rest_error(response, 400)
        assert_connect_error(upload(client, tokens["manage"], data, width, height))
        assert time.monotonic() - started < 2, f"the {width} x {height} bomb was decoded"
    assert tables(engine)["screenshots"] == 0


def test_a_png_that_lies_about_its_size_is_refused(client, tokens, engine) -> None:
    real = png(40, 30)
    for width, height in ((41, 30), (40, 31), (30, 40), (1, 1), (4_000, 40_000)):
        response = upload(client, tokens["manage"], real, width, height)
        assert response.status_code == 400 and "declared" in response.json()["message"], (width, height)
    lying = real[:16] + struct.pack(">II", 50, 50) + real[24:]  # IHDR says 50 x 50; its CRC no longer fits
    for data in (lying, real[:-20], real[:8] + b"\x00" * 100):
        assert_connect_error(upload(client, tokens["manage"], data, 50, 50))
    assert tables(engine)["screenshots"] == 0


# -- replay URL templates --------------------------------------------------------------------------------


HOSTILE_TEMPLATES = [
    "javascript:alert(document.cookie)//{sessionId}",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>{sessionId}",
    "vbscript:msgbox(1)",
    "file:///etc/passwd?{sessionId}",
    "ftp://example.com/{sessionId}",
    "//evil.example/{sessionId}",
    "{sessionId}",
]


def run_api(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``heatmaps api`` with ``env`` on a throwaway database; it must exit before serving."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("HEATMAPS_") or k.startswith("HEATMAPS_TEST_")
    }
    base.update(HEATMAPS_DATABASE_URL=f"sqlite:///{tmp_path / 'never.db'}", **env)
    return subprocess.run(
        [sys.executable, "-m", "heatmaps_cli.app", "api", "--port", str(free_port())],
        cwd=REPO, env=base, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_hostile_replay_templates_are_refused_by_the_settings() -> None:
    for template in HOSTILE_TEMPLATES:
        with pytest.raises(ValidationError, match="replay_url_template must be an http"):
            Settings(_env_file=None, replay_url_template=template)


@pytest.mark.live
@pytest.mark.parametrize("template", HOSTILE_TEMPLATES[:2])
def test_a_hostile_replay_template_stops_the_api_at_startup(tmp_path: Path, template: str) -> None:
    result = run_api(tmp_path, HEATMAPS_REPLAY_URL_TEMPLATE=template)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: invalid settings") and "replay_url_template" in result.stderr
    assert not (tmp_path / "never.db").exists(), "the API touched the database before refusing"


@pytest.mark.live
def test_the_startup_refusal_is_one_line(tmp_path: Path) -> None:
    result = run_api(tmp_path, HEATMAPS_REPLAY_URL_TEMPLATE=HOSTILE_TEMPLATES[0])
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_hostile_dashboard_url_in_the_template_is_refused() -> None:
    try:
        settings = Settings(_env_file=None, dashboard_url="javascript:alert(1)//")
    except ValidationError:
        return
    raise AssertionError(f"accepted; replay links would start with {settings.replay_template()[:30]!r}")
