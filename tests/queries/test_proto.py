"""proto/heatmap/v1/heatmap.proto compiles and its proto3 JSON form matches CONTRACT 5."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import protoc

json_format = pytest.importorskip("google.protobuf.json_format", reason="protobuf is needed to load it")


def test_protoc_compiles_without_warnings(tmp_path: Path) -> None:
    result = protoc(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert (tmp_path / "heatmap" / "v1" / "heatmap_pb2.py").is_file()
    assert (tmp_path / "heatmap" / "v1" / "heatmap_pb2_grpc.py").is_file()


def test_service_has_the_four_methods(pb2: ModuleType) -> None:
    service = pb2.DESCRIPTOR.services_by_name["HeatmapService"]
    assert pb2.DESCRIPTOR.package == "heatmap.v1"
    assert {method.name: (method.input_type.name, method.output_type.name) for method in service.methods} == {
        "IngestTouchEvents": ("IngestTouchEventsRequest", "IngestTouchEventsResponse"),
        "QueryHeatmapData": ("QueryHeatmapDataRequest", "QueryHeatmapDataResponse"),
        "ListScreenshots": ("ListScreenshotsRequest", "ListScreenshotsResponse"),
        "UploadScreenshot": ("UploadScreenshotRequest", "UploadScreenshotResponse"),
    }


def test_enum_value_names_are_the_contract_json_names(pb2: ModuleType) -> None:
    touch = pb2.DESCRIPTOR.enum_types_by_name["TouchEventType"]
    mode = pb2.DESCRIPTOR.enum_types_by_name["HeatmapMode"]
    assert {v.number: v.name for v in touch.values} == {
        0: "TOUCH_EVENT_TYPE_UNSPECIFIED",
        1: "TAP",
        2: "SCROLL",
        3: "ACTION_CLICK",
    }
    assert {v.number: v.name for v in mode.values} == {
        0: "HEATMAP_MODE_UNSPECIFIED",
        1: "ALL_USERS",
        2: "PER_USER",
    }


def test_message_fields(pb2: ModuleType) -> None:
    def fields(message: str) -> dict[str, str]:
        return {f.name: f.json_name for f in pb2.DESCRIPTOR.message_types_by_name[message].fields}

    assert fields("TouchEvent") == {
        "screen_name": "screenName",
        "x": "x",
        "y": "y",
        "timestamp": "timestamp",
        "campaign_id": "campaignId",
        "event_type": "eventType",
        "event_id": "eventId",
    }
    assert fields("HeatmapDataPoint") == {"x": "x", "y": "y", "count": "count", "user_id": "userId"}
    assert fields("UserTouchCount") == {"user_id": "userId", "touch_count": "touchCount"}
    assert fields("ScreenScreenshot") == {
        "id": "id",
        "screen_name": "screenName",
        "width": "width",
        "height": "height",
        "size_bytes": "sizeBytes",
        "sha256": "sha256",
        "created_at": "createdAt",
    }
    assert fields("UploadScreenshotRequest") == {
        "screen_name": "screenName",
        "image_data": "imageData",
        "width": "width",
        "height": "height",
    }


def test_query_request_json_uses_from_and_to(pb2: ModuleType) -> None:
    request = pb2.QueryHeatmapDataRequest(
        screen_name="Home",
        mode=pb2.PER_USER,
        user_id="u1",
        event_types=[pb2.TAP, pb2.ACTION_CLICK],
        from_day="2024-03-01",
        to_day="2024-03-31",
    )
    assert json_format.MessageToDict(request) == {
        "screenName": "Home",
        "mode": "PER_USER",
        "userId": "u1",
        "eventTypes": ["TAP", "ACTION_CLICK"],
        "from": "2024-03-01",
        "to": "2024-03-31",
    }
    # Requests may use the original snake_case names as well as the JSON names.
    parsed = json_format.ParseDict(
        {"screen_name": "Home", "event_types": ["SCROLL"], "from": "2024-03-01", "to": "2024-03-02"},
        pb2.QueryHeatmapDataRequest(),
    )
    assert (parsed.screen_name, list(parsed.event_types), parsed.from_day, parsed.to_day) == (
        "Home",
        [pb2.SCROLL],
        "2024-03-01",
        "2024-03-02",
    )
    assert not parsed.HasField("campaign_id")


def test_response_json_prints_numbers_and_rfc3339(pb2: ModuleType) -> None:
    assert json_format.MessageToDict(pb2.IngestTouchEventsResponse(ingested_count=3)) == {"ingestedCount": 3}
    response = pb2.QueryHeatmapDataResponse(
        data_points=[pb2.HeatmapDataPoint(x=0.995, y=0.005, count=2, user_id="u1")],
        user_touch_counts=[pb2.UserTouchCount(user_id="u1", touch_count=2)],
    )
    assert json_format.MessageToDict(response) == {
        "dataPoints": [{"x": 0.995, "y": 0.005, "count": 2, "userId": "u1"}],
        "userTouchCounts": [{"userId": "u1", "touchCount": 2}],
    }
    shot = pb2.ScreenScreenshot(
        id="ab" * 16, screen_name="Home", width=1080, height=2400, size_bytes=12345, sha256="0" * 64
    )
    shot.created_at.FromJsonString("2024-03-01T12:30:00Z")
    assert json_format.MessageToDict(pb2.UploadScreenshotResponse(screenshot=shot)) == {
        "screenshot": {
            "id": "ab" * 16,
            "screenName": "Home",
            "width": 1080,
            "height": 2400,
            "sizeBytes": 12345,
            "sha256": "0" * 64,
            "createdAt": "2024-03-01T12:30:00Z",
        }
    }


def test_touch_event_parses_from_json(pb2: ModuleType) -> None:
    event = json_format.ParseDict(
        {
            "screenName": "Home",
            "x": 0.25,
            "y": 1.0,
            "timestamp": "2024-03-01T12:30:00.250+02:00",
            "event_type": "ACTION_CLICK",
            "eventId": "e-1",
        },
        pb2.TouchEvent(),
    )
    assert (event.screen_name, event.x, event.y, event.event_type, event.event_id) == (
        "Home",
        0.25,
        1.0,
        pb2.ACTION_CLICK,
        "e-1",
    )
    assert event.timestamp.ToJsonString() == "2024-03-01T10:30:00.250Z"
