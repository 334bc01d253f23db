"""Retention and erasure: deleting old events and every trace of one visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, delete, select

from data_layer.db import write_transaction
from data_layer.ingest import refresh_rage_flags
from data_layer.replica import bump_generation
from data_layer.schema import touch_events, web_events
from data_layer.settings import Settings


@dataclass(frozen=True)
class DeletionResult:
    web_events: int
    touch_events: int


def purge_older_than(
    engine: Engine, settings: Settings, days: int, today: date | None = None
) -> DeletionResult:
    """Delete events whose UTC day is more than ``days`` days before today (today counts as day 0).

    A rage run crossing the cutoff midnight loses its older clicks, so the flags of the sessions on the
    first kept day are recomputed.
    """
    if days < 1:
        raise ValueError("--older-than must be at least 1 day")
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=days)
    with write_transaction(engine) as conn:
        web = conn.execute(delete(web_events).where(web_events.c.day < cutoff)).rowcount
        touch = conn.execute(delete(touch_events).where(touch_events.c.day < cutoff)).rowcount
        if web or touch:
            bump_generation(conn)
        if web:
            boundary = select(web_events.c.session_id, web_events.c.page_key).where(
                web_events.c.day == cutoff, web_events.c.event_type == "click"
            )
            refresh_rage_flags(conn, [(s, p) for s, p in conn.execute(boundary.distinct())], settings)
    return DeletionResult(web, touch)


def forget_visitor(engine: Engine, visitor_id: str) -> DeletionResult:
    """Erase a person: their web events (by visitorId) and touch events (by user id)."""
    if not visitor_id:
        raise ValueError("--visitor must not be empty")
    with write_transaction(engine) as conn:
        web = conn.execute(delete(web_events).where(web_events.c.visitor_id == visitor_id)).rowcount
        touch = conn.execute(delete(touch_events).where(touch_events.c.user_id == visitor_id)).rowcount
        if web or touch:
            bump_generation(conn)
    return DeletionResult(web, touch)
