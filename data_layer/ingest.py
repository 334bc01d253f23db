"""Atomic, idempotent batch writes of web and touch events.

Callers validate first (:mod:`data_layer.event_models`); this module normalises (pageKey, breakpoint,
browser, country) and writes one batch in one transaction through the single write path. Events whose
id is already stored, or repeated inside the batch, are counted as duplicates and not written.
Rage flags (CONTRACT 2.2) are recomputed in the same transaction for every (session, page) the batch
touched, so a run that spans batches or arrives out of order is flagged exactly as a full recompute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine
from ua_parser import parse as parse_user_agent

from data_layer import rage, segments, visitors
from data_layer.clickhouse import tail
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import IN_LIST_CHUNK, bulk_insert, write_transaction
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
_TYPE, _SESSION, _PAGE, _TS = map(WEB_ROW_COLUMNS.index, ("event_type", "session_id", "page_key", "ts"))
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


def _prefer_indexes(conn: Connection) -> None:
    """Let this transaction's look-ups (ids, sessions) use their indexes on PostgreSQL.

    While the table grows faster than autovacuum analyses it, the planner prices a scan of the whole
    table from statistics of a much smaller one and chooses it over the index, so every batch would
    read every row: ingestion slows down as the table grows.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")


def _known_event_ids(conn: Connection, table: Any, event_ids: Sequence[str]) -> set[str]:
    """The ids among ``event_ids`` already stored. Plain driver SQL: SQLAlchemy's handling of each
    value of a 500-value IN list costs more than the index lookups themselves. PostgreSQL takes them
    as one array, which it parses and plans once instead of 500 parameters."""
    if conn.dialect.name == "postgresql":
        query = f"SELECT event_id FROM {table.name} WHERE event_id = ANY(%s)"
        return {row[0] for row in conn.exec_driver_sql(query, (list(event_ids),))}
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    known: set[str] = set()
    for start in range(0, len(event_ids), IN_LIST_CHUNK):
        chunk = tuple(event_ids[start : start + IN_LIST_CHUNK])
        query = f"SELECT event_id FROM {table.name} WHERE event_id IN ({', '.join([mark] * len(chunk))})"
        known.update(row[0] for row in conn.exec_driver_sql(query, chunk))
    return known


def _fresh_rows(
    conn: Connection, table: Any, batches: Sequence[list[list[Any]]], known: set[str] | None = None
) -> list[list[list[Any]]]:
    """Each batch's rows whose event id (their first value) is neither stored (nor among ``known``) nor
    seen earlier, in this batch or one before it (rows without an id pass): the batches are decided in
    order, as if each were written alone, and the stored ids are looked up once for all of them."""
    ids = [row[0] for rows in batches for row in rows if row[0] is not None]
    seen = _known_event_ids(conn, table, ids) if ids else set()
    seen |= known or set()
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

    Whatever the number of batches, the stored ids, the clicks of the sessions touched (rage flags)
    and the visitors are looked up once, and the rows go in one insert.
    """
    _prefer_indexes(conn)
    if (clickhouse := settings.clickhouse_target()) is not None:  # groups the SQL tail no longer holds
        every = [row for rows in batches for row in rows]
        reach = timedelta(milliseconds=settings.rage_max_interval_ms)
        tail.bring_back_web(conn, clickhouse, every, _TS, _SESSION, _PAGE, reach)
    fresh_batches = _fresh_rows(conn, web_events, batches)
    fresh = [row for rows in fresh_batches for row in rows]
    if fresh:
        touched = {(row[_SESSION], row[_PAGE]) for row in fresh if row[_TYPE] == "click"}
        rage.refresh_stored_flags(conn, touched, settings, pending=fresh)
        visitors.assign_visitor_types(conn, fresh_batches)
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
        _prefer_indexes(conn)
        known = (
            set()
            if clickhouse is None
            else tail.known_touch_ids(conn, clickhouse, rows, _TOUCH_ID, _TOUCH_SCREEN, _TOUCH_DAY)
        )
        [fresh] = _fresh_rows(conn, touch_events, [rows], known)
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
