"""Moving events from SQL (where ingestion keeps its promises) to ClickHouse, exactly once.

Ingestion is unchanged: validated, idempotent, rage flags derived in SQL. The shipper copies rows by
sequence number in large blocks, as the replica does (:mod:`data_layer.replica.catchup`), and keeps its
rules:

- **Progress after the acknowledgement.** ``clickhouse_shipping`` records how far ClickHouse holds the
  rows, written only after ClickHouse acknowledged the insert (``insert_distributed_sync``: every shard
  has its rows). After a crash (or any failed insert) the one uncertain block is checked before
  anything else is sent: ClickHouse's rows above the mark are counted against SQL's; equal, the mark
  moves up; otherwise they are deleted on every shard and sent again. Nothing lost, nothing doubled.
- **Rage flags change after insert.** A later click can extend an older run: ingestion stamps the
  changed rows with ``flags_rev`` (a sequence number), and the shipper sends the flags changed since
  its mark to ``web_flags``, whose newest ``version`` wins at read time.
- **Deletions bump the data generation.** Purge and forget delete in SQL, then on every shard
  (:mod:`data_layer.clickhouse.erasure`); the flags they recomputed carry a revision that need not be
  above the shipper's mark, so on a new generation every flag ever changed is sent again, versioned
  with the generation so it wins over the older ones. A block read while a deletion committed may hold
  rows it deleted: it is deleted again from ClickHouse and sent anew.

Touch events never change after insert: the same path without flags.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Select, and_, func, insert, select, update

from data_layer import deletions, sqlite_arrow
from data_layer.clickhouse import erasure, rollup
from data_layer.clickhouse.tables import FLAGS, TOUCH, WEB, Table, write_name
from data_layer.clickhouse.target import ClickHouseTarget, answering
from data_layer.db import SQLITE_BUSY_TIMEOUT_MS, write_transaction
from data_layer.schema import clickhouse_shipping, touch_events, web_events
from data_layer.store import web_column

log = logging.getLogger(__name__)

BLOCK_ROWS = 200_000
"""Rows per insert: ClickHouse wants few large inserts (each makes a part on every shard)."""
VERSION_GENERATION_SHIFT = 40
"""A flag version is ``generation << 40 | flags_rev``: a newer generation wins, then a newer revision."""
WEB_DAY_AT, WEB_SEQ_AT = list(WEB.columns).index("day"), list(WEB.columns).index("seq")
INSERT_SETTINGS = {"insert_distributed_sync": 1}
"""Acknowledged only once every shard has its rows: the progress written after it is true."""


@dataclass(frozen=True)
class Progress:
    shipped_seq: int = 0
    flags_mark: int = 0
    generation: str | None = None


@dataclass(frozen=True)
class Stream:
    """One shipped table: SQL's, ClickHouse's, and the columns copied."""

    name: str
    sql_table: Any
    table: Table

    def select_columns(self) -> list[Any]:
        """SQL expressions of the ClickHouse columns (``ts`` for ``ts_us``, the store's keys)."""
        columns = []
        for name in self.table.columns:
            if name == "ts_us":
                columns.append(self.sql_table.c.ts)
            elif self.sql_table is web_events and name in ("segment", "rect"):
                columns.append(web_column(name))
            else:
                columns.append(self.sql_table.c[name])
        return columns


WEB_STREAM = Stream("web", web_events, WEB)
TOUCH_STREAM = Stream("touch", touch_events, TOUCH)
STREAMS = (WEB_STREAM, TOUCH_STREAM)


def read_progress(conn: Connection, stream: str) -> Progress:
    row = conn.execute(
        select(
            clickhouse_shipping.c.shipped_seq,
            clickhouse_shipping.c.flags_mark,
            clickhouse_shipping.c.generation,
        ).where(clickhouse_shipping.c.stream == stream)
    ).first()
    return Progress() if row is None else Progress(int(row[0]), int(row[1]), str(row[2]))


def write_progress(
    engine: Engine, stream: str, progress: Progress, days: Mapping[date, int] | None = None
) -> None:
    """The stream's progress and, for web events, the newest sequence number shipped of each of
    ``days`` (:func:`data_layer.clickhouse.rollup.record_shipped`), in one transaction."""
    values = {
        "shipped_seq": progress.shipped_seq,
        "flags_mark": progress.flags_mark,
        "generation": progress.generation or "0",
    }
    with write_transaction(engine) as conn:
        done = conn.execute(
            update(clickhouse_shipping).where(clickhouse_shipping.c.stream == stream).values(**values)
        ).rowcount
        if not done:
            conn.execute(insert(clickhouse_shipping).values(stream=stream, **values))
        if days:
            rollup.record_shipped(conn, days, datetime.now(UTC).replace(tzinfo=None))


def _driver_columns(columns: Sequence[Sequence[Any] | pl.Series], stream: Stream) -> list[Sequence[Any]]:
    """A block's columns (ClickHouse column order) as the driver's columnar insert wants them. Times
    become microseconds since 1970 and days dates, a column at a time by Polars: SQLite holds both as
    ISO text (read as it is: a SQLAlchemy processor costs a Python call per value), PostgreSQL hands
    over datetimes and dates. The rest go as read (Booleans are 0/1 to ClickHouse's driver)."""
    converted: list[Sequence[Any]] = []
    for name, values in zip(stream.table.columns, columns, strict=True):
        series = values if isinstance(values, pl.Series) else None
        if name == "ts_us":
            series = pl.Series(values)
            if series.dtype == pl.String:  # datetime.isoformat(" "): a fraction only when not zero
                series = series.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
            series = series.cast(pl.Datetime("us")).dt.epoch("us")
        elif name == "day":
            series = pl.Series(values)
            if series.dtype == pl.String:
                series = series.str.to_date("%Y-%m-%d")
        converted.append(values if series is None else series.to_list())
    return converted


class Shipper:
    """Ships the SQL events of ``engine`` to ``target``; one at a time per database (callers hold the
    ``clickhouse-shipper`` lease). Every method raises :class:`~data_layer.errors.Unavailable` while
    ClickHouse cannot be written, and picks up exactly where it was once it can."""

    LEASE = "clickhouse-shipper"

    def __init__(
        self,
        engine: Engine,
        target: ClickHouseTarget,
        block_rows: int = BLOCK_ROWS,
        rollup_quiet_s: float = rollup.QUIET_S,
    ) -> None:
        self.engine = engine
        self.target = target
        self.block_rows = block_rows
        self.roller = rollup.Roller(engine, target, rollup_quiet_s)
        self._checked: set[str] = set()
        self._client: Any = None
        path = sqlite_arrow.sqlite_file(engine)
        self._reader = None if path is None else sqlite_arrow.SqliteReader(path, SQLITE_BUSY_TIMEOUT_MS)

    def _ch(self) -> Any:
        if self._client is None:
            self._client = self.target.client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client = None
        if self._reader is not None:
            self._reader.close()

    def ship(self, progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Everything stored in SQL now, to ClickHouse; returns rows sent per stream. ``progress`` is
        called with each block's row count (a progress bar)."""
        sent = {}
        for stream in STREAMS:
            try:
                with answering(self.target):
                    if stream.name not in self._checked:
                        self.check_uncertain(stream)
                        self._checked.add(stream.name)
                    sent[stream.name] = self._ship_stream(stream, progress)
            except Exception:
                self._checked.discard(stream.name)  # an insert may have reached ClickHouse
                self.close()
                raise
        with self.engine.connect() as conn:
            done, generation = read_progress(conn, WEB_STREAM.name), deletions.generation(conn)
        if done.generation == generation:  # else a deletion came meanwhile: it is handled next round
            held = None if progress is None else lambda: progress(0)
            self.roller.roll(done.shipped_seq, generation, still_held=held)
        return sent

    def lag(self) -> dict[str, int]:
        """Per stream: SQL's newest sequence number minus the shipped one."""
        with self.engine.connect() as conn:
            return {
                stream.name: max(
                    0, self._sql_last(conn, stream) - read_progress(conn, stream.name).shipped_seq
                )
                for stream in STREAMS
            }

    @staticmethod
    def _sql_last(conn: Connection, stream: Stream) -> int:
        return int(conn.scalar(select(func.coalesce(func.max(stream.sql_table.c.seq), 0))) or 0)

    def _ch_count(self, stream: Stream, after: int, upto: int | None = None) -> tuple[int, int]:
        """(rows, newest seq) ClickHouse holds with ``after < seq <= upto``."""
        bound = "" if upto is None else f" AND seq <= {int(upto)}"
        [(count, newest)] = self._ch().execute(
            f"SELECT count(), max(seq) FROM {write_name(self.target, stream.table)} "
            f"WHERE seq > {int(after)}{bound}"
        )
        return int(count), int(newest or 0)

    def check_uncertain(self, stream: Stream) -> None:
        """Settle the block that may have reached ClickHouse without its progress being written: keep it
        when ClickHouse holds exactly SQL's rows of its range, else delete it on every shard."""
        with self.engine.connect() as conn:
            done = read_progress(conn, stream.name)
        count, newest = self._ch_count(stream, done.shipped_seq)
        if not count:
            return
        with self.engine.connect() as conn:
            expected = conn.scalar(
                select(func.count()).where(
                    stream.sql_table.c.seq > done.shipped_seq, stream.sql_table.c.seq <= newest
                )
            )
        if count == expected:
            log.info("ClickHouse holds the %s block up to seq %d: marking it shipped", stream.name, newest)
            days = self._days(stream, done.shipped_seq, newest)
            write_progress(self.engine, stream.name, Progress(newest, done.flags_mark, done.generation), days)
        else:
            log.warning("ClickHouse holds %d of %d %s rows above seq %d: sending them again",
                        count, expected, stream.name, done.shipped_seq)  # fmt: skip
            erasure.delete_where(self.target, stream.table, f"seq > {int(done.shipped_seq)}")

    def _ship_stream(self, stream: Stream, progress: Callable[[int], None] | None) -> int:
        with self.engine.connect() as conn:
            done = read_progress(conn, stream.name)
            last, generation = self._sql_last(conn, stream), deletions.generation(conn)
        renumbers = self.engine.dialect.name == "sqlite"  # PostgreSQL's sequence never goes back
        if renumbers and done.generation not in (None, generation) and last < done.shipped_seq:
            # A deletion took the newest rows: SQLite will number new rows from ``last`` on again. (On
            # PostgreSQL the newest rows may also be cut by the SQL tail, and they are still wanted.)
            erasure.delete_where(self.target, stream.table, f"seq > {int(last)}")
            done = Progress(last, min(done.flags_mark, last), done.generation)
            write_progress(self.engine, stream.name, done)
        if stream is WEB_STREAM and done.shipped_seq:
            if not self._ship_flags(done, generation):
                return 0  # a deletion committed meanwhile: start over next time
        elif done.generation != generation:
            write_progress(self.engine, stream.name, Progress(done.shipped_seq, done.flags_mark, generation))
        shipped, sent = done.shipped_seq, 0
        for stop, columns in self._blocks(stream, shipped, last):
            rows = len(columns[0])
            if rows:
                self._insert(stream.table, columns)
            with self.engine.connect() as conn:
                changed = deletions.generation(conn) != generation
            if changed:  # the block may hold rows a deletion removed in SQL after it was read
                erasure.delete_where(self.target, stream.table, f"seq > {int(shipped)}")
                return sent
            days = None
            if stream is WEB_STREAM:
                days = rollup.newest_per_day(columns[WEB_DAY_AT], columns[WEB_SEQ_AT])
            write_progress(self.engine, stream.name, Progress(stop, stop, generation), days)
            shipped, sent = stop, sent + rows
            if progress is not None:
                progress(rows)
        return sent

    def _days(self, stream: Stream, after: int, upto: int) -> dict[date, int] | None:
        """For web events: each day's newest sequence number in ``after < seq <= upto``, from SQL."""
        if stream is not WEB_STREAM:
            return None
        seq, day = web_events.c.seq, web_events.c.day
        query = select(day, func.max(seq)).where(seq > after, seq <= upto).group_by(day)
        with self.engine.connect() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    def _insert(self, table: Table, columns: list[list[Any]]) -> None:
        names = ", ".join(table.columns)
        statement = f"INSERT INTO {write_name(self.target, table)} ({names}) VALUES"
        self._ch().execute(statement, columns, columnar=True, settings=INSERT_SETTINGS)

    def _select(self, stream: Stream, after: int, upto: int) -> Select[Any]:
        seq = stream.sql_table.c.seq
        return select(*stream.select_columns()).where(seq > after, seq <= upto).order_by(seq)

    def _blocks(self, stream: Stream, after: int, last: int) -> Iterator[tuple[int, list[Sequence[Any]]]]:
        """(upper seq, columns) of each block of ``after < seq <= last``. From a SQLite file, the
        reader's child reads the next block while this one is sent (:mod:`data_layer.sqlite_arrow`);
        else the DBAPI's plain tuples (a SQLAlchemy Row per event would cost more than reading it)."""
        bounds = [(low, min(last, low + self.block_rows)) for low in range(after, last, self.block_rows)]
        if self._reader is None:
            for low, high in bounds:
                with self.engine.connect() as conn:
                    rows = conn.execute(self._select(stream, low, high)).cursor.fetchall()
                columns = list(zip(*rows, strict=True)) if rows else [() for _ in stream.table.columns]
                yield high, _driver_columns(columns, stream)
            return
        reads = iter(bounds)

        def read_next() -> Future[bytes] | None:
            if (block := next(reads, None)) is None:
                return None
            sql = self._select(stream, *block).compile(self.engine, compile_kwargs={"literal_binds": True})
            return self._reader.submit(str(sql), batch_rows=block[1] - block[0])  # type: ignore[union-attr]

        pending = read_next()
        for _, high in bounds:
            assert pending is not None
            frame = sqlite_arrow.frame_of(pending)
            pending = read_next()
            yield high, _driver_columns(frame.get_columns(), stream)

    def _ship_flags(self, done: Progress, generation: str) -> bool:
        """Send the rage flags changed since the mark (every flag ever changed on a new generation) of
        the rows already shipped; False when a deletion committed while they were read."""
        rev = web_events.c.flags_rev
        new_generation = done.generation is not None and done.generation != generation
        changed = rev.is_not(None) if new_generation else rev > done.flags_mark
        query = select(
            web_events.c.seq,
            web_events.c.session_id,
            web_events.c.day,
            web_events.c.rage,
            web_events.c.rage_start,
            rev,
        ).where(and_(changed, web_events.c.seq <= done.shipped_seq))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            if deletions.generation(conn) != generation:
                return False
        if rows:
            base = int(generation) << VERSION_GENERATION_SHIFT
            columns = [list(column) for column in zip(*rows, strict=True)]
            columns[3] = [int(flag) for flag in columns[3]]
            columns[4] = [int(flag) for flag in columns[4]]
            columns.append(columns[5])
            columns[5] = [base + int(value) for value in columns[5]]
            self._insert(FLAGS, columns)
        if rows or new_generation:
            # (day, rev): their builds are stale
            changed = rollup.newest_per_day([row[2] for row in rows], [row[5] for row in rows])
            progress = Progress(done.shipped_seq, done.shipped_seq, generation)
            write_progress(self.engine, "web", progress, changed)
        return True
