"""The mobile HeatmapService over the Connect protocol's unary JSON form (CONTRACT 5).

``POST /heatmap.v1.HeatmapService/<Method>`` with ``Content-Type: application/json``; bodies use the
proto3 JSON mapping; errors are ``{"code", "message"}`` with Connect's HTTP status for the code.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.errors import CONNECT_STATUS, SERVICE, connect_response
from api.inputs import parse_json, read_body
from api.security import RateKind, bearer_token, check_access
from api.touch_json import request_query, response_message
from data_layer import screenshots
from data_layer.auth import Permission, Principal
from data_layer.errors import BadRequest
from data_layer.ingest import ingest_touch_batch
from data_layer.touch_query import query_touch_heatmap

MAX_BODY = 1024 * 1024
MAX_UPLOAD_BODY = 16 * 1024 * 1024  # a 10 MiB PNG is about 14 MiB in base64

router = APIRouter()


def _string(request: dict[str, Any], camel: str, snake: str) -> Any:
    return request.get(camel, request.get(snake))


def ingest_touch_events(ctx: AppContext, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    events = request.get("events")
    if events is None:
        raise BadRequest("events: is required (1 to 500 touch events)")
    result = ingest_touch_batch(ctx.engine, events, principal.user_id, ctx.clickhouse)
    return {"ingestedCount": result.ingested}


def query_heatmap_data(ctx: AppContext, _principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    return response_message(query_touch_heatmap(ctx.store, request_query(request)))


def _screen_name(request: dict[str, Any]) -> str:
    name = _string(request, "screenName", "screen_name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or "\x00" in name:
        raise BadRequest("screen_name is required: 1 to 200 characters, no NUL")
    return name


def list_screenshots(ctx: AppContext, _principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    return {"screenshots": screenshots.list_screen_screenshots(ctx.engine, _screen_name(request))}


def _declared(request: dict[str, Any], name: str) -> int:
    value = request.get(name)
    if isinstance(value, str) and value.isdigit():  # proto3 JSON accepts numbers as strings
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadRequest(f"{name} is required: the image's {name} in pixels")
    return value


def _image_bytes(request: dict[str, Any]) -> bytes:
    encoded = _string(request, "imageData", "image_data")
    if not isinstance(encoded, str) or not encoded:
        raise BadRequest("image_data is required: the PNG bytes, base64-encoded")
    text = encoded.strip().replace("-", "+").replace("_", "/")  # proto3 JSON accepts both alphabets
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("image_data is not valid base64") from None


def upload_screenshot(ctx: AppContext, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    name = _screen_name(request)
    width, height = _declared(request, "width"), _declared(request, "height")
    shot = screenshots.save_screenshot(
        ctx.engine,
        ctx.settings.screenshot_dir,
        _image_bytes(request),
        kind="mobile",
        screen_name=name,
        declared_width=width,
        declared_height=height,
        created_by=principal.user_id,
    )
    return {"screenshot": shot}


Handler = Callable[[AppContext, Principal, dict[str, Any]], dict[str, Any]]
METHODS: dict[str, tuple[Handler, Permission | None, RateKind, int]] = {
    "IngestTouchEvents": (ingest_touch_events, None, "ingest", MAX_BODY),
    "QueryHeatmapData": (query_heatmap_data, Permission.VIEW_HEATMAPS, "query", MAX_BODY),
    "ListScreenshots": (list_screenshots, Permission.VIEW_HEATMAPS, "query", MAX_BODY),
    "UploadScreenshot": (upload_screenshot, Permission.MANAGE_HEATMAPS, "query", MAX_UPLOAD_BODY),
}


async def _request_message(request: Request, limit: int) -> dict[str, Any]:
    """The request message as proto3 JSON; an empty body is the empty message."""
    body = await read_body(request, limit)
    payload = parse_json(body) if body else {}
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object (the request message)")
    return payload


async def _call(method: str, request: Request) -> JSONResponse:
    """One Connect unary call: content type, auth, body, handler. Failures propagate as exceptions and
    are answered in Connect's error shape by the API's error handlers (api/errors.py)."""
    ctx: AppContext = request.app.state.ctx
    handler, permission, kind, limit = METHODS[method]
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(
            415,
            "use Content-Type: application/json (Connect unary JSON)",
            headers={"Accept-Post": "application/json"},
        )
    principal = await run_in_threadpool(check_access, ctx, bearer_token(request), permission, kind)
    payload = await _request_message(request, limit)
    return JSONResponse(await run_in_threadpool(handler, ctx, principal, payload))


# proto3 JSON: enums by name or number, 64-bit and other integers as numbers or decimal strings, and
# null (or "" for strings) for a field at its default, i.e. unset. The schemas admit exactly that.
_EVENT_TYPES = ["TAP", "SCROLL", "ACTION_CLICK", 1, 2, 3]
_PIXELS = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^0*[1-9][0-9]*$"}]}
_TOUCH_EVENT = {
    "type": "object",
    "required": ["screenName", "x", "y", "timestamp", "eventType"],
    "properties": {
        "eventId": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
        "screenName": {"type": "string", "minLength": 1, "maxLength": 200},
        "x": {"type": "number", "minimum": 0, "maximum": 1},
        "y": {"type": "number", "minimum": 0, "maximum": 1},
        "timestamp": {"type": "string", "format": "date-time"},
        "campaignId": {"type": ["string", "null"], "maxLength": 128},
        "eventType": {"enum": _EVENT_TYPES},
    },
}
_OPTIONAL_DAY = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}, {"type": "null"}],
    "description": "UTC day YYYY-MM-DD; absent, empty or null = unbounded",
}
REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "IngestTouchEvents": {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": 500, "items": _TOUCH_EVENT}},
    },
    "QueryHeatmapData": {
        "type": "object",
        "required": ["screenName"],
        "properties": {
            "screenName": {"type": "string"},
            "campaignId": {"type": ["string", "null"]},
            "mode": {"enum": ["HEATMAP_MODE_UNSPECIFIED", "ALL_USERS", "PER_USER", 0, 1, 2, None]},
            "userId": {"type": ["string", "null"], "description": "PER_USER only"},
            "eventTypes": {
                "type": ["array", "null"],
                "items": {"enum": _EVENT_TYPES},
            },
            "from": _OPTIONAL_DAY,
            "to": _OPTIONAL_DAY,
        },
    },
    "ListScreenshots": {
        "type": "object",
        "required": ["screenName"],
        "properties": {"screenName": {"type": "string"}},
    },
    "UploadScreenshot": {
        "type": "object",
        "required": ["screenName", "imageData", "width", "height"],
        "properties": {
            "screenName": {"type": "string", "minLength": 1, "maxLength": 200},
            "imageData": {"type": "string", "format": "byte", "description": "PNG, base64"},
            "width": _PIXELS,
            "height": _PIXELS,
        },
    },
}
_CONNECT_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    }
}


def _endpoint(method: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        return await _call(method, request)

    endpoint.__name__ = f"connect_{method}"
    return endpoint


for _name in METHODS:
    router.add_api_route(
        f"/{SERVICE}/{_name}",
        _endpoint(_name),
        methods=["POST"],
        summary=f"HeatmapService.{_name} (Connect unary JSON)",
        tags=["HeatmapService"],
        responses={
            200: {"description": "The response message in proto3 JSON"},
            **{
                status: {"description": code, "content": _CONNECT_ERROR}
                for code, status in CONNECT_STATUS.items()
                if code not in ("unimplemented", "not_found")
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": REQUEST_SCHEMAS[_name]}},
            }
        },
    )


@router.post(f"/{SERVICE}/{{method}}", include_in_schema=False)
async def unknown_method(method: str) -> JSONResponse:
    return connect_response("unimplemented", f"{SERVICE}/{method[:64]} does not exist")
