"""What drawing the Heatmap view's density costs: the density of a long page's bins, the PNG the figure
carries, and the PNG export at a screenshot's full resolution. Prints figures (medians, wall time).

.venv/bin/python -m benchmarks.density_render                # 1440 x 13,000 px, desktop, 11 runs
.venv/bin/python -m benchmarks.density_render --runs 21

The bins are generated deterministically (seed 42) as a busy long page's: bins with clicks all over
the page and 300 hot spots with heavy-tailed counts, so the kernel has the whole page to cover and
the heat scale a wide range. "figure" is what the Heatmap view builds for
a page (:func:`page_density` and its PNG data URI, the ARCHITECTURE budget's 100 ms); "export" adds
the density at the screenshot's pixels and the composed PNG of ``density_png``.
"""

from __future__ import annotations

import argparse
import io
import os
from dataclasses import dataclass

import numpy as np
import polars as pl
from PIL import Image

from benchmarks.query_latency import median_ms
from dashboard.density import kernel_sigma_px, page_density
from dashboard.export import density_png
from data_layer import bins


@dataclass(frozen=True)
class Page:
    """A page to draw: its breakpoint, its size in CSS px and how many of its bins have clicks."""

    breakpoint: str
    width: int
    height: int
    bins: int


PAGES = (
    Page("desktop", 1440, 13_000, 20_000),
    Page("desktop", 1440, 13_000, 81_300),  # every bin of the page clicked
    Page("desktop", 1440, 2_400, 3_000),
    Page("mobile", 390, 13_000, 20_000),
    Page("desktop", 1440, 40_000, 20_000),  # the tallest backdrop a capture keeps
)


def page_bins(page: Page, seed: int = 42) -> pl.DataFrame:
    """``page.bins`` distinct bins of the page, chosen uniformly, with one to three clicks each, of
    which 300 are hot spots with heavy-tailed counts (Pareto, up to tens of thousands of clicks)."""
    rng = np.random.default_rng(seed)
    lattice = (page.height // bins.ROW_HEIGHT_PX) * bins.COLUMNS
    chosen = np.sort(rng.choice(lattice, size=min(page.bins, lattice), replace=False))
    clicks = rng.integers(1, 4, chosen.size)
    hot = rng.choice(chosen.size, size=300, replace=False)
    clicks[hot] = (rng.pareto(1.1, hot.size) * 50).astype(np.int64) + 4
    return pl.DataFrame(
        {
            "bin_x": (chosen % bins.COLUMNS).astype(np.int32),
            "bin_y": (chosen // bins.COLUMNS).astype(np.int32),
            "clicks": clicks,
        }
    )


def backdrop(width: int, height: int) -> bytes:
    """A full-page screenshot stand-in: a light page with a darker block every 400 px (PNG)."""
    pixels = np.full((height, width, 3), 246, dtype=np.uint8)
    for top in range(0, height, 400):
        pixels[top + 40 : top + 200, width // 10 : width // 2] = (200, 205, 215)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def measure(page: Page, runs: int, *, export: bool) -> None:
    cells = page_bins(page)
    sigma = kernel_sigma_px(page.breakpoint, page.width)

    def density() -> object:
        return page_density(cells, "clicks", page_width=page.width, page_height=page.height, sigma_px=sigma)

    drawn = page_density(cells, "clicks", page_width=page.width, page_height=page.height, sigma_px=sigma)
    rows, columns = drawn.levels.shape
    uri = drawn.png_uri(0.65)
    print(
        f"{page.breakpoint} {page.width:,} x {page.height:,} px, {cells.height:,} bins, "
        f"{int(cells['clicks'].sum()):,} clicks; sigma {sigma:.0f} px, grid {rows:,} x {columns:,} "
        f"({page.width / columns:.1f} px cells), figure PNG {len(uri) / 1024:,.0f} KiB as a data URI"
    )
    print(f"  density (kernel, heat levels)       {median_ms(density, runs):8.1f} ms")
    figure_ms = median_ms(lambda: density().png_uri(0.65), runs)  # type: ignore[attr-defined]
    print(f"  figure: density and its PNG          {figure_ms:8.1f} ms   (budget 100 ms)")
    full = (page.width, page.height)
    layer_ms = median_ms(lambda: drawn.image(0.65, full).convert("RGBA"), runs)
    print(f"  export layer at {full[0]:,} x {full[1]:,} px RGBA   {layer_ms:8.1f} ms")
    if export:
        png = backdrop(*full)
        size = {"document_width_px": page.width, "document_height_px": page.height}
        export_ms = median_ms(lambda: density_png(drawn, **size, backdrop_png=png, opacity=0.65), 3)
        print(f"  export: whole PNG over the backdrop  {export_ms:8.1f} ms   (median of 3)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    for number, page in enumerate(PAGES):
        measure(page, args.runs, export=number == 0)


if __name__ == "__main__":
    main()
