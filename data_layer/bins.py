"""Heatmap bin geometry (CONTRACT 2.4): 100 columns, each 1 % of the document width, and rows of 16
document CSS px from the top. The numbers, the binning of clicks and the geometry the summary reports
all live here, so the API, the metrics and the dashboard's drawing cannot disagree about a cell."""

from __future__ import annotations

from typing import Final, TypeVar

import polars as pl

COLUMNS: Final = 100
ROW_HEIGHT_PX: Final = 16

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _bin_x() -> pl.Expr:
    # x * 100 / width, not (x / width) * 100: 290 / 1000 * 100 is 28.999999999999996 in floating point.
    x_percent = (pl.col("x") * COLUMNS / pl.col("document_width")).clip(0.0, COLUMNS)
    return x_percent.floor().clip(upper_bound=COLUMNS - 1).cast(pl.Int32)


def _bin_y() -> pl.Expr:
    return (pl.col("y") / ROW_HEIGHT_PX).floor().cast(pl.Int32)


def with_bins(frame: FrameT) -> FrameT:
    """``frame`` plus ``bin_x``, ``bin_y`` (Int32).

    ``bin_x = min(floor(clamp(x / document_width, 0, 1) * 100), 99)``; ``bin_y = floor(y / 16)``.
    Needs ``x``, ``y`` (document CSS px; viewport px for fixed elements) and ``document_width`` (≥ 1).
    """
    return frame.with_columns(bin_x=_bin_x(), bin_y=_bin_y())


def bin_key() -> pl.Expr:
    """A click's bin as one row-major number, ``bin_y * COLUMNS + bin_x`` (Int64), from the same columns.

    Grouping a page's clicks on one integer is much faster than on two columns, and the number's order
    is the contract's bin order (binY, then binX). :func:`from_bin_key` turns it back.
    """
    return _bin_y().cast(pl.Int64) * COLUMNS + _bin_x()


def from_bin_key(key: str) -> dict[str, pl.Expr]:
    """``bin_x``, ``bin_y`` (Int32) of the :func:`bin_key` in column ``key``, for a ``select``."""
    return {
        "bin_x": (pl.col(key) % COLUMNS).cast(pl.Int32),
        "bin_y": (pl.col(key) // COLUMNS).cast(pl.Int32),
    }
