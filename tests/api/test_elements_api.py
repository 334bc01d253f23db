"""``GET /rest/v1/heatmap-pages/elements`` (CONTRACT 15) over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.factories import web_click

DAY = {"from": "2026-04-01", "to": "2026-04-30"}
PAGE = "https://example.com/pricing"


@pytest.fixture
def clicked(client: TestClient, tokens: dict[str, str], unlimited: None) -> None:
    """#buy: 3 fast clicks at one spot (a rage event starting on #buy), boxes reported twice; the 3rd is
    dead. nav a: 1 click with a box, on another page of the same site too. One click without a selector."""
    box = {"x": 90, "y": 180, "width": 120, "height": 40}
    events = [
        web_click(selector="#buy", elementRect=box, timestamp="2026-04-10T12:00:00.000Z"),
        web_click(selector="#buy", elementRect={**box, "y": 190}, timestamp="2026-04-10T12:00:00.200Z"),
        web_click(selector="#buy", dead=True, timestamp="2026-04-10T12:00:00.400Z"),
        web_click(
            selector="nav a",
            elementRect={"x": 0, "y": 0, "width": 60, "height": 20},
            x=5,
            y=5,
            sessionId="s5",
        ),
        web_click(x=700, y=900, sessionId="s2"),
        web_click(selector="nav a", url="https://example.com/about", sessionId="s3"),
        web_click(selector="#buy", viewportWidth=400, documentWidth=400, sessionId="s4"),  # mobile
    ]
    response = client.post("/rest/v1/events", json={"events": events}, headers=bearer(tokens["ingest"]))
    assert response.status_code == 200, response.text


def elements(client: TestClient, tokens: dict[str, str], **params: Any) -> Any:
    response = client.get(
        "/rest/v1/heatmap-pages/elements",
        params={**DAY, "breakpoint": "desktop", **params},
        headers=bearer(tokens["view"]),
    )
    return response


def test_elements_of_a_page(client: TestClient, tokens: dict[str, str], clicked: None) -> None:
    response = elements(client, tokens, pageKey=PAGE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "elements": [
            {"selector": "#buy", "clicks": 3, "share": 0.6, "rageEvents": 1, "deadClicks": 1,
             "rect": {"x": 90.0, "y": 185.0, "width": 120.0, "height": 40.0}},
            {"selector": "nav a", "clicks": 1, "share": 0.2, "rageEvents": 0, "deadClicks": 0,
             "rect": {"x": 0.0, "y": 0.0, "width": 60.0, "height": 20.0}},
        ]
    }  # fmt: skip


def test_elements_of_a_pattern_limit_and_filters(
    client: TestClient, tokens: dict[str, str], clicked: None
) -> None:
    body = elements(client, tokens, pagePattern="https://example.com/*", limit="1").json()
    assert [(e["selector"], e["clicks"], e["share"]) for e in body["elements"]] == [("#buy", 3, 0.5)]
    body = elements(client, tokens, pageKey=PAGE, breakpoint="mobile").json()
    assert [(e["selector"], e["share"], e["rect"]) for e in body["elements"]] == [("#buy", 1.0, None)]
    body = elements(client, tokens, pageKey=PAGE, country="DE").json()
    assert body == {"elements": []}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"pageKey": PAGE, "limit": "many"}, 400),
        ({"pageKey": PAGE, "breakpoint": "watch"}, 400),
        ({"pageKey": PAGE, "pagePattern": "https://example.com/*"}, 400),
        ({}, 400),
        ({"pageKey": PAGE, "from": "2026-04-30", "to": "2026-04-01"}, 400),
        ({"pageKey": PAGE, "tag": "x"}, 400),
        ({"pageKey": "https://example.com/never"}, 404),
    ],
)
def test_element_errors(
    client: TestClient, tokens: dict[str, str], clicked: None, params: dict[str, str], status: int
) -> None:
    response = elements(client, tokens, **params)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "details"}


def test_limit_is_clamped(client: TestClient, tokens: dict[str, str], clicked: None) -> None:
    assert len(elements(client, tokens, pageKey=PAGE, limit="0").json()["elements"]) == 1
    assert len(elements(client, tokens, pageKey=PAGE, limit="1000").json()["elements"]) == 2
