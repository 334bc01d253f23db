"""Pages: every page with clicks in the window, ranked, with rage/dead rates and the issue score; below,
the pages visitors scrolled without clicking, whose scroll depth is on the Heatmap view too."""

from __future__ import annotations

import math

import polars as pl
import streamlit as st

from dashboard import context, empty, filters, loaders
from dashboard.formatting import count, escape_markdown, page_host, percent
from dashboard.tables import (
    PAGE_TABLE_COLUMNS,
    SCROLL_ONLY_COLUMNS,
    SORT_LABELS,
    column_order,
    page_table,
    scroll_only_table,
    several_sites,
    sort_controls,
)

PAGE_SIZES = (25, 50, 100)
SCROLL_ONLY_ROWS = 10  # shown at once; the table scrolls


def _open_heatmap(page_key: str, breakpoint: str) -> None:
    st.switch_page("app_pages/heatmap.py", query_params={"page": page_key, "bp": breakpoint})


def _scroll_only_pages(pages: pl.DataFrame, with_site: bool) -> None:
    """Pages with scroll data but no click: the list above ranks clicks and leaves them out, yet their
    scroll-depth chart and fold are on the Heatmap view. A selected row opens it at the breakpoint with
    most of the page's scroll sessions."""
    if pages.is_empty():
        return
    table = scroll_only_table(pages)
    with st.expander(f"Pages with scroll data but no clicks ({pages.height:,})"):
        event = st.dataframe(
            table,
            column_config=SCROLL_ONLY_COLUMNS,
            column_order=column_order(SCROLL_ONLY_COLUMNS, with_site=with_site),
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="scroll_only_table",
            width="stretch",
            height=min(38 + 35 * table.height, 38 + 35 * SCROLL_ONLY_ROWS),
        )
        st.caption("Select a row to open its scroll depth on the Heatmap view.")
    if event.selection.rows:
        row = pages.row(event.selection.rows[0], named=True)
        _open_heatmap(row["page_key"], row["breakpoint"])


backend = context.page_backend()
st.title("Pages")
empty.stop_if_empty(backend, "web")
chosen = filters.current_filters()
st.caption(
    f"Showing {chosen.describe()} (UTC). **Rage event**: 3 or more clicks in a row, each under 1 s and "
    "30 px from the previous. **Dead click**: the page did not react (no change, scroll or navigation). "
    "**Issue score** (0-100): the share of frustrated clicks we are 95 % sure of, weighted up to full "
    "weight at 100 clicks."
)

controls = st.columns([2, 2, 1, 2], vertical_alignment="bottom")
sort_key, direction = sort_controls(controls, SORT_LABELS, sort_key="sort", order_key="dir")
size = controls[2].selectbox("Rows", PAGE_SIZES, key="size", bind="query-params")

version = loaders.data_version(backend)
with context.explained_errors():
    ranked = loaders.ranked_pages(
        backend, backend.key, version, *chosen.dimension_args, chosen.search, sort_key, direction != "asc"
    )
    scroll_only = loaders.scroll_only_pages(
        backend, backend.key, version, *chosen.dimension_args, chosen.search
    )
# The host is worth a column only when the pages are on several sites; one site is named once.
listed = pl.concat([ranked.select("page_key"), scroll_only.select("page_key")])
with_site = several_sites(listed)

totals = ranked.select(
    pl.col("total_clicks").sum(), pl.col("rage_clicks").sum(), pl.col("dead_clicks").sum()
).row(0)
clicks, rage_events, dead_clicks = (int(value or 0) for value in totals)
metrics = st.columns(4)
metrics[0].metric("Clicks", count(clicks), border=True)
metrics[1].metric(
    "Rage events",
    count(rage_events),
    border=True,
    help="Runs of 3+ fast clicks on the same spot; rate = rage events per click.",
)
metrics[2].metric("Dead clicks", count(dead_clicks), border=True, help="Clicks the page did not react to.")
metrics[3].metric("Pages", count(ranked.height), border=True, help="Pages with at least one click.")
if clicks:
    site = "" if with_site else f" All on {escape_markdown(page_host(listed['page_key'][0]))}."
    st.caption(
        f"Across these pages: {percent(rage_events / clicks)} rage rate, {percent(dead_clicks / clicks)} "
        f"dead-click rate.{site}"
    )

if ranked.is_empty():
    st.info("No page has clicks for these filters. Widen the date range or clear a filter in the sidebar.")
    _scroll_only_pages(scroll_only, with_site)
    st.stop()

page_count = max(1, math.ceil(ranked.height / size))
table_slot = st.container()
footer = st.columns([3, 2], vertical_alignment="center")
with footer[0]:
    number = min(st.pagination(page_count, key="p", bind="query-params"), page_count)
chunk = ranked.slice((number - 1) * size, size)
start = (number - 1) * size + 1
footer[1].caption(
    f"Pages {start:,}-{start + chunk.height - 1:,} of {ranked.height:,}. Select a row to open its heatmap."
)
table = page_table(chunk)
with table_slot:
    event = st.dataframe(
        table,
        column_config=PAGE_TABLE_COLUMNS,
        column_order=column_order(PAGE_TABLE_COLUMNS, with_site=with_site),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="pages_table",
        width="stretch",
        height=min(38 + 35 * table.height, 38 + 35 * 25),
    )

if event.selection.rows:
    row = chunk.row(event.selection.rows[0], named=True)
    _open_heatmap(row["page_key"], row["breakpoints"][0]["breakpoint"] if row["breakpoints"] else "desktop")
_scroll_only_pages(scroll_only, with_site)
