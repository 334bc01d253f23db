"""The shared sidebar filters, bound to the URL so a copied link reproduces the view.

Every widget here has a key and ``bind="query-params"``: the key is the query parameter's name
(``dates``, ``country``, ``region``, ``browser``, ``q``, and the segment filters' ``utmSource``,
``utmMedium``, ``utmCampaign``, ``referrerHost``, ``visitorType`` and repeated ``tag``: see
:mod:`dashboard.segment_filters`). They are drawn by the entry point before the page runs, so they survive
page switches; pages read the result with :func:`current_filters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import streamlit as st

from dashboard import loaders, segment_filters
from dashboard.context import Backend
from dashboard.segment_filters import SegmentChoices
from data_layer.filters import MAX_WINDOW_DAYS, VISITOR_TYPES, WebFilters, Window, parse_filters

ALL = "All"
DEFAULT_WINDOW_DAYS = 30
EARLIEST_DAY = date(2000, 1, 1)
FILTERS_KEY = "_heatmaps_filters"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choice: a valid window (at most 60 days), the dimension and segment filters of every
    web query (``where``, as the API parses them) and the page search."""

    window: Window
    where: WebFilters = WebFilters()
    search: str | None = None

    @property
    def dimension_args(self) -> tuple[Window, WebFilters]:
        """(window, where): the hashable arguments of the cached loaders."""
        return self.window, self.where

    def describe(self) -> str:
        """``2026-03-01 to 2026-03-30 · DE · Chrome · source google · variant:B`` for captions."""
        parts = [f"{self.window.from_day:%Y-%m-%d} to {self.window.to_day:%Y-%m-%d}"]
        parts += [value for value in (self.where.country, self.where.region, self.where.browser) if value]
        return " · ".join(parts + segment_filters.describe(self.where))


def utc_today() -> date:
    return datetime.now(UTC).date()


def default_window(last_day_with_data: date | None) -> Window:
    """The last 30 days ending at the newest day with data (today without data)."""
    end = last_day_with_data or utc_today()
    return Window(end - timedelta(days=DEFAULT_WINDOW_DAYS - 1), end)


def clamp_window(picked: tuple[date, ...], fallback: Window) -> tuple[Window, str | None]:
    """The window for a date-range pick, and a note when it had to be adjusted.

    One day picked (the second click still pending) means that day alone; more than 60 days keeps the
    last 60 of them, since every query is limited to 60 days (CONTRACT 1).
    """
    if not picked:
        return fallback, "No dates picked: showing the default window."
    start, end = (picked[0], picked[0]) if len(picked) == 1 else (picked[0], picked[1])
    if start > end:
        start, end = end, start
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        clamped = Window(end - timedelta(days=MAX_WINDOW_DAYS - 1), end)
        return clamped, (
            f"Queries cover at most {MAX_WINDOW_DAYS} days, so the last {MAX_WINDOW_DAYS} days of your "
            f"range are shown: {clamped.from_day:%Y-%m-%d} to {clamped.to_day:%Y-%m-%d}."
        )
    return Window(start, end), None


def _choice(value: Any) -> str | None:
    return None if value in (None, "", ALL) else str(value)


def _options(values: pl.Series) -> list[str]:
    return [ALL, *sorted({str(v) for v in values.drop_nulls().to_list() if str(v)})]


def _reset(defaults: Window) -> None:
    st.session_state["dates"] = (defaults.from_day, defaults.to_day)
    for key in ("country", "region", "browser", *(key for key, _, _ in segment_filters.SELECTS.values())):
        st.session_state[key] = ALL
    st.session_state[segment_filters.VISITOR_KEY] = None
    st.session_state[segment_filters.TAG_KEY] = []
    st.session_state["q"] = ""


def _segment_section(choices: SegmentChoices) -> dict[str, Any]:
    """The segment filters in a collapsed expander (open when the URL sets one); the selects and tags
    only where the data holds values. Returns them as keyword arguments of ``parse_filters``."""
    active = any(key in st.query_params for key in segment_filters.KEYS)
    chosen: dict[str, Any] = {}
    with st.expander("Segments", expanded=active, icon=":material/group:"):
        for field, (key, label, help_text) in segment_filters.SELECTS.items():
            if choices.values[field]:
                options = [ALL, *choices.values[field]]
                chosen[field] = _choice(
                    st.selectbox(label, options, key=key, bind="query-params", help=help_text)
                )
        chosen["visitor_type"] = st.segmented_control(
            "Visitors",
            list(VISITOR_TYPES),
            key=segment_filters.VISITOR_KEY,
            bind="query-params",
            help="new: the visitor's first session the server saw; returning: any later session.",
        )
        if choices.tags:
            chosen["tags"] = st.multiselect(
                "Tags",
                choices.tags,
                key=segment_filters.TAG_KEY,
                bind="query-params",
                placeholder="Any",
                help="Set by the page with window.heatmaps.tag(key, value); sessions with every tag picked.",
            )
        if not choices.any:
            st.caption(
                "No campaign, referrer or tag in the data yet: the tracker sends a session's UTM "
                "parameters and referrer host, and the tags its pages set with `window.heatmaps.tag()`."
            )
    return chosen


def render_filters(backend: Backend) -> Filters:
    """Draw the filters in the sidebar and remember the resulting :class:`Filters` for the page."""
    version = loaders.data_version(backend)
    web_days, touch_days = loaders.day_ranges(backend, backend.key, version)
    lasts = [days.last for days in (web_days, touch_days) if days is not None]
    defaults = default_window(max(lasts) if lasts else None)
    with st.sidebar:
        st.subheader("Filters")
        picked = st.date_input(
            "Days (UTC)",
            value=(defaults.from_day, defaults.to_day),
            min_value=EARLIEST_DAY,
            max_value=max(utc_today(), defaults.to_day) + timedelta(days=1),
            format="YYYY-MM-DD",
            key="dates",
            bind="query-params",
            help=f"Both days included; at most {MAX_WINDOW_DAYS} days per query. "
            "The default is the 30 days ending at the newest day with data.",
        )
        window, note = clamp_window(
            tuple(picked) if isinstance(picked, tuple | list) else (picked,), defaults
        )
        if note:
            st.caption(f":orange[{note}]")
        if web_days is not None:
            days = (backend, backend.key, version.web[1], web_days.first, web_days.last)
            dims, segments = loaders.dimensions(*days), loaders.segment_choices(*days)
        else:
            dims = pl.DataFrame(schema=dict.fromkeys(("country", "region", "browser"), pl.String))
            segments = segment_filters.NO_CHOICES
        country = _choice(
            st.selectbox(
                "Country",
                _options(dims["country"]),
                key="country",
                bind="query-params",
                help="Visitor country (ISO code) as sent by the tracker or a trusted proxy header.",
            )
        )
        regions = dims.filter(pl.col("country") == country)["region"] if country else dims["region"]
        region = _choice(
            st.selectbox(
                "Region",
                _options(regions),
                key="region",
                bind="query-params",
                help="Lists the regions of the chosen country (all regions when no country is chosen).",
            )
        )
        browser = _choice(
            st.selectbox("Browser", _options(dims["browser"]), key="browser", bind="query-params")
        )
        search = (
            st.text_input(
                "Page URL contains",
                key="q",
                bind="query-params",
                placeholder="e.g. /pricing",
                help="Narrows the page list and the page pickers (case-insensitive).",
            ).strip()
            or None
        )
        segment = _segment_section(segments)
        st.button("Reset filters", on_click=_reset, args=(defaults,), width="stretch")
        if lasts:
            st.caption(f"Newest data: {max(lasts):%Y-%m-%d} (UTC).")
    filters = Filters(window, parse_filters(country, region, browser, **segment), search)
    st.session_state[FILTERS_KEY] = filters
    return filters


def current_filters() -> Filters:
    """The filters the entry point drew this run (the default window when it could not draw them)."""
    filters = st.session_state.get(FILTERS_KEY)
    return filters if isinstance(filters, Filters) else Filters(default_window(None))
