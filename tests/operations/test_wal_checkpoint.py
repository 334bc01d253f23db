"""SQLite checkpoints run in a thread of their own, not in the committing writer."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from data_layer import db, wal_checkpoint
from data_layer.db import create_db_engine, write_transaction
from data_layer.wal_checkpoint import WRITER_CHECKPOINT_PAGES


def _write_rows(url: str, rows: int) -> None:
    engine = create_db_engine(url)
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "x" * 200}] * rows)
    engine.dispose()


def test_a_write_to_a_database_file_asks_the_thread_for_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = (tmp_path / "a.db").resolve()
    asked = threading.Event()  # other tests' requests may reach the thread too
    monkeypatch.setattr(wal_checkpoint, "_checkpoint", lambda path: path == mine and asked.set())

    _write_rows(f"sqlite:///{tmp_path / 'a.db'}", 10)

    assert asked.wait(5)


def test_writers_checkpoint_themselves_only_past_a_higher_threshold(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WRITER_CHECKPOINT_PAGES
    engine.dispose()


def test_a_checkpoint_copies_the_whole_log_into_the_database(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    with closing(sqlite3.connect(database)) as writer:  # stays open, so the log is kept
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("CREATE TABLE t (x TEXT)")
        writer.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 2000)
        writer.commit()
        assert database.stat().st_size < 2000 * 200  # the rows are in the log only

        wal_checkpoint._checkpoint(database)

        assert database.stat().st_size > 2000 * 200  # and now in the database file itself


def test_a_checkpoint_of_a_deleted_database_creates_nothing(tmp_path: Path) -> None:
    wal_checkpoint._checkpoint(tmp_path / "gone.db")

    assert not (tmp_path / "gone.db").exists()


def test_in_memory_databases_ask_for_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "request_checkpoint", lambda path: pytest.fail(str(path)))

    _write_rows("sqlite://", 1)
