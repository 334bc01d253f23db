"""Pages with scroll data but no click in a window: the pages list (CONTRACT 4) lists pages with clicks
only, so a page visitors read without clicking (an article, a policy) would be out of reach of the
dashboard's Heatmap view and its scroll-depth chart. The dashboard lists them apart; the API's list
keeps its contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from data_layer import breakpoints
from data_layer.filters import WebFilters, Window

if TYPE_CHECKING:
    from data_layer.store import EventStore

COLUMNS = ("event_type", "page_key", "breakpoint", "session_id")
"""All :func:`pages_without_clicks` reads of an event: the replica answers from memory."""


def pages_without_clicks(events: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """Per page of ``events`` without a click: ``page_key``, ``scroll_sessions`` (sessions with a scroll
    event there) and ``breakpoint``, the one with most of those sessions (ties: desktop, tablet,
    mobile), as Strings; most scroll sessions first, then by pageKey.

    A page's events are clicks and scrolls only, so a page without clicks has at least one scroll.
    ``events`` needs :data:`COLUMNS`; its strings may be Categorical (the replica's).
    """
    frame = events.lazy().select(COLUMNS)
    clicked = frame.filter(pl.col("event_type") == "click").select("page_key").unique()
    # Categorical codes stay codes until the few rows per page: no string per event.
    scrolls = (
        frame.filter(pl.col("event_type") == "scroll")
        .join(clicked, on="page_key", how="anti")
        .select("page_key", "breakpoint", "session_id")
        .unique()
    )
    return ranked_pages(
        scrolls.group_by("page_key", "breakpoint").agg(sessions=pl.len()),
        scrolls.group_by("page_key").agg(scroll_sessions=pl.col("session_id").n_unique()),
    )


def ranked_pages(per_breakpoint: pl.LazyFrame, per_page: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`pages_without_clicks` from the scroll sessions of the pages without clicks, however a store
    counted them: per (``page_key``, ``breakpoint``) as ``sessions``, and per ``page_key`` as
    ``scroll_sessions`` (a session at two breakpoints counts once)."""
    order = {name: rank for rank, name in enumerate(breakpoints.NAMES)}
    busiest_breakpoint = (
        per_breakpoint.with_columns(pl.col("breakpoint").cast(pl.String))
        .with_columns(rank=pl.col("breakpoint").replace_strict(order, default=len(order)))
        .group_by("page_key")
        .agg(pl.col("breakpoint").sort_by(["sessions", "rank"], descending=[True, False]).first())
    )
    return (
        per_page.with_columns(pl.col("scroll_sessions").cast(pl.Int64))
        .join(busiest_breakpoint, on="page_key")
        .select(pl.col("page_key").cast(pl.String), "scroll_sessions", "breakpoint")
        .sort(["scroll_sessions", "page_key"], descending=[True, False])
    )


def scroll_only_pages(
    store: EventStore, window: Window, filters: WebFilters, search: str | None = None
) -> pl.DataFrame:
    """:func:`pages_without_clicks` over the window's events matching ``filters``
    (``EventStore.pages_without_clicks``); ``search`` narrows the pageKeys as the pages list does
    (case-insensitive, literal)."""
    pages = store.pages_without_clicks(window, filters)
    if search:
        pages = pages.filter(pl.col("page_key").str.to_lowercase().str.contains(search.lower(), literal=True))
    return pages
