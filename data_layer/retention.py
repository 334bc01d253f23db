"""Retention and erasure: deleting old events and every trace of one visitor.

Recordings go with the events: purge deletes the chunks stored before the cutoff, forget those of the
visitor; the first session remembered of a visitor (``visitors``) goes with the visitor's last event.
Besides the SQL rows, a deletion reaches the derived data: rage flags of the clicks left behind are
recomputed (a run may lose some of its clicks), every replica is told to rebuild, and the replica files
on disk, which still hold the deleted rows, are removed (:mod:`data_layer.deletions`). The database
itself may keep deleted bytes in free pages until it is vacuumed (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, exists, select

from data_layer import rage, recordings
from data_layer.clickhouse import tail
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import IN_LIST_CHUNK, write_transaction
from data_layer.deletions import bump_generation, discard_replica_files
from data_layer.schema import touch_events, visitors, web_events
from data_layer.settings import Settings, get_settings


@dataclass(frozen=True)
class DeletionResult:
    web_events: int
    touch_events: int
    recording_chunks: int = 0


def _after_deletion(
    conn: Connection, result: DeletionResult, pairs: Iterable[tuple[str, str]], settings: Settings
) -> None:
    """Inside the deleting transaction: recompute the rage flags of ``pairs``, tell replicas to rebuild."""
    if result.web_events or result.touch_events:
        bump_generation(conn)
    if result.web_events:
        rage.refresh_stored_flags(conn, pairs, settings)


def purge_cutoff(days: int, today: date | None = None) -> date:
    """The first day :func:`purge_older_than` keeps (today, UTC, counts as day 0)."""
    if days < 1:
        raise ValueError("--older-than must be at least 1 day")
    return (today or datetime.now(UTC).date()) - timedelta(days=days)


def purge_older_than(
    engine: Engine,
    settings: Settings,
    days: int,
    today: date | None = None,
    clickhouse: ClickHouseTarget | None = None,
) -> DeletionResult:
    """Delete events whose UTC day is more than ``days`` days before today (today counts as day 0), and
    the recording chunks stored before that day.

    A rage run crossing the cutoff midnight loses its older clicks, so the flags of the sessions on the
    first kept day are recomputed. Chunks go by the server's time of storing them, not by their events'
    times, which the client's clock set. With ``clickhouse``, the sessions the SQL tail cut away come
    back first where they cross the cutoff, and the events ClickHouse alone holds are counted too (the
    caller deletes them there: :func:`data_layer.clickhouse.erasure.purge_before`).
    """
    cutoff = purge_cutoff(days, today)
    with write_transaction(engine) as conn:
        # ClickHouse holds events SQL no longer does once the SQL tail was cut.
        tailed = clickhouse if clickhouse is not None and tail.horizon(conn) is not None else None
        only_there = (0, 0) if tailed is None else tail.before_purge(conn, tailed, cutoff)
        leaving = select(web_events.c.visitor_id).where(web_events.c.day < cutoff).distinct()
        deleted_visitors = set() if tailed is None else set(conn.scalars(leaving))
        web = conn.execute(delete(web_events).where(web_events.c.day < cutoff)).rowcount
        touch = conn.execute(delete(touch_events).where(touch_events.c.day < cutoff)).rowcount
        chunks = recordings.delete_stored_before(conn, datetime(cutoff.year, cutoff.month, cutoff.day))
        # Visitors with no event left are forgotten too (a later visit counts as new).
        no_event = ~exists().where(web_events.c.visitor_id == visitors.c.visitor_id)
        if tailed is not None:
            gone = sorted(tail.visitors_gone(conn, tailed, cutoff, deleted_visitors))
            for start in range(0, len(gone), IN_LIST_CHUNK):
                chunk = gone[start : start + IN_LIST_CHUNK]
                conn.execute(delete(visitors).where(visitors.c.visitor_id.in_(chunk), no_event))
        elif web:
            conn.execute(delete(visitors).where(no_event))
        result = DeletionResult(web + only_there[0], touch + only_there[1], chunks)
        boundary = select(web_events.c.session_id, web_events.c.page_key).where(
            web_events.c.day == cutoff, web_events.c.event_type == "click"
        )
        pairs = [(s, p) for s, p in conn.execute(boundary.distinct())] if web else []
        _after_deletion(conn, result, pairs, settings)
    if result.web_events or result.touch_events:
        discard_replica_files(settings.replica_dir)
    return result


def forget_visitor(
    engine: Engine,
    visitor_id: str,
    settings: Settings | None = None,
    clickhouse: ClickHouseTarget | None = None,
) -> DeletionResult:
    """Erase a person: their web events and recording chunks (by visitorId) and touch events (by user
    id).

    A session id is the client's; when another visitor's clicks share a session and page with the
    erased ones (a browser whose visitor id was reset mid-session), their rage flags are recomputed
    without the erased clicks. ``settings`` defaults to the process settings (rage thresholds, replica
    directory). With ``clickhouse``, the visitor's sessions the SQL tail cut away come back first, and
    touch events ClickHouse alone holds are counted (the caller deletes them there:
    :func:`data_layer.clickhouse.erasure.forget`).
    """
    if not visitor_id:
        raise ValueError("--visitor must not be empty")
    settings = settings or get_settings()
    with write_transaction(engine) as conn:
        touch_there = 0 if clickhouse is None else tail.before_forget(conn, clickhouse, visitor_id)
        touched = select(web_events.c.session_id, web_events.c.page_key).where(
            web_events.c.visitor_id == visitor_id, web_events.c.event_type == "click"
        )
        pairs = [(s, p) for s, p in conn.execute(touched.distinct())]
        web = conn.execute(delete(web_events).where(web_events.c.visitor_id == visitor_id)).rowcount
        conn.execute(delete(visitors).where(visitors.c.visitor_id == visitor_id))
        touch = conn.execute(delete(touch_events).where(touch_events.c.user_id == visitor_id)).rowcount
        chunks = recordings.delete_visitor(conn, visitor_id)
        result = DeletionResult(web, touch + touch_there, chunks)
        _after_deletion(conn, result, pairs, settings)
    if web or touch:
        discard_replica_files(settings.replica_dir)
    return result
