"""Plotly figure builders: plain data in, figure out (no Streamlit, no storage).

Coordinates are CSS pixels of the page (web) or pixels of the screen screenshot (mobile), with y growing
downwards like the page. A screenshot is placed with ``go.Image`` scaled so its width spans the
document width; bins and taps are drawn over it with ``go.Heatmap`` (NaN = no data, transparent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboard.clickmap import OUTLINE_FILL_ALPHA, Outline, outlines
from dashboard.compare import difference_density
from dashboard.density import Density, density_colorscale, kernel_sigma_px, page_density
from dashboard.formatting import escape_plotly
from dashboard.heatmap_geometry import bin_centres, bin_grid, page_height, rows_covering
from dashboard.heatmap_view import Drawing, Hover, Layer, Zoom, hotspot_hover
from dashboard.images import DisplayImage
from dashboard.palette import FOLD_COLOUR, OUTLINE_FILL, OUTLINE_LINE, plotly_colorscale
from data_layer import bins
from data_layer.elements import ELEMENT_SCHEMA
from data_layer.service import PageSummary

MAX_FIGURE_WIDTH_PX = 720
MIN_FIGURE_WIDTH_PX = 360
COLORBAR_MARGIN_PX = 56
COLORBAR_LEN = 0.6
"""A colour bar's length, as a fraction of the figure's width."""
PHONE_WIDTH_PX = 360
HOVER_LABEL = {"bgcolor": "white", "font": {"size": 12}}
RAGE_COLOUR = "#d62728"
DEAD_COLOUR = "#6b7280"
CLICK_COLOUR = "#1f77b4"


@dataclass(frozen=True)
class Canvas:
    """The drawing area in page coordinates (CSS px) and the screenshot covering it, if any."""

    width: float
    height: float
    image: DisplayImage | None = None

    @classmethod
    def for_image(cls, image: DisplayImage, document_width: float) -> Canvas:
        """A screenshot scaled to ``document_width`` CSS px wide, keeping its aspect ratio."""
        scale = document_width / image.width
        return cls(document_width, image.height * scale, image)


def _backdrop(figure: go.Figure, canvas: Canvas) -> None:
    if canvas.image is not None:
        scale = canvas.width / canvas.image.width
        figure.add_trace(
            go.Image(source=canvas.image.uri, x0=0, y0=0, dx=scale, dy=scale, hoverinfo="skip", name="page")
        )
    else:
        figure.add_shape(
            type="rect",
            x0=0,
            y0=0,
            x1=canvas.width,
            y1=canvas.height,
            fillcolor=OUTLINE_FILL,
            line={"color": OUTLINE_LINE, "width": 2},
            layer="below",
        )
        figure.add_annotation(
            x=canvas.width / 2,
            y=24,
            text="No backdrop for this page yet: a captured or uploaded screenshot goes here",
            showarrow=False,
            font={"color": "#6b7280", "size": 13},
            yanchor="top",
        )


def _page_layout(
    figure: go.Figure,
    canvas: Canvas,
    width: int,
    top_margin: int = 0,
    view: tuple[float, float] | None = None,
) -> None:
    """Axes in page px, y downwards, pixels square: the figure is sized to the aspect of the ``view``.

    ``view`` is the visible (top, bottom) in page px, the whole canvas by default.
    """
    top, bottom = view or (0.0, canvas.height)
    figure.update_layout(
        width=width,
        height=round(width * (bottom - top) / canvas.width) + top_margin,
        margin={"l": 0, "r": 0, "t": top_margin, "b": 0},
        plot_bgcolor="white",
        showlegend=False,
        hoverlabel=HOVER_LABEL,
        dragmode=False,
        clickmode="event+select",
    )
    figure.update_xaxes(visible=False, range=[0, canvas.width], fixedrange=True)
    figure.update_yaxes(visible=False, range=[bottom, top], fixedrange=True)


def _overlay_layout(figure: go.Figure, canvas: Canvas, zoom: Zoom) -> None:
    """:func:`_page_layout` of a page overlay at :func:`figure_width` for ``zoom``, the colour bar's
    room above the page. At 100 % the figure is wider than its panel, which shows its left part first:
    the colour bar goes over that part, as long as at Fit, rather than in the middle of the page."""
    width = figure_width(canvas.width, zoom)
    _page_layout(figure, canvas, width, COLORBAR_MARGIN_PX)
    if width > MAX_FIGURE_WIDTH_PX:
        where = {"x": MAX_FIGURE_WIDTH_PX / 2 / width, "len": COLORBAR_LEN * MAX_FIGURE_WIDTH_PX / width}
        figure.update_traces(colorbar=where, selector={"type": "heatmap"})
        figure.update_traces(marker_colorbar=where, selector={"name": "density scale"})


def nice_step(raw: float) -> int:
    """The smallest whole 1, 2 or 5 x 10^k at least ``raw`` (at least 1): readable tick spacing."""
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(int(f * magnitude) for f in (1, 2, 5, 10) if f * magnitude >= raw)


def _colorbar(label: str, peak: float) -> dict[str, Any]:
    """A slim horizontal colour bar in the figure's top margin, whole-number ticks (counts)."""
    return {
        "title": {"text": label, "side": "top"},
        "tick0": 0,
        "dtick": nice_step(peak / 4),
        "tickformat": ",d",
        "orientation": "h",
        "thickness": 10,
        "len": COLORBAR_LEN,
        "x": 0.5,
        "y": 1.0,
        "yanchor": "top",
        "yref": "container",
        "ypad": 4,
    }


def figure_width(document_width: float, zoom: Zoom = "Fit") -> int:
    """Display width (px) of a page figure: to fit, 720 px, narrower for narrow (mobile) pages (and
    scaled down further to a narrower column); at 100 %, the page's own CSS width, a page pixel per
    screen pixel (callers scroll it sideways)."""
    if zoom == "100 %":
        return max(MIN_FIGURE_WIDTH_PX, round(document_width))
    return int(min(MAX_FIGURE_WIDTH_PX, max(MIN_FIGURE_WIDTH_PX, document_width)))


def _fold(figure: go.Figure, canvas: Canvas, fold_px: int | None) -> None:
    if not fold_px:
        return
    figure.add_shape(
        type="line",
        x0=0,
        x1=canvas.width,
        y0=fold_px,
        y1=fold_px,
        line={"color": FOLD_COLOUR, "width": 2, "dash": "dash"},
    )
    figure.add_annotation(
        x=canvas.width,
        y=fold_px,
        xanchor="right",
        yanchor="bottom",
        showarrow=False,
        text=f"average fold · {fold_px} px",
        font={"color": FOLD_COLOUR, "size": 12},
        bgcolor="rgba(255,255,255,0.8)",
    )


def _density(
    figure: go.Figure, density: Density, opacity: float, title: str, ticks: dict[float, str]
) -> None:
    """The density as an image spanning its page, smoothed by the browser (``zsmooth="fast"``: the
    grid is coarser than the screen), and its colour bar (its palette from 0 to 1, ``title``, ``ticks``
    at those positions) on a scatter without points (an image trace has none)."""
    rows, columns = density.levels.shape
    dx, dy = density.width / columns, density.height / rows
    figure.add_trace(
        go.Image(
            source=density.png_uri(opacity),
            x0=dx / 2,  # x0, y0 are the first pixel's centre
            y0=dy / 2,
            dx=dx,
            dy=dy,
            zsmooth="fast",
            hoverinfo="skip",
            name="density",
        )
    )
    colorbar = {**_colorbar(title, 1.0), "tickmode": "array"}
    figure.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            hoverinfo="skip",
            name="density scale",
            marker={
                "color": [0.0],
                "cmin": 0,
                "cmax": 1,
                "colorscale": density_colorscale(opacity, palette=density.palette),
                "showscale": True,
                "colorbar": {**colorbar, "tickvals": list(ticks), "ticktext": list(ticks.values())},
            },
        )
    )


def _cells(figure: go.Figure, grid: np.ndarray, canvas: Canvas, value_label: str, opacity: float) -> None:
    """The exact bins as a heatmap (NaN cells transparent) with a colour bar of counts."""
    finite = grid[~np.isnan(grid)]
    peak = float(finite.max()) if finite.size else 1.0
    figure.add_trace(
        go.Heatmap(
            z=grid.astype(np.float32),
            x0=canvas.width / bins.COLUMNS / 2,
            dx=canvas.width / bins.COLUMNS,
            y0=bins.ROW_HEIGHT_PX / 2,
            dy=bins.ROW_HEIGHT_PX,
            zmin=0,
            zmax=peak,
            colorscale=plotly_colorscale(),
            opacity=opacity,
            hoverinfo="skip",
            hoverongaps=False,
            showscale=True,
            name=value_label,
            colorbar=_colorbar(value_label, peak),
        )
    )


def page_heatmap(
    drawn: np.ndarray | Density,
    cells: pl.DataFrame,
    hover: Hover,
    *,
    canvas: Canvas,
    value_label: str,
    opacity: float,
    fold_px: int | None,
    zoom: Zoom = "Fit",
) -> go.Figure:
    """Bins over the page: ``drawn`` over the canvas, either their grid (rows x columns, NaN where
    empty; a heatmap of exact cells) or their :class:`Density` (an image).

    ``cells`` are the non-empty bins (``bin_x``, ``bin_y``), in the order of ``hover``'s data;
    they become an invisible scatter of bin centres, so clicking or box-selecting a hotspot reports
    points whose x, y give the bins chosen (:func:`bin_at`; heatmap traces emit no selections).
    Its markers are never drawn (``maxdisplayed``): Plotly hovers and selects from the data, and
    thousands of SVG markers are slow to draw; a box selection keeps its outline. Coordinates and
    counts go as NumPy arrays, which Plotly sends as compact typed arrays rather than per-cell JSON.
    The figure shows the whole page at :func:`figure_width` for ``zoom`` (callers put it in a
    scrolling container for tall pages); the fold line is drawn at ``fold_px``; the colour bar sits
    above the page.
    """
    figure = go.Figure()
    _backdrop(figure, canvas)
    if isinstance(drawn, Density):
        ticks = {0.0: "fewer", 1.0: "more"}
        _density(figure, drawn, opacity, f"{value_label}, smoothed (log scale)", ticks)
    else:
        _cells(figure, drawn, canvas, value_label, opacity)
    _hotspots(figure, cells, canvas, hover)
    _fold(figure, canvas, fold_px)
    _overlay_layout(figure, canvas, zoom)
    figure.update_layout(dragmode="select")
    return figure


def _whole_px(centres: np.ndarray) -> np.ndarray:
    """Bin centres rounded to whole CSS px, as two-byte integers where they fit: half the bytes of
    float32 in every figure (thousands of hover points, three figures when comparing), and at most
    half a px off the centre of a bin at least 3.9 px wide, so a point still selects its own bin."""
    rounded = np.rint(centres)
    return rounded.astype(np.uint16) if rounded.size and rounded.max() < 2**16 else rounded.astype(np.float32)


def _hotspots(figure: go.Figure, cells: pl.DataFrame, canvas: Canvas, hover: Hover) -> None:
    """The invisible scatter of bin centres that hovers and selects (see :func:`page_heatmap`): a
    trace per :meth:`Hover.groups`, all named ``hotspots``."""
    xs, ys = (_whole_px(centres) for centres in bin_centres(cells, canvas.width))
    numbers = hover.customdata.astype(np.float32)
    for group in hover.groups():
        figure.add_trace(
            go.Scatter(
                x=xs[group.rows],
                y=ys[group.rows],
                mode="markers",
                name="hotspots",
                marker={"size": 10, "symbol": "square", "color": "rgba(0,0,0,0)", "maxdisplayed": 1},
                customdata=numbers[group.rows],
                text=group.texts,
                hovertemplate=group.template,
            )
        )


@dataclass(frozen=True)
class PageOverlay:
    """The Heatmap page's figure, the canvas it is drawn on (selections map back through it) and what
    it shows besides the backdrop, for the PNG export to draw the same: its density (a heat or a
    difference), or its element outlines, or (neither) its cells."""

    figure: go.Figure
    canvas: Canvas
    density: Density | None = None
    outlines: tuple[Outline, ...] = ()


def page_canvas(
    cells: pl.DataFrame, *, image: DisplayImage | None, document_width: float, document_height: int | None
) -> Canvas:
    """The canvas of a page's bins: the screenshot scaled to ``document_width`` (or the typical
    document, ``document_height`` tall), extended down to the lowest bin."""
    if image:
        scaled = Canvas.for_image(image, document_width)
        height = page_height(cells, image_height=scaled.height, document_height=document_height)
        return Canvas(scaled.width, height, image)
    return Canvas(document_width, page_height(cells, image_height=None, document_height=document_height))


def page_overlay(
    summary: PageSummary,
    layer: Layer,
    *,
    image: DisplayImage | None,
    document_width: float,
    document_height: int | None,
    opacity: float,
    breakpoint: str,
    drawing: Drawing = "Density",
    tops: pl.DataFrame | None = None,
    elements: pl.DataFrame | None = None,
    zoom: Zoom = "Fit",
) -> PageOverlay:
    """One layer of a page summary over the screenshot (or the page outline): :func:`page_heatmap`,
    or with ``drawing="Clickmap"`` the ``elements`` (``service.page_elements``) outlined
    (:func:`clickmap_figure`).

    The canvas is :func:`page_canvas`; the fold is the summary's median viewport height. The density
    covers the canvas with the ``breakpoint``'s kernel (:func:`kernel_sigma_px`). ``tops``
    (``explore.bin_top_elements``) name each spot's element in the hover.
    """
    cells = layer.cells(summary)
    canvas = page_canvas(cells, image=image, document_width=document_width, document_height=document_height)
    if drawing == "Clickmap":
        shapes = tuple(outlines(elements if elements is not None else pl.DataFrame(schema=ELEMENT_SCHEMA)))
        return PageOverlay(
            clickmap_figure(shapes, canvas, opacity, summary.fold_px, zoom), canvas, outlines=shapes
        )
    density = (
        page_density(
            cells,
            layer.value,
            page_width=canvas.width,
            page_height=canvas.height,
            sigma_px=kernel_sigma_px(breakpoint, canvas.width),
        )
        if drawing == "Density"
        else None
    )
    page_clicks = int(summary.click_bins.get_column("clicks").sum())
    figure = page_heatmap(
        density or bin_grid(cells, layer.value, rows=rows_covering(canvas.height)),
        cells,
        hotspot_hover(layer, cells, tops if tops is not None else NO_TOPS, page_clicks),
        canvas=canvas,
        value_label=layer.unit,
        opacity=opacity,
        fold_px=summary.fold_px,
        zoom=zoom,
    )
    return PageOverlay(figure, canvas, density)


NO_TOPS = pl.DataFrame(schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "top_element": pl.String})
"""No spot's element known (the hover then names none)."""


def clickmap_figure(
    shapes: Sequence[Outline], canvas: Canvas, opacity: float, fold_px: int | None, zoom: Zoom = "Fit"
) -> go.Figure:
    """The elements' outlines over the page, each labelled with its share of the clicks at its top left
    (above it when small) and filled lightly (``opacity`` scales the fill): hovering inside one names
    its selector and numbers (a filled scatter per element: shapes have no hover; the smallest, drawn
    last, wins)."""
    figure = go.Figure()
    _backdrop(figure, canvas)
    for index, shape in enumerate(shapes):
        colour = "rgb({},{},{})".format(*shape.colour)
        fill = "rgba({},{},{},{:.3f})".format(*shape.colour, OUTLINE_FILL_ALPHA * opacity)
        figure.add_trace(
            go.Scatter(
                x=[shape.x0, shape.x1, shape.x1, shape.x0, shape.x0],
                y=[shape.y0, shape.y0, shape.y1, shape.y1, shape.y0],
                mode="lines",
                fill="toself",
                fillcolor=fill,
                line={"color": colour, "width": 2},
                hoveron="fills",
                text=shape.hover,
                hoverinfo="text",
                name=f"element {index + 1}",
            )
        )
        figure.add_annotation(
            x=shape.x0,
            y=shape.y0,
            xanchor="left",
            yanchor="bottom" if shape.label_above else "top",
            showarrow=False,
            text=f"<b>{shape.label}</b>",
            font={"color": "white", "size": 11},
            bgcolor=colour,
            borderpad=2,
        )
    _fold(figure, canvas, fold_px)
    _overlay_layout(figure, canvas, zoom)
    figure.update_layout(hovermode="closest")
    return figure


def difference_overlay(
    shares: pl.DataFrame,
    *,
    labels: tuple[str, str],
    image: DisplayImage | None,
    document_width: float,
    document_height: int | None,
    opacity: float,
    breakpoint: str,
    fold_px: int | None,
    zoom: Zoom = "Fit",
) -> PageOverlay:
    """The difference of two sides' shares (:func:`compare.share_difference`) over the page: the
    smoothed difference (:func:`compare.difference_density`, blue where B's share is smaller, red where
    larger) and the bins' hover with both shares and their difference. ``labels`` name A and B."""
    canvas = page_canvas(shares, image=image, document_width=document_width, document_height=document_height)
    sigma = kernel_sigma_px(breakpoint, canvas.width)
    difference = difference_density(
        shares, page_width=canvas.width, page_height=canvas.height, sigma_px=sigma
    )
    a, b = (escape_plotly(label) for label in labels)
    figure = go.Figure()
    _backdrop(figure, canvas)
    ticks = {0.0: "fewer in B", 0.5: "same share", 1.0: "more in B"}
    _density(figure, difference, opacity, "B's share of its clicks minus A's, smoothed", ticks)
    hover = Hover(
        f"A · {a}: %{{customdata[0]:.1f}} % of clicks<br>B · {b}: %{{customdata[1]:.1f}} %<br>"
        "<b>%{customdata[2]:+.1f} pts</b><extra></extra>",
        100 * shares.select("share_a", "share_b", "difference").to_numpy(),
        [None] * shares.height,
    )
    _hotspots(figure, shares, canvas, hover)
    _fold(figure, canvas, fold_px)
    _overlay_layout(figure, canvas, zoom)
    return PageOverlay(figure, canvas, difference)


@dataclass(frozen=True)
class ReplayMark:
    """Clicks of a replay drawn as one marker (clicks on the same spot share one), page CSS px.

    ``numbers`` are the clicks' positions in time order (from 1); ``text`` is the hover, one line each.
    """

    numbers: tuple[int, ...]
    x: float
    y: float
    dead: bool
    rage: bool
    text: str

    @property
    def label(self) -> str:
        """``"4-7"`` for consecutive numbers, ``"2, 9"`` otherwise."""
        runs: list[list[int]] = []
        for number in self.numbers:
            if runs and number == runs[-1][-1] + 1:
                runs[-1].append(number)
            else:
                runs.append([number])
        return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def session_replay(
    marks: Sequence[ReplayMark],
    *,
    canvas: Canvas,
    current: int | None,
    seen_to: float | None,
    view: tuple[float, float],
) -> go.Figure:
    """Clicks numbered on the page; rage clicks red, dead clicks grey, others blue; the current one ringed.

    ``seen_to`` is the deepest point (page px) the visitor had seen at the current step: the page below
    it is greyed out. ``view`` is the (top, bottom) part of the page the figure shows.
    """
    figure = go.Figure()
    _backdrop(figure, canvas)
    if seen_to is not None and seen_to < canvas.height:
        figure.add_shape(
            type="rect",
            x0=0,
            x1=canvas.width,
            y0=seen_to,
            y1=canvas.height,
            fillcolor="rgba(17,24,39,0.18)",
            line={"width": 0},
        )
        figure.add_shape(
            type="line",
            x0=0,
            x1=canvas.width,
            y0=seen_to,
            y1=seen_to,
            line={"color": FOLD_COLOUR, "width": 2, "dash": "dash"},
        )
    colours = [RAGE_COLOUR if m.rage else DEAD_COLOUR if m.dead else CLICK_COLOUR for m in marks]
    figure.add_trace(
        go.Scatter(
            x=[m.x for m in marks],
            y=[m.y for m in marks],
            mode="markers+text",
            text=[m.label for m in marks],
            textfont={"color": "white", "size": 11},
            marker={
                "size": [22 if len(m.label) <= 2 else 14 + 5 * len(m.label) for m in marks],
                "color": colours,
                "line": {"color": "white", "width": 1.5},
            },
            hovertext=[m.text for m in marks],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    focus = next((m for m in marks if current in m.numbers), None)
    if focus is not None:
        figure.add_trace(
            go.Scatter(
                x=[focus.x],
                y=[focus.y],
                mode="markers",
                hoverinfo="skip",
                marker={"size": 38, "color": "rgba(0,0,0,0)", "line": {"color": "#111827", "width": 3}},
            )
        )
    _page_layout(figure, canvas, figure_width(canvas.width), view=view)
    figure.update_layout(clickmode="none")
    return figure


def scroll_timeline(
    seconds: Sequence[float], depths: Sequence[float], clicks: Sequence[float], *, current: float | None
) -> go.Figure:
    """Deepest scroll point over time (step line) with the clicks as ticks and the current moment."""
    figure = go.Figure(
        go.Scatter(
            x=list(seconds),
            y=list(depths),
            mode="lines+markers",
            line={"shape": "hv", "color": CLICK_COLOUR},
            name="scroll depth",
            hovertemplate="%{x:.1f} s: %{y:.0f} % of the page<extra></extra>",
        )
    )
    if clicks:
        figure.add_trace(
            go.Scatter(
                x=list(clicks),
                y=[0] * len(clicks),
                mode="markers",
                name="clicks",
                marker={"symbol": "line-ns-open", "size": 14, "color": DEAD_COLOUR},
                hovertemplate="click at %{x:.1f} s<extra></extra>",
            )
        )
    if current is not None:
        figure.add_vline(x=current, line={"color": "#111827", "width": 2})
    figure.update_layout(
        height=220,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        showlegend=False,
        # The margins grow to fit the tick labels and titles (no margin of their own).
        xaxis={"title": "seconds since the first event", "fixedrange": True, "automargin": True},
        yaxis={
            "title": "depth",
            "range": [-5, 105],
            "ticksuffix": " %",
            "fixedrange": True,
            "automargin": True,
        },
    )
    return figure


def touch_heatmap(points: pl.DataFrame, *, canvas: Canvas, opacity: float, grid_size: int = 100) -> go.Figure:
    """Taps over a screen: ``points`` are QueryHeatmapData cells (``x``, ``y`` in (0, 1), ``count``),
    summed per cell (PER_USER has a row per user and cell).

    Cell ``i`` spans ``W * i / 100`` to ``W * (i + 1) / 100`` of the canvas (``x``, ``y`` relative to the
    screen's content, as the app sends them).
    """
    columns = np.minimum((points["x"].to_numpy() * grid_size).astype(int), grid_size - 1)
    rows = np.minimum((points["y"].to_numpy() * grid_size).astype(int), grid_size - 1)
    grid = np.zeros((grid_size, grid_size))
    np.add.at(grid, (rows, columns), points["count"].to_numpy())
    grid[grid == 0] = np.nan  # counts are >= 1: a zero is an empty cell, drawn transparent
    finite = grid[~np.isnan(grid)]
    peak = float(finite.max()) if finite.size else 1.0
    figure = go.Figure()
    _backdrop(figure, canvas)
    figure.add_trace(
        go.Heatmap(
            z=grid,
            x0=canvas.width / grid_size / 2,
            dx=canvas.width / grid_size,
            y0=canvas.height / grid_size / 2,
            dy=canvas.height / grid_size,
            zmin=0,
            zmax=peak,
            colorscale=plotly_colorscale(),
            opacity=opacity,
            hoverongaps=False,
            hovertemplate="%{z:,} touches<extra></extra>",
            colorbar=_colorbar("touches", peak),
        )
    )
    _page_layout(figure, canvas, PHONE_WIDTH_PX, COLORBAR_MARGIN_PX)
    return figure
