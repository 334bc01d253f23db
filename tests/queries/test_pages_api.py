"""GET /rest/v1/heatmap-pages and /summary over HTTP: every parameter rule and error (CONTRACT 4, 8)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.factories import web_click, web_scroll

PAGES = "/rest/v1/heatmap-pages"
SUMMARY = "/rest/v1/heatmap-pages/summary"
WINDOW = {"from": "2026-04-01", "to": "2026-04-30"}


def at(ms: int) -> str:
    """Timestamp ``ms`` milliseconds after 2026-04-10 12:00 UTC."""
    return (
        (datetime(2026, 4, 10, 12, tzinfo=UTC) + timedelta(milliseconds=ms))
        .isoformat()
        .replace("+00:00", "Z")
    )


def ingest(client: TestClient, token: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        response = client.post(
            "/rest/v1/events", json={"events": events[start : start + 500]}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text


def get(client: TestClient, token: str, path: str, **params: Any):
    return client.get(path, params=params, headers=bearer(token))


@pytest.fixture
def site(client: TestClient, tokens: dict[str, str]) -> None:
    """Three pages with known metrics.

    /a: 10 clicks (desktop 6, mobile 4), one rage run of 3 (desktop), 2 dead clicks -> frustrated 5.
    /b: 4 clicks, all dead, in DE/Chrome.                                    -> frustrated 4.
    /c: 4 clicks, none frustrated, on 2026-05-05 (outside April).
    """
    a = "https://example.com/a"
    events = [
        web_click(url=a, timestamp=at(0), x=10, y=10),
        web_click(url=a, timestamp=at(100), x=11, y=11),
        web_click(url=a, timestamp=at(200), x=12, y=12),  # rage run of 3 in s1
        web_click(url=a, timestamp=at(5000), x=500, y=500, dead=True, selector="p.intro"),
        web_click(url=a, timestamp=at(9000), x=900, y=900, dead=True, selector="p.intro"),
        web_click(url=a, timestamp=at(20000), x=1000, y=50),
        *[
            web_click(
                url=a,
                sessionId="s2",
                viewportWidth=400,
                documentWidth=400,
                x=20 * i,
                y=30,
                timestamp=at(3000 * i),
            )
            for i in range(4)
        ],
        *[
            web_click(
                url="https://example.com/b",
                sessionId="s3",
                country="DE",
                browserName="Chrome",
                region="Bayern",
                dead=True,
                timestamp=at(2000 * i),
            )
            for i in range(4)
        ],
        *[
            web_click(url="https://example.com/c", sessionId="s4", timestamp="2026-05-05T10:00:00Z")
            for _ in range(4)
        ],
        web_scroll(url=a, depth=55, viewportHeight=700, timestamp=at(1)),
        web_scroll(url=a, sessionId="s5", depth=100, viewportHeight=900, timestamp=at(2)),
    ]
    ingest(client, tokens["ingest"], events)


def test_page_list_values(client, tokens, site) -> None:
    body = get(client, tokens["view"], PAGES, **WINDOW).json()
    assert body["pagination"] == {"nextCursor": None, "hasMore": False}
    assert body["entities"] == [
        {
            "pageKey": "https://example.com/a",
            "totalClicks": 10,
            "rageClicks": 1,
            "deadClicks": 2,
            "rageRate": 0.1,
            "deadRate": 0.2,
            # Wilson lower bound of 5/10 at z=1.96 is 0.2366; x 10/100 weight -> 2.366 -> 2.4
            "issueScore": 2.4,
            "breakpoints": [{"breakpoint": "desktop", "clicks": 6}, {"breakpoint": "mobile", "clicks": 4}],
        },
        {
            "pageKey": "https://example.com/b",
            "totalClicks": 4,
            "rageClicks": 0,
            "deadClicks": 4,
            "rageRate": 0.0,
            "deadRate": 1.0,
            # Wilson lower bound of 4/4 is 0.5101; x 4/100 -> 2.04 -> 2.0
            "issueScore": 2.0,
            "breakpoints": [{"breakpoint": "desktop", "clicks": 4}],
        },
    ]


@pytest.mark.parametrize(
    ("sort_by", "sort_dir", "expected"),
    [
        ("CLICKS", "DESC", ["a", "b"]),
        ("clicks", "asc", ["b", "a"]),
        ("RAGE_CLICKS", "DESC", ["a", "b"]),
        ("DEAD_CLICKS", "DESC", ["b", "a"]),
        ("DEAD_RATE", "ASC", ["a", "b"]),
        ("RAGE_RATE", "ASC", ["b", "a"]),
        ("ISSUE_SCORE", "DESC", ["a", "b"]),
        ("PAGE_KEY", "DESC", ["b", "a"]),
        ("page_key", "Asc", ["a", "b"]),
    ],
)
def test_sorting(client, tokens, site, sort_by: str, sort_dir: str, expected: list[str]) -> None:
    body = get(client, tokens["view"], PAGES, sortBy=sort_by, sortDir=sort_dir, **WINDOW).json()
    assert [e["pageKey"].rsplit("/", 1)[1] for e in body["entities"]] == expected


def test_ties_broken_by_page_key_ascending(client, tokens) -> None:
    ingest(
        client, tokens["ingest"], [web_click(url=f"https://example.com/{n}", timestamp=at(0)) for n in "zyx"]
    )
    for direction in ("ASC", "DESC"):
        body = get(client, tokens["view"], PAGES, sortDir=direction, **WINDOW).json()
        assert [e["pageKey"][-1] for e in body["entities"]] == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"country": "de"}, ["b"]),
        ({"country": "DE", "region": "bayern"}, ["b"]),
        ({"region": "Berlin"}, []),
        ({"browserName": "chrome"}, ["b"]),
        ({"search": "/A"}, ["a"]),
        ({"search": "example.com/"}, ["a", "b"]),
        ({"search": "%"}, []),
        ({"search": "_"}, []),
        ({"country": ""}, ["a", "b"]),
    ],
)
def test_filters(client, tokens, site, filters: dict[str, str], expected: list[str]) -> None:
    body = get(client, tokens["view"], PAGES, **filters, **WINDOW).json()
    assert [e["pageKey"].rsplit("/", 1)[1] for e in body["entities"]] == expected


def test_search_percent_and_underscore_are_literal(client, tokens) -> None:
    ingest(
        client,
        tokens["ingest"],
        [
            web_click(url="https://example.com/100%25_off", timestamp=at(0)),
            web_click(url="https://example.com/1000xoff", timestamp=at(0)),
        ],
    )
    body = get(client, tokens["view"], PAGES, search="%25_", **WINDOW).json()
    assert [e["pageKey"] for e in body["entities"]] == ["https://example.com/100%25_off"]


def test_window_includes_both_ends_and_excludes_outside(client, tokens, site) -> None:
    assert [
        e["pageKey"][-1]
        for e in get(client, tokens["view"], PAGES, **{"from": "2026-05-05", "to": "2026-05-05"}).json()[
            "entities"
        ]
    ] == ["c"]
    assert (
        get(client, tokens["view"], PAGES, **{"from": "2026-04-11", "to": "2026-05-04"}).json()["entities"]
        == []
    )


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-04-01"},
        {"to": "2026-04-01"},
        {"from": "2026-04-02", "to": "2026-04-01"},
        {"from": "2026-01-01", "to": "2026-03-02"},  # 61 days
        {"from": "2026/04/01", "to": "2026-04-02"},
        {"from": "2026-04-31", "to": "2026-05-02"},
        {"from": "2026-4-1", "to": "2026-04-02"},
        {**WINDOW, "limit": "ten"},
        {**WINDOW, "limit": "1.5"},
        {**WINDOW, "sortBy": "VISITS"},
        {**WINDOW, "sortDir": "UP"},
        {**WINDOW, "cursor": "garbage"},
    ],
)
def test_bad_parameters_are_400(client, tokens, params: dict[str, str]) -> None:
    response = get(client, tokens["view"], PAGES, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["details"]


def test_sixty_day_window_is_allowed(client, tokens) -> None:
    assert get(client, tokens["view"], PAGES, **{"from": "2026-01-01", "to": "2026-03-01"}).status_code == 200


@pytest.mark.parametrize(("limit", "size"), [("0", 1), ("-7", 1), ("1", 1), ("150", 30), ("100", 30)])
def test_limit_is_clamped(client, tokens, limit: str, size: int) -> None:
    ingest(
        client,
        tokens["ingest"],
        [web_click(url=f"https://example.com/p{i}", timestamp=at(0)) for i in range(30)],
    )
    assert len(get(client, tokens["view"], PAGES, limit=limit, **WINDOW).json()["entities"]) == size


def test_default_limit_is_25(client, tokens) -> None:
    ingest(
        client,
        tokens["ingest"],
        [web_click(url=f"https://example.com/p{i}", timestamp=at(0)) for i in range(30)],
    )
    body = get(client, tokens["view"], PAGES, **WINDOW).json()
    assert len(body["entities"]) == 25 and body["pagination"]["hasMore"] is True


def _walk(client, token, limits: list[int], **params: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for step in range(1000):
        query = {**params, "limit": limits[step % len(limits)]}
        if cursor:
            query["cursor"] = cursor
        body = get(client, token, PAGES, **query).json()
        seen += [e["pageKey"] for e in body["entities"]]
        if not body["pagination"]["hasMore"]:
            assert body["pagination"]["nextCursor"] is None
            return seen
        cursor = body["pagination"]["nextCursor"]
        assert isinstance(cursor, str)
    raise AssertionError("pagination did not end")


def test_walk_returns_every_page_once_even_while_ingesting(client, tokens) -> None:
    pages = [f"https://example.com/p{i:02d}" for i in range(23)]
    ingest(client, tokens["ingest"], [web_click(url=p, timestamp=at(i)) for i, p in enumerate(pages)])
    assert sorted(_walk(client, tokens["view"], [5], **WINDOW)) == pages
    assert sorted(_walk(client, tokens["view"], [1, 7, 3], sortBy="PAGE_KEY", **WINDOW)) == pages
    # New events between pages do not shift the walk: it answers from the snapshot of its first page.
    first = get(client, tokens["view"], PAGES, limit=10, sortBy="PAGE_KEY", sortDir="ASC", **WINDOW).json()
    ingest(client, tokens["ingest"], [web_click(url="https://example.com/p00a", timestamp=at(0))])
    rest = get(
        client,
        tokens["view"],
        PAGES,
        limit=100,
        sortBy="PAGE_KEY",
        sortDir="ASC",
        cursor=first["pagination"]["nextCursor"],
        **WINDOW,
    ).json()
    assert [e["pageKey"] for e in first["entities"] + rest["entities"]] == pages


def test_cursor_bound_to_query_and_tamper_evident(client, tokens) -> None:
    ingest(
        client,
        tokens["ingest"],
        [web_click(url=f"https://example.com/p{i}", timestamp=at(0)) for i in range(5)],
    )
    cursor = get(client, tokens["view"], PAGES, limit=2, **WINDOW).json()["pagination"]["nextCursor"]
    assert get(client, tokens["view"], PAGES, limit=3, cursor=cursor, **WINDOW).status_code == 200
    for changed in (
        {"country": "US"},
        {"search": "p"},
        {"sortBy": "PAGE_KEY"},
        {"sortDir": "ASC"},
        {"to": "2026-04-29"},
    ):
        response = get(client, tokens["view"], PAGES, cursor=cursor, **{**WINDOW, **changed})
        assert response.status_code == 400, changed
    body, signature = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["o"] = 0
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=") + "." + signature
    assert get(client, tokens["view"], PAGES, cursor=forged, **WINDOW).status_code == 400
    assert get(client, tokens["view"], PAGES, cursor=cursor[:-2], **WINDOW).status_code == 400


def test_summary_values(client, tokens, site) -> None:
    response = get(
        client,
        tokens["view"],
        SUMMARY,
        pageKey="HTTPS://EXAMPLE.com/a/?utm=1",
        breakpoint="desktop",
        **WINDOW,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # desktop clicks of /a: document width 1280 -> binX = floor(x / 1280 * 100); binY = floor(y / 16)
    assert body["clickBins"] == [
        {"binX": 0, "binY": 0, "clicks": 3},  # (10,10) (11,11) (12,12)
        {"binX": 78, "binY": 3, "clicks": 1},  # (1000, 50)
        {"binX": 39, "binY": 31, "clicks": 1},  # (500, 500)
        {"binX": 70, "binY": 56, "clicks": 1},  # (900, 900)
    ]
    assert body["deadClicks"] == [
        {"binX": 39, "binY": 31, "deadClicks": 1, "topElement": "p.intro"},
        {"binX": 70, "binY": 56, "deadClicks": 1, "topElement": "p.intro"},
    ]
    assert body["rageClicks"] == [{"binX": 0, "binY": 0, "rageEvents": 1, "totalClicks": 3}]
    # desktop scroll sessions: s1 at 55 %, s5 at 100 %
    assert body["scrollDepth"] == [{"bucket": b, "sessions": 2 if b <= 50 else 1} for b in range(0, 101, 10)]
    assert body["fold"] == {"medianViewportHeightPx": 800}  # (700 + 900) / 2
    assert body["binGeometry"] == {"columns": 100, "rowHeightPx": 16}
    urls = [(r["breakpoint"], r["url"]) for r in body["replays"]]
    base = "http://127.0.0.1:8501/session?sessionId={}&visitorId=v1&date=2026-04-10"
    assert urls == [
        ("desktop", base.format("s1")),  # 1 rage event
        ("desktop", base.format("s5")),  # no clicks, latest event
        ("mobile", base.format("s2")),
    ]


def test_summary_mobile_breakpoint_and_filters(client, tokens, site) -> None:
    body = get(
        client, tokens["view"], SUMMARY, pageKey="https://example.com/a", breakpoint="mobile", **WINDOW
    ).json()
    assert body["clickBins"] == [
        {"binX": 5 * i, "binY": 1, "clicks": 1} for i in range(4)
    ]  # x = 20i of 400 px
    assert body["scrollDepth"] == [{"bucket": b, "sessions": 0} for b in range(0, 101, 10)]
    assert body["fold"] is None
    filtered = get(
        client,
        tokens["view"],
        SUMMARY,
        pageKey="https://example.com/a",
        breakpoint="desktop",
        country="FR",
        **WINDOW,
    ).json()
    assert filtered["clickBins"] == [] and filtered["replays"] == []


def test_summary_known_page_empty_window(client, tokens, site) -> None:
    response = get(
        client, tokens["view"], SUMMARY, pageKey="https://example.com/c", breakpoint="desktop", **WINDOW
    )
    assert response.status_code == 200
    assert response.json() == {
        "clickBins": [],
        "deadClicks": [],
        "rageClicks": [],
        "scrollDepth": [{"bucket": b, "sessions": 0} for b in range(0, 101, 10)],
        "replays": [],
        "binGeometry": {"columns": 100, "rowHeightPx": 16},
        "fold": None,
    }


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"pageKey": "https://example.com/never", "breakpoint": "desktop"}, 404),
        ({"pageKey": "https://example.com/a", "breakpoint": "watch"}, 400),
        ({"pageKey": "https://example.com/a", "breakpoint": "DESKTOP"}, 400),
        ({"pageKey": "not a url", "breakpoint": "desktop"}, 400),
        ({"breakpoint": "desktop"}, 400),
        ({"pageKey": "https://example.com/a"}, 400),
    ],
)
def test_summary_errors(client, tokens, site, params: dict[str, str], status: int) -> None:
    response = get(client, tokens["view"], SUMMARY, **params, **WINDOW)
    assert response.status_code == status
    assert set(response.json()) == {"error", "details"}


@pytest.mark.parametrize("path", [PAGES, SUMMARY])
def test_query_auth(client, tokens, site, path: str) -> None:
    params = {**WINDOW, "pageKey": "https://example.com/a", "breakpoint": "desktop"}
    assert client.get(path, params=params).status_code == 401
    assert client.get(path, params=params, headers=bearer("hm_nope")).status_code == 401
    for role in ("ingest", "manage", "admin"):
        response = get(client, tokens[role], path, **params)
        assert response.status_code == 403, role
        assert response.json()["error"] == "forbidden"
    assert get(client, tokens["view"], path, **params).status_code == 200
    assert client.get(path, params={**params, "token": tokens["view"]}).status_code == 401


def test_query_rate_limit(client, tokens) -> None:
    client.app.state.ctx.settings.rate_limit_query_per_minute = 3
    statuses = [get(client, tokens["view"], PAGES, **WINDOW).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_openapi_describes_parameters_and_errors(client) -> None:
    spec = client.get("/openapi.json").json()
    pages = spec["paths"][PAGES]["get"]
    names = {p["name"] for p in pages["parameters"]}
    assert {
        "from",
        "to",
        "limit",
        "cursor",
        "country",
        "region",
        "browserName",
        "search",
        "sortBy",
        "sortDir",
    } <= names
    assert {"400", "401", "403", "429"} <= set(pages["responses"])
    assert "422" not in pages["responses"]
    summary = spec["paths"][SUMMARY]["get"]
    assert {"pageKey", "breakpoint", "from", "to"} <= {p["name"] for p in summary["parameters"]}
    assert "404" in summary["responses"]
