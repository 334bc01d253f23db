"""REST routes of the web product: event ingestion and the two heatmap queries (thin adapters)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.inputs import parse_json
from api.models import IngestResponse, PageListResponse, SummaryResponse, error_responses
from api.security import admit, beacon_token, check_access, read_beacon, require
from api.web_json import elements_body, page_list_body, summary_response
from data_layer.auth import Permission, Principal
from data_layer.errors import BadRequest
from data_layer.event_models import validate_web_batch
from data_layer.filters import WebFilters, Window, parse_filters, parse_window
from data_layer.ingest import RequestContext, web_event_rows
from data_layer.page_ref import GroupRef, PageRef, parse_heatmap_ref, parse_page_pattern
from data_layer.service import parse_limit, parse_sort

MAX_INGEST_BODY = 1024 * 1024
INLINE_EVENTS = 20
"""A batch this small (a tracker's) is validated on the event loop when its token is known: handing it
to a thread would cost more than validating it."""

router = APIRouter(prefix="/rest/v1")

DAY_DOC = "UTC calendar day YYYY-MM-DD; the window from..to is inclusive and at most 60 days."
FILTER_DOCS = {
    "country": "Visitor country (ISO code as stored on events), case-insensitive exact match.",
    "region": "Visitor region (state/province as stored on events), case-insensitive exact match.",
    "browserName": "Browser name as captured on events, case-insensitive exact match.",
    "utmSource": "utm_source of the session's landing URL, case-insensitive exact match.",
    "utmMedium": "utm_medium of the session's landing URL, case-insensitive exact match.",
    "utmCampaign": "utm_campaign of the session's landing URL, case-insensitive exact match.",
    "referrerHost": "Host the session came from (e.g. www.google.com), case-insensitive exact match.",
    "visitorType": "new (the visitor's first session) or returning.",
    "tag": "key:value set by window.heatmaps.tag(key, value); repeat for several, all must match.",
}
SORT_DOC = "CLICKS (default), RAGE_CLICKS, DEAD_CLICKS, RAGE_RATE, DEAD_RATE, ISSUE_SCORE, PAGE_KEY."
PATTERN_DOC = "A pageKey where * matches one or more characters (at most 5 *), e.g. https://shop.example/p/*"


def window_of(
    from_: Annotated[str, Query(alias="from", description=DAY_DOC, examples=["2026-04-01"])],
    to: Annotated[str, Query(description=DAY_DOC, examples=["2026-04-30"])],
) -> Window:
    """The ``from``/``to`` parameters of a query, as a checked window (a dependency)."""
    return parse_window(from_, to)


def heatmap_ref_of(
    request: Request,
    breakpoint: Annotated[str, Query(description="desktop, tablet or mobile.")],
    page_key: Annotated[
        str | None, Query(alias="pageKey", description="Page URL; normalised before lookup.")
    ] = None,
    page_pattern: Annotated[
        str | None, Query(alias="pagePattern", description=f"Instead of pageKey: {PATTERN_DOC}")
    ] = None,
) -> PageRef | GroupRef:
    """One page or a pattern's pages at a breakpoint (a dependency of every per-page read)."""
    rules = request.app.state.ctx.settings.page_key_rules
    return parse_heatmap_ref(page_key, page_pattern, breakpoint, rules)


def filters_of(
    country: Annotated[str | None, Query(description=FILTER_DOCS["country"])] = None,
    region: Annotated[str | None, Query(description=FILTER_DOCS["region"])] = None,
    browser_name: Annotated[
        str | None, Query(alias="browserName", description=FILTER_DOCS["browserName"])
    ] = None,
    utm_source: Annotated[str | None, Query(alias="utmSource", description=FILTER_DOCS["utmSource"])] = None,
    utm_medium: Annotated[str | None, Query(alias="utmMedium", description=FILTER_DOCS["utmMedium"])] = None,
    utm_campaign: Annotated[
        str | None, Query(alias="utmCampaign", description=FILTER_DOCS["utmCampaign"])
    ] = None,
    referrer_host: Annotated[
        str | None, Query(alias="referrerHost", description=FILTER_DOCS["referrerHost"])
    ] = None,
    visitor_type: Annotated[
        str | None, Query(alias="visitorType", description=FILTER_DOCS["visitorType"])
    ] = None,
    tag: Annotated[list[str] | None, Query(description=FILTER_DOCS["tag"])] = None,
) -> WebFilters:
    """The dimension and segment filters of a query (a dependency)."""
    return parse_filters(
        country,
        region,
        browser_name,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        referrer_host=referrer_host,
        visitor_type=visitor_type,
        tags=tag or (),
    )


def request_context(request: Request, ctx: AppContext) -> RequestContext:
    settings = ctx.settings
    return RequestContext(
        user_agent=request.headers.get("user-agent"),
        country=request.headers.get(settings.country_header) if settings.country_header else None,
        region=request.headers.get(settings.region_header) if settings.region_header else None,
    )


def fast_json(body: dict[str, Any]) -> JSONResponse:
    """Answer with the service's dict as is: it already has the documented shape, and re-validating
    thousands of bins through the response model would double the summary's latency."""
    return JSONResponse(body)


def _normalised_country(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.upper() if len(value) == 2 and value.isalpha() else None


def _normalised_region(value: str | None) -> str | None:
    """A region header as the event's ``region`` rule allows it (1-100 characters), else none."""
    value = (value or "").strip()
    return value if 1 <= len(value) <= 100 else None


@router.post(
    "/events",
    summary="Ingest a batch of web events",
    response_model=IngestResponse,
    responses=error_responses(400, 401, 413, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                '{"events": [WebEvent, ...]} with 1-500 events, at most 1 MiB. As text/plain (sendBeacon) '
                'the body may carry "key": "<token>" instead of an Authorization header.'
            ),
            "content": {
                "application/json": {"schema": {"type": "object", "required": ["events"]}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest_events(request: Request) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    header_token, body = await read_beacon(request, MAX_INGEST_BODY)
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object {"events": [...]}')
    token = beacon_token(header_token, payload) or ""
    principal = ctx.tokens.cached(token) if token else None
    events = payload.get("events")
    if principal is not None and isinstance(events, list) and len(events) <= INLINE_EVENTS:
        admit(ctx, principal, None, "ingest")
        rows = _batch_rows(request, ctx, payload)
    else:  # a token to look up, or a batch whose validation would hold the event loop up
        rows = await run_in_threadpool(_authorised_rows, request, ctx, token, payload)
    # The batch is written with those of the requests that arrive with it (group commit); waiting for
    # its transaction holds no thread.
    result = await asyncio.wrap_future(ctx.web_events.submit(rows))
    return fast_json({"ingested": result.ingested, "duplicates": result.duplicates})


def _authorised_rows(
    request: Request, ctx: AppContext, token: str, payload: dict[str, Any]
) -> list[list[Any]]:
    check_access(ctx, token, None, "ingest")
    return _batch_rows(request, ctx, payload)


def _batch_rows(request: Request, ctx: AppContext, payload: dict[str, Any]) -> list[list[Any]]:
    """The batch validated whole (before it joins other requests' batches) and as rows to store."""
    if "events" not in payload:
        raise BadRequest('events: is required, e.g. {"events": [{"type": "click", ...}]}')
    context = request_context(request, ctx)
    context = RequestContext(
        context.user_agent, _normalised_country(context.country), _normalised_region(context.region)
    )
    return web_event_rows(validate_web_batch(payload["events"]), ctx.settings, context)


@router.get(
    "/heatmap-pages",
    summary="List pages with click activity in a date window",
    response_model=PageListResponse,
    responses=error_responses(400, 401, 403, 429, 503),
)
def list_heatmap_pages(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    window: Annotated[Window, Depends(window_of)],
    filters: Annotated[WebFilters, Depends(filters_of)],
    limit: Annotated[int | None, Query(description="Page size, default 25, clamped to 1..100.")] = None,
    cursor: Annotated[str | None, Query(description="pagination.nextCursor of the previous page.")] = None,
    search: Annotated[str | None, Query(description="Case-insensitive literal substring of pageKey.")] = None,
    page_pattern: Annotated[str | None, Query(alias="pagePattern", description=PATTERN_DOC)] = None,
    sort_by: Annotated[
        str | None,
        Query(alias="sortBy", description=SORT_DOC),
    ] = None,
    sort_dir: Annotated[str | None, Query(alias="sortDir", description="ASC or DESC (default).")] = None,
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    size = parse_limit(limit)
    sort = parse_sort(sort_by, sort_dir)
    pattern = parse_page_pattern(page_pattern, ctx.settings.page_key_rules) if page_pattern else None
    listing = ctx.service.list_pages(
        window, filters, search=search or None, pattern=pattern, sort=sort, limit=size, cursor=cursor
    )
    return fast_json(page_list_body(listing))


@router.get(
    "/heatmap-pages/summary",
    summary="Click bins, dead clicks, rage clicks, scroll depth and replays of one page or a pattern's pages",
    response_model=SummaryResponse,
    responses=error_responses(400, 401, 403, 404, 429, 503),
)
def heatmap_page_summary(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    window: Annotated[Window, Depends(window_of)],
    filters: Annotated[WebFilters, Depends(filters_of)],
    page: Annotated[PageRef | GroupRef, Depends(heatmap_ref_of)],
) -> Response:
    ctx: AppContext = request.app.state.ctx
    return summary_response(ctx.service.page_summary(page, window, filters))


@router.get(
    "/heatmap-pages/elements",
    summary="The most clicked elements of a page or a pattern's pages: clicks, share, rage, dead, box",
    responses=error_responses(400, 401, 403, 404, 429, 503),
)
def heatmap_page_elements(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    window: Annotated[Window, Depends(window_of)],
    filters: Annotated[WebFilters, Depends(filters_of)],
    page: Annotated[PageRef | GroupRef, Depends(heatmap_ref_of)],
    limit: Annotated[int | None, Query(description="Elements, default 25, clamped to 1..100.")] = None,
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    size = parse_limit(limit)
    return fast_json(elements_body(ctx.service.page_elements(page, window, filters, size)))
