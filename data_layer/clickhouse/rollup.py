"""The daily rollup of the pages list and the page summaries: per day, page and breakpoint, the clicks
counted once.

The unfiltered pages list counts every click of its window (4 s at 100 M events on two shards), yet a
day's counts change only while its events arrive. So the shipper counts each quiet day once into
``web_daily`` (a *build*: each shard counts its own events, every row carrying the build's number), and
the list sums a row per page and day instead of scanning the day's clicks. The same build counts by
country, region and browser too into ``web_daily_dimensions``, which answers lists filtered by them
(segment filters scan: a day holds tens of thousands of segment keys). And it counts what a page's
summary needs (a summary of the top page at 100 M events scanned 10 M events and ranked 2 M sessions:
5 s): its click and rage bins (``web_daily_bins``), its dead clicks per bin and selector
(``web_daily_dead``), and a row per session (``web_daily_sessions``: its ranking keys, first event and
deepest scroll, which add up exactly across a session's days), each split by whether the click was on
a fixed element, so the view that hides those reads them too. An unfiltered summary reads them for
its built days. Keeping it exact:

- **SQL says which build answers for a day.** ``clickhouse_days`` holds, per day, the newest change
  shipped (``shipped_seq``: an event's sequence number, or the ``rev`` of a rage-flag correction of
  one of its clicks; written with the shipper's progress, in its transaction) and the build that
  answers for the day with the mark it was counted at (``rolled_seq``) and the data generation. A
  build is named there only once every shard has it, so a build under way, or one that failed
  halfway, is never read; readers read the rows of the named build only.
- **A day is read from its build only when the build holds all of it**: ``rolled_seq >= shipped_seq``
  (nothing of the day shipped since), the current generation (no deletion since), and, for a
  cursor's snapshot, ``shipped_seq <= as_of`` (no event of the day after the snapshot). Every other day
  of the window is scanned as before, so a live day is always scanned.
- **Quiet days only**: a day is built once no event of it was shipped for :data:`QUIET_S`, so building
  does not race its own traffic; a late event makes its day scanned again until it is rebuilt.
- **Deletions** void every build at once (a new generation); once the erasure reached ClickHouse the
  builds are voided again (:func:`void`), so a day built while it was under way is built again.
- A replaced build stays readable for :data:`READER_GRACE_S` (a reader may still be reading it), then
  it is deleted, so a day's rows are its build's alone; what a failed build left goes at the day's
  next build.

A build counts the rage flags as corrected at its mark (a correction counts once its ``rev`` is
within the mark, as in every read); a later correction of a day's click makes the day scanned, with
its corrections, until it is built again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select, update

from data_layer import deletions
from data_layer.clickhouse.tables import (
    BIN,
    BINS,
    DEAD_BINS,
    DIMENSIONS,
    FLAGS,
    RAGE,
    RAGE_START,
    ROLLUP,
    ROLLUP_BY_DIMENSION,
    ROLLUPS,
    SESSION_AGGREGATES,
    SESSION_KEY,
    SESSIONS,
    SPREAD,
    WEB,
    Table,
    create_all,
    flags_join,
    local_name,
    read_name,
    shards,
)
from data_layer.clickhouse.target import ClickHouseTarget, answering
from data_layer.db import write_transaction
from data_layer.schema import app_meta, clickhouse_days

log = logging.getLogger(__name__)

QUIET_S = 300.0
"""A day is built once no event of it was shipped for this long."""
READER_GRACE_S = 60.0
"""A build replaced this long ago is deleted (until then a reader that named it still finds it)."""
MAX_DAYS_PER_BUILD = 31
"""Days one build counts at most: a shipper round stays short (a month of 100 M events: seconds)."""
COUNTED_KEY = "clickhouse_days_generation"
"""app_meta: the data generation ``clickhouse_days.shipped_seq`` was counted in."""
_LONG_AGO = datetime(1970, 1, 1)
"""``changed_at`` of a day counted from ClickHouse: when it last changed is unknown, so it is quiet."""
_COUNTS = f"count(), sum({RAGE_START}), sum(dead), sum(dead OR {RAGE})"
""":func:`data_layer.metrics.click_counts` in ClickHouse, the rage flags corrected (:func:`flags_join`)."""


@dataclass(frozen=True)
class _Counted:
    """What a build counts into one table: per day, page and breakpoint, and ``keys`` (column:
    expression), the table's other columns' ``aggregates`` of the events where ``condition``."""

    table: Table
    keys: dict[str, str]
    aggregates: str
    condition: str

    def insert(self, target: ClickHouseTarget) -> str:
        """The INSERT of a shard's build of the days ``%(days)s`` as of ``%(mark)s``, numbered
        ``%(build)s``, from the shard's own events (their flags corrected), in the table's column order
        (keys first)."""
        keys = [name if made == name else f"{made} AS {name}" for name, made in self.keys.items()]
        selected = ", ".join((*keys, "day", "toInt64(%(build)s)", "page_key", "breakpoint", self.aggregates))
        grouped = ", ".join(("day", "page_key", "breakpoint", *self.keys))
        return (
            f"INSERT INTO {local_name(target, self.table)} ({', '.join(self.table.columns)}) "
            f"SELECT {selected} FROM {local_name(target, WEB)} {flags_join(target, 'day IN %(days)s')} "
            "WHERE day IN %(days)s "
            f"AND seq <= %(mark)s AND {self.condition} GROUP BY {grouped}"
        )


_CLICK = "event_type = 'click'"
_COUNTED = (
    _Counted(ROLLUP, {}, _COUNTS, _CLICK),
    _Counted(ROLLUP_BY_DIMENSION, {name: name for name in DIMENSIONS}, _COUNTS, _CLICK),
    _Counted(BINS, {"fixed": "fixed", "bin": BIN}, f"count(), sum({RAGE_START})", _CLICK),
    _Counted(
        DEAD_BINS, {"fixed": "fixed", "bin": BIN, "selector": "selector"}, "count()", f"{_CLICK} AND dead = 1"
    ),
    _Counted(
        SESSIONS,
        {"fixed": "fixed", "session_id": "session_id", "session_key": SESSION_KEY},
        ", ".join(aggregate for _, aggregate in SESSION_AGGREGATES.values()),
        "1",
    ),
)
"""Every table a build counts into (:data:`~data_layer.clickhouse.tables.ROLLUPS`)."""


def _spread(target: ClickHouseTarget) -> str:
    """The INSERT of a shard's build ``%(build)s`` of the days ``%(days)s`` into ``web_daily_spread``: the
    build's session rows whose session has another row in it, or in the session rows of another day
    (any build: an old one says the same or more). Exact for every window whatever the order days are
    built in: of two rows of one session, the one built later finds the other (it was built earlier,
    or its events were shipped before it was built), so a summary adds up the rows of every session
    this table names (and of those on scanned days) and counts every other row alone."""
    sessions = local_name(target, SESSIONS)
    built = f"FROM {sessions} WHERE build = %(build)s"
    keys = "page_key, breakpoint, session_key"
    # Other days' rows looked up among the build's sessions only: the sets stay the size of a build.
    elsewhere = (
        f"SELECT {keys} FROM {sessions} WHERE day NOT IN %(days)s AND session_key IN (SELECT session_key "
        f"{built})"
    )
    return (
        f"INSERT INTO {local_name(target, SPREAD)} ({', '.join(SPREAD.columns)}) SELECT session_key, day, "
        f"build, page_key, breakpoint {built} AND (({keys}) IN (SELECT {keys} {built} GROUP BY {keys} "
        f"HAVING count() > 1) OR ({keys}) IN ({elsewhere}))"
    )


def newest_per_day(days: Sequence[date], seqs: Sequence[int]) -> dict[date, int]:
    """Each day's newest change: the greatest of ``seqs`` (events' sequence numbers, corrections'
    revisions) per day of ``days`` (a shipped block's: grouped by Polars, not row by row)."""
    if not days:
        return {}
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date), "seq": pl.Series(seqs, dtype=pl.Int64)})
    return dict(frame.group_by("day").agg(pl.col("seq").max()).iter_rows())


def record_shipped(conn: Connection, shipped: Mapping[date, int], now: datetime) -> None:
    """In the transaction that writes the shipper's progress: the days' newest changes shipped (event
    sequence numbers, correction revisions)."""
    if not shipped:
        return
    days = clickhouse_days.c
    known = dict(conn.execute(select(days.day, days.shipped_seq).where(days.day.in_(list(shipped)))).all())
    new = [
        {"day": day, "shipped_seq": seq, "changed_at": now}
        for day, seq in shipped.items()
        if day not in known
    ]
    grown = [
        {"key": day, "seq": seq, "now": now}
        for day, seq in shipped.items()
        if day in known and seq > known[day]
    ]
    if new:
        conn.execute(insert(clickhouse_days), new)
    if grown:
        conn.execute(
            update(clickhouse_days)
            .where(days.day == bindparam("key"))
            .values(shipped_seq=bindparam("seq"), changed_at=bindparam("now")),
            grown,
        )


def void(engine: Engine) -> None:
    """No build answers for any day any more (the reads scan) until the shipper builds again: after an
    erasure reached ClickHouse, as a build made while it was under way may hold what it deleted."""
    with write_transaction(engine) as conn:
        conn.execute(update(clickhouse_days).values(rolled_seq=None, rolled_generation=None))


@dataclass(frozen=True)
class WindowDays:
    """How the rollup answers for a window at a snapshot (module docstring)."""

    builds: dict[int, list[date]]
    """The days a build answers for, by build."""
    scanned: list[date]
    """Every other day of the window with a shipped event (each has a row: it is written with the
    progress that ships the day's first event, and counted again from ClickHouse after a deletion)."""


def window_days(conn: Connection, from_day: date, to_day: date, as_of: int) -> WindowDays:
    days = clickhouse_days.c
    answered = and_(
        days.rolled_seq >= days.shipped_seq,
        days.shipped_seq <= as_of,
        days.rolled_generation == deletions.generation(conn),
    )
    query = select(days.day, days.build, answered).where(days.day >= from_day, days.day <= to_day)
    builds: dict[int, list[date]] = {}
    scanned = []
    for day, build, built in conn.execute(query):
        if built:
            builds.setdefault(int(build), []).append(day)
        else:
            scanned.append(day)
    return WindowDays(builds, sorted(scanned))


def built_days(conn: Connection) -> tuple[int, int]:
    """(days a build answers for, days shipped): how much of the pages list the rollup serves."""
    days = clickhouse_days.c
    current = days.rolled_generation == deletions.generation(conn)
    built = select(func.count()).where(days.rolled_seq >= days.shipped_seq, current)
    return int(conn.scalar(built) or 0), int(
        conn.scalar(select(func.count()).select_from(clickhouse_days)) or 0
    )


class Roller:
    """Keeps the builds current; run by the shipper after each round (its lease makes it the only one)."""

    def __init__(
        self,
        engine: Engine,
        target: ClickHouseTarget,
        quiet_s: float = QUIET_S,
        grace_s: float = READER_GRACE_S,
    ) -> None:
        self.engine, self.target, self.quiet_s, self.grace_s = engine, target, quiet_s, grace_s
        self._created = False
        self._named: list[tuple[float, int]] = []
        """(when, build) of the builds this roller named that may have replaced others."""

    def roll(
        self,
        mark: int,
        generation: str,
        now: datetime | None = None,
        still_held: Callable[[], None] | None = None,
    ) -> list[date]:
        """Count the days' shipped marks again when a deletion moved them (or none were ever counted),
        then build the quiet days that need it, as of the shipped ``mark``; returns the days built.

        ``still_held`` raises if the shipper's lease went to another process: called before a build is
        named, so two shippers never name builds of one day at once (each would drop the other's)."""
        now = now or datetime.now(UTC).replace(tzinfo=None)
        with answering(self.target):
            if not self._created:  # a database shipped to before the rollup (or a table of it) existed
                create_all(self.target, ROLLUPS)
                self._created = True
            with self.engine.connect() as conn:
                counted = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == COUNTED_KEY))
            self._drop_replaced()
            if counted != generation and not self._count_days(mark, generation):
                return []
            return self._build(mark, generation, now, still_held)

    def _count_days(self, mark: int, generation: str) -> bool:
        client = self.target.client()
        try:
            found = client.execute(
                f"SELECT day, max(changed) FROM (SELECT day, max(seq) AS changed FROM "
                f"{read_name(self.target, WEB)} WHERE seq <= %(mark)s GROUP BY day UNION ALL SELECT day, "
                f"max(rev) AS changed FROM {read_name(self.target, FLAGS)} GROUP BY day) GROUP BY day",
                {"mark": mark},
            )
        finally:
            client.disconnect()
        days = clickhouse_days.c
        with write_transaction(self.engine) as conn:
            if deletions.generation(conn) != generation:
                return False  # another deletion meanwhile: count again next round
            # No build answers for a day until its next one, which drops the rows of every other.
            kept = dict(conn.execute(select(days.day, days.changed_at)).all())
            conn.execute(delete(clickhouse_days))
            rows = [
                {"day": day, "shipped_seq": int(seq), "changed_at": kept.get(day, _LONG_AGO)}
                for day, seq in found
            ]
            if rows:
                conn.execute(insert(clickhouse_days), rows)
            conn.execute(delete(app_meta).where(app_meta.c.key == COUNTED_KEY))
            conn.execute(insert(app_meta).values(key=COUNTED_KEY, value=generation))
        log.info("counted the shipped days of ClickHouse again: %d days", len(found))
        return True

    def _build(
        self, mark: int, generation: str, now: datetime, still_held: Callable[[], None] | None
    ) -> list[date]:
        days = clickhouse_days.c
        stale = or_(
            days.rolled_seq.is_(None),
            days.rolled_seq < days.shipped_seq,
            days.rolled_generation.is_(None),
            days.rolled_generation != generation,
        )
        quiet = days.changed_at <= now - timedelta(seconds=self.quiet_s)
        query = (
            select(days.day)
            .where(stale, quiet, days.shipped_seq <= mark)
            .order_by(days.day.desc())
            .limit(MAX_DAYS_PER_BUILD)
        )
        with self.engine.connect() as conn:
            due = [row[0] for row in conn.execute(query)]
        if not due:
            return []
        build = secrets.randbits(62)
        for shard in shards(self.target):
            client = self.target.client(shard.host, shard.port)
            try:
                for count in _COUNTED:
                    client.execute(
                        count.insert(self.target), {"build": build, "days": tuple(due), "mark": mark}
                    )
                client.execute(_spread(self.target), {"build": build, "days": tuple(due)})
            finally:
                client.disconnect()
        if still_held is not None:
            still_held()
        with write_transaction(self.engine) as conn:
            if deletions.generation(conn) != generation:
                return []  # a deletion came while counting: the build may hold what it deleted
            named = update(clickhouse_days).where(days.day.in_(due), days.shipped_seq <= mark)
            conn.execute(
                named.values(
                    previous_build=days.build, build=build, rolled_seq=mark, rolled_generation=generation
                )
            )
            kept = {build} | {
                int(value)
                for (value,) in conn.execute(select(days.previous_build).where(days.day.in_(due)))
                if value is not None
            }
        self._drop_other_builds(due, kept)
        self._named.append((time.monotonic(), build))
        return due

    def _drop_replaced(self) -> None:
        """Delete the builds that builds named :attr:`grace_s` ago replaced: a reader that named an old
        one has long finished by then, and reads then scan a build's rows alone, not twice as many.
        (A restart forgets them: those go at their day's next build, as they would anyway.)"""
        settled = {build for named_at, build in self._named if time.monotonic() - named_at >= self.grace_s}
        if not settled:
            return
        self._named = [(named_at, build) for named_at, build in self._named if build not in settled]
        days = clickhouse_days.c
        replacing = and_(days.build.in_(settled), days.previous_build.is_not(None))
        with write_transaction(self.engine) as conn:
            found = conn.execute(select(days.day, days.build).where(replacing)).all()
            conn.execute(update(clickhouse_days).where(replacing).values(previous_build=None))
        per_build: dict[int, list[date]] = {}
        for day, build in found:
            per_build.setdefault(int(build), []).append(day)
        for build, built_days in per_build.items():
            self._drop_other_builds(built_days, {build})

    def _drop_other_builds(self, days: list[date], kept: set[int]) -> None:
        """Delete the builds of ``days`` but ``kept`` (the new ones and those they replace), in the
        background: nothing reads them."""
        for shard in shards(self.target):
            client = self.target.client(shard.host, shard.port)
            try:
                for table in ROLLUPS:
                    client.execute(
                        f"ALTER TABLE {local_name(self.target, table)} DELETE WHERE day IN %(days)s "
                        "AND build NOT IN %(kept)s",
                        {"days": tuple(days), "kept": tuple(kept)},
                    )
            finally:
                client.disconnect()
