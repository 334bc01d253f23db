"""The ClickHouse tables of the events, on every shard, created by ``heatmaps init``.

Each shard gets the database and local MergeTree tables; a ``Distributed`` table over them is created
on every shard too, so any shard answers a query. The product connects to each shard itself (learnt
from ``system.clusters`` on the URL's host): no ``ON CLUSTER``, no Keeper. Without a cluster, the one
server's local tables are read directly.

Web events are ordered by what every query filters on (page, breakpoint, day; there is no site column)
and partitioned by month; a session's events stay on one shard (the sharding key hashes it). A row's
rage flags can change after it was shipped (a later click extends a run, a deletion shortens one):
corrections go to ``web_flags``, keyed by ``seq`` on the row's shard, the newest ``version`` winning,
and reads join them (:mod:`data_layer.clickhouse.store`). ``web_daily``, ``web_daily_dimensions``
and the ``web_daily_bins``, ``web_daily_dead`` and ``web_daily_sessions`` of the summaries hold the daily
rollup (:mod:`data_layer.clickhouse.rollup`). Only types ClickHouse
18.16 has (no LowCardinality, which it holds experimental; no DateTime64: times are microseconds in an
Int64).
"""

from __future__ import annotations

from dataclasses import dataclass

from data_layer import bins
from data_layer.clickhouse.target import ClickHouseTarget, answering, is_unreachable

WEB_COLUMNS: dict[str, str] = {
    "seq": "Int64",
    "event_id": "Nullable(String)",
    "event_type": "String",
    "ts_us": "Int64",
    "day": "Date",
    "page_key": "String",
    "breakpoint": "String",
    "session_id": "String",
    "visitor_id": "String",
    "viewport_width": "Int32",
    "viewport_height": "Int32",
    "document_width": "Int32",
    "document_height": "Int32",
    "x": "Nullable(Float64)",
    "y": "Nullable(Float64)",
    "selector": "Nullable(String)",
    "dead": "UInt8",
    "fixed": "UInt8",
    "depth": "Nullable(Float64)",
    "country": "Nullable(String)",
    "region": "Nullable(String)",
    "browser": "Nullable(String)",
    "rage": "UInt8",
    "rage_start": "UInt8",
    "utm_source": "Nullable(String)",
    "utm_medium": "Nullable(String)",
    "utm_campaign": "Nullable(String)",
    "referrer_host": "Nullable(String)",
    "tags": "Nullable(String)",
    "visitor_type": "String",
    "rect_x": "Nullable(Float64)",
    "rect_y": "Nullable(Float64)",
    "rect_width": "Nullable(Float64)",
    "rect_height": "Nullable(Float64)",
    # The store's ``segment`` and ``rect`` keys, made by SQL's own expressions when shipped (their
    # inputs never change after insert), so both stores answer with the same texts.
    "segment": "String",
    "rect": "Nullable(String)",
}
"""Every stored column of SQL's ``web_events`` (but ``flags_rev``) plus the two keys; ``ts`` as
``ts_us``."""
FLAG_COLUMNS: dict[str, str] = {
    "seq": "Int64",
    "session_id": "String",
    "day": "Date",
    "rage": "UInt8",
    "rage_start": "UInt8",
    "version": "UInt64",
    # The SQL flags_rev: a correction counts once the rows of the write that made it are shipped.
    "rev": "Int64",
}
TOUCH_COLUMNS: dict[str, str] = {
    "seq": "Int64",
    "event_id": "Nullable(String)",
    "user_id": "String",
    "screen_name": "String",
    "x": "Float64",
    "y": "Float64",
    "ts_us": "Int64",
    "day": "Date",
    "campaign_id": "Nullable(String)",
    "event_type": "String",
}


@dataclass(frozen=True)
class Table:
    """One event table: its local MergeTree on every shard and, on a cluster, the Distributed one."""

    name: str
    columns: dict[str, str]
    engine: str
    order_by: str
    sharding_key: str

    @property
    def local(self) -> str:
        return f"{self.name}_local"


SESSION_HASH = "cityHash64(session_id)"
"""The sharding key of web events: a session's events (and their flag corrections) on one shard."""
WEB = Table("web_events", WEB_COLUMNS, "MergeTree", "page_key, breakpoint, day, seq", SESSION_HASH)
FLAGS = Table("web_flags", FLAG_COLUMNS, "ReplacingMergeTree(version)", "seq", SESSION_HASH)
TOUCH = Table(
    "touch_events", TOUCH_COLUMNS, "MergeTree", "screen_name, day, event_type, seq", "cityHash64(user_id)"
)
ROLLUP_COLUMNS: dict[str, str] = {
    "day": "Date",
    "build": "Int64",
    "page_key": "String",
    "breakpoint": "String",
    "clicks": "UInt64",
    "rage_events": "UInt64",
    "dead": "UInt64",
    "frustrated": "UInt64",
}
""":func:`data_layer.metrics.click_counts` per day, page and breakpoint, of one build of the daily rollup
(:mod:`data_layer.clickhouse.rollup`); each shard counts its own events."""
ROLLUP = Table("web_daily", ROLLUP_COLUMNS, "MergeTree", "day, build, page_key, breakpoint", "rand()")
DIMENSIONS = ("country", "region", "browser")
"""The filters of the pages list a build also counts by (segments are too many keys to)."""
ROLLUP_BY_DIMENSION = Table(
    "web_daily_dimensions",
    {**{name: WEB_COLUMNS[name] for name in DIMENSIONS}, **ROLLUP_COLUMNS},
    "MergeTree",
    "day, build, page_key, breakpoint",  # 18.16 sorts by no Nullable column
    "rand()",
)
"""The same counts per country, region and browser too: a list filtered by them sums these rows (a
sixth as many as the clicks at 10 M events) instead of scanning the days' clicks."""
RAGE = "if(f_has = 1, f_rage, rage)"
"""A web row's rage flag, its newest correction's when it has one (with :func:`flags_join`)."""
RAGE_START = "if(f_has = 1, f_rage_start, rage_start)"
BIN = (
    f"toInt64(floor(y / {bins.ROW_HEIGHT_PX})) * {bins.COLUMNS} + "
    f"least(toInt64(floor(greatest(least(x * {bins.COLUMNS} / document_width, {bins.COLUMNS}), 0))), "
    f"{bins.COLUMNS - 1})"
)
"""A click's :func:`data_layer.bins.bin_key` in ClickHouse, with the same floating-point steps."""
_SUMMARY_KEYS: dict[str, str] = {
    "day": "Date",
    "build": "Int64",
    "page_key": "String",
    "breakpoint": "String",
}
BINS = Table(
    "web_daily_bins",
    {
        "fixed": "UInt8",
        "bin": "Nullable(Int64)",
        **_SUMMARY_KEYS,
        "clicks": "UInt64",
        "rage_events": "UInt64",
    },
    "MergeTree",
    "page_key, breakpoint, day, build",  # a summary reads one page's rows
    "rand()",
)
"""A page summary's click and rage bins per day (and whether on a fixed element), of one build."""
DEAD_BINS = Table(
    "web_daily_dead",
    {
        "fixed": "UInt8",
        "bin": "Nullable(Int64)",
        "selector": "Nullable(String)",
        **_SUMMARY_KEYS,
        "dead_clicks": "UInt64",
    },
    "MergeTree",
    "page_key, breakpoint, day, build",
    "rand()",
)
"""Its dead clicks per bin and selector per day."""
_SCROLLED = "event_type = 'scroll' AND depth IS NOT NULL"
_DEEPEST = f"(depth, ts_us, seq), {_SCROLLED}"
SESSION_AGGREGATES: dict[str, tuple[str, str]] = {
    "n_clicks": ("UInt64", "countIf(event_type = 'click')"),
    "n_rage": ("UInt64", f"sumIf({RAGE_START}, event_type = 'click')"),
    "n_dead": ("UInt64", "sumIf(dead, event_type = 'click')"),
    "latest": ("Int64", "max(ts_us)"),
    "first_ts": ("Int64", "min(ts_us)"),
    "first_seq": ("Int64", "argMin(seq, (ts_us, seq))"),
    "first_visitor": ("String", "argMin(visitor_id, (ts_us, seq))"),
    "scrolls": ("UInt64", f"countIf({_SCROLLED})"),
    "deepest": ("Nullable(Float64)", f"maxIf(depth, {_SCROLLED})"),
    "deepest_vh": ("Int32", f"argMaxIf(viewport_height, {_DEEPEST})"),
    "deepest_ts": ("Int64", f"argMaxIf(ts_us, {_DEEPEST})"),
    "deepest_seq": ("Int64", f"argMaxIf(seq, {_DEEPEST})"),
}
"""What a page summary needs of a session's events on a page and breakpoint (per day in a build, per
window when scanned), as (type, aggregate): the replay ranking's keys, its first event (a replay link's
visitor and day), its deepest scroll with the viewport height there (``scrolls`` = 0: none). Rows of
one session add up exactly: sums, min and max, and the extremes' (ts, seq) tie-breakers."""
SESSION_KEY = "sipHash128(session_id)"
"""A session's id as 16 bytes, what the summaries group session rows by (as ``uniqExact`` counts
strings: the chance that two of a billion sessions share one is below 10^-20)."""
SESSIONS = Table(
    "web_daily_sessions",
    {
        "fixed": "UInt8",
        "session_id": "String",
        "session_key": "FixedString(16)",
        **_SUMMARY_KEYS,
        **{name: kind for name, (kind, _) in SESSION_AGGREGATES.items()},
    },
    "MergeTree",
    # The rows with rage events or dead clicks together: the replay ranking reads those first.
    "page_key, breakpoint, n_rage + n_dead > 0, day, build",
    SESSION_HASH,
)
"""Its sessions per day: a row per session, page, breakpoint and day (a session's rows stay on its
shard, as its events)."""
SPREAD = Table(
    "web_daily_spread",
    {"session_key": "FixedString(16)", **_SUMMARY_KEYS},
    "MergeTree",
    "page_key, breakpoint, day, build",
    "rand()",
)
"""The sessions of a build's session rows that have another row too (another day, or clicks on fixed
elements and on others): only those need their rows added up (:mod:`data_layer.clickhouse.rollup`)."""
TABLES = (WEB, FLAGS, TOUCH, ROLLUP, ROLLUP_BY_DIMENSION, BINS, DEAD_BINS, SESSIONS, SPREAD)
ROLLUPS = (ROLLUP, ROLLUP_BY_DIMENSION, BINS, DEAD_BINS, SESSIONS, SPREAD)


def flags_join(target: ClickHouseTarget, days: str | None = None) -> str:
    """The join giving each web row its newest rage-flag correction, from the shard's own ``web_flags``
    (a session's rows and corrections share a shard). A correction counts once the rows of the write
    that made it are shipped (``rev`` within ``%(mark)s``), so an answer never shows a late click's
    effect without the click. ``days``, a condition on ``day``: the rows read are of those days only,
    and so are the corrections gathered for them (a correction carries its row's day), rather than
    every correction ever made."""
    where = "rev <= %(mark)s" if days is None else f"rev <= %(mark)s AND {days}"
    return (
        "ANY LEFT JOIN (SELECT seq, argMax(rage, version) AS f_rage, argMax(rage_start, version) AS "
        f"f_rage_start, 1 AS f_has FROM {local_name(target, FLAGS)} WHERE {where} "
        "GROUP BY seq) AS flags USING seq"
    )


WINDOW_DAYS = "day >= %(from_day)s AND day <= %(to_day)s"
"""A read's window, as its conditions name it (:func:`flags_join`'s ``days``)."""


@dataclass(frozen=True)
class Shard:
    """One shard as ``system.clusters`` lists it (its first replica: the product writes to each)."""

    number: int
    host: str
    port: int


def shards(target: ClickHouseTarget) -> list[Shard]:
    """The shards of the target's cluster, from ``system.clusters`` on the URL's host; the URL's server
    alone without a cluster. A cluster the server does not know is a :class:`ValueError`."""
    if target.cluster is None:
        return [Shard(1, target.host, target.port)]
    with answering(target):
        rows = target.client().execute(
            "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = %(cluster)s "
            "AND replica_num = 1 ORDER BY shard_num",
            {"cluster": target.cluster},
        )
    if not rows:
        raise ValueError(f"ClickHouse at {target.host}:{target.port} has no cluster {target.cluster!r}")
    return [Shard(int(number), str(host), int(port)) for number, host, port in rows]


def local_name(target: ClickHouseTarget, table: Table) -> str:
    """A shard's own table: what a query sent to one shard reads or changes there."""
    return f"{target.database}.{table.local}"


def read_name(target: ClickHouseTarget, table: Table) -> str:
    """What queries read: the Distributed table on a cluster, the local one on one server."""
    return f"{target.database}.{table.name if target.cluster else table.local}"


def write_name(target: ClickHouseTarget, table: Table) -> str:
    """Where the shipper inserts: the Distributed table (it routes rows by the sharding key), or the
    local one."""
    return read_name(target, table)


def _create_statements(target: ClickHouseTarget, table: Table) -> list[str]:
    columns = ", ".join(f"{name} {kind}" for name, kind in table.columns.items())
    db = target.database
    statements = [
        f"CREATE TABLE IF NOT EXISTS {db}.{table.local} ({columns}) ENGINE = {table.engine} "
        f"PARTITION BY toYYYYMM(day) ORDER BY ({table.order_by})"
    ]
    if target.cluster:
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {db}.{table.name} AS {db}.{table.local} ENGINE = "
            f"Distributed({target.cluster}, {db}, {table.local}, {table.sharding_key})"
        )
    return statements


def create_all(target: ClickHouseTarget, which: tuple[Table, ...] = TABLES) -> list[Shard]:
    """Create the database and every table (or those of ``which``) on every shard when missing (safe to
    repeat); returns the shards. Every shard must be up: a table missing on one would make reads fail
    later."""
    found = shards(target)
    for shard in found:
        with answering(target):
            client = target.client(shard.host, shard.port)
            client.execute(f"CREATE DATABASE IF NOT EXISTS {target.database}")
            for table in which:
                for statement in _create_statements(target, table):
                    client.execute(statement)
            client.disconnect()
    return found


def drop_all(target: ClickHouseTarget) -> None:
    """Drop the database on every shard (tests, and an operator starting over)."""
    for shard in shards(target):
        with answering(target):
            target.client(shard.host, shard.port).execute(f"DROP DATABASE IF EXISTS {target.database}")


def health(target: ClickHouseTarget) -> None:
    """Raises :class:`~data_layer.errors.Unavailable` naming ClickHouse unless every shard answers
    (through the Distributed table, as the queries do)."""
    target.ask(f"SELECT count() FROM {read_name(target, WEB)} WHERE 0")


def shard_state(target: ClickHouseTarget, shard: Shard) -> tuple[int, int] | None:
    """(event rows, bytes on disk) of the product's tables on one shard; None when it does not answer."""
    try:
        client = target.client(shard.host, shard.port)
        [(rows, size)] = client.execute(
            "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = %(db)s AND active "
            "AND table IN %(tables)s",
            {"db": target.database, "tables": (WEB.local, TOUCH.local)},
        )
        client.disconnect()
        return int(rows or 0), int(size or 0)
    except Exception as exc:
        if is_unreachable(exc):
            return None
        raise
