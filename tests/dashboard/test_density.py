"""The Heatmap view's density (dashboard/density.py): the kernel, the heat scale, the colour ramp, and
the figure and PNG export drawing it, on small hand-worked pages."""

from __future__ import annotations

import base64
import colorsys
import io
import math
import random

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
from PIL import Image

from dashboard.density import (
    MAX_GRID_CELLS,
    click_density,
    grid_shape,
    heat,
    kernel_sigma_px,
    page_density,
    ramp,
)
from dashboard.export import density_png
from dashboard.figures import page_overlay
from dashboard.heatmap_view import LAYERS
from data_layer.service import PageSummary

TOP = (189, 0, 38)  # palette stop at 1.0
NO_BINS = pl.DataFrame(schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64})


def _cells(*bins: tuple[int, int, int]) -> pl.DataFrame:
    """Bins as the summary has them: (bin_x, bin_y, clicks)."""
    return pl.DataFrame(bins, schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64}, orient="row")


def _density_grid(cells: pl.DataFrame, width: float, height: float, sigma: float, **grid: int) -> np.ndarray:
    shape = grid_shape(width, height, sigma)
    return click_density(
        cells, "clicks", page_width=width, page_height=height, sigma_px=sigma, shape=shape, **grid
    )


def _rgba(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def test_the_grid_sums_to_the_clicks_away_from_the_edges() -> None:
    # A 1440 x 2000 px page, sigma 12 px: cells of 4 x 4 px (500 rows, 360 columns). Bins 10..89 wide
    # and 10..110 down have their centres at least 151 px (12 sigma) from every edge.
    rng = random.Random(42)
    cells = _cells(
        *{(rng.randrange(10, 90), rng.randrange(10, 111), rng.randrange(1, 500)) for _ in range(300)}
    )
    density = _density_grid(cells, 1440, 2000, 12.0)
    assert density.shape == (500, 360)
    assert float(density.sum(dtype=np.float64)) * 16 == pytest.approx(cells["clicks"].sum(), rel=1e-5)


def test_a_click_at_the_edge_loses_what_falls_off_the_page() -> None:
    # Bin 0 of a 1440 px page is centred 7.2 px from the left edge: with sigma 12, the share of its
    # Gaussian inside the page is Phi(7.2 / 12) = Phi(0.6) = 0.7257; the kernel is not renormalised.
    density = _density_grid(_cells((0, 50, 1)), 1440, 2000, 12.0)
    inside = 0.5 * (1 + math.erf(0.6 / math.sqrt(2)))
    assert float(density.sum(dtype=np.float64)) * 16 == pytest.approx(inside, abs=2e-3)


def test_the_kernel_is_symmetric_and_round() -> None:
    # 5 columns of 16 px on an 80 x 80 px page: bin (2, 2) is centred at (40, 40), the page's centre,
    # and the 20 x 20 grid of 4 px cells is symmetric about it.
    density = _density_grid(_cells((2, 2, 7)), 80, 80, 12.0, columns=5, row_height_px=16)
    assert density.shape == (20, 20)
    np.testing.assert_allclose(density, density[::-1, :], rtol=1e-6)
    np.testing.assert_allclose(density, density[:, ::-1], rtol=1e-6)
    np.testing.assert_allclose(density, density.T, rtol=1e-6)
    # The four cells around the centre are 2 px off in x and y: 7 / (2 pi 144) * exp(-8 / 288).
    assert density[9, 9] == pytest.approx(7 / (2 * math.pi * 144) * math.exp(-8 / 288), rel=1e-5)


def test_a_lone_click_stays_visible_beside_a_thousand() -> None:
    # Heat is log(1 + 4u) / log(1 + 4 ref), u in lone-click peaks: ref is near 1000 (the 99th percentile
    # of the covered area lies inside the big spot), so a lone click's centre gets log 5 / log 4000,
    # about 0.19 of the scale, and alpha sqrt(0.19), about 0.44: a linear scale would give it 1/1000.
    cells = _cells((20, 20, 1000), (70, 80, 1))
    density = page_density(cells, "clicks", page_width=1440, page_height=2000, sigma_px=12.0)
    pixels = _rgba(density.image(1.0, (1440, 2000)))
    lone = pixels[1288, 1015]  # the centre of bin (70, 80): x = 1440 * 70.5 / 100, y = 80.5 * 16
    assert 0.15 * 255 < lone[3] < 0.55 * 255
    assert tuple(pixels[328, 295]) == (*TOP, 255)  # the busy bin's centre tops the ramp


def test_the_ramp_only_gets_hotter_and_more_opaque() -> None:
    table = ramp(0.8).astype(int)
    assert table[0, 3] == 0 and table[-1, 3] == round(0.8 * 255)
    assert (np.diff(table[:, 3]) >= 0).all()
    # Heat as hue: from the blue of rare clicks (about 205 degrees) down through yellow to red, which
    # is counted below 0 (348 degrees is -12) so that warmer is always smaller; rounding the channels
    # to 8 bits may move a hue back by less than half a degree.
    hues = [colorsys.rgb_to_hsv(*(channel / 255 for channel in rgb))[0] * 360 for rgb in table[:, :3]]
    warmth = np.array([hue - 360 if hue > 270 else hue for hue in hues])
    assert warmth[0] > 200 and warmth[-1] < 0
    assert (np.diff(warmth) < 0.5).all()


def test_heat_grows_with_density_and_starts_at_zero() -> None:
    sigma = 16.0
    lone_peak = 1 / (2 * math.pi * sigma**2)
    density = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, 200)]) * lone_peak
    levels = heat(density, sigma)
    assert levels[0] == 0 and levels.max() == 1
    assert (np.diff(levels) >= 0).all()


def test_no_clicks_and_far_from_clicks_are_fully_transparent() -> None:
    empty = page_density(NO_BINS, "clicks", page_width=390, page_height=800, sigma_px=18.0)
    assert not empty.levels.any()
    assert not _rgba(empty.image(1.0, (390, 800)))[..., 3].any()
    lone = page_density(_cells((50, 10, 3)), "clicks", page_width=390, page_height=800, sigma_px=18.0)
    pixels = _rgba(lone.image(1.0, (390, 800)))
    assert pixels[168, 197, 3] > 0  # the click's centre: (195.95, 168)
    assert not pixels[168 + 5 * 18 :, :, 3].any()  # 5 sigma below it and further


def test_the_kernel_suits_the_breakpoint() -> None:
    # A finger is wider than a pointer; a very wide page's bins widen the kernel to 0.6 of a bin.
    assert kernel_sigma_px("desktop", 1440) == 12.0
    assert kernel_sigma_px("tablet", 820) == 16.0
    assert kernel_sigma_px("mobile", 390) == 18.0
    assert kernel_sigma_px("desktop", 2560) == pytest.approx(0.6 * 25.6)


def test_long_pages_get_a_coarser_grid() -> None:
    assert grid_shape(1440, 2000, 12.0) == (500, 360)  # sigma / 3 = 4 px cells
    rows, columns = grid_shape(1440, 13_000, 12.0)  # 1.17 M cells of 4 px: more than the cap
    assert rows * columns <= MAX_GRID_CELLS * 1.01
    assert 13_000 / rows == pytest.approx(1440 / columns, rel=0.01)  # cells stay square


def test_the_export_draws_the_density_at_the_backdrops_resolution() -> None:
    # A page 200 CSS px wide photographed at 2x (400 x 300 px). Bin (50, 4) is centred at (101, 72) CSS
    # px, (202, 144) on the backdrop; a lone click tops its own ramp. (0, 0) is 8 sigma away.
    backdrop = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(backdrop, "PNG")
    density = page_density(_cells((50, 4, 1)), "clicks", page_width=200, page_height=150, sigma_px=12.0)
    png = density_png(
        density, document_width_px=200, document_height_px=150, backdrop_png=backdrop.getvalue(), opacity=1.0
    )
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    assert image.size == (400, 300)
    red, green, blue, _ = image.getpixel((202, 144))
    assert (red, green, blue) == pytest.approx(TOP, abs=12)
    assert image.getpixel((0, 0)) == (255, 255, 255, 255)


def _summary(cells: pl.DataFrame) -> PageSummary:
    none = pl.DataFrame()
    return PageSummary(
        click_bins=cells, rage_bins=none, dead_bins=none, scroll_reach=none, fold_px=None, replays=none
    )


def test_the_figure_shows_the_density_by_default_and_keeps_the_hotspots() -> None:
    cells = _cells((20, 20, 1000), (70, 80, 1))
    overlay = page_overlay(
        _summary(cells),
        LAYERS["All clicks"],
        image=None,
        document_width=1440,
        document_height=2000,
        opacity=0.7,
        breakpoint="desktop",
    )
    traces = {trace.name: trace for trace in overlay.figure.data}
    assert set(traces) == {"density", "density scale", "hotspots"}
    image = traces["density"]
    assert isinstance(image, go.Image) and image.zsmooth == "fast"
    # The image spans the canvas exactly: its first pixel's centre is half a pixel in.
    rows, columns = overlay.density.levels.shape
    assert (image.x0 - image.dx / 2, image.x0 + (columns - 0.5) * image.dx) == pytest.approx((0, 1440))
    assert (image.y0 - image.dy / 2, image.y0 + (rows - 0.5) * image.dy) == pytest.approx((0, 2000))
    shown = Image.open(io.BytesIO(base64.b64decode(image.source.split(",", 1)[1])))
    assert np.array_equal(_rgba(shown), _rgba(overlay.density.image(0.7)))
    assert traces["hotspots"].customdata[:, 0].tolist() == [1000, 1]  # counts, then % of the clicks


def test_the_figure_shows_the_cells_on_request() -> None:
    overlay = page_overlay(
        _summary(_cells((20, 20, 5))),
        LAYERS["All clicks"],
        image=None,
        document_width=390,
        document_height=800,
        opacity=0.7,
        breakpoint="mobile",
        drawing="Cells",
    )
    assert overlay.density is None
    assert [type(trace) for trace in overlay.figure.data] == [go.Heatmap, go.Scatter]
