"""The rage-click rule (CONTRACT 2.2), and keeping the flags stored on clicks true to it.

One rule, two forms: :func:`rage_flags` over Polars frames (the replica's and a cursor snapshot's
recomputation, the tests' reference) and :func:`rage_flags_of_rows`, its plain-Python twin for the few
hundred clicks a write touches, where building a frame costs more than the rule itself (a property test
holds the two equal). :func:`refresh_stored_flags` applies it inside a write transaction: ingestion
and deletions call it for every (session, page) they touch, so stored flags always equal a full
recomputation whatever the arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import polars as pl
from sqlalchemy import Connection, Dialect, bindparam, func, select, update

from data_layer.db import Query, fetch_together, in_list_queries
from data_layer.schema import WEB_ROW_COLUMNS, web_events
from data_layer.settings import Settings

GROUP = ("session_id", "page_key", "breakpoint")
"""Rage runs never cross these."""
INPUT_COLUMNS = ("seq", "ts", "session_id", "page_key", "breakpoint", "x", "y")
"""What the rule reads of each click."""
_TYPE, _RAGE, _RAGE_START = map(WEB_ROW_COLUMNS.index, ("event_type", "rage", "rage_start"))


def rage_flags(
    clicks: pl.DataFrame,
    *,
    min_clicks: int = 3,
    max_interval_ms: int = 1000,
    max_distance_px: float = 30.0,
) -> pl.DataFrame:
    """``clicks`` with the Boolean columns ``rage`` and ``rage_start`` (re)computed, rows in input order.

    Needs ``seq``, ``ts``, ``session_id``, ``page_key``, ``breakpoint``, ``x``, ``y``; other columns pass
    through and existing ``rage``/``rage_start`` columns are replaced. Within one (session, page,
    breakpoint), clicks ordered by (ts, seq) chain to the previous click when they follow it by strictly
    less than ``max_interval_ms`` and lie strictly less than ``max_distance_px`` away (Manhattan, document
    px). A maximal chain of at least ``min_clicks`` clicks is one rage event: all its clicks get ``rage``,
    its first click gets ``rage_start``. A click with a null x/y/ts never chains.

    Give it every click of the affected groups: flags depend on the neighbours, so a partial group can
    yield different flags than the whole.
    """
    keys = list(GROUP)
    same_group = pl.all_horizontal(pl.col(key) == pl.col(key).shift(1) for key in keys)
    close_in_time = (pl.col("ts") - pl.col("ts").shift(1)) < pl.duration(milliseconds=max_interval_ms)
    distance = (pl.col("x") - pl.col("x").shift(1)).abs() + (pl.col("y") - pl.col("y").shift(1)).abs()
    chained = (same_group & close_in_time & (distance < max_distance_px)).fill_null(False)
    narrow = clicks.select(*keys, "ts", "seq", "x", "y")
    # Sorting on a hash of the group first is several times faster than on three strings; the keys that
    # follow keep a (vanishingly rare) hash collision from interleaving two groups. Only the narrow
    # frame is permuted, and the flags are put back by the inverse permutation.
    order = narrow.select(pl.arg_sort_by(pl.struct(keys).hash(), *keys, "ts", "seq")).to_series()
    flags = (
        narrow.select(pl.all().gather(order))
        .with_columns(_chained=chained)
        .with_columns(_run=(~pl.col("_chained")).cum_sum())
        .with_columns(rage=pl.len().over("_run") >= min_clicks)
        .select("rage", rage_start=pl.col("rage") & ~pl.col("_chained"))
    )
    inverse = order.arg_sort()
    return clicks.with_columns(flags["rage"].gather(inverse), flags["rage_start"].gather(inverse))


def rage_flags_of_rows(
    clicks: Sequence[Sequence[Any]],
    *,
    min_clicks: int = 3,
    max_interval_ms: int = 1000,
    max_distance_px: float = 30.0,
) -> list[tuple[bool, bool]]:
    """:func:`rage_flags` over rows that start with (seq, ts, session_id, page_key, breakpoint, x, y):
    ``(rage, rage_start)`` of each row, in input order; ``ts`` must be set.

    The same rule in plain Python for the few hundred clicks an ingested batch touches, where building a
    frame costs more than the whole rule does here (tests hold the two to the same answers).
    """
    window = timedelta(milliseconds=max_interval_ms)
    order = sorted(range(len(clicks)), key=lambda i: (*clicks[i][2:5], clicks[i][1], clicks[i][0]))
    flags = [(False, False)] * len(clicks)
    run: list[int] = []

    def close_run() -> None:
        if run and len(run) >= min_clicks:
            flags[run[0]] = (True, True)
            for index in run[1:]:
                flags[index] = (True, False)

    previous: Sequence[Any] | None = None
    for index in order:
        _, ts, session_id, page_key, breakpoint, x, y = clicks[index][:7]
        chained = (
            previous is not None
            and (previous[2], previous[3], previous[4]) == (session_id, page_key, breakpoint)
            and ts - previous[1] < window
            and None not in (x, y, previous[5], previous[6])
            and abs(x - previous[5]) + abs(y - previous[6]) < max_distance_px
        )
        if not chained:
            close_run()
            run = []
        run.append(index)
        previous = clicks[index]
    close_run()
    return flags


_RAGE_COLUMNS = (*INPUT_COLUMNS, "rage", "rage_start")
_CLICKS = f"SELECT {', '.join(_RAGE_COLUMNS)} FROM {web_events.name} WHERE event_type = 'click' AND"
# Stands in for the sequence numbers of rows not inserted yet: above every stored one and increasing in
# batch order, as the numbers they will get, so clicks at the same instant order as they will when stored.
_PENDING_SEQ = 1 << 62
# A pending row's values in the order _RAGE_COLUMNS reads them, after the sequence number.
_AFTER_SEQ = itemgetter(*map(WEB_ROW_COLUMNS.index, INPUT_COLUMNS[1:]))


def stored_clicks_queries(dialect: Dialect, sessions: Iterable[str]) -> list[Query]:
    """The stored clicks of ``sessions`` as :data:`_RAGE_COLUMNS` rows (:func:`db.fetch_together`).

    Selected by session only: every database uses the (session_id, page_key) index for a plain IN list,
    while row-value IN lists make some planners scan the table. Plain driver SQL, rows fetched at once:
    every ingested transaction reads these, and SQLAlchemy's per-row handling cost more than the query.
    """
    return in_list_queries(dialect, _CLICKS, "session_id", sorted(set(sessions)))


def _clicks_of_pairs(
    dialect: Dialect, stored: Sequence[tuple[Any, ...]], pairs: set[tuple[str, str]]
) -> list[tuple[Any, ...]]:
    """The rows of :func:`stored_clicks_queries` on the given (session, page) pairs (SQLite hands times
    back as text, parsed here)."""
    fetched = [row for row in stored if (row[2], row[3]) in pairs]  # (session_id, page_key)
    if dialect.name == "postgresql":
        return fetched
    return [(row[0], datetime.fromisoformat(row[1]), *row[2:]) for row in fetched]


def refresh_stored_flags(
    conn: Connection,
    groups: Iterable[tuple[str, str]],
    settings: Settings,
    pending: Sequence[list[Any]] = (),
    stored: Sequence[tuple[Any, ...]] | None = None,
) -> int:
    """Recompute rage flags of every click of the given (session, page) pairs; returns stored rows changed.

    ``pending`` are rows (:data:`WEB_ROW_COLUMNS`) about to be inserted in this transaction, after this
    call: their clicks join their pairs' runs and get their flags set in place, so they are stored
    already flagged and only the rarely changed older rows need an update. Those get ``flags_rev``
    above every sequence number an incremental reader can have seen without this transaction, so
    readers find them. ``stored``: the rows of :func:`stored_clicks_queries` on (at least) the pairs'
    sessions, when the caller fetched them with its other look-ups; else they are fetched here.
    """
    pairs = set(groups)
    if not pairs:
        return 0
    if stored is None:
        sessions = (session for session, _ in pairs)
        [stored] = fetch_together(conn, [stored_clicks_queries(conn.dialect, sessions)])
    new = [row for row in pending if row[_TYPE] == "click"]
    stand_ins = [(_PENDING_SEQ + index, *_AFTER_SEQ(row)) for index, row in enumerate(new)]
    fetched = _clicks_of_pairs(conn.dialect, stored, pairs)
    flags = rage_flags_of_rows(fetched + stand_ins, **settings.rage_thresholds())
    for row, (rage, rage_start) in zip(new, flags[len(fetched) :], strict=True):
        row[_RAGE], row[_RAGE_START] = rage, rage_start
    changed = [
        {"b_seq": click[0], "b_rage": rage, "b_rage_start": rage_start}
        for click, (rage, rage_start) in zip(fetched, flags, strict=False)
        if (rage, rage_start) != (click[-2], click[-1])  # the stored (rage, rage_start)
    ]
    if changed:
        # The newest stored number, or one above it when rows follow: a reader that saw this
        # transaction's rows has a mark at least that high and read these flags with them.
        revision = (conn.scalar(select(func.max(web_events.c.seq))) or 0) + (1 if pending else 0)
        statement = (
            update(web_events)
            .where(web_events.c.seq == bindparam("b_seq"))
            .values(rage=bindparam("b_rage"), rage_start=bindparam("b_rage_start"), flags_rev=revision)
        )
        conn.execute(statement, changed)
    return len(changed)
