"""New or returning (CONTRACT 14): a visitor's events are 'new' in the first session the server saw of
them, 'returning' in every later one.

Decided at ingestion and stored on each event, so a segment filter is a plain column match on every
reader. The first session of each visitor is kept in ``visitors``: one primary-key look-up per visitor
of a batch, whatever the visitor's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from data_layer.db import IN_LIST_CHUNK
from data_layer.schema import WEB_ROW_COLUMNS, visitors

NEW = "new"
RETURNING = "returning"
VISITOR_TYPES = (NEW, RETURNING)
_TS, _SESSION, _VISITOR, _TYPE = map(
    WEB_ROW_COLUMNS.index, ("ts", "session_id", "visitor_id", "visitor_type")
)


def first_sessions(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """visitor id -> the session of the visitor's earliest row (ties: the smallest session id)."""
    earliest: dict[str, tuple[Any, str]] = {}
    for row in rows:
        candidate = (row[_TS], row[_SESSION])
        current = earliest.get(row[_VISITOR])
        if current is None or candidate < current:
            earliest[row[_VISITOR]] = candidate
    return {visitor: session for visitor, (_, session) in earliest.items()}


def assign_visitor_types(conn: Connection, batches: Sequence[list[list[Any]]]) -> None:
    """Set each row's visitor type (rows as :data:`WEB_ROW_COLUMNS`, about to be inserted in this write
    transaction) and record the first session of visitors seen for the first time.

    ``batches`` are decided in order, as if each had been written in a transaction of its own: a visitor
    new to the database is new in the first session of the first batch that holds them (group commit
    writes the batches of concurrent requests together, and must answer as if they came one by one).
    """
    firsts = _stored_first_sessions(conn, list({row[_VISITOR]: None for rows in batches for row in rows}))
    fresh: dict[str, str] = {}
    for rows in batches:
        for visitor, session in first_sessions(rows).items():
            if visitor not in firsts:
                firsts[visitor] = fresh[visitor] = session
        for row in rows:
            row[_TYPE] = NEW if firsts[row[_VISITOR]] == row[_SESSION] else RETURNING
    if fresh:
        conn.execute(
            visitors.insert(),
            [{"visitor_id": visitor, "first_session_id": session} for visitor, session in fresh.items()],
        )


def _stored_first_sessions(conn: Connection, ids: list[str]) -> dict[str, str]:
    """visitor id -> first session of the visitors among ``ids`` already recorded (plain driver SQL, as
    every ingested batch asks; PostgreSQL takes the ids as one array)."""
    query = f"SELECT visitor_id, first_session_id FROM {visitors.name} WHERE visitor_id"
    if conn.dialect.name == "postgresql":
        return {visitor: session for visitor, session in conn.exec_driver_sql(f"{query} = ANY(%s)", (ids,))}
    known: dict[str, str] = {}
    for start in range(0, len(ids), IN_LIST_CHUNK):
        chunk = tuple(ids[start : start + IN_LIST_CHUNK])
        rows = conn.exec_driver_sql(f"{query} IN ({', '.join('?' * len(chunk))})", chunk)
        known.update((visitor, session) for visitor, session in rows)
    return known
