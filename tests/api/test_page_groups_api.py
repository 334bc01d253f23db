"""Page patterns, saved groups and segment parameters over HTTP (CONTRACT 14), on SQLite and PostgreSQL:
every new parameter and error, and group numbers worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.factories import web_click, web_scroll

DAY = {"from": "2026-04-01", "to": "2026-04-30"}
SHOP = "https://shop.example.com"


@pytest.fixture
def view(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["view"])


@pytest.fixture
def manage(tokens: dict[str, str]) -> dict[str, str]:
    return bearer(tokens["manage"])


def ingest(client: TestClient, tokens: dict[str, str], events: list[dict[str, Any]]) -> None:
    response = client.post("/rest/v1/events", json={"events": events}, headers=bearer(tokens["ingest"]))
    assert response.status_code == 200, response.text


@pytest.fixture
def shop(client: TestClient, tokens: dict[str, str], unlimited: None) -> None:
    """Two product pages of different widths, a cart page, and one session on both product pages.

    - /products/red (1000 px wide): s1 clicks x=500 y=100 (bin 50,6) and x=10 y=100; s1 scrolls 50 %
    - /products/blue (2000 px wide): s1 clicks x=1000 y=100 (bin 50,6); s1 scrolls 80 %; s2 scrolls 30 %
      and clicks three times fast at one spot (a rage event), dead
    - /cart: s3 one click
    """
    red = {"url": f"{SHOP}/products/red", "documentWidth": 1000, "viewportWidth": 1024}
    blue = {"url": f"{SHOP}/products/blue", "documentWidth": 2000, "viewportWidth": 1280}
    rage = [
        web_click(sessionId="s2", x=40, y=40, dead=True, timestamp=f"2026-04-10T13:00:00.{i}00Z", **blue)
        for i in range(3)
    ]
    ingest(
        client,
        tokens,
        [
            web_click(sessionId="s1", x=500, y=100, **red),
            web_click(sessionId="s1", x=10, y=100, **red),
            web_scroll(sessionId="s1", depth=50, **red),
            web_click(sessionId="s1", x=1000, y=100, **blue),
            web_scroll(sessionId="s1", depth=80, **blue),
            web_scroll(sessionId="s2", depth=30, **blue),
            *rage,
            web_click(sessionId="s3", url=f"{SHOP}/cart"),
        ],
    )


def summary(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(
        "/rest/v1/heatmap-pages/summary", params={**DAY, "breakpoint": "desktop", **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_pattern_summary_adds_up_its_pages(client: TestClient, view: dict[str, str], shop: None) -> None:
    body = summary(client, view, pagePattern=f"{SHOP}/products/*")
    assert body["pages"] == 2
    # Each click binned by its own page's width: x=500 of 1000 and x=1000 of 2000 share bin 50.
    assert {(b["binX"], b["binY"]): b["clicks"] for b in body["clickBins"]} == {
        (50, 6): 2,
        (1, 6): 1,
        (2, 2): 3,
    }
    assert body["rageClicks"] == [{"binX": 2, "binY": 2, "rageEvents": 1, "totalClicks": 3}]
    assert body["deadClicks"] == [{"binX": 2, "binY": 2, "deadClicks": 3, "topElement": None}]
    # s1 scrolled both pages (deepest 80 %) and counts once; s2 reached 30 %.
    reach = {b["bucket"]: b["sessions"] for b in body["scrollDepth"]}
    assert reach == {0: 2, 10: 2, 20: 2, 30: 2, 40: 1, 50: 1, 60: 1, 70: 1, 80: 1, 90: 0, 100: 0}
    # Replays ranked across both pages: s2 (a rage event) before s1.
    desktop = [r["url"] for r in body["replays"] if r["breakpoint"] == "desktop"]
    assert len(desktop) == 2 and "s2" in desktop[0] and "s1" in desktop[1]


def test_a_pattern_without_wildcard_is_that_pages_summary(
    client: TestClient, view: dict[str, str], shop: None
) -> None:
    page = summary(client, view, pageKey=f"{SHOP}/products/blue")
    group = summary(client, view, pagePattern=f"{SHOP}/products/blue")
    assert group.pop("pages") == 1
    assert "pages" not in page
    assert group == page


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"pageKey": f"{SHOP}/cart", "pagePattern": f"{SHOP}/*"}, 400, "not both"),
        ({}, 400, "pageKey (one page) or pagePattern"),
        ({"pagePattern": f"{SHOP}/*/*/*/*/*/*"}, 400, "at most 5"),
        ({"pagePattern": "shop/*"}, 400, "pagePattern must be an absolute"),
        ({"pagePattern": f"{SHOP}/nothing/*"}, 404, "matching"),
        ({"pageKey": f"{SHOP}/cart", "tag": "novalue"}, 400, "tag must be key:value"),
        ({"pageKey": f"{SHOP}/cart", "tag": "bad key:1"}, 400, "tag must be key:value"),
        ({"pageKey": f"{SHOP}/cart", "visitorType": "old"}, 400, "visitorType must be new or returning"),
    ],
)
def test_summary_parameter_errors(
    client: TestClient, view: dict[str, str], shop: None, params: dict[str, str], status: int, words: str
) -> None:
    response = client.get(
        "/rest/v1/heatmap-pages/summary", params={**DAY, "breakpoint": "desktop", **params}, headers=view
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == {400: "bad_request", 404: "not_found"}[status]
    assert words in body["details"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/rest/v1/heatmap-pages", {"tag": "nocolon"}),
        ("/rest/v1/heatmap-pages", {"visitorType": "sometimes"}),
        ("/rest/v1/heatmap-pages", {"pagePattern": "https://a.example/******"}),
        ("/rest/v1/page-groups", {"tag": "x"}),
        ("/rest/v1/page-groups", {"visitorType": "x"}),
        ("/rest/v1/sessions", {"tag": ":x"}),
        ("/rest/v1/sessions", {"visitorType": "x"}),
    ],
)
def test_list_parameter_errors(
    client: TestClient, view: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params={**DAY, **params}, headers=view)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"


def test_the_pages_list_keeps_only_pages_matching_the_pattern(
    client: TestClient, view: dict[str, str], shop: None
) -> None:
    response = client.get(
        "/rest/v1/heatmap-pages",
        params={
            **DAY,
            "pagePattern": "HTTPS://Shop.Example.com/products/*/",
            "sortBy": "PAGE_KEY",
            "sortDir": "ASC",
        },
        headers=view,
    )
    assert response.status_code == 200, response.text
    assert [e["pageKey"] for e in response.json()["entities"]] == [
        f"{SHOP}/products/blue",
        f"{SHOP}/products/red",
    ]


def test_saved_groups_are_created_listed_with_totals_and_deleted(
    client: TestClient, view: dict[str, str], manage: dict[str, str], shop: None
) -> None:
    created = client.post(
        "/rest/v1/page-groups", json={"name": "Products", "pattern": f"{SHOP}/products/*/"}, headers=manage
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group == {"id": group["id"], "name": "Products", "pattern": f"{SHOP}/products/*"}
    client.post("/rest/v1/page-groups", json={"name": "Cart", "pattern": f"{SHOP}/cart"}, headers=manage)
    client.post("/rest/v1/page-groups", json={"name": "Blog", "pattern": f"{SHOP}/blog/*"}, headers=manage)

    plain = client.get("/rest/v1/page-groups", headers=view).json()["groups"]
    assert [g["name"] for g in plain] == ["Blog", "Cart", "Products"]
    assert set(plain[0]) == {"id", "name", "pattern"}

    listed = client.get("/rest/v1/page-groups", params=DAY, headers=view).json()["groups"]
    assert [g["name"] for g in listed] == ["Products", "Cart", "Blog"]  # clicks desc
    products = listed[0]
    # 3 clicks on red/blue by s1, 3 rage clicks (one rage event), all dead, by s2.
    assert products == {
        "id": group["id"],
        "name": "Products",
        "pattern": f"{SHOP}/products/*",
        "totalClicks": 6,
        "rageClicks": 1,
        "deadClicks": 3,
        "rageRate": 1 / 6,
        "deadRate": 0.5,
        "issueScore": products["issueScore"],
        "breakpoints": [{"breakpoint": "desktop", "clicks": 6}],
        "pages": 2,
    }
    assert 0 < products["issueScore"] < 100
    assert listed[2] | {"id": None} == {
        "id": None,
        "name": "Blog",
        "pattern": f"{SHOP}/blog/*",
        "totalClicks": 0,
        "rageClicks": 0,
        "deadClicks": 0,
        "rageRate": 0.0,
        "deadRate": 0.0,
        "issueScore": 0.0,
        "breakpoints": [],
        "pages": 0,
    }
    by_name = client.get(
        "/rest/v1/page-groups", params={**DAY, "sortBy": "page_key", "sortDir": "asc"}, headers=view
    ).json()["groups"]
    assert [g["name"] for g in by_name] == ["Blog", "Cart", "Products"]

    assert client.delete(f"/rest/v1/page-groups/{group['id']}", headers=manage).status_code == 204
    again = client.delete(f"/rest/v1/page-groups/{group['id']}", headers=manage)
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    assert [g["name"] for g in client.get("/rest/v1/page-groups", headers=view).json()["groups"]] == [
        "Blog",
        "Cart",
    ]


def test_group_totals_follow_segment_filters(
    client: TestClient, tokens: dict[str, str], view: dict[str, str], manage: dict[str, str], unlimited: None
) -> None:
    ingest(
        client,
        tokens,
        [
            web_click(url=f"{SHOP}/products/a", sessionId="s1", utmSource="news"),
            web_click(url=f"{SHOP}/products/b", sessionId="s2", utmSource="ads", tags={"variant": "B"}),
            web_click(url=f"{SHOP}/products/b", sessionId="s2", utmSource="ads", tags={"variant": "B"}),
        ],
    )
    client.post("/rest/v1/page-groups", json={"name": "P", "pattern": f"{SHOP}/products/*"}, headers=manage)

    def clicks(**filters: str) -> int:
        groups = client.get("/rest/v1/page-groups", params={**DAY, **filters}, headers=view).json()["groups"]
        return groups[0]["totalClicks"]

    assert clicks() == 3
    assert clicks(utmSource="NEWS") == 1
    assert clicks(tag="variant:B") == 2
    assert clicks(visitorType="returning") == 2  # v1's second session
    assert clicks(visitorType="new", utmSource="ads") == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"pattern": f"{SHOP}/*"}, "name is required"),
        ({"name": "  ", "pattern": f"{SHOP}/*"}, "name is required"),
        ({"name": "x" * 101, "pattern": f"{SHOP}/*"}, "at most 100"),
        ({"name": "A"}, "pattern is required"),
        ({"name": "A", "pattern": f"{SHOP}/*/*/*/*/*/*"}, "at most 5"),
        ({"name": "A", "pattern": "not a url"}, "pagePattern"),
        ({"name": "Taken", "pattern": f"{SHOP}/*"}, "exists already"),
    ],
)
def test_bad_groups_are_refused_and_nothing_is_stored(
    client: TestClient, view: dict[str, str], manage: dict[str, str], body: dict[str, Any], words: str
) -> None:
    client.post("/rest/v1/page-groups", json={"name": "taken", "pattern": f"{SHOP}/t"}, headers=manage)
    response = client.post("/rest/v1/page-groups", json=body, headers=manage)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert words in response.json()["details"]
    assert len(client.get("/rest/v1/page-groups", headers=view).json()["groups"]) == 1


def test_segment_filters_reach_the_summary_and_the_sessions_list(
    client: TestClient, tokens: dict[str, str], view: dict[str, str], unlimited: None
) -> None:
    page = f"{SHOP}/landing"
    ingest(
        client,
        tokens,
        [
            web_click(url=page, sessionId="s1", visitorId="v1", referrerHost="news.example", x=10),
            web_click(url=page, sessionId="s2", visitorId="v2", utmCampaign="spring", x=500),
        ],
    )
    body = summary(client, view, pageKey=page, referrerHost="NEWS.example")
    assert [(b["binX"], b["clicks"]) for b in body["clickBins"]] == [(0, 1)]
    body = summary(client, view, pageKey=page, utmCampaign="Spring")
    assert [(b["binX"], b["clicks"]) for b in body["clickBins"]] == [(39, 1)]
    sessions = client.get("/rest/v1/sessions", params={**DAY, "utmCampaign": "spring"}, headers=view)
    assert [s["sessionId"] for s in sessions.json()["entities"]] == ["s2"]


SEGMENTED = f"{SHOP}/products/a"


@pytest.fixture
def segmented(client: TestClient, tokens: dict[str, str], unlimited: None) -> None:
    """One page, four sessions (clicks): s1 news/email/spring from search.example, variant B, 3 clicks;
    s2 (s1's visitor again) news/social, variant A, 2 clicks; s3 from other.example, 1 click; s4 ads,
    1 click."""
    s1 = {"utmSource": "news", "utmMedium": "email", "utmCampaign": "spring",
          "referrerHost": "search.example", "tags": {"variant": "B"}, "sessionId": "s1",
          "visitorId": "v1"}  # fmt: skip
    s2 = {"utmSource": "news", "utmMedium": "social", "tags": {"variant": "A"}, "sessionId": "s2",
          "visitorId": "v1", "timestamp": "2026-04-12T12:00:00Z"}  # fmt: skip
    s3 = {"referrerHost": "other.example", "sessionId": "s3", "visitorId": "v2"}
    s4 = {"utmSource": "ads", "sessionId": "s4", "visitorId": "v3"}
    clicks = [(s1, 3), (s2, 2), (s3, 1), (s4, 1)]
    events = [web_click(url=SEGMENTED, x=10 * n, **fields) for fields, count in clicks for n in range(count)]
    ingest(client, tokens, events)


SEGMENT_PARAMETERS = [
    ({}, 7, 4),
    ({"utmSource": "NEWS"}, 5, 2),
    ({"utmSource": "news", "utmMedium": "Social"}, 2, 1),
    ({"utmCampaign": "spring"}, 3, 1),
    ({"referrerHost": "OTHER.example"}, 1, 1),
    ({"visitorType": "new"}, 5, 3),
    ({"visitorType": "returning"}, 2, 1),
    ({"tag": "variant:B"}, 3, 1),
    ({"tag": "variant:C"}, 0, 0),
]


@pytest.mark.parametrize(("filters", "expected_clicks", "expected_sessions"), SEGMENT_PARAMETERS)
def test_every_segment_parameter_filters_the_list_the_summary_and_the_sessions(
    client: TestClient,
    view: dict[str, str],
    segmented: None,
    filters: dict[str, str],
    expected_clicks: int,
    expected_sessions: int,
) -> None:
    """Each segment parameter, spelled as a client would, reaches the pages list, the summary and the
    sessions list over HTTP and keeps exactly its sessions' clicks."""
    params = {**DAY, **filters}
    pages = client.get("/rest/v1/heatmap-pages", params=params, headers=view)
    assert pages.status_code == 200, pages.text
    listed = {page["pageKey"]: page["totalClicks"] for page in pages.json()["entities"]}
    assert listed == ({SEGMENTED: expected_clicks} if expected_clicks else {})
    summary = client.get(
        "/rest/v1/heatmap-pages/summary",
        params={**params, "pageKey": SEGMENTED, "breakpoint": "desktop"},
        headers=view,
    )
    assert summary.status_code == 200, summary.text
    assert sum(cell["clicks"] for cell in summary.json()["clickBins"]) == expected_clicks
    sessions = client.get("/rest/v1/sessions", params=params, headers=view)
    assert sessions.status_code == 200, sessions.text
    assert len(sessions.json()["entities"]) == expected_sessions
