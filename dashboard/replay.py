"""Pure Polars helpers of the built-in replay: one session's events on one page, as numbered steps."""

from __future__ import annotations

from typing import Any

import polars as pl

from dashboard.formatting import page_host, short_path

TIMELINE_SCHEMA = {
    "step": pl.Int64,
    "seconds": pl.Float64,
    "event_type": pl.String,
    "click_number": pl.Int64,
    "x": pl.Float64,
    "y": pl.Float64,
    "selector": pl.String,
    "dead": pl.Boolean,
    "fixed": pl.Boolean,
    "rage": pl.Boolean,
    "rage_run": pl.Int64,
    "depth": pl.Float64,
    "deepest": pl.Float64,
    "viewport_height": pl.Int32,
    "document_width": pl.Int32,
    "document_height": pl.Int32,
}


def session_pages(events: pl.DataFrame) -> pl.DataFrame:
    """Pages of a session: ``page_key``, ``events``, ``first_ts``; most events first, then earliest."""
    return (
        events.group_by("page_key")
        .agg(events=pl.len(), first_ts=pl.col("ts").min())
        .sort(["events", "first_ts", "page_key"], descending=[True, False, False])
    )


def describe_pages(pages: pl.DataFrame) -> str:
    """A session's pages (:func:`session_pages`) in one line, each by its path with its events:
    ``/cart (24) · /products/tent (4) on shop.example.com``. The host follows each path when the session
    crossed sites, else it is named once at the end: the path is what tells a site's pages apart."""
    keys = pages["page_key"].to_list()
    hosts = {page_host(key) for key in keys}
    several = len(hosts) > 1
    listed = " · ".join(
        f"{short_path(key)}{f' on {page_host(key)}' if several else ''} ({events})"
        for key, events in zip(keys, pages["events"].to_list(), strict=True)
    )
    return listed if several or not hosts else f"{listed} on {hosts.pop()}"


def breakpoints_by_events(events: pl.DataFrame) -> list[str]:
    """Breakpoints present in ``events``, most events first (a resized window can have several)."""
    counts = events.group_by("breakpoint").agg(n=pl.len()).sort(["n", "breakpoint"], descending=[True, False])
    return counts["breakpoint"].to_list()


def timeline(events: pl.DataFrame) -> pl.DataFrame:
    """One page view's events as replay steps, in time order (ts, then arrival).

    ``step`` counts from 1; ``seconds`` since the first event; clicks get ``click_number`` from 1;
    ``rage_run`` numbers the rage events (runs, from 1) and is set on each of their clicks (the stored,
    server-derived flags: a run starts at ``rage_start`` and continues over the following rage clicks);
    ``deepest`` is the deepest scroll depth (% of the page) reported so far, 0 before any scroll.
    """
    ordered = events.sort(["ts", "seq"])
    if ordered.is_empty():
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    is_click = pl.col("event_type") == "click"
    starts = (is_click & pl.col("rage_start").fill_null(False)).cast(pl.Int64).cum_sum()
    return ordered.select(
        step=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        seconds=(pl.col("ts") - pl.col("ts").first()).dt.total_microseconds() / 1_000_000,
        event_type=pl.col("event_type"),
        click_number=pl.when(is_click).then(is_click.cast(pl.Int64).cum_sum()),
        x=pl.col("x"),
        y=pl.col("y"),
        selector=pl.col("selector"),
        dead=is_click & pl.col("dead").fill_null(False),
        fixed=is_click & pl.col("fixed").fill_null(False),
        rage=is_click & pl.col("rage").fill_null(False),
        rage_run=pl.when(is_click & pl.col("rage").fill_null(False)).then(starts),
        depth=pl.col("depth"),
        deepest=pl.col("depth").cum_max().forward_fill().fill_null(0.0),
        viewport_height=pl.col("viewport_height"),
        document_width=pl.col("document_width"),
        document_height=pl.col("document_height"),
    )


def describe_step(row: dict[str, object]) -> str:
    """Plain words for one step: ``click #3 · dead · rage event 1`` or ``scrolled to 64 %``."""
    if row["event_type"] != "click":
        return f"scrolled to {float(row['depth'] or 0):.0f} % of the page"
    words = [f"click #{row['click_number']}"]
    if row["dead"]:
        words.append("dead")
    if row["rage"]:
        words.append(f"rage event {row['rage_run']}")
    if row["fixed"]:
        words.append("on a fixed element")
    return " · ".join(words)


def cluster_clicks(clicks: list[dict[str, Any]], radius_px: float = 12.0) -> list[list[dict[str, Any]]]:
    """Clicks (timeline rows, time order) grouped by spot: a click joins the first earlier group whose
    first click lies within ``radius_px`` (Manhattan) of it, else starts a group. Groups keep time order.
    """
    groups: list[list[dict[str, Any]]] = []
    for click in clicks:
        for group in groups:
            anchor = group[0]
            if abs(click["x"] - anchor["x"]) + abs(click["y"] - anchor["y"]) < radius_px:
                group.append(click)
                break
        else:
            groups.append([click])
    return groups
