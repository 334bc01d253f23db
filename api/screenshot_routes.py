"""REST routes for web page backdrops and screenshot bytes (CONTRACT 6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.inputs import read_body
from api.models import error_responses
from api.security import require
from data_layer import screenshots
from data_layer.auth import Permission, Principal
from data_layer.errors import NotFound
from data_layer.page_ref import parse_page_ref

router = APIRouter(prefix="/rest/v1")


@router.put(
    "/heatmap-pages/screenshot",
    summary="Upload the PNG backdrop of a page at a breakpoint (the newest one is used)",
    responses=error_responses(400, 401, 403, 413, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "PNG bytes, at most 10 MiB, 4000 x 40000 px and 60 megapixels.",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_page_screenshot(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.MANAGE_HEATMAPS))],
    page_key: Annotated[str, Query(alias="pageKey", description="Page URL; normalised as in the API.")],
    breakpoint: Annotated[str, Query(description="desktop, tablet or mobile.")],
) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    page = parse_page_ref(page_key, breakpoint, ctx.settings.page_key_rules)
    data = await read_body(request, screenshots.MAX_BYTES)
    return await run_in_threadpool(
        screenshots.save_screenshot,
        ctx.engine,
        ctx.settings.screenshot_dir,
        data,
        kind="web",
        page_key=page.page_key,
        breakpoint=page.breakpoint,
        created_by=principal.user_id,
    )


@router.get(
    "/heatmap-pages/screenshots",
    summary="Screenshots of a page at a breakpoint, newest first",
    responses=error_responses(400, 401, 403, 429, 503),
)
def list_page_screenshots(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    page_key: Annotated[str, Query(alias="pageKey")],
    breakpoint: Annotated[str, Query()],
) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    page = parse_page_ref(page_key, breakpoint, ctx.settings.page_key_rules)
    shots = [
        shot
        for shot in screenshots.list_page_screenshots(ctx.engine)
        if shot["pageKey"] == page.page_key and shot["breakpoint"] == page.breakpoint
    ]
    return {"screenshots": shots}


@router.get(
    "/screenshots/{screenshot_id}",
    summary="The PNG bytes of a screenshot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **error_responses(400, 401, 403, 404, 429, 503)},
)
def get_screenshot_bytes(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    screenshot_id: Annotated[str, Path(max_length=64)],
) -> Response:
    ctx: AppContext = request.app.state.ctx
    shot = screenshots.get_screenshot(ctx.engine, screenshot_id)
    if shot is None:
        raise NotFound(f"no screenshot with id {screenshot_id[:64]}")
    try:
        data = screenshots.read_screenshot_file(ctx.settings.screenshot_dir, shot["sha256"])
    except FileNotFoundError:
        raise NotFound("the screenshot's file is missing from the screenshot directory") from None
    return Response(
        data,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=86400, immutable", "ETag": f'"{shot["sha256"]}"'},
    )
