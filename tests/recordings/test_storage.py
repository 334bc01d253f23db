"""How recordings are stored: a database that had chunks before the per-session rows existed (migration
0007) gets those rows from its chunks. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.schema import recording_chunks, recordings


def test_migrating_sums_up_the_chunks_already_stored(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0006")
    engine = create_db_engine(empty_database_url)
    try:
        rows = [
            {
                "session_id": session_id,
                "seq": seq,
                "visitor_id": "v1",
                "page_key": "https://example.com/",
                "first_ts": datetime(2026, 4, 10, 12),
                "last_ts": datetime(2026, 4, 10, 12),
                "event_count": 1,
                "created_at": datetime(2026, 4, 10, 12, seq),
                "decoded_size": 100 + seq,
                "events": b"x",
            }
            for session_id, seq in (("a", 2), ("a", 0), ("b", 5))
        ]
        with engine.begin() as conn:
            conn.execute(insert(recording_chunks), rows)
        upgrade(empty_database_url)
        with engine.connect() as conn:
            summed = sorted(tuple(row) for row in conn.execute(select(recordings)))
        assert summed == [
            ("a", 2, 202, datetime(2026, 4, 10, 12, 0)),
            ("b", 1, 105, datetime(2026, 4, 10, 12, 5)),
        ]
    finally:
        engine.dispose()
