"""Comparing two views of one heatmap (CONTRACT 15): two windows, or two segments, of the same page and
breakpoint. Pure: summaries and bins in, shares, deltas and a difference image out.

The sides are A (the baseline) and B (what is compared with it): the earlier window and the later one,
or the sidebar's segment and the segment picked. Volumes differ between sides (a week against a month,
a small campaign against everyone), so their bins are compared as **shares**: each bin's clicks over
all of its side's clicks. The difference map is B's share minus A's, smoothed with the density's kernel:
red where B clicks there more than A, blue where less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from dashboard.density import LEVELS, Density, click_density, grid_shape
from dashboard.segment_filters import SELECTS, TAG_KEY, VISITOR_KEY, SegmentChoices, describe
from data_layer.filters import VISITOR_TYPES, WebFilters, Window
from data_layer.metrics import BreakpointSummary

HALF_PAGE_PERCENT: Final = 50
"""The depth of the scroll-reach delta besides the fold: half the page."""

SAME: Final = 128
"""The level of no difference: levels run from 1 (B far fewer) through 128 to 255 (B far more)."""

QUIET: Final = 0.08
"""Differences below this fraction of the reference are transparent: noise, not a change."""

REFERENCE_PERCENTILE: Final = 99.0
"""The difference that gets the ends of the ramp: this percentile of where either side has clicks."""

CLICKED: Final = 1e-3
"""Where a side has clicks, for the reference: its smoothed share above this fraction of the peak."""

FEWER_RGB: Final = ((158, 202, 225), (8, 81, 156))
"""Blue from a small to the largest decrease."""
MORE_RGB: Final = ((252, 146, 114), (165, 15, 21))
"""Red from a small to the largest increase."""


def previous_window(window: Window) -> Window:
    """The window as long as ``window`` ending the day before it starts."""
    days = window.to_day - window.from_day
    end = window.from_day - timedelta(days=1)
    return Window(end - days, end)


def window_label(window: Window) -> str:
    """``3 Oct to 1 Nov 2026``, ``1 to 7 Mar 2026``, ``5 Mar 2026``: a side's days, short."""
    start, end = window.from_day, window.to_day
    if start == end:
        return f"{end.day} {end:%b %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} to {end.day} {end:%b %Y}"
    first = f"{start.day} {start:%b}" if start.year == end.year else f"{start.day} {start:%b %Y}"
    return f"{first} to {end.day} {end:%b %Y}"


def ordered_windows(chosen: Window, other: Window) -> tuple[Window, Window]:
    """(A, B) of two windows: the earlier one is A, so B - A reads as what changed since."""
    return (other, chosen) if other.from_day < chosen.from_day else (chosen, other)


SEGMENT_FIELDS: Final = {key: field for field, (key, _, _) in SELECTS.items()} | {VISITOR_KEY: "visitor_type"}
"""A segment option's key (the sidebar's query parameter) -> its :class:`WebFilters` field; tags aside."""


def segment_options(choices: SegmentChoices) -> list[str]:
    """B's segments to pick, as ``key:value`` with the sidebar's parameter names (``visitorType:new``,
    ``utmSource:google``, ``tag:variant:B``): both visitor types, then every value the data holds."""
    options = [f"{VISITOR_KEY}:{kind}" for kind in VISITOR_TYPES]
    options += [f"{key}:{value}" for field, (key, _, _) in SELECTS.items() for value in choices.values[field]]
    return options + [f"{TAG_KEY}:{tag}" for tag in choices.tags]


def with_segment(where: WebFilters, option: str) -> WebFilters:
    """``where`` with the segment of a :func:`segment_options` option in place of its own of that kind
    (a tag replaces a tag of the same key); the dimension filters and other segments are kept."""
    key, _, value = option.partition(":")
    if key == TAG_KEY:
        tag_key, _, tag_value = value.partition(":")
        kept = tuple(tag for tag in where.tags if tag[0].lower() != tag_key.lower())
        return replace(where, tags=(*kept, (tag_key, tag_value)))
    return replace(where, **{SEGMENT_FIELDS[key]: value})


def segment_label(where: WebFilters) -> str:
    """A side's segment in a few words (``source google · new visitors``), ``all visitors`` without one."""
    return " · ".join(describe(where)) or "all visitors"


def share_difference(a: pl.DataFrame, b: pl.DataFrame, value: str) -> pl.DataFrame:
    """Per bin on either side (``bin_x``, ``bin_y`` and ``value`` columns): ``share_a`` and ``share_b``,
    each side's ``value`` over its own total (each side's shares sum to 1; 0 on a side without any),
    and ``difference`` = share_b - share_a; bins in the contract's order (binY, then binX)."""

    def shares(cells: pl.DataFrame, name: str) -> pl.DataFrame:
        total = cells.get_column(value).sum()
        share = pl.col(value) / total if total else pl.lit(0.0)
        return cells.select("bin_x", "bin_y", share.cast(pl.Float64).alias(name))

    return (
        shares(a, "share_a")
        .join(shares(b, "share_b"), on=["bin_x", "bin_y"], how="full", coalesce=True)
        .with_columns(pl.col("share_a", "share_b").fill_null(0.0))
        .with_columns(difference=pl.col("share_b") - pl.col("share_a"))
        .sort("bin_y", "bin_x")
    )


def diverging_ramp(opacity: float) -> npt.NDArray[np.uint8]:
    """RGBA (uint8, ``LEVELS x 4``) of each difference level: blue below :data:`SAME`, red above,
    darker and more opaque the larger the difference; transparent within :data:`QUIET` of no change
    (and at level 0, which no difference gets)."""
    change = (np.arange(LEVELS) - SAME) / (LEVELS - 1 - SAME)
    size = np.clip(np.abs(change), 0.0, 1.0)
    table = np.zeros((LEVELS, 4), dtype=np.uint8)
    for (low, high), side in ((FEWER_RGB, change < 0), (MORE_RGB, change > 0)):
        low_rgb, high_rgb = np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)
        rgb = low_rgb + size[:, None] * (high_rgb - low_rgb)
        table[side, :3] = np.rint(rgb[side]).astype(np.uint8)
    seen = np.clip((size - QUIET) / (1 - QUIET), 0.0, 1.0)
    table[:, 3] = np.rint(255 * min(max(opacity, 0.0), 1.0) * np.sqrt(seen)).astype(np.uint8)
    table[0, 3] = 0
    return table


def difference_density(
    shares: pl.DataFrame, *, page_width: float, page_height: float, sigma_px: float
) -> Density:
    """The :func:`share_difference` of two sides as a :class:`Density` coloured by
    :func:`diverging_ramp`: each side's shares smoothed by the kernel (``sigma_px``), B's minus A's.

    The ends of the ramp are the :data:`REFERENCE_PERCENTILE` of the absolute difference where either
    side has clicks, so one bin that changed a lot does not wash the rest out; beyond it saturates.
    Without any difference every level is :data:`SAME` (transparent).
    """
    shape = grid_shape(page_width, page_height, sigma_px)
    size = {"page_width": page_width, "page_height": page_height, "sigma_px": sigma_px, "shape": shape}
    a = click_density(shares, "share_a", **size)
    b = click_density(shares, "share_b", **size)
    difference = b - a
    either = np.maximum(a, b)
    peak = float(either.max())
    covered = np.abs(difference[either > peak * CLICKED])
    reference = float(np.percentile(covered, REFERENCE_PERCENTILE)) if peak > 0 else 0.0
    if reference <= 0:
        flat = np.full(shape, SAME, dtype=np.uint8)
        return Density(flat, page_width, page_height, sigma_px, diverging_ramp)
    scaled = np.clip(difference / reference, -1.0, 1.0)
    levels = (SAME + np.rint(scaled * (LEVELS - 1 - SAME))).astype(np.uint8)
    return Density(levels, page_width, page_height, sigma_px, diverging_ramp)


def fold_bucket(fold_px: int | None, document_height: int | None) -> int | None:
    """The first scroll-reach bucket (0, 10, ..., 100 % of the page) deeper than the fold: a session
    reaching it scrolled past the first screen. None without a fold or page height, or when the fold is
    at the page's end."""
    if not fold_px or not document_height:
        return None
    bucket = (math.floor(100 * fold_px / document_height / 10) + 1) * 10
    return bucket if bucket <= 100 else None


def reach_share(reach: pl.DataFrame, bucket: int | None) -> float | None:
    """The share of the sessions with scroll data that reached ``bucket`` % of the page (a row of the
    summary's scroll reach); None without such sessions or bucket."""
    sessions = dict(reach.select("bucket", "sessions").iter_rows())
    everyone = sessions.get(0, 0)
    if bucket is None or not everyone:
        return None
    return sessions.get(bucket, 0) / everyone


@dataclass(frozen=True)
class Totals:
    """One side's numbers: clicks, rage events, dead clicks and the share of its sessions with scroll
    data reaching half the page and scrolling past the fold (None without scroll data)."""

    clicks: int
    rage_events: int
    dead_clicks: int
    reach_half: float | None = None
    past_fold: float | None = None

    @property
    def rage_rate(self) -> float | None:
        """Rage events per click (CONTRACT 2.2), None without clicks."""
        return self.rage_events / self.clicks if self.clicks else None

    @property
    def dead_rate(self) -> float | None:
        """Dead clicks per click (CONTRACT 2.3), None without clicks."""
        return self.dead_clicks / self.clicks if self.clicks else None


def totals(summary: BreakpointSummary, document_height: int | None = None) -> Totals:
    """A summary's :class:`Totals`; the fold's bucket needs the page's height (CSS px)."""
    return Totals(
        clicks=int(summary.click_bins.get_column("clicks").sum()),
        rage_events=int(summary.rage_bins.get_column("rage_events").sum()),
        dead_clicks=int(summary.dead_bins.get_column("dead_clicks").sum()),
        reach_half=reach_share(summary.scroll_reach, HALF_PAGE_PERCENT),
        past_fold=reach_share(summary.scroll_reach, fold_bucket(summary.fold_px, document_height)),
    )


@dataclass(frozen=True)
class Delta:
    """One number on both sides: ``kind`` says how to read it (a count, or a share of 0..1)."""

    label: str
    a: float | None
    b: float | None
    kind: Literal["count", "share"]
    better: Literal["more", "less", "neither"]
    """Which way is good news: more reach, fewer rage and dead clicks; clicks are neither (a smaller
    segment or a shorter window has fewer)."""

    @property
    def change(self) -> float | None:
        """B - A, None when either side has no value."""
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def unchanged(self) -> bool:
        """Whether B equals A as shown: the same count, or shares within 0.05 percentage points."""
        change = self.change
        return change is not None and abs(change if self.kind == "count" else 100 * change) < 0.05


def deltas(a: Totals, b: Totals) -> list[Delta]:
    """Clicks, rage rate, dead rate, reach of half the page and past the fold, A and B."""
    return [
        Delta("Clicks", a.clicks, b.clicks, "count", "neither"),
        Delta("Rage rate", a.rage_rate, b.rage_rate, "share", "less"),
        Delta("Dead rate", a.dead_rate, b.dead_rate, "share", "less"),
        Delta(f"Reached {HALF_PAGE_PERCENT} %", a.reach_half, b.reach_half, "share", "more"),
        Delta("Past the fold", a.past_fold, b.past_fold, "share", "more"),
    ]


def describe_change(delta: Delta) -> str | None:
    """The change in words for a metric's delta: ``+120 (+12.5 %)`` for counts, ``-0.4 pts`` for
    shares (percentage points), ``no change``, or ``none in either`` when both are zero (a product
    manager read "no change" beside 0.0 % as a finding); None when a side has no value."""
    change = delta.change
    if change is None:
        return None
    if delta.a == 0 and delta.b == 0:
        return "none in either"
    if delta.unchanged:
        return "no change"
    if delta.kind == "share":
        return f"{100 * change:+.1f} pts"
    relative = f" ({100 * change / delta.a:+.1f} %)" if delta.a else ""
    return f"{change:+,.0f}{relative}"
