"""Pure Polars aggregation of mobile touch events for QueryHeatmapData (CONTRACT 5).

Input frames have the columns of :data:`data_layer.store.TOUCH_EVENT_SCHEMA` (``user_id``, ``x``, ``y``),
in any order, and are already filtered by the caller (screen, campaign, event types, user, days).
Coordinates are content-relative, in [0, 1] (ingestion guarantees it).
"""

from __future__ import annotations

import polars as pl

GRID_SIZE = 100
# v * 100 is rounded to this many decimals before flooring, so a coordinate sent as a decimal on a cell
# edge lands in the cell it names: 0.29 * 100 is 28.999999999999996 in binary floating point, yet 0.29
# belongs to cell 29. Any real error of the product is far below 1e-9.
EDGE_DECIMALS = 9
# Cell centres (i + 0.5) / 100 computed by Python: Polars divides by a constant through its reciprocal,
# which prints 0.20500000000000002 where the client expects 0.205.
_CENTRES = [(i + 0.5) / GRID_SIZE for i in range(GRID_SIZE)]
USER_COUNT_SCHEMA = {"user_id": pl.String, "touch_count": pl.Int64}


def _cell(column: str) -> pl.Expr:
    """Grid cell index 0..99 of a coordinate in [0, 1]: ``min(floor(v * 100), 99)``, so 1.0 is cell 99."""
    return (pl.col(column) * GRID_SIZE).round(EDGE_DECIMALS).floor().clip(0, GRID_SIZE - 1).cast(pl.Int32)


def _centre(cell: str) -> pl.Expr:
    """Centre of a cell as a coordinate: ``(i + 0.5) / 100``."""
    return pl.col(cell).replace_strict(list(range(GRID_SIZE)), _CENTRES, return_dtype=pl.Float64)


CELL_SCHEMA = {"cell_x": pl.Int32, "cell_y": pl.Int32, "count": pl.Int64}
"""A row of :func:`touch_cells` (with ``user_id``, String, first when counted per user)."""


def touch_cells(events: pl.DataFrame, *, by_user: bool) -> pl.DataFrame:
    """Touches counted per non-empty cell of the 100 x 100 grid (per user and cell with ``by_user``),
    in no particular order: what a store hands over instead of the touches (:data:`CELL_SCHEMA`)."""
    users = ["user_id"] if by_user else []
    return (
        events.lazy()
        .select(*users, _cell("x").alias("cell_x"), _cell("y").alias("cell_y"))
        .group_by(*users, "cell_y", "cell_x")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .select(*users, *CELL_SCHEMA)
        .collect()
    )


def heatmap_points(events: pl.DataFrame, *, per_user: bool) -> pl.DataFrame:
    """Non-empty cells of the 100 x 100 grid: ``x``, ``y``, ``count`` (and ``user_id`` when ``per_user``).

    ALL_USERS (``per_user=False``): one row per cell, ordered by y then x (top row first, left to right),
    without ``user_id``. PER_USER: one row per user and cell, grouped per user with the users in
    :func:`user_touch_counts` order (touch count descending, then user_id ascending), each user's cells
    ordered by y then x. ``x``/``y`` are cell centres, 0.005 to 0.995; counts are >= 1.
    """
    return points_from_cells(touch_cells(events, by_user=per_user), per_user=per_user)


def points_from_cells(cells: pl.DataFrame, *, per_user: bool) -> pl.DataFrame:
    """:func:`heatmap_points` from :func:`touch_cells` rows, however a store counted them (cells counted
    per user are added up across users without ``per_user``)."""
    users = ["user_id"] if per_user else []
    counted = cells.lazy()
    if not per_user and "user_id" in cells.columns:
        counted = counted.group_by("cell_y", "cell_x").agg(pl.col("count").sum())
    if per_user:
        counted = counted.with_columns(pl.col("count").sum().over("user_id").alias("user_total")).sort(
            ["user_total", "user_id", "cell_y", "cell_x"], descending=[True, False, False, False]
        )
    else:
        counted = counted.sort("cell_y", "cell_x")
    return counted.select(
        _centre("cell_x").alias("x"), _centre("cell_y").alias("y"), "count", *users
    ).collect()


def user_touch_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Every user in ``events`` with their touches (:data:`USER_COUNT_SCHEMA`), touch_count descending then
    user_id ascending (by code point)."""
    return user_counts_from_cells(touch_cells(events, by_user=True))


def user_counts_from_cells(cells: pl.DataFrame) -> pl.DataFrame:
    """:func:`user_touch_counts` from :func:`touch_cells` rows counted per user."""
    return (
        cells.lazy()
        .group_by("user_id")
        .agg(pl.col("count").sum().cast(pl.Int64).alias("touch_count"))
        .sort(["touch_count", "user_id"], descending=[True, False])
        .collect()
    )
