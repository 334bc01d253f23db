"""Atomic, idempotent batch writes of web and touch events.

Callers validate first (:mod:`data_layer.event_models`); this module normalises (pageKey, breakpoint,
browser, country) and writes one batch in one transaction through the single write path. Events whose
id is already stored, or repeated inside the batch, are counted as duplicates and not written.
Rage flags (CONTRACT 2.2) are recomputed in the same transaction for every (session, page) the batch
touched, so a run that spans batches or arrives out of order is flagged exactly as a full recompute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Engine
from ua_parser import parse as parse_user_agent

from data_layer import rage, segments, visitors
from data_layer.clickhouse import tail
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import Query, bulk_insert, fetch_together, in_list_queries, write_transaction
from data_layer.event_models import TouchEventIn, validate_batch, validate_web_batch
from data_layer.schema import WEB_ROW_COLUMNS, touch_events, web_events
from data_layer.settings import Settings
from data_layer.urls import normalize_page_key


@dataclass(frozen=True)
class IngestResult:
    ingested: int
    duplicates: int


@dataclass(frozen=True)
class RequestContext:
    """What the HTTP request adds to events that lack it (never the IP address)."""

    user_agent: str | None = None
    country: str | None = None
    region: str | None = None


@lru_cache(maxsize=4096)
def browser_from_user_agent(user_agent: str) -> str | None:
    """Browser family by ua-parser (e.g. ``Chrome``, ``Mobile Safari``); None when unknown."""
    parsed = parse_user_agent(user_agent[:1024]).user_agent
    return parsed.family if parsed and parsed.family != "Other" else None


TOUCH_ROW_COLUMNS = (
    "event_id", "user_id", "screen_name", "x", "y", "ts", "day", "campaign_id", "event_type",
)  # fmt: skip
_TYPE, _SESSION, _PAGE, _TS, _VISITOR = map(
    WEB_ROW_COLUMNS.index, ("event_type", "session_id", "page_key", "ts", "visitor_id")
)
_TOUCH_ID, _TOUCH_SCREEN, _TOUCH_DAY = map(TOUCH_ROW_COLUMNS.index, ("event_id", "screen_name", "day"))
_RECT_SIDES = ("x", "y", "width", "height")


def web_event_row(event: Mapping[str, Any], settings: Settings, context: RequestContext) -> list[Any]:
    """The stored form of one validated web event (fields by WebEventIn field name, as validated), as
    :data:`WEB_ROW_COLUMNS` values; its rage flags are set later, with the batch's."""
    get = event.get  # optional fields may be absent
    is_click = event["type"] == "click"
    browser = get("browser_name")
    if browser is None:
        agent = get("user_agent") or context.user_agent
        browser = browser_from_user_agent(agent) if agent else None
    country = get("country") or context.country
    timestamp = event["timestamp"]
    referrer = get("referrer_host")
    rect = get("element_rect") if is_click else None
    return [
        get("event_id"),
        event["type"],
        timestamp,
        timestamp.date(),
        normalize_page_key(event["url"], settings.page_key_rules),
        settings.breakpoint_for(event["viewport_width"]),
        event["session_id"],
        event["visitor_id"],
        event["viewport_width"],
        event["viewport_height"],
        event["document_width"],
        event["document_height"],
        get("x") if is_click else None,
        get("y") if is_click else None,
        get("selector") if is_click else None,
        bool(get("dead")) if is_click else False,
        bool(get("fixed")) if is_click else False,
        None if is_click else get("depth"),
        country.upper() if country else None,
        get("region") or context.region,
        browser,
        False,
        False,
        get("utm_source") or None,
        get("utm_medium") or None,
        get("utm_campaign") or None,
        referrer.lower() if referrer else None,
        segments.canonical_tags(get("tags")),
        visitors.NEW,  # set with the batch's, once its visitors are looked up
        *((float(rect[side]) for side in _RECT_SIDES) if rect else (None,) * len(_RECT_SIDES)),
    ]


def _prefer_indexes(dialect: Dialect) -> list[Query]:
    """Let this transaction's look-ups (ids, sessions) use their indexes on PostgreSQL (nothing to run
    elsewhere); run with them (:func:`data_layer.db.fetch_together`).

    While the table grows faster than autovacuum analyses it, the planner prices a scan of the whole
    table from statistics of a much smaller one and chooses it over the index, so every batch would
    read every row: ingestion slows down as the table grows.
    """
    return [("SELECT set_config('enable_seqscan', 'off', true)", ())] if dialect.name == "postgresql" else []


def _known_ids_queries(dialect: Dialect, table: Any, rows: Iterable[Sequence[Any]]) -> list[Query]:
    """The stored ids among those of ``rows`` (their first value; rows without one are not asked about).
    Plain driver SQL: SQLAlchemy's handling of each value of a 500-value IN list costs more than the
    index look-ups themselves."""
    ids = [row[0] for row in rows if row[0] is not None]
    return in_list_queries(dialect, f"SELECT event_id FROM {table.name} WHERE", "event_id", ids)


def _fresh_rows(batches: Sequence[list[list[Any]]], seen: set[str]) -> list[list[list[Any]]]:
    """Each batch's rows whose event id (their first value) is neither among ``seen`` (those stored) nor
    met earlier, in this batch or one before it (rows without an id pass): the batches are decided in
    order, as if each were written alone, and the stored ids are looked up once for all of them."""
    fresh_batches: list[list[list[Any]]] = []
    for rows in batches:
        fresh: list[list[Any]] = []
        for row in rows:
            event_id = row[0]
            if event_id is not None:
                if event_id in seen:
                    continue
                seen.add(event_id)
            fresh.append(row)
        fresh_batches.append(fresh)
    return fresh_batches


def web_event_rows(
    events: Sequence[Mapping[str, Any]], settings: Settings, context: RequestContext
) -> list[list[Any]]:
    """The stored form of a validated batch (:func:`web_event_row` of each event)."""
    return [web_event_row(event, settings, context) for event in events]


def write_web_batches(
    conn: Connection, batches: Sequence[list[list[Any]]], settings: Settings
) -> list[IngestResult]:
    """Write batches of web event rows (:func:`web_event_rows`) in the caller's write transaction; one
    result per batch, each counted as if the batches had been written one by one, in order.

    Whatever the number of batches, the stored ids, the clicks of the sessions with clicks (rage flags)
    and the visitors are looked up once, together (one round trip on PostgreSQL), and the rows go in
    one insert. The sessions and visitors asked about are those of every row, duplicates included: the
    ids decide which rows are fresh only once all three answers are back.
    """
    prefer = _prefer_indexes(conn.dialect)
    every = [row for rows in batches for row in rows]
    if (clickhouse := settings.clickhouse_target()) is not None:  # groups the SQL tail no longer holds
        fetch_together(conn, [prefer])
        prefer = []
        reach = timedelta(milliseconds=settings.rage_max_interval_ms)
        tail.bring_back_web(conn, clickhouse, every, _TS, _SESSION, _PAGE, reach)
    clicked = (row[_SESSION] for row in every if row[_TYPE] == "click")
    visitor_ids = list({row[_VISITOR]: None for row in every})
    lookups = [
        prefer,
        _known_ids_queries(conn.dialect, web_events, every),
        rage.stored_clicks_queries(conn.dialect, clicked),
        visitors.first_sessions_queries(conn.dialect, visitor_ids),
    ]
    _, known, stored_clicks, stored_visitors = fetch_together(conn, lookups)
    fresh_batches = _fresh_rows(batches, {row[0] for row in known})
    fresh = [row for rows in fresh_batches for row in rows]
    if fresh:
        touched = {(row[_SESSION], row[_PAGE]) for row in fresh if row[_TYPE] == "click"}
        rage.refresh_stored_flags(conn, touched, settings, pending=fresh, stored=stored_clicks)
        visitors.assign_visitor_types(conn, fresh_batches, stored_visitors)
        bulk_insert(conn, web_events, WEB_ROW_COLUMNS, fresh)
    return [
        IngestResult(ingested=len(kept), duplicates=len(rows) - len(kept))
        for rows, kept in zip(batches, fresh_batches, strict=True)
    ]


def store_web_events(
    engine: Engine, events: Sequence[Mapping[str, Any]], settings: Settings, context: RequestContext
) -> IngestResult:
    """Write one validated batch atomically; duplicates by eventId are skipped and counted."""
    rows = web_event_rows(events, settings, context)
    with write_transaction(engine) as conn:
        return write_web_batches(conn, [rows], settings)[0]


def store_touch_events(
    engine: Engine, events: Sequence[TouchEventIn], user_id: str, clickhouse: ClickHouseTarget | None = None
) -> IngestResult:
    """Write one validated batch of touch events attributed to ``user_id``; with ``clickhouse``, ids
    the SQL tail no longer holds are looked up there."""
    rows = [
        [
            event.event_id,
            user_id,
            event.screen_name,
            event.x,
            event.y,
            event.timestamp,
            event.timestamp.date(),
            event.campaign_id or None,
            event.event_type,
        ]
        for event in events
    ]
    with write_transaction(engine) as conn:
        _, stored = fetch_together(
            conn, [_prefer_indexes(conn.dialect), _known_ids_queries(conn.dialect, touch_events, rows)]
        )
        known = {row[0] for row in stored}
        if clickhouse is not None:
            known |= tail.known_touch_ids(conn, clickhouse, rows, _TOUCH_ID, _TOUCH_SCREEN, _TOUCH_DAY)
        [fresh] = _fresh_rows([rows], known)
        if fresh:
            bulk_insert(conn, touch_events, TOUCH_ROW_COLUMNS, fresh)
    return IngestResult(ingested=len(fresh), duplicates=len(rows) - len(fresh))


def ingest_web_batch(
    engine: Engine,
    settings: Settings,
    raw_events: Any,
    context: RequestContext = RequestContext(),
) -> IngestResult:
    """Validate a raw batch whole (raising BatchValidationError) and store it: the API's and CLI's path."""
    return store_web_events(engine, validate_web_batch(raw_events), settings, context)


def ingest_touch_batch(
    engine: Engine, raw_events: Any, user_id: str, clickhouse: ClickHouseTarget | None = None
) -> IngestResult:
    """Validate a raw batch of touch events whole and store it attributed to ``user_id``."""
    return store_touch_events(engine, validate_batch(raw_events, TouchEventIn), user_id, clickhouse)
