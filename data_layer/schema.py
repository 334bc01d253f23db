"""SQL tables of the system of record (SQLAlchemy Core, one MetaData).

Alembic migrations in ``migrations/`` create exactly these tables; a test checks there is no drift.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only aliases the rowid (monotonic, autoincrementing) for a column declared exactly INTEGER.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")

web_events = Table(
    "web_events",
    metadata,
    Column("seq", SequenceNumber, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=True, unique=True),
    Column("event_type", String(8), nullable=False),  # 'click' | 'scroll'
    Column("ts", DateTime(timezone=False), nullable=False),  # UTC, naive
    Column("day", Date, nullable=False),
    Column("page_key", String(2048), nullable=False),
    Column("breakpoint", String(16), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("visitor_id", String(128), nullable=False),
    Column("viewport_width", Integer, nullable=False),
    Column("viewport_height", Integer, nullable=False),
    Column("document_width", Integer, nullable=False),
    Column("document_height", Integer, nullable=False),
    Column("x", Float, nullable=True),
    Column("y", Float, nullable=True),
    Column("selector", String(512), nullable=True),
    Column("dead", Boolean, nullable=False, default=False),
    Column("fixed", Boolean, nullable=False, default=False),
    Column("depth", Float, nullable=True),
    Column("country", String(2), nullable=True),
    Column("region", String(100), nullable=True),
    Column("browser", String(64), nullable=True),
    # Derived by the server at ingestion (CONTRACT 2.2): part of a rage run / first click of one.
    Column("rage", Boolean, nullable=False, default=False),
    Column("rage_start", Boolean, nullable=False, default=False),
    # Segments (CONTRACT 14): the session's campaign and referrer as the tracker saw them on landing, the
    # page's tags as canonical JSON (keys sorted, so equal tag sets are equal texts), and the server's
    # 'new' / 'returning' from the visitor's first session (``visitors``).
    Column("utm_source", String(128), nullable=True),
    Column("utm_medium", String(128), nullable=True),
    Column("utm_campaign", String(128), nullable=True),
    Column("referrer_host", String(255), nullable=True),
    Column("tags", Text, nullable=True),
    Column("visitor_type", String(9), nullable=False, server_default="new"),
    # The clicked element's box as the tracker measured it (CONTRACT 15), document px (viewport px when
    # ``fixed``); null when not reported.
    Column("rect_x", Float, nullable=True),
    Column("rect_y", Float, nullable=True),
    Column("rect_width", Float, nullable=True),
    Column("rect_height", Float, nullable=True),
    # The newest sequence number when these flags last changed after insertion (a late click can extend
    # an older run): readers that copied the row earlier re-read rows with flags_rev above their mark.
    Column("flags_rev", SequenceNumber, nullable=True),
    # Each index costs every ingested event (migration 0004): windows and pages are the replica's
    # business; SQL looks up by day (retention), session (rage refresh, replays), visitor (forget) and
    # changed flags (the replica's catch-up; only the rows whose flags changed after insertion).
    Index("ix_web_events_day", "day"),
    Index(
        "ix_web_events_flags_rev",
        "flags_rev",
        sqlite_where=text("flags_rev IS NOT NULL"),
        postgresql_where=text("flags_rev IS NOT NULL"),
    ),
    Index("ix_web_events_session_page", "session_id", "page_key"),
    Index("ix_web_events_visitor", "visitor_id"),
)

# A visitor's first session as the server first saw it: what makes the visitor's later sessions
# 'returning' (CONTRACT 14). One primary-key look-up per visitor of a batch instead of reading the
# visitor's events; forget deletes the row, purge the rows of visitors with no event left.
visitors = Table(
    "visitors",
    metadata,
    Column("visitor_id", String(128), primary_key=True),
    Column("first_session_id", String(128), nullable=False),
)

# Saved page groups (CONTRACT 14): a name for a pattern over pageKeys.
page_groups = Table(
    "page_groups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("pattern", String(2048), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("created_by", String(128), nullable=True),
)

touch_events = Table(
    "touch_events",
    metadata,
    Column("seq", SequenceNumber, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=True, unique=True),
    Column("user_id", String(128), nullable=False),
    Column("screen_name", String(200), nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("ts", DateTime(timezone=False), nullable=False),
    Column("day", Date, nullable=False),
    Column("campaign_id", String(128), nullable=True),
    Column("event_type", String(16), nullable=False),  # 'TAP' | 'SCROLL' | 'ACTION_CLICK'
    # Covers QueryHeatmapData (store.SqlStore.touch_events): its filters, then the columns it reads.
    Index(
        "ix_touch_events_screen_query", "screen_name", "day", "event_type", "campaign_id", "user_id", "x", "y"
    ),
    Index("ix_touch_events_user", "user_id"),
)

screenshots = Table(
    "screenshots",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),  # 'mobile' | 'web'
    Column("screen_name", String(200), nullable=True),
    Column("page_key", String(2048), nullable=True),
    Column("breakpoint", String(16), nullable=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("created_by", String(128), nullable=True),
    # Web backdrops (CONTRACT 12): 'upload' or 'capture'; a capture also records the URL it ended on and
    # the document size in CSS px, which the image may be cut short of.
    Column("source", String(8), nullable=False, server_default="upload"),
    Column("source_url", String(2048), nullable=True),
    Column("document_width", Integer, nullable=True),
    Column("document_height", Integer, nullable=True),
    Index("ix_screenshots_screen", "screen_name", "created_at"),
    Index("ix_screenshots_page", "page_key", "breakpoint", "created_at"),
)

# The capture queue (CONTRACT 12): jobs survive restarts; a worker claims one by moving it from
# 'queued' to 'running' in a statement that checks the status, so two processes never take the same job.
captures = Table(
    "captures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("page_key", String(2048), nullable=False),
    Column("breakpoint", String(16), nullable=False),
    Column("url", String(2048), nullable=False),  # what is opened: the pageKey, or the URL a user gave
    Column("status", String(8), nullable=False),  # 'queued' | 'running' | 'done' | 'failed'
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=False), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    Column("requested_by", String(128), nullable=True),  # a token's user, or 'auto'
    Column("screenshot_id", String(32), nullable=True),
    Column("error", String(500), nullable=True),
    Index("ix_captures_due", "status", "next_attempt_at"),
    Index("ix_captures_page", "page_key", "breakpoint", "created_at"),
)

# Session recordings (CONTRACT 13): each upload is one chunk of a session's rrweb events, kept as the
# zlib-compressed JSON array it was validated as, so a recording is read back by joining texts, never by
# parsing events. Looked up by session (the key), by visitor (forget) and by arrival (purge, snapshots).
recording_chunks = Table(
    "recording_chunks",
    metadata,
    Column("session_id", String(128), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("visitor_id", String(128), nullable=False),
    Column("page_key", String(2048), nullable=False),  # of the page the chunk was recorded on (3.2)
    Column("first_ts", DateTime(timezone=False), nullable=False),  # UTC, naive: the first event's time
    Column("last_ts", DateTime(timezone=False), nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),  # the server's clock, when stored
    Column("decoded_size", Integer, nullable=False),  # bytes of the JSON text; counts towards the cap
    Column("events", LargeBinary, nullable=False),
    Index("ix_recording_chunks_visitor", "visitor_id"),
    Index("ix_recording_chunks_created_at", "created_at"),
)

# One row per recorded session, written with its chunks: the cap reads one row instead of adding up the
# session's chunks, and "which sessions have a recording" reads a row per session, not per chunk.
# ``first_stored_at`` is its oldest chunk's ``created_at`` (a session is recorded as of a snapshot
# mark from then on).
recordings = Table(
    "recordings",
    metadata,
    Column("session_id", String(128), primary_key=True),
    Column("chunks", Integer, nullable=False),
    Column("decoded_size", BigInteger, nullable=False),
    Column("first_stored_at", DateTime(timezone=False), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("permissions", String(200), nullable=False, default=""),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("revoked_at", DateTime(timezone=False), nullable=True),
)

# How far the ClickHouse shipper got (CONTRACT 16), one row per stream ('web', 'touch'): written only
# after ClickHouse acknowledged the rows up to ``shipped_seq``; ``flags_mark`` and ``generation`` are the
# rage-flag mark and data generation the shipped copy is current as of (data_layer/clickhouse/shipper.py).
clickhouse_shipping = Table(
    "clickhouse_shipping",
    metadata,
    Column("stream", String(16), primary_key=True),
    Column("shipped_seq", BigInteger, nullable=False),
    Column("flags_mark", BigInteger, nullable=False),
    Column("generation", String(32), nullable=False),
)

# Per day of web events shipped to ClickHouse: the newest sequence number shipped (moved with the
# shipper's progress) and the build of the daily rollup that answers for the day, if any
# (data_layer/clickhouse/rollup.py).
clickhouse_days = Table(
    "clickhouse_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("shipped_seq", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=False), nullable=False),
    Column("build", BigInteger, nullable=True),
    Column("previous_build", BigInteger, nullable=True),
    Column("rolled_seq", BigInteger, nullable=True),
    Column("rolled_generation", String(32), nullable=True),
)

app_meta = Table(
    "app_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# A stored web event as ingestion handles it: a list of these columns' values, in this order (the event id
# first, as in every table's rows here). Lists, not dicts: building a dict per event and reading it back
# per column cost a tenth of a batch.
WEB_ROW_COLUMNS = (
    "event_id", "event_type", "ts", "day", "page_key", "breakpoint", "session_id", "visitor_id",
    "viewport_width", "viewport_height", "document_width", "document_height", "x", "y", "selector", "dead",
    "fixed", "depth", "country", "region", "browser", "rage", "rage_start", "utm_source", "utm_medium",
    "utm_campaign", "referrer_host", "tags", "visitor_type", "rect_x", "rect_y", "rect_width", "rect_height",
)  # fmt: skip
