"""Page patterns, saved groups, segment filters and elements at scale (CONTRACT 14, 15). Prints figures.

    .venv/bin/python -m benchmarks.groups_latency --events 10000000

Reuses the data set of ``benchmarks.performance`` (same --events, same database under benchmarks/out/;
generated through the service layer on first use) and its replica files. Also prints what the segment
and element-box keys add to the replica's memory.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import polars as pl
from sqlalchemy import func, select

from benchmarks.query_latency import fill, perf_database
from data_layer.auth import secret_key
from data_layer.db import create_db_engine
from data_layer.filters import Window, parse_filters
from data_layer.page_ref import GroupRef, PagePattern, PageRef
from data_layer.replica import ReplicaStore
from data_layer.schema import web_events
from data_layer.service import HeatmapService
from data_layer.settings import Settings

RUNS = 9
SITE = "https://bench.example.com/p/"


def median_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    action()  # warm: caches, lazily built keys
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def replica_growth(store: ReplicaStore) -> str:
    """Bytes per event of the new fields (the segment and element-box keys, the click counts kept per
    segment key), and their share of the rest of the replica (events and daily counts)."""
    snap = store.refresh()
    frames = snap.frames
    keys = sum(frame.select("segment", "rect").estimated_size() for frame in frames)
    by_segment = sum(run.segment_daily.estimated_size() for run in snap.runs)
    daily = sum(run.daily.estimated_size() for run in snap.runs)
    total = sum(frame.estimated_size() for frame in frames) + daily + by_segment
    added = keys + by_segment
    events = sum(frame.height for frame in frames)
    return (
        f"replica {total / 2**20:,.0f} MiB for {events:,} events ({total / events:.1f} B/event), of which "
        f"daily counts {daily / 2**20:,.0f} MiB; new fields {added / 2**20:,.0f} MiB "
        f"({added / events:.1f} B/event: segment and rect keys {keys / 2**20:,.0f} MiB, counts per "
        f"segment {by_segment / 2**20:,.0f} MiB), +{added / (total - added):.1%} over the rest"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    db = perf_database(args.events)
    url = f"sqlite:///{db}"
    settings = Settings(_env_file=None, database_url=url)
    engine = create_db_engine(url)
    fill(engine, settings, args.events, days=90)
    with engine.connect() as conn:
        last_day = conn.scalar(select(func.max(web_events.c.day)))
    store = ReplicaStore(engine, db.parent / f"replica-{args.events}")
    started = time.perf_counter()
    store.refresh()
    print(f"replica ready in {time.perf_counter() - started:.1f} s")
    print(replica_growth(store))
    service = HeatmapService(store, settings, secret_key(engine, "bench"))
    window = Window(last_day - timedelta(days=59), last_day)
    top = service.list_pages(window).pages["page_key"][0]

    figures: list[tuple[str, float]] = []

    def measure(name: str, action: Callable[[], object]) -> None:
        figures.append((name, median_ms(action)))
        print(f"{name:<64} {figures[-1][1]:8.1f} ms", flush=True)

    segments = {
        "utmSource=google": parse_filters(utm_source="google"),
        "tag=variant:B": parse_filters(tags=["variant:B"]),
        "visitorType=returning": parse_filters(visitor_type="returning"),
        "referrerHost + tag + utmMedium": parse_filters(
            referrer_host="www.site3.example", tags=["plan:pro"], utm_medium="cpc"
        ),
    }
    measure("pages list, no filter (baseline)", lambda: service.list_pages(window))
    one_in_ten = PagePattern(f"{SITE}1*")
    measure(
        "pages list, pagePattern .../p/1* (1,111 pages)",
        lambda: service.list_pages(window, pattern=one_in_ten),
    )
    for name, filters in segments.items():
        measure(f"pages list, {name}", lambda filters=filters: service.list_pages(window, filters))

    groups = pl.DataFrame(
        {
            "id": [f"g{n}" for n in range(50)],
            "name": [f"group {n}" for n in range(50)],
            "pattern": [f"{SITE}{n}*" for n in range(50)],
        }
    )
    measure("group list, 50 groups", lambda: service.group_list(groups, window))
    measure(
        "group list, 50 groups, tag=variant:B",
        lambda: service.group_list(groups, window, segments["tag=variant:B"]),
    )

    every = GroupRef(PagePattern(f"{SITE}*"), "desktop")
    pages = len(service.matching_pages(every.pattern))
    measure(
        f"summary, top page (baseline) {top}", lambda: service.page_summary(PageRef(top, "desktop"), window)
    )
    measure(f"summary, group of all {pages:,} pages", lambda: service.page_summary(every, window))
    tenth = GroupRef(one_in_ten, "desktop")
    measure("summary, group .../p/1* (1,111 pages)", lambda: service.page_summary(tenth, window))
    # A shop's product pages: thousands of pages with a few clicks each. The data set's pages are
    # numbered by popularity, so "four or more characters after /p/" names the 4,000 least visited.
    product_pages = GroupRef(PagePattern(f"{SITE}****"), "desktop")
    matched = len(service.matching_pages(product_pages.pattern))
    measure(
        f"summary, group .../p/**** ({matched:,} least visited pages)",
        lambda: service.page_summary(product_pages, window),
    )
    measure(
        "summary, top page, tag=variant:B",
        lambda: service.page_summary(PageRef(top, "desktop"), window, segments["tag=variant:B"]),
    )
    measure("elements, top page", lambda: service.page_elements(PageRef(top, "desktop"), window))
    measure(f"elements, group of all {pages:,} pages", lambda: service.page_elements(every, window))


if __name__ == "__main__":
    main()
