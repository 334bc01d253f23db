"""PNG export of the heatmap overlay (Pillow) and the shared colour scale, on small hand-worked grids."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
from PIL import Image

from dashboard.export import overlay_png
from dashboard.figures import nice_step
from dashboard.heatmap_geometry import bin_grid
from dashboard.palette import colours_at

FILL = (244, 245, 247, 255)  # palette.OUTLINE_FILL
BORDER = (184, 190, 200, 255)  # palette.OUTLINE_LINE
MIDDLE = (254, 217, 118)  # colour stop at 0.5
TOP = (189, 0, 38)  # colour stop at 1.0
NO_BINS = pl.DataFrame(schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64})


def _pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGBA")


def test_bins_over_a_page_outline() -> None:
    # 4 columns of 2 px over an 8 x 8 px page, rows of 2 px. The outline's 2 px border covers x 0-1 and
    # 6-7, y 0-1 and 6-7. Bin (1, 1) holds 2 of a peak of 4 -> position 0.5; bin (2, 1) the peak -> 1.0.
    # Column i spans x 2i..2i+1, row j spans y 2j..2j+1.
    bins = pl.DataFrame({"bin_x": [1, 2], "bin_y": [1, 1], "clicks": [2, 4]})
    image = _pixels(
        overlay_png(
            bins, "clicks", document_width_px=8, document_height_px=8, opacity=1.0, columns=4, row_height_px=2
        )
    )
    assert image.size == (8, 8)
    assert [image.getpixel((x, y)) for x, y in [(2, 2), (3, 3)]] == [(*MIDDLE, 255)] * 2
    assert [image.getpixel((x, y)) for x, y in [(4, 2), (5, 3)]] == [(*TOP, 255)] * 2
    assert image.getpixel((3, 4)) == FILL  # row 2 has no bin: the page shows through
    assert image.getpixel((0, 3)) == BORDER


def test_opacity_blends_with_the_page() -> None:
    # Alpha round(255 * 0.5) = 128 over the opaque fill: 254*128/255 + 244*127/255 = 249.0,
    # 217*128/255 + 245*127/255 = 230.9, 118*128/255 + 247*127/255 = 182.2.
    bins = pl.DataFrame({"bin_x": [1, 2], "bin_y": [1, 1], "clicks": [2, 4]})
    image = _pixels(
        overlay_png(
            bins, "clicks", document_width_px=8, document_height_px=8, opacity=0.5, columns=4, row_height_px=2
        )
    )
    red, green, blue, alpha = image.getpixel((2, 2))
    assert (red, green, blue) == pytest.approx((249, 231, 182), abs=1)
    assert alpha == 255


def test_a_retina_screenshot_scales_rows_and_columns() -> None:
    # Backdrop 16 x 12 px for a document 8 CSS px wide: scale 2, so column i spans x 4i..4i+3 and row j
    # (2 CSS px) spans y 4j..4j+3. The single bin is the peak; bins below the image are cut off.
    backdrop = io.BytesIO()
    Image.new("RGB", (16, 12), "white").save(backdrop, "PNG")
    bins = pl.DataFrame({"bin_x": [1, 0], "bin_y": [1, 9], "n": [1, 1]})
    image = _pixels(
        overlay_png(
            bins,
            "n",
            document_width_px=8,
            document_height_px=6,
            backdrop_png=backdrop.getvalue(),
            opacity=1.0,
            columns=4,
            row_height_px=2,
        )
    )
    assert image.size == (16, 12)
    inside = [(4, 4), (7, 7), (4, 7), (7, 4)]
    assert [image.getpixel(point) for point in inside] == [(*TOP, 255)] * 4
    outside = [(3, 4), (8, 4), (4, 3), (4, 8), (0, 11)]
    assert [image.getpixel(point) for point in outside] == [(255, 255, 255, 255)] * 5


def test_no_bins_leaves_the_backdrop_untouched() -> None:
    image = _pixels(overlay_png(NO_BINS, "clicks", document_width_px=10, document_height_px=8))
    assert image.size == (10, 8)
    assert image.getpixel((4, 4)) == FILL


def test_bin_grid_places_values_and_drops_bins_outside() -> None:
    grid = bin_grid(
        pl.DataFrame({"bin_x": [0, 2, 1], "bin_y": [0, 1, 7], "v": [3, 5, 9]}), "v", columns=3, rows=2
    )
    expected = np.array([[3.0, np.nan, np.nan], [np.nan, np.nan, 5.0]])
    np.testing.assert_array_equal(grid, expected)


def test_colour_scale_stops_and_interpolation() -> None:
    # Halfway between the 0.75 stop (253, 141, 60) and the 1.0 stop (189, 0, 38): (221, 70.5, 49).
    colours = colours_at(np.array([0.0, 0.5, 1.0, 0.875, 2.0]))
    assert colours.tolist() == [[49, 130, 189], list(MIDDLE), list(TOP), [221, 70, 49], list(TOP)]


@pytest.mark.parametrize(("raw", "step"), [(0.25, 1), (1, 1), (1.2, 2), (4, 5), (11.25, 20), (260, 500)])
def test_colour_bar_ticks_are_whole_readable_steps(raw: float, step: int) -> None:
    assert nice_step(raw) == step
