"""Response shapes for the OpenAPI document (the routes return plain dicts of the same shape)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="Short code: bad_request, unauthorized, forbidden, not_found, ...")
    details: str = Field(description="What was wrong and how to fix it.")


class IngestResponse(BaseModel):
    ingested: int = Field(description="Events newly stored.")
    duplicates: int = Field(description="Events skipped because their eventId was already stored.")


class BreakpointClicks(BaseModel):
    breakpoint: str
    clicks: int


class PageEntity(BaseModel):
    pageKey: str
    totalClicks: int
    rageClicks: int = Field(description="Number of rage events (runs of 3+ fast, close clicks).")
    deadClicks: int
    rageRate: float
    deadRate: float
    issueScore: float
    breakpoints: list[BreakpointClicks]


class Pagination(BaseModel):
    nextCursor: str | None
    hasMore: bool


class PageListResponse(BaseModel):
    entities: list[PageEntity]
    pagination: Pagination


class ClickBin(BaseModel):
    binX: int
    binY: int
    clicks: int


class DeadClickBin(BaseModel):
    binX: int
    binY: int
    deadClicks: int
    topElement: str | None


class RageClickBin(BaseModel):
    binX: int
    binY: int
    rageEvents: int
    totalClicks: int


class ScrollBucket(BaseModel):
    bucket: int
    sessions: int


class Replay(BaseModel):
    breakpoint: str
    url: str


class BinGeometry(BaseModel):
    columns: int
    rowHeightPx: int


class Fold(BaseModel):
    medianViewportHeightPx: int


class SummaryResponse(BaseModel):
    clickBins: list[ClickBin]
    deadClicks: list[DeadClickBin]
    rageClicks: list[RageClickBin]
    scrollDepth: list[ScrollBucket]
    replays: list[Replay]
    binGeometry: BinGeometry
    fold: Fold | None


class RecordingStoredResponse(BaseModel):
    stored: bool = Field(description="False when this (sessionId, seq) chunk was stored before.")


class RecordingResponse(BaseModel):
    sessionId: str
    visitorId: str = Field(description="The visitorId of the session's first chunk.")
    events: list[dict[str, Any]] = Field(description="rrweb events of every chunk, in seq order.")


class SessionEntity(BaseModel):
    sessionId: str
    visitorId: str = Field(description="Of the session's first event in the window.")
    start: str = Field(description="The first event's time in the window (RFC 3339, UTC).")
    durationMs: int = Field(description="From the first to the last event in the window.")
    pages: list[str] = Field(description="The pageKeys visited, in the order first visited.")
    clicks: int
    rageEvents: int
    deadClicks: int
    country: str | None
    browserName: str | None
    hasRecording: bool


class SessionListResponse(BaseModel):
    entities: list[SessionEntity]
    pagination: Pagination


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the given error statuses, all in the REST error shape."""
    described = {
        400: "Invalid parameters, window, cursor or body",
        401: "Missing, unknown or revoked token",
        403: "The token lacks the required permission",
        404: "Not found",
        413: "Body too large",
        429: "Rate limit exceeded (see Retry-After)",
        503: "Database unavailable",
    }
    return {status: {"model": ErrorBody, "description": described[status]} for status in statuses}
