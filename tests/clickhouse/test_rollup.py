"""The daily rollup of the pages list (data_layer/clickhouse/rollup.py) on the two-shard cluster: the list
read from builds equals SQL's, a late event makes its day scanned until it is built again, a build that
failed halfway is never counted, and a cursor's snapshot never reads a day that changed after it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from api.web_json import summary_text
from data_layer.clickhouse import erasure, rollup, shipper, tables
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.filters import WebFilters, parse_filters
from data_layer.page_ref import PageRef
from data_layer.retention import forget_visitor
from data_layer.schema import clickhouse_days
from data_layer.service import HeatmapService
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.factories import web_click, web_scroll
from tests.replica.test_replica import END, WINDOW, answers, load

FILTERED = (
    WebFilters(country="us"),
    WebFilters(browser="SAFARI", region="us-east"),  # any case, as the API takes them
    WebFilters(country="gb", region="gb-west", browser="chrome"),
    WebFilters(country="zz"),  # no such country: nothing
    parse_filters(country="us", visitor_type="returning"),  # a segment filter: scanned
)
"""Filters answered from the builds' counts per country, region and browser, and one that scans."""


def listed(service: HeatmapService, filters: WebFilters = WebFilters(), **options: Any) -> pl.DataFrame:
    return service.list_pages(WINDOW, filters, limit=100, **options).pages


def every_list_is_sqls(service: HeatmapService, sql: HeatmapService) -> None:
    for filters in (WebFilters(), *FILTERED):
        ours, theirs = listed(service, filters), listed(sql, filters)
        assert ours.equals(theirs), filters
        assert ours.height or filters.country == "zz", filters


def every_answer_is_sqls(service: HeatmapService, sql: HeatmapService) -> None:
    """The lists, and every summary (of pages and groups, every breakpoint, fixed elements hidden,
    filtered) and the other reads, as SQL answers them."""
    every_list_is_sqls(service, sql)
    assert answers(service) == answers(sql)


def counts(store: Any, as_of_seq: int | None = None) -> pl.DataFrame:
    """A store's click counts per page and breakpoint, summed (a store may count a pair in several rows)."""
    found = store.click_counts(WINDOW.from_day, WINDOW.to_day, WebFilters(), as_of_seq=as_of_seq)
    return found.group_by("page_key", "breakpoint").sum().sort("page_key", "breakpoint")


def rolled(store: ClickHouseStore, as_of: int | None = None) -> set[date]:
    """The window's days a build answers for."""
    with store.engine.connect() as conn:
        found = rollup.window_days(
            conn, WINDOW.from_day, WINDOW.to_day, store.last_seq() if as_of is None else as_of
        )
    return {day for days in found.builds.values() for day in days}


def test_the_list_read_from_builds_is_sqls_and_a_late_event_is_counted_at_once(
    engine, settings, clickhouse_target
) -> None:
    events = list(generate(events=2500, days=10, seed=5, end=END))
    load(engine, settings, events)
    ship = shipper.Shipper(engine, clickhouse_target, block_rows=900, rollup_quiet_s=0)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    service, sql = (HeatmapService(s, settings, b"k") for s in (store, SqlStore(engine)))
    days = {datetime.fromisoformat(event["timestamp"]).date() for event in events}
    assert rolled(store) == {day for day in days if WINDOW.from_day <= day <= WINDOW.to_day}
    every_answer_is_sqls(service, sql)
    by_dimension = f"{clickhouse_target.database}.{tables.ROLLUP_BY_DIMENSION.name}"
    assert clickhouse_target.client().execute(f"SELECT count() FROM {by_dimension}")[0][0]

    # A late click on a built day: shipped, the day is scanned again (exact at once), then built again.
    mark = store.last_seq()
    late_day = min(rolled(store))
    late = web_click(url="https://bench.example.com/p/late", timestamp=f"{late_day}T08:00:00Z")
    load(engine, settings, [late])
    quiet = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=3600)  # too soon to build it again
    quiet.ship()
    assert late_day not in rolled(store) and rolled(store)
    every_answer_is_sqls(service, sql)
    assert listed(service, search="/p/late")["total_clicks"].to_list() == [1]
    # A cursor's snapshot from before the late click reads the day as it was then, the others from builds.
    assert late_day not in rolled(store, mark) and rolled(store, mark)
    assert counts(store, mark).equals(counts(SqlStore(engine), mark))
    ship.ship()
    assert late_day in rolled(store)
    every_answer_is_sqls(service, sql)
    with engine.connect() as conn:
        row = conn.execute(select(clickhouse_days).where(clickhouse_days.c.day == late_day)).one()
    assert row.rolled_seq == row.shipped_seq == store.last_seq() and row.previous_build is not None
    # The build it replaced is deleted once no reader can still be reading it (a minute; here at once).
    ship.roller.grace_s = 0
    ship.ship()
    with engine.connect() as conn:
        assert (
            conn.scalar(select(clickhouse_days.c.previous_build).where(clickhouse_days.c.day == late_day))
            is None
        )
    client = clickhouse_target.client()
    for table in tables.ROLLUPS:
        name = f"{clickhouse_target.database}.{table.name}"
        for shard in tables.shards(clickhouse_target):
            shard_client = clickhouse_target.client(shard.host, shard.port)
            erasure.wait_for_mutations(shard_client, clickhouse_target.database, table.local)
        builds = client.execute(f"SELECT DISTINCT build FROM {name} WHERE day = %(day)s", {"day": late_day})
        assert builds in ([(row.build,)], []), table.name
    every_answer_is_sqls(service, sql)

    # What answers a list filtered by country is the build's counts per dimension: a row added to them
    # shows (the builds' rows are the product's own; a real cluster never holds such a row).
    ghost = "https://bench.example.com/p/ghost"
    clickhouse_target.client().execute(
        f"INSERT INTO {clickhouse_target.database}.{tables.ROLLUP_BY_DIMENSION.local} "
        f"({', '.join(tables.ROLLUP_BY_DIMENSION.columns)}) VALUES",
        [("US", "US-East", "Chrome", late_day, row.build, ghost, "desktop", 1, 0, 0, 0)],
    )
    assert ghost in listed(service, WebFilters(country="us"))["page_key"].to_list()
    assert ghost not in listed(service)["page_key"].to_list()

    # And what answers a summary is the build's bins and sessions: a click and a session added there
    # show in it (the first replay, for its rage events), and not in a filtered summary (which scans).
    top = PageRef(listed(service)["page_key"][0], "desktop")
    before = service.page_summary(top, WINDOW)
    client = clickhouse_target.client()
    database = clickhouse_target.database
    client.execute(
        f"INSERT INTO {database}.{tables.BINS.local} ({', '.join(tables.BINS.columns)}) VALUES",
        [(0, 99 * 100 + 99, late_day, row.build, top.page_key, "desktop", 1, 0)],
    )
    session = dict.fromkeys(tables.SESSION_AGGREGATES, 0) | {
        "n_rage": 1_000, "first_visitor": "ghost-visitor", "first_ts": 1_790_000_000_000_000, "deepest": None,
    }  # fmt: skip
    client.execute(
        f"INSERT INTO {database}.{tables.SESSIONS.local} ({', '.join(tables.SESSIONS.columns)}) VALUES",
        [
            (
                0,
                "ghost-session",
                b"ghost-session-16",
                late_day,
                row.build,
                top.page_key,
                "desktop",
                *session.values(),
            )
        ],
    )
    after = service.page_summary(top, WINDOW)
    assert after.click_bins.filter(bin_x=99, bin_y=99)["clicks"].to_list() == [1]
    assert before.click_bins.filter(bin_x=99, bin_y=99).is_empty()
    assert "ghost-session" in after.replays["url"][0]
    assert "ghost-session" not in str(service.page_summary(top, WINDOW, WebFilters(country="us")).replays)


def test_a_build_that_failed_halfway_is_never_counted(
    engine, settings, clickhouse_target, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, settings, list(generate(events=1500, days=6, seed=9, end=END)))
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    real_shards = tables.shards

    def first_shard_then_gone(target: Any) -> list[tables.Shard]:
        first = real_shards(target)[0]

        class Failing(list):
            def __iter__(self):  # the first shard counts its build, then the second cannot be reached
                yield first
                raise RuntimeError("shard 2 went away")

        return Failing([first])

    monkeypatch.setattr(rollup, "shards", first_shard_then_gone)
    with pytest.raises(RuntimeError, match="went away"):
        ship.ship()
    monkeypatch.setattr(rollup, "shards", real_shards)
    store = ClickHouseStore(clickhouse_target, engine)
    client = clickhouse_target.client()
    daily = f"{clickhouse_target.database}.{tables.ROLLUP.name}"
    assert client.execute(f"SELECT count() FROM {daily}")[0][0], "shard 1 holds the failed build's rows"
    assert not rolled(store), "no day names it"
    service, sql = (HeatmapService(s, settings, b"k") for s in (store, SqlStore(engine)))
    assert listed(service).equals(listed(sql))

    ship.ship()  # built again, under another number, on both shards
    assert rolled(store)
    assert listed(service).equals(listed(sql))
    builds = client.execute(f"SELECT DISTINCT build FROM {daily}")
    assert len(builds) >= 1
    with engine.connect() as conn:
        named = {row[0] for row in conn.execute(select(clickhouse_days.c.build))}
    assert len(named) == 1 and named <= {row[0] for row in builds}


def test_a_deletion_voids_every_build_until_it_reached_clickhouse(
    engine, settings, clickhouse_target
) -> None:
    events = list(generate(events=1500, days=6, seed=11, end=END))
    load(engine, settings, events)
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    assert rolled(store)
    visitor = events[0]["visitorId"]
    forget_visitor(engine, visitor, settings)
    assert not rolled(store), "a new generation: every day is scanned"
    ship.ship()  # built again before the erasure reached ClickHouse (the visitor's clicks still there)
    erasure.forget(clickhouse_target, visitor, engine)
    assert not rolled(store), "voided once the erasure is done"
    sessions = f"{clickhouse_target.database}.{tables.SESSIONS.name}"
    named = f"SELECT count() FROM {sessions} WHERE first_visitor = %(v)s OR session_id IN %(s)s"
    visited = tuple({event["sessionId"] for event in events if event["visitorId"] == visitor})
    assert not clickhouse_target.client().execute(named, {"v": visitor, "s": visited})[0][0], (
        "no build names it"
    )
    service, sql = (HeatmapService(s, settings, b"k") for s in (store, SqlStore(engine)))
    assert listed(service).equals(listed(sql))
    ship.ship()
    assert rolled(store)
    assert listed(service).equals(listed(sql))


def test_a_rage_run_completed_after_midnight_makes_its_first_day_scanned_until_built_again(
    engine, settings, clickhouse_target
) -> None:
    """The late click is on the next day, the corrected flags on the built one: that day must not be
    read from its build (which counted the flags as they were) until it is built again."""
    load(engine, settings, list(generate(events=800, days=6, seed=4, end=END)))
    day = date(2026, 10, 28)
    spot = {"sessionId": "night", "url": "https://bench.example.com/p/night", "x": 40, "y": 40}
    evening = [web_click(timestamp=f"{day}T23:59:59.{ms}Z", **spot) for ms in (300, 700)]
    load(engine, settings, evening)
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    service, sql = (HeatmapService(s, settings, b"k") for s in (store, SqlStore(engine)))
    assert day in rolled(store)
    assert listed(service, search="/p/night")["rage_clicks"].to_list() == [0]

    load(engine, settings, [web_click(timestamp="2026-10-29T00:00:00.100Z", **spot)])
    shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=3600).ship()
    assert day not in rolled(store), "its flags changed: the build no longer holds the day"
    assert listed(service, search="/p/night")["rage_clicks"].to_list() == [1]
    assert listed(service).equals(listed(sql))
    night = PageRef(spot["url"], "desktop")
    assert summary_text(service.page_summary(night, WINDOW)) == summary_text(sql.page_summary(night, WINDOW))
    ship.ship()
    assert day in rolled(store)
    assert listed(service, search="/p/night")["rage_clicks"].to_list() == [1]
    assert listed(service).equals(listed(sql))
    assert summary_text(service.page_summary(night, WINDOW)) == summary_text(sql.page_summary(night, WINDOW))
    assert service.page_summary(night, WINDOW).rage_bins["rage_events"].to_list() == [1]


def test_a_session_over_midnight_counts_once_whatever_order_its_days_are_built_in(
    engine, settings, clickhouse_target
) -> None:
    """A summary counts a session with one row per built day alone, and adds up the rows of a session
    with several (``web_daily_spread``): its deepest scroll once in the scroll depth, its clicks once in
    the replay ranking, whether its other day is scanned, built later, or built first."""
    load(engine, settings, list(generate(events=600, days=6, seed=8, end=END)))
    page = {"url": "https://bench.example.com/p/midnight", "sessionId": "owl", "visitorId": "owl-visitor"}
    other = {**page, "sessionId": "lark", "visitorId": "lark-visitor"}
    first, second = date(2026, 10, 27), date(2026, 10, 28)

    def evening(**spot: Any) -> list[dict[str, Any]]:
        return [
            web_scroll(timestamp=f"{first}T23:50:00Z", depth=80, viewportHeight=700, **spot),
            web_click(timestamp=f"{first}T23:51:00Z", x=10, y=10, **spot),
        ]

    load(engine, settings, evening(**page) + evening(**other))
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    service, sql = (HeatmapService(s, settings, b"k") for s in (store, SqlStore(engine)))
    midnight = PageRef(page["url"], "desktop")

    def same() -> dict[str, Any]:
        ours = service.page_summary(midnight, WINDOW)
        assert summary_text(ours) == summary_text(sql.page_summary(midnight, WINDOW))
        return {"sessions": ours.scroll_reach["sessions"][0], "replays": ours.replays.height}

    assert {first} <= rolled(store)
    assert same() == {"sessions": 2, "replays": 2}
    # After midnight, deeper on a taller window: the other day scanned, then built after the first.
    load(
        engine, settings, [web_scroll(timestamp=f"{second}T00:05:00Z", depth=95, viewportHeight=900, **page)]
    )
    shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=3600).ship()
    assert second not in rolled(store) and first in rolled(store)
    assert same() == {"sessions": 2, "replays": 2}
    ship.ship()
    assert {first, second} <= rolled(store)
    assert same() == {"sessions": 2, "replays": 2}
    # A late event of the first day: that day is built again after the second (which it then finds).
    load(engine, settings, [web_click(timestamp=f"{first}T23:59:00Z", x=20, y=20, **page)])
    ship.ship()
    assert {first, second} <= rolled(store)
    assert same() == {"sessions": 2, "replays": 2}
    spread = f"{clickhouse_target.database}.{tables.SPREAD.name}"
    named = clickhouse_target.client().execute(
        f"SELECT count() FROM {spread} WHERE session_key = sipHash128('owl')"
    )[0][0]
    assert named >= 2, "each of its two newest builds names it"
    # Forgotten: no build row names its sessions any more.
    forget_visitor(engine, "owl-visitor", settings)
    erasure.forget(clickhouse_target, "owl-visitor", engine)
    for table in (tables.SPREAD, tables.SESSIONS):
        name = f"{clickhouse_target.database}.{table.name}"
        assert not clickhouse_target.client().execute(
            f"SELECT count() FROM {name} WHERE session_key = sipHash128('owl')"
        )[0][0], table.name
    ship.ship()
    assert same() == {"sessions": 1, "replays": 1}
