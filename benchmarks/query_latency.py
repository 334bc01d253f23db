"""Latency of the pages list and the page summary (service layer and HTTP). Prints figures.

    .venv/bin/python -m benchmarks.query_latency --events 1000000 --db /tmp/bench.db

The database is filled once (benchmark data set, 30 days) and reused on later runs with the same --db.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from data_layer.auth import Permission, create_token, secret_key
from data_layer.db import create_db_engine
from data_layer.filters import WebFilters, Window
from data_layer.ingest import ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.schema import web_events
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.store import SqlStore
from demo_site.traffic import generate_web_events
from heatmaps_testing.dataset import generate

RUNS = 5


def median_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    action()  # warm-up
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def rss_mib() -> float:
    """Peak resident memory of this process (MiB). Linux's VmHWM, not ``ru_maxrss``: a spawned process
    inherits its parent's ``ru_maxrss`` across fork and exec, which would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def perf_database(events: int, db: Path | None = None) -> Path:
    """The benchmarks' SQLite file for a data set of ``events`` events (``benchmarks/out/perf-EVENTS.db``
    unless ``db``), migrated: :func:`fill` fills it once, and every benchmark of that size reuses it."""
    path = db or Path(f"benchmarks/out/perf-{events}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(f"sqlite:///{path}")
    return path


def fill(engine, settings: Settings, events: int, days: int = 30, *, demo_site: bool = False) -> None:
    with engine.connect() as conn:
        present = conn.scalar(select(func.count()).select_from(web_events))
    if present:
        print(f"reusing {present:,} stored events")
        return
    started = time.perf_counter()
    batch: list[dict] = []
    source = (
        generate_web_events(events=events, days=days, seed=7, end=datetime.now(UTC))
        if demo_site
        else generate(events=events, days=days)
    )
    for event in source:
        batch.append(event)
        if len(batch) == 500:
            ingest_web_batch(engine, settings, batch)
            batch = []
    if batch:
        ingest_web_batch(engine, settings, batch)
    print(f"loaded {events:,} events in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("benchmarks/out/query_latency.db"))
    parser.add_argument("--demo", action="store_true", help="use the demo site instead of the benchmark set")
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, rate_limit_query_per_minute=1_000_000)
    engine = create_db_engine(url)
    fill(engine, settings, args.events, demo_site=args.demo)
    key = secret_key(engine, "bench")
    replica_dir = args.db.parent / "replica"
    started = time.perf_counter()
    replica = ReplicaStore(engine, replica_dir)
    replica.refresh()
    print(f"replica first build (or file load + catch-up): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    restarted = HeatmapService(ReplicaStore(engine, replica_dir), settings, key)
    restarted.list_pages(Window(date(2000, 1, 1), date(2000, 1, 2)))
    print(f"restart to first answer:                      {time.perf_counter() - started:.2f} s")
    service = HeatmapService(SqlStore(engine), settings, key)
    with engine.connect() as conn:
        last = conn.scalar(select(func.max(web_events.c.day)))
    window = Window(last - timedelta(days=29), last)
    ranked = service.list_pages(window, limit=100).pages["page_key"]
    top, mid = PageRef(ranked[0], "desktop"), PageRef(ranked[len(ranked) // 2], "desktop")
    us_chrome = WebFilters(country="US", browser="Chrome")
    cases: dict[str, Callable[[], object]] = {
        "pages list, 30 days, CLICKS": lambda: service.list_pages(window),
        "pages list, 30 days, ISSUE_SCORE": lambda: service.list_pages(window, sort=("ISSUE_SCORE", True)),
        "pages list, country=US": lambda: service.list_pages(window, WebFilters(country="US")),
        "pages list, US + Chrome": lambda: service.list_pages(window, us_chrome),
        "summary, top page": lambda: service.page_summary(top, window),
        "summary, mid-tail page": lambda: service.page_summary(mid, window),
    }
    import resource

    print(f"peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"service layer, median of {RUNS} runs:{'SQL store':>24s}{'replica':>12s}")
    for name, action in cases.items():
        direct = median_ms(action)
        service.store, kept = replica, service.store
        via_replica = median_ms(action)
        service.store = kept
        print(f"  {name:36s} {direct:9.1f} ms {via_replica:9.1f} ms")

    from api.app import create_app

    app = create_app(settings.model_copy(update={"replica_dir": replica_dir}))
    token = create_token(engine, "bench", frozenset({Permission.VIEW_HEATMAPS}))[1]
    headers = {"Authorization": f"Bearer {token}"}
    params = {"from": window.from_day.isoformat(), "to": window.to_day.isoformat()}
    with TestClient(app) as client:
        http_cases = {
            "GET /heatmap-pages": lambda: client.get(
                "/rest/v1/heatmap-pages", params=params, headers=headers
            ),
            "GET /heatmap-pages/summary (top)": lambda: client.get(
                "/rest/v1/heatmap-pages/summary",
                params={**params, "pageKey": top.page_key, "breakpoint": "desktop"},
                headers=headers,
            ),
        }
        print("HTTP (in-process client, replica):")
        for name, action in http_cases.items():
            print(f"  {name:36s} {median_ms(action):9.1f} ms")


if __name__ == "__main__":
    main()
