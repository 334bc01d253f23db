"""HeatmapService over Connect unary JSON, called as a generated Connect client would (CONTRACT 5, 6)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import bearer
from tests.factories import touch

SERVICE = "/heatmap.v1.HeatmapService"


def call(client: TestClient, token: str | None, method: str, body: dict[str, Any]):
    headers = {"Content-Type": "application/json", "Connect-Protocol-Version": "1"}
    if token:
        headers.update(bearer(token))
    return client.post(f"{SERVICE}/{method}", json=body, headers=headers)


def png(width: int = 4, height: int = 8, colour: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_ingest_and_idempotency(client, tokens) -> None:
    events = [
        touch(eventId="t1"),
        touch(eventId="t2", screen_name="cart", event_type="SCROLL", screenName=...),
    ]
    response = call(client, tokens["ingest"], "IngestTouchEvents", {"events": events})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"ingestedCount": 2}
    assert call(client, tokens["ingest"], "IngestTouchEvents", {"events": events}).json() == {
        "ingestedCount": 0
    }


@pytest.mark.parametrize(
    "event",
    [
        touch(screenName=""),
        touch(screenName="s" * 201),
        touch(screenName=...),
        touch(x=1.01),
        touch(y=-0.1),
        touch(x="0.5"),
        touch(timestamp=...),
        touch(timestamp="2026-04-10"),
        touch(timestamp="2999-01-01T00:00:00Z"),
        touch(campaignId="c" * 129),
        touch(eventType=...),
        touch(eventType="TOUCH_EVENT_TYPE_UNSPECIFIED"),
        touch(eventType=0),
        touch(eventType="SWIPE"),
        touch(eventId="bad id"),
    ],
)
def test_ingest_rules_refuse_whole_batch(client, tokens, event: dict[str, Any]) -> None:
    response = call(client, tokens["ingest"], "IngestTouchEvents", {"events": [touch(), event]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_argument"
    assert "events[1]" in body["message"] and "events[0]" not in body["message"]
    query = call(client, tokens["view"], "QueryHeatmapData", {"screenName": "home_feed"}).json()
    assert query["dataPoints"] == []


@pytest.mark.parametrize("size", [0, 501])
def test_ingest_batch_size(client, tokens, size: int) -> None:
    response = call(client, tokens["ingest"], "IngestTouchEvents", {"events": [touch() for _ in range(size)]})
    assert response.status_code == 400 and response.json()["code"] == "invalid_argument"


def test_events_attributed_to_token_user_and_per_user_query(client, tokens, api_app) -> None:
    from data_layer.auth import create_token

    engine = api_app.state.ctx.engine
    alice = create_token(engine, "alice")[1]
    bob = create_token(engine, "bob")[1]
    carol = create_token(engine, "carol")[1]
    # alice: 2 taps in cell (10, 20) and 1 scroll in (99, 0); bob: 3 taps in cell (10, 20); carol: 1 tap on
    # another campaign. A userId sent in the body is ignored: events belong to the token's user.
    call(client, alice, "IngestTouchEvents", {"events": [
        touch(x=0.105, y=0.2, campaignId="spring", userId="mallory"),
        touch(x=0.1, y=0.209, campaignId="spring"),
        touch(x=1.0, y=0.0, campaignId="spring", eventType="SCROLL"),
    ]})  # fmt: skip
    call(
        client,
        bob,
        "IngestTouchEvents",
        {"events": [touch(x=0.104, y=0.201, campaignId="spring") for _ in range(3)]},
    )
    call(client, carol, "IngestTouchEvents", {"events": [touch(x=0.5, y=0.5, campaignId="autumn")]})

    all_users = call(
        client, tokens["view"], "QueryHeatmapData", {"screenName": "home_feed", "campaignId": "spring"}
    ).json()
    assert all_users == {
        "dataPoints": [{"x": 0.995, "y": 0.005, "count": 1}, {"x": 0.105, "y": 0.205, "count": 5}],
        "userTouchCounts": [],
    }
    per_user = call(
        client,
        tokens["view"],
        "QueryHeatmapData",
        {"screen_name": "home_feed", "campaign_id": "spring", "mode": "PER_USER"},
    ).json()
    assert per_user == {
        "dataPoints": [
            {"x": 0.995, "y": 0.005, "count": 1, "userId": "alice"},
            {"x": 0.105, "y": 0.205, "count": 2, "userId": "alice"},
            {"x": 0.105, "y": 0.205, "count": 3, "userId": "bob"},
        ],
        "userTouchCounts": [{"userId": "alice", "touchCount": 3}, {"userId": "bob", "touchCount": 3}],
    }
    only_bob_taps = call(
        client,
        tokens["view"],
        "QueryHeatmapData",
        {"screenName": "home_feed", "mode": "PER_USER", "userId": "bob", "eventTypes": ["TAP"]},
    ).json()
    assert only_bob_taps == {
        "dataPoints": [{"x": 0.105, "y": 0.205, "count": 3, "userId": "bob"}],
        # counts cover every user matching the other filters (TAP, all campaigns)
        "userTouchCounts": [
            {"userId": "bob", "touchCount": 3},
            {"userId": "alice", "touchCount": 2},
            {"userId": "carol", "touchCount": 1},
        ],
    }


def test_query_day_window(client, tokens) -> None:
    call(client, tokens["ingest"], "IngestTouchEvents", {"events": [
        touch(timestamp="2026-04-01T23:59:59Z"),
        touch(timestamp="2026-04-02T00:00:00Z"),
        touch(timestamp="2026-04-03T00:00:00Z"),
    ]})  # fmt: skip
    body = {"screenName": "home_feed", "from": "2026-04-02", "to": "2026-04-02"}
    assert call(client, tokens["view"], "QueryHeatmapData", body).json()["dataPoints"] == [
        {"x": 0.505, "y": 0.505, "count": 1}
    ]
    assert (
        call(client, tokens["view"], "QueryHeatmapData", {"screenName": "home_feed"}).json()["dataPoints"][0][
            "count"
        ]
        == 3
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"screenName": ""},
        {"screenName": "home_feed", "userId": "bob"},
        {"screenName": "home_feed", "mode": "ALL_USERS", "userId": "bob"},
        {"screenName": "home_feed", "mode": "SOME_USERS"},
        {"screenName": "home_feed", "eventTypes": ["TAP", "SWIPE"]},
        {"screenName": "home_feed", "eventTypes": ["TOUCH_EVENT_TYPE_UNSPECIFIED"]},
        {"screenName": "home_feed", "from": "2026-04-10", "to": "2026-04-01"},
        {"screenName": "home_feed", "from": "2026-01-01", "to": "2026-03-02"},
        {"screenName": "home_feed", "from": "yesterday"},
    ],
)
def test_query_invalid_arguments(client, tokens, body: dict[str, Any]) -> None:
    response = call(client, tokens["view"], "QueryHeatmapData", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"


def test_screenshot_upload_and_list(client, tokens) -> None:
    image = png(4, 8)
    upload = {
        "screenName": "home_feed",
        "imageData": base64.b64encode(image).decode(),
        "width": 4,
        "height": 8,
    }
    first = call(client, tokens["manage"], "UploadScreenshot", upload)
    assert first.status_code == 200, first.text
    shot = first.json()["screenshot"]
    assert set(shot) == {"id", "screenName", "width", "height", "sizeBytes", "sha256", "createdAt"}
    assert (shot["screenName"], shot["width"], shot["height"], shot["sizeBytes"]) == (
        "home_feed",
        4,
        8,
        len(image),
    )
    second = call(
        client,
        tokens["manage"],
        "UploadScreenshot",
        {**upload, "imageData": base64.urlsafe_b64encode(png(4, 8, (0, 0, 255))).decode().rstrip("=")},
    )
    assert second.status_code == 200
    listed = call(client, tokens["view"], "ListScreenshots", {"screen_name": "home_feed"}).json()[
        "screenshots"
    ]
    assert [s["id"] for s in listed] == [second.json()["screenshot"]["id"], shot["id"]]
    assert call(client, tokens["view"], "ListScreenshots", {"screenName": "other"}).json() == {
        "screenshots": []
    }
    image_bytes = client.get(f"/rest/v1/screenshots/{shot['id']}", headers=bearer(tokens["view"]))
    assert image_bytes.status_code == 200
    assert image_bytes.headers["content-type"] == "image/png" and image_bytes.content == image


@pytest.mark.parametrize(
    "change",
    [
        {"width": 5},
        {"height": 9},
        {"width": ...},
        {"imageData": "!!!not base64!!!"},
        {"imageData": base64.b64encode(b"GIF89a not a png").decode()},
        {"screenName": ""},
    ],
)
def test_screenshot_upload_invalid(client, tokens, change: dict[str, Any]) -> None:
    upload = {
        "screenName": "s",
        "imageData": base64.b64encode(png(4, 8)).decode(),
        "width": 4,
        "height": 8,
        **change,
    }
    upload = {k: v for k, v in upload.items() if v is not ...}
    response = call(client, tokens["manage"], "UploadScreenshot", upload)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"


def test_jpeg_is_refused(client, tokens) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 8)).save(buffer, format="JPEG")
    upload = {
        "screenName": "s",
        "imageData": base64.b64encode(buffer.getvalue()).decode(),
        "width": 4,
        "height": 8,
    }
    assert call(client, tokens["manage"], "UploadScreenshot", upload).json()["code"] == "invalid_argument"


@pytest.mark.parametrize(
    ("role", "method", "code"),
    [
        (None, "IngestTouchEvents", "unauthenticated"),
        ("bogus", "IngestTouchEvents", "unauthenticated"),
        (None, "QueryHeatmapData", "unauthenticated"),
        ("ingest", "QueryHeatmapData", "permission_denied"),
        ("manage", "QueryHeatmapData", "permission_denied"),
        ("ingest", "ListScreenshots", "permission_denied"),
        ("view", "UploadScreenshot", "permission_denied"),
        ("admin", "UploadScreenshot", "permission_denied"),
    ],
)
def test_auth_errors(client, tokens, role: str | None, method: str, code: str) -> None:
    token = {None: None, "bogus": "hm_bogus"}.get(role, tokens.get(role or "", ""))
    response = call(client, token, method, {"screenName": "x"})
    assert response.json()["code"] == code
    assert response.status_code == {"unauthenticated": 401, "permission_denied": 403}[code]


def test_rate_limit_is_resource_exhausted(client, tokens) -> None:
    client.app.state.ctx.settings.rate_limit_query_per_minute = 1
    assert call(client, tokens["view"], "ListScreenshots", {"screenName": "x"}).status_code == 200
    response = call(client, tokens["view"], "ListScreenshots", {"screenName": "x"})
    assert response.status_code == 429
    assert response.json()["code"] == "resource_exhausted"
    assert int(response.headers["retry-after"]) >= 1


def test_protocol_errors(client, tokens) -> None:
    unknown = call(client, tokens["view"], "DeleteEverything", {})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unimplemented"
    headers = {**bearer(tokens["view"]), "Content-Type": "application/json"}
    bad_json = client.post(f"{SERVICE}/ListScreenshots", content=b"{oops", headers=headers)
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "invalid_argument"
    proto = client.post(
        f"{SERVICE}/ListScreenshots",
        content=b"\x0a\x01x",
        headers={**headers, "Content-Type": "application/proto"},
    )
    assert proto.status_code == 415


def test_web_page_screenshot_rest(client, tokens) -> None:
    image = png(10, 30)
    params = {"pageKey": "https://Example.com/pricing/", "breakpoint": "desktop"}
    put = client.put(
        "/rest/v1/heatmap-pages/screenshot",
        params=params,
        content=image,
        headers={**bearer(tokens["manage"]), "Content-Type": "image/png"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["pageKey"] == "https://example.com/pricing" and put.json()["width"] == 10
    again = client.put(
        "/rest/v1/heatmap-pages/screenshot", params=params, content=image, headers=bearer(tokens["manage"])
    )
    assert again.json()["sha256"] == put.json()["sha256"]
    listed = client.get(
        "/rest/v1/heatmap-pages/screenshots", params=params, headers=bearer(tokens["view"])
    ).json()
    assert len(listed["screenshots"]) == 2
    assert (
        client.put(
            "/rest/v1/heatmap-pages/screenshot", params=params, content=image, headers=bearer(tokens["view"])
        ).status_code
        == 403
    )
    bad = client.put(
        "/rest/v1/heatmap-pages/screenshot",
        params=params,
        content=b"\xff\xd8\xff not png",
        headers=bearer(tokens["manage"]),
    )
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    wrong_bp = client.put(
        "/rest/v1/heatmap-pages/screenshot",
        params={**params, "breakpoint": "tv"},
        content=image,
        headers=bearer(tokens["manage"]),
    )
    assert wrong_bp.status_code == 400
    missing = client.get("/rest/v1/screenshots/nope", headers=bearer(tokens["view"]))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
