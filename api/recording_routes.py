"""REST routes of session recordings (CONTRACT 13): upload a chunk, read a session's recording, list
sessions. Thin adapters over :mod:`data_layer.recordings` and :mod:`data_layer.sessions`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.inputs import decode_body, parse_json
from api.models import RecordingResponse, RecordingStoredResponse, error_responses
from api.security import beacon_token, check_access, read_beacon, require
from data_layer import recordings
from data_layer.auth import Permission, Principal
from data_layer.errors import NotFound

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
    stored = await run_in_threadpool(_authorised_upload, ctx, header_token, body, coding)
    return JSONResponse({"stored": stored})


def _authorised_upload(ctx: AppContext, header_token: str | None, body: bytes, coding: str | None) -> bool:
    """Inflate, parse, check the token, validate and store, off the event loop. A header's token is
    checked before anything is inflated; a beacon's key can only be read after."""
    if header_token is not None:
        check_access(ctx, header_token, None, "ingest")
    payload = parse_json(decode_body(body, coding, recordings.MAX_DECODED_BYTES))
    if header_token is None:
        check_access(ctx, beacon_token(None, payload), None, "ingest")
    chunk = recordings.validate_chunk(payload, ctx.settings.page_key_rules)
    return recordings.store_chunk(ctx.engine, chunk, ctx.settings.recording_max_mb * recordings.MIB)


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
