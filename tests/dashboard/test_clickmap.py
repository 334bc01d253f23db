"""The Heatmap view's clickmap and hover texts (dashboard/clickmap.py, heatmap_view.py, figures.py,
export.py): outlines from the service's elements, their table, figure and PNG export, a spot's hover
naming its element and share, the difference map's figure, the zoom's widths. Hand-worked pages."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
from PIL import Image

from dashboard import clickmap, compare
from dashboard.clickmap import Outline
from dashboard.export import clickmap_png
from dashboard.figures import difference_overlay, figure_width, page_overlay
from dashboard.heatmap_geometry import screenshot_css_width
from dashboard.heatmap_view import LAYERS, Hover, hotspot_hover
from dashboard.palette import colours_at
from data_layer.elements import ELEMENT_SCHEMA
from data_layer.service import PageSummary

TOP = (189, 0, 38)  # the palette's hot end
CELL_SCHEMA = {"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64}
TOPS_SCHEMA = {"bin_x": pl.Int32, "bin_y": pl.Int32, "clicks": pl.Int64, "top_element": pl.String}


def _elements(*rows: tuple[object, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ELEMENT_SCHEMA, orient="row")


ELEMENTS = _elements(
    ("#buy", 50, 0.5, 2, 1, 100.0, 200.0, 80.0, 40.0),
    ("#hero", 30, 0.3, 0, 4, 0.0, 0.0, 1000.0, 400.0),
    ("#no-box", 20, 0.2, 0, 0, None, None, None, None),
)


def test_outlines_are_the_boxed_elements_largest_first_coloured_by_share() -> None:
    shapes = clickmap.outlines(ELEMENTS)
    hero_colour = tuple(int(c) for c in colours_at(np.array([0.6]))[0])  # 0.3 of the top 0.5
    assert shapes == [
        Outline("#hero", 0.0, 0.0, 1000.0, 400.0, 30, 0.3, 0, 4, hero_colour),  # type: ignore[arg-type]
        Outline("#buy", 100.0, 200.0, 180.0, 240.0, 50, 0.5, 2, 1, TOP),
    ]
    assert [shape.label for shape in shapes] == ["30.0 %", "50.0 %"]
    assert shapes[1].hover == "<b>#buy</b><br>50.0 % of clicks<br>50 clicks · 2 rage events · 1 dead clicks"
    assert clickmap.outlines(_elements(("#no-box", 3, 1.0, 0, 0, None, None, None, None))) == []


def test_a_hostile_selector_stays_text_in_the_hover() -> None:
    shape = clickmap.outlines(_elements(("<img src=x onerror=alert(1)>", 1, 1.0, 0, 0, 0.0, 0.0, 9.0, 9.0)))[
        0
    ]
    assert shape.hover.startswith("<b>&lt;img src=x onerror=alert(1)&gt;</b>")


def test_the_element_table_lists_every_element_and_says_which_are_outlined() -> None:
    table = clickmap.element_table(ELEMENTS)
    assert table.columns == list(clickmap.ELEMENT_COLUMNS)
    assert table.rows() == [
        ("#buy", 50, 50.0, 2, 1, "outlined"),
        ("#hero", 30, 30.0, 0, 4, "outlined"),
        ("#no-box", 20, 20.0, 0, 0, "no box reported"),
    ]


def _summary(cells: pl.DataFrame, fold_px: int | None = None) -> PageSummary:
    none = pl.DataFrame()
    return PageSummary(
        click_bins=cells, rage_bins=none, dead_bins=none, scroll_reach=none, fold_px=fold_px, replays=none
    )


def test_the_clickmap_figure_outlines_each_element_and_labels_its_share() -> None:
    cells = pl.DataFrame([(10, 14, 50)], schema=CELL_SCHEMA, orient="row")
    overlay = page_overlay(
        _summary(cells, fold_px=800),
        LAYERS["All clicks"],
        image=None,
        document_width=1000,
        document_height=2000,
        opacity=0.8,
        breakpoint="desktop",
        drawing="Clickmap",
        elements=ELEMENTS,
    )
    assert overlay.density is None and [shape.selector for shape in overlay.outlines] == ["#hero", "#buy"]
    traces = overlay.figure.data
    assert [trace.name for trace in traces] == ["element 1", "element 2"]
    buy = traces[1]
    assert isinstance(buy, go.Scatter) and buy.fill == "toself" and buy.hoveron == "fills"
    assert list(buy.x) == [100, 180, 180, 100, 100] and list(buy.y) == [200, 200, 240, 240, 200]
    assert buy.fillcolor == "rgba(189,0,38,0.200)"  # 0.25 at full opacity
    labels = [note.text for note in overlay.figure.layout.annotations]
    assert labels[1:] == ["<b>30.0 %</b>", "<b>50.0 %</b>", "average fold · 800 px"]  # after the outline's
    # #hero (400 px tall) is labelled inside its top left corner, #buy (40 px) above itself.
    assert [note.yanchor for note in overlay.figure.layout.annotations][1:3] == ["top", "bottom"]


def test_the_clickmap_export_draws_the_outlines_at_the_backdrops_resolution() -> None:
    """A 2x backdrop (400 px for a 200 px page): #buy at (20, 20)-(60, 40) CSS px is (40, 40)-(120, 80)
    in the image; its border is drawn in its colour, its inside lightly tinted, the rest untouched."""
    backdrop = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(backdrop, "PNG")
    shape = Outline("#buy", 20.0, 20.0, 60.0, 40.0, 5, 1.0, 0, 0, TOP)
    png = clickmap_png(
        [shape], document_width_px=200, document_height_px=150, backdrop_png=backdrop.getvalue(), opacity=1.0
    )
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (400, 300)
    assert image.getpixel((40, 70)) == TOP  # the left border, below the label
    inside = image.getpixel((100, 70))
    assert inside != (255, 255, 255) and inside[0] > inside[1]  # tinted red, not covered
    assert image.getpixel((200, 200)) == (255, 255, 255)


def test_a_spots_hover_names_its_element_and_its_share_of_the_pages_clicks() -> None:
    """400 clicks on the page: a spot of 8 is 2 % of them, named by its top element; a spot whose clicks
    had no selector names none."""
    cells = pl.DataFrame([(1, 2, 8), (3, 4, 2)], schema=CELL_SCHEMA, orient="row")
    tops = pl.DataFrame([(3, 4, 2, None), (1, 2, 8, "#buy")], schema=TOPS_SCHEMA, orient="row")
    hover = hotspot_hover(LAYERS["All clicks"], cells, tops, 400)
    assert hover.customdata.tolist() == [[8.0, 2.0], [2.0, 0.5]]
    assert hover.elements == ["#buy", None]
    assert hover.template == (
        "<b>%{customdata[0]:,} clicks</b> · %{customdata[1]:.1f} % of clicks%{text}<extra></extra>"
    )


def test_common_elements_are_named_once_per_group_of_spots_not_once_per_spot() -> None:
    """Three spots on #buy, one on #nav, one on <a>, one without: with two named groups, #buy, then of
    the single ones the first by name ("#" sorts before "<"): #nav; the rest name theirs per spot."""
    hover = Hover("<b>%{customdata[0]:,}</b>%{text}", np.arange(12.0).reshape(6, 2), [
        "#buy", "#nav", "#buy", None, "<a>", "#buy"
    ])  # fmt: skip
    groups = hover.groups(named=2)
    assert [group.rows.tolist() for group in groups] == [[0, 2, 5], [1], [3, 4]]
    assert [group.template for group in groups[:2]] == [
        "<b>%{customdata[0]:,}</b><br>#buy",
        "<b>%{customdata[0]:,}</b><br>#nav",
    ]
    assert groups[0].texts is None
    assert groups[2].template == "<b>%{customdata[0]:,}</b>%{text}"
    assert groups[2].texts == ["", "<br>&lt;a&gt;"]
    unnamed = Hover("%{customdata[0]}%{text}", np.zeros((2, 1)), [None, None]).groups()
    assert [(group.rows.tolist(), group.template, group.texts) for group in unnamed] == [
        ([0, 1], "%{customdata[0]}", None)
    ]


def test_a_rage_spots_hover_counts_its_clicks_as_its_sessions_table_does() -> None:
    rage = pl.DataFrame(
        {"bin_x": [1], "bin_y": [2], "rage_events": [1], "total_clicks": [8]},
        schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "rage_events": pl.Int64, "total_clicks": pl.Int64},
    )
    tops = pl.DataFrame([(1, 2, 8, "#buy")], schema=TOPS_SCHEMA, orient="row")
    hover = hotspot_hover(LAYERS["Rage clicks"], rage, tops, 400)
    assert hover.customdata.tolist() == [[1.0, 2.0, 8.0]]
    assert "%{customdata[2]:,} clicks in this spot" in hover.template
    assert hover.elements == ["#buy"]


def test_a_dead_spots_hover_gives_its_share_of_the_dead_clicks() -> None:
    dead = pl.DataFrame(
        {"bin_x": [1, 5], "bin_y": [2, 6], "dead_clicks": [3, 1], "top_element": ["img.hero", None]},
        schema={"bin_x": pl.Int32, "bin_y": pl.Int32, "dead_clicks": pl.Int64, "top_element": pl.String},
    )
    hover = hotspot_hover(LAYERS["Dead clicks"], dead, pl.DataFrame(schema=TOPS_SCHEMA), 400)
    assert hover.customdata.tolist() == [[3.0, 75.0], [1.0, 25.0]]
    assert hover.elements == ["img.hero", None]


def test_the_difference_map_draws_the_diverging_density_and_hovers_both_shares() -> None:
    a = pl.DataFrame([(10, 10, 3), (20, 20, 1)], schema=CELL_SCHEMA, orient="row")
    b = pl.DataFrame([(20, 20, 1)], schema=CELL_SCHEMA, orient="row")
    shares = compare.share_difference(a, b, "clicks")
    overlay = difference_overlay(
        shares,
        labels=("Oct 1-7", "<b>Oct 8-14</b>"),
        image=None,
        document_width=1000,
        document_height=1200,
        opacity=0.7,
        breakpoint="desktop",
        fold_px=None,
    )
    assert overlay.density is not None and overlay.density.palette is compare.diverging_ramp
    names = [trace.name for trace in overlay.figure.data]
    assert names == ["density", "density scale", "hotspots"]
    hotspots = overlay.figure.data[2]
    assert np.allclose(hotspots.customdata, [[75.0, 0.0, -75.0], [25.0, 100.0, 75.0]])
    assert "&lt;b&gt;Oct 8-14&lt;/b&gt;" in hotspots.hovertemplate


@pytest.mark.parametrize(
    ("width", "zoom", "drawn"),
    [(1440, "Fit", 720), (1440, "100 %", 1440), (390, "Fit", 390), (390, "100 %", 390), (320, "100 %", 360)],
)
def test_a_page_is_drawn_to_fit_or_at_its_own_width(width: int, zoom: str, drawn: int) -> None:
    assert figure_width(width, zoom) == drawn  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("image", "visits", "css"),
    [(1440, 1536, 1440), (2880, 1536, 1440), (1920, 1366, 1920), (1170, 390, 390), (1440, None, 1440)],
)
def test_an_uploaded_screenshot_is_as_wide_in_css_px_as_its_pixel_ratio_says(
    image: int, visits: int | None, css: float
) -> None:
    """1x, 2x (retina) and 3x (a phone) shots; a wide monitor's 1x shot stays 1x."""
    assert screenshot_css_width(image, visits) == css
