"""What the replica reads from SQL (the source of truth) to stay fresh, and the signal to start over.

Events are only appended, each with a sequence number committed in order (``db.write_transaction``), so
a replica copies ``seq`` above its mark. A late click can change the rage flags of older clicks: ingestion
stamps such rows with a ``flags_rev`` (a sequence number), so a replica also reads the flags changed since
its flags mark; the replica applies the flags SQL holds and never computes rage itself. Deletions
(purge, forget) cannot be seen this way: they bump the data generation (:mod:`data_layer.deletions`),
and a replica seeing a new generation rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from data_layer import deletions
from data_layer.replica.runs import compact
from data_layer.schema import web_events
from data_layer.store import WEB_EVENT_SCHEMA, rows_frame, web_column

FLAG_SCHEMA: dict[str, Any] = {name: WEB_EVENT_SCHEMA[name] for name in ("seq", "rage", "rage_start")}
_FETCH_CHUNK = 100_000


def head(conn: Connection) -> tuple[int, str]:
    """(newest sequence number, data generation): one indexed look-up each, what every refresh asks."""
    last = conn.scalar(select(func.coalesce(func.max(web_events.c.seq), 0)))
    return int(last or 0), deletions.generation(conn)


def rows_after(conn: Connection, after: int, upto: int) -> Iterator[pl.DataFrame]:
    """Compacted frames of the rows with ``after < seq <= upto``, in chunks, in arrival order (each chunk
    compacted as it comes, so a first build never holds the wide frames of every row)."""
    columns = [web_column(name) for name in WEB_EVENT_SCHEMA]
    start = after
    while start < upto:
        stop = min(upto, start + _FETCH_CHUNK)
        rows = conn.execute(
            select(*columns)
            .where(web_events.c.seq > start, web_events.c.seq <= stop)
            .order_by(web_events.c.seq)
        ).all()
        if rows:
            yield compact(rows_frame(rows, WEB_EVENT_SCHEMA))
        start = stop


def flag_changes(conn: Connection, since: int) -> pl.DataFrame:
    """(seq, rage, rage_start) of the rows whose flags changed after ``since``.

    Rows newer than the replica come along and patch nothing (they are copied whole). Bounding ``seq``
    as well would tempt SQLite to walk the primary key over every row instead of the ``flags_rev``
    index.
    """
    query = select(*(web_events.c[name] for name in FLAG_SCHEMA)).where(web_events.c.flags_rev > since)
    return rows_frame(conn.execute(query).all(), FLAG_SCHEMA)
