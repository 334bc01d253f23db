"""REST routes of session recordings (CONTRACT 13): upload a chunk, read a session's recording, list
sessions. Thin adapters over :mod:`data_layer.recordings` and :mod:`data_layer.sessions`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.inputs import decode_body, parse_json
from api.models import RecordingResponse, RecordingStoredResponse, SessionListResponse, error_responses
from api.security import beacon_token, check_access, read_beacon, require
from api.web_json import session_list_body
from api.web_routes import filters_of, window_of
from data_layer import recordings
from data_layer.auth import Permission, Principal
from data_layer.errors import NotFound
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import parse_page_key
from data_layer.service import parse_limit
from data_layer.sessions import SessionQuery, list_sessions, parse_has_recording

router = APIRouter(prefix="/rest/v1")

SESSION_ID = Path(alias="sessionId", min_length=1, max_length=128, description="The session's sessionId.")


@router.post(
    "/recordings",
    summary="Upload one chunk of a session's recording (rrweb events)",
    description=(
        "Idempotent by (sessionId, seq): a chunk sent again answers stored=false and changes nothing. "
        "A session's recording holds at most HEATMAPS_RECORDING_MAX_MB MiB of events; a chunk past it "
        "is refused with 413 and the tracker stops recording that session."
    ),
    response_model=RecordingStoredResponse,
    responses=error_responses(400, 401, 413, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                '{"sessionId", "visitorId", "url", "seq", "events": [rrweb event, ...]}: seq a non-negative '
                "integer, 1-100,000 events each with an integer type and a timestamp in ms. At most 1 MiB "
                "as sent; with Content-Encoding: gzip at most 8 MiB once inflated. As text/plain "
                '(sendBeacon) the body may carry "key": "<token>" instead of an Authorization header.'
            ),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["sessionId", "visitorId", "url", "seq", "events"],
                    }
                },
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upload_recording(request: Request) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    header_token, body = await read_beacon(request, recordings.MAX_BODY_BYTES)
    coding = request.headers.get("content-encoding")
    chunk = await run_in_threadpool(_authorised_chunk, ctx, header_token, body, coding)
    # Written with the chunks that arrive with it (group commit); waiting for its transaction holds no
    # thread. A chunk over its session's cap raises its PayloadTooLarge here.
    stored = await asyncio.wrap_future(ctx.recording_chunks.submit(chunk))
    return JSONResponse({"stored": stored})


def _authorised_chunk(
    ctx: AppContext, header_token: str | None, body: bytes, coding: str | None
) -> recordings.RecordingChunk:
    """Inflate, parse, check the token and validate, off the event loop. A header's token is checked
    before anything is inflated; a beacon's key can only be read after."""
    if header_token is not None:
        check_access(ctx, header_token, None, "ingest")
    payload = parse_json(decode_body(body, coding, recordings.MAX_DECODED_BYTES))
    if header_token is None:
        check_access(ctx, beacon_token(None, payload), None, "ingest")
    return recordings.validate_chunk(payload, ctx.settings.page_key_rules)


@router.get(
    "/sessions/{sessionId:path}/recording",
    summary="A session's recording: the rrweb events of every chunk, in seq order",
    response_model=RecordingResponse,
    responses=error_responses(400, 401, 403, 404, 429, 503),
)
def get_recording(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    session_id: Annotated[str, SESSION_ID],
) -> StreamingResponse:
    ctx: AppContext = request.app.state.ctx
    recording = recordings.load_recording(ctx.engine, session_id)
    if recording is None:
        raise NotFound(f"session {session_id} has no recording")
    return StreamingResponse(_recording_body(recording), media_type="application/json")


def _recording_body(recording: recordings.Recording) -> Iterator[bytes]:
    """The response's JSON, a chunk's events at a time: the stored texts joined, never parsed."""
    head = {"sessionId": recording.session_id, "visitorId": recording.visitor_id}
    yield json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1].encode() + b',"events":['
    for index, events in enumerate(recording.event_texts()):
        yield b"," + events if index else events
    yield b"]}"


@router.get(
    "/sessions",
    summary="Sessions with web events in a date window, newest first",
    description=(
        "Per session, over its events in the window and filters: start, duration, pages visited, clicks, "
        "rage events, dead clicks, country and browser of its first event, and whether it has a "
        "recording. Paged like the pages list: pass pagination.nextCursor unchanged."
    ),
    response_model=SessionListResponse,
    responses=error_responses(400, 401, 403, 429, 503),
)
def get_sessions(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.VIEW_HEATMAPS))],
    window: Annotated[Window, Depends(window_of)],
    filters: Annotated[WebFilters, Depends(filters_of)],
    page_key: Annotated[
        str | None, Query(alias="pageKey", description="Only sessions with events on this page (a URL).")
    ] = None,
    has_recording: Annotated[
        str | None,
        Query(alias="hasRecording", description="true: only recorded sessions; false: only the others."),
    ] = None,
    limit: Annotated[int | None, Query(description="Page size, default 25, clamped to 1..100.")] = None,
    cursor: Annotated[str | None, Query(description="pagination.nextCursor of the previous page.")] = None,
) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    query = SessionQuery(
        window=window,
        filters=filters,
        page_key=parse_page_key(page_key, ctx.settings.page_key_rules) if page_key else None,
        has_recording=parse_has_recording(has_recording),
    )
    size = parse_limit(limit)
    listing = list_sessions(ctx.store, ctx.engine, ctx.service.secret, query, limit=size, cursor=cursor)
    return JSONResponse(session_list_body(listing))
