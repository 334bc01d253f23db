"""Cached reads for the pages: every number comes from :mod:`data_layer.service` or ``touch_query`` (or
``explore`` for pickers).

Each loader takes the shared backend as ``_backend`` (not hashed) plus hashable parameters, including
the database identity and a data version: the version changes whenever events or screenshots are stored
or deleted, so a cached answer is never stale. The TTL only frees the memory of views nobody reopens: an
entry expires that long after it was computed, used or not, so a short one made warm page views
recompute summaries and page lists every half minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import func, select

from dashboard import compare, figures, groups, segment_filters
from dashboard.clickmap import ELEMENT_LIMIT
from dashboard.context import Backend
from dashboard.figures import PageOverlay, page_overlay
from dashboard.heatmap_geometry import screenshot_css_width
from dashboard.heatmap_view import LAYERS, Look
from dashboard.images import DisplayImage, display_image, thumbnail_uri
from dashboard.recording_player import DISPLAY_LIMIT_BYTES
from data_layer import breakpoints, deletions, explore, page_groups, recordings, screenshots, scroll_only
from data_layer.clickhouse.shipper import read_progress
from data_layer.filters import WebFilters, Window
from data_layer.page_reads import PageGeometry, SpotLayer
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.recordings import RecordingHead
from data_layer.schema import screenshots as screenshots_table
from data_layer.schema import touch_events
from data_layer.service import PageSummary
from data_layer.sessions import SessionQuery, list_sessions
from data_layer.touch_query import TouchHeatmap, TouchQuery, query_touch_heatmap

TTL_SECONDS = 600
CHOICES_TTL_SECONDS = 30  # the sidebar's choices are not keyed by every new event: see dimensions()
VERSION_KEY = "_heatmaps_data_version"


@dataclass(frozen=True)
class DataVersion:
    """Changes whenever stored data changes: (web seq, deletion generation), touch seq, screenshots."""

    web: tuple[int, str]
    touch: int
    screenshots: tuple[int, str]


def read_data_version(backend: Backend) -> DataVersion:
    """A few indexed queries; the replica catches up with new web events on the way. With ClickHouse,
    the shipped marks: what the store can answer from."""
    if backend.clickhouse is not None:
        with backend.engine.connect() as conn:
            web, touch = (read_progress(conn, stream).shipped_seq for stream in ("web", "touch"))
            web_version = (web, deletions.generation(conn))
            shots, newest = conn.execute(
                select(func.count(), func.max(screenshots_table.c.created_at)).select_from(screenshots_table)
            ).one()
        return DataVersion(web_version, touch, (int(shots), str(newest)))
    snapshot = backend.store.refresh()  # type: ignore[attr-defined]
    with backend.engine.connect() as conn:
        touch = conn.scalar(select(func.coalesce(func.max(touch_events.c.seq), 0)))
        shots, newest = conn.execute(
            select(func.count(), func.max(screenshots_table.c.created_at)).select_from(screenshots_table)
        ).one()
    return DataVersion((snapshot.last_seq, snapshot.generation), int(touch or 0), (int(shots), str(newest)))


def remember_data_version(backend: Backend) -> DataVersion:
    """Read the version once per run (entry point) and keep it for the page's loaders."""
    version = read_data_version(backend)
    st.session_state[VERSION_KEY] = version
    return version


def data_version(backend: Backend) -> DataVersion:
    """The version read by the entry point this run (read now when a page runs on its own)."""
    version = st.session_state.get(VERSION_KEY)
    return version if isinstance(version, DataVersion) else remember_data_version(backend)


@st.cache_data(ttl=TTL_SECONDS, max_entries=16, show_spinner=False)
def day_ranges(
    _backend: Backend, db: str, version: DataVersion
) -> tuple[explore.DayRange | None, explore.DayRange | None]:
    """(web, touch) day ranges holding data; None for a kind without events."""
    return explore.web_day_range(_backend.store), explore.touch_day_range(_backend.store)


@st.cache_data(ttl=CHOICES_TTL_SECONDS, max_entries=16, show_spinner=False)
def dimensions(_backend: Backend, db: str, generation: str, first: date, last: date) -> pl.DataFrame:
    """Distinct (country, region, browser) over the days with data: the sidebar's choices.

    Keyed by the days and the deletion generation, not by every new event: the choices rarely change,
    and a new country shows up within the TTL.
    """
    return explore.dimension_values(_backend.store, explore.DayRange(first, last))


@st.cache_data(ttl=CHOICES_TTL_SECONDS, max_entries=16, show_spinner=False)
def segment_values(_backend: Backend, db: str, generation: str, first: date, last: date) -> pl.DataFrame:
    """Distinct segments (explore.segment_values) over the days with data: the sidebar's segment
    choices, keyed like :func:`dimensions`."""
    return explore.segment_values(_backend.store, explore.DayRange(first, last))


@st.cache_resource(ttl=CHOICES_TTL_SECONDS, max_entries=16, show_spinner=False)
def segment_choices(
    _backend: Backend, db: str, generation: str, first: date, last: date
) -> segment_filters.SegmentChoices:
    """The sidebar's segment choices made from :func:`segment_values`, once per data set: sorting
    thousands of landings and tags cost every script run of every view 40 ms at 10 M events. A
    resource: shared as is, nobody changes it."""
    return segment_filters.segment_choices(segment_values(_backend, db, generation, first, last))


@st.cache_resource(ttl=TTL_SECONDS, max_entries=64, show_spinner="Ranking pages…")
def ranked_pages(
    _backend: Backend,
    db: str,
    version: DataVersion,
    window: Window,
    where: WebFilters,
    search: str | None,
    sort_key: str,
    descending: bool,
    pattern: PagePattern | None = None,
) -> pl.DataFrame:
    """The whole page list (service.ranked_pages) for a window, filters, search and sort; with
    ``pattern``, its matching pages only (a group's pages).

    This and :func:`page_summary` are resources, shared as they are: Polars frames never change in
    place, and unpickling a copy of each on every script run cost 20-30 ms at 10 M events."""
    service = _backend.service
    return service.ranked_pages(window, where, search or None, sort_key, descending, pattern=pattern)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner="Adding up the groups…")
def group_list(
    _backend: Backend,
    db: str,
    version: DataVersion,
    saved: tuple[tuple[str, str, str], ...],
    window: Window,
    where: WebFilters,
    sort_key: str,
    descending: bool,
) -> pl.DataFrame:
    """Each saved group's totals for the window and filters (service.group_list, the API's groups
    list), sorted; ``saved`` holds the groups' (id, name, pattern), so a new or deleted group is a new
    key."""
    groups = pl.DataFrame(list(saved), schema=page_groups.GROUP_SCHEMA, orient="row")
    return _backend.service.group_list(groups, window, where, (sort_key, descending))


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def matching_pages(_backend: Backend, db: str, version: DataVersion, pattern: PagePattern) -> list[str]:
    """Every stored pageKey the pattern matches (service.matching_pages), whatever the window."""
    return _backend.service.matching_pages(pattern)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def scroll_only_pages(
    _backend: Backend,
    db: str,
    version: DataVersion,
    window: Window,
    where: WebFilters,
    search: str | None,
) -> pl.DataFrame:
    """Pages with scroll data but no click for the window, filters and search (scroll_only), which the
    page list leaves out."""
    return scroll_only.scroll_only_pages(_backend.store, window, where, search or None)


@st.cache_resource(ttl=TTL_SECONDS, max_entries=64, show_spinner="Computing the heatmap…")
def page_summary(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    include_fixed: bool = True,
) -> PageSummary:
    """The page's (or the group's) summary (service.page_summary), the same answer the REST API gives;
    without the clicks on fixed elements unless ``include_fixed``."""
    return _backend.service.page_summary(page, window, where, include_fixed=include_fixed)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def page_elements(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    include_fixed: bool,
    width: float,
) -> pl.DataFrame:
    """The page's most clicked elements (service.page_elements, the API's elements), at most
    :data:`clickmap.ELEMENT_LIMIT`, their boxes scaled to a drawing ``width`` CSS px wide."""
    service = _backend.service
    return service.page_elements(page, window, where, ELEMENT_LIMIT, include_fixed=include_fixed, width=width)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def bin_top_elements(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    include_fixed: bool = True,
) -> pl.DataFrame:
    """Each clicked spot's most clicked selector (``EventStore.page_cells``), for the hover."""
    keys = _backend.service.page_keys_of(page)
    return _backend.store.page_cells(keys, window, where, page.breakpoint, include_fixed=include_fixed)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def page_geometry(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
) -> PageGeometry:
    """Median document and viewport size of the page's visits (a group's: of all its pages' visits),
    the layout of the figure."""
    keys = _backend.service.page_keys_of(page)
    return _backend.store.page_geometry(keys, window, where, page.breakpoint)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def backdrop_page(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
) -> str | None:
    """The page whose newest backdrop the heatmap is drawn over: the page itself; for a group, its
    busiest page at the breakpoint in the window and filters (groups.busiest_page), None without a
    click there."""
    if isinstance(page, PageRef):
        return page.page_key
    ranked = ranked_pages(_backend, db, version, window, where, None, "CLICKS", True, page.pattern)
    return groups.busiest_page(ranked, page.breakpoint)


def backdrop_screenshot(
    backend: Backend, version: DataVersion, page: PageRef | GroupRef, window: Window, where: WebFilters
) -> dict[str, Any] | None:
    """The newest screenshot of :func:`backdrop_page` at the breakpoint, None without one."""
    shown = backdrop_page(backend, backend.key, version, page, window, where)
    return latest_page_screenshot(backend, backend.key, version, shown, page.breakpoint) if shown else None


@dataclass(frozen=True)
class PageFrame:
    """What a page's figures are drawn on: the backdrop's screenshot (None: the page outline) and the
    document size (CSS px) its clicks are laid out in. Both sides of a comparison share one."""

    sha256: str | None
    document_width: float
    document_height: int | None


def page_frame(
    backend: Backend, version: DataVersion, page: PageRef | GroupRef, window: Window, where: WebFilters
) -> PageFrame:
    """The frame of the page's (or the group's) figures for the window and filters: the newest backdrop
    of :func:`backdrop_page`, and the document width it shows: the width it was captured at, an
    uploaded screenshot's CSS width (:func:`screenshot_css_width`), else the visits' median width, else
    the breakpoint's nominal width.

    A group's figure lays its pages' bins (each click binned by its own page's width) over its busiest
    page's backdrop: pages of one template share its layout.
    """
    geometry = page_geometry(backend, backend.key, version, page, window, where)
    shot = backdrop_screenshot(backend, version, page, window, where)
    if shot:
        # A captured backdrop knows the document width it was taken at: its clicks' CSS px map onto it 1:1.
        width = shot.get("documentWidth") or screenshot_css_width(shot["width"], geometry.document_width)
    else:
        width = geometry.document_width or breakpoints.NOMINAL_WIDTH_PX[page.breakpoint]
    return PageFrame(shot["sha256"] if shot else None, float(width), geometry.document_height)


@st.cache_resource(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def heatmap_overlay(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    frame: PageFrame,
    look: Look,
) -> PageOverlay:
    """The Heatmap page's figure for one view, built once: the summary's layer drawn as ``look`` says
    over ``frame`` (the elements outlined for a clickmap), each spot's hover naming its element.

    A resource, not data: the figure is shared as is, never pickled, so a warm view skips Plotly's
    validation of every property (0.1-0.3 s of server time per run). Nobody mutates it: Streamlit
    serialises a copy (``to_dict``).
    """
    view = (_backend, db, version, page, window, where, look.include_fixed)
    clickmap = look.drawing == "Clickmap"
    return page_overlay(
        page_summary(*view),
        LAYERS[look.layer],
        image=display_screenshot(_backend, db, frame.sha256) if frame.sha256 else None,
        document_width=frame.document_width,
        document_height=frame.document_height,
        opacity=look.opacity,
        breakpoint=page.breakpoint,
        drawing=look.drawing,
        tops=None if clickmap else bin_top_elements(*view),
        elements=page_elements(*view, frame.document_width) if clickmap else None,
        zoom=look.zoom,
    )


@st.cache_resource(ttl=TTL_SECONDS, max_entries=16, show_spinner=False)
def difference_overlay(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    sides: tuple[tuple[Window, WebFilters], tuple[Window, WebFilters]],
    labels: tuple[str, str],
    frame: PageFrame,
    look: Look,
) -> PageOverlay:
    """The difference map of two sides' (A's and B's window and filters) layer, as shares of each
    side's own clicks (:func:`figures.difference_overlay`), over ``frame``; the fold is A's."""
    layer = LAYERS[look.layer]
    a, b = (page_summary(_backend, db, version, page, *side, look.include_fixed) for side in sides)
    return figures.difference_overlay(
        compare.share_difference(layer.cells(a), layer.cells(b), layer.value),
        labels=labels,
        image=display_screenshot(_backend, db, frame.sha256) if frame.sha256 else None,
        document_width=frame.document_width,
        document_height=frame.document_height,
        opacity=look.opacity,
        breakpoint=page.breakpoint,
        fold_px=a.fold_px,
        zoom=look.zoom,
    )


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner="Finding sessions…")
def hotspot_sessions(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    bins: tuple[tuple[int, int], ...],
    layer: SpotLayer,
    include_fixed: bool = True,
) -> pl.DataFrame:
    """Sessions behind the selected bins of the page (or the group's pages), with replay links
    (explore.hotspot_sessions)."""
    return explore.hotspot_sessions(
        _backend.store,
        page_keys=_backend.service.page_keys_of(page),
        breakpoint=page.breakpoint,
        window=window,
        filters=where,
        bins=list(bins),
        layer=layer,
        replay_template=_backend.settings.replay_template(),
        include_fixed=include_fixed,
    )


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner="Finding sessions…")
def element_sessions(
    _backend: Backend,
    db: str,
    version: DataVersion,
    page: PageRef | GroupRef,
    window: Window,
    where: WebFilters,
    selector: str,
    include_fixed: bool = True,
) -> pl.DataFrame:
    """Sessions that clicked an element of the page (or the group's pages), with replay links
    (explore.element_sessions)."""
    return explore.element_sessions(
        _backend.store,
        page_keys=_backend.service.page_keys_of(page),
        breakpoint=page.breakpoint,
        window=window,
        filters=where,
        selector=selector,
        replay_template=_backend.settings.replay_template(),
        include_fixed=include_fixed,
    )


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def session_events(
    _backend: Backend, db: str, version: DataVersion, session_id: str, day: date, visitor_id: str | None
) -> pl.DataFrame:
    """One session's events around ``day`` (explore.session_events)."""
    return explore.session_events(_backend.store, session_id, day, visitor_id)


def recording_head(backend: Backend, session_id: str) -> RecordingHead | None:
    """The session's recording, its first chunks up to the player's display limit; None without one.

    Cached by the session's chunk count and size (one row read each run): a recording that grows, or
    is purged or forgotten, is read again."""
    size = recordings.recording_size(backend.engine, session_id)
    return None if size is None else _recording_head(backend, backend.key, session_id, size)


@st.cache_data(ttl=TTL_SECONDS, max_entries=8, show_spinner="Loading the recording…")
def _recording_head(
    _backend: Backend, db: str, session_id: str, size: tuple[int, int]
) -> RecordingHead | None:
    return recordings.load_recording_head(_backend.engine, session_id, DISPLAY_LIMIT_BYTES)


def sessions(backend: Backend, version: DataVersion, query: SessionQuery, limit: int) -> pl.DataFrame:
    """The first ``limit`` sessions of ``query``, newest first (data_layer.sessions: the API's sessions
    list), keyed by the events' and the recordings' versions."""
    return _sessions(backend, backend.key, version, recordings.recordings_mark(backend.engine), query, limit)


@st.cache_data(ttl=TTL_SECONDS, max_entries=16, show_spinner=False)
def _sessions(
    _backend: Backend, db: str, version: DataVersion, mark: int, query: SessionQuery, limit: int
) -> pl.DataFrame:
    return list_sessions(
        _backend.store, _backend.engine, _backend.service.secret, query, limit=limit
    ).sessions


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner="Computing the tap heatmap…")
def touch_heatmap(_backend: Backend, db: str, version: DataVersion, query: TouchQuery) -> TouchHeatmap:
    """QueryHeatmapData (touch_query.query_touch_heatmap), the same answer the Connect API gives."""
    return query_touch_heatmap(_backend.store, query)


@st.cache_data(ttl=TTL_SECONDS, max_entries=8, show_spinner=False)
def touch_screens(_backend: Backend, db: str, version: DataVersion) -> list[str]:
    return explore.touch_screens(_backend.store, _backend.engine)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def touch_campaigns(_backend: Backend, db: str, version: DataVersion, screen_name: str) -> list[str]:
    return explore.touch_campaigns(_backend.store, screen_name)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def latest_page_screenshot(
    _backend: Backend, db: str, version: DataVersion, page_key: str, breakpoint: str
) -> dict[str, Any] | None:
    return screenshots.latest_page_screenshot(_backend.engine, page_key, breakpoint)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def screen_screenshots(
    _backend: Backend, db: str, version: DataVersion, screen_name: str
) -> list[dict[str, Any]]:
    return screenshots.list_screen_screenshots(_backend.engine, screen_name)


@st.cache_data(ttl=TTL_SECONDS, max_entries=8, show_spinner=False)
def page_screenshots(_backend: Backend, db: str, version: DataVersion) -> list[dict[str, Any]]:
    return screenshots.list_page_screenshots(_backend.engine)


def screenshot_bytes(backend: Backend, sha256: str) -> bytes | None:
    """The stored PNG, or None when its file is missing (e.g. the screenshot directory was wiped)."""
    try:
        return screenshots.read_screenshot_file(backend.settings.screenshot_dir, sha256)
    except (FileNotFoundError, ValueError):
        return None


@st.cache_data(max_entries=32, show_spinner=False)
def display_screenshot(_backend: Backend, db: str, sha256: str) -> DisplayImage | None:
    """A screenshot as a display-sized JPEG data URI; content-addressed, so cached without a TTL."""
    png = screenshot_bytes(_backend, sha256)
    return display_image(png) if png is not None else None


@st.cache_data(max_entries=256, show_spinner=False)
def screenshot_thumbnail(_backend: Backend, db: str, sha256: str) -> str | None:
    png = screenshot_bytes(_backend, sha256)
    return thumbnail_uri(png) if png is not None else None
