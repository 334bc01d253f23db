"""The performance budget of ARCHITECTURE.md, measured in one run. Prints figures (medians).

    .venv/bin/python -m benchmarks.performance --events 1000000          # quick check
    .venv/bin/python -m benchmarks.performance --events 10000000         # the budget's data set

Generates the benchmark data set (benchmarks/dataset.py) into a SQLite database through the service
layer (reused across runs with the same --db), then measures: the pages list (windows, sorts, filters)
and page summaries through the replica, the mobile query, freshness lag, restart-to-first-answer, peak
RSS, and the same pages list and summary computed by DuckDB over a Parquet export of the raw events (what
an analyst would do by hand), with the ratio ours / DuckDB.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
from sqlalchemy import func, select

from benchmarks.query_latency import fill, median_ms
from data_layer.auth import secret_key
from data_layer.db import create_db_engine
from data_layer.ingest import ingest_touch_batch, ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.replica import CATEGORICAL_COLUMNS, ReplicaStore
from data_layer.schema import touch_events, web_events
from data_layer.service import HeatmapService, query_touch_heatmap
from data_layer.settings import Settings

DUCKDB_PAGES = """
WITH clicks AS (
    SELECT page_key, breakpoint, session_id, ts, seq, x, y, dead
    FROM events WHERE event_type = 'click' AND day BETWEEN ? AND ?
), steps AS (
    SELECT *, (epoch_ms(ts) - epoch_ms(lag(ts) OVER w) < 1000
               AND abs(x - lag(x) OVER w) + abs(y - lag(y) OVER w) < 30) AS chained
    FROM clicks WINDOW w AS (PARTITION BY session_id, page_key, breakpoint ORDER BY ts, seq)
), runs AS (
    SELECT *, sum(CASE WHEN chained THEN 0 ELSE 1 END) OVER (
        PARTITION BY session_id, page_key, breakpoint ORDER BY ts, seq) AS run
    FROM steps
), sized AS (
    SELECT *, count(*) OVER (PARTITION BY session_id, page_key, breakpoint, run) AS run_size,
           row_number() OVER (PARTITION BY session_id, page_key, breakpoint, run ORDER BY ts, seq) AS nth
    FROM runs
)
SELECT page_key, count(*) AS total_clicks,
       sum(CASE WHEN run_size >= 3 AND nth = 1 THEN 1 ELSE 0 END) AS rage_clicks,
       sum(CASE WHEN dead THEN 1 ELSE 0 END) AS dead_clicks,
       sum(CASE WHEN dead OR run_size >= 3 THEN 1 ELSE 0 END) AS frustrated
FROM sized GROUP BY page_key ORDER BY total_clicks DESC, page_key LIMIT 25
"""
DUCKDB_SUMMARY = """
SELECT least(floor(greatest(least(x / document_width, 1), 0) * 100), 99) AS bin_x, floor(y / 16) AS bin_y,
       count(*) AS clicks, sum(CASE WHEN dead THEN 1 ELSE 0 END) AS dead
FROM events
WHERE page_key = ? AND breakpoint = 'desktop' AND event_type = 'click' AND day BETWEEN ? AND ?
GROUP BY 1, 2 ORDER BY 2, 1
"""


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_touches(engine, events: int, last_day) -> None:
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(touch_events)):
            return
    rng = random.Random(1)
    base = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC)
    batch = []
    for n in range(events):
        moment = base - timedelta(seconds=rng.random() * 29 * 86400)
        batch.append({
            "eventId": f"bt-{n}", "screenName": f"screen_{rng.randrange(5)}", "x": rng.random(),
            "y": rng.random(), "timestamp": moment.isoformat(),
            "campaignId": rng.choice(["", "spring", "autumn"]),
            "eventType": rng.choice(["TAP", "SCROLL", "ACTION_CLICK"]),
        })  # fmt: skip
        if len(batch) == 500:
            ingest_touch_batch(engine, batch, f"user-{n % 37}")
            batch = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(f"benchmarks/out/perf-{args.events}.db")
    db.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{db}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url)
    engine = create_db_engine(url)
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    started = time.perf_counter()
    fill(engine, settings, args.events, days=90)
    with engine.connect() as conn:
        last_day = conn.scalar(select(func.max(web_events.c.day)))
    load_touches(engine, max(10_000, args.events // 50), last_day)
    print(f"data ready in {time.perf_counter() - started:.1f} s")

    replica_dir = db.parent / f"replica-{args.events}"
    started = time.perf_counter()
    store = ReplicaStore(engine, replica_dir)
    store.refresh()
    print(f"replica build or load: {time.perf_counter() - started:.2f} s, RSS {rss_mib():.0f} MiB")
    key = secret_key(engine, "bench")
    service = HeatmapService(store, settings, key)
    w60 = {"from_": (last_day - timedelta(days=59)).isoformat(), "to": last_day.isoformat()}
    w30 = {"from_": (last_day - timedelta(days=29)).isoformat(), "to": last_day.isoformat()}
    w7 = {"from_": (last_day - timedelta(days=6)).isoformat(), "to": last_day.isoformat()}
    ranked = service.list_pages(limit=100, **w60)["entities"]
    walk = service.list_pages(limit=100, sort_by="CLICKS", sort_dir="ASC", **w60)["entities"]
    top, mid = ranked[0]["pageKey"], walk[len(walk) // 2]["pageKey"]

    print("pages list and summary (replica), median of 5:")
    cases = {
        "list 60 d, CLICKS": lambda: service.list_pages(**w60),
        "list 60 d, ISSUE_SCORE": lambda: service.list_pages(sort_by="ISSUE_SCORE", **w60),
        "list 60 d, PAGE_KEY asc": lambda: service.list_pages(sort_by="PAGE_KEY", sort_dir="ASC", **w60),
        "list 30 d, DEAD_RATE": lambda: service.list_pages(sort_by="DEAD_RATE", **w30),
        "list 7 d, CLICKS": lambda: service.list_pages(**w7),
        "list 60 d, country=US": lambda: service.list_pages(country="US", **w60),
        "list 60 d, US + Chrome": lambda: service.list_pages(country="US", browser_name="Chrome", **w60),
        "list 60 d, search": lambda: service.list_pages(search="/p/12", **w60),
        "summary top page (60 d)": lambda: service.page_summary(page_key=top, breakpoint="desktop", **w60),
        "summary mid-tail page": lambda: service.page_summary(page_key=mid, breakpoint="desktop", **w60),
        "mobile query ALL_USERS": lambda: query_touch_heatmap(store, {"screenName": "screen_1"}),
        "mobile query PER_USER": lambda: query_touch_heatmap(
            store, {"screenName": "screen_1", "mode": "PER_USER"}
        ),
    }
    ours: dict[str, float] = {}
    for name, action in cases.items():
        ours[name] = median_ms(action)
        print(f"  {name:32s} {ours[name]:9.1f} ms")

    started = time.perf_counter()
    lag_event = {
        "type": "click", "timestamp": datetime.now(UTC).isoformat(), "sessionId": "lag", "visitorId": "lag",
        "url": top, "viewportWidth": 1280, "viewportHeight": 800, "documentWidth": 1280,
        "documentHeight": 3000, "x": 10, "y": 10,
    }  # fmt: skip
    ingest_web_batch(engine, settings, [lag_event])
    today = datetime.now(UTC).date().isoformat()
    while not service.list_pages(from_=today, to=today)["entities"]:
        time.sleep(0.05)
    print(f"freshness lag (ingested -> visible to queries): {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    restarted = HeatmapService(ReplicaStore(engine, replica_dir), settings, key)
    restarted.list_pages(**w60)
    print(f"restart to first answer: {time.perf_counter() - started:.2f} s")
    print(f"peak RSS of this reader: {rss_mib():.0f} MiB (two replicas loaded)")

    parquet = db.parent / f"events-{args.events}.parquet"
    if not parquet.exists():
        snap = store.refresh()
        strings = {column: pl.String for column in CATEGORICAL_COLUMNS}
        pl.concat([snap.base, snap.tail]).cast(strings).write_parquet(parquet)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{parquet}')")
    from_day, to_day = w60["from_"], w60["to"]
    duck_pages = median_ms(lambda: con.execute(DUCKDB_PAGES, [from_day, to_day]).fetchall(), runs=3)
    duck_summary = median_ms(lambda: con.execute(DUCKDB_SUMMARY, [top, from_day, to_day]).fetchall(), runs=3)
    check = con.execute(DUCKDB_PAGES, [from_day, to_day]).fetchall()
    agree = [(r[0], r[1], r[2], r[3]) for r in check[:10]] == [
        (e["pageKey"], e["totalClicks"], e["rageClicks"], e["deadClicks"]) for e in ranked[:10]
    ]
    print("DuckDB over Parquet (rage computed at query time), median of 3:")
    list_ratio = ours["list 60 d, CLICKS"] / duck_pages
    summary_ratio = ours["summary top page (60 d)"] / duck_summary
    print(f"  pages list 60 d        {duck_pages:9.1f} ms   ratio ours/DuckDB {list_ratio:.3f}")
    print(f"  summary top page       {duck_summary:9.1f} ms   ratio ours/DuckDB {summary_ratio:.3f}")
    print(f"  top-10 pages agree with ours: {agree}")


if __name__ == "__main__":
    main()
