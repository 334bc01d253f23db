"""The contract's web query operations, shared by the REST API and the dashboard (CONTRACT 2, 4).

Typed in, typed out: a window, filters, a page reference and a sort come in already parsed
(``data_layer.filters``, ``data_layer.page_ref``, :func:`parse_sort`, :func:`parse_limit`), and results
leave as Polars frames. The API's JSON shape is made at its edge (``api/web_json.py``), so the dashboard
reads the same frames without a round trip through strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from data_layer import metrics, page_groups, rage
from data_layer.cursors import CursorState, decode_cursor, encode_cursor, query_digest
from data_layer.errors import BadRequest, NotFound
from data_layer.filters import WebFilters, Window
from data_layer.page_reads import PageHeatmap
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.settings import Settings
from data_layer.store import EventStore

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
SORT_COLUMNS = {
    "CLICKS": "total_clicks",
    "RAGE_CLICKS": "rage_clicks",
    "DEAD_CLICKS": "dead_clicks",
    "RAGE_RATE": "rage_rate",
    "DEAD_RATE": "dead_rate",
    "ISSUE_SCORE": "issue_score",
    "PAGE_KEY": "page_key",
}
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")


def parse_limit(value: str | int | None) -> int:
    """Default 25, clamped to 1..100; anything but an integer is an error."""
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, str):
        if not _INTEGER.match(value.strip()):
            raise BadRequest(f"limit must be an integer, got {value[:40]!r}")
        value = int(value.strip())
    return max(1, min(MAX_LIMIT, value))


def parse_sort(sort_by: str | None, sort_dir: str | None) -> tuple[str, bool]:
    """(sort key name, descending) from case-insensitive ``sortBy``/``sortDir``."""
    key = (sort_by or "CLICKS").upper()
    if key not in SORT_COLUMNS:
        raise BadRequest(f"sortBy must be one of {', '.join(SORT_COLUMNS)}, got {sort_by[:40]!r}")
    direction = (sort_dir or "DESC").upper()
    if direction not in ("ASC", "DESC"):
        raise BadRequest(f"sortDir must be ASC or DESC, got {sort_dir[:40]!r}")
    return key, direction == "DESC"


def sort_pages(pages: pl.DataFrame, sort_key: str, descending: bool, name: str = "page_key") -> pl.DataFrame:
    """Total, stable order: the sort column, then the ``name`` column ascending (pageKey; a group's
    name, which ``PAGE_KEY`` sorts groups by)."""
    column = SORT_COLUMNS[sort_key]
    if column == "page_key":
        return pages.sort(name, descending=descending)
    return pages.sort([column, name], descending=[descending, False], nulls_last=True)


@dataclass(frozen=True)
class PageListing:
    """One page of the pages list: rows shaped as :func:`metrics.page_list`'s, and the way on."""

    pages: pl.DataFrame
    next_cursor: str | None


@dataclass(frozen=True)
class PageSummary(metrics.BreakpointSummary):
    """A page's (or a group's) heatmap at one breakpoint and its curated replays (``breakpoint``,
    ``url``); ``pages``: for a group, how many matching pages had events in the window and filters."""

    replays: pl.DataFrame
    pages: int | None = None


class HeatmapService:
    """The two web query operations over a store; stateless apart from its collaborators."""

    def __init__(self, store: EventStore, settings: Settings, secret: bytes) -> None:
        self.store = store
        self.settings = settings
        self.secret = secret

    def list_pages(
        self,
        window: Window,
        filters: WebFilters = WebFilters(),
        *,
        search: str | None = None,
        pattern: PagePattern | None = None,
        sort: tuple[str, bool] = ("CLICKS", True),
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> PageListing:
        """``GET /rest/v1/heatmap-pages``: pages with clicks in the window, sorted, one page of them.

        ``cursor`` is a client's string (checked against the query it was made for); ``sort`` is a
        :func:`parse_sort` result.
        """
        sort_key, descending = sort
        digest = query_digest(
            {
                "from": window.from_day,
                "to": window.to_day,
                **filters.digest_values(),
                "search": (search or "").lower(),
                "pattern": pattern.text if pattern else "",
                "sort": sort_key,
                "desc": descending,
            }
        )
        if cursor:
            state = decode_cursor(cursor, digest, self.secret)
        else:
            state = CursorState(offset=0, snapshot=self.store.last_seq())
        pages = self.ranked_pages(
            window, filters, search, sort_key, descending, pattern=pattern, as_of_seq=state.snapshot
        )
        chunk = pages.slice(state.offset, limit)
        has_more = state.offset + chunk.height < pages.height
        next_cursor = (
            encode_cursor(CursorState(state.offset + chunk.height, state.snapshot), digest, self.secret)
            if has_more
            else None
        )
        return PageListing(chunk, next_cursor)

    def ranked_pages(
        self,
        window: Window,
        filters: WebFilters,
        search: str | None,
        sort_key: str,
        descending: bool,
        *,
        pattern: PagePattern | None = None,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """Every matching page's metrics in the contract's order (the dashboard shows it whole).

        As of a cursor's snapshot, the stored rage flags of a session clicked since may have changed:
        the counts of those sessions' clicks are taken back and counted again with the flags they had
        then (counts add up), so only their clicks are read, not the window's."""
        counts = self.store.click_counts(window.from_day, window.to_day, filters, as_of_seq=as_of_seq)
        earlier = self.store.clicks_before_late_sessions(as_of_seq) if as_of_seq is not None else None
        if earlier is not None and not earlier.is_empty():
            changed = self.store.web_events(
                window.from_day,
                window.to_day,
                filters,
                clicks_only=True,
                as_of_seq=as_of_seq,
                columns=(*metrics.PAGE_LIST_COLUMNS, "seq"),
                clicked_after=as_of_seq,
            )
            taken_back = metrics.click_counts(changed).with_columns(-pl.col(metrics.COUNT_COLUMNS))
            then = metrics.click_counts(self._rage_flags_as_of(changed, earlier))
            columns = [pl.col("page_key", "breakpoint").cast(pl.String), *metrics.COUNT_COLUMNS]
            parts = (counts, taken_back, then)
            counts = pl.concat([frame.lazy().select(columns) for frame in parts]).collect()
        pages = metrics.pages_from_counts(counts)
        if search:
            pages = pages.filter(
                pl.col("page_key").str.to_lowercase().str.contains(search.lower(), literal=True)
            )
        if pattern:
            pages = pages.filter(pattern.matches(pl.col("page_key")))
        return sort_pages(pages, sort_key, descending)

    def _rage_flags_as_of(self, events: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
        """``events`` with the rage flags they had at a cursor's snapshot.

        Stored flags are the latest: a click arriving after a cursor's snapshot can complete (or extend)
        a run of clicks inside it, and a walk whose pages moved between two requests would repeat or skip
        pages. ``earlier``: the clicks up to the snapshot of the sessions clicked since, recomputed here.
        """
        flags = rage.rage_flags(earlier, **self.settings.rage_thresholds())
        flags = flags.select("seq", "rage", "rage_start")
        return events.update(flags, on="seq", how="left")

    def group_list(
        self,
        groups: pl.DataFrame,
        window: Window,
        filters: WebFilters = WebFilters(),
        sort: tuple[str, bool] = ("CLICKS", True),
    ) -> pl.DataFrame:
        """``GET /rest/v1/page-groups`` with a window: each of ``groups`` (:data:`page_groups.GROUP_SCHEMA`)
        with its totals (:func:`page_groups.group_totals`), sorted like pages (``PAGE_KEY``: by name)."""
        counts = self.store.click_counts(window.from_day, window.to_day, filters)
        totals = page_groups.group_totals(groups, counts)
        return sort_pages(totals, *sort, name="name").with_columns(pl.col("id").cast(pl.String))

    def matching_pages(self, pattern: PagePattern) -> list[str]:
        """Every stored pageKey the pattern matches, sorted."""
        keys = self.store.page_keys().to_frame("page_key")
        return keys.filter(pattern.matches(pl.col("page_key"))).get_column("page_key").sort().to_list()

    def page_keys_of(self, page: PageRef | GroupRef) -> list[str]:
        """The stored pages a heatmap is about; 404 when none was ever seen."""
        if isinstance(page, GroupRef):
            keys = self.matching_pages(page.pattern)
            if not keys:
                raise NotFound(f"no events were ever recorded for a pageKey matching {page.pattern.text}")
            return keys
        if not self.store.page_exists(page.page_key):
            raise NotFound(f"no events were ever recorded for pageKey {page.page_key}")
        return [page.page_key]

    def page_elements(
        self,
        page: PageRef | GroupRef,
        window: Window,
        filters: WebFilters = WebFilters(),
        limit: int = 25,
        *,
        include_fixed: bool = True,
        width: float | None = None,
    ) -> pl.DataFrame:
        """``GET /rest/v1/heatmap-pages/elements``: the most clicked elements
        (:func:`elements.element_stats`); ``include_fixed`` as in :meth:`page_summary`, shares then of
        the clicks that are left; with ``width``, boxes scaled to a drawing that wide (the dashboard's)."""
        keys = self.page_keys_of(page)
        return self.store.page_elements(
            keys, window, filters, page.breakpoint, limit, include_fixed=include_fixed, width=width
        )

    def page_summary(
        self,
        page: PageRef | GroupRef,
        window: Window,
        filters: WebFilters = WebFilters(),
        *,
        include_fixed: bool = True,
    ) -> PageSummary:
        """``GET /rest/v1/heatmap-pages/summary``: bins, dead and rage clicks, scroll depth, replays; of
        one page, or of every page a pattern matches together (each click binned by its own page's
        width, each session counted once in scroll reach, replays ranked across the pages).

        ``include_fixed=False`` leaves out clicks on fixed or sticky elements, whose y is where they were
        seen in the viewport (CONTRACT 3.1), for a dashboard that hides them (CONTRACT 15).
        """
        grouped = isinstance(page, GroupRef)
        found = self.store.page_heatmap(
            self.page_keys_of(page),
            window,
            filters,
            page.breakpoint,
            include_fixed=include_fixed,
            count_pages=grouped,
        )
        return page_summary_of(found, self.settings.replay_template())


def page_summary_of(found: PageHeatmap, replay_template: str) -> PageSummary:
    """The summary of what a store found, replay links made from ``replay_template``."""
    heatmap = found.heatmap
    return PageSummary(
        heatmap.click_bins,
        heatmap.rage_bins,
        heatmap.dead_bins,
        heatmap.scroll_reach,
        heatmap.fold_px,
        metrics.replay_links(found.replay_sessions, replay_template),
        found.pages,
    )
