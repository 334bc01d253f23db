"""New or returning (CONTRACT 14): a visitor's events are 'new' in the first session the server saw of
them, 'returning' in every later one.

Decided at ingestion and stored on each event, so a segment filter is a plain column match on every
reader. The first session of each visitor is kept in ``visitors``: one primary-key look-up per visitor
of a batch, whatever the visitor's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

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


def assign_visitor_types(conn: Connection, rows: list[list[Any]]) -> None:
    """Set each row's visitor type (rows as :data:`WEB_ROW_COLUMNS`, about to be inserted in this write
    transaction) and record the first session of visitors seen for the first time."""
    batch_firsts = first_sessions(rows)
    known: dict[str, str] = {}
    ids = list(batch_firsts)
    for start in range(0, len(ids), IN_LIST_CHUNK):
        chunk = ids[start : start + IN_LIST_CHUNK]
        query = select(visitors.c.visitor_id, visitors.c.first_session_id).where(
            visitors.c.visitor_id.in_(chunk)
        )
        known.update((str(visitor), str(session)) for visitor, session in conn.execute(query))
    fresh = {visitor: session for visitor, session in batch_firsts.items() if visitor not in known}
    if fresh:
        conn.execute(
            visitors.insert(),
            [{"visitor_id": visitor, "first_session_id": session} for visitor, session in fresh.items()],
        )
    firsts = known | fresh
    for row in rows:
        row[_TYPE] = NEW if firsts[row[_VISITOR]] == row[_SESSION] else RETURNING
