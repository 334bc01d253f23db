"""SQLite checkpoints off the write path.

A checkpoint copies the write-ahead log back into the database file and syncs it to disk. SQLite runs
one in whichever connection commits past ``wal_autocheckpoint`` pages, which during ingestion is the
writer, holding the write lock while it syncs (docs/performance.md has the cost). Writers ask this
process's checkpoint thread instead, which runs passive checkpoints (they never wait for, nor block,
readers and writers) on a connection of its own, on another core. The log only starts over when a
writer begins after a checkpoint that copied all of it, which under continuous writes needs the
writer's own checkpoint: that stays, at a higher threshold, and finds little left to copy. It also
covers writes this thread is not asked about.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)

# The writers' own automatic checkpoint (SQLite's default is 1,000 pages): it bounds the log.
WRITER_CHECKPOINT_PAGES = 4_000
# How long requests gather before a checkpoint: one per burst of commits, not one per commit.
_GATHER_S = 0.2

_pending: set[Path] = set()
_wake = threading.Condition()
_thread: threading.Thread | None = None


def request_checkpoint(database: Path) -> None:
    """Ask for a passive checkpoint of ``database`` soon (starts the thread on first use)."""
    global _thread
    with _wake:
        _pending.add(database)
        if _thread is None:
            _thread = threading.Thread(target=_run, name="sqlite-checkpoint", daemon=True)
            _thread.start()
        _wake.notify()


def _forget_thread() -> None:
    """A forked child has none of its parent's threads (and its lock may be held): it starts afresh."""
    global _thread, _wake
    _thread = None
    _wake = threading.Condition()
    _pending.clear()


os.register_at_fork(after_in_child=_forget_thread)


def _run() -> None:
    while True:
        with _wake:
            _wake.wait_for(lambda: bool(_pending))
        time.sleep(_GATHER_S)
        with _wake:
            databases = list(_pending)
            _pending.clear()
        for database in databases:
            try:
                _checkpoint(database)
            except Exception:  # the thread must outlive any one database's trouble
                log.exception("checkpoint of %s failed", database)


def _checkpoint(database: Path) -> None:
    # mode=rw: a database deleted meanwhile is not created again.
    try:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=rw", uri=True, timeout=0)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:  # gone, or busy: the next request or the writer's checkpoint will do it
        log.debug("checkpoint of %s skipped: %s", database, exc)
