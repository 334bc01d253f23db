"""A page's clicks as a smooth density: a Gaussian kernel over the bins of CONTRACT 2.4, a log heat scale
and a colour ramp whose alpha rises with the heat. Pure NumPy and Pillow: cells in, image out.

The density is computed once, on a working grid a third of the kernel's width fine (coarser on very
long pages, :func:`grid_shape`), and kept as 8-bit heat levels (:class:`Density`). The figure shows
those levels as a small PNG that the browser scales smoothly over the backdrop; the PNG export draws
the same levels at the backdrop's full resolution. A density has no detail finer than its kernel, so
both show the same picture, and the figure does not carry an image as large as the screenshot.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from PIL import Image

from dashboard.heatmap_geometry import bin_centres
from dashboard.palette import colours_at
from data_layer import bins

KERNEL_SIGMA_PX: Final[dict[str, float]] = {"desktop": 12.0, "tablet": 16.0, "mobile": 18.0}
"""The kernel's standard deviation in document CSS px, per breakpoint.

Touch: taps land around their target with a spread of about 3 mm, which is 16 CSS px on a tablet
(about 0.19 mm per CSS px) and 18 on a phone (about 0.165 mm): 2 % and 4.6 % of the page width, where
a mouse click is exact. On a desktop the kernel only has to hide the bins (14.4 x 16 px at 1440 px) and
keep a lone click visible on a figure drawn at half scale: 12 px. See also :func:`kernel_sigma_px`.
"""

TRUNCATE: Final = 5.0
"""The kernel is cut this many sigma from its centre, where less than 10⁻⁶ of a click's mass is left."""

BAND_POINTS: Final = 16
"""Working grid points blurred together (:func:`_smoothed`). Small bands touch few lattice rows, and
products this small run on one thread: on a busy 2-core machine, OpenBLAS's threads spin and made
the density of a long page 3 to 4 times slower (docs/performance.md)."""

LATTICE_SMOOTHING: Final = 0.6
"""The smallest sigma, as a fraction of a bin's width or height. Gaussians at least 0.6 times their
spacing wide sum to a flat field over evenly clicked bins (a ripple of 2·exp(-2π²·0.36), 0.16 %),
so the grid never shows through, even on a page far wider than its breakpoint's nominal width."""

SAMPLES_PER_SIGMA: Final = 3
"""Working grid cells per sigma. A Gaussian sampled this finely and interpolated (bicubic in the
export, bilinear in the browser) is off by at most about 1 % of a lone click's peak."""

MAX_GRID_CELLS: Final = 600_000
"""Above this, the working grid gets coarser (a 1440 x 13,000 px page at 12 px would need 1.2 M cells):
the cost of the kernel grows with the cells, the picture barely changes. See docs/performance.md."""

COVERED: Final = 0.01
"""Where the clicks are, for the heat reference: density above 1 % of a lone click's peak."""

REFERENCE_PERCENTILE: Final = 99.0
"""The density that gets the top of the ramp: this percentile of the covered area, not its maximum."""

KNEE: Final = 0.25
"""Where the log heat scale bends, as a fraction of a lone click's peak density."""

LEVELS: Final = 256
"""Heat levels (8 bits): level 0 is no density and fully transparent."""


def kernel_sigma_px(breakpoint: str, page_width: float, columns: int = bins.COLUMNS) -> float:
    """The kernel's sigma (CSS px) for a page of ``page_width`` CSS px at ``breakpoint``.

    The breakpoint's :data:`KERNEL_SIGMA_PX`, widened to :data:`LATTICE_SMOOTHING` times a bin's width
    or height when the bins are larger (a 2,560 px wide page has 25.6 px wide bins).
    """
    lattice = max(page_width / columns, bins.ROW_HEIGHT_PX)
    return max(KERNEL_SIGMA_PX.get(breakpoint, KERNEL_SIGMA_PX["desktop"]), LATTICE_SMOOTHING * lattice)


def grid_shape(page_width: float, page_height: float, sigma_px: float) -> tuple[int, int]:
    """(rows, columns) of the working grid spanning the page: cells of sigma / 3 CSS px, coarser when
    that would be more than :data:`MAX_GRID_CELLS` cells."""
    step = max(sigma_px / SAMPLES_PER_SIGMA, math.sqrt(page_width * page_height / MAX_GRID_CELLS))
    return max(1, math.ceil(page_height / step)), max(1, math.ceil(page_width / step))


def _kernel(at: npt.NDArray[np.float64], centres: npt.NDArray[np.float64], sigma: float) -> np.ndarray:
    """The 1-D Gaussian (per CSS px, cut at :data:`TRUNCATE` sigma) of each centre at each point:
    float32, ``(len(at), len(centres))``."""
    squared = ((at[:, None] - centres[None, :]) / sigma).astype(np.float32)
    squared *= squared
    beyond = squared > TRUNCATE * TRUNCATE
    squared[beyond] = 0.0  # exp of far points would only make zeros, slowly (underflow)
    kernel = np.exp(np.float32(-0.5) * squared) * np.float32(1 / (math.sqrt(2 * math.pi) * sigma))
    kernel[beyond] = 0.0
    return kernel


def _smoothed(
    at: npt.NDArray[np.float64], centres: npt.NDArray[np.float64], sigma: float, values: np.ndarray
) -> np.ndarray:
    """``_kernel(at, centres, sigma) @ values`` for sorted ``centres``, a band of points at a time.

    A point gets mass only from centres within :data:`TRUNCATE` sigma, so a band of
    :data:`BAND_POINTS` points multiplies the few lattice rows (or columns) near it, not all of them.
    """
    out = np.zeros((at.size, values.shape[1]), dtype=np.float32)
    reach = TRUNCATE * sigma
    for start in range(0, at.size, BAND_POINTS):
        band = at[start : start + BAND_POINTS]
        first, last = np.searchsorted(centres, (band[0] - reach, band[-1] + reach))
        if last > first:
            out[start : start + band.size] = _kernel(band, centres[first:last], sigma) @ values[first:last]
    return out


def _cell_centres(count: int, length: float) -> npt.NDArray[np.float64]:
    return (np.arange(count) + 0.5) * (length / count)


def click_density(
    cells: pl.DataFrame,
    value: str,
    *,
    page_width: float,
    page_height: float,
    sigma_px: float,
    shape: tuple[int, int],
    columns: int = bins.COLUMNS,
    row_height_px: float = bins.ROW_HEIGHT_PX,
) -> np.ndarray:
    """Clicks per CSS px² at the centres of a ``shape`` grid spanning the page (float32).

    Each bin's ``value`` sits at its centre (:func:`bin_centres`) and is spread by a Gaussian of
    ``sigma_px``. The kernel is separable and the bins lie on a lattice, so the density is two matrix
    products over the lattice's occupied rows and columns (``down @ counts @ across.T``, each band
    by band), instead of one kernel per bin. The kernel is not renormalised at the page's
    edges: mass beyond them is lost, and a click looks the same wherever it is. Away from the edges,
    the grid sums to the clicks (times a cell's area).
    """
    rows, cols = shape
    if cells.is_empty():
        return np.zeros(shape, dtype=np.float32)
    xs, ys = bin_centres(cells, page_width, columns=columns, row_height_px=row_height_px)
    lattice_x, column_of = np.unique(xs, return_inverse=True)
    lattice_y, row_of = np.unique(ys, return_inverse=True)
    counts = np.bincount(
        row_of * lattice_x.size + column_of,
        weights=cells.get_column(value).to_numpy().astype(np.float64),
        minlength=lattice_y.size * lattice_x.size,
    ).reshape(lattice_y.size, lattice_x.size)
    across = _smoothed(_cell_centres(cols, page_width), lattice_x, sigma_px, counts.T.astype(np.float32))
    return _smoothed(_cell_centres(rows, page_height), lattice_y, sigma_px, np.ascontiguousarray(across.T))


def heat(density: np.ndarray, sigma_px: float) -> np.ndarray:
    """Heat in [0, 1] of a :func:`click_density` grid: a log scale up to a high percentile.

    The density is first counted in lone clicks (a lone click's peak is 1 / (2π sigma²) per px²). Heat is
    ``log(1 + u/k) / log(1 + ref/k)`` with ``k`` = :data:`KNEE`: equal ratios of density take equal
    steps of heat, so a spot with ten times the clicks is always the same step hotter, and a lone
    click next to 1,000 clicks still reaches a fifth of the scale (a linear scale would give it
    1/1000, a square root 1/30). ``ref`` is the :data:`REFERENCE_PERCENTILE` of the density where there
    are clicks (:data:`COVERED`), at least a lone click: the hottest 1 % of that area saturates
    rather than one runaway hotspot pushing every other spot down the ramp.
    """
    lone = density * (2 * math.pi * sigma_px * sigma_px)
    covered = lone[lone >= COVERED]
    if covered.size == 0:
        return np.zeros(density.shape, dtype=np.float32)
    reference = max(1.0, float(np.percentile(covered, REFERENCE_PERCENTILE)))
    scaled = np.log1p(np.maximum(lone, 0) / KNEE) / math.log1p(reference / KNEE)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def ramp(opacity: float) -> npt.NDArray[np.uint8]:
    """RGBA (uint8, ``LEVELS x 4``) of each heat level: the shared palette, alpha ``opacity · √heat``.

    The colours are :mod:`dashboard.palette`'s, which the cells use too: cool blue through yellow to
    deep red, warmer with every step. Alpha rises with the heat, steeply at first (the square root),
    so the faint edge of a lone click shows; it is 0 at level 0, so the page without clicks is left
    untouched, and ``opacity`` at the top, so the slider still lets the backdrop through the hotspots.
    """
    positions = np.linspace(0.0, 1.0, LEVELS)
    table = np.zeros((LEVELS, 4), dtype=np.uint8)
    table[:, :3] = colours_at(positions)
    table[:, 3] = np.rint(255 * min(max(opacity, 0.0), 1.0) * np.sqrt(positions)).astype(np.uint8)
    return table


Palette = Callable[[float], npt.NDArray[np.uint8]]
"""RGBA (uint8, ``LEVELS x 4``) of each level for an opacity: :func:`ramp`, or a diverging one."""


def density_colorscale(opacity: float, stops: int = 11, palette: Palette = ramp) -> list[list[float | str]]:
    """``palette`` as a Plotly ``colorscale`` (alpha included), for the density's colour bar."""
    positions = np.linspace(0.0, 1.0, stops)
    table = palette(opacity)[np.rint(positions * (LEVELS - 1)).astype(np.intp)]
    return [
        [float(position), f"rgba({r},{g},{b},{a / 255:.3f})"]
        for position, (r, g, b, a) in zip(positions, table.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class Density:
    """A page's heat levels (uint8, 0 = no clicks) on a working grid spanning ``width`` x ``height``
    CSS px of the page: the figure and the PNG export draw from the same levels. ``palette`` colours
    them: the heat :func:`ramp`, or another (a comparison's difference, whose middle level is 0)."""

    levels: np.ndarray
    width: float
    height: float
    sigma_px: float
    palette: Palette = ramp

    def image(self, opacity: float, size: tuple[int, int] | None = None) -> Image.Image:
        """The levels coloured by :func:`ramp`, as a palette image (``P``, RGBA palette) of ``size``
        pixels (width, height; default: one pixel per grid cell), resized bicubically."""
        picture = Image.fromarray(self.levels)  # uint8: mode L, which the palette turns into P
        if size is not None and size != picture.size:
            picture = picture.resize(size, Image.Resampling.BICUBIC)
        picture.putpalette(self.palette(opacity).tobytes(), rawmode="RGBA")
        return picture

    def png_uri(self, opacity: float) -> str:
        """:meth:`image` at the grid's size as a PNG data URI, for ``go.Image(source=...)``."""
        out = BytesIO()
        self.image(opacity).save(out, format="PNG", compress_level=3)
        return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def page_density(
    cells: pl.DataFrame,
    value: str,
    *,
    page_width: float,
    page_height: float,
    sigma_px: float,
    columns: int = bins.COLUMNS,
    row_height_px: float = bins.ROW_HEIGHT_PX,
) -> Density:
    """The :class:`Density` of ``cells`` (``bin_x``, ``bin_y``, ``value``) over a page of
    ``page_width`` x ``page_height`` CSS px, with a kernel of ``sigma_px`` (:func:`kernel_sigma_px`)."""
    shape = grid_shape(page_width, page_height, sigma_px)
    density = click_density(
        cells,
        value,
        page_width=page_width,
        page_height=page_height,
        sigma_px=sigma_px,
        shape=shape,
        columns=columns,
        row_height_px=row_height_px,
    )
    levels = np.rint(heat(density, sigma_px) * (LEVELS - 1)).astype(np.uint8)
    return Density(levels, page_width, page_height, sigma_px)
