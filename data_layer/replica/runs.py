"""The replica in memory: compacted events in a few immutable runs plus a tail, and the compaction
that turns the one into the other.

Everything here is pure (frames in, frames out); reading SQL and writing files happen elsewhere.

Compaction is log-structured: it sorts only the tail into a new run and merges small neighbouring runs,
so no step ever copies all events at once and memory stays near the size of the data even while a
10 M-event replica is built or compacted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

import numpy as np
import polars as pl

from data_layer import metrics
from data_layer.store import WEB_EVENT_SCHEMA

CATEGORICAL_COLUMNS = (
    "event_type",
    "page_key",
    "breakpoint",
    "session_id",
    "visitor_id",
    "selector",
    "country",
    "region",
    "browser",
    "segment",
    "rect",
)
SMALL_INTEGER_COLUMNS = ("viewport_width", "viewport_height")
"""At most 20,000 px (ingestion validates it): two bytes are enough."""
COMPACT_SCHEMA: dict[str, Any] = {
    name: (
        pl.Categorical
        if name in CATEGORICAL_COLUMNS
        else pl.Int16
        if name in SMALL_INTEGER_COLUMNS
        else dtype
    )
    for name, dtype in WEB_EVENT_SCHEMA.items()
}
"""How the replica holds :data:`WEB_EVENT_SCHEMA`: about 97 bytes per event."""
COMPACT_MIN_TAIL = 50_000
COMPACT_TAIL_SHARE = 0.05
"""The tail becomes a run once it holds this many events and this share of the compacted ones."""
RUN_ROWS = 1_000_000
"""A build from SQL turns every this many fetched rows into a run (bounding what is held unsorted)."""
MAX_RUN_ROWS = 2_000_000
"""Neighbouring runs are merged while the result stays this small: merges copy at most this much."""
MAX_RUNS = 24
MAX_SLICES = 16
"""A run whose wanted pages lie in more row ranges than this is read through a row mask instead: a
frame of thousands of slices makes every later step slow (each slice is a chunk of its own)."""
_DAILY_KEYS = ("day", "page_key", "breakpoint")
_SEGMENT_DAILY_KEYS = (*_DAILY_KEYS, "segment")


def compact(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (:data:`WEB_EVENT_SCHEMA`) in :data:`COMPACT_SCHEMA`."""
    # Clipped so a row stored before today's validation can never make the replica fail to load.
    small = pl.col(SMALL_INTEGER_COLUMNS).clip(upper_bound=32_767)
    return frame.with_columns(small).cast(COMPACT_SCHEMA)  # type: ignore[arg-type]


def empty() -> pl.DataFrame:
    """No events, in :data:`COMPACT_SCHEMA`."""
    return pl.DataFrame(schema=COMPACT_SCHEMA)


def patch(frame: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the rage flags in ``changes`` (seq, rage, rage_start) applied as SQL stores them;
    other columns are shared, and ``frame`` itself comes back when no row of it changed."""
    if changes.is_empty() or frame.is_empty():
        return frame
    hit = frame.get_column("seq").is_in(changes.get_column("seq").implode())
    if not hit.any():
        return frame
    lookup = frame.select("seq").join(changes, on="seq", how="left", maintain_order="left")
    return frame.with_columns(
        pl.coalesce(lookup.get_column("rage"), pl.col("rage")).alias("rage"),
        pl.coalesce(lookup.get_column("rage_start"), pl.col("rage_start")).alias("rage_start"),
    )


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, length) ranges with adjoining ones joined, in row order."""
    merged: list[tuple[int, int]] = []
    for start, length in sorted(ranges):
        if merged and merged[-1][0] + merged[-1][1] == start:
            merged[-1] = (merged[-1][0], merged[-1][1] + length)
        else:
            merged.append((start, length))
    return merged


def _page_ranges(frame: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """page_key -> (first row, row count) of a frame whose rows of one page are contiguous."""
    if frame.is_empty():
        return {}
    runs = frame.select(pl.col("page_key").rle()).unnest("page_key")
    lengths = runs.get_column("len").to_list()
    starts = accumulate(lengths[:-1], initial=0)
    keys = runs.get_column("value").cast(pl.String).to_list()
    return {key: (start, length) for key, start, length in zip(keys, starts, lengths, strict=True)}


def _daily_counts(ordered: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The click counts per (day, page, breakpoint), and the same per segment key too: a segment filter
    (a campaign, a tag, returning visitors) sums the rows of its keys, a fifth as many as the clicks,
    instead of scanning every click. The first is summed from the second (counts add up). Counts are
    Int32 (a run's events are far fewer than 2**31), a third smaller than Int64; readers sum them as
    Int64."""
    by_segment = (
        metrics.click_counts(ordered, keys=_SEGMENT_DAILY_KEYS)
        .with_columns(pl.col(metrics.COUNT_COLUMNS).cast(pl.Int32))
        .collect()
    )
    daily = by_segment.group_by(_DAILY_KEYS).agg(pl.col(metrics.COUNT_COLUMNS).sum())
    return daily, by_segment


@dataclass(frozen=True)
class Run:
    """Compacted events sorted by (page_key, seq), with each page's row range and its click counts per
    (day, page, breakpoint), also per segment key, so an unfiltered or segment-filtered pages list sums
    a few counts per page and day instead of scanning every click.

    ``file`` names the Arrow file holding it (None until written) and ``saved_mark`` the sequence number
    its rage flags were current at when written; the frame in memory is always current.
    """

    frame: pl.DataFrame
    ranges: dict[str, tuple[int, int]]
    daily: pl.DataFrame
    segment_daily: pl.DataFrame
    max_seq: int
    file: str | None = None
    saved_mark: int = 0

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Run:
        """A run over ``frame`` (compacted, in any order)."""
        return cls.indexed(frame.sort("page_key", "seq"))

    @classmethod
    def indexed(cls, ordered: pl.DataFrame, file: str | None = None, saved_mark: int = 0) -> Run:
        """A run over ``ordered`` (already sorted by page_key, seq)."""
        max_seq = int(ordered.get_column("seq").max() or 0)  # type: ignore[arg-type]
        return cls(ordered, _page_ranges(ordered), *_daily_counts(ordered), max_seq, file, saved_mark)

    def patched(self, changes: pl.DataFrame) -> Run:
        """This run with the rage flags in ``changes`` (its counts follow)."""
        frame = patch(self.frame, changes)
        if frame is self.frame:
            return self
        daily, segment_daily = _daily_counts(frame)
        return replace(self, frame=frame, daily=daily, segment_daily=segment_daily)

    @property
    def height(self) -> int:
        return self.frame.height


def _with_run(runs: tuple[Run, ...], run: Run) -> tuple[Run, ...]:
    """``runs`` plus ``run``, neighbours merged while the newer is not much smaller than the older (so
    there are few runs) and a merge stays under :data:`MAX_RUN_ROWS` (so a merge copies little)."""
    merged = [*runs, run]
    while len(merged) >= 2:
        older, newer = merged[-2], merged[-1]
        fits = older.height + newer.height <= MAX_RUN_ROWS and older.height <= 2 * newer.height
        if not (fits or len(merged) > MAX_RUNS):
            break
        merged[-2:] = [Run.of(pl.concat([older.frame, newer.frame]))]
    return tuple(merged)


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the replica; queries read one without holding any lock.

    ``last_seq``: the newest event held. ``generation``: the data generation of SQL it copies (see
    :mod:`data_layer.replica.catchup`). ``flags_mark``: the rage flags of rows up to ``last_seq`` are
    current as of this sequence number (below ``last_seq`` right after loading files written earlier).
    """

    runs: tuple[Run, ...]
    tail: pl.DataFrame
    last_seq: int
    generation: str
    flags_mark: int = 0
    # Derived values memoised per snapshot (distinct filter values); never part of its identity.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def start(cls, generation: str) -> Snapshot:
        """No events yet: where a build from SQL starts."""
        return cls((), empty(), 0, generation)

    @property
    def frames(self) -> list[pl.DataFrame]:
        return [run.frame for run in self.runs] + [self.tail]

    @property
    def base(self) -> pl.DataFrame:
        """Every compacted event (one frame, chunked per run: no copy)."""
        return pl.concat([run.frame for run in self.runs]) if self.runs else empty()

    @property
    def unsaved(self) -> bool:
        """Whether a run is not written to a file yet (compaction made it)."""
        return any(run.file is None for run in self.runs)

    def page_frames(self, page_keys: Collection[str]) -> tuple[list[pl.LazyFrame], bool]:
        """Some pages' rows: slices of each run holding them, and their tail rows; and whether any run
        was read through a row mask (the rows are then scattered: a reader going over them several times
        does better to copy them once).

        A run keeps pages in key order, so the pages of a pattern over a common prefix sit side by side:
        their ranges are merged into as few slices as possible (a group of thousands of pages is then a
        handful of slices rather than thousands of tiny frames). Pages interleaved with others (``/p/****``
        among ``/p/1``, ``/p/10``, ...) leave many ranges: such a run is filtered by a mask of its rows.
        """
        slices, masked = [], []
        for run in self.runs:
            ranges = _merged([run.ranges[key] for key in page_keys if key in run.ranges])
            if len(ranges) <= MAX_SLICES:
                slices.extend(run.frame.slice(start, length) for start, length in ranges)
                continue
            mask = np.zeros(run.height, dtype=bool)
            for start, length in ranges:
                mask[start : start + length] = True
            masked.append(run.frame.lazy().filter(pl.Series(mask)))
        wanted = pl.Series(list(page_keys), dtype=pl.String)
        slices.append(self.tail.filter(pl.col("page_key").cast(pl.String).is_in(wanted.implode())))
        # The slices as one frame (its chunks, no copy): a lazy union of many inputs costs each query more.
        return [pl.concat(slices).lazy(), *masked], bool(masked)

    def page_keys(self) -> pl.Series:
        """Every pageKey held (String, distinct)."""
        if "page_keys" not in self.memo:
            held = {key for run in self.runs for key in run.ranges}
            tail = self.tail.get_column("page_key").unique().drop_nulls().cast(pl.String).to_list()
            self.memo["page_keys"] = pl.Series("page_key", sorted(held.union(tail)), dtype=pl.String)
        return self.memo["page_keys"]

    def distinct(self, column: str) -> list[str]:
        """The distinct non-null values of a string column (few: countries, regions, browsers)."""
        if column not in self.memo:
            values = pl.concat([frame.get_column(column) for frame in self.frames])
            self.memo[column] = values.unique().drop_nulls().cast(pl.String).to_list()
        return self.memo[column]

    def with_flags(self, changes: pl.DataFrame) -> Snapshot:
        """This snapshot with the rage flags in ``changes`` (seq, rage, rage_start) applied to every run
        and the tail (a late click can change the flags of an older run's clicks)."""
        runs = tuple(run.patched(changes) for run in self.runs)
        return replace(self, runs=runs, tail=patch(self.tail, changes))

    def caught_up(self, chunks: Iterable[pl.DataFrame], last: int) -> Snapshot:
        """This snapshot plus the new rows in ``chunks`` (compacted, in arrival order), which end at
        ``last``; flags are then current as of ``last``.

        A big catch-up (a first build) is turned into runs as it goes, so no more than :data:`RUN_ROWS`
        rows are ever held unsorted; the tail becomes a run once it is large enough.
        """
        runs, pending, pending_rows = self.runs, [self.tail], self.tail.height
        for chunk in chunks:
            pending.append(chunk)
            pending_rows += chunk.height
            if pending_rows >= RUN_ROWS:
                runs, pending, pending_rows = _with_run(runs, Run.of(pl.concat(pending))), [], 0
        tail = pl.concat([empty(), *pending])
        compacted_rows = sum(run.height for run in runs)
        if tail.height >= max(COMPACT_MIN_TAIL, int(compacted_rows * COMPACT_TAIL_SHARE)):
            runs, tail = _with_run(runs, Run.of(tail)), empty()
        return Snapshot(runs, tail, last, self.generation, flags_mark=last)
