"""Pure helpers of the Heatmap page: layers of the summary, hover texts, canvas size, screens."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.export import bin_grid
from dashboard.formatting import escape_plotly
from data_layer.explore import HotspotLayer

NOMINAL_WIDTH_PX = {"desktop": 1440, "tablet": 820, "mobile": 390}
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


def hover_text(layer: Layer, cell: Mapping[str, Any]) -> str:
    """What a hotspot says on hover; user-controlled selectors are escaped for Plotly."""
    value = int(cell[layer.value_key])
    if layer.name == "dead":
        top = cell.get("topElement")
        element = escape_plotly(top) if top else "no selector recorded"
        return f"<b>{value:,} dead clicks</b><br>top element: {element}"
    if layer.name == "rage":
        return f"<b>{value:,} rage events</b> start here<br>{int(cell['totalClicks']):,} clicks in this spot"
    return f"<b>{value:,} clicks</b>"


def page_height(
    cells: Sequence[Mapping[str, Any]],
    *,
    image_height: float | None,
    document_height: int | None,
    row_height: int = 16,
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
