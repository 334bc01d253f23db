"""The FastAPI application: REST API, Connect HeatmapService and the tracker script."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.capture_routes import router as capture_router
from api.connect import router as connect_router
from api.context import AppContext
from api.errors import error_response, install_error_handlers
from api.group_routes import router as group_router
from api.inputs import refuse_invalid_url_text
from api.recorder_script import recorder_script, recorder_script_gzip
from api.recording_routes import router as recording_router
from api.screenshot_routes import router as screenshot_router
from api.supervision import end_with_supervisor
from api.web_routes import router as web_router
from data_layer.clickhouse.tables import health as clickhouse_health
from data_layer.errors import ServiceError
from data_layer.settings import Settings, get_settings

TRACKER_PATH = Path(__file__).resolve().parent.parent / "tracker" / "tracker.js"
INGEST_PATHS = frozenset({"/rest/v1/events", "/rest/v1/recordings"})
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}
_RAW_CORS_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in CORS_HEADERS.items()
]


class IngestCors:
    """CORS for the ingestion endpoints only (events, recordings): any origin may post to them with an
    ingest key; a recording's chunks may come gzipped (``Content-Encoding``).

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one relays every request body and
    response through an extra task and queue, which cost more than the rest of the HTTP layer together
    on a 500-event batch.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in INGEST_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await Response(status_code=204, headers=CORS_HEADERS)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            # Appended as raw pairs: no answer of these routes sets them, and this runs for every
            # tracker request (MutableHeaders looks each name up first).
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_RAW_CORS_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_cors)


@asynccontextmanager
async def capture_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The API process runs queued captures (CONTRACT 12) and ships events to ClickHouse (CONTRACT 16)
    in the background while it serves.

    Once started, every object alive (the modules of FastAPI, Pydantic, SQLAlchemy, Polars: hundreds of
    thousands) is moved out of the garbage collector's reach with ``gc.freeze``. They never become
    garbage, yet each full collection scanned them all again, holding the GIL for 70-110 ms while every
    request waited: under tracker-shaped load that happened every few seconds and made the slowest
    requests' latency (docs/performance.md)."""
    end_with_supervisor()
    ctx: AppContext = app.state.ctx
    ctx.start_capture_worker()
    ctx.start_clickhouse_shipper()
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        ctx.stop_clickhouse_shipper()
        ctx.stop_capture_worker()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=capture_lifespan,
        dependencies=[Depends(refuse_invalid_url_text)],
        title="Heatmaps API",
        version="1.0.0",
        description=(
            "Self-hosted heatmap analytics: ingest web events, list pages with click activity, "
            "summarise one page (click bins, dead and rage clicks, scroll depth, replays), and the "
            "mobile HeatmapService over the Connect protocol. Authenticate with "
            "`Authorization: Bearer <token>`."
        ),
    )
    app.state.ctx = AppContext.from_settings(settings)
    install_error_handlers(app)
    app.add_middleware(IngestCors)
    app.include_router(web_router)
    app.include_router(connect_router)
    app.include_router(screenshot_router)
    app.include_router(capture_router)
    app.include_router(recording_router)
    app.include_router(group_router)

    @app.get("/tracker.js", include_in_schema=False)
    def tracker_script() -> Response:
        return Response(
            TRACKER_PATH.read_bytes(),
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/tracker-record.js", include_in_schema=False)
    def recorder_script_route(request: Request) -> Response:
        """The session recorder (CONTRACT 13), gzip-compressed when the client accepts it."""
        headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = recorder_script_gzip()
        else:
            body = recorder_script()
        return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)

    @app.get("/healthz", summary="Liveness and database reachability")
    def health(request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return error_response(request, 503, "the database is unavailable")
        if ctx.clickhouse is not None:
            try:
                clickhouse_health(ctx.clickhouse)
            except ServiceError as exc:
                return error_response(request, 503, exc.details, {"Retry-After": "5"})
        return JSONResponse({"status": "ok"})

    install_openapi(app)
    return app


def install_openapi(app: FastAPI) -> None:
    """FastAPI documents a 422 for every operation with parameters; ours answers 400 instead."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
