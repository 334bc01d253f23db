"""Heatmap: one page and breakpoint, its clicks over the newest screenshot, scroll reach and replays; or
a group, the pages matching a pattern (``?pattern=``), added up over its busiest page's backdrop."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dashboard import context, empty, filters, groups, loaders
from dashboard.backdrop import backdrop_controls
from dashboard.backdrop import describe as describe_backdrop
from dashboard.cartesian_chart import cartesian_chart
from dashboard.context import Backend
from dashboard.export import density_png, overlay_png
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
from dashboard.heatmap_view import DRAWINGS, LAYERS
from dashboard.reach import reach_html
from dashboard.recording_player import at_param
from data_layer import bins, breakpoints
from data_layer.explore import HotspotLayer
from data_layer.page_ref import GroupRef, PageRef, parse_page_pattern
from data_layer.service import PageSummary

PANEL_HEIGHT_PX = 720


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
    "clicks": st.column_config.NumberColumn("Clicks here"),
    "dead_clicks": st.column_config.NumberColumn("Dead here"),
    "rage_events": st.column_config.NumberColumn("Rage events here"),
    "last_ts": st.column_config.DatetimeColumn("Last event (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "replay_url": st.column_config.LinkColumn("Replay", display_text="Open replay ↗"),
}


@st.fragment
def heatmap_panel(backend: Backend, chosen: Filters, page: PageRef | GroupRef, summary: PageSummary) -> None:
    """Layer and opacity controls, the figure, scroll reach, the sessions behind a hotspot, the PNG export.

    A fragment: its controls and the hotspot selection rerun only this panel.
    """
    version = loaders.data_version(backend)
    breakpoint = page.breakpoint
    view_args = (backend, backend.key, version, page, *chosen.dimension_args)
    geometry = loaders.page_geometry(*view_args)
    shot = loaders.backdrop_screenshot(backend, version, page, *chosen.dimension_args)
    fold = summary.fold_px

    controls = st.columns([3, 2, 2], vertical_alignment="bottom")
    layer = LAYERS[
        controls[0].segmented_control(
            "Layer",
            list(LAYERS),
            default="All clicks",
            key="layer",
            bind="query-params",
            help="Dead clicks: the page did not react. Rage clicks: 3+ fast clicks on one spot "
            "(placed at the run's first click).",
        )
        or "All clicks"
    ]
    opacity = controls[1].slider("Opacity", 0.1, 1.0, 0.65, 0.05, key="opacity")
    drawing = (
        controls[2].segmented_control(
            "Draw as",
            DRAWINGS,
            default="Density",
            key="draw",
            bind="query-params",
            help="Density: the clicks smoothed into hot areas, on a log scale. Cells: each cell of "
            f"1 % of the page width x {bins.ROW_HEIGHT_PX} px with its exact count.",
        )
        or "Density"
    )
    cells = layer.cells(summary)
    overlay = loaders.heatmap_overlay(*view_args, layer.label, opacity, drawing)
    canvas = overlay.canvas

    chart, reach = st.columns([3, 1])
    with chart:
        if cells.is_empty():
            st.info(f"No {layer.unit} on this page and breakpoint for these filters.")
        with st.container(height=PANEL_HEIGHT_PX, border=True):
            selected = cartesian_chart(
                overlay.figure,
                key="heatmap_chart",
                config={"scrollZoom": False},
                selectable=True,
                width="stretch",
            )
        drawn = (
            f"{layer.unit.capitalize()} smoothed over about {overlay.density.sigma_px:.0f} px, log scale"
            if overlay.density
            else f"Each cell is 1 % of the page width x {bins.ROW_HEIGHT_PX} px"
        )
        st.caption(
            f"Backdrop: {describe_backdrop(shot)}. {drawn}. Click a hotspot (or drag a box) to list "
            "the sessions behind it."
        )
    with reach:
        sessions = summary.scroll_reach["sessions"][0]
        if sessions:
            fold_percent = (
                100 * fold / geometry.document_height if fold and geometry.document_height else None
            )
            st.html(reach_html(summary.scroll_reach, fold_percent=fold_percent))
            st.caption(
                f"{count(sessions)} sessions with scroll data. The dashed line is the fold: {fold} px, the "
                "median viewport height at the deepest scroll."
            )
        else:
            st.info("No scroll data for this page and breakpoint: the scroll-depth chart and fold need it.")

    picked = sorted(
        {
            bin_at(point["x"], point["y"], canvas.width)
            for point in selected
            if 0 <= point["x"] <= canvas.width and 0 <= point["y"] <= canvas.height
        }
    )
    if picked:
        _hotspot_sessions(backend, chosen, page, tuple(picked), layer.name)

    st.download_button(
        "Download PNG",
        data=lambda: _export_png(backend, shot, overlay, cells, layer.value, opacity),
        file_name=f"heatmap-{breakpoint}-{layer.name}-{drawing.lower()}.png",
        mime="image/png",
        icon=":material/download:",
        help="The whole page with this layer, at the screenshot's resolution.",
    )


def _export_png(
    backend: Backend,
    shot: dict[str, Any] | None,
    overlay: PageOverlay,
    cells: pl.DataFrame,
    value: str,
    opacity: float,
) -> bytes:
    """What the figure shows (its density, or the cells) over the full-resolution screenshot."""
    backdrop_png = loaders.screenshot_bytes(backend, shot["sha256"]) if shot else None
    size = {"document_width_px": int(overlay.canvas.width), "document_height_px": int(overlay.canvas.height)}
    if overlay.density:
        return density_png(overlay.density, **size, backdrop_png=backdrop_png, opacity=opacity)
    return overlay_png(cells, value, **size, backdrop_png=backdrop_png, opacity=opacity)


def _hotspot_sessions(
    backend: Backend,
    chosen: Filters,
    page: PageRef | GroupRef,
    bins: tuple[tuple[int, int], ...],
    layer: HotspotLayer,
) -> None:
    version = loaders.data_version(backend)
    with context.explained_errors():
        sessions = loaders.hotspot_sessions(
            backend, backend.key, version, page, *chosen.dimension_args, bins, layer
        )
    spots = "this spot" if len(bins) == 1 else f"these {len(bins)} spots"
    st.subheader(f"Sessions that clicked {spots}")
    if sessions.is_empty():
        st.info("No session matches this layer in the selected spots.")
        return
    # A link to this dashboard's Session page opens it on this page, a few seconds before the click.
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
    st.caption(
        "Best replay candidates first: rage events, dead clicks, then clicks in the selected spots. A replay "
        "starts a few seconds before the session's first click here."
    )


backend = context.page_backend()
st.title("Heatmap")
empty.stop_if_empty(backend, "web")
chosen = filters.current_filters()
version = loaders.data_version(backend)
with context.explained_errors():
    pages = loaders.ranked_pages(
        backend, backend.key, version, *chosen.dimension_args, chosen.search, "CLICKS", True
    )

pickers = st.columns([4, 3, 2], vertical_alignment="bottom")
page_key = pickers[0].selectbox(
    "Page",
    pages["page_key"].to_list(),
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
        placeholder=groups.example_pattern(pages["page_key"].to_list())
        or "https://shop.example.com/products/*",
        help="A pattern instead of one page: * stands for one or more characters (at most 5). The view then "
        "adds up every matching page. Clear it to see the page picked.",
    )
    .strip()
)
breakpoint = (
    pickers[2].segmented_control(
        "Breakpoint",
        list(breakpoints.NAMES),
        default="desktop",
        key="bp",
        bind="query-params",
    )
    or "desktop"
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
    summary = loaders.page_summary(backend, backend.key, version, page, *chosen.dimension_args)
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
clicks = int(summary.click_bins["clicks"].sum())
dead = int(summary.dead_bins["dead_clicks"].sum())
rage = int(summary.rage_bins["rage_events"].sum())
numbers = st.columns(4)
numbers[0].metric(f"Clicks · {breakpoint}", count(clicks), border=True)
numbers[1].metric("Dead clicks", count(dead), border=True, help="Clicks the page did not react to.")
numbers[2].metric("Rage events", count(rage), border=True, help="Runs of 3+ fast clicks on the same spot.")
numbers[3].metric("Sessions with scroll data", count(summary.scroll_reach["sessions"][0]), border=True)
st.caption(
    f"{chosen.describe()} (UTC) · clicks on {subject} by breakpoint: "
    + " · ".join(f"{name} {split.get(name, 0):,}" for name in breakpoints.NAMES)
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
heatmap_panel(backend, chosen, page, summary)

st.subheader("Replays")
if not summary.replays.is_empty():
    st.caption(
        "Up to 5 sessions per breakpoint, the most frustrated first (rage events, dead clicks, clicks)."
    )
    _replay_links(summary.replays, page, backend.settings.dashboard_url)
else:
    st.info(f"No sessions on {subject} for these filters.")
