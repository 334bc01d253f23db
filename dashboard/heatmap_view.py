"""Pure helpers of the Heatmap page: layers of the summary, hover texts, canvas size, screens."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.export import bin_grid
from dashboard.formatting import escape_plotly
from data_layer import bins
from data_layer.explore import HotspotLayer

DEFAULT_PAGE_HEIGHT_PX = 2400


@dataclass(frozen=True)
class Layer:
    """One switchable layer of the heatmap: which summary list and which count it draws."""

    name: HotspotLayer
    label: str
    summary_key: str
    value_key: str
    unit: str


LAYERS = {
    "All clicks": Layer("clicks", "All clicks", "clickBins", "clicks", "clicks"),
    "Dead clicks": Layer("dead", "Dead clicks", "deadClicks", "deadClicks", "dead clicks"),
    "Rage clicks": Layer("rage", "Rage clicks", "rageClicks", "rageEvents", "rage events"),
}


@dataclass(frozen=True)
class Hover:
    """What the layer's hotspots say on hover: a Plotly hovertemplate, each cell's count and text.

    Counts go to the figure as a typed array (``customdata``), so the default layer (all clicks,
    thousands of cells) sends no per-cell strings; ``texts`` (None there) carry what a template cannot
    format: a dead click's top element, a rage spot's total clicks.
    """

    template: str
    counts: np.ndarray
    texts: list[str] | None = None


def hotspot_hover(layer: Layer, cells: Sequence[Mapping[str, Any]]) -> Hover:
    """The layer's hover for ``cells`` (in their order); user-controlled selectors are escaped for Plotly."""
    counts = np.array([int(cell[layer.value_key]) for cell in cells], dtype=np.int32)
    if layer.name == "dead":
        texts = [
            escape_plotly(top) if (top := cell.get("topElement")) else "no selector recorded"
            for cell in cells
        ]
        return Hover(
            "<b>%{customdata:,} dead clicks</b><br>top element: %{text}<extra></extra>", counts, texts
        )
    if layer.name == "rage":
        texts = [f"{int(cell['totalClicks']):,}" for cell in cells]
        template = (
            "<b>%{customdata:,} rage events</b> start here<br>%{text} clicks in this spot<extra></extra>"
        )
        return Hover(template, counts, texts)
    return Hover("<b>%{customdata:,} clicks</b><extra></extra>", counts)


def page_height(
    cells: Sequence[Mapping[str, Any]],
    *,
    image_height: float | None,
    document_height: int | None,
    row_height: int = bins.ROW_HEIGHT_PX,
) -> float:
    """Height (CSS px) to draw: the screenshot or the typical document, extended to the lowest bin."""
    lowest = (max(int(cell["binY"]) for cell in cells) + 1) * row_height if cells else 0
    base = image_height or document_height or DEFAULT_PAGE_HEIGHT_PX
    return float(max(base, lowest))


def layer_grid(
    cells: Sequence[Mapping[str, Any]], layer: Layer, *, height: float, columns: int, row_height: int
) -> np.ndarray:
    """The layer's values on the bin grid covering ``height`` CSS px (NaN where empty)."""
    rows = max(1, math.ceil(height / row_height))
    return bin_grid(cells, layer.value_key, columns=columns, rows=rows)
