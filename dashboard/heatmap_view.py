"""The Heatmap view's layers: which part of a page summary each draws, how, and what its hotspots say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl

from dashboard.formatting import escape_plotly
from data_layer.explore import HotspotLayer
from data_layer.service import PageSummary


@dataclass(frozen=True)
class Layer:
    """One switchable layer of the heatmap: which frame of the summary and which count it draws."""

    name: HotspotLayer
    label: str
    frame: str
    """Attribute of :class:`PageSummary`."""
    value: str
    """Column of that frame."""
    unit: str

    def cells(self, summary: PageSummary) -> pl.DataFrame:
        return getattr(summary, self.frame)


LAYERS = {
    "All clicks": Layer("clicks", "All clicks", "click_bins", "clicks", "clicks"),
    "Dead clicks": Layer("dead", "Dead clicks", "dead_bins", "dead_clicks", "dead clicks"),
    "Rage clicks": Layer("rage", "Rage clicks", "rage_bins", "rage_events", "rage events"),
}


Drawing = Literal["Density", "Cells"]
DRAWINGS: tuple[Drawing, ...] = get_args(Drawing)
"""How a layer is drawn: a smooth density (:mod:`dashboard.density`, the default) or the exact cells."""


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


def hotspot_hover(layer: Layer, cells: pl.DataFrame) -> Hover:
    """The layer's hover for ``cells`` (in their order); user-controlled selectors are escaped for Plotly."""
    counts = cells.get_column(layer.value).to_numpy().astype(np.int32)
    if layer.name == "dead":
        texts = [
            escape_plotly(top) if top else "no selector recorded" for top in cells.get_column("top_element")
        ]
        return Hover(
            "<b>%{customdata:,} dead clicks</b><br>top element: %{text}<extra></extra>", counts, texts
        )
    if layer.name == "rage":
        texts = [f"{total:,}" for total in cells.get_column("total_clicks")]
        template = (
            "<b>%{customdata:,} rage events</b> start here<br>%{text} clicks in this spot<extra></extra>"
        )
        return Hover(template, counts, texts)
    return Hover("<b>%{customdata:,} clicks</b><extra></extra>", counts)
