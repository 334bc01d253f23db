"""The SQL database's bounded tail (``HEATMAPS_SQL_TAIL_DAYS``): older shipped events live in ClickHouse
alone.

Ingestion keeps its promises from SQL: a re-sent event is known by its id, and a click's rage flags are
derived from every click of its (session, page). So the tail is cut at whole (session, page) groups only:
a group goes when every row of it is of a day before the *horizon*, shipped, and its flag corrections
shipped too (and the shipper has seen the latest deletion). An event that could touch a group cut away,
one stamped earlier than the horizon plus the rage interval, first brings its groups back from ClickHouse,
rows with their sequence numbers and current flags and already shipped; from there the write is the
usual one (its id is known, its run flags the clicks it extends, the corrections ship as any do), and a
later trim cuts the group again. A mobile touch event has no group: one stamped before the horizon is
looked up by id in ClickHouse.

The horizon only moves forward (``app_meta``), written before anything is cut, and every write reads it
in its transaction, under the same write lock as the cuts. PostgreSQL only (settings): its sequence
never gives a number twice, where SQLite numbers a new row after the newest stored one, which may be
gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from data_layer import deletions
from data_layer.clickhouse.shipper import WEB_STREAM, read_progress
from data_layer.clickhouse.tables import RAGE, RAGE_START, TOUCH, WEB, flags_join, local_name, read_name
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import bulk_insert, write_transaction
from data_layer.schema import app_meta, touch_events, web_events

HORIZON_KEY = "sql_tail_horizon"
TRIM_BATCH_ROWS = 20_000
"""Rows cut per transaction: ingestion waits for the write lock meanwhile."""
_EPOCH = datetime(1970, 1, 1)

RESTORED_COLUMNS = [
    ("ts" if name == "ts_us" else name) for name in WEB.columns if name not in ("segment", "rect")
]
"""The SQL columns of a web row brought back, in ClickHouse's order (``ts_us`` as ``ts``)."""
_BOOLEANS = [
    index for index, name in enumerate(RESTORED_COLUMNS) if name in ("dead", "fixed", "rage", "rage_start")
]
_TS, _EVENT_ID = RESTORED_COLUMNS.index("ts"), RESTORED_COLUMNS.index("event_id")
_SESSION, _PAGE = RESTORED_COLUMNS.index("session_id"), RESTORED_COLUMNS.index("page_key")


def horizon(conn: Connection) -> date | None:
    """The first day whose events are all still in SQL; None while nothing was ever cut."""
    value = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == HORIZON_KEY))
    return None if value is None else date.fromisoformat(value)


def _move_horizon(conn: Connection, day: date) -> date:
    current = horizon(conn)
    if current is None:
        conn.execute(app_meta.insert().values(key=HORIZON_KEY, value=day.isoformat()))
        return day
    if day > current:
        conn.execute(app_meta.update().where(app_meta.c.key == HORIZON_KEY).values(value=day.isoformat()))
        return day
    return current


def trim(engine: Engine, tail_days: int, today: date) -> dict[str, int]:
    """Cut what the tail no longer holds: web groups wholly before ``today - tail_days`` and shipped,
    touch events of those days shipped. Returns the rows cut per stream."""
    with write_transaction(engine) as conn:
        cut_before = _move_horizon(conn, today - timedelta(days=tail_days))
        days = [
            row[0]
            for row in conn.execute(select(web_events.c.day).where(web_events.c.day < cut_before).distinct())
        ]
    web = sum(_batches(lambda day=day: _cut_web(engine, day, cut_before)) for day in sorted(days))
    return {"web": web, "touch": _batches(lambda: _cut_touch(engine, cut_before))}


def _batches(cut: Callable[[], int | None]) -> int:
    """Rows cut by repeating ``cut`` (one batch a transaction) until a batch is short or it declines."""
    total = 0
    while (done := cut()) is not None:
        total += done
        if done < TRIM_BATCH_ROWS:
            break
    return total


_CUT_WEB = text(
    f"""
    DELETE FROM {web_events.name} WHERE seq IN (
        SELECT w.seq FROM {web_events.name} AS w
        WHERE w.day = :day AND NOT EXISTS (
            SELECT 1 FROM {web_events.name} AS o
            WHERE o.session_id = w.session_id AND o.page_key = w.page_key
              AND (o.day >= :horizon OR o.seq > :shipped OR COALESCE(o.flags_rev, 0) > :flags_mark
                   OR o.seq = (SELECT max(seq) FROM {web_events.name}))
        )
        LIMIT {TRIM_BATCH_ROWS}
    )
    """
)


def _cut_web(engine: Engine, day: date, cut_before: date) -> int | None:
    """One batch of ``day``'s rows in groups that may go; None when the shipper has not yet sent the
    flags a deletion recomputed (their revisions need not be above its mark until it has).

    The newest row's group stays, however old (a site without events for longer than the tail): a
    flag correction's revision follows the newest stored sequence number, which must stay above the
    shipper's mark for the correction to be shipped."""
    with write_transaction(engine) as conn:
        shipped = read_progress(conn, WEB_STREAM.name)
        if shipped.generation != deletions.generation(conn):
            return None
        params = {
            "day": day,
            "horizon": cut_before,
            "shipped": shipped.shipped_seq,
            "flags_mark": shipped.flags_mark,
        }
        return conn.execute(_CUT_WEB, params).rowcount


def _cut_touch(engine: Engine, cut_before: date) -> int | None:
    with write_transaction(engine) as conn:
        shipped = read_progress(conn, "touch").shipped_seq
        if not shipped:
            return None
        batch = (
            select(touch_events.c.seq)
            .where(touch_events.c.day < cut_before, touch_events.c.seq <= shipped)
            .limit(TRIM_BATCH_ROWS)
            .scalar_subquery()
        )
        return conn.execute(touch_events.delete().where(touch_events.c.seq.in_(batch))).rowcount


def _early(conn: Connection, stamps: Iterable[datetime], reach: timedelta) -> datetime | None:
    """The instant before which an event may meet rows cut away (a click chains to one less than
    ``reach``, the rage interval, before it); None when nothing was cut or every stamp is after it."""
    day = horizon(conn)
    if day is None:
        return None
    limit = datetime(day.year, day.month, day.day) + reach
    return limit if any(ts < limit for ts in stamps) else None


def bring_back_web(conn: Connection, target: ClickHouseTarget, rows: Sequence[Sequence[Any]], ts_at: int,
                   session_at: int, page_at: int, reach: timedelta) -> int:  # fmt: skip
    """Before ``rows`` (web rows about to be written) are checked: bring back from ClickHouse every row
    of the (session, page) groups of those stamped less than ``reach`` (the rage interval) after the
    horizon, or before it, that SQL lacks.
    Returns the rows brought back. Raises :class:`~data_layer.errors.Unavailable` while ClickHouse
    cannot answer (the batch is refused and retried, never written without its history)."""
    limit = _early(conn, (row[ts_at] for row in rows), reach)
    if limit is None:
        return 0
    return _bring_back(conn, target, {(row[session_at], row[page_at]) for row in rows if row[ts_at] < limit})


def before_purge(conn: Connection, target: ClickHouseTarget, cutoff: date) -> tuple[int, int]:
    """Inside a purge's transaction, before SQL's rows of days before ``cutoff`` go: bring back the
    groups the cut took that have clicks on both sides of ``cutoff`` (their kept clicks' flags are
    recomputed, as SQL's are), and return how many web and touch rows of those days ClickHouse alone
    holds (the purge deletes them there: the count it reports includes them)."""
    day = horizon(conn)
    if day is None or cutoff >= day + timedelta(days=1):  # every group touching cutoff's day is whole in SQL
        return 0, 0
    marks = {name: read_progress(conn, name).shipped_seq for name in ("web", "touch")}
    query = (
        f"SELECT DISTINCT session_id, page_key FROM {read_name(target, WEB)} "
        "WHERE day = %(cutoff)s AND event_type = 'click' AND seq <= %(mark)s "
        # A session's rows share a shard: each shard looks for its own sessions in its own table.
        f"AND session_id IN (SELECT session_id FROM {local_name(target, WEB)} WHERE day < %(cutoff)s)"
    )
    found = target.ask(query, {"cutoff": cutoff, "mark": marks["web"]})
    _bring_back(conn, target, {(session, page) for session, page in found})
    only_there = []
    for name, table, sql_table in (("web", WEB, web_events), ("touch", TOUCH, touch_events)):
        count = "SELECT count() FROM {} WHERE day < %(cutoff)s AND seq <= %(mark)s"
        [(there,)] = target.ask(
            count.format(read_name(target, table)), {"cutoff": cutoff, "mark": marks[name]}
        )
        here = conn.scalar(
            select(func.count()).where(sql_table.c.day < cutoff, sql_table.c.seq <= marks[name])
        )
        only_there.append(int(there) - int(here or 0))
    return only_there[0], only_there[1]


def before_forget(conn: Connection, target: ClickHouseTarget, visitor_id: str) -> int:
    """Inside a forget's transaction, before SQL's rows of the visitor go: bring back the (session, page)
    groups of the visitor's web events that the cut took (so SQL deletes, counts and recomputes the
    flags of, all of them), and return how many of the visitor's touch events ClickHouse alone holds."""
    if horizon(conn) is None:
        return 0
    marks = {name: read_progress(conn, name).shipped_seq for name in ("web", "touch")}
    found = target.ask(
        f"SELECT DISTINCT session_id, page_key FROM {read_name(target, WEB)} "
        "WHERE visitor_id = %(visitor)s AND seq <= %(mark)s",
        {"visitor": visitor_id, "mark": marks["web"]},
    )
    _bring_back(conn, target, {(session, page) for session, page in found})
    [(there,)] = target.ask(
        f"SELECT count() FROM {read_name(target, TOUCH)} WHERE user_id = %(visitor)s AND seq <= %(mark)s",
        {"visitor": visitor_id, "mark": marks["touch"]},
    )
    here = conn.scalar(
        select(func.count()).where(touch_events.c.user_id == visitor_id, touch_events.c.seq <= marks["touch"])
    )
    return int(there) - int(here or 0)


def visitors_gone(conn: Connection, target: ClickHouseTarget, cutoff: date, candidates: set[str]) -> set[str]:
    """Inside a purge's transaction, once SQL's rows before ``cutoff`` are deleted (ClickHouse's not
    yet): the visitors left without any event, whom the purge forgets. ``candidates``: the visitors of
    the SQL rows it deleted. SQL alone cannot tell, once its tail was cut: a visitor whose rows were cut
    may still have events of the kept days in ClickHouse."""
    mark = read_progress(conn, WEB_STREAM.name).shipped_seq
    only_before = target.ask(
        f"SELECT visitor_id FROM {read_name(target, WEB)} WHERE seq <= %(mark)s "
        "GROUP BY visitor_id HAVING max(day) < %(cutoff)s",
        {"mark": mark, "cutoff": cutoff},
    )
    gone = {str(visitor) for (visitor,) in only_before}
    elsewhere = candidates - gone  # in ClickHouse on a kept day, or not shipped at all
    if elsewhere:
        shipped = target.ask(
            f"SELECT DISTINCT visitor_id FROM {read_name(target, WEB)} "
            "WHERE visitor_id IN %(visitors)s AND seq <= %(mark)s",
            {"visitors": tuple(elsewhere), "mark": mark},
        )
        gone |= elsewhere - {str(visitor) for (visitor,) in shipped}
    return gone


def _bring_back(conn: Connection, target: ClickHouseTarget, pairs: set[tuple[str, str]]) -> int:
    """Every row of the (session, page) ``pairs`` ClickHouse holds and SQL lacks, inserted into SQL as
    shipped, with its current flags; returns how many."""
    if not pairs:
        return 0
    columns = ", ".join(
        {"ts": "ts_us", "rage": f"{RAGE} AS rage", "rage_start": f"{RAGE_START} AS rage_start"}.get(
            name, name
        )
        for name in RESTORED_COLUMNS
    )
    query = (
        f"SELECT {columns} FROM {read_name(target, WEB)} {flags_join(target)} "
        "WHERE page_key IN %(pages)s AND session_id IN %(sessions)s AND seq <= %(mark)s"
    )
    params = {
        "pages": tuple(sorted({page for _, page in pairs})),
        "sessions": tuple(sorted({session for session, _ in pairs})),
        "mark": read_progress(conn, WEB_STREAM.name).shipped_seq,
    }
    wanted = [row for row in target.ask(query, params) if (row[_SESSION], row[_PAGE]) in pairs]
    if not wanted:
        return 0
    stored = _stored_seqs(conn, [row[0] for row in wanted])
    missing = [_as_sql_row(row) for row in wanted if row[0] not in stored]
    # An id is remembered while its event is in SQL: once cut, a new event may have taken it (a client
    # reusing ids days apart). The row comes back without it, so the later event keeps it.
    taken = _stored_ids(conn, [row[_EVENT_ID] for row in missing if row[_EVENT_ID] is not None])
    for row in missing:
        if row[_EVENT_ID] in taken:
            row[_EVENT_ID] = None
    bulk_insert(conn, web_events, RESTORED_COLUMNS, missing)
    return len(missing)


def _stored_seqs(conn: Connection, seqs: list[int]) -> set[int]:
    found = conn.execute(select(web_events.c.seq).where(web_events.c.seq.in_(seqs)))
    return {int(row[0]) for row in found}


def _stored_ids(conn: Connection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    found = conn.execute(select(web_events.c.event_id).where(web_events.c.event_id.in_(ids)))
    return {str(row[0]) for row in found}


def _as_sql_row(row: Sequence[Any]) -> list[Any]:
    values = list(row)
    values[_TS] = _EPOCH + timedelta(microseconds=int(values[_TS]))
    for index in _BOOLEANS:
        values[index] = bool(values[index])
    return values


def known_touch_ids(conn: Connection, target: ClickHouseTarget, rows: Sequence[Sequence[Any]], id_at: int,
                    screen_at: int, day_at: int) -> set[str]:  # fmt: skip
    """The ids of touch rows stamped before the horizon that ClickHouse holds already (SQL may have cut
    them); empty when none is that early."""
    day = horizon(conn)
    if day is None:
        return set()
    early = [row for row in rows if row[id_at] is not None and row[day_at] < day]
    if not early:
        return set()
    query = (
        f"SELECT event_id FROM {read_name(target, TOUCH)} "
        "WHERE screen_name IN %(screens)s AND day IN %(days)s AND event_id IN %(ids)s"
    )
    params = {
        "screens": tuple({row[screen_at] for row in early}),
        "days": tuple({row[day_at] for row in early}),
        "ids": tuple({row[id_at] for row in early}),
    }
    return {str(found) for (found,) in target.ask(query, params)}


def sql_rows(engine: Engine) -> dict[str, int]:
    """Rows each stream's SQL table holds now (``heatmaps clickhouse status``)."""
    with engine.connect() as conn:
        return {
            "web": int(conn.scalar(select(func.count()).select_from(web_events)) or 0),
            "touch": int(conn.scalar(select(func.count()).select_from(touch_events)) or 0),
        }
