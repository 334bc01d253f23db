"""The Heatmap view's clickmap (CONTRACT 15): the most clicked elements outlined on the page with their
share of its clicks, and the table listing them. Pure: the service's elements frame in, outlines and
display rows out; the figure (:mod:`dashboard.figures`) and the PNG export (:mod:`dashboard.export`)
draw the same outlines, so what is shown is what is exported.

An element's box is the median of the boxes the tracker measured (document CSS px; viewport px for a
fixed element, which is then outlined where it was seen, at the top of the page). Elements without a
reported box are listed but not outlined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl
import streamlit as st

from dashboard.formatting import escape_plotly, percent, shorten
from dashboard.palette import colours_at

ELEMENT_LIMIT: Final = 25
"""Elements outlined and listed: the API's default page of elements."""

OUTLINE_FILL_ALPHA: Final = 0.25
"""An outline's fill at full opacity: the element stays readable under it."""

LABEL_ROOM_PX: Final = 48
"""A box less tall than this (a link, a field) gets its label above it, not over its own text."""

SELECTOR_CHARS: Final = 80
"""A longer selector is cut in the middle in hovers (the table shows it whole)."""

ELEMENT_COLUMNS = {
    "selector": st.column_config.TextColumn(
        "Element", width="large", help="The clicked element's CSS selector."
    ),
    "clicks": st.column_config.NumberColumn("Clicks", format="localized"),
    "share": st.column_config.NumberColumn(
        "Share of clicks",
        format="%.1f %%",
        help="Its clicks over every click on the page at this breakpoint.",
    ),
    "rage_events": st.column_config.NumberColumn(
        "Rage events", format="localized", help="Runs of 3+ fast clicks that started on it."
    ),
    "dead_clicks": st.column_config.NumberColumn(
        "Dead clicks", format="localized", help="Clicks on it the page did not react to."
    ),
    "outlined": st.column_config.TextColumn(
        "On the page", help="Outlined on the page, or no box reported (older trackers send none)."
    ),
}


@dataclass(frozen=True)
class Outline:
    """One element's box on the page (CSS px, y downwards) with its numbers and colour (RGB)."""

    selector: str
    x0: float
    y0: float
    x1: float
    y1: float
    clicks: int
    share: float
    rage_events: int
    dead_clicks: int
    colour: tuple[int, int, int]

    @property
    def label(self) -> str:
        """What the outline says on the page: its share of the clicks, ``12.3 %``."""
        return percent(self.share)

    @property
    def label_above(self) -> bool:
        """Whether the label goes above the box (small boxes), not inside its top left corner."""
        return self.y1 - self.y0 < LABEL_ROOM_PX

    @property
    def hover(self) -> str:
        """The hover's lines (Plotly markup, the selector escaped): selector, share, clicks, frustration."""
        counts = [f"{self.clicks:,} clicks"]
        if self.rage_events:
            counts.append(f"{self.rage_events:,} rage events")
        if self.dead_clicks:
            counts.append(f"{self.dead_clicks:,} dead clicks")
        selector = escape_plotly(shorten(self.selector, SELECTOR_CHARS))
        return f"<b>{selector}</b><br>{self.label} of clicks<br>{' · '.join(counts)}"


def outlines(elements: pl.DataFrame) -> list[Outline]:
    """The elements of ``service.page_elements`` that have a box, largest box first, so smaller ones
    (a button in a card) are drawn on top and get the hover. Colours follow the heatmap palette by
    share, the busiest element at its hot end."""
    boxed = elements.filter(pl.col("rect_width").is_not_null() & pl.col("rect_height").is_not_null())
    if boxed.is_empty():
        return []
    top = float(elements.get_column("share").max())  # type: ignore[arg-type]
    boxed = boxed.sort(pl.col("rect_width") * pl.col("rect_height"), "selector", descending=[True, False])
    shares = boxed.get_column("share").to_numpy()
    colours = colours_at(shares / top if top > 0 else np.zeros(shares.size))
    return [
        Outline(
            row["selector"],
            row["rect_x"],
            row["rect_y"],
            row["rect_x"] + row["rect_width"],
            row["rect_y"] + row["rect_height"],
            row["clicks"],
            row["share"],
            row["rage_events"],
            row["dead_clicks"],
            (int(colour[0]), int(colour[1]), int(colour[2])),
        )
        for row, colour in zip(boxed.iter_rows(named=True), colours, strict=True)
    ]


def element_table(elements: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``service.page_elements`` in display form (order kept: most clicked first), one column per
    :data:`ELEMENT_COLUMNS`; the share as a percentage (0-100)."""
    return elements.select(
        "selector",
        "clicks",
        (pl.col("share") * 100).alias("share"),
        "rage_events",
        "dead_clicks",
        pl.when(pl.col("rect_width").is_not_null())
        .then(pl.lit("outlined"))
        .otherwise(pl.lit("no box reported"))
        .alias("outlined"),
    )
