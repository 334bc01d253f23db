"""The ClickHouse event store (CONTRACT 16) on the local two-shard cluster: the tables on every shard,
shipping exactly once across a crash, the same answers as SQL through late rage flags and erasure, a
shard down answered as 503, and a password that never shows."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from clickhouse_driver.errors import ServerException

from data_layer import sessions, sqlite_arrow
from data_layer.clickhouse import erasure, shipper, tables
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine
from data_layer.errors import BadRequest, Unavailable
from data_layer.filters import TouchFilters, WebFilters
from data_layer.ingest import ingest_touch_batch
from data_layer.page_ref import PageRef
from data_layer.retention import forget_visitor, purge_older_than
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.factories import touch, web_click, web_scroll
from tests.replica.test_replica import END, WINDOW, answers, load

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "clickhouse_cluster.sh"


def _per_shard_rows(target: ClickHouseTarget, table: tables.Table) -> list[int]:
    local = f"{target.database}.{table.local}"
    return [
        target.client(shard.host, shard.port).execute(f"SELECT count() FROM {local}")[0][0]
        for shard in tables.shards(target)
    ]


def _sessions(service_store: Any, engine: Any) -> list[list[dict[str, Any]]]:
    """The sessions of the window whole, of its busiest page, and walked seven at a time with cursors,
    each in the list's order."""
    whole = sessions.SessionQuery(WINDOW, WebFilters())
    listing = sessions.list_sessions(service_store, engine, b"k", whole, limit=1000)
    busiest = listing.sessions.explode("pages").get_column("pages").mode().sort().first()
    on_page = sessions.SessionQuery(WINDOW, WebFilters(country="us"), page_key=busiest)
    walked, cursor = [], None
    for _ in range(4):
        step = sessions.list_sessions(service_store, engine, b"k", whole, limit=7, cursor=cursor)
        walked += step.sessions.to_dicts()
        cursor = step.next_cursor
    return [
        listing.sessions.to_dicts(),
        sessions.list_sessions(service_store, engine, b"k", on_page, limit=1000).sessions.to_dicts(),
        walked,
    ]


def _touches(store: Any) -> list[tuple[Any, ...]]:
    filters = TouchFilters(screen_name="home_feed")
    return sorted(store.touch_cells(filters, by_user=True).rows()) + sorted(
        store.touch_cells(filters, by_user=False).rows()
    )


def test_init_creates_every_table_on_both_shards_and_is_safe_to_repeat(clickhouse_target) -> None:
    found = tables.create_all(clickhouse_target)  # the fixture created them once already
    assert len(found) == 2
    for shard in found:
        names = clickhouse_target.client(shard.host, shard.port).execute(
            "SELECT name, engine FROM system.tables WHERE database = %(db)s ORDER BY name",
            {"db": clickhouse_target.database},
        )
        assert names == [
            ("touch_events", "Distributed"),
            ("touch_events_local", "MergeTree"),
            ("web_daily", "Distributed"),
            ("web_daily_bins", "Distributed"),
            ("web_daily_bins_local", "MergeTree"),
            ("web_daily_dead", "Distributed"),
            ("web_daily_dead_local", "MergeTree"),
            ("web_daily_dimensions", "Distributed"),
            ("web_daily_dimensions_local", "MergeTree"),
            ("web_daily_local", "MergeTree"),
            ("web_daily_sessions", "Distributed"),
            ("web_daily_sessions_local", "MergeTree"),
            ("web_daily_spread", "Distributed"),
            ("web_daily_spread_local", "MergeTree"),
            ("web_events", "Distributed"),
            ("web_events_local", "MergeTree"),
            ("web_flags", "Distributed"),
            ("web_flags_local", "ReplacingMergeTree"),
        ]


def test_clickhouse_answers_as_sql_through_a_crash_late_flags_and_erasure(
    engine, settings, clickhouse_target, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = list(generate(events=3000, days=10, seed=3, end=END))
    load(engine, settings, events[:2000])
    # An article read without a click (the scroll-only pages), by two sessions on two breakpoints.
    day = events[1000]["timestamp"]
    load(
        engine,
        settings,
        [
            web_scroll(
                url="https://bench.example.com/article", sessionId=f"reader{n}", timestamp=day, depth=d
            )
            for n, d in ((1, 40), (2, 90), (2, 100))
        ]
        + [
            web_scroll(
                url="https://bench.example.com/article",
                sessionId="reader3",
                viewportWidth=390,
                documentWidth=390,
                timestamp=day,
                depth=20,
            )
        ],
    )
    ingest_touch_batch(engine, [touch(x=0.1 * i, userId="u") for i in range(1, 8)], "visitor-touch")
    # Cell edges as a client writes them (0.29 * 100 is 28.999999999999996): the same cell in both.
    edges = [touch(x=k / 100, y=(100 - k) / 100) for k in range(101)]
    ingest_touch_batch(engine, edges, "visitor-edges")
    ingest_touch_batch(engine, [touch(x=0.25)], events[0]["visitorId"])
    sql = HeatmapService(SqlStore(engine), settings, b"k")
    store = ClickHouseStore(clickhouse_target, engine)
    service = HeatmapService(store, settings, b"k")

    # A crash after ClickHouse acknowledged a block but before its progress was written.
    real_write = shipper.write_progress
    crashed: list[bool] = []

    def crash_once(engine_: Any, stream: str, progress: shipper.Progress, days: Any = None) -> None:
        if stream == "web" and progress.shipped_seq > 1000 and not crashed:
            crashed.append(True)
            raise RuntimeError("killed")
        real_write(engine_, stream, progress, days)

    monkeypatch.setattr(shipper, "write_progress", crash_once)
    with pytest.raises(RuntimeError):
        shipper.Shipper(engine, clickhouse_target, block_rows=700).ship()
    every_day = (date(2000, 1, 1), date(2100, 1, 1))
    assert sum(_per_shard_rows(clickhouse_target, tables.WEB)) == 1400, "the block reached ClickHouse"
    assert store.web_events(*every_day, columns=["seq"]).height == store.last_seq() == 700, (
        "the unsettled block above the mark is not counted"
    )
    monkeypatch.setattr(shipper, "write_progress", real_write)
    restarted = shipper.Shipper(engine, clickhouse_target, block_rows=700, rollup_quiet_s=0)
    restarted.ship()
    assert sum(_per_shard_rows(clickhouse_target, tables.WEB)) == 2000 + 4, "nothing lost, nothing doubled"
    assert all(_per_shard_rows(clickhouse_target, tables.WEB)), "the events are on both shards"
    assert restarted.lag() == {"web": 0, "touch": 0}
    assert store.last_seq() == SqlStore(engine).last_seq()
    assert answers(service) == answers(sql)
    assert _sessions(store, engine) == _sessions(SqlStore(engine), engine)
    assert _touches(store) == _touches(SqlStore(engine)) and _touches(store)

    # More events, then a late click that extends an older, shipped run: its flags are corrected.
    mark = store.last_seq()
    load(engine, settings, events[2000:])
    restarted.ship()
    victim = SqlStore(engine).web_events(*WINDOW.__dict__.values(), clicks_only=True).row(0, named=True)
    ts = victim["ts"].replace(tzinfo=UTC)
    late = [
        web_click(
            sessionId=victim["session_id"],
            visitorId=victim["visitor_id"],
            url=victim["page_key"],
            viewportWidth=victim["viewport_width"],
            documentWidth=victim["document_width"],
            documentHeight=victim["document_height"],
            x=victim["x"],
            y=victim["y"],
            timestamp=(ts + timedelta(milliseconds=ms)).isoformat(),
        )
        for ms in (300, 600)
    ]
    load(engine, settings, late)
    restarted.ship()
    flags = store.web_events(victim["day"], victim["day"], columns=["seq", "rage", "rage_start"])
    assert flags.filter(pl.col("seq") == victim["seq"]).select("rage", "rage_start").row(0) == (True, True)
    assert answers(service) == answers(sql)
    for filters in (WebFilters(), WebFilters(country="us")):
        ours, theirs = (
            s.click_counts(*WINDOW.__dict__.values(), filters, as_of_seq=mark)
            .group_by("page_key", "breakpoint")
            .sum()  # a store may count a page and breakpoint in several rows (corrections apart)
            .sort("page_key", "breakpoint")
            for s in (store, SqlStore(engine))
        )
        assert ours.equals(theirs) and ours.height
        # The list as of the snapshot: the late sessions' clicks counted again with the flags of then.
        ours, theirs = (
            s.ranked_pages(WINDOW, filters, None, "RAGE_CLICKS", True, as_of_seq=mark) for s in (service, sql)
        )
        assert ours.equals(theirs) and ours.height
    earlier = store.clicks_before_late_sessions(mark).sort("seq")
    assert earlier.equals(SqlStore(engine).clicks_before_late_sessions(mark).sort("seq")) and earlier.height

    # Erasure reaches every shard before it returns (the CLI runs the ClickHouse half after SQL's).
    visitor = events[0]["visitorId"]
    forget_visitor(engine, visitor, settings)
    erasure.forget(clickhouse_target, visitor, engine)
    assert (
        store.web_events(date(2026, 1, 1), date(2027, 1, 1), columns=["visitor_id"])
        .filter(pl.col("visitor_id") == visitor)
        .is_empty()
    )
    restarted.ship()
    assert answers(service) == answers(sql)
    assert _touches(store) == _touches(SqlStore(engine))
    purge_older_than(engine, settings, 4, today=END.date())
    erasure.purge_before(clickhouse_target, END.date() - timedelta(days=4), engine)
    restarted.ship()
    assert answers(service) == answers(sql)
    assert _sessions(store, engine) == _sessions(SqlStore(engine), engine)
    assert (
        sum(_per_shard_rows(clickhouse_target, tables.WEB))
        == SqlStore(engine).web_events(date(2000, 1, 1), date(2100, 1, 1), columns=["seq"]).height
    )


def test_a_shard_down_is_a_503_naming_clickhouse_then_exact_again(
    cluster_alone, engine, settings, clickhouse_target
) -> None:
    load(engine, settings, list(generate(events=600, days=5, seed=5, end=END)))
    shipper.Shipper(engine, clickhouse_target).ship()
    store = ClickHouseStore(clickhouse_target, engine)
    service = HeatmapService(store, settings, b"k")
    before = answers(service)
    subprocess.run([str(SCRIPT), "stop-shard", str(cluster_alone), "1"], check=True)
    try:
        with pytest.raises(Unavailable) as raised:
            service.list_pages(WINDOW, WebFilters(), limit=10)
        assert "ClickHouse" in raised.value.details
        assert "heatmaps-local" not in raised.value.details
        with pytest.raises(Unavailable):
            shipper.Shipper(engine, clickhouse_target).ship()
    finally:
        subprocess.run([str(SCRIPT), "start", str(cluster_alone)], check=True)
    assert answers(service) == before, "the same store answers again, without a restart"


def test_the_password_never_shows() -> None:
    url = "clickhouse://ops:s3cr%2Ft@db.example:9440/events?cluster=main"
    target = ClickHouseTarget.parse(url)
    assert (target.user, target.password.get_secret_value(), target.port) == ("ops", "s3cr/t", 9440)
    assert (target.database, target.cluster) == ("events", "main")
    for text in (repr(target), str(target), target.redacted()):
        assert "s3cr" not in text
    assert ClickHouseTarget.parse("clickhouse://h/db").port == 9000
    for bad in (
        "postgres://u:s3cret@h/db",
        "clickhouse://u:s3cret@h/db;drop",
        "clickhouse://u:s3cret@h:x/db",
    ):
        with pytest.raises(BadRequest) as raised:
            ClickHouseTarget.parse(bad)
        assert "s3cret" not in raised.value.details


def test_an_unreachable_server_is_a_503_without_the_password(engine) -> None:
    target = replace(ClickHouseTarget.parse("clickhouse://u:s3cret@127.0.0.1:1/db"))
    with pytest.raises(Unavailable) as raised:
        ClickHouseStore(target, engine).page_keys()
    assert "ClickHouse" in raised.value.details and "s3cret" not in raised.value.details


def test_a_flag_correction_counts_once_the_write_that_made_it_is_shipped(
    engine, settings, clickhouse_target
) -> None:
    load(engine, settings, [web_click(sessionId="s", timestamp="2026-10-25T12:00:00Z")])
    ship = shipper.Shipper(engine, clickhouse_target)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    day = date(2026, 10, 25)
    [seq] = store.web_events(day, day, columns=["seq"])["seq"].to_list()
    mark = store.last_seq()
    # A correction made by a write whose rows are not shipped yet (its revision above the mark).
    flags = clickhouse_target.client()
    flags.execute(
        f"INSERT INTO {tables.write_name(clickhouse_target, tables.FLAGS)} "
        "(seq, session_id, day, rage, rage_start, version, rev) VALUES",
        [(seq, "s", day, 1, 1, 1 << 50, mark + 1)],
        settings=shipper.INSERT_SETTINGS,
    )
    assert store.web_events(day, day, columns=["rage"])["rage"].to_list() == [False]
    shipper.write_progress(engine, "web", shipper.Progress(mark + 1, mark + 1, "0"))
    assert store.web_events(day, day, columns=["rage"])["rage"].to_list() == [True]


def test_replays_of_a_busy_page_rank_the_sessions_its_flagged_clicks_single_out(
    engine, settings, clickhouse_target
) -> None:
    """Seven sessions with dead clicks (ties at the fifth among them) and busier sessions without any:
    ClickHouse ranks only the flagged sessions that can make the five of the breakpoint, and answers
    as SQL does; a breakpoint with fewer flagged sessions ranks all of its sessions."""
    events = []
    for number, dead in enumerate((3, 2, 2, 1, 1, 1, 1)):
        session = f"dead{number}"
        for click in range(dead + 2):
            events.append(
                web_click(
                    sessionId=session,
                    visitorId=f"v-{session}",
                    dead=click < dead,
                    x=40 * click,
                    timestamp=f"2026-10-25T12:{number:02d}:{click:02d}Z",
                )
            )
    for number in range(3):  # many clicks, none flagged: below every flagged session
        events += [
            web_click(
                sessionId=f"busy{number}",
                x=300 + 50 * click,
                timestamp=f"2026-10-25T13:0{number}:{click:02d}Z",
            )
            for click in range(9)
        ]
    events += [  # mobile: two sessions, one flagged
        web_click(sessionId=f"phone{number}", viewportWidth=390, documentWidth=390, dead=number == 0,
                  timestamp="2026-10-25T14:00:00Z")
        for number in range(2)
    ]  # fmt: skip
    load(engine, settings, events)
    shipper.Shipper(engine, clickhouse_target).ship()
    window = replace(WINDOW, from_day=date(2026, 10, 25), to_day=date(2026, 10, 25))
    page = PageRef("https://example.com/pricing", "desktop")
    ours, theirs = (
        HeatmapService(store, settings, b"k").page_summary(page, window).replays
        for store in (ClickHouseStore(clickhouse_target, engine), SqlStore(engine))
    )
    assert ours.equals(theirs)
    desktop = ours.filter(pl.col("breakpoint") == "desktop").get_column("url").str.extract(r"(dead\d|busy\d)")
    assert desktop.to_list() == ["dead0", "dead2", "dead1", "dead6", "dead5"]  # ties: latest first
    assert ours.filter(pl.col("breakpoint") == "mobile").height == 2


class _RefusingOnce:
    """A driver client whose first query a shard refuses as ClickHouse 18.16 does a stale pooled
    connection of a Distributed table (code 101), or ``code`` for another error."""

    def __init__(self, calls: list[str], code: int) -> None:
        self.calls, self.code = calls, code

    def execute(self, query: str, params: Any = None, *, columnar: bool = False) -> Any:
        self.calls.append(query)
        if len(self.calls) == 1:
            raise ServerException(
                "DB::Exception: Unexpected packet Data received from client", code=self.code
            )
        return [(1,)]

    def disconnect(self) -> None:
        self.calls.append("disconnect")


def test_a_read_refused_on_a_stale_pooled_connection_is_sent_once_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        ClickHouseTarget, "client", lambda self, host=None, port=None: _RefusingOnce(calls, 101)
    )
    store = ClickHouseStore(ClickHouseTarget("127.0.0.1", 9000, "heatmaps"), engine=None)  # type: ignore[arg-type]
    assert store._execute("SELECT 1") == [(1,)]
    assert calls == ["SELECT 1", "disconnect", "SELECT 1"]

    calls.clear()  # any other refusal is the caller's (a wrong query is not sent twice)
    monkeypatch.setattr(
        ClickHouseTarget, "client", lambda self, host=None, port=None: _RefusingOnce(calls, 62)
    )
    store = ClickHouseStore(ClickHouseTarget("127.0.0.1", 9000, "heatmaps"), engine=None)  # type: ignore[arg-type]
    with pytest.raises(ServerException):
        store._execute("SELECT 1")
    assert calls == ["SELECT 1", "disconnect"]


def test_a_reader_child_dying_mid_ship_loses_and_doubles_nothing(
    sqlite_template: Path, tmp_path: Path, clickhouse_target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a SQLite file a child process reads the blocks (data_layer.sqlite_arrow); killed while the
    shipper waits for a block, the round fails and the next one (a new child) ships exactly the rest."""
    shutil.copyfile(sqlite_template, tmp_path / "h.db")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", secret_key="test-secret-key")
    engine = create_db_engine(settings.database_url)
    load(engine, settings, list(generate(events=900, days=5, seed=9, end=END)))
    ship = shipper.Shipper(engine, clickhouse_target, block_rows=200)
    real_frame_of, reads = sqlite_arrow.frame_of, []

    def killed_at_the_third(read: Any) -> pl.DataFrame:
        reads.append(read)
        if len(reads) == 3:
            next(iter(ship._reader._pool._processes.values())).kill()  # type: ignore[union-attr]
        return real_frame_of(read)

    monkeypatch.setattr(sqlite_arrow, "frame_of", killed_at_the_third)
    with pytest.raises(Exception):  # noqa: B017 - the pool's own error, whichever it is
        ship.ship()
    stored = SqlStore(engine).last_seq()
    assert 0 < sum(_per_shard_rows(clickhouse_target, tables.WEB)) < stored
    ship.ship()
    ship.close()
    shipped = clickhouse_target.client().execute(
        f"SELECT count(), uniqExact(seq) FROM {tables.read_name(clickhouse_target, tables.WEB)}"
    )
    assert shipped == [(stored, stored)], "every event once"
    assert ship.lag() == {"web": 0, "touch": 0}
    engine.dispose()
