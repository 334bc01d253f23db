"""PNG export of a heatmap overlay with Pillow (no browser, no Kaleido): pure bytes in, bytes out.

Cells: the grid is painted at one pixel per bin, coloured with :mod:`dashboard.palette`, resized with
NEAREST so every bin becomes a crisp rectangle. Density: the figure's own :class:`Density` levels (a
heat, or a comparison's difference), resized to the screenshot's pixels. Clickmap: the figure's own
element outlines. Each is alpha-composited over the screenshot (or over a neutral page outline when
there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import numpy as np
import polars as pl
from PIL import Image, ImageDraw, ImageFont

from dashboard.clickmap import OUTLINE_FILL_ALPHA, Outline
from dashboard.density import Density
from dashboard.heatmap_geometry import bin_grid, rows_covering
from dashboard.palette import OUTLINE_FILL, OUTLINE_LINE, colours_at
from data_layer import bins

MAX_OUTLINE_HEIGHT_PX = 40_000


def grid_rgba(grid: np.ndarray, opacity: float) -> np.ndarray:
    """RGBA (uint8) of a value grid: colour by value / max, alpha ``opacity`` on bins, 0 on NaN."""
    filled = ~np.isnan(grid)
    peak = np.nanmax(grid) if filled.any() else 0.0
    positions = np.where(filled, grid, 0.0) / peak if peak > 0 else np.zeros(grid.shape)
    rgba = np.zeros((*grid.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colours_at(positions)
    rgba[..., 3] = np.where(filled, round(255 * min(max(opacity, 0.0), 1.0)), 0).astype(np.uint8)
    return rgba


def _outline(width: int, height: int) -> Image.Image:
    """A neutral page: light fill with a thin border, for pages without a screenshot."""
    page = Image.new("RGBA", (width, height), OUTLINE_FILL)
    ImageDraw.Draw(page).rectangle([0, 0, width - 1, height - 1], outline=OUTLINE_LINE, width=2)
    return page


def overlay_png(
    cells: pl.DataFrame,
    value: str,
    *,
    document_width_px: int,
    document_height_px: int,
    backdrop_png: bytes | None = None,
    opacity: float = 0.6,
    columns: int = bins.COLUMNS,
    row_height_px: int = bins.ROW_HEIGHT_PX,
) -> bytes:
    """The heatmap of ``cells`` (``bin_x``, ``bin_y``, ``value``) over the backdrop, as PNG bytes.

    Geometry (CONTRACT 2.4): column ``i`` spans ``W * i / columns`` to ``W * (i + 1) / columns`` of the
    image width ``W``; row ``j`` spans ``j * row_height_px`` to ``(j + 1) * row_height_px`` CSS px, scaled by
    ``W / document_width_px`` (so a 2x screenshot gets 2x rows). Without a backdrop the canvas is a page
    outline of ``document_width_px x document_height_px`` (height capped at 40,000 px). Bins below the
    canvas are cut off.
    """
    canvas = _canvas(backdrop_png, document_width_px, document_height_px)
    width, height = canvas.size
    scale = width / max(1, document_width_px)
    rows = rows_covering(height, row_height_px * scale)
    grid = bin_grid(cells, value, rows=rows, columns=columns)
    layer = Image.fromarray(grid_rgba(grid, opacity))
    layer = layer.resize((width, round(rows * row_height_px * scale)), Image.Resampling.NEAREST)
    return _composed_png(canvas, layer)


def density_png(
    density: Density,
    *,
    document_width_px: int,
    document_height_px: int,
    backdrop_png: bytes | None = None,
    opacity: float = 0.6,
) -> bytes:
    """The ``density`` over the backdrop, as PNG bytes, at the backdrop's full resolution.

    The density spans ``density.width x density.height`` CSS px of the page, scaled by
    ``W / document_width_px`` for a backdrop ``W`` pixels wide; the canvas is the backdrop or the page
    outline, as in :func:`overlay_png`, and what lies below it is cut off.
    """
    canvas = _canvas(backdrop_png, document_width_px, document_height_px)
    scale = canvas.width / max(1, document_width_px)
    size = (max(1, round(density.width * scale)), max(1, round(density.height * scale)))
    return _composed_png(canvas, density.image(opacity, size).convert("RGBA"))


def clickmap_png(
    shapes: Sequence[Outline],
    *,
    document_width_px: int,
    document_height_px: int,
    backdrop_png: bytes | None = None,
    opacity: float = 0.6,
) -> bytes:
    """The clickmap's outlines (:func:`dashboard.clickmap.outlines`, CSS px) over the backdrop, as PNG
    bytes: each box filled and outlined in its colour, its share at its top left (above it when small),
    as the figure draws them, scaled by ``W / document_width_px`` for a backdrop ``W`` pixels wide."""
    canvas = _canvas(backdrop_png, document_width_px, document_height_px)
    scale = canvas.width / max(1, document_width_px)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    line = max(1, round(2 * scale))
    font = ImageFont.load_default(size=max(9, round(11 * scale)))
    for shape in shapes:
        box = [shape.x0 * scale, shape.y0 * scale, shape.x1 * scale, shape.y1 * scale]
        fill = (*shape.colour, round(255 * OUTLINE_FILL_ALPHA * min(max(opacity, 0.0), 1.0)))
        draw.rectangle(box, fill=fill, outline=(*shape.colour, 255), width=line)
        pad = max(1, round(2 * scale))
        left, _, right, bottom = draw.textbbox((0, 0), shape.label, font=font)
        tag = (right - left + 2 * pad, bottom + 2 * pad)  # the label's size, its text's top margin kept
        y = box[1] - tag[1] if shape.label_above else box[1]
        draw.rectangle([box[0], y, box[0] + tag[0], y + tag[1]], fill=(*shape.colour, 255))
        draw.text((box[0] + pad - left, y + pad), shape.label, fill="white", font=font)
    return _composed_png(canvas, layer)


def _canvas(backdrop_png: bytes | None, document_width_px: int, document_height_px: int) -> Image.Image:
    """The backdrop as RGBA, or the page outline (height capped at 40,000 px) when there is none."""
    if backdrop_png is not None:
        with Image.open(BytesIO(backdrop_png)) as image:
            return image.convert("RGBA")
    return _outline(max(1, document_width_px), max(1, min(document_height_px, MAX_OUTLINE_HEIGHT_PX)))


def _composed_png(canvas: Image.Image, layer: Image.Image) -> bytes:
    """``layer`` (RGBA, from the top left, cut to the canvas) composited over ``canvas``, as PNG."""
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    overlay.paste(layer.crop((0, 0, min(canvas.width, layer.width), min(canvas.height, layer.height))))
    composed = Image.alpha_composite(canvas, overlay)
    out = BytesIO()
    composed.save(out, format="PNG", optimize=False)
    return out.getvalue()
