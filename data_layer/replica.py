"""A columnar, in-memory replica of the web events, kept fresh from SQL (the source of truth).

Reading raw rows out of SQL for every query cannot answer at the speed of thought; Polars over compact
in-memory frames can. The replica holds:

- ``runs``: compacted events in a few immutable frames, each compactly typed (categoricals for strings),
  sorted by (page_key, seq) and carrying each page's row range, so one page's summary slices its rows
  out of every run instead of scanning all;
- ``tail``: events stored since the last compaction, in arrival order.

Compaction sorts only the tail into a new run and merges small neighbouring runs (log-structured), so
no step ever copies all events at once: memory stays near the size of the data even while a 10 M-event
replica is built or compacted.

Freshness: before answering, the replica asks SQL for the newest sequence number (one indexed query) and
copies what is new: rows with ``seq`` above its mark, and the rage flags of older rows whose ``flags_rev``
says they changed since (a late click can extend an older run). Deletions (purge, forget) bump the data
generation in ``app_meta``; a replica seeing a new generation rebuilds from SQL.

Persistence: every run is written once as an Arrow IPC file next to the data, and a small JSON file lists
the runs with the mark their rage flags are current at; files are replaced atomically, so several reader
processes can share the directory. A restarted reader loads the runs and only catches up the tail (and
the flags changed since the oldest run's mark). Deleting the files loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from data_layer import metrics
from data_layer.schema import app_meta, web_events
from data_layer.store import RAGE_INPUT_COLUMNS, WEB_EVENT_SCHEMA, SqlStore, TouchFilters, WebFilters

FORMAT_VERSION = 3
FILE_PREFIX = "web_events-"  # every file a replica writes starts with it (retention deletes them)
GENERATION_KEY = "web_events_generation"
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
COMPACT_MIN_TAIL = 50_000
COMPACT_TAIL_SHARE = 0.05
RUN_ROWS = 1_000_000
"""A build from SQL turns every this many fetched rows into a run (bounding what is held unsorted)."""
MAX_RUN_ROWS = 2_000_000
"""Neighbouring runs are merged while the result stays this small: merges copy at most this much."""
MAX_RUNS = 24
_FETCH_CHUNK = 100_000
_DAILY_KEYS = ("day", "page_key", "breakpoint")
_LOAD_ATTEMPTS = 3


def bump_generation(conn: Connection) -> None:
    """Tell every replica that rows were deleted (call inside the deleting transaction)."""
    current = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == GENERATION_KEY))
    if current is None:
        conn.execute(app_meta.insert().values(key=GENERATION_KEY, value="1"))
    else:
        conn.execute(
            app_meta.update().where(app_meta.c.key == GENERATION_KEY).values(value=str(int(current) + 1))
        )


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    # Clipped so a row stored before today's validation can never make the replica fail to load.
    small = pl.col(SMALL_INTEGER_COLUMNS).clip(upper_bound=32_767)
    return frame.with_columns(small).cast(COMPACT_SCHEMA)  # type: ignore[arg-type]


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COMPACT_SCHEMA)


def _page_ranges(frame: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """page_key -> (first row, row count) of a frame whose rows of one page are contiguous."""
    if frame.is_empty():
        return {}
    runs = frame.select(pl.col("page_key").rle()).unnest("page_key")
    lengths = runs.get_column("len").to_list()
    starts = accumulate(lengths[:-1], initial=0)
    keys = runs.get_column("value").cast(pl.String).to_list()
    return {key: (start, length) for key, start, length in zip(keys, starts, lengths, strict=True)}


@dataclass(frozen=True)
class Run:
    """Compacted events sorted by (page_key, seq), with each page's row range and its click counts per
    (day, page, breakpoint), so an unfiltered pages list sums a few counts per page and day instead of
    scanning every click.

    ``file`` names the Arrow file holding it (None until written) and ``saved_mark`` the sequence number
    its rage flags were current at when written; the frame in memory is always current.
    """

    frame: pl.DataFrame
    ranges: dict[str, tuple[int, int]]
    daily: pl.DataFrame
    max_seq: int
    file: str | None = None
    saved_mark: int = 0

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Run:
        return cls.indexed(frame.sort("page_key", "seq"))

    @classmethod
    def indexed(cls, ordered: pl.DataFrame, file: str | None = None, saved_mark: int = 0) -> Run:
        """A run over ``ordered`` (already sorted by page_key, seq)."""
        daily = metrics.click_counts(ordered, keys=_DAILY_KEYS).collect()
        max_seq = int(ordered.get_column("seq").max() or 0)  # type: ignore[arg-type]
        return cls(ordered, _page_ranges(ordered), daily, max_seq, file, saved_mark)

    def patched(self, changes: pl.DataFrame) -> Run:
        """This run with the rage flags in ``changes`` (its counts follow)."""
        frame = _patch(self.frame, changes)
        if frame is self.frame:
            return self
        return replace(self, frame=frame, daily=metrics.click_counts(frame, keys=_DAILY_KEYS).collect())

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

    ``flags_mark``: the rage flags of rows up to ``last_seq`` are current as of this sequence number
    (below ``last_seq`` right after loading files written earlier).
    """

    runs: tuple[Run, ...]
    tail: pl.DataFrame
    last_seq: int
    generation: str
    flags_mark: int = 0
    # Derived values memoised per snapshot (distinct filter values); never part of its identity.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def frames(self) -> list[pl.DataFrame]:
        return [run.frame for run in self.runs] + [self.tail]

    @property
    def base(self) -> pl.DataFrame:
        """Every compacted event (one frame, chunked per run: no copy)."""
        return pl.concat([run.frame for run in self.runs]) if self.runs else _empty()

    def page_frames(self, page_key: str) -> list[pl.DataFrame]:
        """One page's rows: a slice of each run holding it, and its tail rows."""
        slices = [run.frame.slice(*run.ranges[page_key]) for run in self.runs if page_key in run.ranges]
        return [*slices, self.tail.filter(pl.col("page_key") == page_key)]

    def distinct(self, column: str) -> list[str]:
        """The distinct non-null values of a string column (few: countries, regions, browsers)."""
        if column not in self.memo:
            values = pl.concat([frame.get_column(column) for frame in self.frames])
            self.memo[column] = values.unique().drop_nulls().cast(pl.String).to_list()
        return self.memo[column]


def _new_snapshot(generation: str) -> Snapshot:
    return Snapshot((), _empty(), 0, generation)


def _patch(frame: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the rage flags in ``changes`` (seq, rage, rage_start); other columns are shared."""
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


@dataclass
class ReplicaStore:
    """The store the API and the dashboard read (same interface as :class:`SqlStore`)."""

    engine: Engine
    directory: Path | None = None
    _snapshot: Snapshot = field(default_factory=lambda: _new_snapshot(""))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loaded: bool = False

    def __post_init__(self) -> None:
        self.sql = SqlStore(self.engine)
        identity = hashlib.sha256(self.engine.url.render_as_string(hide_password=True).encode()).hexdigest()
        self._identity = f"{FILE_PREFIX}{identity[:16]}"

    # -- files ---------------------------------------------------------------------------------------------

    def _meta_path(self) -> Path | None:
        return None if self.directory is None else self.directory / f"{self._identity}.json"

    def _own_run_files(self) -> list[Path]:
        return [] if self.directory is None else list(self.directory.glob(f"{self._identity}-*.arrow"))

    def _discard_files(self) -> None:
        for path in self._own_run_files():
            path.unlink(missing_ok=True)
        meta = self._meta_path()
        if meta is not None:
            meta.unlink(missing_ok=True)

    def _load_file(self, generation: str) -> Snapshot | None:
        """The runs written for ``generation``; None (rebuild from SQL) when absent, foreign or damaged.

        A writer in another process may replace the files while they are read: the listing is read
        again a few times before giving up. Files of an older generation still hold deleted rows
        (purge, forget) and are removed.
        """
        meta_path = self._meta_path()
        if meta_path is None:
            return None
        for _ in range(_LOAD_ATTEMPTS):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                return None
            if meta.get("format") != FORMAT_VERSION or meta.get("generation") != generation:
                if str(meta.get("generation", "")).isdigit() and int(meta["generation"]) < int(generation):
                    self._discard_files()
                return None
            try:
                # Reading and decompressing release the GIL: one thread per core reads the runs.
                with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                    runs = tuple(pool.map(self._read_run, meta["runs"]))
            except FileNotFoundError:
                continue  # replaced by another process since the listing was read
            except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError):
                return None
            marks = [run.saved_mark for run in runs]
            last = int(meta["last_seq"])
            return Snapshot(runs, _empty(), last, generation, min(marks, default=last))
        return None

    def _read_run(self, entry: dict[str, Any]) -> Run:
        assert self.directory is not None
        frame = pl.read_ipc(self.directory / entry["file"])
        if frame.schema != _empty().schema:
            raise ValueError("a replica file of another layout")
        return Run.indexed(frame, entry["file"], int(entry["mark"]))

    def _write_atomically(self, path: Path, write: Any) -> None:
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temp = Path(handle.name)
        try:
            write(temp)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def _saved(self, snap: Snapshot) -> Snapshot:
        """``snap`` with every run on disk and listed; files no longer listed are removed."""
        meta_path = self._meta_path()
        if meta_path is None:
            return snap
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        runs = []
        for run in snap.runs:
            if run.file is None or not (self.directory / run.file).exists():
                name = f"{self._identity}-{uuid.uuid4().hex[:12]}.arrow"
                self._write_atomically(
                    self.directory / name,
                    lambda temp, frame=run.frame: frame.write_ipc(temp, compression="zstd"),
                )
                run = replace(run, file=name, saved_mark=snap.last_seq)
            runs.append(run)
        meta = {
            "format": FORMAT_VERSION,
            "generation": snap.generation,
            "last_seq": snap.last_seq,
            "runs": [{"file": run.file, "mark": run.saved_mark} for run in runs],
        }
        self._write_atomically(meta_path, lambda temp: temp.write_text(json.dumps(meta)))
        listed = {run.file for run in runs}
        for path in self._own_run_files():
            if path.name not in listed:
                path.unlink(missing_ok=True)
        return replace(snap, runs=tuple(runs))

    # -- keeping fresh ---------------------------------------------------------------------------------

    def _rows_after(self, conn: Connection, after: int, upto: int) -> Iterator[pl.DataFrame]:
        """Compact frames of the rows with ``after < seq <= upto``, in chunks, in arrival order."""
        columns = [web_events.c[name] for name in WEB_EVENT_SCHEMA]
        start = after
        while start < upto:
            stop = min(upto, start + _FETCH_CHUNK)
            rows = conn.execute(
                select(*columns)
                .where(web_events.c.seq > start, web_events.c.seq <= stop)
                .order_by(web_events.c.seq)
            ).all()
            if rows:
                yield _compact(pl.DataFrame([tuple(r) for r in rows], schema=WEB_EVENT_SCHEMA, orient="row"))
            start = stop

    def _flag_changes(self, conn: Connection, since: int) -> pl.DataFrame:
        """(seq, rage, rage_start) of the rows whose flags changed after ``since``.

        Rows newer than the replica come along and patch nothing (they are copied whole). Bounding
        ``seq`` as well would tempt SQLite to walk the primary key over every row instead of the
        ``flags_rev`` index: seconds at 10 M events.
        """
        rows = conn.execute(
            select(web_events.c.seq, web_events.c.rage, web_events.c.rage_start).where(
                web_events.c.flags_rev > since
            )
        ).all()
        schema = {"seq": pl.Int64, "rage": pl.Boolean, "rage_start": pl.Boolean}
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    def _head(self, conn: Connection) -> tuple[int, str]:
        last = conn.scalar(select(func.coalesce(func.max(web_events.c.seq), 0)))
        generation = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == GENERATION_KEY)) or "0"
        return int(last or 0), str(generation)

    def refresh(self) -> Snapshot:
        """Catch up with SQL and return the fresh snapshot (one cheap query when nothing changed).

        Runs under the store's lock: concurrent queries wait for one catch-up instead of repeating it.
        """
        with self._lock:
            with self.engine.connect() as conn:
                last, generation = self._head(conn)
                snap = self._snapshot
                if not self._loaded or generation != snap.generation:
                    snap = self._load_file(generation) or _new_snapshot(generation)
                    self._loaded = True
                if last < snap.last_seq:  # rows vanished without a generation bump: start over
                    snap = _new_snapshot(generation)
                if last == snap.last_seq and snap.flags_mark == last:
                    self._snapshot = snap
                    return snap
                if snap.runs or snap.tail.height:
                    changes = self._flag_changes(conn, snap.flags_mark)
                    snap = replace(
                        snap,
                        runs=tuple(run.patched(changes) for run in snap.runs),
                        tail=_patch(snap.tail, changes),
                    )
                snap = self._caught_up(snap, self._rows_after(conn, snap.last_seq, last), last)
            self._snapshot = snap
            return snap

    def _caught_up(self, snap: Snapshot, chunks: Iterator[pl.DataFrame], last: int) -> Snapshot:
        """``snap`` plus the new rows; a big catch-up (a first build) is turned into runs as it goes, so
        no more than :data:`RUN_ROWS` rows are ever held unsorted."""
        runs, pending, pending_rows, compacted = snap.runs, [snap.tail], snap.tail.height, False
        for chunk in chunks:
            pending.append(chunk)
            pending_rows += chunk.height
            if pending_rows >= RUN_ROWS:
                runs, pending, pending_rows, compacted = (
                    _with_run(runs, Run.of(pl.concat(pending))),
                    [],
                    0,
                    True,
                )
        tail = pl.concat([_empty(), *pending])
        compacted_rows = sum(run.height for run in runs)
        if tail.height >= max(COMPACT_MIN_TAIL, int(compacted_rows * COMPACT_TAIL_SHARE)):
            runs, tail, compacted = _with_run(runs, Run.of(tail)), _empty(), True
        fresh = Snapshot(runs, tail, last, snap.generation, flags_mark=last)
        return self._saved(fresh) if compacted else fresh

    # -- the store interface -----------------------------------------------------------------------------

    def web_events(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),  # noqa: B008 - frozen, immutable default
        *,
        page_key: str | None = None,
        clicks_only: bool = False,
        as_of_seq: int | None = None,
        columns: list[str] | tuple[str, ...] | None = None,
    ) -> pl.DataFrame:
        """As :meth:`SqlStore.web_events`. With ``columns`` given, string columns may stay Categorical
        (metrics accept both); without, the frame has exactly :data:`WEB_EVENT_SCHEMA`."""
        snap = self.refresh()
        parts = snap.page_frames(page_key) if page_key is not None else snap.frames
        conditions = [pl.col("day").is_between(from_day, to_day)]
        if clicks_only:
            conditions.append(pl.col("event_type") == "click")
        if as_of_seq is not None:
            conditions.append(pl.col("seq") <= as_of_seq)
        conditions += self._dimension_conditions(snap, filters)
        frame = pl.concat(parts).lazy().filter(*conditions)
        if columns is not None:
            return frame.select(columns).collect()
        return frame.sort("seq").cast(WEB_EVENT_SCHEMA).collect()  # type: ignore[arg-type]

    @staticmethod
    def _dimension_conditions(snap: Snapshot, filters: WebFilters) -> list[pl.Expr]:
        """Case-insensitive exact matches, resolved against the few distinct values of each column."""
        conditions = []
        wanted_values = {"country": filters.country, "region": filters.region, "browser": filters.browser}
        for column, wanted in wanted_values.items():
            if wanted:
                matching = [v for v in snap.distinct(column) if v.lower() == wanted.lower()]
                conditions.append(pl.col(column).is_in(matching) if matching else pl.lit(False))
        return conditions

    def click_counts(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),  # noqa: B008 - frozen, immutable default
        *,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`SqlStore.click_counts`: from the runs' daily counts where they answer exactly (no
        dimension filter, no event of the run after ``as_of_seq``), from the events elsewhere."""
        snap = self.refresh()
        dimensions = self._dimension_conditions(snap, filters)
        in_window = pl.col("day").is_between(from_day, to_day)
        counted, scanned = [], [snap.tail]
        for run in snap.runs:
            if not dimensions and (as_of_seq is None or run.max_seq <= as_of_seq):
                counted.append(run.daily.lazy().filter(in_window).drop("day"))
            else:
                scanned.append(run.frame)
        conditions = [in_window, *dimensions]
        if as_of_seq is not None:
            conditions.append(pl.col("seq") <= as_of_seq)
        events = pl.concat(scanned).lazy().filter(*conditions)
        return pl.concat([*counted, metrics.click_counts(events)]).collect()

    def last_seq(self) -> int:
        return self.refresh().last_seq

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """As :meth:`SqlStore.clicks_before_late_sessions`; nothing to scan while no event came later."""
        snap = self.refresh()
        schema = {name: WEB_EVENT_SCHEMA[name] for name in RAGE_INPUT_COLUMNS}
        if as_of_seq >= snap.last_seq:
            return pl.DataFrame(schema=schema)
        events = pl.concat(snap.frames).lazy().filter(pl.col("event_type") == "click")
        late = events.filter(pl.col("seq") > as_of_seq).select("session_id").unique().collect()
        return (
            events.filter(
                pl.col("seq") <= as_of_seq, pl.col("session_id").is_in(late["session_id"].implode())
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

    def touch_events(self, filters: TouchFilters) -> pl.DataFrame:
        return self.sql.touch_events(filters)
