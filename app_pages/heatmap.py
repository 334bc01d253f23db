"""Heatmap: one page and breakpoint, its clicks over the newest screenshot, scroll reach and replays; or
a group, the pages matching a pattern (``?pattern=``), added up over its busiest page's backdrop."""

from __future__ import annotations

from contextlib import suppress

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard import context, empty, filters, groups, loaders
from dashboard.backdrop import backdrop_controls
from dashboard.backdrop import describe as describe_backdrop
from dashboard.cartesian_chart import cartesian_chart
from dashboard.clickmap import ELEMENT_COLUMNS, ELEMENT_LIMIT, element_table
from dashboard.compare import totals
from dashboard.compare_view import comparison_controls, show_comparison
from dashboard.context import Backend
from dashboard.export import clickmap_png, density_png, overlay_png
from dashboard.figures import PageOverlay
from dashboard.filters import Filters
from dashboard.formatting import (
    count,
    escape_markdown,
    is_web_link,
    replay_session_id,
    shorten,
    to_session_page,
)
from dashboard.groups import page_link_params
from dashboard.heatmap_geometry import bin_at
from dashboard.heatmap_view import DRAWINGS, LAYERS, ZOOMS, Layer, Look, chart_width
from dashboard.reach import reach_html
from dashboard.recording_player import at_param
from data_layer import bins, breakpoints
from data_layer.page_ref import GroupRef, PageRef, parse_page_pattern
from data_layer.service import PageSummary

PANEL_HEIGHT_PX = 720
OPACITY_WIDTH_PX = 200


def _replay_links(replays: pl.DataFrame, page: PageRef | GroupRef, dashboard_url: str) -> None:
    """The summary's replay links, one column per breakpoint, in the summary's order; those to this
    dashboard's Session page open it on this page (a group's on the session's own page)."""
    columns = st.columns(len(breakpoints.NAMES))
    for column, name in zip(columns, breakpoints.NAMES, strict=True):
        entries = replays.filter(pl.col("breakpoint") == name).to_dicts()
        column.markdown(f"**{name.capitalize()}**")
        if not entries:
            column.caption("No sessions in this breakpoint.")
        for rank, item in enumerate(entries, start=1):
            session = replay_session_id(item["url"]) or f"session {rank}"
            if not is_web_link(item["url"]):
                column.caption(
                    f"{rank}. {escape_markdown(shorten(session, 32))}: the replay URL template is not http(s)"
                )
                continue
            column.link_button(
                f"{rank}. {escape_markdown(shorten(session, 32))}",
                to_session_page(item["url"], dashboard_url, **page_link_params(page)),
                icon=":material/play_circle:",
                width="stretch",
            )


HOTSPOT_COLUMNS = {
    "session_id": st.column_config.TextColumn("Session"),
    "visitor_id": st.column_config.TextColumn("Visitor"),
    "clicks": st.column_config.NumberColumn("Clicks here", help="Every click of the session in this spot."),
    "dead_clicks": st.column_config.NumberColumn("Dead clicks here"),
    "rage_events": st.column_config.NumberColumn(
        "Rage events here", help="Runs of 3+ fast clicks that started here."
    ),
    "last_ts": st.column_config.DatetimeColumn("Last click here (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "replay_url": st.column_config.LinkColumn("Replay", display_text="Open replay ↗"),
}
WHO_CLICKED = {
    "clicks": "Sessions that clicked",
    "dead": "Sessions with a dead click in",
    "rage": "Sessions with a rage event starting in",
}
"""The hotspot table's heading per layer: which sessions it lists."""
FIXED_CHOICES = ("where seen", "hidden")


@st.fragment
def heatmap_panel(
    backend: Backend, chosen: Filters, page: PageRef | GroupRef, summary: PageSummary, include_fixed: bool
) -> None:
    """Layer, drawing, opacity, zoom and comparison controls, then the figure with scroll reach, the
    elements or the sessions behind a hotspot, and the PNG export; or the comparison.

    A fragment: its controls and the selections rerun only this panel.
    """
    version = loaders.data_version(backend)
    frame = loaders.page_frame(backend, version, page, *chosen.dimension_args)

    # One row that wraps on narrow windows, each control at its own width; the layer comes first but is
    # drawn after the drawing it depends on.
    controls = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    layer_slot = controls.empty()
    drawing = (
        controls.segmented_control(
            "Draw as",
            DRAWINGS,
            default="Density",
            key="draw",
            bind="query-params",
            help="Density: the clicks smoothed into hot areas, on a log scale. Cells: each cell of "
            f"1 % of the page width x {bins.ROW_HEIGHT_PX} px with its exact count. Clickmap: the "
            f"{ELEMENT_LIMIT} most clicked elements outlined with their share of the clicks.",
        )
        or "Density"
    )
    clickmap = drawing == "Clickmap"
    chosen_layer = (
        layer_slot.segmented_control(
            "Layer",
            list(LAYERS),
            default="All clicks",
            key="layer",
            bind="query-params",
            disabled=clickmap,
            help="Dead clicks: the page did not react. Rage clicks: 3+ fast clicks on one spot "
            "(placed at the run's first click). A clickmap counts every click, its table the rest.",
        )
        or "All clicks"
    )
    layer = LAYERS["All clicks" if clickmap else chosen_layer]
    opacity = controls.slider("Opacity", 0.1, 1.0, 0.65, 0.05, key="opacity", width=OPACITY_WIDTH_PX)
    zoom = (
        controls.segmented_control(
            "Zoom",
            ZOOMS,
            default="Fit",
            key="zoom",
            bind="query-params",
            help="Fit: the whole page width in the panel. 100 %: one page pixel per screen pixel, to read "
            "the page; scroll the panel sideways.",
        )
        or "Fit"
    )
    look = Look(layer.label, opacity, drawing, zoom, include_fixed)
    comparison = comparison_controls(backend, version, chosen)
    if comparison is not None:
        show_comparison(backend, page, comparison, frame, look, PANEL_HEIGHT_PX)
        return

    overlay = loaders.heatmap_overlay(
        backend, backend.key, version, page, *chosen.dimension_args, frame, look
    )
    cells = layer.cells(summary)
    chart, reach = st.columns([3, 1])
    with chart:
        if cells.is_empty() and not clickmap:
            st.info(f"No {layer.unit} on this page and breakpoint for these filters.")
        with st.container(height=PANEL_HEIGHT_PX, border=True):
            selected = cartesian_chart(
                overlay.figure,
                key="heatmap_chart",
                config={"scrollZoom": False},
                selectable=not clickmap,
                width=chart_width(zoom),
            )
        shot = loaders.backdrop_screenshot(backend, version, page, *chosen.dimension_args)
        st.caption(f"Backdrop: {describe_backdrop(shot)}. {_drawn(overlay, layer, clickmap)}")
    with reach:
        _scroll_reach(summary, frame)

    if clickmap:
        _elements(backend, chosen, page, include_fixed, frame)
    else:
        canvas = overlay.canvas
        picked = sorted(
            {
                bin_at(point["x"], point["y"], canvas.width)
                for point in selected
                if 0 <= point["x"] <= canvas.width and 0 <= point["y"] <= canvas.height
            }
        )
        if picked:
            _hotspot_sessions(backend, chosen, page, tuple(picked), layer, include_fixed)

    st.download_button(
        "Download PNG",
        data=lambda: _export_png(backend, frame, overlay, cells, layer.value, look),
        file_name=f"heatmap-{page.breakpoint}-{'elements' if clickmap else layer.name}-{drawing.lower()}.png",
        mime="image/png",
        icon=":material/download:",
        help="The whole page as drawn here, at the screenshot's resolution.",
    )


def _drawn(overlay: PageOverlay, layer: Layer, clickmap: bool) -> str:
    """How the figure is drawn and what to do with it, for its caption."""
    if clickmap:
        return (
            f"The {len(overlay.outlines)} most clicked elements that reported their box, outlined with their "
            "share of the page's clicks (hover one for its numbers). Pick a row below to list its sessions."
        )
    drawn = (
        f"{layer.unit.capitalize()} smoothed over about {overlay.density.sigma_px:.0f} px, log scale"
        if overlay.density
        else f"Each cell is 1 % of the page width x {bins.ROW_HEIGHT_PX} px"
    )
    return f"{drawn}. Click a hotspot (or drag a box) to list the sessions behind it."


def _scroll_reach(summary: PageSummary, frame: loaders.PageFrame) -> None:
    sessions = summary.scroll_reach["sessions"][0]
    if not sessions:
        st.info("No scroll data for this page and breakpoint: the scroll-depth chart and fold need it.")
        return
    fold, height = summary.fold_px, frame.document_height
    fold_percent = 100 * fold / height if fold and height else None
    st.html(reach_html(summary.scroll_reach, fold_percent=fold_percent))
    st.caption(
        f"{count(sessions)} sessions with scroll data. The dashed line is the fold: {fold} px, the "
        "median viewport height at the deepest scroll."
    )


def _export_png(
    backend: Backend,
    frame: loaders.PageFrame,
    overlay: PageOverlay,
    cells: pl.DataFrame,
    value: str,
    look: Look,
) -> bytes:
    """What the figure shows (its outlines, its density or its cells) over the full-resolution
    screenshot."""
    backdrop_png = loaders.screenshot_bytes(backend, frame.sha256) if frame.sha256 else None
    size = {"document_width_px": int(overlay.canvas.width), "document_height_px": int(overlay.canvas.height)}
    options = {**size, "backdrop_png": backdrop_png, "opacity": look.opacity}
    if look.drawing == "Clickmap":
        return clickmap_png(overlay.outlines, **options)
    if overlay.density:
        return density_png(overlay.density, **options)
    return overlay_png(cells, value, **options)


def _elements(
    backend: Backend,
    chosen: Filters,
    page: PageRef | GroupRef,
    include_fixed: bool,
    frame: loaders.PageFrame,
) -> None:
    """The clickmap's table of elements (those the figure outlines); picking one lists the sessions
    that clicked it."""
    version = loaders.data_version(backend)
    view = (backend, backend.key, version, page, *chosen.dimension_args)
    elements = loaders.page_elements(*view, include_fixed, frame.document_width)
    st.subheader("Most clicked elements")
    if elements.is_empty():
        st.info("No click with a selector on this page and breakpoint for these filters.")
        return
    table = st.dataframe(
        element_table(elements),
        column_config=ELEMENT_COLUMNS,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="elements_table",
    )
    rows = [row for row in table.selection.rows if row < elements.height]
    if not rows:
        st.caption("Pick a row to list the sessions that clicked that element, with their replays.")
        return
    selector = elements["selector"][rows[0]]
    with context.explained_errors():
        sessions = loaders.element_sessions(
            backend, backend.key, version, page, *chosen.dimension_args, selector, include_fixed
        )
    st.subheader(f"Sessions that clicked {escape_markdown(shorten(selector, 60))}", anchor=False)
    _sessions_table(
        backend,
        page,
        sessions,
        "Best replay candidates first: rage events, dead clicks, then clicks on this element. A replay "
        "starts a few seconds before the session's first click on it.",
    )


def _hotspot_sessions(
    backend: Backend,
    chosen: Filters,
    page: PageRef | GroupRef,
    bins: tuple[tuple[int, int], ...],
    layer: Layer,
    include_fixed: bool,
) -> None:
    version = loaders.data_version(backend)
    with context.explained_errors():
        sessions = loaders.hotspot_sessions(
            backend, backend.key, version, page, *chosen.dimension_args, bins, layer.name, include_fixed
        )
    spots = "this spot" if len(bins) == 1 else f"these {len(bins)} spots"
    st.subheader(f"{WHO_CLICKED[layer.name]} {spots}", anchor=False)
    if sessions.is_empty():
        st.info(f"No session has {layer.unit} in the selected spots.")
        return
    start = {"clicks": "first click", "dead": "first dead click", "rage": "first rage event"}[layer.name]
    _sessions_table(
        backend,
        page,
        sessions,
        "Counts are of every click here, as the hover counts them. Best replay candidates first: rage "
        f"events, dead clicks, then clicks here. A replay starts a few seconds before the session's {start} "
        "here.",
    )


def _sessions_table(backend: Backend, page: PageRef | GroupRef, sessions: pl.DataFrame, caption: str) -> None:
    """Sessions (``explore.hotspot_sessions``' shape) with their replay links; a link to this
    dashboard's Session page opens it on this page, a few seconds before the click."""
    if sessions.is_empty():
        st.info("No session matches for these filters.")
        return
    dashboard_url = backend.settings.dashboard_url
    links = [
        to_session_page(url, dashboard_url, **page_link_params(page), at=at_param(first))
        if is_web_link(url)
        else None
        for url, first in sessions.select("replay_url", "first_ts").iter_rows()
    ]
    safe = sessions.with_columns(pl.Series("replay_url", links, dtype=pl.String))
    st.dataframe(
        safe,
        column_config=HOTSPOT_COLUMNS,
        column_order=list(HOTSPOT_COLUMNS),
        hide_index=True,
        width="stretch",
    )
    st.caption(caption)


def _name_in_url(key: str, default: str) -> None:
    """Give a picker the view's ``default`` when neither the URL nor the picker names a value yet, and
    put it in the URL: a link then always names the page and breakpoint shown, and shows them later
    too (the busiest page changes with new data). The pickers start from no value, so a bound widget
    never drops its value from the URL as its default. Once the picker is bound (a later run, where the
    user cleared it), the URL is the widget's to change."""
    if key not in st.query_params and st.session_state.get(key) is None:
        with suppress(StreamlitAPIException):
            st.query_params[key] = default
            st.session_state[key] = default


backend = context.page_backend()
st.title("Heatmap")
empty.stop_if_empty(backend, "web")
chosen = filters.current_filters()
version = loaders.data_version(backend)
with context.explained_errors():
    pages = loaders.ranked_pages(
        backend, backend.key, version, *chosen.dimension_args, chosen.search, "CLICKS", True
    )

page_keys = pages["page_key"].to_list()
if page_keys:
    _name_in_url("page", page_keys[0])
_name_in_url("bp", "desktop")
pickers = st.columns([3, 2], vertical_alignment="bottom")
page_key = pickers[0].selectbox(
    "Page",
    page_keys,
    index=None,
    key="page",
    bind="query-params",
    accept_new_options=True,
    placeholder="Pick a page or paste its URL",
    help="Pages with clicks for the sidebar filters, busiest first.",
)
pattern = (
    pickers[1]
    .text_input(
        "Or every page matching",
        key="pattern",
        bind="query-params",
        placeholder=groups.example_pattern(page_keys) or "https://shop.example.com/products/*",
        help="A pattern instead of one page: * stands for one or more characters (at most 5). The view then "
        "adds up every matching page. Clear it to see the page picked.",
    )
    .strip()
)
views = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
breakpoint = (
    views.segmented_control(
        "Breakpoint", list(breakpoints.NAMES), required=True, key="bp", bind="query-params"
    )
    or "desktop"
)
include_fixed = (
    views.segmented_control(
        "Fixed elements",
        FIXED_CHOICES,
        default="where seen",
        required=True,
        key="fixed",
        bind="query-params",
        help="Clicks on fixed or sticky elements (a header, a chat button) are recorded where they were "
        "seen in the window, so they pile up at the top of the page. Hidden leaves them out of every "
        "number and drawing here.",
    )
    != "hidden"
)
if not page_key and not pattern:
    st.info("No page has clicks for these filters. Widen the date range or clear a filter in the sidebar.")
    st.stop()

with context.explained_errors():
    page = (
        GroupRef(parse_page_pattern(pattern, backend.settings.page_key_rules), breakpoint)
        if pattern
        else PageRef(page_key, breakpoint)
    )
    summary = loaders.page_summary(backend, backend.key, version, page, *chosen.dimension_args, include_fixed)
    shown_pages = (  # the rows whose clicks this view adds up
        loaders.ranked_pages(
            backend, backend.key, version, *chosen.dimension_args, None, "CLICKS", True, page.pattern
        )
        if isinstance(page, GroupRef)
        else pages.filter(pl.col("page_key") == page_key)
    )
    shown = loaders.backdrop_page(backend, backend.key, version, page, *chosen.dimension_args)

subject = "these pages" if isinstance(page, GroupRef) else "this page"
if isinstance(page, GroupRef):
    st.markdown(
        f"**{count(summary.pages or 0)} pages** match {escape_markdown(page.pattern.text)} in this window "
        "and filters; their clicks add up below, each binned by its own page's width."
    )
split = groups.clicks_by_breakpoint(shown_pages)
shown_totals = totals(summary)
clicks = shown_totals.clicks
hidden_note = None if include_fixed else "Clicks on fixed elements are left out of the numbers and drawings."
numbers = st.columns(4)
numbers[0].metric(f"Clicks · {breakpoint}", count(clicks), border=True, help=hidden_note)
numbers[1].metric(
    "Dead clicks", count(shown_totals.dead_clicks), border=True, help="Clicks the page did not react to."
)
numbers[2].metric(
    "Rage events",
    count(shown_totals.rage_events),
    border=True,
    help="Runs of 3+ fast clicks on the same spot.",
)
numbers[3].metric("Sessions with scroll data", count(summary.scroll_reach["sessions"][0]), border=True)
st.caption(
    f"{chosen.describe()} (UTC) · clicks on {subject} by breakpoint: "
    + " · ".join(f"{name} {split.get(name, 0):,}" for name in breakpoints.NAMES)
    + ("" if include_fixed else " (with the clicks on fixed elements, hidden above)")
)
if clicks == 0 and any(split.values()):
    busiest = max(split, key=split.__getitem__)
    st.info(f"No {breakpoint} clicks on {subject} for these filters; most clicks are on {busiest}.")

if isinstance(page, GroupRef):
    st.caption(escape_markdown(groups.backdrop_note(shown, summary.pages or 0, breakpoint)))
if shown:
    backdrop_controls(
        backend,
        shown,
        breakpoint,
        loaders.latest_page_screenshot(backend, backend.key, version, shown, breakpoint),
    )
heatmap_panel(backend, chosen, page, summary, include_fixed)

st.subheader("Replays")
if not summary.replays.is_empty():
    st.caption(
        "Up to 5 sessions per breakpoint, the most frustrated first (rage events, dead clicks, clicks)."
    )
    _replay_links(summary.replays, page, backend.settings.dashboard_url)
else:
    st.info(f"No sessions on {subject} for these filters.")
