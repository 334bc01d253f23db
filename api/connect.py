"""The mobile HeatmapService over the Connect protocol's unary JSON form (CONTRACT 5).

``POST /heatmap.v1.HeatmapService/<Method>`` with ``Content-Type: application/json``; bodies use the
proto3 JSON mapping; errors are ``{"code", "message"}`` with Connect's HTTP status for the code.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.errors import database_unavailable, log
from api.security import AuthFailure, RateKind, bearer_token, check_access
from data_layer import screenshots
from data_layer.auth import Permission, Principal
from data_layer.errors import BadRequest, NotFound
from data_layer.event_models import BatchValidationError
from data_layer.ingest import ingest_touch_batch
from data_layer.service import query_touch_heatmap

SERVICE = "heatmap.v1.HeatmapService"
MAX_BODY = 1024 * 1024
MAX_UPLOAD_BODY = 16 * 1024 * 1024  # a 10 MiB PNG is about 14 MiB in base64
CONNECT_STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "unimplemented": 404,
    "resource_exhausted": 429,
    "internal": 500,
    "unavailable": 503,
}
AUTH_CODES = {401: "unauthenticated", 403: "permission_denied", 429: "resource_exhausted"}

router = APIRouter()


class ConnectError(Exception):
    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}


def connect_error(code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=CONNECT_STATUS[code], headers=headers)


def _string(request: dict[str, Any], camel: str, snake: str) -> Any:
    return request.get(camel, request.get(snake))


def ingest_touch_events(ctx: AppContext, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    events = request.get("events")
    if events is None:
        raise BadRequest("events: is required (1 to 500 touch events)")
    try:
        result = ingest_touch_batch(ctx.engine, events, principal.user_id)
    except BatchValidationError as exc:
        raise BadRequest(exc.details) from None
    return {"ingestedCount": result.ingested}


def query_heatmap_data(ctx: AppContext, _principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
    return query_touch_heatmap(ctx.store, request)


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
    data = _image_bytes(request)
    try:
        shot = screenshots.save_screenshot(
            ctx.engine,
            ctx.settings.screenshot_dir,
            data,
            kind="mobile",
            screen_name=name,
            declared_width=width,
            declared_height=height,
            created_by=principal.user_id,
        )
    except screenshots.ScreenshotError as exc:
        raise BadRequest(str(exc)) from None
    return {"screenshot": shot}


Handler = Callable[[AppContext, Principal, dict[str, Any]], dict[str, Any]]
METHODS: dict[str, tuple[Handler, Permission | None, RateKind, int]] = {
    "IngestTouchEvents": (ingest_touch_events, None, "ingest", MAX_BODY),
    "QueryHeatmapData": (query_heatmap_data, Permission.VIEW_HEATMAPS, "query", MAX_BODY),
    "ListScreenshots": (list_screenshots, Permission.VIEW_HEATMAPS, "query", MAX_BODY),
    "UploadScreenshot": (upload_screenshot, Permission.MANAGE_HEATMAPS, "query", MAX_UPLOAD_BODY),
}


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ConnectError("resource_exhausted", f"the request exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ConnectError("resource_exhausted", f"the request exceeds {limit} bytes")
    try:
        payload = json.loads(bytes(body).decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ConnectError("invalid_argument", "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ConnectError("invalid_argument", "the body must be a JSON object (the request message)")
    return payload


def _authorize(ctx: AppContext, method: str, token: str | None) -> Principal:
    _handler, permission, kind, _limit = METHODS[method]
    try:
        return check_access(ctx, token, permission, kind)
    except AuthFailure as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise ConnectError(AUTH_CODES[exc.status], exc.details, headers) from None


def _run(ctx: AppContext, method: str, principal: Principal, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        return METHODS[method][0](ctx, principal, payload)
    except BadRequest as exc:
        raise ConnectError("invalid_argument", exc.details) from None
    except NotFound as exc:
        raise ConnectError("not_found", exc.details) from None


async def _call(method: str, request: Request) -> JSONResponse:
    """One Connect unary call: auth, body, handler; every failure in Connect's error shape."""
    ctx: AppContext = request.app.state.ctx
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return JSONResponse(
            {"code": "unknown", "message": "use Content-Type: application/json (Connect unary JSON)"},
            status_code=415,
            headers={"Accept-Post": "application/json"},
        )
    try:
        principal = await run_in_threadpool(_authorize, ctx, method, bearer_token(request))
        payload = await _read_json(request, METHODS[method][3])
        body = await run_in_threadpool(_run, ctx, method, principal, payload)
    except ConnectError as exc:
        return connect_error(exc.code, exc.message, exc.headers)
    except Exception as exc:
        if database_unavailable(exc):
            return connect_error(
                "unavailable", "the database is unavailable; retry shortly", {"Retry-After": "5"}
            )
        log.exception("unhandled error in %s/%s", SERVICE, method)
        return connect_error("internal", "an internal error occurred; it has been logged")
    return JSONResponse(body)


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
    return connect_error("unimplemented", f"{SERVICE}/{method[:64]} does not exist")
