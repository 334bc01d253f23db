"""The Heatmap view's layers: which part of a page summary each draws, how, and what its hotspots say."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import polars as pl

from dashboard.formatting import escape_plotly, shorten
from data_layer.page_reads import SpotLayer
from data_layer.service import PageSummary


@dataclass(frozen=True)
class Layer:
    """One switchable layer of the heatmap: which frame of the summary and which count it draws."""

    name: SpotLayer
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


Drawing = Literal["Density", "Cells", "Clickmap"]
DRAWINGS: tuple[Drawing, ...] = get_args(Drawing)
"""How the view draws the clicks: a smooth density (:mod:`dashboard.density`, the default), the exact
cells, or the most clicked elements outlined with their share (:mod:`dashboard.clickmap`)."""

Zoom = Literal["Fit", "100 %"]
ZOOMS: tuple[Zoom, ...] = get_args(Zoom)
"""The page figure fitted to its column, or at the page's own CSS width (a desktop page read at 100 %)."""


@dataclass(frozen=True)
class Look:
    """How the view draws a page, chosen by its controls: the layer (a :data:`LAYERS` label), opacity,
    drawing and zoom, and whether clicks on fixed elements are kept where they were seen. Hashable: a
    cached figure's key."""

    layer: str = "All clicks"
    opacity: float = 0.65
    drawing: Drawing = "Density"
    zoom: Zoom = "Fit"
    include_fixed: bool = True


def chart_width(zoom: Zoom) -> Literal["stretch", "content"]:
    """How a page figure's chart is sized: fitted to its column, or at 100 % at the figure's own width
    (its scrolling panel then scrolls sideways)."""
    return "stretch" if zoom == "Fit" else "content"


SELECTOR_CHARS = 60
"""A longer selector is cut in the middle in a spot's hover."""


NAMED_GROUPS = 30
"""Spots sharing one of a page's this many most common top elements are drawn as a trace of their own
that names it; the others carry their element as a per-spot string."""


@dataclass(frozen=True)
class HoverGroup:
    """Spots hovered alike: their rows in the cells, their template, and their element lines when they
    are not all the same (None: the template names it, or none)."""

    rows: np.ndarray
    template: str
    texts: list[str] | None


@dataclass(frozen=True)
class Hover:
    """What the layer's hotspots say on hover: a Plotly hovertemplate (its ``%{text}`` is where the
    spot's element goes), each cell's numbers and its top element (None when no click there had a
    selector).

    Numbers go to the figure as one typed array (``customdata``, a row per cell: its count, its share
    of the page's clicks (or dead clicks) in %, and for rage spots their clicks), so thousands of cells
    send no per-cell number strings. Elements are few per page: :meth:`groups` names each common one
    once, in its group's template, instead of once per cell (a busy page's 12,500 spots would carry
    0.7 MB of selector strings).
    """

    template: str
    customdata: np.ndarray
    elements: list[str | None]

    def groups(self, named: int = NAMED_GROUPS) -> list[HoverGroup]:
        """The spots split by element: one group per of the ``named`` most common elements (most spots
        first, then by name), then the rest with per-spot element lines (none when no rest has one)."""
        counts = Counter(element for element in self.elements if element)
        common = [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:named]]
        place = {name: index for index, name in enumerate(common)}
        rows: list[list[int]] = [[] for _ in common]
        rest: list[int] = []
        for row, element in enumerate(self.elements):
            (rows[place[element]] if element in place else rest).append(row)
        groups = [
            HoverGroup(np.array(found), self.template.replace("%{text}", _line(name)), None)
            for name, found in zip(common, rows, strict=True)
        ]
        if rest:
            lines = [_line(self.elements[row]) for row in rest]
            texts = lines if any(lines) else None
            template = self.template if texts else self.template.replace("%{text}", "")
            groups.append(HoverGroup(np.array(rest), template, texts))
        return groups


def _line(element: str | None) -> str:
    """A spot's element as a hover line: escaped for Plotly, its ``%{`` defused (a template holds it)."""
    if not element:
        return ""
    return "<br>" + escape_plotly(shorten(element, SELECTOR_CHARS)).replace("%{", "%\u200b{")


def hotspot_hover(layer: Layer, cells: pl.DataFrame, tops: pl.DataFrame, page_clicks: int) -> Hover:
    """The layer's hover for ``cells`` (in their order): count, share and the spot's top element.

    The clicks and rage layers give the spot's share of the page's ``page_clicks`` and name its most
    clicked element, from ``tops`` (``bin_x``, ``bin_y``, ``top_element`` of every clicked bin:
    ``explore.bin_top_elements``); a rage spot also says how many clicks it holds, as its sessions'
    table counts them. The dead layer gives the spot's share of the dead clicks and names their top
    element. User-controlled selectors are escaped for Plotly.
    """
    counts = cells.get_column(layer.value).cast(pl.Float64).to_numpy()
    if layer.name == "dead":
        numbers = np.column_stack([counts, 100 * counts / max(1.0, counts.sum())])
        template = "<b>%{customdata[0]:,} dead clicks</b> · %{customdata[1]:.1f} % of dead clicks"
        return Hover(f"{template}%{{text}}<extra></extra>", numbers, cells["top_element"].to_list())
    named = cells.select("bin_x", "bin_y").join(
        tops.select("bin_x", "bin_y", "top_element"), on=["bin_x", "bin_y"], how="left", maintain_order="left"
    )
    texts = named["top_element"].to_list()
    if layer.name == "rage":
        clicks = cells.get_column("total_clicks").cast(pl.Float64).to_numpy()
        template = (
            "<b>%{customdata[0]:,} rage events</b> start here<br>"
            "%{customdata[2]:,} clicks in this spot · %{customdata[1]:.1f} % of clicks"
        )
        numbers = np.column_stack([counts, 100 * clicks / max(1, page_clicks), clicks])
        return Hover(f"{template}%{{text}}<extra></extra>", numbers, texts)
    template = "<b>%{customdata[0]:,} clicks</b> · %{customdata[1]:.1f} % of clicks"
    numbers = np.column_stack([counts, 100 * counts / max(1, page_clicks)])
    return Hover(f"{template}%{{text}}<extra></extra>", numbers, texts)
