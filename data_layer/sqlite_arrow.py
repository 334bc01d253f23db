"""Large reads of a SQLite file as Arrow columns, in a process of their own (the shipper's blocks,
docs/performance.md).

The sqlite3 module hands back a Python tuple per row and an object per value, which costs more than
SQLite's own work on a block of 200,000 wide rows; ADBC's SQLite driver reads the rows into Arrow
buffers in C. Its SQLite is a copy of its own, and two copies of SQLite in one process corrupt a
database: closing a file releases every POSIX lock the process holds on it, the other copy's included
(sqlite.org/howtocorrupt.html, 2.2.1; it showed here as "disk I/O error"). So the reads run in a child
process that never opens the file with another SQLite, and come back as Arrow IPC; the parent reads
the next block while it sends the last (a core each).

SQLite types values, not columns, and the driver infers a column's type from the first batch it reads.
Each read is therefore one batch of up to ``batch_rows`` rows: a column NULL in every row reads as
Int64 nulls (None to every reader), and a column that holds values has their type.
"""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from sqlalchemy import Engine


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite engine; None for another database or an in-memory one (which no other
    process can read)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _read_ipc(path: str, sql: str, batch_rows: int, busy_timeout_ms: int) -> bytes:
    """In the child: the rows of ``sql`` as Arrow IPC (a frame of Polars', taken over without a copy
    through the Arrow C stream interface, so pyarrow is never imported)."""
    import adbc_driver_sqlite
    from adbc_driver_manager import AdbcConnection, AdbcStatement

    with (
        adbc_driver_sqlite.connect(path) as database,
        AdbcConnection(database) as connection,
        AdbcStatement(connection) as statement,
    ):
        statement.set_sql_query(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        statement.execute_update()
        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(max(1, batch_rows))})
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        frame = pl.DataFrame(stream)
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


class SqliteReader:
    """One child process reading ``path``, started on the first read and stopped by :meth:`close`.
    Spawned, not forked (the parent may run threads); as with any spawned child, the program's main
    script is imported in it, so it keeps its work under ``if __name__ == "__main__"`` (every entry
    point of the product does). A child that died fails its read; the next read after :meth:`close`
    starts another."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path, self.busy_timeout_ms = path, busy_timeout_ms
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, sql: str, batch_rows: int) -> Future[bytes]:
        """Starts reading the rows of ``sql`` (at most ``batch_rows``); :func:`frame_of` the result."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(_read_ipc, str(self.path), sql, batch_rows, self.busy_timeout_ms)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def frame_of(read: Future[bytes]) -> pl.DataFrame:
    """The frame of a read, once the child has it."""
    return pl.read_ipc(io.BytesIO(read.result()))
