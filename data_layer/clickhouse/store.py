""":class:`ClickHouseStore`: the ``EventStore`` (:mod:`data_layer.store`) over the ClickHouse cluster.

Frames have exactly the schema, order (arrival, ``seq``) and meaning of :class:`~data_layer.store.SqlStore`
and the replica's: filters, the day window, pages and columns go into the SQL, results come back
column by column into Polars, and the pages list's click counts are aggregated by ClickHouse. Rage flags
are the newest correction in ``web_flags`` when there is one (:mod:`data_layer.clickhouse.shipper`).
Every query reads the Distributed table with ``skip_unavailable_shards = 0``: a shard down is a 503
naming ClickHouse, never partial numbers.

Reads see what the shipper has delivered up to its mark (:meth:`ClickHouseStore.last_seq`): a block
above it may be unsettled after a failure, and a snapshot cursor never counts rows not all there yet.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine

from data_layer import metrics, rage, segments, sessions
from data_layer.clickhouse.shipper import read_progress
from data_layer.clickhouse.tables import FLAGS, TOUCH, WEB, read_name
from data_layer.clickhouse.target import ClickHouseTarget, answering
from data_layer.filters import TouchFilters, WebFilters, Window
from data_layer.store import TOUCH_EVENT_SCHEMA, WEB_EVENT_SCHEMA

_RAGE = "if(f_has = 1, f_rage, rage)"
_RAGE_START = "if(f_has = 1, f_rage_start, rage_start)"
_EXPRESSIONS = {"ts": "ts_us", "rage": _RAGE, "rage_start": _RAGE_START}
"""ClickHouse expressions of the :data:`WEB_EVENT_SCHEMA` columns that are not stored as they are."""


class ClickHouseStore:
    """The events read from ClickHouse; ``engine`` (SQL) only tells how far they were shipped."""

    def __init__(self, target: ClickHouseTarget, engine: Engine) -> None:
        self.target = target
        self.engine = engine
        self.web = read_name(target, WEB)
        self.touch = read_name(target, TOUCH)
        # Each shard joins its own corrections: a session's rows and flags share a shard. A correction
        # counts from when the rows of the write that made it are shipped (its ``rev`` within the mark),
        # so an answer never shows a late click's effect without the click.
        self._flags_join = (
            "ANY LEFT JOIN (SELECT seq, argMax(rage, version) AS f_rage, argMax(rage_start, version) AS "
            f"f_rage_start, 1 AS f_has FROM {target.database}.{FLAGS.local} WHERE rev <= %(mark)s "
            "GROUP BY seq) AS flags USING seq"
        )
        self._local = threading.local()

    def _execute(self, query: str, params: dict[str, Any] | None = None, *, columnar: bool = True) -> Any:
        """Runs ``query`` on this thread's client (a driver client serves one query at a time)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.target.client()
        with answering(self.target):
            try:
                return client.execute(query, params, columnar=columnar)
            except Exception:
                client.disconnect()
                raise

    def _from(self, names: Collection[str]) -> str:
        flagged = any(name in ("rage", "rage_start") for name in names)
        return f"{self.web} {self._flags_join}" if flagged else self.web

    def _conditions(
        self, from_day: date, to_day: date, filters: WebFilters, as_of_seq: int | None
    ) -> tuple[list[str], dict[str, Any]] | None:
        """WHERE conditions and parameters of a window and filters; None when nothing can match."""
        conditions = ["day >= %(from_day)s", "day <= %(to_day)s"]
        params: dict[str, Any] = {"from_day": from_day, "to_day": to_day}
        if filters.country:
            conditions.append("country = %(country)s")
            params["country"] = filters.country.upper()
        for column in ("region", "browser"):
            wanted = getattr(filters, column)
            if wanted:
                conditions.append(f"lowerUTF8({column}) = %({column})s")
                params[column] = wanted.lower()
        params["mark"] = self.last_seq()
        conditions.append("seq <= %(as_of_seq)s")
        # Never past the shipped mark: rows above it may be an unsettled block (shipper's rules).
        params["as_of_seq"] = params["mark"] if as_of_seq is None else min(as_of_seq, params["mark"])
        if segments.has_segment_filter(filters):
            known = self._execute(
                f"SELECT DISTINCT segment FROM {self.web} WHERE day >= %(from_day)s AND day <= %(to_day)s",
                {"from_day": from_day, "to_day": to_day},
            )
            keys = pl.Series("segment", known[0] if known else [], dtype=pl.String)
            wanted_keys = segments.matching_keys(keys, filters).to_list()
            if not wanted_keys:
                return None
            conditions.append("segment IN %(segments)s")
            params["segments"] = tuple(wanted_keys)
        return conditions, params

    def _frame(self, query: str, params: dict[str, Any], schema: dict[str, Any]) -> pl.DataFrame:
        """The columnar result of ``query`` as a frame of ``schema`` (ClickHouse's 0/1 as Booleans, the
        microseconds of ``ts`` as a time)."""
        columns = self._execute(query, params)
        if not columns:
            return pl.DataFrame(schema=schema)
        data = {}
        for (name, dtype), values in zip(schema.items(), columns, strict=True):
            if name == "ts":
                data[name] = pl.Series(name, values, dtype=pl.Int64).cast(pl.Datetime("us"))
            elif dtype == pl.Boolean:
                data[name] = pl.Series(name, values, dtype=pl.UInt8).cast(pl.Boolean)
            else:
                data[name] = pl.Series(name, values, dtype=dtype)
        return pl.DataFrame(data)

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
    ) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.web_events`."""
        names = list(columns) if columns is not None else list(WEB_EVENT_SCHEMA)
        schema = {name: WEB_EVENT_SCHEMA[name] for name in names}
        where = self._conditions(from_day, to_day, filters, as_of_seq)
        if where is None or (page_keys is not None and not page_keys):
            return pl.DataFrame(schema=schema)
        conditions, params = where
        if page_keys is not None:
            conditions.append("page_key IN %(page_keys)s")
            params["page_keys"] = tuple(page_keys)
        if clicks_only:
            conditions.append("event_type = 'click'")
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in names)
        query = f"SELECT {selected} FROM {self._from(names)} WHERE {' AND '.join(conditions)} ORDER BY seq"
        return self._frame(query, params, schema)

    def page_events(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, columns: Sequence[str]
    ) -> pl.LazyFrame:
        """As :meth:`data_layer.store.SqlStore.page_events`."""
        return self.web_events(
            window.from_day, window.to_day, filters, page_keys=page_keys, columns=columns
        ).lazy()

    def page_keys(self) -> pl.Series:
        """Every pageKey with a shipped event (String), in no particular order."""
        found = self._execute(
            f"SELECT DISTINCT page_key FROM {self.web} WHERE seq <= %(mark)s", {"mark": self.last_seq()}
        )
        return pl.Series("page_key", found[0] if found else [], dtype=pl.String)

    def click_counts(
        self,
        from_day: date,
        to_day: date,
        filters: WebFilters = WebFilters(),
        *,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """:func:`data_layer.metrics.click_counts` per (page_key, breakpoint), counted by ClickHouse."""
        schema = metrics.click_counts(pl.DataFrame(schema=_COUNT_INPUT)).collect_schema()
        where = self._conditions(from_day, to_day, filters, as_of_seq)
        if where is None:
            return pl.DataFrame(schema=schema)
        conditions, params = where
        conditions.append("event_type = 'click'")
        query = (
            f"SELECT page_key, breakpoint, toInt64(count()), toInt64(sum({_RAGE_START})), "
            f"toInt64(sum(dead)), toInt64(sum(dead OR {_RAGE})) FROM {self._from(['rage'])} "
            f"WHERE {' AND '.join(conditions)} GROUP BY page_key, breakpoint"
        )
        return self._frame(query, params, dict(schema))

    def session_page(
        self,
        query: sessions.SessionQuery,
        *,
        recorded: Collection[str] = (),
        offset: int,
        limit: int,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.session_page`."""
        window = query.window
        events = self.web_events(
            window.from_day, window.to_day, query.filters, as_of_seq=as_of_seq, columns=sessions.EVENT_COLUMNS
        )
        return sessions.session_page(events.lazy(), query, recorded=recorded, offset=offset, limit=limit)

    def last_seq(self) -> int:
        """The shipped mark: every web event up to it is in ClickHouse (the snapshot for paging)."""
        return self._mark("web")

    def _mark(self, stream: str) -> int:
        """How far ``stream`` is shipped. Every read is bounded by it: rows above it may be a block
        not yet settled after a failure (:meth:`~data_layer.clickhouse.shipper.Shipper.check_uncertain`),
        and the answers must not count them."""
        with self.engine.connect() as conn:
            return read_progress(conn, stream).shipped_seq

    def clicks_before_late_sessions(self, as_of_seq: int) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.clicks_before_late_sessions` (each shard looks up its own
        sessions: they never span shards)."""
        schema = {name: WEB_EVENT_SCHEMA[name] for name in rage.INPUT_COLUMNS}
        local = f"{self.target.database}.{WEB.local}"
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in schema)
        query = (
            f"SELECT {selected} FROM {self.web} WHERE seq <= %(seq)s AND event_type = 'click' AND "
            f"session_id IN (SELECT session_id FROM {local} WHERE seq > %(seq)s AND seq <= %(mark)s "
            "AND event_type = 'click')"
        )
        return self._frame(query, {"seq": as_of_seq, "mark": self.last_seq()}, schema)

    def page_exists(self, page_key: str) -> bool:
        found = self._execute(
            f"SELECT 1 FROM {self.web} WHERE page_key = %(page_key)s AND seq <= %(mark)s LIMIT 1",
            {"page_key": page_key, "mark": self.last_seq()},
        )
        return bool(found)

    def touch_events(self, filters: TouchFilters) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.touch_events`, in no particular order."""
        conditions = ["screen_name = %(screen_name)s", "seq <= %(mark)s"]
        params: dict[str, Any] = {"screen_name": filters.screen_name, "mark": self._mark("touch")}
        if filters.campaign_id:
            conditions.append("campaign_id = %(campaign_id)s")
            params["campaign_id"] = filters.campaign_id
        if filters.event_types:
            conditions.append("event_type IN %(event_types)s")
            params["event_types"] = tuple(filters.event_types)
        if filters.user_id:
            conditions.append("user_id = %(user_id)s")
            params["user_id"] = filters.user_id
        if filters.from_day is not None:
            conditions.append("day >= %(from_day)s")
            params["from_day"] = filters.from_day
        if filters.to_day is not None:
            conditions.append("day <= %(to_day)s")
            params["to_day"] = filters.to_day
        query = f"SELECT user_id, x, y FROM {self.touch} WHERE {' AND '.join(conditions)}"
        return self._frame(query, params, TOUCH_EVENT_SCHEMA)


_COUNT_INPUT = {name: WEB_EVENT_SCHEMA[name] for name in metrics.PAGE_LIST_COLUMNS}
