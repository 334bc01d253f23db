"""The web queries' answers in the contract's JSON shape (CONTRACT 4): the only place camelCase is made.

A big page's summary has tens of thousands of bins. They go from Polars to JSON text in Polars
(``write_json``), never through a Python object per bin, and the body is assembled as text around them.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from fastapi.responses import Response

from data_layer import bins
from data_layer.service import PageListing, PageSummary
from data_layer.sessions import SessionListing

CLICK_BIN = {"binX": "bin_x", "binY": "bin_y", "clicks": "clicks"}
RAGE_BIN = {"binX": "bin_x", "binY": "bin_y", "rageEvents": "rage_events", "totalClicks": "total_clicks"}
DEAD_BIN = {"binX": "bin_x", "binY": "bin_y", "deadClicks": "dead_clicks", "topElement": "top_element"}
SCROLL_BUCKET = {"bucket": "bucket", "sessions": "sessions"}
REPLAY = {"breakpoint": "breakpoint", "url": "url"}


def page_entity(row: dict[str, Any]) -> dict[str, Any]:
    """A page-list row in the contract's JSON shape."""
    return {
        "pageKey": row["page_key"],
        "totalClicks": row["total_clicks"],
        "rageClicks": row["rage_clicks"],
        "deadClicks": row["dead_clicks"],
        "rageRate": row["rage_rate"],
        "deadRate": row["dead_rate"],
        "issueScore": row["issue_score"],
        "breakpoints": [{"breakpoint": b["breakpoint"], "clicks": b["clicks"]} for b in row["breakpoints"]],
    }


def group_entity(row: dict[str, Any]) -> dict[str, Any]:
    """A saved page group in the contract's JSON shape; with its totals when a window was given."""
    entity = {"id": row["id"], "name": row["name"], "pattern": row["pattern"]}
    if "total_clicks" in row:
        totals = page_entity({**row, "page_key": None})
        del totals["pageKey"]
        entity |= totals | {"pages": row["pages"]}
    return entity


def elements_body(frame: pl.DataFrame) -> dict[str, Any]:
    """At most 100 elements; ``rect`` null when no click on the element reported its box."""
    rect = pl.when(pl.col("rect_x").is_not_null()).then(
        pl.struct(x="rect_x", y="rect_y", width="rect_width", height="rect_height")
    )
    columns = {
        "selector": pl.col("selector"),
        "clicks": pl.col("clicks"),
        "share": pl.col("share"),
        "rageEvents": pl.col("rage_events"),
        "deadClicks": pl.col("dead_clicks"),
        "rect": rect,
    }
    return {"elements": frame.select(**columns).to_dicts()}


def pagination(next_cursor: str | None) -> dict[str, Any]:
    return {"nextCursor": next_cursor, "hasMore": next_cursor is not None}


def page_list_body(listing: PageListing) -> dict[str, Any]:
    """At most 100 pages: plain dicts are cheap here."""
    return {
        "entities": [page_entity(row) for row in listing.pages.iter_rows(named=True)],
        "pagination": pagination(listing.next_cursor),
    }


SESSION = {
    "sessionId": pl.col("session_id"),
    "visitorId": pl.col("visitor_id"),
    "start": pl.col("start").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"),  # RFC 3339: 0, 3 or 6 digits
    "durationMs": pl.col("duration_ms"),
    "pages": pl.col("pages"),
    "clicks": pl.col("clicks"),
    "rageEvents": pl.col("rage_events"),
    "deadClicks": pl.col("dead_clicks"),
    "country": pl.col("country"),
    "browserName": pl.col("browser"),
    "hasRecording": pl.col("has_recording"),
}


def session_list_body(listing: SessionListing) -> dict[str, Any]:
    """At most 100 sessions, in the listing's order."""
    return {
        "entities": listing.sessions.select(**SESSION).to_dicts(),
        "pagination": pagination(listing.next_cursor),
    }


def json_array(frame: pl.DataFrame, names: dict[str, str]) -> str:
    """``frame`` as a JSON array of objects named by ``names`` (JSON name -> column), in its row order."""
    return frame.select(**names).write_json()


def summary_text(summary: PageSummary) -> str:
    """The summary body as JSON text."""
    fold = None if summary.fold_px is None else {"medianViewportHeightPx": summary.fold_px}
    parts = {
        "clickBins": json_array(summary.click_bins, CLICK_BIN),
        "deadClicks": json_array(summary.dead_bins, DEAD_BIN),
        "rageClicks": json_array(summary.rage_bins, RAGE_BIN),
        "scrollDepth": json_array(summary.scroll_reach, SCROLL_BUCKET),
        "replays": json_array(summary.replays, REPLAY),
        "binGeometry": json.dumps({"columns": bins.COLUMNS, "rowHeightPx": bins.ROW_HEIGHT_PX}),
        "fold": json.dumps(fold),
    }
    if summary.pages is not None:
        parts["pages"] = str(summary.pages)
    return "{" + ",".join(f'"{name}":{text}' for name, text in parts.items()) + "}"


def summary_response(summary: PageSummary) -> Response:
    return Response(summary_text(summary), media_type="application/json")
