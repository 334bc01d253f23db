"""Latency of the sessions list (CONTRACT 13) at scale. Prints figures.

    .venv/bin/python -m benchmarks.sessions_latency --events 10000000

The events are those of ``benchmarks.performance`` (``benchmarks/out/perf-<events>.db`` and its replica
files; run that first), read through the replica as the API reads them, without writing to that
database. The recordings' look-ups run on a database of their own in a temporary directory, filled with
``--recorded`` sessions of ``--chunks`` chunks each.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import func, insert, select

from benchmarks.query_latency import median_ms, rss_mib
from data_layer.db import create_db_engine, write_transaction
from data_layer.filters import WebFilters, Window
from data_layer.migrate import upgrade
from data_layer.recordings import recorded_sessions, recordings_mark
from data_layer.replica import ReplicaStore
from data_layer.schema import recording_chunks, recordings, web_events
from data_layer.sessions import SessionQuery


def fill_recordings(url: str, sessions: list[str], chunks: int) -> None:
    """``chunks`` small chunks for each of ``sessions``, stored a minute apart, and their sessions' rows."""
    engine = create_db_engine(url)
    start = datetime(2026, 10, 1)
    rows = [
        {
            "session_id": session_id,
            "seq": seq,
            "visitor_id": f"v-{session_id}",
            "page_key": "https://bench.example.com/p/0",
            "first_ts": start,
            "last_ts": start,
            "event_count": 10,
            "created_at": start + timedelta(minutes=number * chunks + seq),
            "decoded_size": 2000,
            "events": b"x" * 200,
        }
        for number, session_id in enumerate(sessions)
        for seq in range(chunks)
    ]
    summaries = [
        {
            "session_id": session_id,
            "chunks": chunks,
            "decoded_size": 2000 * chunks,
            "first_stored_at": start + timedelta(minutes=number * chunks),
        }
        for number, session_id in enumerate(sessions)
    ]
    with write_transaction(engine) as conn:
        for offset in range(0, len(rows), 10_000):
            conn.execute(insert(recording_chunks), rows[offset : offset + 10_000])
        conn.execute(insert(recordings), summaries)
    engine.dispose()


def show(name: str, action: Callable[[], object]) -> None:
    print(f"  {name:<46} {median_ms(action):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--recorded", type=int, default=50_000, help="sessions with a recording")
    parser.add_argument("--chunks", type=int, default=20, help="chunks per recorded session")
    args = parser.parse_args()
    db = Path(f"benchmarks/out/perf-{args.events}.db")
    if not db.exists():
        raise SystemExit(f"{db} is missing: run benchmarks.performance --events {args.events} first")
    engine = create_db_engine(f"sqlite:///{db}")
    started = time.perf_counter()
    store = ReplicaStore(engine, db.parent / f"replica-{args.events}")
    store.refresh()
    print(f"replica load: {time.perf_counter() - started:.2f} s, RSS {rss_mib():.0f} MiB")
    with engine.connect() as conn:
        last_day = conn.scalar(select(func.max(web_events.c.day)))
    w60 = Window(last_day - timedelta(days=59), last_day)
    everyone = SessionQuery(w60)
    events = store.web_events(w60.from_day, w60.to_day, columns=["session_id", "page_key"])
    sessions = events["session_id"].unique().cast(pl.String).sort().to_list()
    top_page = str(events["page_key"].value_counts(sort=True)["page_key"][0])
    print(f"{events.height:,} events of {len(sessions):,} sessions in the 60-day window")
    recorded = set(random.Random(7).sample(sessions, min(args.recorded, len(sessions))))
    del events
    snapshot = store.last_seq()

    def page(query: SessionQuery, offset: int = 0) -> Callable[[], object]:
        return lambda: store.session_page(
            query, recorded=recorded, offset=offset, limit=26, as_of_seq=snapshot
        )

    print("sessions list through the replica, 60-day window, 25 a page, median of 5:")
    cases = {
        "first page": page(everyone),
        "page at offset 10,000": page(everyone, 10_000),
        "country=US": page(SessionQuery(w60, WebFilters(country="US"))),
        "US + Chrome": page(SessionQuery(w60, WebFilters(country="US", browser="Chrome"))),
        "pageKey = the most visited page": page(SessionQuery(w60, page_key=top_page)),
        f"hasRecording=true ({len(recorded):,} recorded)": page(SessionQuery(w60, has_recording=True)),
    }
    for name, action in cases.items():
        show(name, action)

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/recordings.db"
        upgrade(url)
        fill_recordings(url, sorted(recorded), args.chunks)
        recordings = create_db_engine(url)
        mark = recordings_mark(recordings)
        among = sorted(recorded)[:26]
        print(f"recordings in SQLite: {len(recorded) * args.chunks:,} chunks of {len(recorded):,} sessions:")
        show("snapshot mark (newest created_at)", lambda: recordings_mark(recordings))
        show("hasRecording of a page (26 ids)", lambda: recorded_sessions(recordings, mark, among))
        show("every recorded session (hasRecording filter)", lambda: recorded_sessions(recordings, mark))
        recordings.dispose()
    print(f"peak RSS: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
