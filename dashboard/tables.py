"""Service frames reshaped for ``st.dataframe`` (pure Polars) and their column configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from dashboard.formatting import page_host, short_path
from data_layer import breakpoints

PAGE_TABLE_COLUMNS = {
    "page": st.column_config.TextColumn(
        "Page", width=380, help="The page's path; the full URL is in the last column."
    ),
    "site": st.column_config.TextColumn("Site", width=140, help="The page's host."),
    "clicks": st.column_config.NumberColumn("Clicks", format="localized"),
    "rage_events": st.column_config.NumberColumn(
        "Rage events", format="localized", help="Runs of 3+ fast clicks on the same spot."
    ),
    "dead_clicks": st.column_config.NumberColumn(
        "Dead clicks", format="localized", help="Clicks the page did not react to."
    ),
    "rage_rate": st.column_config.NumberColumn(
        "Rage rate", format="%.1f%%", width="small", help="Rage events per click."
    ),
    "dead_rate": st.column_config.NumberColumn(
        "Dead rate", format="%.1f%%", width="small", help="Dead clicks per click."
    ),
    "issue_score": st.column_config.ProgressColumn(
        "Issue score",
        min_value=0,
        max_value=100,
        format="%.1f",
        help="0-100: the frustrated share (dead or rage clicks) we are 95 % sure of, "
        "at full weight from 100 clicks.",
    ),
    "split": st.column_config.TextColumn(
        "Desktop / tablet / mobile",
        width=160,
        help="Clicks per breakpoint (viewport < 768 px is mobile, < 1024 tablet).",
    ),
    "url": st.column_config.TextColumn("URL", help="pageKey: origin + path, no query."),
}
SCROLL_ONLY_COLUMNS = {
    "page": PAGE_TABLE_COLUMNS["page"],
    "site": PAGE_TABLE_COLUMNS["site"],
    "scroll_sessions": st.column_config.NumberColumn(
        "Sessions with scroll data", format="localized", help="Sessions that scrolled the page."
    ),
    "url": PAGE_TABLE_COLUMNS["url"],
}


def several_sites(pages: pl.DataFrame) -> bool:
    """Whether the ``page_key`` column spans several hosts: only then is a Site column worth its room."""
    return pages["page_key"].map_elements(page_host, return_dtype=pl.String).n_unique() > 1


def column_order(config: Mapping[str, Any], *, with_site: bool) -> list[str]:
    """The columns of ``config`` to show, in its order; ``site`` only ``with_site``."""
    return [name for name in config if name != "site" or with_site]


def page_and_site(page_key: pl.Expr) -> list[pl.Expr]:
    """The path first (cut in the middle when very long) and the host apart, for a list of long URLs."""
    return [
        page_key.map_elements(short_path, return_dtype=pl.String).alias("page"),
        page_key.map_elements(page_host, return_dtype=pl.String).alias("site"),
    ]


SORT_LABELS = {
    "ISSUE_SCORE": "Issue score",
    "CLICKS": "Clicks",
    "RAGE_CLICKS": "Rage events",
    "DEAD_CLICKS": "Dead clicks",
    "RAGE_RATE": "Rage rate",
    "DEAD_RATE": "Dead rate",
    "PAGE_KEY": "Page URL",
}
"""The service's sort keys as the Pages view names them (the Groups view names ``PAGE_KEY`` "Name")."""


def sort_controls(
    columns: list[Any], labels: Mapping[str, str], *, sort_key: str, order_key: str
) -> tuple[str, str]:
    """The "Sort by" and "Order" controls of a list in the first two ``columns``, bound to the URL
    under ``sort_key`` and ``order_key``: (service sort key, ``"asc"`` or ``"desc"``)."""
    chosen = columns[0].selectbox(
        "Sort by", list(labels), format_func=labels.__getitem__, key=sort_key, bind="query-params"
    )
    direction = columns[1].segmented_control(
        "Order",
        ["desc", "asc"],
        default="desc",
        key=order_key,
        bind="query-params",
        format_func=lambda value: "Highest first" if value == "desc" else "Lowest first",
    )
    return chosen, direction


def totals_columns() -> list[pl.Expr]:
    """A pages-list row's counts and rates in display form (rates as percentages, 0-100): what the
    Pages and Groups tables show alike."""
    return [
        pl.col("total_clicks").alias("clicks"),
        pl.col("rage_clicks").alias("rage_events"),
        pl.col("dead_clicks"),
        (pl.col("rage_rate") * 100).alias("rage_rate"),
        (pl.col("dead_rate") * 100).alias("dead_rate"),
        pl.col("issue_score"),
    ]


def page_table(pages: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``service.ranked_pages`` in display form (order kept): one column per table column.

    ``page`` is the pageKey's path (:func:`dashboard.formatting.short_path`), ``site`` its host and ``url``
    the pageKey itself. ``split`` is the clicks of desktop, tablet and mobile in that
    order (0 when none), e.g. ``120 / 8 / 64``. Rates become percentages (0-100) so every row shows one
    decimal.
    """
    per_breakpoint = [
        pl.col("breakpoints")
        .list.eval(pl.element().filter(pl.element().struct.field("breakpoint") == name))
        .list.eval(pl.element().struct.field("clicks"))
        .list.sum()
        .fill_null(0)
        .cast(pl.Int64)
        .alias(name)
        for name in breakpoints.NAMES
    ]
    return pages.with_columns(per_breakpoint).select(
        *page_and_site(pl.col("page_key")),
        *totals_columns(),
        pl.format("{} / {} / {}", *(pl.col(name) for name in breakpoints.NAMES)).alias("split"),
        pl.col("page_key").alias("url"),
    )


def scroll_only_table(pages: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``scroll_only.scroll_only_pages`` in display form (order kept), the page and site as in
    :func:`page_table`."""
    return pages.select(
        *page_and_site(pl.col("page_key")), "scroll_sessions", pl.col("page_key").alias("url")
    )
