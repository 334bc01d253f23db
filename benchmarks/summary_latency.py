"""The top-page summary, the slowest read, taken apart: service layer, its parts, and HTTP. Prints figures.

    .venv/bin/python -m benchmarks.summary_latency --events 10000000

Reuses the data set of ``benchmarks.performance`` (same --events, same database under benchmarks/out/;
generated through the service layer on first use) and its replica files, so the figures compare with the
performance table in docs/performance.md.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.web_json import summary_text
from benchmarks.query_latency import fill, median_ms, perf_database
from data_layer import metrics
from data_layer.auth import Permission, create_token, secret_key
from data_layer.db import create_db_engine
from data_layer.filters import WebFilters, Window
from data_layer.page_ref import PageRef
from data_layer.replica import ReplicaStore
from data_layer.schema import web_events
from data_layer.service import HeatmapService
from data_layer.settings import Settings

RUNS = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    db = perf_database(args.events)
    url = f"sqlite:///{db}"
    settings = Settings(_env_file=None, database_url=url, rate_limit_query_per_minute=1_000_000)
    engine = create_db_engine(url)
    fill(engine, settings, args.events, days=90)
    with engine.connect() as conn:
        last_day = conn.scalar(select(func.max(web_events.c.day)))
    replica_dir = db.parent / f"replica-{args.events}"
    store = ReplicaStore(engine, replica_dir)
    store.refresh()
    service = HeatmapService(store, settings, secret_key(engine, "bench"))
    window = Window(last_day - timedelta(days=59), last_day)
    page = PageRef(service.list_pages(window).pages["page_key"][0], "desktop")

    summary = service.page_summary(page, window)
    sizes = f"{summary.click_bins.height:,} click bins, {summary.dead_bins.height:,} dead bins"
    print(f"top page {page.page_key}: {sizes}")

    def events() -> pl.LazyFrame:
        return store.page_events([page.page_key], window, WebFilters(), metrics.SUMMARY_COLUMNS)

    parts = {
        "summary": lambda: service.page_summary(page, window),
        "  of which: bins, dead, scroll": lambda: metrics.breakpoint_summary(events(), "desktop"),
        "            replays": lambda: metrics.replays(events(), template=settings.replay_template()),
        "the API's JSON text of it": lambda: summary_text(summary),
    }
    page_rows = events().select(pl.len()).collect().item()
    print(f"service layer, median of {RUNS} runs ({page_rows:,} events of the page in the window)")
    for name, action in parts.items():
        print(f"  {name:32s} {median_ms(action, RUNS):7.1f} ms")

    from api.app import create_app

    app = create_app(settings.model_copy(update={"replica_dir": replica_dir}))
    token = create_token(engine, "bench", frozenset({Permission.VIEW_HEATMAPS}))[1]
    headers = {"Authorization": f"Bearer {token}"}
    params = {
        "from": window.from_day.isoformat(),
        "to": window.to_day.isoformat(),
        "pageKey": page.page_key,
        "breakpoint": page.breakpoint,
    }
    with TestClient(app) as client:
        answer = client.get("/rest/v1/heatmap-pages/summary", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.content.decode() == summary_text(summary)
        took = median_ms(
            lambda: client.get("/rest/v1/heatmap-pages/summary", params=params, headers=headers), RUNS
        )
        size = len(answer.content) / 1024
        print(f"HTTP (in-process client): summary  {took:7.1f} ms, {size:,.0f} KiB body")


if __name__ == "__main__":
    main()
