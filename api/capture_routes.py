"""REST routes for captured backdrops (CONTRACT 12): queue captures, read a capture's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from api.context import AppContext
from api.models import error_responses
from api.security import require
from data_layer import breakpoints
from data_layer.auth import Permission, Principal
from data_layer.capture import jobs
from data_layer.capture.origins import check_allowed
from data_layer.errors import NotFound
from data_layer.page_ref import parse_breakpoint, parse_page_key

router = APIRouter(prefix="/rest/v1")


@router.post(
    "/heatmap-pages/capture",
    status_code=202,
    summary="Queue a capture of the page's backdrop at one breakpoint, or at every breakpoint",
    description=(
        "Only pages of the origins in HEATMAPS_CAPTURE_ORIGINS are captured. The capture runs in the "
        "background; follow it with GET /rest/v1/captures/{id}. A capture already queued or running for "
        "the same page and breakpoint is returned instead of a second one."
    ),
    responses=error_responses(400, 401, 403, 429, 503),
)
def queue_capture(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.MANAGE_HEATMAPS))],
    page_key: Annotated[str, Query(alias="pageKey", description="Page URL; normalised as in the API.")],
    breakpoint: Annotated[str | None, Query(description="desktop, tablet or mobile; absent = all.")] = None,
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    key = parse_page_key(page_key, ctx.settings.page_key_rules)
    chosen = [parse_breakpoint(breakpoint)] if breakpoint else breakpoints.NAMES
    check_allowed(key, ctx.settings.allowed_capture_origins)
    queued = [jobs.enqueue(ctx.engine, key, name, key, requested_by=principal.user_id) for name in chosen]
    ctx.wake_capture_worker()
    captures = [
        {k: v for k, v in job.entity().items() if k in ("id", "pageKey", "breakpoint", "status")}
        for job in queued
    ]
    return JSONResponse({"captures": captures}, status_code=202)


@router.get(
    "/captures/{capture_id}",
    summary="The state of a capture: queued, running, done (with its screenshot) or failed (with why)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
)
def get_capture(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    capture_id: Annotated[str, Path(max_length=64)],
) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    job = jobs.get_job(ctx.engine, capture_id)
    if job is None:
        raise NotFound(f"no capture with id {capture_id[:64]}")
    return job.entity()
