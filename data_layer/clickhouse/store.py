""":class:`ClickHouseStore`: the ``EventStore`` (:mod:`data_layer.store`) over the ClickHouse cluster.

Every read is aggregated by ClickHouse and comes back small: click counts per page, bins and their
selectors, a histogram of fold heights, the best sessions of a page or a spot (``LIMIT … BY``), the top
elements, touch cells, distinct filter values. Polars finishes them with the functions the other stores
use (:mod:`data_layer.page_reads`), so answers are those of :class:`~data_layer.store.SqlStore` and the
replica; a reader's memory does not grow with the events. Frames of events (``web_events``) remain for
the rage flags a cursor's snapshot needs and keep SQL's schema and order (arrival, ``seq``). Rage flags
are the newest correction in ``web_flags`` when there is one (:mod:`data_layer.clickhouse.shipper`).
Every query reads the Distributed table with ``skip_unavailable_shards = 0``: a shard down is a 503
naming ClickHouse, never partial numbers.

Reads see what the shipper has delivered up to its mark (:meth:`ClickHouseStore.last_seq`): a block
above it may be unsettled after a failure, and a snapshot cursor never counts rows not all there yet.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from data_layer import (
    bins,
    breakpoints,
    elements,
    metrics,
    page_reads,
    rage,
    scroll_only,
    segments,
    sessions,
    touch_metrics,
)
from data_layer.clickhouse import rollup, tail
from data_layer.clickhouse.shipper import read_progress
from data_layer.clickhouse.tables import (
    BIN,
    BINS,
    DEAD_BINS,
    FLAGS,
    RAGE,
    RAGE_START,
    ROLLUP,
    ROLLUP_BY_DIMENSION,
    SESSION_AGGREGATES,
    SESSION_KEY,
    SESSIONS,
    SPREAD,
    TOUCH,
    WEB,
    WINDOW_DAYS,
    Shard,
    Table,
    flags_join,
    local_name,
    read_name,
    shards,
)
from data_layer.clickhouse.target import ClickHouseTarget, answering, is_stale_peer
from data_layer.filters import TouchFilters, WebFilters, Window
from data_layer.page_reads import PageGeometry, PageHeatmap, Spot
from data_layer.store import WEB_EVENT_SCHEMA, SqlStore
from data_layer.touch_metrics import EDGE_DECIMALS, GRID_SIZE

_RANK_ORDER = ", ".join(
    f"{key} DESC" if descending else key
    for key, descending in zip(metrics.RANK_KEYS, metrics.RANK_DESCENDING, strict=True)
)
"""The replay ranking (CONTRACT 2.7) as an ORDER BY over columns named as :data:`metrics.RANK_KEYS`."""
_EXPRESSIONS = {"ts": "ts_us", "rage": RAGE, "rage_start": RAGE_START}
"""ClickHouse expressions of the :data:`WEB_EVENT_SCHEMA` columns that are not stored as they are."""


def _value_conditions(filters: WebFilters) -> tuple[list[str], dict[str, Any]]:
    """The conditions (and parameters) of the country, region and browser filters: columns of the
    events and of the rollup by dimension alike."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if filters.country:
        conditions.append("country = %(country)s")
        params["country"] = filters.country.upper()
    for column in ("region", "browser"):
        wanted = getattr(filters, column)
        if wanted:
            conditions.append(f"lowerUTF8({column}) = %({column})s")
            params[column] = wanted.lower()
    return conditions, params


class ClickHouseStore:
    """The events read from ClickHouse; ``engine`` (SQL) only tells how far they were shipped."""

    def __init__(self, target: ClickHouseTarget, engine: Engine) -> None:
        self.target = target
        self.engine = engine
        self.sql = SqlStore(engine)
        """What SQL answers best: the ends of its indexes, a session's few rows."""
        self.web = read_name(target, WEB)
        self.touch = read_name(target, TOUCH)
        self.daily = read_name(target, ROLLUP)
        self.daily_by_dimension = read_name(target, ROLLUP_BY_DIMENSION)
        self._flags = read_name(target, FLAGS)
        self._flags_join = flags_join(target, WINDOW_DAYS)
        self._local = threading.local()
        self._known_keys: dict[tuple[date, date, int], pl.Series] = {}
        self._keys_lock = threading.Lock()
        self._shards: list[Shard] | None = None
        self._pool = ThreadPoolExecutor(thread_name_prefix="clickhouse-shards")

    def _execute(
        self,
        query: str,
        params: dict[str, Any] | None = None,
        *,
        columnar: bool = True,
        shard: Shard | None = None,
    ) -> Any:
        """Runs ``query`` on this thread's client of ``shard`` (default: the URL's server; a driver client
        serves one query at a time)."""
        clients = self._local.__dict__.setdefault("clients", {})
        client = clients.get(shard)
        if client is None:
            client = clients[shard] = (
                self.target.client() if shard is None else self.target.client(shard.host, shard.port)
            )
        with answering(self.target):
            try:
                return client.execute(query, params, columnar=columnar)
            except Exception as exc:
                client.disconnect()
                if not is_stale_peer(exc):
                    raise
            return client.execute(query, params, columnar=columnar)  # reads: safe to send again

    def _from(self, names: Collection[str]) -> str:
        flagged = any(name in ("rage", "rage_start") for name in names)
        return f"{self.web} {self._flags_join}" if flagged else self.web

    def _conditions(
        self, from_day: date, to_day: date, filters: WebFilters, as_of_seq: int | None
    ) -> tuple[list[str], dict[str, Any]] | None:
        """WHERE conditions and parameters of a window and filters; None when nothing can match."""
        values, params = _value_conditions(filters)
        conditions = ["day >= %(from_day)s", "day <= %(to_day)s", *values]
        params.update(from_day=from_day, to_day=to_day)
        params["mark"] = self.last_seq()
        conditions.append("seq <= %(as_of_seq)s")
        # Never past the shipped mark: rows above it may be an unsettled block (shipper's rules).
        params["as_of_seq"] = params["mark"] if as_of_seq is None else min(as_of_seq, params["mark"])
        if segments.has_segment_filter(filters):
            keys = self._segment_keys(from_day, to_day, params["mark"])
            wanted_keys = segments.matching_keys(keys, filters).to_list()
            if not wanted_keys:
                return None
            conditions.append("segment IN %(segments)s")
            params["segments"] = tuple(wanted_keys)
        return conditions, params

    def _segment_keys(self, from_day: date, to_day: date, mark: int) -> pl.Series:
        """The distinct segment keys of the days' events, kept per shipped mark: new keys come only with
        new rows, which move the mark (an erasure may leave a key that no longer matches: harmless)."""
        key = (from_day, to_day, mark)
        with self._keys_lock:
            known = self._known_keys.get(key)
        if known is None:
            found = self._execute(
                f"SELECT DISTINCT segment FROM {self.web} WHERE day >= %(from_day)s AND day <= %(to_day)s",
                {"from_day": from_day, "to_day": to_day},
            )
            known = pl.Series("segment", found[0] if found else [], dtype=pl.String)
            with self._keys_lock:
                if len(self._known_keys) >= _KNOWN_KEYS:
                    self._known_keys.clear()
                self._known_keys[key] = known
        return known

    def _on_shards(
        self, query: str, params: dict[str, Any], schema: dict[str, Any], *, numbered: bool = False
    ) -> pl.DataFrame:
        """:meth:`_frame` of ``query`` (over the shards' own tables) run on every shard at once, the
        shards' rows one after the other (``numbered``: with the shard's number as ``shard``)."""
        if self._shards is None:
            self._shards = shards(self.target)

        def run(shard: Shard) -> pl.DataFrame:
            found = self._frame(query, params, schema, shard=shard)
            return found.with_columns(shard=pl.lit(shard.number, pl.Int32)) if numbered else found

        return pl.concat(list(self._pool.map(run, self._shards)))

    def _frame(
        self, query: str, params: dict[str, Any], schema: dict[str, Any], *, shard: Shard | None = None
    ) -> pl.DataFrame:
        """The columnar result of ``query`` as a frame of ``schema`` (ClickHouse's 0/1 as Booleans, the
        microseconds of ``ts`` as a time)."""
        columns = self._execute(query, params, shard=shard)
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
        clicked_after: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.web_events` (each shard looks up its own sessions clicked
        after ``clicked_after``: they never span shards)."""
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
        if clicked_after is not None:
            conditions.append(f"session_id IN ({self._clicked_after('clicked_after')})")
            params["clicked_after"] = clicked_after
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in names)
        query = f"SELECT {selected} FROM {self._from(names)} WHERE {' AND '.join(conditions)} ORDER BY seq"
        return self._frame(query, params, schema)

    def _page_where(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        include_fixed: bool,
        *conditions: str,
    ) -> tuple[str, dict[str, Any]] | None:
        """The WHERE clause (and parameters) of some pages' events in a window and filters; None when
        nothing can match."""
        where = self._conditions(window.from_day, window.to_day, filters, None)
        if where is None or not page_keys:
            return None
        found, params = where
        found.append("page_key IN %(page_keys)s")
        params["page_keys"] = tuple(page_keys)
        if not include_fixed:
            found.append("fixed = 0")
        return " AND ".join([*found, *conditions]), params

    def page_heatmap(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
        count_pages: bool,
    ) -> PageHeatmap:
        """As :meth:`data_layer.store.SqlStore.page_heatmap`, aggregated by ClickHouse: what comes back
        are bins, a bin's selectors, a few viewport heights and the best sessions, never events.

        Without filters, the days a build of the daily rollup answers for are read from its bins, dead
        bins and session rows (:mod:`rollup`), the others scanned; each shard combines its own (a
        session's rows never span shards), so what comes back is a shard's bins, histogram and best
        sessions, added up and cut here."""
        where = self._page_where(page_keys, window, filters, include_fixed)
        if where is None:
            return page_reads.heatmap_of_events(
                pl.LazyFrame(
                    schema={name: WEB_EVENT_SCHEMA[name] for name in (*metrics.SUMMARY_COLUMNS, "page_key")}
                ),
                breakpoint,
                count_pages=count_pages,
            )
        condition, params = where
        params["breakpoint"] = breakpoint
        parts = self._summary_parts(window, filters, include_fixed, condition, params)
        histogram = self._scroll_histogram(parts, params)
        per_bin = self._summed(
            parts,
            params,
            (BINS, "clicks", "rage_events"),
            ("count()", f"sum({RAGE_START})"),
            _CLICK,
            ("bin",),
        ).rename({"bin": "_bin", "n0": "clicks", "n1": "rage_events"})
        per_bin = (
            per_bin.group_by("_bin")
            .agg(pl.col("clicks", "rage_events").sum())
            .sort("_bin")
            .select(**bins.from_bin_key("_bin"), clicks="clicks", rage_events="rage_events")
        )
        dead = self._summed(
            parts,
            params,
            (DEAD_BINS, "dead_clicks"),
            ("count()",),
            f"{_CLICK} AND dead = 1",
            ("bin", "selector"),
        ).rename({"bin": "_bin", "n0": "n"})
        replays = (
            self._replay_sessions(condition, params)
            if parts.rolled is None
            else self._best_sessions(parts, params)
        )
        click, rage_bins = metrics.click_and_rage(per_bin)
        heatmap = metrics.BreakpointSummary(
            click,
            rage_bins,
            metrics.top_selectors(
                dead.lazy().group_by("_bin", "selector").agg(pl.col("n").sum()), "dead_clicks"
            ).collect(),
            *metrics.reach_and_fold(histogram),
        )
        pages = None
        if count_pages:
            pages = int(
                self._execute(f"SELECT uniqExact(page_key) FROM {self.web} WHERE {condition}", params)[0][0]
            )
        return PageHeatmap(heatmap, replays, pages)

    def _summed(
        self,
        parts: _SummaryParts,
        params: dict[str, Any],
        rolled: tuple[Table, *tuple[str, ...]],
        counted: Sequence[str],
        scanned: str,
        keys: Sequence[str],
    ) -> pl.DataFrame:
        """Counts per ``keys`` (``bin``, :data:`BIN`; ``selector``) on the summary's breakpoint, as Int64
        ``n0``, ``n1``…: a build's rows (``rolled``: its table, then the columns holding them) and the
        scanned days' events where ``scanned``, counted by the aggregates ``counted``, added up by each
        shard (the shards' rows one after the other)."""
        table, *columns = rolled
        names = [f"n{index}" for index in range(len(counted))]
        grouped = ", ".join(keys)
        made = ", ".join(f"{BIN} AS bin" if key == "bin" else key for key in keys)

        def as_names(values: Sequence[str]) -> str:
            return ", ".join(f"toInt64({value}) AS {name}" for value, name in zip(values, names, strict=True))

        here = "breakpoint = %(breakpoint)s"
        union = parts.union(
            (table, f"{grouped}, {as_names(columns)}", here),
            (f"{made}, {as_names(counted)}", f"{here} AND {scanned}", grouped),
        )
        sums = ", ".join(f"toInt64(sum({name}))" for name in names)
        known = {"bin": pl.Int64, "selector": pl.String}
        return self._on_shards(
            f"SELECT {grouped}, {sums} FROM ({union}) GROUP BY {grouped}",
            params,
            {**{key: known[key] for key in keys}, **dict.fromkeys(names, pl.Int64)},
        )

    def _scroll_histogram(self, parts: _SummaryParts, params: dict[str, Any]) -> pl.DataFrame:
        """The histogram of the deepest scroll's viewport heights, with each scroll bucket's reach
        (:func:`metrics.reach_and_fold`'s input): a session counted alone from its one row, unless
        its rows must be added up (:meth:`_SummaryParts.spread`)."""
        here = "breakpoint = %(breakpoint)s"
        schema = {
            "viewport_height": pl.Int32,
            "sessions": pl.Int64,
            **dict.fromkeys(metrics.REACH_COLUMNS, pl.Int64),
        }

        def reached(depth: str) -> str:
            return ", ".join(f"toInt64(countIf({depth} >= {bucket}))" for bucket in metrics.SCROLL_BUCKETS)

        rolled = f"{here} AND scrolls > 0"
        found = []
        if parts.built is not None:
            spread = parts.spread(here)
            found.append(
                self._on_shards(
                    f"SELECT deepest_vh, toInt64(count()), {reached('deepest')} FROM "
                    f"{local_name(self.target, SESSIONS)} WHERE {parts.rolled} AND {rolled} AND session_key "
                    f"NOT IN ({spread}) GROUP BY deepest_vh",
                    params,
                    schema,
                )
            )
            rolled += f" AND session_key IN ({spread})"
        found.append(
            self._on_shards(
                f"SELECT vh, toInt64(count()), {reached('d')} FROM (SELECT max(deepest) AS d, "
                "argMax(deepest_vh, (deepest, deepest_ts, deepest_seq)) AS vh FROM ("
                + parts.sessions(_DEEPEST, rolled, f"{here} AND {_SCROLLED}", ("session_key",))
                + ") GROUP BY session_key) GROUP BY vh",
                params,
                schema,
            )
        )
        return pl.concat(found).group_by("viewport_height").agg(pl.exclude("viewport_height").sum())

    def _summary_parts(
        self,
        window: Window,
        filters: WebFilters,
        include_fixed: bool,
        condition: str,
        params: dict[str, Any],
    ) -> _SummaryParts:
        """Which days of a summary come from builds (only without filters: builds count every event of
        a day) and which are scanned (``condition``, the page's events in the window)."""
        values, _ = _value_conditions(filters)
        if values or segments.has_segment_filter(filters):
            return _SummaryParts(self.target, None, condition)
        with self.engine.connect() as conn:
            days = rollup.window_days(conn, window.from_day, window.to_day, params["as_of_seq"])
        if not days.builds:
            return _SummaryParts(self.target, None, condition)
        built = f"{_chosen_builds(days.builds, params)} AND page_key IN %(page_keys)s"
        params["left"] = tuple(days.scanned)
        scanned = f"{condition} AND day IN %(left)s" if days.scanned else None
        rolled = built if include_fixed else f"{built} AND fixed = 0"
        # A group's session may have rows on several of its pages: they are all added up.
        single = built if len(params["page_keys"]) == 1 else None
        return _SummaryParts(self.target, rolled, scanned, single, "day IN %(left)s")

    def _best_sessions(self, parts: _SummaryParts, params: dict[str, Any]) -> pl.DataFrame:
        """:func:`metrics.replay_sessions` of a summary from its session rows: each shard ranks its own
        sessions (a session's rows never span shards) and sends its best per breakpoint, the best of
        those are kept, then their first events are looked up."""
        per_breakpoint = metrics.REPLAYS_PER_BREAKPOINT
        params = {**params, "breakpoints": breakpoints.NAMES, "per_breakpoint": per_breakpoint}
        ranked = (
            self._ranked_alone(parts, params)
            if parts.built is not None
            else self._ranked_narrowed(parts, params)
        )
        best = metrics.best_sessions(ranked, breakpoints.NAMES, per_breakpoint)
        if best.is_empty():
            return pl.DataFrame(schema=metrics.REPLAY_SESSION_SCHEMA)
        firsts = self._on_shards(
            "SELECT session_id, argMin(first_visitor, (first_ts, first_seq)), "
            "toDate(toDateTime(intDiv(min(first_ts), 1000000), 'UTC')) FROM ("
            + parts.sessions(_FIRST, "session_id IN %(sessions)s")
            + ") GROUP BY session_id",
            {**params, "sessions": tuple(best.get_column("session_id"))},
            metrics.FIRST_VISIT_SCHEMA,
        )
        return best.join(firsts, on="session_id", how="left", maintain_order="left").select(
            list(metrics.REPLAY_SESSION_SCHEMA)
        )

    def _ranked_alone(self, parts: _SummaryParts, params: dict[str, Any]) -> pl.DataFrame:
        """One page's best sessions per breakpoint and shard (:data:`_RANKING_SCHEMA`): those with one row
        ranked from it as it is, each breakpoint's top cut by ClickHouse (``ORDER BY … LIMIT``: a
        partial sort), from the rows with rage events or dead clicks while five such sessions rank
        first; those whose rows must be added up (:meth:`_SummaryParts.spread`, few) added up."""
        listed = "breakpoint IN %(breakpoints)s"
        spread = parts.spread(listed)
        sessions = local_name(self.target, SESSIONS)

        def alone(names: Sequence[str], flagged: str) -> pl.DataFrame:
            return self._on_shards(
                " UNION ALL ".join(
                    f"SELECT * FROM (SELECT breakpoint, session_id, toInt64(n_rage) AS rage_events, "
                    "toInt64(n_dead) AS dead_clicks, toInt64(n_clicks) AS clicks, latest AS last_ts FROM "
                    f"{sessions} WHERE {parts.rolled} AND breakpoint = '{name}' AND {flagged} AND "
                    f"session_key NOT IN ({spread}) ORDER BY {_RANK_ORDER} LIMIT %(per_breakpoint)s)"
                    for name in names
                ),
                params,
                _RANKING_SCHEMA,
                numbered=True,
            )

        found = [alone(breakpoints.NAMES, "n_rage + n_dead > 0")]  # as the table is ordered
        sent = found[0].group_by("shard", "breakpoint").len()
        short = {
            name
            for name in breakpoints.NAMES
            for shard in self._shards or ()
            if sent.filter(shard=shard.number, breakpoint=name)["len"].sum() < params["per_breakpoint"]
        }
        if short:  # fewer flagged sessions than replays: the others rank next
            found.append(alone(sorted(short), "n_rage + n_dead = 0"))
        rows = parts.sessions(
            _RANKED, f"{listed} AND session_key IN ({spread})", listed, keys=("breakpoint", "session_id")
        )
        found.append(
            self._on_shards(
                "SELECT breakpoint, session_id, toInt64(sum(n_rage)) AS rage_events, toInt64(sum(n_dead)) AS "
                f"dead_clicks, toInt64(sum(n_clicks)) AS clicks, max(latest) AS last_ts FROM ({rows}) "
                f"GROUP BY breakpoint, session_id ORDER BY breakpoint, {_RANK_ORDER} "
                "LIMIT %(per_breakpoint)s BY breakpoint",
                params,
                _RANKING_SCHEMA,
                numbered=True,
            )
        )
        return pl.concat(found).drop("shard")

    def _ranked_narrowed(self, parts: _SummaryParts, params: dict[str, Any]) -> pl.DataFrame:
        """A group's best sessions per breakpoint and shard (:data:`_RANKING_SCHEMA`), its sessions'
        rows added up.

        Ranking every session of a busy page is the dear part (2 M sessions: 1.7 s at 100 M events), so,
        as :meth:`_replay_sessions` does, a breakpoint where enough sessions have rage events or dead
        clicks ranks only the built days' rows of those whose rage events and dead clicks reach its
        k-th best: each shard sends its :data:`_STRONGEST` flagged sessions (their rage events and dead
        clicks come whole from the flagged rows alone), which name every session reaching the k-th best
        unless ties go on past them (then they are found again by a subquery). A session left out ranks
        below every one kept, whatever rows of it a scanned day adds."""
        listed = "breakpoint IN %(breakpoints)s"
        flagged = f"{listed} AND n_rage + n_dead > 0"  # as the table is ordered

        def per_session(rolled: str) -> str:
            rows = parts.sessions(
                ("n_rage", "n_dead"),
                rolled,
                f"{listed} AND {_CLICK} AND (dead = 1 OR {RAGE_START} = 1)",
                keys=("breakpoint", "session_key"),
            )
            return (
                f"SELECT breakpoint, session_key, sum(n_rage) AS r, sum(n_dead) AS d FROM ({rows}) "
                "GROUP BY breakpoint, session_key"
            )

        strongest = self._on_shards(
            f"SELECT breakpoint, hex(session_key), toInt64(r), toInt64(d) FROM ({per_session(flagged)}) "
            "ORDER BY breakpoint, r DESC, d DESC LIMIT %(strongest)s BY breakpoint",
            {**params, "strongest": _STRONGEST},
            {"breakpoint": pl.String, "key": pl.String, "r": pl.Int64, "d": pl.Int64},
            numbered=True,
        )
        settled, reaching, looked_up = [], [], []
        per_breakpoint = params["per_breakpoint"]
        for (name,), found in strongest.group_by("breakpoint"):
            if found.height < per_breakpoint:
                continue  # fewer flagged sessions than replays: every session of it is ranked
            found = found.sort("r", "d", descending=True)
            r, d = found.row(per_breakpoint - 1)[2:4]
            settled.append(name)
            # Each shard sent its strongest: all of its sessions reaching the k-th best, unless the
            # last one it sent still reaches it (ties went on past the cut): those are looked up.
            lasts = found.group_by("shard").agg(pl.len(), pl.col("r").last(), pl.col("d").last())
            if any(
                n == _STRONGEST and (last_r, last_d) >= (r, d) for _, n, last_r, last_d in lasts.iter_rows()
            ):
                looked_up.append(f"(breakpoint = '{name}' AND (r > {r} OR (r = {r} AND d >= {d})))")
            else:
                strong = (pl.col("r") > r) | ((pl.col("r") == r) & (pl.col("d") >= d))
                reaching.extend(f"unhex('{key}')" for key in found.filter(strong)["key"])
        rolled = listed
        if settled:
            params["settled"] = tuple(settled)
            chosen = [f"session_key IN ({', '.join(reaching)})"] if reaching else []
            if looked_up:
                chosen.append(
                    "(breakpoint, session_key) IN (SELECT breakpoint, session_key FROM "
                    f"({per_session(flagged)}) WHERE {' OR '.join(looked_up)})"
                )
            rolled += f" AND (breakpoint NOT IN %(settled)s OR {' OR '.join(chosen)})"
        return self._on_shards(
            "SELECT breakpoint, session_id, toInt64(sum(n_rage)) AS rage_events, toInt64(sum(n_dead)) AS "
            "dead_clicks, toInt64(sum(n_clicks)) AS clicks, max(latest) AS last_ts FROM ("
            + parts.sessions(_RANKED, rolled, listed, keys=("breakpoint", "session_id"))
            + f") GROUP BY breakpoint, session_id ORDER BY breakpoint, {_RANK_ORDER} "
            "LIMIT %(per_breakpoint)s BY breakpoint",
            params,
            _RANKING_SCHEMA,
        )

    def _replay_sessions(self, condition: str, params: dict[str, Any]) -> pl.DataFrame:
        """:func:`metrics.replay_sessions` of the events ``condition`` selects: ranked and cut by
        ClickHouse (``LIMIT … BY``), then the first event of the few sessions that made it.

        Ranking every session of a busy page is the dear part (2 M sessions: seconds), so, as
        :func:`metrics.replay_sessions` does, a breakpoint where enough sessions have a rage event or a
        dead click ranks only those whose rage events and dead clicks reach its k-th best: found from
        the flagged clicks alone, then ranked on all their events.
        """
        click = "event_type = 'click'"
        params = {
            **params,
            "breakpoints": breakpoints.NAMES,
            "per_breakpoint": metrics.REPLAYS_PER_BREAKPOINT,
        }
        flagged = (
            f"{click} AND breakpoint IN %(breakpoints)s AND (dead = 1 OR {RAGE_START} = 1) "
            f"GROUP BY breakpoint, session_id"
        )
        kth = self._execute(
            f"SELECT breakpoint, r, d FROM (SELECT breakpoint, session_id, toInt64(sum({RAGE_START})) AS r, "
            f"toInt64(sum(dead)) AS d FROM {self._from(['rage_start'])} WHERE {condition} AND {flagged}) "
            "ORDER BY breakpoint, r DESC, d DESC LIMIT %(per_breakpoint)s BY breakpoint",
            params,
            columnar=False,
        )
        ranked_per_breakpoint = Counter(name for name, _, _ in kth)
        # Rows come best first per breakpoint: the last of each is its k-th.
        thresholds = {name: (int(rage_events), int(dead_clicks)) for name, rage_events, dead_clicks in kth}
        settled = [name for name, n in ranked_per_breakpoint.items() if n == metrics.REPLAYS_PER_BREAKPOINT]
        narrowed = ""
        if settled:
            # Per shard on its own tables: a session's events and flags never span shards.
            reaching = " OR ".join(
                f"(breakpoint = '{name}' AND (r > {thresholds[name][0]} OR (r = {thresholds[name][0]} "
                f"AND d >= {thresholds[name][1]})))"
                for name in settled
            )
            local = f"{local_name(self.target, WEB)} {self._flags_join}"
            narrowed = (
                f" AND (breakpoint NOT IN %(settled)s OR (breakpoint, session_id) IN (SELECT breakpoint, "
                f"session_id FROM (SELECT breakpoint, session_id, sum({RAGE_START}) AS r, sum(dead) AS d "
                f"FROM {local} WHERE {condition} AND {flagged}) WHERE {reaching}))"
            )
            params["settled"] = tuple(settled)
        ranked = self._frame(
            f"SELECT breakpoint, session_id, toInt64(sum({click} AND {RAGE_START})) AS rage_events, "
            f"toInt64(sum({click} AND dead)) AS dead_clicks, toInt64(countIf({click})) AS clicks, "
            f"max(ts_us) AS last_ts FROM {self._from(['rage_start'])} WHERE {condition}{narrowed} "
            "AND breakpoint IN %(breakpoints)s GROUP BY breakpoint, session_id "
            f"ORDER BY breakpoint, {_RANK_ORDER} LIMIT %(per_breakpoint)s BY breakpoint",
            params,
            {
                "breakpoint": pl.String,
                "session_id": pl.String,
                **dict.fromkeys(("rage_events", "dead_clicks", "clicks", "last_ts"), pl.Int64),
            },
        )
        if ranked.is_empty():
            return pl.DataFrame(schema=metrics.REPLAY_SESSION_SCHEMA)
        firsts = self._first_visits(condition, params, ranked.get_column("session_id"))
        order = {name: index for index, name in enumerate(breakpoints.NAMES)}
        return (
            ranked.with_row_index("_rank")
            .sort(pl.col("breakpoint").replace_strict(order, return_dtype=pl.Int32), "_rank")
            .join(firsts, on="session_id", how="left", maintain_order="left")
            .select(list(metrics.REPLAY_SESSION_SCHEMA))
        )

    def _first_visits(self, condition: str, params: dict[str, Any], session_ids: pl.Series) -> pl.DataFrame:
        """``session_id``, ``visitor_id`` and ``first_day`` of each session's first event among those
        ``condition`` selects (by time, then sequence number): a replay link's visitor and day."""
        return self._frame(
            "SELECT session_id, argMin(visitor_id, (ts_us, seq)), toDate(toDateTime(intDiv(min(ts_us), "
            f"1000000), 'UTC')) FROM {self.web} WHERE {condition} AND session_id IN %(sessions)s "
            "GROUP BY session_id",
            {**params, "sessions": tuple(session_ids)},
            metrics.FIRST_VISIT_SCHEMA,
        )

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
    ) -> pl.DataFrame:
        """As :meth:`data_layer.page_reads.FromEvents.spot_sessions`: ClickHouse ranks the sessions of
        the spot's clicks and cuts the list; only those sessions' first visits come back besides."""
        where = self._page_where(page_keys, window, filters, include_fixed)
        if where is None or not (spot.bins or spot.selector is not None):
            return pl.DataFrame(schema=page_reads.SPOT_SESSION_SCHEMA)
        condition, params = where
        params.update(breakpoint=breakpoint, limit=limit)
        if spot.selector is not None:
            here = "selector = %(selector)s"
            params["selector"] = spot.selector
        else:
            here = f"{BIN} IN %(bins)s"
            params["bins"] = tuple(y * bins.COLUMNS + x for x, y in spot.bins)
        counted = {"dead": "dead = 1", "rage": f"{RAGE_START} = 1"}.get(spot.layer, "1")
        ranked = self._frame(
            f"SELECT session_id, toInt64(sum({RAGE_START})) AS rage_events, "
            "toInt64(sum(dead)) AS dead_clicks, toInt64(count()) AS clicks, max(ts_us) AS last_ts, "
            f"minIf(ts_us, {counted}) AS first_ts "
            f"FROM {self._from(['rage_start'])} WHERE {condition} AND event_type = 'click' "
            f"AND breakpoint = %(breakpoint)s AND {here} GROUP BY session_id HAVING countIf({counted}) > 0 "
            f"ORDER BY {_RANK_ORDER} LIMIT %(limit)s",
            params,
            {
                "session_id": pl.String,
                **dict.fromkeys(("rage_events", "dead_clicks", "clicks", "last_ts", "first_ts"), pl.Int64),
            },
        )
        if ranked.is_empty():
            return pl.DataFrame(schema=page_reads.SPOT_SESSION_SCHEMA)
        times = [pl.col(name).cast(pl.Datetime("us")) for name in ("last_ts", "first_ts")]
        return (
            ranked.with_columns(times)
            .join(
                self._first_visits(condition, params, ranked.get_column("session_id")),
                on="session_id",
                how="left",
                maintain_order="left",
            )
            .select(list(page_reads.SPOT_SESSION_SCHEMA))
        )

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
    ) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.page_elements`, counted by ClickHouse: the top selectors
        and their distinct boxes come back, never clicks."""
        where = self._page_where(page_keys, window, filters, include_fixed, "event_type = 'click'")
        per_selector_schema = {
            "selector": pl.String,
            "clicks": pl.Int64,
            "rage_events": pl.Int64,
            "dead_clicks": pl.Int64,
        }
        box_keys = ("selector", "rect") if width is None else ("selector", "rect", "document_width")
        box_schema = {name: WEB_EVENT_SCHEMA[name] for name in box_keys} | {"n": pl.UInt32}
        if where is None:
            empty = pl.DataFrame(schema=per_selector_schema)
            return elements.element_table(0, empty, pl.DataFrame(schema=box_schema), width)
        condition, params = where
        params.update(breakpoint=breakpoint, limit=limit)
        clicks = f"{condition} AND breakpoint = %(breakpoint)s"
        total = int(self._execute(f"SELECT count() FROM {self.web} WHERE {clicks}", params)[0][0])
        per_selector = self._frame(
            f"SELECT selector, toInt64(count()) AS clicks, toInt64(sum({RAGE_START})), toInt64(sum(dead)) "
            f"FROM {self._from(['rage_start'])} WHERE {clicks} AND selector IS NOT NULL GROUP BY selector "
            "ORDER BY clicks DESC, selector LIMIT %(limit)s",
            params,
            per_selector_schema,
        )
        if per_selector.is_empty():
            return elements.element_table(total, per_selector, pl.DataFrame(schema=box_schema), width)
        keys = ", ".join(box_keys)
        boxes = self._frame(
            f"SELECT {keys}, toUInt32(count()) FROM {self.web} WHERE {clicks} AND rect IS NOT NULL "
            f"AND selector IN %(top)s GROUP BY {keys}",
            {**params, "top": tuple(per_selector.get_column("selector"))},
            box_schema,
        )
        return elements.element_table(total, per_selector, boxes, width)

    def page_cells(
        self,
        page_keys: Sequence[str],
        window: Window,
        filters: WebFilters,
        breakpoint: str,
        *,
        include_fixed: bool,
    ) -> pl.DataFrame:
        """As :meth:`data_layer.page_reads.FromEvents.page_cells`: the clicks counted per bin and selector
        by ClickHouse, the top selector picked by :func:`metrics.top_selectors`."""
        clicks = "event_type = 'click' AND breakpoint = %(breakpoint)s"
        where = self._page_where(page_keys, window, filters, include_fixed, clicks)
        schema = {"_bin": pl.Int64, "selector": pl.String, "n": pl.Int64}
        counts = pl.DataFrame(schema=schema)
        if where is not None:
            condition, params = where
            counts = self._frame(
                f"SELECT {BIN} AS bin, selector, toInt64(count()) FROM {self.web} WHERE {condition} "
                "GROUP BY bin, selector",
                {**params, "breakpoint": breakpoint},
                schema,
            )
        return metrics.top_selectors(counts.lazy(), "clicks").collect()

    def page_geometry(
        self, page_keys: Sequence[str], window: Window, filters: WebFilters, breakpoint: str
    ) -> PageGeometry:
        """As :meth:`data_layer.page_reads.FromEvents.page_geometry`: ClickHouse counts each size (a page
        has few) of the three columns in one scan, the medians are taken over the counts."""
        where = self._page_where(page_keys, window, filters, True, "breakpoint = %(breakpoint)s")
        if where is None:
            return PageGeometry(None, None, None)
        condition, params = where
        columns = page_reads.GEOMETRY_COLUMNS
        sizes = self._frame(
            f"SELECT which, value, toInt64(count()) FROM {self.web} "
            f"ARRAY JOIN {list(range(len(columns)))} AS which, "
            f"[{', '.join(f'toFloat64({name})' for name in columns)}] AS value "
            f"WHERE {condition} GROUP BY which, value",
            {**params, "breakpoint": breakpoint},
            {"which": pl.Int64, "value": pl.Float64, "n": pl.Int64},
        )
        medians = (
            metrics.weighted_median(sizes.filter(pl.col("which") == which).drop("which"))
            for which in range(len(columns))
        )
        return PageGeometry(*(page_reads.rounded_median(value) for value in medians))

    def pages_without_clicks(self, window: Window, filters: WebFilters) -> pl.DataFrame:
        """As :meth:`data_layer.page_reads.FromEvents.pages_without_clicks`: ClickHouse counts the scroll
        sessions of the pages no click of the window and filters reached (``GLOBAL``: the clicked pages
        are gathered once from every shard)."""
        where = self._conditions(window.from_day, window.to_day, filters, None)
        if where is None:
            return scroll_only.pages_without_clicks(pl.LazyFrame(schema=_SCROLL_ONLY_INPUT)).collect()
        conditions, params = where
        condition = " AND ".join(conditions)
        scrolls = (
            f"FROM {self.web} WHERE {condition} AND event_type = 'scroll' AND page_key GLOBAL NOT IN "
            f"(SELECT page_key FROM {self.web} WHERE {condition} AND event_type = 'click')"
        )
        per_breakpoint = self._frame(
            f"SELECT page_key, breakpoint, toInt64(uniqExact(session_id)) {scrolls} "
            "GROUP BY page_key, breakpoint",
            params,
            {"page_key": pl.String, "breakpoint": pl.String, "sessions": pl.Int64},
        )
        per_page = self._frame(
            f"SELECT page_key, toInt64(uniqExact(session_id)) {scrolls} GROUP BY page_key",
            params,
            {"page_key": pl.String, "scroll_sessions": pl.Int64},
        )
        return scroll_only.ranked_pages(per_breakpoint.lazy(), per_page.lazy()).collect()

    def distinct_values(self, from_day: date, to_day: date, columns: Sequence[str]) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.distinct_values`, made unique by ClickHouse."""
        found = self._execute(
            f"SELECT DISTINCT {', '.join(columns)} FROM {self.web} WHERE day >= %(from_day)s AND "
            "day <= %(to_day)s AND seq <= %(mark)s",
            {"from_day": from_day, "to_day": to_day, "mark": self.last_seq()},
        )
        schema = {name: WEB_EVENT_SCHEMA[name] for name in columns}
        if not found:
            return pl.DataFrame(schema=schema)
        return pl.DataFrame(dict(zip(columns, found, strict=True)), schema=schema)

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
        """:func:`data_layer.metrics.click_counts` per (page_key, breakpoint), counted by ClickHouse.

        Without segment filters, the days a build of the daily rollup answers for (:mod:`rollup`) come
        from it, their flags corrected: from its counts per country, region and browser when those
        filter. The other days are scanned, counting the flags as shipped, without a join (a
        join over every click cost more than the count); their corrections, few, come as a second set
        of rows per page and breakpoint holding the difference they make (counts add up,
        :func:`metrics.click_counts`)."""
        schema = dict(metrics.click_counts(pl.DataFrame(schema=_COUNT_INPUT)).collect_schema())
        where = self._conditions(from_day, to_day, filters, as_of_seq)
        if where is None:
            return pl.DataFrame(schema=schema)
        conditions, params = where
        conditions.append("event_type = 'click'")
        condition = " AND ".join(conditions)
        parts, scanned, scanned_days = [], condition, WINDOW_DAYS
        if not segments.has_segment_filter(filters):  # the builds count every click of a day
            with self.engine.connect() as conn:
                days = rollup.window_days(conn, from_day, to_day, params["as_of_seq"])
            if days.builds:
                parts.append(self._rolled_up(days.builds, filters, schema))
                # The days left are named: a month partition holding none of them is skipped.
                scanned = f"{condition} AND day IN %(left)s" if days.scanned else ""
                scanned_days = "day IN %(left)s"
                params["left"] = tuple(days.scanned)
        if scanned:
            parts.append(
                self._frame(
                    "SELECT page_key, breakpoint, toInt64(count()), toInt64(sum(rage_start)), "
                    f"toInt64(sum(dead)), toInt64(sum(dead OR rage)) FROM {self.web} WHERE {scanned} "
                    "GROUP BY page_key, breakpoint",
                    params,
                    schema,
                )
            )
        counts = pl.concat(parts)
        flags = local_name(self.target, FLAGS)
        if not scanned or not self._execute(
            f"SELECT 1 FROM {self._flags} WHERE rev <= %(mark)s LIMIT 1", params
        ):  # builds count their days' flags corrected
            return counts
        # Only the scanned days' corrections: a site's corrections of every day would be read otherwise.
        corrected = f"SELECT seq FROM {flags} WHERE rev <= %(mark)s AND {scanned_days}"
        corrections = self._frame(
            f"SELECT page_key, breakpoint, toInt64(0), toInt64(sum({RAGE_START} - rage_start)), toInt64(0), "
            f"toInt64(sum((dead OR {RAGE}) - (dead OR rage))) FROM {self.web} "
            f"{flags_join(self.target, scanned_days)} WHERE {scanned} AND seq IN ({corrected}) "
            "GROUP BY page_key, breakpoint",
            params,
            schema,
        )
        return pl.concat([counts, corrections])

    def _rolled_up(
        self, builds: dict[int, list[date]], filters: WebFilters, schema: dict[str, Any]
    ) -> pl.DataFrame:
        """The counts of the days the rollup answers for (:func:`rollup.window_days`), from their builds:
        the daily counts, or those per country, region and browser under such filters."""
        values, params = _value_conditions(filters)
        table = self.daily_by_dimension if values else self.daily
        condition = " AND ".join([_chosen_builds(builds, params), *values])
        return self._frame(
            "SELECT page_key, breakpoint, toInt64(sum(clicks)), toInt64(sum(rage_events)), "
            f"toInt64(sum(dead)), toInt64(sum(frustrated)) FROM {table} WHERE {condition} "
            "GROUP BY page_key, breakpoint",
            params,
            schema,
        )

    def session_page(
        self,
        query: sessions.SessionQuery,
        *,
        recorded: Collection[str] = (),
        offset: int,
        limit: int,
        as_of_seq: int | None = None,
    ) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.session_page`: ClickHouse orders the sessions by start and
        cuts the page; only the events of the page's sessions come back, for
        :func:`sessions.session_page` to describe. The page filter is a shard's own sessions (they never
        span shards)."""
        window = query.window
        where = self._conditions(window.from_day, window.to_day, query.filters, as_of_seq)
        if where is None or (query.has_recording and not recorded):
            return pl.DataFrame(schema=sessions.SESSION_SCHEMA)
        conditions, params = where
        chosen = list(conditions)
        if query.page_key is not None:
            local = local_name(self.target, WEB)
            chosen.append(
                f"session_id IN (SELECT session_id FROM {local} WHERE {' AND '.join(conditions)} "
                "AND page_key = %(page_key)s)"
            )
            params["page_key"] = query.page_key
        if query.has_recording is not None and recorded:
            chosen.append(f"session_id {'' if query.has_recording else 'NOT '}IN %(recorded)s")
            params["recorded"] = tuple(recorded)
        ranked = self._execute(
            f"SELECT session_id, min(ts_us) AS start FROM {self.web} WHERE {' AND '.join(chosen)} "
            "GROUP BY session_id ORDER BY start DESC, session_id LIMIT %(offset)s, %(limit)s",
            {**params, "offset": offset, "limit": limit},
        )
        if not ranked:
            return pl.DataFrame(schema=sessions.SESSION_SCHEMA)
        names = sessions.EVENT_COLUMNS
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in names)
        events = self._frame(
            f"SELECT {selected} FROM {self._from(names)} WHERE {' AND '.join(conditions)} "
            "AND session_id IN %(sessions)s",
            {**params, "sessions": tuple(ranked[0])},
            {name: WEB_EVENT_SCHEMA[name] for name in names},
        )
        return sessions.session_page(events.lazy(), query, recorded=recorded, offset=0, limit=limit)

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
        mark = self.last_seq()
        if as_of_seq >= mark:  # nothing shipped since the snapshot: no session clicked after it
            return pl.DataFrame(schema=schema)
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in schema)
        query = (
            f"SELECT {selected} FROM {self.web} WHERE seq <= %(seq)s AND event_type = 'click' AND "
            f"session_id IN ({self._clicked_after('seq')})"
        )
        return self._frame(query, {"seq": as_of_seq, "mark": mark}, schema)

    def _clicked_after(self, parameter: str) -> str:
        """The subquery of the sessions with a click shipped after the sequence number ``parameter``
        names (up to the mark): on each shard's own table, as a session's events are all on one."""
        local = local_name(self.target, WEB)
        return (
            f"SELECT session_id FROM {local} WHERE seq > %({parameter})s AND seq <= %(mark)s "
            "AND event_type = 'click'"
        )

    def day_range(self, kind: str) -> tuple[date, date] | None:
        """As :meth:`data_layer.store.SqlStore.day_range`: SQL's ends (index look-ups) while SQL holds
        every event; once the SQL tail was cut, widened by the days of the shards' parts (their own
        record of each part's first and last day: no scan), where the older events now are."""
        here = self.sql.day_range(kind)
        with self.engine.connect() as conn:
            cut = tail.horizon(conn)
        if cut is None:
            return here
        table = {"web": WEB, "touch": TOUCH}[kind]
        query = (
            "SELECT min(min_date), max(max_date), sum(rows) FROM system.parts "
            "WHERE database = %(database)s AND table = %(table)s AND active"
        )
        params = {"database": self.target.database, "table": table.local}
        found = self._on_shards(query, params, {"first": pl.Date, "last": pl.Date, "rows": pl.UInt64})
        there = found.filter(pl.col("rows") > 0)
        ends = [*([] if here is None else here), *there["first"], *there["last"]]
        return (min(ends), max(ends)) if ends else None

    def session_events(self, session_id: str, day: date, visitor_id: str | None) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.session_events`: from SQL's index while SQL still holds
        those days whole (the tail was never cut there); else ClickHouse's shipped rows (scanning the
        days) and SQL's rows not shipped yet."""
        with self.engine.connect() as conn:
            cut = tail.horizon(conn)
        if cut is None or day >= cut:
            return self.sql.session_events(session_id, day, visitor_id)
        mark = self.last_seq()
        conditions = ["session_id = %(session)s", "day >= %(day)s", "day <= %(next_day)s", "seq <= %(mark)s"]
        params: dict[str, Any] = {"session": session_id, "day": day, "next_day": day + timedelta(days=1)}
        params["mark"] = mark
        if visitor_id:
            conditions.append("visitor_id = %(visitor)s")
            params["visitor"] = visitor_id
        selected = ", ".join(_EXPRESSIONS.get(name, name) for name in WEB_EVENT_SCHEMA)
        flags = flags_join(self.target, "day >= %(day)s AND day <= %(next_day)s")
        query = f"SELECT {selected} FROM {self.web} {flags} WHERE {' AND '.join(conditions)}"
        shipped = self._frame(query, params, WEB_EVENT_SCHEMA)
        newer = self.sql.session_events(session_id, day, visitor_id).filter(pl.col("seq") > mark)
        return pl.concat([shipped, newer]).sort("ts", "seq")

    def touch_screen_counts(self) -> dict[str, int]:
        """As :meth:`data_layer.store.SqlStore.touch_screen_counts`, counted by ClickHouse."""
        found = self._execute(
            f"SELECT screen_name, count() FROM {self.touch} WHERE seq <= %(mark)s GROUP BY screen_name",
            {"mark": self._mark("touch")},
            columnar=False,
        )
        return {str(name): int(n) for name, n in found}

    def touch_campaigns(self, screen_name: str) -> list[str]:
        """As :meth:`data_layer.store.SqlStore.touch_campaigns`."""
        found = self._execute(
            f"SELECT DISTINCT campaign_id FROM {self.touch} WHERE screen_name = %(screen)s "
            "AND campaign_id IS NOT NULL AND seq <= %(mark)s",
            {"screen": screen_name, "mark": self._mark("touch")},
            columnar=False,
        )
        return sorted(str(campaign) for (campaign,) in found)

    def page_exists(self, page_key: str) -> bool:
        found = self._execute(
            f"SELECT 1 FROM {self.web} WHERE page_key = %(page_key)s AND seq <= %(mark)s LIMIT 1",
            {"page_key": page_key, "mark": self.last_seq()},
        )
        return bool(found)

    def touch_cells(self, filters: TouchFilters, *, by_user: bool) -> pl.DataFrame:
        """As :meth:`data_layer.store.SqlStore.touch_cells`, counted by ClickHouse (the cell as
        :func:`data_layer.touch_metrics.touch_cells` places it: ``v * 100`` rounded to 9 decimals,
        floored, kept within the grid)."""
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
        users = "user_id, " if by_user else ""
        cells = ", ".join(
            f"toInt32(least(greatest(floor(round({axis} * {GRID_SIZE}, {EDGE_DECIMALS})), 0), "
            f"{GRID_SIZE - 1})) AS cell_{axis}"
            for axis in ("x", "y")
        )
        query = (
            f"SELECT {users}{cells}, toInt64(count()) FROM {self.touch} WHERE {' AND '.join(conditions)} "
            f"GROUP BY {users}cell_y, cell_x"
        )
        schema = {"user_id": pl.String} if by_user else {}
        return self._frame(query, params, schema | touch_metrics.CELL_SCHEMA)


_KNOWN_KEYS = 64
"""Windows whose segment keys a store remembers (all of them forgotten when full: marks move on)."""
_SCROLL_ONLY_INPUT = {name: WEB_EVENT_SCHEMA[name] for name in scroll_only.COLUMNS}
_COUNT_INPUT = {name: WEB_EVENT_SCHEMA[name] for name in metrics.PAGE_LIST_COLUMNS}
_CLICK = "event_type = 'click'"
_SCROLLED = "event_type = 'scroll' AND depth IS NOT NULL"
_DEEPEST = ("deepest", "deepest_vh", "deepest_ts", "deepest_seq")
"""The session rows' columns of a scroll-depth histogram, and of the replay ranking, and of a replay
link's first event."""
_RANKING_SCHEMA = {
    "breakpoint": pl.String,
    "session_id": pl.String,
    **dict.fromkeys(("rage_events", "dead_clicks", "clicks", "last_ts"), pl.Int64),
}
"""The replay ranking's keys of a session on a breakpoint (:func:`metrics.session_ranking`)."""
_STRONGEST = 50
"""Sessions with rage events or dead clicks a shard sends per breakpoint, strongest first, to find the
k-th best and every session reaching it (more only when ties go on past them)."""
_RANKED = ("n_rage", "n_dead", "n_clicks", "latest")
_FIRST = ("first_visitor", "first_ts", "first_seq")


def _chosen_builds(builds: dict[int, list[date]], params: dict[str, Any]) -> str:
    """The condition on rollup rows of the builds answering for the window's days
    (:func:`rollup.window_days`), its parameters added to ``params``."""
    for n, (build, days) in enumerate(builds.items()):
        params[f"build{n}"], params[f"days{n}"] = build, tuple(days)
    return (
        "(" + " OR ".join(f"(build = %(build{n})s AND day IN %(days{n})s)" for n in range(len(builds))) + ")"
    )


@dataclass(frozen=True)
class _SummaryParts:
    """Where a page summary's rows come from on a shard: the builds (``rolled``, a condition on the
    rollup tables; None: no day built) and the events (``scanned``, a condition on them; None: every
    day built)."""

    target: ClickHouseTarget
    rolled: str | None
    scanned: str | None
    built: str | None = None
    """One page's ``rolled`` but for fixed elements: the condition on ``web_daily_spread``; None when
    every session's rows are added up (no build, or a group of pages)."""
    scanned_days: str = WINDOW_DAYS
    """The days ``scanned`` reads, as a condition on ``day`` alone (the flag corrections gathered)."""

    def spread(self, condition: str) -> str:
        """The sessions where ``condition`` whose rows must be added up (:func:`rollup._spread`): those
        the builds name, and those with events on the scanned days."""
        parts = [
            f"SELECT session_key FROM {local_name(self.target, SPREAD)} WHERE {self.built} AND {condition}"
        ]
        if self.scanned is not None:
            parts.append(
                f"SELECT {SESSION_KEY} FROM {local_name(self.target, WEB)} WHERE {self.scanned} "
                f"AND {condition}"
            )
        return " UNION ALL ".join(parts)

    def union(self, rolled: tuple[Table, str, str], scanned: tuple[str, str, str]) -> str:
        """The rows of a shard's builds, ``(table, columns, condition)``, then those of its events
        grouped alike, ``(columns, condition, grouped by)``, as one UNION ALL."""
        parts = []
        if self.rolled is not None:
            table, columns, condition = rolled
            parts.append(
                f"SELECT {columns} FROM {local_name(self.target, table)} WHERE {self.rolled} AND {condition}"
            )
        if self.scanned is not None:
            columns, condition, grouped = scanned
            flags = flags_join(self.target, self.scanned_days)
            parts.append(
                f"SELECT {columns} FROM {local_name(self.target, WEB)} {flags} WHERE "
                f"{self.scanned} AND {condition} GROUP BY {grouped}"
            )
        return " UNION ALL ".join(parts)

    def sessions(
        self,
        names: Sequence[str],
        condition: str,
        scanned: str | None = None,
        keys: Sequence[str] = ("session_id",),
    ) -> str:
        """A shard's session rows (``keys`` and the :data:`SESSION_AGGREGATES` ``names``) where
        ``condition``: a built day's rows as they are, the scanned days' events where ``scanned`` (by
        default ``condition``; it may leave out events none of ``names`` counts) counted per ``keys``."""
        made = ", ".join(f"{SESSION_AGGREGATES[name][1]} AS {name}" for name in names)
        grouped = ", ".join(keys)
        key_made = ", ".join(f"{SESSION_KEY} AS {key}" if key == "session_key" else key for key in keys)
        return self.union(
            (SESSIONS, ", ".join((*keys, *names)), condition),
            (f"{key_made}, {made}", scanned or condition, grouped),
        )
