"""Text that is not Unicode is refused at the API's edge, on every route, and changes nothing.

A JSON string may escape a lone UTF-16 surrogate (``"\\ud800"``): Python's parser accepts it, no
database can store it. A URL may percent-encode bytes that are not UTF-8 (``%ED%A0%80`` is a
surrogate). Each field of every operation is sent such a value, the fields listed from the product's
own descriptions rather than by hand: WebEvent fields from ``WebEventIn``, HeatmapService request fields
from the compiled proto (under their JSON and their original names), query and path parameters from the
OpenAPI document. Every answer must be a 400 in the face's error shape naming where the text was, and
no table and no screenshot file may change. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from google.protobuf.descriptor import Descriptor
from sqlalchemy import Engine

from api.errors import SERVICE
from data_layer.event_models import WebEventIn
from data_layer.settings import Settings
from tests.api.test_hostile_input import png, tables
from tests.conftest import bearer
from tests.factories import recording_chunk, touch, web_click

LONE_SURROGATES = ["\ud800", "x\udfffy", "\udc00\ud800"]  # high, low, a pair in the wrong order
NOT_UTF8 = ["%ED%A0%80", "%FF", "a%C0%AF"]  # a surrogate, a byte never in UTF-8, an overlong "/"
DAY = "2026-04-10"
VALID_PARAMETERS = {
    "from": DAY,
    "to": DAY,
    "pageKey": "https://example.com/pricing",
    "breakpoint": "desktop",
    "screenshot_id": "0" * 32,
    "capture_id": "0" * 32,
    "sessionId": "s1",
}
Place = tuple[str | int, ...]


@pytest.fixture
def fingerprint(engine: Engine, settings: Settings):
    """What a refused request must leave alone: every table's row count and the screenshot files."""

    def take() -> tuple[dict[str, int], list[Path]]:
        return tables(engine), sorted(settings.screenshot_dir.rglob("*"))

    return take


def with_value(request: dict[str, Any], place: Place, names: set[str], value: Any) -> dict[str, Any]:
    """A copy of ``request`` with ``value`` at ``place``, the field's other names removed."""
    changed = copy.deepcopy(request)
    parent = changed
    for step in place[:-1]:
        parent = parent[step]
    for name in names:
        parent.pop(name, None)
    parent[place[-1]] = value
    return changed


def json_path(place: Place) -> str:
    """``("events", 0, "screenName")`` as the API names it: ``events[0].screenName``."""
    path = ""
    for step in place:
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else step
    return path


# -- REST ingestion --------------------------------------------------------------------------------------


def web_event_fields() -> list[str]:
    """Every WebEvent field by its JSON name, from the model that validates them."""
    return [field.alias or name for name, field in WebEventIn.model_fields.items()]


def test_web_event_fields_come_from_the_model() -> None:
    assert {"sessionId", "visitorId", "url", "selector", "region", "browserName", "userAgent"} <= set(
        web_event_fields()
    )


@pytest.mark.parametrize("media_type", ["application/json", "text/plain"])
def test_every_web_event_field(client: TestClient, tokens, fingerprint, unlimited, media_type: str) -> None:
    headers = {**bearer(tokens["ingest"]), "Content-Type": media_type}
    base = {"events": [web_click()]}
    assert client.post("/rest/v1/events", content=json.dumps(base), headers=headers).status_code == 200
    before = fingerprint()
    places: list[Place] = [("events", 0, name) for name in web_event_fields()]
    places += [("events", 0, "unknownField"), ("padding",)]  # ignored fields are no way in either
    for place in places:
        for text in LONE_SURROGATES:
            body = json.dumps(with_value(base, place, set(), text))
            response = client.post("/rest/v1/events", content=body, headers=headers)
            assert_refused_rest(response, json_path(place))
    beacon = json.dumps({**base, "key": LONE_SURROGATES[0]})  # the sendBeacon token field
    response = client.post("/rest/v1/events", content=beacon, headers={"Content-Type": "text/plain"})
    assert_refused_rest(response, "key")
    key = json.dumps({"events": [{**web_click(), LONE_SURROGATES[0]: 1}]})
    assert_refused_rest(client.post("/rest/v1/events", content=key, headers=headers), "events[0]")
    assert fingerprint() == before


def assert_refused_rest(response: Any, where: str) -> None:
    assert response.status_code == 400, (where, response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error", "details"} and body["error"] == "bad_request", body
    assert where in body["details"], (where, body)


@pytest.mark.parametrize("media_type", ["application/json", "text/plain"])
def test_every_recording_field(client: TestClient, tokens, fingerprint, unlimited, media_type: str) -> None:
    headers = {**bearer(tokens["ingest"]), "Content-Type": media_type}
    base = recording_chunk()
    assert client.post("/rest/v1/recordings", content=json.dumps(base), headers=headers).status_code == 200
    before = fingerprint()
    places: list[Place] = [(name,) for name in base if name != "events"]
    places += [
        ("events", 0, "type"),
        ("events", 0, "data", "href"),
        ("events", 1, "unknownField"),
        ("padding",),
    ]
    for place in places:
        for text in LONE_SURROGATES:
            body = json.dumps(with_value({**base, "seq": 1}, place, set(), text))
            response = client.post("/rest/v1/recordings", content=body, headers=headers)
            assert_refused_rest(response, json_path(place))
    beacon = json.dumps({**base, "seq": 1, "key": LONE_SURROGATES[0]})
    response = client.post("/rest/v1/recordings", content=beacon, headers={"Content-Type": "text/plain"})
    assert_refused_rest(response, "key")
    assert fingerprint() == before


# -- HeatmapService --------------------------------------------------------------------------------------


def proto_fields(message: Descriptor, place: Place = ()) -> Iterator[tuple[Place, set[str], bool]]:
    """(place, the field's names, repeated) of every field a JSON string can be sent to: each one but
    a nested message's, whose own fields are listed instead (a Timestamp is a string in JSON)."""
    for field in message.fields:
        names = {field.name, field.json_name}
        repeated = field.is_repeated
        nested = field.message_type
        if nested is not None and nested.full_name != "google.protobuf.Timestamp":
            yield from proto_fields(nested, (*place, field.json_name, *((0,) if repeated else ())))
            continue
        for name in sorted(names):
            yield (*place, name), names, repeated


def valid_requests() -> dict[str, dict[str, Any]]:
    """A request each method accepts, so that the text sent is the only thing wrong with the others."""
    return {
        "IngestTouchEvents": {"events": [touch()]},
        "QueryHeatmapData": {"screenName": "home_feed", "mode": "PER_USER", "userId": "user-all"},
        "ListScreenshots": {"screenName": "home_feed"},
        "UploadScreenshot": {
            "screenName": "home",
            "imageData": base64.b64encode(png(40, 30)).decode(),
            "width": 40,
            "height": 30,
        },
    }


def test_proto_fields_cover_every_request_field(pb2: ModuleType) -> None:
    service = pb2.DESCRIPTOR.services_by_name["HeatmapService"]
    listed = {
        method.name: {place for place, _, _ in proto_fields(method.input_type)} for method in service.methods
    }
    assert set(listed) == set(valid_requests())
    assert {("events", 0, "screen_name"), ("events", 0, "screenName"), ("events", 0, "timestamp")} <= listed[
        "IngestTouchEvents"
    ]
    assert {("from",), ("from_day",), ("event_types",), ("eventTypes",)} <= listed["QueryHeatmapData"]
    assert {("image_data",), ("imageData",)} <= listed["UploadScreenshot"]


def test_every_heatmap_service_field(
    client: TestClient, tokens, fingerprint, unlimited, pb2: ModuleType
) -> None:
    headers = {**bearer(tokens["all"]), "Content-Type": "application/json"}
    requests = valid_requests()
    for method, request in requests.items():
        response = client.post(f"/{SERVICE}/{method}", content=json.dumps(request), headers=headers)
        assert response.status_code == 200, (method, response.text)
    before = fingerprint()
    for method in pb2.DESCRIPTOR.services_by_name["HeatmapService"].methods:
        for place, names, repeated in proto_fields(method.input_type):
            for text in LONE_SURROGATES:
                body = json.dumps(
                    with_value(requests[method.name], place, names, [text] if repeated else text)
                )
                response = client.post(f"/{SERVICE}/{method.name}", content=body, headers=headers)
                assert response.status_code == 400, (method.name, place, response.text[:300])
                assert response.json() == {"code": "invalid_argument", "message": response.json()["message"]}
                assert json_path(place) in response.json()["message"], (place, response.json())
    assert fingerprint() == before


# -- query and path parameters ---------------------------------------------------------------------------


def url_parameters(client: TestClient) -> Iterator[tuple[str, str, str, list[str]]]:
    """(method, path, parameter, the operation's required parameters) from the OpenAPI document."""
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            required = [p["name"] for p in parameters if p.get("required")]
            for parameter in parameters:
                yield method.upper(), path, parameter["name"], required


def url_with(path: str, required: list[str], name: str, raw: str) -> str:
    """``path`` with valid values for the required parameters and ``raw``, sent as is, for ``name``."""
    query = []
    for parameter in dict.fromkeys([*required, name]):
        value = raw if parameter == name else quote(VALID_PARAMETERS[parameter], safe="")
        if f"{{{parameter}}}" in path:
            path = path.replace(f"{{{parameter}}}", value)
        else:
            query.append(f"{parameter}={value}")
    return f"{path}?{'&'.join(query)}" if query else path


def test_every_query_and_path_parameter(client: TestClient, tokens, fingerprint, unlimited) -> None:
    headers = {**bearer(tokens["all"]), "Content-Type": "image/png"}
    found = list(url_parameters(client))
    assert {("pageKey", "PUT"), ("screenshot_id", "GET"), ("capture_id", "GET"), ("search", "GET")} <= {
        (name, method) for method, _, name, _ in found
    }
    before = fingerprint()
    for method, path, name, required in found:
        for raw in NOT_UTF8:
            url = url_with(path, required, name, raw)
            response = client.request(method, url, content=png(40, 30), headers=headers)
            assert_refused_rest(response, "the URL's")
    assert fingerprint() == before
