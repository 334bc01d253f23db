"""New or returning (CONTRACT 14): a visitor's events are 'new' in the first session the server saw of
them, 'returning' in every later one.

Decided at ingestion and stored on each event, so a segment filter is a plain column match on every
reader. The first session of each visitor is kept in ``visitors``: one primary-key look-up per visitor
of a batch, whatever the visitor's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect

from data_layer.db import Query, in_list_queries
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


def first_sessions_queries(dialect: Dialect, visitor_ids: Sequence[str]) -> list[Query]:
    """(visitor id, first session) of the visitors among ``visitor_ids`` already recorded
    (:func:`data_layer.db.fetch_together`)."""
    select = f"SELECT visitor_id, first_session_id FROM {visitors.name} WHERE"
    return in_list_queries(dialect, select, "visitor_id", visitor_ids)


def assign_visitor_types(
    conn: Connection, batches: Sequence[list[list[Any]]], stored: Sequence[tuple[Any, ...]]
) -> None:
    """Set each row's visitor type (rows as :data:`WEB_ROW_COLUMNS`, about to be inserted in this write
    transaction) and record the first session of visitors seen for the first time.

    ``stored`` are the rows of :func:`first_sessions_queries` on (at least) the batches' visitors, read
    in this transaction. ``batches`` are decided in order, as if each had been written in a transaction
    of its own: a visitor new to the database is new in the first session of the first batch that holds
    them (group commit writes the batches of concurrent requests together, and must answer as if they
    came one by one).
    """
    firsts: dict[str, str] = {visitor: session for visitor, session in stored}
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
