"""The clicked elements of a page (CONTRACT 15): clicks, share, rage events and dead clicks per selector,
and where the element is (the per-field median of the boxes the tracker measured).

Boxes arrive as ``rect`` keys (``x,y,width,height`` in whole px, see ``data_layer.store``); an element
sits at few distinct places, so medians are taken over the distinct boxes weighted by their clicks
instead of over every click.
"""

from __future__ import annotations

import polars as pl

RECT_FIELDS = ("rect_x", "rect_y", "rect_width", "rect_height")
ELEMENT_COLUMNS = ("selector", "event_type", "breakpoint", "dead", "rage_start", "rect")
"""What :func:`element_stats` reads of a page's events."""
ELEMENT_SCHEMA = {
    "selector": pl.String,
    "clicks": pl.Int64,
    "share": pl.Float64,
    "rage_events": pl.Int64,
    "dead_clicks": pl.Int64,
    **dict.fromkeys(RECT_FIELDS, pl.Float64),
}


def _weighted_medians(boxes: pl.DataFrame, width: float | None) -> pl.DataFrame:
    """Per selector, the median of each box field over (selector, rect, n) rows: each rect counted n
    times; an even count takes the mean of the two middle values (as the fold does, CONTRACT 2.5).
    With ``width``, the rows also hold their clicks' ``document_width`` and each box's x and width are
    scaled from it to ``width`` first."""
    parts = boxes.with_columns(
        pl.col("rect").cast(pl.String).str.split_exact(",", 3).struct.rename_fields(list(RECT_FIELDS))
    ).unnest("rect")
    if width is not None:
        scale = width / pl.col("document_width").cast(pl.Float64)
        parts = parts.with_columns(
            pl.col(field).cast(pl.Float64) * scale for field in ("rect_x", "rect_width")
        )
    medians = []
    for field in RECT_FIELDS:
        ordered = parts.select("selector", pl.col(field).cast(pl.Float64), "n").sort("selector", field)
        medians.append(
            ordered.with_columns(
                upto=pl.col("n").cum_sum().over("selector"), total=pl.col("n").sum().over("selector")
            )
            .group_by("selector")
            .agg(
                # 0-based positions of the middle value(s) among the total.
                low=pl.col(field).filter(pl.col("upto") > (pl.col("total") - 1) // 2).first(),
                high=pl.col(field).filter(pl.col("upto") > pl.col("total") // 2).first(),
            )
            .select("selector", ((pl.col("low") + pl.col("high")) / 2).alias(field))
        )
    joined = medians[0]
    for median in medians[1:]:
        joined = joined.join(median, on="selector")
    return joined


def element_stats(
    events: pl.LazyFrame, breakpoint: str, limit: int, *, width: float | None = None
) -> pl.DataFrame:
    """The top ``limit`` selectors of the breakpoint's clicks (:data:`ELEMENT_SCHEMA`), by clicks desc,
    then selector asc. ``share`` divides by every click of the breakpoint, those without a selector too;
    a rage event counts at its first click's selector.

    With ``width`` (``events`` then hold ``document_width``), a box's x and width are medians of the
    boxes scaled from their click's document width to ``width`` px, as the bins place clicks by their
    share of the width (CONTRACT 2.4): boxes measured on pages of different widths then line up on one
    drawing ``width`` px wide, where the clicks' density puts them.
    """
    clicks = events.filter((pl.col("event_type") == "click") & (pl.col("breakpoint") == breakpoint))
    total, per_selector = pl.collect_all(
        [
            clicks.select(pl.len().alias("n")),
            clicks.filter(pl.col("selector").is_not_null())
            .group_by("selector")
            .agg(
                clicks=pl.len().cast(pl.Int64),
                rage_events=pl.col("rage_start").fill_null(False).sum().cast(pl.Int64),
                dead_clicks=pl.col("dead").fill_null(False).sum().cast(pl.Int64),
            )
            .with_columns(pl.col("selector").cast(pl.String))
            .sort(["clicks", "selector"], descending=[True, False])
            .head(limit),
        ]
    )
    top = per_selector.get_column("selector")
    boxes = (
        clicks.filter(pl.col("rect").is_not_null() & pl.col("selector").cast(pl.String).is_in(top.implode()))
        .group_by("selector", "rect", *(() if width is None else ("document_width",)))
        .agg(n=pl.len())
        .with_columns(pl.col("selector").cast(pl.String))
        .collect()
    )
    return element_table(total.item(), per_selector, boxes, width)


def element_table(
    all_clicks: int, per_selector: pl.DataFrame, boxes: pl.DataFrame, width: float | None
) -> pl.DataFrame:
    """:func:`element_stats` from what a store counted: the breakpoint's clicks, the top selectors
    (``selector``, ``clicks``, ``rage_events``, ``dead_clicks`` in order) and their boxes (``selector``,
    ``rect``, with ``width`` ``document_width``, and ``n`` clicks)."""
    return (
        per_selector.with_columns(share=pl.col("clicks") / all_clicks if all_clicks else pl.lit(0.0))
        .join(_weighted_medians(boxes, width), on="selector", how="left", maintain_order="left")
        .select(list(ELEMENT_SCHEMA))
        .cast(ELEMENT_SCHEMA)  # type: ignore[arg-type]
    )
