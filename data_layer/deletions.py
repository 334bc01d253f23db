"""What a deletion (purge, forget) must reach besides the SQL rows: every copy derived from the events.

The columnar replica (:mod:`data_layer.replica`) copies new rows by sequence number, which never shows
that rows went away. So a deletion bumps the data generation in ``app_meta`` inside its transaction, and
every replica that reads a new generation rebuilds; and it removes the replica's files, which still hold
the deleted rows. Retention (the write side) and the replica (the read side) both import this module,
so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, select

from data_layer.schema import app_meta

GENERATION_KEY = "web_events_generation"
REPLICA_FILE_PREFIX = "web_events-"
"""Every file a replica writes starts with it, so a deletion can remove them all."""


def bump_generation(conn: Connection) -> None:
    """Tell every replica that rows were deleted (call inside the deleting transaction)."""
    current = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == GENERATION_KEY))
    if current is None:
        conn.execute(app_meta.insert().values(key=GENERATION_KEY, value="1"))
    else:
        conn.execute(
            app_meta.update().where(app_meta.c.key == GENERATION_KEY).values(value=str(int(current) + 1))
        )


def generation(conn: Connection) -> str:
    """The data generation: ``"0"`` until the first deletion, one more after each."""
    return str(conn.scalar(select(app_meta.c.value).where(app_meta.c.key == GENERATION_KEY)) or "0")


def discard_replica_files(replica_dir: Path) -> None:
    """Remove every replica file in ``replica_dir``: they are only a cache and would keep deleted rows."""
    if replica_dir.is_dir():
        for path in replica_dir.glob(f"{REPLICA_FILE_PREFIX}*"):
            path.unlink(missing_ok=True)
