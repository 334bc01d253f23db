"""The performance budget of ARCHITECTURE.md, measured in one run. Prints figures (medians).

    .venv/bin/python -m benchmarks.performance --events 1000000          # quick check
    .venv/bin/python -m benchmarks.performance --events 10000000         # the budget's data set

Generates the benchmark data set (heatmaps_testing/dataset.py) into a SQLite database through the service
layer (reused across runs with the same --db), then measures: the pages list (windows, sorts, filters)
and page summaries through the replica, the mobile query, freshness lag, restart-to-first-answer, peak
RSS, the same pages list and summary computed by DuckDB over a Parquet export of the raw events (what an
analyst would do by hand) with the ratio ours / DuckDB, ingestion throughput (benchmarks/ingest_throughput.py:
service layer and HTTP, SQLite and PostgreSQL), and finally the dashboard's Pages and Heatmap views
rendered in headless Chromium (benchmarks/dashboard_render.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
from sqlalchemy import func, select

from api.touch_json import response_message
from api.web_json import page_list_body
from benchmarks.dashboard_render import measure as measure_dashboard
from benchmarks.ingest_throughput import batches
from benchmarks.ingest_throughput import measure as measure_ingestion
from benchmarks.ingest_throughput import report as report_ingestion
from benchmarks.query_latency import fill, median_ms, perf_database, rss_mib
from data_layer.auth import secret_key
from data_layer.db import create_db_engine
from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_touch_batch, ingest_web_batch
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.replica.runs import CATEGORICAL_COLUMNS
from data_layer.schema import touch_events, web_events
from data_layer.service import HeatmapService, PageSummary
from data_layer.settings import Settings
from data_layer.touch_query import TouchQuery, query_touch_heatmap

DUCKDB_PAGES = """
WITH clicks AS (
    SELECT page_key, breakpoint, session_id, ts, seq, x, y, dead
    FROM events WHERE event_type = 'click' AND day BETWEEN ? AND ?
), steps AS (
    SELECT *, (epoch_us(ts) - epoch_us(lag(ts) OVER w) < 1000000
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
DUCKDB_SUMMARY = [
    # Rage runs at query time over the page's clicks, then click, rage and dead bins of one breakpoint.
    """
    CREATE OR REPLACE TEMP TABLE page_clicks AS
    WITH clicks AS (
        SELECT breakpoint, session_id, ts, seq, x, y, document_width, dead, selector
        FROM events WHERE page_key = $page AND event_type = 'click' AND day BETWEEN $from AND $to
    ), steps AS (
        SELECT *, coalesce(epoch_us(ts) - epoch_us(lag(ts) OVER w) < 1000000
                           AND abs(x - lag(x) OVER w) + abs(y - lag(y) OVER w) < 30, false) AS chained
        FROM clicks WINDOW w AS (PARTITION BY session_id, breakpoint ORDER BY ts, seq)
    ), runs AS (
        SELECT *, sum(CASE WHEN chained THEN 0 ELSE 1 END) OVER (
            PARTITION BY session_id, breakpoint ORDER BY ts, seq) AS run
        FROM steps
    )
    SELECT *, count(*) OVER (PARTITION BY session_id, breakpoint, run) >= 3 AND NOT chained AS rage_start
    FROM runs
    """,
    """
    SELECT least(floor(greatest(least(x * 100 / document_width, 100), 0)), 99) AS bin_x,
           floor(y / 16) AS bin_y, count(*) AS clicks, count(*) FILTER (WHERE rage_start) AS rage_events
    FROM page_clicks WHERE breakpoint = 'desktop' GROUP BY 1, 2 ORDER BY 2, 1
    """,
    """
    WITH per_selector AS (
        SELECT least(floor(greatest(least(x * 100 / document_width, 100), 0)), 99) AS bin_x,
               floor(y / 16) AS bin_y, selector, count(*) AS n
        FROM page_clicks WHERE breakpoint = 'desktop' AND dead GROUP BY 1, 2, 3
    )
    SELECT bin_x, bin_y, sum(n) OVER (PARTITION BY bin_x, bin_y) AS dead_clicks, selector AS top_element
    FROM per_selector
    QUALIFY row_number() OVER (PARTITION BY bin_x, bin_y ORDER BY selector IS NULL, n DESC, selector) = 1
    ORDER BY 2, 1
    """,
    # Scroll reach and fold: each session's deepest scroll.
    """
    WITH deepest AS (
        SELECT session_id, max(depth) AS depth, arg_max(viewport_height, (depth, ts, seq)) AS viewport_height
        FROM events WHERE page_key = $page AND breakpoint = 'desktop' AND event_type = 'scroll'
                     AND depth IS NOT NULL AND day BETWEEN $from AND $to
        GROUP BY session_id
    )
    SELECT """
    + ", ".join(f"count(*) FILTER (WHERE depth >= {bucket})" for bucket in range(0, 101, 10))
    + """, median(viewport_height) AS fold
    FROM deepest
    """,
    # Replays: the five best sessions per breakpoint, with the visitor and day of their first event.
    """
    WITH page_events AS (
        SELECT e.breakpoint, e.session_id, e.visitor_id, e.ts, e.seq, e.event_type, e.dead,
               coalesce(c.rage_start, false) AS rage_start
        FROM events e LEFT JOIN page_clicks c ON e.seq = c.seq
        WHERE e.page_key = $page AND e.day BETWEEN $from AND $to
    ), ranked AS (
        SELECT breakpoint, session_id,
               count(*) FILTER (WHERE event_type = 'click' AND rage_start) AS rage_events,
               count(*) FILTER (WHERE event_type = 'click' AND dead) AS dead_clicks,
               count(*) FILTER (WHERE event_type = 'click') AS clicks, max(ts) AS last_ts,
               arg_min(visitor_id, (ts, seq)) AS visitor_id, min(ts)::DATE AS first_day
        FROM page_events GROUP BY 1, 2
    )
    SELECT * FROM ranked QUALIFY row_number() OVER (
        PARTITION BY breakpoint
        ORDER BY rage_events DESC, dead_clicks DESC, clicks DESC, last_ts DESC, session_id) <= 5
    """,
]


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


def restarted_reader(url: str, replica_dir: Path, window: Window, top: str) -> tuple[float, float, float]:
    """In a fresh process, as an API worker starts: seconds to the first pages list answered from the
    replica's files, then a top-page summary (ms), and the process's peak RSS (MiB) after both."""
    started = time.perf_counter()
    settings = Settings(_env_file=None, database_url=url)
    service = HeatmapService(ReplicaStore(create_db_engine(url), replica_dir), settings, b"bench")
    service.list_pages(window)
    first_answer = time.perf_counter() - started
    summary_ms = median_ms(lambda: service.page_summary(PageRef(top, "desktop"), window))
    return first_answer, summary_ms, rss_mib()


INGEST_EVENTS = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = perf_database(args.events, args.db)
    url = f"sqlite:///{db}"
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
    w60 = Window(last_day - timedelta(days=59), last_day)
    w30 = Window(last_day - timedelta(days=29), last_day)
    w7 = Window(last_day - timedelta(days=6), last_day)
    ranked = page_list_body(service.list_pages(w60, limit=100))["entities"]
    walk = page_list_body(service.list_pages(w60, limit=100, sort=("CLICKS", False)))["entities"]
    top, mid = ranked[0]["pageKey"], walk[len(walk) // 2]["pageKey"]

    print("pages list and summary (replica), median of 5:")
    cases = {
        "list 60 d, CLICKS": lambda: service.list_pages(w60),
        "list 60 d, ISSUE_SCORE": lambda: service.list_pages(w60, sort=("ISSUE_SCORE", True)),
        "list 60 d, PAGE_KEY asc": lambda: service.list_pages(w60, sort=("PAGE_KEY", False)),
        "list 30 d, DEAD_RATE": lambda: service.list_pages(w30, sort=("DEAD_RATE", True)),
        "list 7 d, CLICKS": lambda: service.list_pages(w7),
        "list 60 d, country=US": lambda: service.list_pages(w60, WebFilters(country="US")),
        "list 60 d, US + Chrome": lambda: service.list_pages(w60, WebFilters(country="US", browser="Chrome")),
        "list 60 d, search": lambda: service.list_pages(w60, search="/p/12"),
        "summary top page (60 d)": lambda: service.page_summary(PageRef(top, "desktop"), w60),
        "summary mid-tail page": lambda: service.page_summary(PageRef(mid, "desktop"), w60),
        "mobile query ALL_USERS": lambda: response_message(
            query_touch_heatmap(store, TouchQuery.create("screen_1"))
        ),
        "mobile query PER_USER": lambda: response_message(
            query_touch_heatmap(store, TouchQuery.create("screen_1", per_user=True))
        ),
    }
    ours: dict[str, float] = {}
    for name, action in cases.items():
        ours[name] = median_ms(action)
        print(f"  {name:32s} {ours[name]:9.1f} ms")

    started = time.perf_counter()
    lag_event = {
        "type": "click", "timestamp": datetime.now(UTC).isoformat(), "sessionId": "lag", "visitorId": "lag",
        "url": "https://bench.example/freshness-probe", "viewportWidth": 1280, "viewportHeight": 800,
        "documentWidth": 1280, "documentHeight": 3000, "x": 10, "y": 10,
    }  # fmt: skip
    ingest_web_batch(engine, settings, [lag_event])
    today = datetime.now(UTC).date()
    while service.list_pages(Window(today, today)).pages.is_empty():
        time.sleep(0.05)
    print(f"freshness lag (ingested -> visible to queries): {time.perf_counter() - started:.2f} s")

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        first_answer, summary_ms, reader_rss = pool.apply(restarted_reader, (url, replica_dir, w60, top))
    print(f"restart to first answer (a new reader process): {first_answer:.2f} s")
    print(
        f"  then the top-page summary in {summary_ms:.1f} ms; peak RSS of that reader: {reader_rss:.0f} MiB"
    )
    print(f"peak RSS of this process (built the replica from SQL, two replicas loaded): {rss_mib():.0f} MiB")

    parquet = db.parent / f"events-{args.events}.parquet"
    snap = store.refresh()
    stored = sum(frame.height for frame in snap.frames)
    if not parquet.exists() or pl.scan_parquet(parquet).select(pl.len()).collect().item() != stored:
        # What a dump of the table gives an analyst: arrival order, no derived rage flags.
        raw = pl.concat(snap.frames).sort("seq").drop("rage", "rage_start")
        raw.cast({column: pl.String for column in CATEGORICAL_COLUMNS}).write_parquet(parquet)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{parquet}')")
    from_day, to_day = w60.from_day.isoformat(), w60.to_day.isoformat()
    duck_pages = median_ms(lambda: con.execute(DUCKDB_PAGES, [from_day, to_day]).fetchall(), runs=3)
    summary_args = {"page": top, "from": from_day, "to": to_day}

    def duck_summary_run() -> list[list[tuple]]:
        results = []
        for statement in DUCKDB_SUMMARY:
            used = {name: value for name, value in summary_args.items() if f"${name}" in statement}
            results.append(con.execute(statement, used).fetchall())
        return results

    duck_summary = median_ms(duck_summary_run, runs=3)
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
    summary = service.page_summary(PageRef(top, "desktop"), w60)
    _, duck_bins, duck_dead, duck_scroll, _ = duck_summary_run()
    same_bins = _bins_agree(duck_bins, summary)
    same_dead = [(int(x), int(y), n, e) for x, y, n, e in duck_dead] == summary.dead_bins.rows()
    same_scroll = list(duck_scroll[0][:11]) == summary.scroll_reach["sessions"].to_list()
    print(f"  top-page summary agrees with ours: bins {same_bins}, dead {same_dead}, scroll {same_scroll}")

    con.close()
    print(f"ingestion, {INGEST_EVENTS:,} events in batches of 500 into fresh databases, median of 3:")
    report_ingestion(measure_ingestion(batches(INGEST_EVENTS), runs=3))
    print("dashboard in headless Chromium (navigation to fully rendered; warm = median of 5):")
    for name, seconds in measure_dashboard(db, runs=5, replica_dir=replica_dir).items():
        print(f"  {name:32s} {seconds * 1000:9.1f} ms")


def _bins_agree(duck_bins: list[tuple], summary: PageSummary) -> bool:
    """DuckDB's (bin_x, bin_y, clicks, rage events) against our click and rage bins."""
    ours_clicks = summary.click_bins.rows()
    ours_rage = summary.rage_bins.select("bin_x", "bin_y", "rage_events").rows()
    return [(int(x), int(y), n) for x, y, n, _ in duck_bins] == ours_clicks and [
        (int(x), int(y), r) for x, y, _, r in duck_bins if r
    ] == ours_rage


if __name__ == "__main__":
    main()
