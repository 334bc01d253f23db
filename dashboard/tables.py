"""Service frames reshaped for ``st.dataframe`` (pure Polars) and their column configuration."""

from __future__ import annotations

import polars as pl
import streamlit as st

from data_layer import breakpoints

PAGE_TABLE_COLUMNS = {
    "page": st.column_config.TextColumn("Page", width=290, help="pageKey: origin + path, no query."),
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
}


def page_table(pages: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``service.ranked_pages`` in display form (order kept): one column per table column.

    ``split`` is the clicks of desktop, tablet and mobile in that order (0 when none), e.g.
    ``120 / 8 / 64``. Rates become percentages (0-100) so every row shows one decimal.
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
        pl.col("page_key").alias("page"),
        pl.col("total_clicks").alias("clicks"),
        pl.col("rage_clicks").alias("rage_events"),
        "dead_clicks",
        (pl.col("rage_rate") * 100).alias("rage_rate"),
        (pl.col("dead_rate") * 100).alias("dead_rate"),
        "issue_score",
        pl.format("{} / {} / {}", *(pl.col(name) for name in breakpoints.NAMES)).alias("split"),
    )
