"""Pure Polars metrics over web event frames (CONTRACT 2): rage runs, page list, bins, scroll, replays.

Every function takes frames shaped as ``data_layer.store.WEB_EVENT_SCHEMA`` (or the subset it names) and
returns a frame or plain Python values; nothing here reads storage or settings, thresholds arrive as
arguments. Polars does not keep row order through ``group_by`` or joins, so every order-dependent step
sorts explicitly first, and every list handed back is in the contract's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import polars as pl

from data_layer import bins, breakpoints

SCROLL_BUCKETS = tuple(range(0, 101, 10))
"""Scroll reach buckets in percent of the document height (CONTRACT 2.5)."""
WILSON_Z = 1.96
"""z of the 95 % Wilson score interval behind the issue score (CONTRACT 2.6)."""
FULL_WEIGHT_CLICKS = 100
"""From this many clicks on a page gets the full issue score weight (CONTRACT 2.6)."""
REPLAYS_PER_BREAKPOINT = 5

_IS_CLICK = pl.col("event_type") == "click"
ON_FIXED = pl.col("fixed").fill_null(False)
"""A click on a fixed or sticky element: its y is where it was seen in the viewport (CONTRACT 3.1)."""


def issue_score(frustrated: pl.Expr, total: pl.Expr) -> pl.Expr:
    """CONTRACT 2.6: ``round(100 * L * min(1, total/100), 1)``, ``L`` the 95 % Wilson lower bound.

    0.0 when ``total`` is 0; always in [0, 100]. Rounds half away from zero (the contract's examples hold
    either way; this is what people expect from "round").
    """
    n = total.cast(pl.Float64)
    p = frustrated.cast(pl.Float64) / n
    z2 = WILSON_Z * WILSON_Z
    centre = p + z2 / (2 * n)
    margin = WILSON_Z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
    # Clipped so floating-point error at 0 or n frustrated can never take L outside [0, 1].
    lower = ((centre - margin) / (1 + z2 / n)).clip(0.0, 1.0)
    weight = (n / FULL_WEIGHT_CLICKS).clip(upper_bound=1.0)
    score = (100 * lower * weight).round(1, mode="half_away_from_zero")
    return pl.when(total > 0).then(score).otherwise(0.0)


# The only columns page_list reads; stores can skip the rest.
PAGE_LIST_COLUMNS = ("event_type", "page_key", "breakpoint", "dead", "rage", "rage_start")
COUNT_COLUMNS = ("clicks", "rage_events", "dead", "frustrated")
"""What :func:`click_counts` counts per key."""
# The only columns a page summary reads (bins, dead and rage bins, scroll reach, fold, replays).
SUMMARY_COLUMNS = (
    "seq",
    "event_type",
    "ts",
    "breakpoint",
    "session_id",
    "visitor_id",
    "viewport_height",
    "document_width",
    "x",
    "y",
    "selector",
    "dead",
    "depth",
    "rage_start",
)


def click_counts(
    events: pl.LazyFrame | pl.DataFrame, keys: Sequence[str] = ("page_key", "breakpoint")
) -> pl.LazyFrame:
    """Per ``keys``: ``clicks``, ``rage_events`` (rage_start count), ``dead`` and ``frustrated`` (dead or
    rage, counted once), all Int64, over the clicks of ``events`` (scrolls are ignored).

    Counts add up: the counts of parts of the events, summed per key, are the counts of the whole. That
    lets a store keep them per day and answer a window by summing instead of rescanning every click.
    """
    return (
        events.lazy()
        .filter(_IS_CLICK)
        .group_by(*keys)
        .agg(
            clicks=pl.len().cast(pl.Int64),
            rage_events=pl.col("rage_start").fill_null(False).sum().cast(pl.Int64),
            dead=pl.col("dead").fill_null(False).sum().cast(pl.Int64),
            frustrated=(pl.col("dead").fill_null(False) | pl.col("rage").fill_null(False))
            .sum()
            .cast(pl.Int64),
        )
    )


def page_list(events: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """One row per page with at least one click (scroll events are ignored); row order unspecified.

    Columns: ``page_key`` (String), ``total_clicks``, ``rage_clicks`` (rage EVENTS, i.e. rage_start
    count), ``dead_clicks`` (Int64), ``rage_rate``, ``dead_rate`` (Float64 in [0, 1]), ``issue_score``
    (Float64, CONTRACT 2.6, clicks that are dead or rage counted once as frustrated) and ``breakpoints``
    (list of struct {breakpoint: String, clicks: Int64}, breakpoints with clicks only, clicks desc then
    name asc).
    """
    return pages_from_counts(click_counts(events))


def pages_from_counts(counts: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """:func:`page_list` from :func:`click_counts` rows (page_key, breakpoint and the counts; several
    rows per page and breakpoint are summed, other columns ignored)."""
    per_breakpoint = (
        counts.lazy()
        .group_by("page_key", "breakpoint")
        .agg(pl.col(COUNT_COLUMNS).sum())
        .filter(pl.col("clicks") > 0)
        .with_columns(pl.col("page_key").cast(pl.String), pl.col("breakpoint").cast(pl.String))
    )
    return (
        per_breakpoint.group_by("page_key")
        .agg(
            total_clicks=pl.col("clicks").sum(),
            rage_clicks=pl.col("rage_events").sum(),
            dead_clicks=pl.col("dead").sum(),
            frustrated=pl.col("frustrated").sum(),
            breakpoints=pl.struct("breakpoint", "clicks").sort_by(
                ["clicks", "breakpoint"], descending=[True, False]
            ),
        )
        .select(
            "page_key",
            "total_clicks",
            "rage_clicks",
            "dead_clicks",
            rage_rate=pl.col("rage_clicks") / pl.col("total_clicks"),
            dead_rate=pl.col("dead_clicks") / pl.col("total_clicks"),
            issue_score=issue_score(pl.col("frustrated"), pl.col("total_clicks")),
            breakpoints="breakpoints",
        )
        .collect()
    )


def _per_bin_counts(clicks: pl.LazyFrame) -> pl.LazyFrame:
    """Per non-empty bin, in the contract's order: ``clicks`` and ``rage_events`` (rage events start at
    their first click)."""
    return (
        clicks.group_by(_bin=bins.bin_key())
        .agg(
            clicks=pl.len().cast(pl.Int64),
            rage_events=pl.col("rage_start").fill_null(False).sum().cast(pl.Int64),
        )
        .sort("_bin")
        .select(**bins.from_bin_key("_bin"), clicks="clicks", rage_events="rage_events")
    )


def click_and_rage(per_bin: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The click and rage bins of per-bin counts (``bin_x``, ``bin_y``, ``clicks``, ``rage_events`` in
    the contract's order), however a store counted them."""
    return (
        per_bin.select("bin_x", "bin_y", "clicks"),
        per_bin.filter(pl.col("rage_events") > 0).select(
            "bin_x", "bin_y", "rage_events", total_clicks="clicks"
        ),
    )


def click_bins(clicks: pl.DataFrame) -> pl.DataFrame:
    """``bin_x``, ``bin_y``, ``clicks`` for one page and breakpoint's clicks; non-zero bins only, in the
    contract's order (binY, then binX)."""
    return click_and_rage_bins(clicks)[0]


def rage_click_bins(clicks: pl.DataFrame) -> pl.DataFrame:
    """``bin_x``, ``bin_y``, ``rage_events``, ``total_clicks``: bins where at least one rage event starts.

    A rage event sits at the bin of its first click (``rage_start``); ``total_clicks`` counts every click
    of that bin, rage or not.
    """
    return click_and_rage_bins(clicks)[1]


def click_and_rage_bins(clicks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`click_bins` and :func:`rage_click_bins` from one pass over the clicks (a summary needs both)."""
    return click_and_rage(_per_bin_counts(clicks.lazy()).collect())


def _selectors_per_bin(clicks: pl.LazyFrame, count: str) -> pl.LazyFrame:
    """Per bin of ``clicks``, in the contract's order (binY, then binX): their number (as ``count``) and
    ``top_element``, the most frequent non-null selector, ties broken by the smallest (string order),
    null when none had a selector."""
    counts = clicks.group_by(_bin=bins.bin_key(), selector=pl.col("selector")).agg(n=pl.len().cast(pl.Int64))
    return top_selectors(counts, count)


def top_selectors(counts: pl.LazyFrame, count: str) -> pl.LazyFrame:
    """:func:`_selectors_per_bin` from clicks counted per (``_bin``, the :func:`bins.bin_key`; ``selector``)
    as ``n``, however a store counted them. Selectors are compared as strings only once counted."""
    selector = pl.col("selector")
    return (
        counts.with_columns(selector.cast(pl.String))
        .group_by("_bin")
        .agg(
            pl.col("n").sum().alias(count),
            top_element=selector.sort_by(
                [selector.is_null(), pl.col("n"), selector], descending=[False, True, False]
            ).first(),
        )
        .sort("_bin")
        .select(**bins.from_bin_key("_bin"), **{count: count}, top_element="top_element")
    )


def _dead_per_bin(clicks: pl.LazyFrame) -> pl.LazyFrame:
    """Per bin with dead clicks: ``dead_clicks`` and ``top_element`` (see :func:`dead_click_bins`)."""
    return _selectors_per_bin(clicks.filter(pl.col("dead").fill_null(False)), "dead_clicks")


def dead_click_bins(clicks: pl.DataFrame) -> pl.DataFrame:
    """``bin_x``, ``bin_y``, ``dead_clicks``, ``top_element`` over the dead clicks; non-zero bins only,
    in the contract's order.

    ``top_element`` is the most frequent non-null selector among the bin's dead clicks, ties broken by
    the smallest selector (string order); null when none of them had a selector.
    """
    return _dead_per_bin(clicks.lazy()).collect()


def click_top_elements(clicks: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``bin_x``, ``bin_y``, ``clicks``, ``top_element`` over every click, as :func:`dead_click_bins`
    over the dead ones: what the dashboard's hover names for a spot."""
    return _selectors_per_bin(clicks.lazy(), "clicks").collect()


def _session_depths(scrolls: pl.LazyFrame) -> pl.LazyFrame:
    """Per session with scroll data: ``depth`` (max %) and ``viewport_height`` of its deepest scroll.

    Several scrolls at the same maximum depth: the latest (ts, then seq) wins, as it shows the viewport
    the visitor ended up with.
    """
    return (
        scrolls.filter(pl.col("depth").is_not_null())
        .group_by("session_id")
        .agg(
            depth=pl.col("depth").max(),
            viewport_height=pl.col("viewport_height")
            .sort_by(["depth", "ts", "seq"], descending=[True, True, True])
            .first(),
        )
    )


def scroll_reach(scrolls: pl.DataFrame) -> pl.DataFrame:
    """``bucket``, ``sessions`` for buckets 0, 10, …, 100: sessions whose max depth is ≥ bucket.

    Always 11 rows and non-increasing; all zeros without scroll data. Rows without ``depth`` (clicks)
    are ignored.
    """
    return scroll_reach_and_fold(scrolls)[0]


def fold(scrolls: pl.DataFrame) -> int | None:
    """The fold: median viewport height (px) at each session's deepest scroll.

    Mean of the two middle values for an even count, rounded half up to an integer; None without scroll
    data. Ties at the deepest point: the session's latest such scroll (ts, then seq).
    """
    return scroll_reach_and_fold(scrolls)[1]


REACH_COLUMNS = tuple(f"reach_{bucket}" for bucket in SCROLL_BUCKETS)
"""Per fold height (:func:`depth_histogram`): how many of its sessions reached each bucket."""


def depth_histogram(depths: pl.LazyFrame) -> pl.LazyFrame:
    """Per ``viewport_height`` at the sessions' deepest scrolls: ``sessions`` and, in
    :data:`REACH_COLUMNS`, how many reached each bucket (all Int64). Reach and fold add up from it, and a
    page has few viewport heights, so a store can hand this over instead of a row per session."""
    depth = pl.col("depth")
    return depths.group_by("viewport_height").agg(
        sessions=pl.len().cast(pl.Int64),
        **{
            name: (depth >= bucket).sum().cast(pl.Int64)
            for name, bucket in zip(REACH_COLUMNS, SCROLL_BUCKETS, strict=True)
        },
    )


def reach_and_fold(histogram: pl.DataFrame) -> tuple[pl.DataFrame, int | None]:
    """:func:`scroll_reach` and :func:`fold` from a :func:`depth_histogram`, however a store made it: the
    fold is the median of the heights counted ``sessions`` times (mean of the two middle values)."""
    counts = [int(histogram.get_column(name).sum()) for name in REACH_COLUMNS]
    reach = pl.DataFrame(
        {"bucket": SCROLL_BUCKETS, "sessions": counts}, schema={"bucket": pl.Int32, "sessions": pl.Int64}
    )
    median = weighted_median(histogram.select("viewport_height", "sessions"))
    return reach, None if median is None else int(median + 0.5)


def weighted_median(counted: pl.DataFrame) -> float | None:
    """The median of values counted several times: ``counted``'s first column the values, its second
    how many times each (no nulls among values with a count); the mean of the two middle values for an
    even total, as Polars' ``median``; None when nothing is counted."""
    value, count = counted.columns
    ordered = counted.filter(pl.col(count) > 0).sort(value).with_columns(_upto=pl.col(count).cum_sum())
    total = int(ordered.get_column(count).sum())
    if total == 0:
        return None
    values, upto = ordered.get_column(value), ordered.get_column("_upto")
    # 0-based positions of the middle value(s) among the total.
    low = values.filter(upto > (total - 1) // 2).first()
    high = values.filter(upto > total // 2).first()
    return (float(low) + float(high)) / 2  # type: ignore[arg-type]


def scroll_reach_and_fold(scrolls: pl.DataFrame) -> tuple[pl.DataFrame, int | None]:
    """:func:`scroll_reach` and :func:`fold` from one grouping of the scrolls by session."""
    return reach_and_fold(depth_histogram(_session_depths(scrolls.lazy())).collect())


@dataclass(frozen=True)
class BreakpointSummary:
    """A page's heatmap at one breakpoint: every part of a summary but its replays (frames as above)."""

    click_bins: pl.DataFrame
    rage_bins: pl.DataFrame
    dead_bins: pl.DataFrame
    scroll_reach: pl.DataFrame
    fold_px: int | None


def breakpoint_summary(events: pl.DataFrame | pl.LazyFrame, breakpoint: str) -> BreakpointSummary:
    """:func:`click_and_rage_bins`, :func:`dead_click_bins` and :func:`scroll_reach_and_fold` of one
    breakpoint's events.

    One Polars query for all three, so they run in parallel and share the breakpoint's filter.
    """
    here = events.lazy().filter(pl.col("breakpoint") == breakpoint)
    clicks = here.filter(_IS_CLICK)
    per_bin, dead, histogram = pl.collect_all(
        [
            _per_bin_counts(clicks),
            _dead_per_bin(clicks),
            depth_histogram(_session_depths(here.filter(pl.col("event_type") == "scroll"))),
        ]
    )
    click, rage = click_and_rage(per_bin)
    return BreakpointSummary(click, rage, dead, *reach_and_fold(histogram))


RANK_KEYS = ("rage_events", "dead_clicks", "clicks", "last_ts", "session_id")
"""Replay ranking (CONTRACT 2.7), best first: every key descending except ``session_id``."""
RANK_DESCENDING = (True, True, True, True, False)


def session_ranking(events: pl.DataFrame) -> pl.DataFrame:
    """Per (breakpoint, session) with events in ``events``: the replay ranking keys, unordered.

    Columns: ``breakpoint``, ``session_id``, ``rage_events``, ``dead_clicks``, ``clicks`` (Int64, clicks
    only) and ``last_ts`` (latest event, click or scroll). Sort by :data:`RANK_KEYS` for the contract's
    order. Pass one page's events; the dashboard can reuse this for "sessions behind this hotspot" by
    passing the events of a bin.
    """
    click = _IS_CLICK
    return (
        events.group_by("breakpoint", "session_id")
        .agg(
            rage_events=(click & pl.col("rage_start").fill_null(False)).sum().cast(pl.Int64),
            dead_clicks=(click & pl.col("dead").fill_null(False)).sum().cast(pl.Int64),
            clicks=click.sum().cast(pl.Int64),
            last_ts=pl.col("ts").max(),
        )
        # Grouped as categoricals where the store keeps them (fast); ranked as strings (string order).
        .with_columns(pl.col("breakpoint").cast(pl.String), pl.col("session_id").cast(pl.String))
    )


FIRST_VISIT_SCHEMA = {"session_id": pl.String, "visitor_id": pl.String, "first_day": pl.Date}


def first_visits(events: pl.DataFrame, session_ids: Sequence[str]) -> pl.DataFrame:
    """Per given session (:data:`FIRST_VISIT_SCHEMA`): the visitor and UTC day of its first event in
    ``events`` (by ts, seq), what a replay link names; in no particular order.

    Only the given sessions are looked at, so this stays cheap on a big page.
    """
    return (
        events.filter(pl.col("session_id").is_in(list(session_ids)))
        .group_by("session_id")
        .agg(
            visitor_id=pl.col("visitor_id").sort_by(["ts", "seq"]).first(),
            first_day=pl.col("ts").min().dt.date(),
        )
        .cast(FIRST_VISIT_SCHEMA)  # type: ignore[arg-type]
    )


def replay_url(template: str, session_id: str, visitor_id: str | None, day: str) -> str:
    """``template`` with ``{sessionId}``, ``{visitorId}``, ``{date}`` replaced by URL-encoded values.

    Every character outside the unreserved set is percent-encoded (``quote(value, safe="")``), so a value
    can never introduce another placeholder, a path or a query separator. A missing visitor is empty.
    """
    values = {"{sessionId}": session_id, "{visitorId}": visitor_id or "", "{date}": day}
    url = template
    for placeholder, value in values.items():
        url = url.replace(placeholder, quote(value, safe=""))
    return url


def _replay_candidates(events: pl.LazyFrame, k: int) -> pl.DataFrame:
    """The events of the sessions that can rank among the first ``k`` of their breakpoint.

    Sessions rank by rage events first. Where ``k`` sessions of a breakpoint have rage events, only
    those with at least as many as the ``k``-th most can make it: on a busy page a handful, found from
    the few rage clicks alone. Elsewhere a session without rage events ranks below every session with
    one, and one with neither rage events nor dead clicks below every session with either; so where
    ``k`` sessions have either, only those need ranking. Remaining breakpoints keep all their events.
    """
    rage = _IS_CLICK & pl.col("rage_start").fill_null(False)
    flagged = rage | (_IS_CLICK & pl.col("dead").fill_null(False))
    per_session = events.filter(rage).group_by("breakpoint", "session_id").agg(rage_events=pl.len()).collect()
    per_breakpoint = per_session.group_by("breakpoint").agg(
        sessions=pl.len(), kth=pl.col("rage_events").top_k(k).min()
    )
    settled = per_breakpoint.filter(pl.col("sessions") >= k)
    strong = per_session.join(settled, on="breakpoint").filter(pl.col("rage_events") >= pl.col("kth"))
    unsettled = ~pl.col("breakpoint").is_in(settled.get_column("breakpoint").implode())
    marked = events.filter(unsettled & flagged).select("breakpoint", "session_id").unique().collect()
    narrowed = (
        marked.group_by("breakpoint")
        .agg(flagged_sessions=pl.len())
        .filter(pl.col("flagged_sessions") >= k)
        .get_column("breakpoint")
    )
    kept = pl.concat([strong.get_column("session_id"), marked.get_column("session_id")])
    # Whole sessions are kept (a kept session's events on other breakpoints do no harm: every session
    # ranked is ranked on all its events).
    return events.filter(
        pl.col("session_id").is_in(kept.implode())
        | (unsettled & ~pl.col("breakpoint").is_in(narrowed.implode()))
    ).collect()


REPLAY_SESSION_SCHEMA = {
    "breakpoint": pl.String,
    "session_id": pl.String,
    "visitor_id": pl.String,
    "first_day": pl.Date,
}
"""The curated sessions of a page (:func:`replay_sessions`), what a replay link is made of."""


def best_sessions(
    ranking: pl.DataFrame, breakpoint_order: Sequence[str], per_breakpoint: int
) -> pl.DataFrame:
    """The ``per_breakpoint`` best of ``ranking`` (``breakpoint`` and :data:`RANK_KEYS`, a row per
    session and breakpoint) per breakpoint of ``breakpoint_order``, in that order, best first."""
    order = {name: index for index, name in enumerate(breakpoint_order)}
    return (
        ranking.filter(pl.col("breakpoint").is_in(list(order)))
        .group_by("breakpoint")
        .agg(
            best=pl.struct(RANK_KEYS).top_k_by(
                list(RANK_KEYS), k=per_breakpoint, reverse=[not d for d in RANK_DESCENDING]
            )
        )
        .explode("best")
        .unnest("best")
        .with_columns(_order=pl.col("breakpoint").replace_strict(order, return_dtype=pl.Int32))
        .sort(["_order", *RANK_KEYS], descending=[False, *RANK_DESCENDING])
    )


def replay_sessions(
    events: pl.DataFrame | pl.LazyFrame,
    *,
    breakpoint_order: Sequence[str] = breakpoints.NAMES,
    per_breakpoint: int = REPLAYS_PER_BREAKPOINT,
) -> pl.DataFrame:
    """The sessions behind :func:`replays` in its order (:data:`REPLAY_SESSION_SCHEMA`): ``visitor_id``
    and ``first_day`` of each session's first event in ``events``."""
    candidates = _replay_candidates(events.lazy(), per_breakpoint)
    best = best_sessions(session_ranking(candidates), breakpoint_order, per_breakpoint)
    firsts = first_visits(candidates, best["session_id"].to_list())
    return (
        best.select("breakpoint", "session_id")
        .join(firsts, on="session_id", how="left", maintain_order="left")
        .cast(REPLAY_SESSION_SCHEMA)  # type: ignore[arg-type]
    )


def replay_links(sessions: pl.DataFrame, template: str) -> pl.DataFrame:
    """``breakpoint``, ``url`` of :func:`replay_sessions` rows (in their order), however a store ranked
    them."""
    return sessions.select("breakpoint").with_columns(url=replay_urls(sessions, template))


def replay_urls(sessions: pl.DataFrame, template: str) -> pl.Series:
    """:func:`replay_url` of each row of ``sessions`` (``session_id``, ``visitor_id``, ``first_day``)."""
    rows = sessions.select("session_id", "visitor_id", "first_day").iter_rows()
    urls = [replay_url(template, session, visitor, day.isoformat()) for session, visitor, day in rows]
    return pl.Series(urls, dtype=pl.String)


def replays(
    events: pl.DataFrame | pl.LazyFrame,
    *,
    template: str,
    breakpoint_order: Sequence[str] = breakpoints.NAMES,
    per_breakpoint: int = REPLAYS_PER_BREAKPOINT,
) -> pl.DataFrame:
    """``breakpoint``, ``url``: curated replay links for one page (CONTRACT 2.7).

    ``events`` are one page's clicks and scrolls of every breakpoint, already window- and filter-limited.
    Per breakpoint the top ``per_breakpoint`` sessions by rage events, dead clicks, clicks (all desc),
    latest event desc, session id asc; entries ordered by ``breakpoint_order`` then rank. Breakpoints not
    in ``breakpoint_order`` get no entries. ``{date}`` is the UTC day of the session's first event in
    ``events``, ``{visitorId}`` the visitor of that event.
    """
    sessions = replay_sessions(events, breakpoint_order=breakpoint_order, per_breakpoint=per_breakpoint)
    return replay_links(sessions, template)
