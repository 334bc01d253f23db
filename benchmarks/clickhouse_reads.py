"""The ClickHouse event store at 10 M and 100 M events (CONTRACT 16): prints figures.

.venv/bin/python -m benchmarks.clickhouse_reads                  # 10 M events, the local two-shard cluster
.venv/bin/python -m benchmarks.clickhouse_reads --copies 10      # then 100 M: nine more copies in ClickHouse
.venv/bin/python -m benchmarks.clickhouse_reads --corrections 8  # a live site's flag corrections first

The events are the data set of ``benchmarks.performance`` (the same SQLite file, generated through the
service layer when missing; its ingestion rate is printed then), shipped into the database
``heatmaps_bench`` of the cluster by the product's shipper, whose rate is printed beside it. Then, in this
process and median of ``--runs``: the pages list, the list filtered by country and browser, and the top
page's summary through the service layer, each beside the same aggregation sent straight to ClickHouse
(``ours / raw``); and the RSS of a ``heatmaps api`` process with the setting on while it answers those
reads over HTTP.

``--copies N`` adds N - 1 copies of the shipped rows inside ClickHouse (``INSERT … SELECT`` on each shard:
new session and visitor ids, sequence numbers below the shipped ones, in day order as a live site's
events arrive), so 100 M events take minutes instead of hours of ingestion; the reads are then measured
again. "Newest day scanned" is the pages list (and the summary) with the window's last day left to
scan, as on a live site where today has no rollup build yet. The copies stay in ``heatmaps_bench``
(drop the database to start over).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select, update

from benchmarks.query_latency import fill, median_ms, perf_database
from data_layer import deletions
from data_layer.clickhouse import erasure, rollup, shipper, tables
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine, write_transaction
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import PageRef
from data_layer.schema import clickhouse_days, web_events
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from heatmaps_testing.loopback import ApiServer, make_tokens

LOCAL_CLUSTER = "clickhouse://heatmaps:heatmaps-local@127.0.0.1:19000/heatmaps_bench?cluster=heatmaps_local"
COPY_SEQ_STEP = 1_000_000_000_000
"""How far below the shipped rows each copy's sequence numbers go (reads count rows up to the mark)."""


def ship(engine: Any, target: ClickHouseTarget) -> None:
    """Ships what SQL holds beyond the mark; prints the shipper's rate (the daily rollup is built apart,
    by :func:`roll_up`)."""
    sender = shipper.Shipper(engine, target, rollup_quiet_s=1e9)  # built apart
    try:
        started = time.perf_counter()
        shipped = sender.ship().get("web", 0)
        while sum(sender.lag().values()):
            shipped += sender.ship().get("web", 0)
        seconds = time.perf_counter() - started
    finally:
        sender.close()
    if shipped:
        print(f"shipper: {shipped:,} web events in {seconds:.1f} s = {shipped / seconds:,.0f} events/s")
    else:
        print("shipper: nothing to ship (ClickHouse holds every event)")


def roll_up(engine: Any, target: ClickHouseTarget, every_day: bool = True) -> None:
    """Builds the days of the daily rollup that need it (``every_day``: all, again), as the shipper does
    once days are quiet; prints the time it took."""
    if every_day:
        rollup.void(engine)
    roller = rollup.Roller(engine, target, quiet_s=0, grace_s=0)
    with engine.connect() as conn:
        mark, generation = shipper.read_progress(conn, "web").shipped_seq, deletions.generation(conn)
    started, built = time.perf_counter(), 0
    while days := roller.roll(mark, generation):
        built += len(days)
    # The builds replaced are deleted (the last round did), as a live cluster's are a minute later.
    for shard in tables.shards(target):
        client = target.client(shard.host, shard.port)
        for table in tables.ROLLUPS:
            erasure.wait_for_mutations(client, target.database, table.local)
    print(f"daily rollup: {built} days built in {time.perf_counter() - started:.1f} s")


def add_copies(target: ClickHouseTarget, copies: int) -> None:
    """Up to ``copies`` copies of the first copy's rows on every shard (each shard copies its own)."""
    local = f"{target.database}.{tables.WEB.local}"
    columns = list(tables.WEB_COLUMNS)
    for shard in tables.shards(target):
        client = target.client(shard.host, shard.port)
        shipped = client.execute(f"SELECT count() FROM {local} WHERE seq > 0")[0][0]
        for copy in range(1, copies):
            low = -COPY_SEQ_STEP * copy
            present = client.execute(
                f"SELECT count() FROM {local} WHERE seq > {low} AND seq < {low + COPY_SEQ_STEP}"
            )[0][0]
            if present == shipped:
                continue
            if present:
                raise SystemExit(f"copy {copy} on shard {shard.number} is partial: drop {target.database}")
            renamed = {
                "seq": f"seq - {COPY_SEQ_STEP * copy}",
                "event_id": "CAST(NULL AS Nullable(String))",
                "session_id": f"concat(session_id, '~{copy}')",
                "visitor_id": f"concat(visitor_id, '~{copy}')",
            }
            selected = ", ".join(renamed.get(name, name) for name in columns)
            started = time.perf_counter()
            # In day order, as a live site's events arrive (each part then holds a few days), a month at
            # a time (sorting a whole copy at once passes the server's memory limit).
            for (month,) in client.execute(f"SELECT DISTINCT toYYYYMM(day) AS m FROM {local} ORDER BY m"):
                client.execute(
                    f"INSERT INTO {local} ({', '.join(columns)}) SELECT {selected} FROM {local} "
                    f"WHERE seq > 0 AND toYYYYMM(day) = {int(month)} ORDER BY day"
                )
            print(f"  shard {shard.number}: copy {copy} in {time.perf_counter() - started:.1f} s")


def add_corrections(target: ClickHouseTarget, one_in: int) -> None:
    """Flag corrections for about one click in ``one_in`` that has none, each equal to its row's own
    flags (so no answer changes): what a live site's store holds, where the tracker sends a rage run's
    clicks over several batches and each later one corrects the earlier ones (the benchmark's events
    are ingested a session at a time, which leaves none)."""
    flags, web = tables.local_name(target, tables.FLAGS), tables.local_name(target, tables.WEB)
    for shard in tables.shards(target):
        client = target.client(shard.host, shard.port)
        try:
            client.execute(
                f"INSERT INTO {flags} SELECT seq, session_id, day, rage, rage_start, toUInt64(1), toInt64(1) "
                f"FROM {web} WHERE event_type = 'click' AND rand() % {int(one_in)} = 0 "
                f"AND seq NOT IN (SELECT seq FROM {flags})"
            )
        finally:
            client.disconnect()
    [(count,)] = target.client().execute(f"SELECT count() FROM {tables.read_name(target, tables.FLAGS)}")
    print(f"flag corrections in ClickHouse: {count:,}")


def raw_reads(target: ClickHouseTarget, window: Window, top: str) -> dict[str, Callable[[], Any]]:
    """The aggregations of the measured reads, sent straight to ClickHouse (no flags join, no mark)."""
    client = target.client()
    web = (
        f"{target.database}.{tables.WEB.name}" if target.cluster else f"{target.database}.{tables.WEB.local}"
    )
    days = f"day >= '{window.from_day}' AND day <= '{window.to_day}'"
    counts = (
        "SELECT page_key, breakpoint, count(), sum(rage_start), sum(dead), sum(dead OR rage) FROM {web} "
        "WHERE {days} AND event_type = 'click'{extra} GROUP BY page_key, breakpoint"
    )
    page = f"{days} AND page_key = '{top}' AND breakpoint = 'desktop'"
    cell = "floor(y / 16) * 100 + least(floor(greatest(least(x * 100 / document_width, 100), 0)), 99)"
    summary = [
        f"SELECT {cell} AS b, count(), sum(rage_start) FROM {web} WHERE {page} AND event_type = 'click' "
        "GROUP BY b",
        f"SELECT {cell} AS b, selector, count() FROM {web} WHERE {page} AND event_type = 'click' AND dead "
        "= 1 GROUP BY b, selector",
        "SELECT vh, count(), "
        + ", ".join(f"countIf(d >= {bucket})" for bucket in range(0, 101, 10))
        + " FROM (SELECT max(depth) AS d, argMax(viewport_height, (depth, ts_us, seq)) AS vh "
        f"FROM {web} WHERE {page} AND event_type = 'scroll' GROUP BY session_id) GROUP BY vh",
        "SELECT breakpoint, session_id, sum(event_type = 'click' AND rage_start) AS r, "
        "sum(event_type = 'click' AND dead) AS d, countIf(event_type = 'click') AS c, max(ts_us) AS l "
        f"FROM {web} WHERE {days} AND page_key = '{top}' GROUP BY breakpoint, session_id "
        "ORDER BY breakpoint, r DESC, d DESC, c DESC, l DESC, session_id LIMIT 5 BY breakpoint",
    ]
    filtered = " AND country = 'US' AND lowerUTF8(browser) = 'chrome'"
    return {
        "pages list": lambda: client.execute(counts.format(web=web, days=days, extra="")),
        "pages list, country and browser": lambda: client.execute(
            counts.format(web=web, days=days, extra=filtered)
        ),
        "top page summary": lambda: [client.execute(query) for query in summary],
    }


def reads(service: HeatmapService, window: Window, top: str) -> dict[str, Callable[[], Any]]:
    """The same reads through the service layer (what the API and the dashboard call)."""
    return {
        "pages list": lambda: service.list_pages(window),
        "pages list, country and browser": lambda: service.list_pages(
            window, WebFilters(country="US", browser="Chrome")
        ),
        "top page summary": lambda: service.page_summary(PageRef(top, "desktop"), window),
    }


def compare(service: HeatmapService, target: ClickHouseTarget, window: Window, top: str, runs: int) -> None:
    ours, raw = reads(service, window, top), raw_reads(target, window, top)
    for name in ours:
        ours_ms, raw_ms = median_ms(ours[name], runs), median_ms(raw[name], runs)
        print(f"  {name:34} ours {ours_ms:7.0f} ms   raw {raw_ms:7.0f} ms   ours/raw {ours_ms / raw_ms:.2f}")
    engine = service.store.engine  # type: ignore[attr-defined]
    with write_transaction(engine) as conn:  # as on a live site: today has no build yet
        newest = clickhouse_days.c.day == window.to_day
        conn.execute(update(clickhouse_days).where(newest).values(rolled_seq=None))
    live_ms = median_ms(lambda: service.list_pages(window), runs)
    print(f"  {'pages list, newest day scanned':34} ours {live_ms:7.0f} ms")
    live_ms = median_ms(ours["top page summary"], runs)
    print(f"  {'top page summary, newest day scanned':34} ours {live_ms:7.0f} ms")
    roll_up(engine, target, every_day=False)


def api_rss(database_url: str, clickhouse_url: str, window: Window, pages: list[str], rounds: int) -> None:
    """A ``heatmaps api`` reading ClickHouse answers the pages list, filtered lists, summaries and
    elements of ``pages`` ``rounds`` times; its RSS after each round and at its peak."""
    _, view = make_tokens(database_url)
    headers = {"Authorization": f"Bearer {view}"}
    dates = {"from": str(window.from_day), "to": str(window.to_day)}
    with tempfile.TemporaryDirectory() as work:
        server = ApiServer(database_url, Path(work), clickhouse_url=clickhouse_url)
        with server, httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
            rss = []
            for _ in range(rounds):
                client.get("/rest/v1/heatmap-pages", params={**dates, "limit": 100}).raise_for_status()
                client.get(
                    "/rest/v1/heatmap-pages", params={**dates, "country": "US", "browserName": "Chrome"}
                )
                for page in pages:
                    query = {**dates, "pageKey": page, "breakpoint": "desktop"}
                    client.get("/rest/v1/heatmap-pages/summary", params=query).raise_for_status()
                    client.get("/rest/v1/heatmap-pages/elements", params=query).raise_for_status()
                rss.append(_status_kib(server.pid, "VmRSS"))
            peak = _status_kib(server.pid, "VmHWM")
    print(
        f"  API RSS after each round: {', '.join(f'{kib / 1024:.0f}' for kib in rss)} MiB; "
        f"peak {peak / 1024:.0f} MiB"
    )


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def measure(service: HeatmapService, target: ClickHouseTarget, args: argparse.Namespace, url: str) -> None:
    rows = target.client().execute(f"SELECT count() FROM {target.database}.{tables.WEB.name}")[0][0]
    window = args.window
    listed = service.list_pages(window, limit=10).pages.get_column("page_key").to_list()
    print(f"{rows:,} web events in ClickHouse; {window.from_day} to {window.to_day}; top page {listed[0]}")
    compare(service, target, window, listed[0], args.runs)
    api_rss(url, args.clickhouse_url, window, listed[:5], args.rounds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, default=None, help="default: benchmarks/out/perf-EVENTS.db")
    parser.add_argument("--clickhouse-url", default=LOCAL_CLUSTER)
    parser.add_argument("--copies", type=int, default=1, help="measure again with this many copies")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of API reads for its RSS")
    parser.add_argument(
        "--corrections",
        type=int,
        default=0,
        metavar="N",
        help="first add flag corrections (equal to the flags) for one click in N, as a live site has",
    )
    args = parser.parse_args()
    db = perf_database(args.events, args.db)
    url = f"sqlite:///{db}"
    settings = Settings(_env_file=None, database_url=url, clickhouse_url=SecretStr(args.clickhouse_url))
    engine = create_db_engine(url)
    fill(engine, settings, args.events, days=90)
    with engine.connect() as conn:
        last_day = conn.scalar(select(func.max(web_events.c.day)))
    args.window = Window(last_day - timedelta(days=59), last_day)
    target = ClickHouseTarget.parse(args.clickhouse_url)
    tables.create_all(target)
    ship(engine, target)
    if args.corrections:
        add_corrections(target, args.corrections)
    roll_up(engine, target)
    service = HeatmapService(ClickHouseStore(target, engine), settings, b"bench")
    measure(service, target, args, url)
    if args.copies > 1:
        print(f"adding copies up to {args.copies} in all:")
        add_copies(target, args.copies)
        roll_up(engine, target)
        measure(service, target, args, url)


if __name__ == "__main__":
    main()
