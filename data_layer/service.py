"""The contract's query operations, shared by the REST API and the dashboard (CONTRACT 2, 4).

Parameters arrive as the client sent them (strings or None); everything is validated here so both faces
give the same answers and the same errors.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from data_layer import bins, breakpoints, metrics, rage
from data_layer.cursors import CursorState, InvalidCursorError, decode_cursor, encode_cursor, query_digest
from data_layer.errors import BadRequest, NotFound
from data_layer.filters import WebFilters, Window, parse_filters, parse_window
from data_layer.settings import Settings
from data_layer.store import EventStore
from data_layer.urls import InvalidUrlError, normalize_page_key

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
SORT_COLUMNS = {
    "CLICKS": "total_clicks",
    "RAGE_CLICKS": "rage_clicks",
    "DEAD_CLICKS": "dead_clicks",
    "RAGE_RATE": "rage_rate",
    "DEAD_RATE": "dead_rate",
    "ISSUE_SCORE": "issue_score",
    "PAGE_KEY": "page_key",
}
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")


def parse_limit(value: str | int | None) -> int:
    """Default 25, clamped to 1..100; anything but an integer is an error."""
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, str):
        if not _INTEGER.match(value.strip()):
            raise BadRequest(f"limit must be an integer, got {value[:40]!r}")
        value = int(value.strip())
    return max(1, min(MAX_LIMIT, value))


def parse_sort(sort_by: str | None, sort_dir: str | None) -> tuple[str, bool]:
    """(sort key name, descending) from case-insensitive ``sortBy``/``sortDir``."""
    key = (sort_by or "CLICKS").upper()
    if key not in SORT_COLUMNS:
        raise BadRequest(f"sortBy must be one of {', '.join(SORT_COLUMNS)}, got {sort_by[:40]!r}")
    direction = (sort_dir or "DESC").upper()
    if direction not in ("ASC", "DESC"):
        raise BadRequest(f"sortDir must be ASC or DESC, got {sort_dir[:40]!r}")
    return key, direction == "DESC"


def sort_pages(pages: pl.DataFrame, sort_key: str, descending: bool) -> pl.DataFrame:
    """Total, stable order: the sort column, then pageKey ascending."""
    column = SORT_COLUMNS[sort_key]
    if column == "page_key":
        return pages.sort("page_key", descending=descending)
    return pages.sort([column, "page_key"], descending=[descending, False], nulls_last=True)


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


class HeatmapService:
    """The two web query operations over a store; stateless apart from its collaborators."""

    def __init__(self, store: EventStore, settings: Settings, secret: bytes) -> None:
        self.store = store
        self.settings = settings
        self.secret = secret

    def list_pages(
        self,
        *,
        from_: str | None,
        to: str | None,
        limit: str | int | None = None,
        cursor: str | None = None,
        country: str | None = None,
        region: str | None = None,
        browser_name: str | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        sort_dir: str | None = None,
    ) -> dict[str, Any]:
        """``GET /rest/v1/heatmap-pages``: pages with clicks in the window, sorted, one page of them."""
        window = parse_window(from_, to)
        size = parse_limit(limit)
        sort_key, descending = parse_sort(sort_by, sort_dir)
        filters = parse_filters(country, region, browser_name)
        needle = search or None
        digest = query_digest(
            {
                "from": window.from_day,
                "to": window.to_day,
                "country": (filters.country or "").upper(),
                "region": (filters.region or "").lower(),
                "browser": (filters.browser or "").lower(),
                "search": (needle or "").lower(),
                "sort": sort_key,
                "desc": descending,
            }
        )
        if cursor:
            try:
                state = decode_cursor(cursor, digest, self.secret)
            except InvalidCursorError as exc:
                raise BadRequest(str(exc)) from None
        else:
            state = CursorState(offset=0, snapshot=self.store.last_seq())
        pages = self.ranked_pages(window, filters, needle, sort_key, descending, as_of_seq=state.snapshot)
        chunk = pages.slice(state.offset, size)
        has_more = state.offset + chunk.height < pages.height
        next_cursor = (
            encode_cursor(CursorState(state.offset + chunk.height, state.snapshot), digest, self.secret)
            if has_more
            else None
        )
        return {
            "entities": [page_entity(row) for row in chunk.iter_rows(named=True)],
            "pagination": {"nextCursor": next_cursor, "hasMore": has_more},
        }

    def ranked_pages(
        self,
        window: Window,
        filters: WebFilters,
        search: str | None,
        sort_key: str,
        descending: bool,
        *,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """Every matching page's metrics in the contract's order (the dashboard shows it whole)."""
        earlier = self.store.clicks_before_late_sessions(as_of_seq) if as_of_seq is not None else None
        if earlier is None or earlier.is_empty():
            counts = self.store.click_counts(window.from_day, window.to_day, filters, as_of_seq=as_of_seq)
            pages = metrics.pages_from_counts(counts)
        else:
            events = self.store.web_events(
                window.from_day,
                window.to_day,
                filters,
                clicks_only=True,
                as_of_seq=as_of_seq,
                columns=(*metrics.PAGE_LIST_COLUMNS, "seq"),
            )
            pages = metrics.page_list(self._rage_flags_as_of(events, earlier))
        if search:
            pages = pages.filter(
                pl.col("page_key").str.to_lowercase().str.contains(search.lower(), literal=True)
            )
        return sort_pages(pages, sort_key, descending)

    def _rage_flags_as_of(self, events: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
        """``events`` with the rage flags they had at a cursor's snapshot.

        Stored flags are the latest: a click arriving after a cursor's snapshot can complete (or extend)
        a run of clicks inside it, and a walk whose pages moved between two requests would repeat or skip
        pages. ``earlier``: the clicks up to the snapshot of the sessions clicked since, recomputed here.
        """
        flags = rage.rage_flags(earlier, **self.settings.rage_thresholds())
        flags = flags.select("seq", "rage", "rage_start")
        return events.update(flags, on="seq", how="left")

    def page_summary(
        self,
        *,
        page_key: str | None,
        breakpoint: str | None,
        from_: str | None,
        to: str | None,
        country: str | None = None,
        region: str | None = None,
        browser_name: str | None = None,
    ) -> dict[str, Any]:
        """``GET /rest/v1/heatmap-pages/summary``: bins, dead and rage clicks, scroll depth, replays."""
        if not page_key:
            raise BadRequest("pageKey is required, e.g. https://example.com/pricing")
        try:
            key = normalize_page_key(page_key, self.settings.page_key_rules)
        except InvalidUrlError as exc:
            raise BadRequest(f"pageKey {exc}") from None
        names = breakpoints.NAMES
        if breakpoint not in names:
            raise BadRequest(f"breakpoint must be one of {', '.join(names)}, got {str(breakpoint)[:40]!r}")
        window = parse_window(from_, to)
        filters = parse_filters(country, region, browser_name)
        if not self.store.page_exists(key):
            raise NotFound(f"no events were ever recorded for pageKey {key}")
        events = self.store.web_events(
            window.from_day, window.to_day, filters, page_key=key, columns=metrics.SUMMARY_COLUMNS
        )
        return summarize_page(events, breakpoint, self.settings.replay_template())


def summarize_page(events: pl.DataFrame, breakpoint: str, replay_template: str) -> dict[str, Any]:
    """The summary body for one page's events (all breakpoints; replays use them all)."""
    click_bins, rage_bins, dead_bins, reach, fold = metrics.breakpoint_summary(events, breakpoint)
    return {
        "clickBins": click_bins,
        "deadClicks": dead_bins,
        "rageClicks": rage_bins,
        "scrollDepth": reach,
        "replays": metrics.replays(events, template=replay_template),
        "binGeometry": bins.geometry(),
        "fold": fold,
    }
