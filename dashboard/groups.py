"""Page groups in the dashboard (CONTRACT 14): what a heatmap is about (one page or a pattern's pages),
the page whose backdrop a group's heatmap is drawn over, and the Groups view's table. Pure: frames in,
values out."""

from __future__ import annotations

from urllib.parse import urlsplit

import polars as pl
import streamlit as st

from dashboard.tables import totals_columns
from data_layer import breakpoints
from data_layer.page_ref import GroupRef, PageRef

GROUP_TABLE_COLUMNS = {
    "name": st.column_config.TextColumn("Group", width=180),
    "pattern": st.column_config.TextColumn("Pattern", width=300),
    "pages": st.column_config.NumberColumn("Pages", help="Matching pages with clicks for these filters."),
    "clicks": st.column_config.NumberColumn("Clicks", format="localized"),
    "rage_events": st.column_config.NumberColumn(
        "Rage events", format="localized", help="Runs of 3+ fast clicks on the same spot."
    ),
    "dead_clicks": st.column_config.NumberColumn(
        "Dead clicks", format="localized", help="Clicks the page did not react to."
    ),
    "rage_rate": st.column_config.NumberColumn("Rage rate", format="%.1f %%", help="Rage events per click."),
    "dead_rate": st.column_config.NumberColumn("Dead rate", format="%.1f %%", help="Dead clicks per click."),
    "issue_score": st.column_config.ProgressColumn(
        "Issue score", format="%.0f", min_value=0, max_value=100, help="As on the Pages view, over the group."
    ),
}


def clicks_by_breakpoint(pages: pl.DataFrame) -> dict[str, int]:
    """Clicks per breakpoint added up over rows of ``service.ranked_pages`` (one page's row, or a
    group's pages), every breakpoint named, 0 when none."""
    split = dict.fromkeys(breakpoints.NAMES, 0)
    for entries in pages["breakpoints"].to_list():
        for entry in entries:
            split[entry["breakpoint"]] += entry["clicks"]
    return split


def busiest_page(pages: pl.DataFrame, breakpoint: str) -> str | None:
    """The page of ``pages`` (rows of ``service.ranked_pages``) with most clicks at ``breakpoint``,
    the first pageKey in alphabetical order on a tie; None when none has a click there.

    A group's heatmap is drawn over this page's backdrop: its layout is the one most of the clicks
    were made on.
    """
    clicks = pages.select(
        "page_key",
        pl.col("breakpoints")
        .list.eval(pl.element().filter(pl.element().struct.field("breakpoint") == breakpoint))
        .list.eval(pl.element().struct.field("clicks"))
        .list.sum()
        .alias("clicks"),
    ).filter(pl.col("clicks") > 0)
    if clicks.is_empty():
        return None
    return clicks.sort(["clicks", "page_key"], descending=[True, False])["page_key"][0]


def page_link_params(page: PageRef | GroupRef) -> dict[str, str]:
    """The ``pageKey`` a link to the Session page opens on: the page itself; none for a group, whose
    session opens on the page where it spent most of its events."""
    return {"pageKey": page.page_key} if isinstance(page, PageRef) else {}


def backdrop_note(backdrop_page: str | None, pages: int, breakpoint: str) -> str:
    """The sentence saying whose backdrop a group's heatmap is drawn over, and why that page."""
    if backdrop_page is None:
        return f"Backdrop: none of the {pages:,} pages has a {breakpoint} click, so a neutral outline."
    return f"Backdrop: {backdrop_page}, the busiest of {pages:,} pages (most {breakpoint} clicks)."


def group_table(groups: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``service.group_list`` in display form (order kept): one column per
    :data:`GROUP_TABLE_COLUMNS`, rates as percentages (0-100)."""
    return groups.select("name", "pattern", "pages", *totals_columns())


def example_pattern(page_keys: list[str]) -> str | None:
    """A pattern grouping the first of ``page_keys`` that sits in a folder with its siblings (its last
    path segment made ``*``: ``https://shop.example/products/*``), so the pattern field's example is
    written in the site's own URLs; the first key's site as a whole without such a page, None without
    pages."""
    if not page_keys:
        return None
    # The first such key: the list is long (every page of the window), the answer near its top.
    nested = next((key for key in page_keys if "/" in urlsplit(key).path.strip("/")), None)
    parts = urlsplit(nested or page_keys[0])
    parent = parts.path.rstrip("/").rpartition("/")[0] if nested else ""
    return f"{parts.scheme}://{parts.netloc}{parent}/*"
