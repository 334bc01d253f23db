"""A page's (or a page group's) reads from its events in Polars: how the stores that can hand out events
(:class:`~data_layer.store.SqlStore`, the replica) answer ``EventStore``'s heatmap, elements, spot cells,
geometry, spot sessions and pages without clicks. A store that aggregates elsewhere (ClickHouse) answers
the same reads with its own queries and the same finishing steps (:func:`metrics.click_and_rage`,
:func:`metrics.top_selectors`, :func:`metrics.reach_and_fold`, :func:`metrics.weighted_median`,
:func:`elements.element_table`, :func:`scroll_only.ranked_pages`), so no answer differs by store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl

from data_layer import bins, elements, metrics, scroll_only
from data_layer.filters import WebFilters, Window

GEOMETRY_COLUMNS = ("document_width", "document_height", "viewport_height")
CELL_COLUMNS = ("event_type", "breakpoint", "x", "y", "document_width", "selector")


@dataclass(frozen=True)
class PageGeometry:
    """Typical page size seen by visitors of one page and breakpoint, in CSS px (medians over events).

    Used to lay the bins out when no screenshot is known and to scale a screenshot to CSS px; ``None``
    fields mean no event carried the value.
    """

    document_width: int | None
    document_height: int | None
    viewport_height: int | None


def rounded_median(median: float | None) -> int | None:
    """A geometry median as a whole px, rounded as Polars rounds (every store the same way)."""
    if median is None:
        return None
    return int(pl.Series([median], dtype=pl.Float64).round(0).item())


SpotLayer = Literal["clicks", "dead", "rage"]
SPOT_SESSION_SCHEMA = {
    "session_id": pl.String,
    "visitor_id": pl.String,
    "clicks": pl.Int64,
    "dead_clicks": pl.Int64,
    "rage_events": pl.Int64,
    "last_ts": pl.Datetime("us"),
    "first_ts": pl.Datetime("us"),
    "first_day": pl.Date,
}
"""A row of ``EventStore.spot_sessions``: what a replay link and the sessions table are made of."""
SPOT_COLUMNS = (
    "seq",
    "ts",
    "breakpoint",
    "session_id",
    "visitor_id",
    "event_type",
    "x",
    "y",
    "document_width",
    "selector",
    "dead",
    "rage_start",
)
"""What the sessions behind a spot or an element read of the page's events."""


@dataclass(frozen=True)
class Spot:
    """Where on a page's breakpoint: some bins (``(binX, binY)``, each click binned by its own page's
    width) or an element (``selector``); ``layer`` picks the sessions: those with a click there, a
    dead click, or the first click of a rage event."""

    layer: SpotLayer
    bins: tuple[tuple[int, int], ...] = ()
    selector: str | None = None


@dataclass(frozen=True)
class PageHeatmap:
    """A page's (or group's) heatmap at one breakpoint, its curated sessions
    (:data:`metrics.REPLAY_SESSION_SCHEMA`, of every breakpoint) and, when asked for, how many of the
    pages had events."""

    heatmap: metrics.BreakpointSummary
    replay_sessions: pl.DataFrame
    pages: int | None


def heatmap_of_events(events: pl.LazyFrame, breakpoint: str, *, count_pages: bool) -> PageHeatmap:
    """:class:`PageHeatmap` of some pages' events (:data:`metrics.SUMMARY_COLUMNS`, and ``page_key``
    with ``count_pages``)."""
    pages = events.select(pl.col("page_key").n_unique()).collect().item() if count_pages else None
    return PageHeatmap(
        metrics.breakpoint_summary(events, breakpoint),
        metrics.replay_sessions(events),
        None if pages is None else int(pages),
    )


class FromEvents(ABC):
    """The reads of ``EventStore`` about pages (heatmap, elements, spot cells, geometry, the sessions
    behind a spot, the pages without clicks) for a store that hands out events (:meth:`page_events`,
    :meth:`web_events`), aggregated here in Polars."""

    @abstractmethod
    def page_events(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, columns: Sequence[str]
    ) -> pl.LazyFrame: ...

    @abstractmethod
    def web_events(
        self, from_day: date, to_day: date, filters: WebFilters = ..., *, columns: Sequence[str] | None = None
    ) -> pl.DataFrame: ...

    def pages_without_clicks(self, window: Window, filters: WebFilters) -> pl.DataFrame:
        """The window's pages with scrolls but no click (:func:`scroll_only.pages_without_clicks`)."""
        events = self.web_events(window.from_day, window.to_day, filters, columns=scroll_only.COLUMNS)
        return scroll_only.pages_without_clicks(events).collect()

    def _events(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        columns: Sequence[str],
        include_fixed: bool,
    ) -> pl.LazyFrame:
        """The pages' events, ``columns`` only; without the clicks on fixed or sticky elements unless
        ``include_fixed``."""
        if include_fixed:
            return self.page_events(page_keys, window, filters, columns)
        events = self.page_events(page_keys, window, filters, (*columns, "fixed"))
        return events.filter(~metrics.ON_FIXED).drop("fixed")

    def page_heatmap(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
        count_pages: bool,
    ) -> PageHeatmap:
        """The pages' heatmap at ``breakpoint`` and their curated sessions; ``include_fixed=False``
        leaves out clicks on fixed or sticky elements; ``count_pages``: how many of the pages had
        events."""
        columns = (*metrics.SUMMARY_COLUMNS, "page_key") if count_pages else metrics.SUMMARY_COLUMNS
        events = self._events(page_keys, window, filters, columns, include_fixed)
        return heatmap_of_events(events, breakpoint, count_pages=count_pages)

    def page_elements(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        limit: int,
        *,
        include_fixed: bool,
        width: float | None,
    ) -> pl.DataFrame:
        """The pages' most clicked elements at ``breakpoint`` (:func:`elements.element_stats`)."""
        columns = elements.ELEMENT_COLUMNS if width is None else (*elements.ELEMENT_COLUMNS, "document_width")
        events = self._events(page_keys, window, filters, columns, include_fixed)
        return elements.element_stats(events, breakpoint, limit, width=width)

    def page_cells(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
    ) -> pl.DataFrame:
        """Per bin of the breakpoint's clicks (each binned by its own page's width): ``bin_x``, ``bin_y``,
        ``clicks``, ``top_element`` (:func:`metrics.click_top_elements`), so a spot's hover can name what
        was clicked there; fixed clicks left out unless ``include_fixed``."""
        events = self._events(page_keys, window, filters, CELL_COLUMNS, include_fixed)
        clicks = events.filter((pl.col("event_type") == "click") & (pl.col("breakpoint") == breakpoint))
        return metrics.click_top_elements(clicks)

    def page_geometry(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, breakpoint: str
    ) -> PageGeometry:
        """Median document width and height and viewport height of the events of ``page_keys`` (one
        page, or a group's pages together) in one breakpoint."""
        events = self.page_events(page_keys, window, filters, ("breakpoint", *GEOMETRY_COLUMNS))
        medians = (
            events.filter(pl.col("breakpoint") == breakpoint)
            .select(pl.col(name).cast(pl.Float64).median() for name in GEOMETRY_COLUMNS)
            .collect()
            .row(0)
        )
        return PageGeometry(*(rounded_median(value) for value in medians))

    def spot_sessions(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        spot: Spot,
        limit: int,
        *,
        include_fixed: bool,
    ) -> pl.DataFrame:
        """The sessions with clicks in ``spot`` (:data:`SPOT_SESSION_SCHEMA`), best replay candidates
        first: rage events, dead clicks, clicks (all among the spot's clicks, desc), latest click there
        (desc), session id; at most ``limit``. ``first_ts``: the session's first click of the layer
        there, where its replay is worth starting; ``visitor_id`` and ``first_day``: of its first event
        on the pages (the replay link's)."""
        events = self._events(page_keys, window, filters, SPOT_COLUMNS, include_fixed).collect()
        clicks = events.filter((pl.col("event_type") == "click") & (pl.col("breakpoint") == breakpoint))
        if spot.selector is not None:
            here = clicks.filter(pl.col("selector").cast(pl.String) == spot.selector)
        else:
            wanted = pl.DataFrame(
                {"bin_x": [b[0] for b in spot.bins], "bin_y": [b[1] for b in spot.bins]},
                schema={"bin_x": pl.Int32, "bin_y": pl.Int32},
            )
            here = bins.with_bins(clicks).join(wanted, on=["bin_x", "bin_y"], how="semi")
        counted = {
            "dead": here.filter(pl.col("dead").fill_null(False)),
            "rage": here.filter(pl.col("rage_start").fill_null(False)),
        }.get(spot.layer, here)
        firsts_here = counted.group_by("session_id").agg(first_ts=pl.col("ts").min())
        ranked = (
            metrics.session_ranking(here)
            .join(firsts_here.with_columns(pl.col("session_id").cast(pl.String)), on="session_id")
            .sort(list(metrics.RANK_KEYS), descending=list(metrics.RANK_DESCENDING))
            .head(limit)
        )
        visits = metrics.first_visits(events, ranked["session_id"].to_list())
        return (
            ranked.join(visits, on="session_id", how="left", maintain_order="left")
            .select(list(SPOT_SESSION_SCHEMA))
            .cast(SPOT_SESSION_SCHEMA)  # type: ignore[arg-type]
        )
