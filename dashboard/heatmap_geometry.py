"""Where the bins of CONTRACT 2.4 land on a drawing: the grid of values, the page height to draw, a bin's
centre and the bin under a point. The Heatmap view's figure, its selections and its PNG export all place
cells with these functions, so what is shown, what is selected and what is exported agree.

Cells arrive as the service's frames (``bin_x``, ``bin_y`` and a value column), never one dict per bin.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from data_layer import bins

DEFAULT_PAGE_HEIGHT_PX = 2400
"""Drawn when neither a backdrop nor the visits tell how tall the page is."""


def rows_covering(height_px: float, row_height_px: float = bins.ROW_HEIGHT_PX) -> int:
    """Rows of bins that reach down to ``height_px`` (at least one)."""
    return max(1, math.ceil(height_px / row_height_px))


def bin_grid(cells: pl.DataFrame, value: str, *, rows: int, columns: int = bins.COLUMNS) -> np.ndarray:
    """A ``rows x columns`` float grid of ``cells[value]`` at (bin_y, bin_x); NaN where no bin.

    Bins outside the grid (below the last row) are dropped.
    """
    grid = np.full((rows, columns), np.nan)
    x = cells.get_column("bin_x").to_numpy()
    y = cells.get_column("bin_y").to_numpy()
    inside = (x >= 0) & (x < columns) & (y >= 0) & (y < rows)
    grid[y[inside], x[inside]] = cells.get_column(value).to_numpy()[inside]
    return grid


def page_height(
    cells: pl.DataFrame,
    *,
    image_height: float | None,
    document_height: int | None,
    row_height_px: int = bins.ROW_HEIGHT_PX,
) -> float:
    """Height (CSS px) to draw: the backdrop or the typical document, extended down to the lowest bin."""
    lowest = (int(cells.get_column("bin_y").max()) + 1) * row_height_px if cells.height else 0  # type: ignore[arg-type]
    base = image_height or document_height or DEFAULT_PAGE_HEIGHT_PX
    return float(max(base, lowest))


def bin_centres(
    cells: pl.DataFrame,
    canvas_width: float,
    *,
    columns: int = bins.COLUMNS,
    row_height_px: float = bins.ROW_HEIGHT_PX,
) -> tuple[np.ndarray, np.ndarray]:
    """Centres (CSS px) of bins: x = W * (bin_x + 0.5) / columns, y = (bin_y + 0.5) * row height."""
    x = cells.get_column("bin_x").to_numpy().astype(np.float64)
    y = cells.get_column("bin_y").to_numpy().astype(np.float64)
    return canvas_width * (x + 0.5) / columns, (y + 0.5) * row_height_px


def bin_at(
    x: float,
    y: float,
    canvas_width: float,
    *,
    columns: int = bins.COLUMNS,
    row_height_px: float = bins.ROW_HEIGHT_PX,
) -> tuple[int, int]:
    """The (bin_x, bin_y) holding page point (x, y): the inverse of :func:`bin_centres`."""
    return math.floor(x * columns / canvas_width), math.floor(y / row_height_px)


def screenshot_css_width(image_width: int, visits_width: int | None) -> float:
    """The CSS width an uploaded screenshot shows: its pixel width over the device pixel ratio (1, 2, 3,
    ...) that brings it nearest the visitors' median document width (a 2,880 px retina shot of a page
    seen at 1,536 px is 1,440 CSS px wide); its own width without visits.

    Its rows are then CSS px 1:1, where the clicks' y are, so the drawing does not stretch a 1,440 px
    shot to 1,536 px and misplace everything below the fold by 7 %; x lands by its share of the width.
    """
    if not visits_width:
        return float(image_width)
    return image_width / max(1, round(image_width / visits_width))
