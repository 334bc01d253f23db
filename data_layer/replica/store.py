""":class:`ReplicaStore`: the store the API and the dashboard read, answering from the replica.

Each query first refreshes (one cheap SQL look-up when nothing changed), then answers from an immutable
:class:`~data_layer.replica.runs.Snapshot` without holding any lock.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from data_layer import metrics, page_reads, rage, segments, sessions
from data_layer.filters import TouchFilters, WebFilters, Window
from data_layer.replica import catchup
from data_layer.replica.files import RunFiles
from data_layer.replica.runs import Snapshot
from data_layer.store import WEB_EVENT_SCHEMA, SqlStore


@dataclass
class ReplicaStore(page_reads.FromEvents):
    """The store the API and the dashboard read (same interface as :class:`SqlStore`).

    ``directory``: where the replica's files go (shared by reader processes); None keeps it in memory
    only, so every new store builds it from SQL.
    """

    engine: Engine
    directory: Path | None = None
    _snapshot: Snapshot = field(default_factory=lambda: Snapshot.start(""))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loaded: bool = False

    def __post_init__(self) -> None:
        self.sql = SqlStore(self.engine)
        self.files = None if self.directory is None else RunFiles.of(self.directory, self.engine.url)

    def refresh(self) -> Snapshot:
        """Catch up with SQL and return the fresh snapshot (one cheap query when nothing changed).

        Runs under the store's lock: concurrent queries wait for one catch-up instead of repeating it.
        """
        with self._lock:
            with self.engine.connect() as conn:
                last, generation = catchup.head(conn)
                snap = self._snapshot
                if not self._loaded or generation != snap.generation:
                    loaded = None if self.files is None else self.files.load(generation)
                    snap = loaded or Snapshot.start(generation)
                    self._loaded = True
                if last < snap.last_seq:  # rows vanished without a generation bump: start over
                    snap = Snapshot.start(generation)
                if last == snap.last_seq and snap.flags_mark == last:
                    self._snapshot = snap
                    return snap
                if snap.runs or snap.tail.height:  # an empty replica has no flags to update
                    snap = snap.with_flags(catchup.flag_changes(conn, snap.flags_mark))
                snap = snap.caught_up(catchup.rows_after(conn, snap.last_seq, last), last)
                if self.files is not None and snap.unsaved:
                    snap = self.files.save(snap)
            self._snapshot = snap
            return snap

    def web_events(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),
        *,
        page_keys: Sequence[str] | None = None,
        clicks_only: bool = False,
        as_of_seq: int | None = None,
        columns: list[str] | tuple[str, ...] | None = None,
        clicked_after: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`SqlStore.web_events`. With ``columns`` given, string columns may stay Categorical
        (metrics accept both); without, the frame has exactly :data:`WEB_EVENT_SCHEMA`."""
        snap = self.refresh()
        parts = snap.page_frames(page_keys)[0] if page_keys is not None else _lazy(snap.frames)
        conditions = [pl.col("day").is_between(from_day, to_day)]
        if clicks_only:
            conditions.append(pl.col("event_type") == "click")
        if as_of_seq is not None:
            conditions.append(pl.col("seq") <= as_of_seq)
        if clicked_after is not None:
            conditions.append(pl.col("session_id").is_in(_clicked_after(snap, clicked_after).implode()))
        frame = _matching(snap, parts, conditions, filters)
        if columns is not None:
            return frame.select(columns).collect()
        return frame.sort("seq").cast(WEB_EVENT_SCHEMA).collect()  # type: ignore[arg-type]

    def page_events(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, columns: Sequence[str]
    ) -> pl.LazyFrame:
        """As :meth:`SqlStore.page_events`, over the pages' slices of the snapshot, never copied whole;
        rows scattered over a run (pages interleaved with others) are copied once, the wanted columns
        only, rather than masked again by each of the reader's passes."""
        snap = self.refresh()
        in_window = pl.col("day").is_between(window.from_day, window.to_day)
        parts, scattered = snap.page_frames(page_keys)
        events = _matching(snap, parts, [in_window], filters).select(columns)
        return events.collect().lazy() if scattered else events

    def distinct_values(self, from_day: date, to_day: date, columns: Sequence[str]) -> pl.DataFrame:
        """As :meth:`SqlStore.distinct_values`, made unique while the strings are categorical codes."""
        return self.web_events(from_day, to_day, columns=list(columns)).unique()

    def page_keys(self) -> pl.Series:
        """As :meth:`SqlStore.page_keys`: the runs' page ranges and the tail's keys, no scan of a run."""
        return self.refresh().page_keys()

    def session_page(
        self,
        query: sessions.SessionQuery,
        *,
        recorded: Collection[str] = (),
        offset: int,
        limit: int,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`SqlStore.session_page`, over the snapshot's frames without copying them first."""
        snap = self.refresh()
        conditions = [pl.col("day").is_between(query.window.from_day, query.window.to_day)]
        if as_of_seq is not None:
            conditions.append(pl.col("seq") <= as_of_seq)
        events = _matching(snap, _lazy(snap.frames), conditions, query.filters).select(sessions.EVENT_COLUMNS)
        return sessions.session_page(events, query, recorded=recorded, offset=offset, limit=limit)

    def click_counts(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),
        *,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`SqlStore.click_counts`: from the runs' daily counts where they answer exactly (no
        country, region or browser filter, no event of the run after ``as_of_seq``; a segment filter
        reads the counts kept per segment key), summed in one pass; from the events elsewhere."""
        snap = self.refresh()
        values = _value_conditions(snap, filters)
        segment = _segment_condition(snap, filters)
        in_window = pl.col("day").is_between(from_day, to_day)
        counted, scanned = [], [snap.tail]
        for run in snap.runs:
            if values or (as_of_seq is not None and run.max_seq > as_of_seq):
                scanned.append(run.frame)
            else:
                counted.append((run.daily if segment is None else run.segment_daily).lazy())
        conditions = [in_window, *values, *([] if segment is None else [segment])]
        parts = []
        if counted:
            per_page = pl.concat(counted).filter(*conditions).group_by("page_key", "breakpoint")
            parts.append(per_page.agg(pl.col(metrics.COUNT_COLUMNS).cast(pl.Int64).sum()))
        if as_of_seq is not None:
            conditions.append(pl.col("seq") <= as_of_seq)
        parts.append(metrics.click_counts(pl.concat(scanned).lazy().filter(*conditions)))
        return pl.concat(parts).collect()

    def last_seq(self) -> int:
        return self.refresh().last_seq

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """As :meth:`SqlStore.clicks_before_late_sessions`; nothing to scan while no event came later."""
        snap = self.refresh()
        schema = {name: WEB_EVENT_SCHEMA[name] for name in rage.INPUT_COLUMNS}
        if as_of_seq >= snap.last_seq:
            return pl.DataFrame(schema=schema)
        late = _clicked_after(snap, as_of_seq)
        return (
            pl.concat(snap.frames)
            .lazy()
            .filter(
                pl.col("event_type") == "click",
                pl.col("seq") <= as_of_seq,
                pl.col("session_id").is_in(late.implode()),
            )
            .select(list(schema))
            .cast(schema)
            .collect()
        )

    def page_exists(self, page_key: str) -> bool:
        snap = self.refresh()
        if any(page_key in run.ranges for run in snap.runs):
            return True
        return bool(snap.tail.height) and bool(
            snap.tail.select((pl.col("page_key") == page_key).any()).item()
        )

    def touch_cells(self, filters: TouchFilters, *, by_user: bool) -> pl.DataFrame:
        """As :meth:`SqlStore.touch_cells`: touch events are not replicated, a covering index answers
        them in SQL."""
        return self.sql.touch_cells(filters, by_user=by_user)

    def day_range(self, kind: str) -> tuple[date, date] | None:
        """As :meth:`SqlStore.day_range`: one index look-up at each end."""
        return self.sql.day_range(kind)

    def session_events(self, session_id: str, day: date, visitor_id: str | None) -> pl.DataFrame:
        """As :meth:`SqlStore.session_events`: a few rows through an index, the newest included."""
        return self.sql.session_events(session_id, day, visitor_id)

    def touch_screen_counts(self) -> dict[str, int]:
        return self.sql.touch_screen_counts()

    def touch_campaigns(self, screen_name: str) -> list[str]:
        return self.sql.touch_campaigns(screen_name)


def _clicked_after(snap: Snapshot, seq: int) -> pl.Series:
    """The sessions with a click after ``seq``: only the tail and the runs holding later events are
    looked at."""
    later = [run.frame for run in snap.runs if run.max_seq > seq]
    clicks = pl.concat([*later, snap.tail]).lazy().filter(pl.col("event_type") == "click")
    clicked = clicks.filter(pl.col("seq") > seq)
    return clicked.select(pl.col("session_id").unique()).collect().get_column("session_id")


def _lazy(frames: list[pl.DataFrame]) -> list[pl.LazyFrame]:
    """``frames`` as one lazy frame over their chunks (no copy): a lazy union of several inputs costs a
    query more."""
    return [pl.concat(frames).lazy()]


def _matching(
    snap: Snapshot, parts: list[pl.LazyFrame], conditions: list[pl.Expr], filters: WebFilters
) -> pl.LazyFrame:
    """The events of ``parts`` (frames of ``snap``) meeting ``conditions`` and ``filters``, lazily."""
    return pl.concat(parts).filter(*conditions, *_dimension_conditions(snap, filters))


def _dimension_conditions(snap: Snapshot, filters: WebFilters) -> list[pl.Expr]:
    """Every condition of ``filters`` on an event's dimensions: its values and its segment."""
    segment = _segment_condition(snap, filters)
    return [*_value_conditions(snap, filters), *([] if segment is None else [segment])]


def _value_conditions(snap: Snapshot, filters: WebFilters) -> list[pl.Expr]:
    """Case-insensitive exact matches, resolved against the few distinct values of each column."""
    conditions = []
    wanted_values = {"country": filters.country, "region": filters.region, "browser": filters.browser}
    for column, wanted in wanted_values.items():
        if wanted:
            matching = [v for v in snap.distinct(column) if v.lower() == wanted.lower()]
            conditions.append(pl.col(column).is_in(matching) if matching else pl.lit(False))
    return conditions


def _segment_condition(snap: Snapshot, filters: WebFilters) -> pl.Expr | None:
    """The segment filters as one condition on the segment key, or None without any. The matching keys
    (a data set holds tens of thousands: one per session's landing and tags) take tens of ms to find,
    and a dashboard asks the same filters again and again: they are memoised per snapshot, as their
    categorical codes, which compare several times faster than the strings."""
    if not segments.has_segment_filter(filters):
        return None
    memo_key = f"segment:{sorted(filters.digest_values().items())}"
    if memo_key not in snap.memo:
        keys = segments.matching_keys(pl.Series(snap.distinct("segment"), dtype=pl.String), filters)
        snap.memo[memo_key] = keys.cast(pl.Categorical).to_physical()
    codes = snap.memo[memo_key]
    return pl.col("segment").to_physical().is_in(codes.implode()) if codes.len() else pl.lit(False)
