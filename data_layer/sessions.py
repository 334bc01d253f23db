"""The sessions list (CONTRACT 13): the sessions with web events in a window, newest first, what each
did there and whether it was recorded; paged with the signed snapshot cursors of CONTRACT 4.1.

Typed in, frames out, like :mod:`data_layer.service`: a :class:`SessionQuery` comes in parsed, a
:class:`SessionListing` frame goes out, and only the API's edge writes camelCase JSON. The numbers come
from one Polars query over the store's events, :func:`session_page`; each store runs it over its own
frames (``EventStore.session_page``), and a store that keeps events elsewhere (ClickHouse) answers the
same method with its own query. Recordings stay in SQL whatever the store, so the sessions that have
one are looked up here and handed to the query as a set of ids.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import Engine

from data_layer.cursors import CursorState, decode_cursor, encode_cursor, query_digest
from data_layer.errors import BadRequest
from data_layer.filters import WebFilters, Window
from data_layer.recordings import recorded_sessions, recordings_mark

if TYPE_CHECKING:
    from data_layer.store import EventStore

EVENT_COLUMNS = (
    "seq",
    "ts",
    "session_id",
    "visitor_id",
    "page_key",
    "event_type",
    "dead",
    "rage_start",
    "country",
    "browser",
)
"""What :func:`session_page` reads of the store's events."""
SESSION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "session_id": pl.String,
    "visitor_id": pl.String,
    "start": pl.Datetime("us"),
    "duration_ms": pl.Int64,
    "pages": pl.List(pl.String),
    "clicks": pl.Int64,
    "rage_events": pl.Int64,
    "dead_clicks": pl.Int64,
    "country": pl.String,
    "browser": pl.String,
}
"""A row of :func:`session_page`; :class:`SessionListing` adds ``has_recording`` (Boolean)."""
ORDER_BY, DESCENDING = ["start", "session_id"], [True, False]
"""The list's order: newest first, ties by sessionId."""


@dataclass(frozen=True)
class SessionQuery:
    """Which sessions: those with web events in ``window`` matching ``filters``; with ``page_key`` (a
    normalised pageKey) only those with events on that page; with ``has_recording`` only those that
    have (True) or have not (False) a recording."""

    window: Window
    filters: WebFilters = WebFilters()
    page_key: str | None = None
    has_recording: bool | None = None

    def digest(self) -> str:
        """What a cursor is bound to: the query, normalised as the comparisons do."""
        return query_digest(
            {
                "list": "sessions",
                "from": self.window.from_day,
                "to": self.window.to_day,
                **self.filters.digest_values(),
                "pageKey": self.page_key or "",
                "hasRecording": self.has_recording,
            }
        )


@dataclass(frozen=True)
class SessionListing:
    """One page of the sessions list (:data:`SESSION_SCHEMA` plus ``has_recording``) and the way on."""

    sessions: pl.DataFrame
    next_cursor: str | None


def parse_has_recording(value: str | None) -> bool | None:
    """``true``/``false`` (case-insensitive); absent or empty = either."""
    text = (value or "").strip().lower()
    if not text:
        return None
    if text not in ("true", "false"):
        raise BadRequest(f"hasRecording must be true or false, got {value[:40]!r}")
    return text == "true"


def _ids(session_ids: Collection[str]) -> pl.Expr:
    return pl.Series(list(session_ids), dtype=pl.String).implode()


def session_page(
    events: pl.LazyFrame,
    query: SessionQuery,
    *,
    recorded: Collection[str] = (),
    offset: int,
    limit: int,
) -> pl.DataFrame:
    """The sessions of ``events`` (already limited to the window and filters; columns
    :data:`EVENT_COLUMNS`, strings or categoricals) at ``offset``, at most ``limit``, newest first.

    ``recorded``: the sessions that have a recording, read only when ``query.has_recording`` is set.
    Every field is over the session's events in ``events``, on every page (``page_key`` chooses
    sessions, not events): ``start`` and ``duration_ms`` span its first to its last event; the visitor,
    country and browser are those of its first event (the first known ones for country and browser);
    ``pages`` lists its pageKeys in the order first visited; ``rage_events`` counts its rage events.

    Two steps in one plan: the order needs only each session's start, cheap to find for every session;
    the rest, ten times dearer, is computed for the sessions of the page alone (docs/performance.md).
    """
    ranked = events.group_by("session_id").agg(start=pl.col("ts").min())
    if query.page_key is not None:
        on_page = events.filter(pl.col("page_key") == query.page_key).select("session_id").unique()
        ranked = ranked.join(on_page, on="session_id", how="semi")
    if query.has_recording is not None:
        with_recording = pl.col("session_id").is_in(_ids(recorded))
        ranked = ranked.filter(with_recording if query.has_recording else ~with_recording)
    # Categoricals sort by their text, as strings do: no session id becomes a string before it is shown.
    # Collected here: as one plan with the step below, Polars would group every session twice.
    page = ranked.sort(ORDER_BY, descending=DESCENDING).slice(offset, limit).collect()
    by_time = ["ts", "seq"]
    click = pl.col("event_type") == "click"
    details = (
        events.filter(pl.col("session_id").is_in(page.get_column("session_id").implode()))
        .group_by("session_id")
        .agg(
            visitor_id=pl.col("visitor_id").sort_by(by_time).first(),
            end=pl.col("ts").max(),
            pages=pl.col("page_key").sort_by(by_time).unique(maintain_order=True),
            clicks=click.sum(),
            rage_events=(click & pl.col("rage_start")).sum(),
            dead_clicks=(click & pl.col("dead")).sum(),
            country=pl.col("country").sort_by(by_time).drop_nulls().first(),
            browser=pl.col("browser").sort_by(by_time).drop_nulls().first(),
        )
    )
    return (
        page.lazy()
        .join(details, on="session_id", how="left")
        .with_columns(duration_ms=(pl.col("end") - pl.col("start")).dt.total_milliseconds())
        .select(pl.col(name).cast(dtype) for name, dtype in SESSION_SCHEMA.items())  # categoricals: strings
        .sort(ORDER_BY, descending=DESCENDING)  # joins keep no order
        .collect()
    )


def list_sessions(
    store: EventStore,
    engine: Engine,
    secret: bytes,
    query: SessionQuery,
    *,
    limit: int,
    cursor: str | None = None,
) -> SessionListing:
    """``GET /rest/v1/sessions``: one page of the sessions of ``query``, and the cursor to the next.

    A cursor keeps the snapshot of the first page, of the events (their newest sequence number) and of
    the recordings (:func:`recordings_mark`): later pages ignore what arrived since, so a walk yields
    every session exactly once. ``cursor`` is a client's string, refused (400) when it was altered or
    made for another query. ``engine`` reads the recordings, which stay in SQL whatever the store.
    """
    digest = query.digest()
    if cursor:
        state = decode_cursor(cursor, digest, secret)
    else:
        state = CursorState(offset=0, snapshot=store.last_seq(), recordings=recordings_mark(engine))
    recorded = recorded_sessions(engine, state.recordings) if query.has_recording is not None else set()
    rows = store.session_page(
        query, recorded=recorded, offset=state.offset, limit=limit + 1, as_of_seq=state.snapshot
    )
    page = rows.head(limit)
    if query.has_recording is None:
        recorded = recorded_sessions(engine, state.recordings, among=page["session_id"].to_list())
    page = page.with_columns(has_recording=pl.col("session_id").is_in(_ids(recorded)))
    next_cursor = None
    if rows.height > limit:
        following = CursorState(state.offset + limit, state.snapshot, state.recordings)
        next_cursor = encode_cursor(following, digest, secret)
    return SessionListing(page, next_cursor)
