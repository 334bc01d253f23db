"""The shipper's SQLite reads (data_layer.sqlite_arrow): the same values as the sqlite3 module whatever
the order of types in the rows, in a child process that leaves the parent's connections working."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from data_layer.db import create_db_engine
from data_layer.sqlite_arrow import SqliteReader, frame_of, sqlite_file

ROWS = 3_000
"""More than the driver's default batch (1,024 rows), whose first values would type each column."""


@pytest.fixture
def reader(tmp_path: Path) -> SqliteReader:
    path = tmp_path / "events.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "CREATE TABLE t (seq INTEGER PRIMARY KEY, label TEXT, x FLOAT, never TEXT, flag BOOLEAN)"
        )
        rows = [
            # Nulls first (scrolls before any click), then text and numbers; floats that need 17 digits.
            (
                seq,
                None if seq <= 2_000 else f'b{seq} "quoted" ,\n',
                None if seq <= 2_000 else seq / 3,
                None,
                seq % 2,
            )
            for seq in range(1, ROWS + 1)
        ]
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    reader = SqliteReader(path, busy_timeout_ms=1_000)
    yield reader
    reader.close()


def test_a_block_reads_the_values_sqlite3_reads(reader: SqliteReader) -> None:
    sql = "SELECT seq, label, x, never, flag FROM t WHERE seq > 0 AND seq <= 3000 ORDER BY seq"
    frame = frame_of(reader.submit(sql, batch_rows=ROWS))
    with sqlite3.connect(reader.path) as conn:
        expected = conn.execute(sql).fetchall()
    assert frame.rows() == expected
    assert frame.schema["label"] == pl.String and frame.schema["x"] == pl.Float64
    assert frame.get_column("never").null_count() == ROWS, "a column NULL everywhere reads as nulls"


def test_reads_go_on_while_the_parent_writes_and_after_a_dead_child(reader: SqliteReader) -> None:
    engine = create_db_engine(f"sqlite:///{reader.path}")
    assert sqlite_file(engine) == reader.path
    sql = "SELECT count(*), max(seq) FROM t"
    held = sqlite3.connect(reader.path, isolation_level=None)  # open in the parent throughout
    for round_ in range(3):
        assert frame_of(reader.submit(sql, batch_rows=1)).rows() == [(ROWS + round_, ROWS + round_)]
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t (label) VALUES ('new')")
        assert held.execute("SELECT count(*) FROM t").fetchone() == (ROWS + round_ + 1,)
    assert held.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    held.close()
    next(iter(reader._pool._processes.values())).kill()  # type: ignore[union-attr]
    with pytest.raises(Exception):  # noqa: B017 - whichever way the pool reports it
        frame_of(reader.submit(sql, batch_rows=1))
    reader.close()
    assert frame_of(reader.submit(sql, batch_rows=1)).rows() == [(ROWS + 3, ROWS + 3)], (
        "a new child after close"
    )
    engine.dispose()


def test_only_a_sqlite_file_is_read_apart(tmp_path: Path) -> None:
    assert sqlite_file(create_db_engine("sqlite://")) is None
    assert sqlite_file(create_db_engine("postgresql+psycopg://u@127.0.0.1/x")) is None
