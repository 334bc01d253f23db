"""The SQL tail (``HEATMAPS_SQL_TAIL_DAYS``, data_layer/clickhouse/tail.py) on PostgreSQL and the local
two-shard cluster: prints figures.

    .venv/bin/python -m benchmarks.sql_tail --events 1000000

Generates ``--events`` web events over 90 days ending now and ingests them into a scratch PostgreSQL
database through the service layer (batches of 500), ships them to a scratch ClickHouse database, then
cuts the SQL tail to ``--tail-days`` and prints: the cut's time and the rows it took (and SQL's size
before and after); a tracker-shaped write (5 events of today) before and after the horizon exists (what
every write pays: one more look-up); a write with one late click of a session cut away (it brings the
session's page back from ClickHouse first); the Session view of a session cut away (read from
ClickHouse) against one of today's (SQL's index); and a purge across the cut. Both scratch databases
are dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, make_url, select, text

from benchmarks.clickhouse_reads import LOCAL_CLUSTER
from benchmarks.recording_ingest import PG_ADMIN_URL
from data_layer import explore
from data_layer.clickhouse import erasure, shipper, tables, tail
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine
from data_layer.ingest import ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.retention import purge_older_than
from data_layer.schema import web_events
from data_layer.settings import Settings
from heatmaps_testing.dataset import generate

RUNS = 15


@contextmanager
def scratch_databases() -> Iterator[tuple[str, str, ClickHouseTarget]]:
    """A PostgreSQL database and a ClickHouse database on the local cluster, both dropped afterwards."""
    name = f"bench_tail_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    clickhouse_url = LOCAL_CLUSTER.replace("/heatmaps_bench?", f"/{name}?")
    target = ClickHouseTarget.parse(clickhouse_url)
    try:
        tables.create_all(target)
        yield (
            make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False),
            clickhouse_url,
            target,
        )
    finally:
        tables.drop_all(target)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def median_ms(actions: list[Callable[[], object]]) -> float:
    return statistics.median(timed_ms(action) for action in actions)


def again(event: dict[str, Any], at: datetime, **changes: Any) -> dict[str, Any]:
    """``event`` sent anew at ``at``: a new id (a new event, not a re-send), ``changes`` applied."""
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**event, "eventId": f"bench-{uuid.uuid4().hex}", "timestamp": stamp, **changes}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tail-days", type=int, default=30)
    args = parser.parse_args()
    now = datetime.now(UTC)
    today = now.date()
    rng = random.Random(7)
    with scratch_databases() as (url, clickhouse_url, target):
        upgrade(url)
        settings = Settings(database_url=url, clickhouse_url=clickhouse_url, sql_tail_days=args.tail_days)
        engine = create_db_engine(url)
        events = list(generate(events=args.events, days=90, seed=11, end=now - timedelta(minutes=5)))
        started = time.perf_counter()
        for start in range(0, len(events), 500):
            ingest_web_batch(engine, settings, events[start : start + 500])
        seconds = time.perf_counter() - started
        print(f"{len(events):,} events over 90 days into PostgreSQL: {len(events) / seconds:,.0f} events/s")
        ship = shipper.Shipper(engine, target, rollup_quiet_s=1e9)
        shipped_ms = timed_ms(ship.ship)
        print(f"shipped to ClickHouse in {shipped_ms / 1000:.1f} s")

        template = next(event for event in events if event["type"] == "click")

        def today_batch() -> Callable[[], object]:
            session = f"live-{uuid.uuid4().hex[:8]}"
            batch = [again(template, now - timedelta(seconds=n), sessionId=session) for n in range(5)]
            return lambda: ingest_web_batch(engine, settings, batch)

        before = median_ms([today_batch() for _ in range(RUNS)])
        size = tail.sql_rows(engine)["web"]
        cut_ms = timed_ms(lambda: print(f"cut: {tail.trim(engine, args.tail_days, today)}"))
        left = tail.sql_rows(engine)["web"]
        print(
            f"the first cut, {args.tail_days} days kept: {cut_ms / 1000:.1f} s, "
            f"SQL {size:,} -> {left:,} web events"
        )
        after = median_ms([today_batch() for _ in range(RUNS)])
        print(
            f"a write of 5 events of today, median of {RUNS}: {before:.1f} ms before the cut, "
            f"{after:.1f} ms after"
        )

        horizon = today - timedelta(days=args.tail_days)
        early = (horizon - timedelta(days=2)).isoformat()
        old = {
            (e["sessionId"], e["url"], e["timestamp"])
            for e in events
            if e["type"] == "click" and e["timestamp"] < early
        }
        cut_sessions = rng.sample(sorted(old), RUNS)

        def late(session: str, url: str, stamp: str) -> Callable[[], object]:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(milliseconds=200)
            event = again(template, at, sessionId=session, url=url)
            return lambda: ingest_web_batch(engine, settings, [event])

        late_ms = median_ms([late(*picked) for picked in cut_sessions])
        print(
            "a write with one late click of a session cut away (its page brought back), "
            f"median: {late_ms:.1f} ms"
        )
        ship.ship()
        again_ms = timed_ms(lambda: tail.trim(engine, args.tail_days, today))
        print(f"the next cut (the sessions brought back): {again_ms:.0f} ms")

        store = ClickHouseStore(target, engine)

        def view(session: str, stamp: str) -> Callable[[], object]:
            day = datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()
            return lambda: explore.session_events(store, session, day)

        old_view = median_ms([view(session, stamp) for session, _, stamp in cut_sessions])
        with engine.connect() as conn:
            recent = conn.execute(
                select(web_events.c.session_id, web_events.c.day)
                .where(web_events.c.day >= horizon)
                .limit(RUNS)
            ).all()
        new_view = median_ms([lambda s=s, d=d: explore.session_events(store, s, d) for s, d in recent])
        print(
            f"Session view's events, median: cut away {old_view:.1f} ms (ClickHouse), "
            f"in the tail {new_view:.1f} ms (SQL)"
        )

        purge_ms = timed_ms(
            lambda: (
                print(f"purge: {purge_older_than(engine, settings, 60, today, target)}")
                or erasure.purge_before(target, today - timedelta(days=60), engine)
            )
        )
        with engine.connect() as conn:
            remaining = conn.scalar(select(func.count()).select_from(web_events))
        print(
            f"purge older than 60 days across the cut: {purge_ms / 1000:.1f} s "
            f"(SQL keeps {remaining:,} web events)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
