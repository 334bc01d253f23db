"""A columnar, in-memory replica of the web events, kept fresh from SQL (the source of truth).

Reading raw rows out of SQL for every query cannot answer at the speed of thought; Polars over a compact
in-memory frame can. The replica holds:

- ``base``: compacted events, compactly typed (categoricals for strings), sorted by (page_key, seq),
  with each page's row range, so one page's summary slices its rows instead of scanning all;
- ``tail``: events stored since the last compaction, in arrival order.

Freshness: before answering, the replica asks SQL for the newest sequence number (one indexed query) and
copies what is new: rows with ``seq`` above its mark, and the rage flags of older rows whose ``flags_rev``
says they changed since (a late click can extend an older run). Deletions (purge, forget) bump the data
generation in ``app_meta``; a replica seeing a new generation rebuilds from SQL.

Persistence: after a compaction the base is written as an Arrow IPC file next to the data (atomically, so
several reader processes can share the directory); a restarted reader loads it and only catches up the
tail. Deleting the files loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from data_layer.schema import app_meta, web_events
from data_layer.store import RAGE_INPUT_COLUMNS, WEB_EVENT_SCHEMA, SqlStore, TouchFilters, WebFilters

FORMAT_VERSION = 1
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
COMPACT_SCHEMA: dict[str, Any] = {
    name: (pl.Categorical if name in CATEGORICAL_COLUMNS else dtype)
    for name, dtype in WEB_EVENT_SCHEMA.items()
}
COMPACT_MIN_TAIL = 50_000
COMPACT_TAIL_SHARE = 0.05
_FETCH_CHUNK = 200_000
_SESSION_CHUNK = 500


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
    return frame.cast(COMPACT_SCHEMA)  # type: ignore[arg-type]


def _page_ranges(base: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """page_key -> (first row, row count) of a frame sorted by page_key."""
    if base.is_empty():
        return {}
    runs = (
        base.select(pl.col("page_key").cast(pl.String))
        .with_row_index("row")
        .group_by("page_key")
        .agg(pl.col("row").min().alias("start"), pl.len().alias("length"))
    )
    return {key: (int(start), int(length)) for key, start, length in runs.iter_rows()}


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the replica; queries read one without holding any lock."""

    base: pl.DataFrame
    ranges: dict[str, tuple[int, int]]
    tail: pl.DataFrame
    last_seq: int
    generation: str
    # Derived values memoised per snapshot (distinct filter values); never part of its identity.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def distinct(self, column: str) -> list[str]:
        """The distinct non-null values of a string column (few: countries, regions, browsers)."""
        if column not in self.memo:
            values = pl.concat([self.base.get_column(column), self.tail.get_column(column)])
            self.memo[column] = values.unique().drop_nulls().cast(pl.String).to_list()
        return self.memo[column]


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COMPACT_SCHEMA)


@dataclass
class ReplicaStore:
    """The store the API and the dashboard read (same interface as :class:`SqlStore`)."""

    engine: Engine
    directory: Path | None = None
    _snapshot: Snapshot = field(default_factory=lambda: Snapshot(_empty(), {}, _empty(), 0, ""))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loaded: bool = False

    def __post_init__(self) -> None:
        self.sql = SqlStore(self.engine)

    # -- keeping fresh ---------------------------------------------------------------------------------

    def _file(self) -> Path | None:
        if self.directory is None:
            return None
        identity = hashlib.sha256(self.engine.url.render_as_string(hide_password=True).encode()).hexdigest()
        return self.directory / f"{FILE_PREFIX}{identity[:16]}.arrow"

    def _load_file(self, generation: str) -> Snapshot | None:
        path = self._file()
        if path is None or not path.exists():
            return None
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            if meta.get("format") != FORMAT_VERSION or meta.get("generation") != generation:
                return None
            base = pl.read_ipc(path)
            if base.schema != _empty().schema:
                return None
        except (OSError, ValueError, pl.exceptions.PolarsError):
            return None  # a damaged or foreign file: rebuild from SQL
        return Snapshot(base, _page_ranges(base), _empty(), int(meta["last_seq"]), generation)

    def _save_file(self, snapshot: Snapshot) -> None:
        path = self._file()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temp = Path(handle.name)
        try:
            snapshot.base.write_ipc(temp, compression="lz4")
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        meta = {"format": FORMAT_VERSION, "generation": snapshot.generation, "last_seq": snapshot.last_seq}
        meta_temp = path.with_suffix(".json.tmp")
        meta_temp.write_text(json.dumps(meta))
        os.replace(meta_temp, path.with_suffix(".json"))

    def _rows_after(self, conn: Connection, after: int, upto: int) -> pl.DataFrame:
        columns = [web_events.c[name] for name in WEB_EVENT_SCHEMA]
        parts = [_empty()]
        start = after
        while start < upto:
            stop = min(upto, start + _FETCH_CHUNK)
            rows = conn.execute(
                select(*columns)
                .where(web_events.c.seq > start, web_events.c.seq <= stop)
                .order_by(web_events.c.seq)
            ).all()
            if rows:
                parts.append(
                    _compact(pl.DataFrame([tuple(r) for r in rows], schema=WEB_EVENT_SCHEMA, orient="row"))
                )
            start = stop
        return pl.concat(parts)

    def _flag_changes(self, conn: Connection, mark: int) -> pl.DataFrame:
        """(seq, rage, rage_start) of rows at or below ``mark`` whose flags changed after it."""
        rows = conn.execute(
            select(web_events.c.seq, web_events.c.rage, web_events.c.rage_start).where(
                web_events.c.flags_rev > mark, web_events.c.seq <= mark
            )
        ).all()
        schema = {"seq": pl.Int64, "rage": pl.Boolean, "rage_start": pl.Boolean}
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    @staticmethod
    def _patch(frame: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
        if changes.is_empty() or frame.is_empty():
            return frame
        hit = frame.select(pl.col("seq").is_in(changes["seq"].implode()).any()).item()
        if not hit:
            return frame
        return frame.update(changes, on="seq", how="left")

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
                    snap = self._load_file(generation) or Snapshot(_empty(), {}, _empty(), 0, generation)
                    self._loaded = True
                if last < snap.last_seq:  # rows vanished without a generation bump: start over
                    snap = Snapshot(_empty(), {}, _empty(), 0, generation)
                if last == snap.last_seq:
                    self._snapshot = snap
                    return snap
                mark = snap.last_seq
                new_rows = self._rows_after(conn, mark, last)
                changes = self._flag_changes(conn, mark) if mark else None
            base, tail = snap.base, snap.tail
            if changes is not None and not changes.is_empty():
                base, tail = self._patch(base, changes), self._patch(tail, changes)
            fresh = Snapshot(base, snap.ranges, pl.concat([tail, new_rows]), last, generation)
            if fresh.tail.height >= max(COMPACT_MIN_TAIL, int(base.height * COMPACT_TAIL_SHARE)):
                fresh = self._compacted(fresh)
            self._snapshot = fresh
            return fresh

    def _compacted(self, snap: Snapshot) -> Snapshot:
        base = pl.concat([snap.base, snap.tail]).sort(["page_key", "seq"])
        compacted = Snapshot(base, _page_ranges(base), _empty(), snap.last_seq, snap.generation)
        self._save_file(compacted)
        return compacted

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
        if page_key is not None:
            start, length = snap.ranges.get(page_key, (0, 0))
            parts = [snap.base.slice(start, length), snap.tail.filter(pl.col("page_key") == page_key)]
        else:
            parts = [snap.base, snap.tail]
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

    def last_seq(self) -> int:
        return self.refresh().last_seq

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """As :meth:`SqlStore.clicks_before_late_sessions`; nothing to scan while no event came later."""
        snap = self.refresh()
        schema = {name: WEB_EVENT_SCHEMA[name] for name in RAGE_INPUT_COLUMNS}
        if as_of_seq >= snap.last_seq:
            return pl.DataFrame(schema=schema)
        events = pl.concat([snap.base, snap.tail]).lazy().filter(pl.col("event_type") == "click")
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
        if page_key in snap.ranges:
            return True
        return (
            bool(snap.tail.select((pl.col("page_key") == page_key).any()).item())
            if snap.tail.height
            else False
        )

    def touch_events(self, filters: TouchFilters) -> pl.DataFrame:
        return self.sql.touch_events(filters)
