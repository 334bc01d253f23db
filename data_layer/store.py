"""Reading events as Polars frames: the only door from storage to metrics.

Callers ask for the events of a window (and filters) and get frames shaped as documented on
:data:`WEB_EVENT_SCHEMA`; how the frames are produced (SQL today, a columnar replica tomorrow) is this
module's business alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import astuple
from datetime import date, timedelta
from typing import Any, Protocol

import polars as pl
from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    ScalarSelect,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
)

from data_layer import metrics, page_reads, rage, segments, sessions, touch_metrics
from data_layer.filters import TouchFilters, WebFilters, Window
from data_layer.page_reads import PageGeometry, PageHeatmap, Spot
from data_layer.schema import touch_events, web_events

WEB_EVENT_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "event_type": pl.String,
    "ts": pl.Datetime("us"),
    "day": pl.Date,
    "page_key": pl.String,
    "breakpoint": pl.String,
    "session_id": pl.String,
    "visitor_id": pl.String,
    "viewport_width": pl.Int32,
    "viewport_height": pl.Int32,
    "document_width": pl.Int32,
    "document_height": pl.Int32,
    "x": pl.Float64,
    "y": pl.Float64,
    "selector": pl.String,
    "dead": pl.Boolean,
    "fixed": pl.Boolean,
    "depth": pl.Float64,
    "country": pl.String,
    "region": pl.String,
    "browser": pl.String,
    "rage": pl.Boolean,
    "rage_start": pl.Boolean,
    "segment": pl.String,
    "rect": pl.String,
}
"""``segment``: the event's segment key (:mod:`data_layer.segments`); ``rect``: the clicked element's box
as ``x,y,width,height`` in whole px (:mod:`data_layer.elements`), null when not reported. Both are made
from stored columns, as keys: a page's elements sit at few places, and a session has one segment, so
either costs a reader one categorical code per event rather than several columns."""

TOUCH_EVENT_SCHEMA: dict[str, Any] = {"user_id": pl.String, "x": pl.Float64, "y": pl.Float64}
"""What :mod:`data_layer.touch_metrics` reads of a touch event, and all the store fetches: these columns
sit in the index that also holds the filters (``ix_touch_events_screen_query``), so the read never
touches the table."""


class EventStore(Protocol):
    """What the service needs from a store: SQL directly (:class:`SqlStore`) or the replica."""

    def web_events(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = ...,
        *,
        page_keys: Sequence[str] | None = None,
        clicks_only: bool = False,
        as_of_seq: int | None = None,
        columns: Sequence[str] | None = None,
        clicked_after: int | None = None,
    ) -> pl.DataFrame: ...

    def page_keys(self) -> pl.Series: ...

    def page_heatmap(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
        count_pages: bool,
    ) -> PageHeatmap: ...

    def page_elements(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        limit: int,
        *,
        include_fixed: bool,
        width: float | None,
    ) -> pl.DataFrame: ...

    def page_cells(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
    ) -> pl.DataFrame: ...

    def page_geometry(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, breakpoint: str
    ) -> PageGeometry: ...

    def distinct_values(self, from_day: date, to_day: date, columns: Sequence[str]) -> pl.DataFrame: ...

    def spot_sessions(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        spot: Spot,
        limit: int,
        *,
        include_fixed: bool,
    ) -> pl.DataFrame: ...

    def pages_without_clicks(self, window: Window, filters: WebFilters) -> pl.DataFrame: ...

    def click_counts(
        self, from_day: date, to_day: date, filters: WebFilters = ..., *, as_of_seq: int | None = None
    ) -> pl.DataFrame: ...

    def session_page(
        self,
        query: sessions.SessionQuery,
        *,
        recorded: Collection[str] = ...,
        offset: int,
        limit: int,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame: ...

    def last_seq(self) -> int: ...

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame: ...

    def page_exists(self, page_key: str) -> bool: ...

    def touch_cells(self, filters: TouchFilters, *, by_user: bool) -> pl.DataFrame: ...

    def day_range(self, kind: str) -> tuple[date, date] | None: ...

    def session_events(self, session_id: str, day: date, visitor_id: str | None) -> pl.DataFrame: ...

    def touch_screen_counts(self) -> dict[str, int]: ...

    def touch_campaigns(self, screen_name: str) -> list[str]: ...


EVENT_TABLES = {"web": web_events, "touch": touch_events}
"""The stores' names of their two kinds of events (:meth:`EventStore.day_range`)."""


def _clicked_after(seq: int) -> ScalarSelect[str]:
    """The sessions with a click stored after ``seq``."""
    late = select(web_events.c.session_id).where(web_events.c.seq > seq, web_events.c.event_type == "click")
    return late.scalar_subquery()


def _segment_key() -> ColumnElement[str]:
    """:data:`segments.SEGMENT_COLUMNS` joined in SQL (SQLite and PostgreSQL spell ``||`` alike)."""
    key: ColumnElement[str] = func.coalesce(web_events.c[segments.SEGMENT_COLUMNS[0]], "")
    for name in segments.SEGMENT_COLUMNS[1:]:
        key = key + literal(segments.SEPARATOR) + func.coalesce(web_events.c[name], "")
    return key


def _rect_key() -> ColumnElement[str | None]:
    """``x,y,width,height`` rounded to whole px, or null without a reported box."""
    sides = [web_events.c[name] for name in ("rect_x", "rect_y", "rect_width", "rect_height")]
    texts = [cast(cast(func.round(side), Integer), String) for side in sides]
    key: ColumnElement[str] = texts[0]
    for text in texts[1:]:
        key = key + literal(",") + text
    return case((web_events.c.rect_x.is_(None), null()), else_=key)


def web_column(name: str) -> ColumnElement[Any]:
    """The SQL expression of one :data:`WEB_EVENT_SCHEMA` column."""
    if name == "segment":
        return _segment_key().label("segment")
    if name == "rect":
        return _rect_key().label("rect")
    return web_events.c[name]


def rows_frame(rows: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """A frame of SQLAlchemy result rows (in ``schema``'s column order)."""
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


class SqlStore(page_reads.FromEvents):
    """Frames read straight from the SQL system of record."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _web_select(
        self, from_day: date, to_day: date, filters: WebFilters, as_of_seq: int | None, names: Sequence[str]
    ) -> Select[Any]:
        columns = [web_column(name) for name in names]
        conditions = [web_events.c.day >= from_day, web_events.c.day <= to_day]
        if filters.country:
            conditions.append(web_events.c.country == filters.country.upper())
        if filters.region:
            conditions.append(func.lower(web_events.c.region) == filters.region.lower())
        if filters.browser:
            conditions.append(func.lower(web_events.c.browser) == filters.browser.lower())
        if as_of_seq is not None:
            conditions.append(web_events.c.seq <= as_of_seq)
        return select(*columns).where(and_(*conditions))

    def web_events(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),
        *,
        page_keys: Sequence[str] | None = None,
        clicks_only: bool = False,
        as_of_seq: int | None = None,
        columns: Sequence[str] | None = None,
        clicked_after: int | None = None,
    ) -> pl.DataFrame:
        """Web events with ``from_day <= day <= to_day`` matching the filters, in arrival order.

        ``page_keys`` limits them to those pages; ``as_of_seq`` ignores events stored after that sequence
        number (a stable snapshot); ``columns`` limits the frame to the columns a caller needs (all of
        :data:`WEB_EVENT_SCHEMA` by default); ``clicked_after`` to the sessions with a click stored after
        that sequence number (those whose earlier rage flags a later click may have changed).
        """
        names = list(columns) if columns is not None else list(WEB_EVENT_SCHEMA)
        segmented = segments.has_segment_filter(filters)
        fetched = [*names, "segment"] if segmented and "segment" not in names else names
        query = self._web_select(from_day, to_day, filters, as_of_seq, fetched)
        if page_keys is not None:
            query = query.where(web_events.c.page_key.in_(page_keys))
        if clicks_only:
            query = query.where(web_events.c.event_type == "click")
        if clicked_after is not None:
            query = query.where(web_events.c.session_id.in_(_clicked_after(clicked_after)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(web_events.c.seq)).all()
        frame = rows_frame(rows, {name: WEB_EVENT_SCHEMA[name] for name in fetched})
        if segmented:
            wanted = segments.matching_keys(frame.get_column("segment"), filters)
            frame = frame.filter(pl.col("segment").is_in(wanted.implode())).select(names)
        return frame

    def page_events(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, columns: Sequence[str]
    ) -> pl.LazyFrame:
        """Some pages' events of the window matching the filters, ``columns`` only, as a lazy frame: the
        summary's several passes over them each read what they need."""
        events = self.web_events(*astuple(window), filters, page_keys=page_keys, columns=columns)
        return events.lazy()

    def distinct_values(self, from_day: date, to_day: date, columns: Sequence[str]) -> pl.DataFrame:
        """The distinct combinations of ``columns`` among the events of the days, in no particular order
        (the dashboard's filter choices), made unique by SQL."""
        query = select(*(web_column(name) for name in columns)).distinct()
        query = query.where(web_events.c.day >= from_day, web_events.c.day <= to_day)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return rows_frame(rows, {name: WEB_EVENT_SCHEMA[name] for name in columns})

    def page_keys(self) -> pl.Series:
        """Every pageKey with a stored event (String), in no particular order: what patterns match."""
        with self.engine.connect() as conn:
            keys = conn.scalars(select(web_events.c.page_key).distinct()).all()
        return pl.Series("page_key", keys, dtype=pl.String)

    def click_counts(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),
        *,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """:func:`data_layer.metrics.click_counts` per (page_key, breakpoint) of the window's clicks, as
        :meth:`web_events` filters them; a page and breakpoint may come in several rows (to be summed)."""
        clicks = self.web_events(
            from_day,
            to_day,
            filters,
            clicks_only=True,
            as_of_seq=as_of_seq,
            columns=metrics.PAGE_LIST_COLUMNS,
        )
        return metrics.click_counts(clicks).collect()

    def session_page(
        self,
        query: sessions.SessionQuery,
        *,
        recorded: Collection[str] = (),
        offset: int,
        limit: int,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """:func:`data_layer.sessions.session_page` over the window's events as :meth:`web_events`
        filters them (``as_of_seq``: a snapshot)."""
        window = query.window
        events = self.web_events(
            window.from_day, window.to_day, query.filters, as_of_seq=as_of_seq, columns=sessions.EVENT_COLUMNS
        )
        return sessions.session_page(events.lazy(), query, recorded=recorded, offset=offset, limit=limit)

    def last_seq(self) -> int:
        """The newest web event's sequence number (0 when empty): the snapshot for paging."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.max(web_events.c.seq), 0))) or 0)

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """The clicks up to ``as_of_seq`` of every session that got a click after it (columns
        :data:`rage.INPUT_COLUMNS`): what a snapshot needs to recompute the rage flags a later click
        changed."""
        query = select(*(web_events.c[name] for name in rage.INPUT_COLUMNS)).where(
            web_events.c.seq <= as_of_seq,
            web_events.c.event_type == "click",
            web_events.c.session_id.in_(_clicked_after(as_of_seq)),
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return rows_frame(rows, {name: WEB_EVENT_SCHEMA[name] for name in rage.INPUT_COLUMNS})

    def page_exists(self, page_key: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.scalar(select(exists().where(web_events.c.page_key == page_key))))

    def touch_cells(self, filters: TouchFilters, *, by_user: bool) -> pl.DataFrame:
        """:func:`touch_metrics.touch_cells` of the screen's touches matching the filters."""
        return touch_metrics.touch_cells(self.touch_events(filters), by_user=by_user)

    def day_range(self, kind: str) -> tuple[date, date] | None:
        """First and last day holding events of ``kind`` (``web`` or ``touch``); None when none."""
        day = EVENT_TABLES[kind].c.day
        # One subquery per end: SQLite answers a lone min() or max() from one end of the index, but
        # scans the whole index for both in one SELECT.
        first_day, last_day = select(func.min(day)).scalar_subquery(), select(func.max(day)).scalar_subquery()
        with self.engine.connect() as conn:
            first, last = conn.execute(select(first_day, last_day)).one()
        return None if first is None or last is None else (_as_date(first), _as_date(last))

    def session_events(self, session_id: str, day: date, visitor_id: str | None) -> pl.DataFrame:
        """One session's web events from ``day`` to the next day (a visit may cross midnight), ordered
        by (ts, seq), as :data:`WEB_EVENT_SCHEMA`; with ``visitor_id``, that visitor's only (a session id
        reused by another visitor is not mixed in). Through the (session_id, page_key) index: a few
        rows, whatever the table's size."""
        conditions = [
            web_events.c.session_id == session_id,
            web_events.c.day >= day,
            web_events.c.day <= day + timedelta(days=1),
        ]
        if visitor_id:
            conditions.append(web_events.c.visitor_id == visitor_id)
        columns = [web_column(name) for name in WEB_EVENT_SCHEMA]
        query = select(*columns).where(*conditions).order_by(web_events.c.ts, web_events.c.seq)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pl.DataFrame([tuple(row) for row in rows], schema=WEB_EVENT_SCHEMA, orient="row")

    def touch_screen_counts(self) -> dict[str, int]:
        """Touch events per screen name."""
        query = select(touch_events.c.screen_name, func.count()).group_by(touch_events.c.screen_name)
        with self.engine.connect() as conn:
            return {str(name): int(n) for name, n in conn.execute(query)}

    def touch_campaigns(self, screen_name: str) -> list[str]:
        """Campaign ids seen on one screen, sorted (events without a campaign are not listed)."""
        query = (
            select(touch_events.c.campaign_id)
            .where(touch_events.c.screen_name == screen_name, touch_events.c.campaign_id.is_not(None))
            .distinct()
        )
        with self.engine.connect() as conn:
            return sorted(str(value) for value in conn.scalars(query))

    def touch_events(self, filters: TouchFilters) -> pl.DataFrame:
        """Touch events of one screen matching the filters (columns :data:`TOUCH_EVENT_SCHEMA`), in no
        particular order."""
        conditions = [touch_events.c.screen_name == filters.screen_name]
        if filters.campaign_id:
            conditions.append(touch_events.c.campaign_id == filters.campaign_id)
        if filters.event_types:
            conditions.append(touch_events.c.event_type.in_(filters.event_types))
        if filters.user_id:
            conditions.append(touch_events.c.user_id == filters.user_id)
        if filters.from_day is not None:
            conditions.append(touch_events.c.day >= filters.from_day)
        if filters.to_day is not None:
            conditions.append(touch_events.c.day <= filters.to_day)
        # No ORDER BY: the metrics sort what they return, so a sort here would only cost.
        query = select(*(touch_events.c[name] for name in TOUCH_EVENT_SCHEMA)).where(and_(*conditions))
        with self.engine.connect() as conn:
            # The DBAPI's plain tuples: no column of this query has a result processor, so a SQLAlchemy
            # Row per touch would only add a Python object to build (docs/performance.md).
            rows = conn.execute(query).cursor.fetchall()
        return pl.DataFrame(rows, schema=TOUCH_EVENT_SCHEMA, orient="row")


def _as_date(value: Any) -> date:
    """SQLite may hand back ``YYYY-MM-DD`` text for aggregates over a Date column."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
