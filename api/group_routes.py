"""REST routes of saved page groups (CONTRACT 14): create, list with totals, delete (thin adapters)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.context import AppContext
from api.inputs import parse_json, read_body
from api.models import error_responses
from api.security import require
from api.web_json import group_entity
from api.web_routes import DAY_DOC, SORT_DOC, filters_of
from data_layer import page_groups
from data_layer.auth import Permission, Principal
from data_layer.errors import BadRequest
from data_layer.filters import WebFilters, parse_window
from data_layer.service import parse_sort

MAX_GROUP_BODY = 16 * 1024

router = APIRouter(prefix="/rest/v1")


@router.post(
    "/page-groups",
    status_code=201,
    summary="Save a page group: a name for a pattern over pageKeys",
    description='Body {"name": "Product pages", "pattern": "https://shop.example/products/*"}.',
    responses=error_responses(400, 401, 403, 413, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                f"name: 1-{page_groups.MAX_NAME_LENGTH} characters, unique; pattern: a pageKey pattern "
                "(at most 5 `*`), normalised like pageKeys. At most 16 KiB."
            ),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["name", "pattern"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": page_groups.MAX_NAME_LENGTH,
                            },
                            "pattern": {"type": "string", "minLength": 1},
                        },
                    }
                }
            },
        }
    },
)
async def create_page_group(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.MANAGE_HEATMAPS))],
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    payload = parse_json(await read_body(request, MAX_GROUP_BODY))
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object {"name": ..., "pattern": ...}')
    rules = ctx.settings.page_key_rules
    group = page_groups.create_group(
        ctx.engine, payload.get("name"), payload.get("pattern"), rules, principal.user_id
    )
    return JSONResponse({"id": group.id, "name": group.name, "pattern": group.pattern.text}, status_code=201)


@router.get(
    "/page-groups",
    summary="Saved page groups; with from/to, each group's totals over its matching pages",
    description=(
        "Without from and to, the groups by name. With both, each group's totalClicks, rageClicks, "
        "deadClicks, rates, issueScore, breakpoints and pages (matching pages with clicks) in the window "
        "and filters, sorted like the pages list (PAGE_KEY sorts by name)."
    ),
    responses=error_responses(400, 401, 403, 429, 503),
)
def list_page_groups(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    filters: Annotated[WebFilters, Depends(filters_of)],
    from_: Annotated[str | None, Query(alias="from", description=DAY_DOC)] = None,
    to: Annotated[str | None, Query(description=DAY_DOC)] = None,
    sort_by: Annotated[str | None, Query(alias="sortBy", description=SORT_DOC)] = None,
    sort_dir: Annotated[str | None, Query(alias="sortDir", description="ASC or DESC (default).")] = None,
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    sort = parse_sort(sort_by, sort_dir)
    groups = page_groups.saved_groups(ctx.engine)
    if from_ is not None or to is not None:
        groups = ctx.service.group_list(groups, parse_window(from_, to), filters, sort)
    return JSONResponse({"groups": [group_entity(row) for row in groups.iter_rows(named=True)]})


@router.delete(
    "/page-groups/{group_id}",
    status_code=204,
    summary="Delete a saved page group (the events are not touched)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
)
def delete_page_group(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.MANAGE_HEATMAPS))],
    group_id: Annotated[str, Path(max_length=64)],
) -> Response:
    ctx: AppContext = request.app.state.ctx
    page_groups.delete_group(ctx.engine, group_id)
    return Response(status_code=204)
