"""The SQL tail (data_layer/clickhouse/tail.py) on PostgreSQL and the two-shard cluster: once the days
before the horizon are cut from SQL, every answer, every re-sent event and every late click is as if
nothing had been cut (a reference database that keeps everything says what that is)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from data_layer import explore, group_commit
from data_layer.clickhouse import erasure, shipper, tail
from data_layer.clickhouse.leader import ShipperLeader
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine
from data_layer.errors import Unavailable
from data_layer.event_models import validate_web_batch
from data_layer.ingest import RequestContext, ingest_touch_batch, ingest_web_batch, web_event_rows
from data_layer.retention import forget_visitor, purge_older_than
from data_layer.schema import touch_events, visitors, web_events
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.clickhouse.conftest import url_of
from tests.factories import touch, web_click
from tests.replica.test_replica import END, answers, load

TAIL_DAYS = 4
TODAY = END.date()
HORIZON = TODAY - timedelta(days=TAIL_DAYS)
OLD_DAY = HORIZON - timedelta(days=3)
PAGE = "https://example.com/pricing"


@pytest.fixture
def tail_settings(
    pg_migrated: Any, clickhouse_target: ClickHouseTarget, tmp_path: Path
) -> Iterator[Settings]:
    """A PostgreSQL database whose events go to the test cluster, with a SQL tail of four days."""
    yield Settings(
        database_url=pg_migrated.fresh(),
        clickhouse_url=url_of(clickhouse_target),
        sql_tail_days=TAIL_DAYS,
        secret_key="test-secret-key",
        screenshot_dir=tmp_path / "screenshots",
        replica_dir=tmp_path / "replica",
    )


@pytest.fixture
def reference(sqlite_template: Path, tmp_path: Path) -> Settings:
    """A SQLite database that keeps every event (the same events are sent to it): what the answers
    must be."""
    path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, path)
    return Settings(
        database_url=f"sqlite:///{path}",
        secret_key="test-secret-key",
        screenshot_dir=tmp_path / "reference-screenshots",
        replica_dir=tmp_path / "reference-replica",
    )


def engine_of(settings: Settings) -> Engine:
    return create_db_engine(settings.database_url)


def sql_count(engine: Engine, table: Any = web_events) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def known_visitors(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(visitors.c.visitor_id)))


def at(day: date, seconds: float) -> str:
    moment = datetime(day.year, day.month, day.day, 12) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds") + "Z"


def today_click() -> dict[str, Any]:
    """An event of today, sent last: a live site's newest row (the cut keeps the newest row's group)."""
    return web_click(sessionId="s-today", visitorId="v-today", timestamp=at(TODAY, 0))


def both(settings: Settings, reference: Settings, events: list[dict[str, Any]]) -> tuple[int, int]:
    """Send ``events`` as one batch to the tailed database and the reference; their (ingested,
    duplicates) must agree."""
    ours = ingest_web_batch(engine_of(settings), settings, events)
    theirs = ingest_web_batch(engine_of(reference), reference, events)
    assert (ours.ingested, ours.duplicates) == (theirs.ingested, theirs.duplicates)
    return ours.ingested, ours.duplicates


@pytest.mark.postgres
def test_after_the_cut_answers_re_sends_and_late_clicks_are_as_if_nothing_was_cut(
    tail_settings: Settings, reference: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    engine, ref_engine = engine_of(tail_settings), engine_of(reference)
    events = list(generate(events=2500, days=10, seed=5, end=END))
    load(engine, tail_settings, events)
    load(ref_engine, reference, events)
    # Two fast clicks of an old session; a third arrives after the cut and makes them a rage run.
    early = [web_click(sessionId="s-old", visitorId="v-old", timestamp=at(OLD_DAY, t)) for t in (0, 0.3)]
    both(tail_settings, reference, early)
    old_touches = [touch(timestamp=at(OLD_DAY, 0)), touch(timestamp=at(OLD_DAY, 5))]
    for target in (tail_settings, reference):
        ingest_touch_batch(engine_of(target), old_touches, "u-1", target.clickhouse_target())
    both(tail_settings, reference, [today_click()])

    ship = shipper.Shipper(engine, clickhouse_target, block_rows=900, rollup_quiet_s=0)
    ship.ship()
    before = sql_count(engine)
    cut = tail.trim(engine, TAIL_DAYS, TODAY)
    assert cut["web"] > before / 3 and cut["touch"] == 2
    after_cut = sql_count(engine)
    assert after_cut == before - cut["web"]
    with engine.connect() as conn:
        assert tail.horizon(conn) == HORIZON
        assert conn.scalar(select(func.count()).where(web_events.c.session_id == "s-old")) == 0
    assert tail.trim(engine, TAIL_DAYS, TODAY) == {"web": 0, "touch": 0}  # nothing more to cut

    store = ClickHouseStore(clickhouse_target, engine)
    ours, theirs = (HeatmapService(s, tail_settings, b"k") for s in (store, SqlStore(ref_engine)))
    assert answers(ours) == answers(theirs)
    assert store.day_range("web") == SqlStore(ref_engine).day_range("web")
    assert store.day_range("touch") == SqlStore(ref_engine).day_range("touch")

    # Re-sent: an old batch of the generated events, the two early clicks, the old touches: all known.
    old_batch = [event for event in events if event["timestamp"] < at(OLD_DAY, 0)][:300]
    assert old_batch
    assert both(tail_settings, reference, old_batch) == (0, len(old_batch))
    assert both(tail_settings, reference, early) == (0, 2)
    for target in (tail_settings, reference):
        result = ingest_touch_batch(engine_of(target), old_touches, "u-1", target.clickhouse_target())
        assert (result.ingested, result.duplicates) == (0, 2)

    # The late third click: a rage run with the two cut away, flagged as the reference flags it.
    late = web_click(sessionId="s-old", visitorId="v-old", timestamp=at(OLD_DAY, 0.6))
    assert both(tail_settings, reference, [late]) == (1, 0)
    both(tail_settings, reference, [web_click(sessionId="s-today", timestamp=at(TODAY, 1))])
    ship.ship()
    mine = explore.session_events(store, "s-old", OLD_DAY)
    wanted = explore.session_events(SqlStore(ref_engine), "s-old", OLD_DAY)
    assert mine.equals(wanted)
    assert mine["rage"].to_list() == [True, True, True]
    assert answers(ours) == answers(theirs)

    # The groups came back to SQL for those writes; the next cut takes them again (flags shipped).
    assert sql_count(engine) > after_cut
    tail.trim(engine, TAIL_DAYS, TODAY)
    assert sql_count(engine) == after_cut + 1  # today's second click
    assert answers(ours) == answers(theirs)


@pytest.mark.postgres
def test_an_event_that_needs_what_was_cut_waits_while_clickhouse_cannot_answer(
    tail_settings: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """Refused (503, retried by the client) and nothing written: never stored without its history."""
    engine = engine_of(tail_settings)
    ingest_web_batch(
        engine, tail_settings, [web_click(sessionId="s-a", timestamp=at(OLD_DAY, 0)), today_click()]
    )
    shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0).ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY)["web"] == 1
    unreachable = tail_settings.model_copy(
        update={
            "clickhouse_url": SecretStr(
                url_of(clickhouse_target).replace(f":{clickhouse_target.port}/", ":1/")
            )
        }
    )
    late = [web_click(sessionId="s-a", timestamp=at(OLD_DAY, 0.2)), web_click(timestamp=at(TODAY, 0))]
    with pytest.raises(Unavailable):
        ingest_web_batch(engine, unreachable, late)
    assert sql_count(engine) == 1
    # Sent together through the API's group commit, only the batch that needs ClickHouse waits.
    writer = group_commit.web_batches(engine, unreachable)
    rows = [
        web_event_rows(validate_web_batch(part), unreachable, RequestContext())
        for part in (late[:1], late[1:])
    ]
    waiting, recent = (writer.submit(batch) for batch in rows)
    assert recent.result(timeout=30).ingested == 1
    with pytest.raises(Unavailable):
        waiting.result(timeout=30)
    assert ingest_web_batch(engine, tail_settings, late).ingested == 1


@pytest.mark.postgres
def test_a_purge_across_the_cut_recomputes_the_kept_clicks_and_counts_every_deleted_event(
    tail_settings: Settings, reference: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """A rage run crossing the purge's midnight loses its first clicks: the kept click's flags are
    recomputed, though SQL had cut the run away, and the purge counts the events ClickHouse alone held."""
    engine, ref_engine = engine_of(tail_settings), engine_of(reference)
    cutoff = OLD_DAY
    midnight = datetime(cutoff.year, cutoff.month, cutoff.day)
    run = [
        web_click(
            sessionId="s-cross",
            visitorId="v-cross",
            timestamp=(midnight + timedelta(seconds=t)).isoformat() + "Z",
        )
        for t in (-0.8, -0.4, 0.1)
    ]
    gone = [
        web_click(sessionId=f"s-{n}", visitorId=f"v-gone-{n}", timestamp=at(cutoff - timedelta(days=2), n))
        for n in range(5)
    ]
    # A visitor of both sides whose kept event was cut from SQL too: still known after the purge.
    kept = [
        web_click(sessionId="s-k1", visitorId="v-kept", timestamp=at(cutoff - timedelta(days=1), 0)),
        web_click(sessionId="s-k2", visitorId="v-kept", timestamp=at(cutoff + timedelta(days=1), 0)),
    ]
    both(tail_settings, reference, [*run, *gone, *kept, today_click()])
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY)["web"] == 10
    days = (TODAY - cutoff).days
    ours = purge_older_than(engine, tail_settings, days, TODAY, clickhouse_target)
    erasure.purge_before(clickhouse_target, cutoff, engine)
    theirs = purge_older_than(ref_engine, reference, days, TODAY)
    assert (ours.web_events, ours.touch_events) == (theirs.web_events, theirs.touch_events) == (8, 0)
    assert known_visitors(engine) == known_visitors(ref_engine) == {"v-cross", "v-kept", "v-today"}
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    kept = explore.session_events(store, "s-cross", cutoff)
    assert kept.equals(explore.session_events(SqlStore(ref_engine), "s-cross", cutoff))
    assert kept["rage"].to_list() == [False]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(touch_events)) == 0


def test_a_tail_needs_clickhouse_and_postgresql(tmp_path: Path) -> None:
    for database in (f"sqlite:///{tmp_path / 'h.db'}", "postgresql+psycopg://postgres@127.0.0.1/x"):
        with pytest.raises(ValueError, match="HEATMAPS_SQL_TAIL_DAYS needs"):
            Settings(database_url=database, sql_tail_days=7)
    with pytest.raises(ValueError, match="HEATMAPS_SQL_TAIL_DAYS needs"):
        Settings(
            database_url=f"sqlite:///{tmp_path / 'h.db'}",
            clickhouse_url="clickhouse://127.0.0.1/heatmaps",
            sql_tail_days=7,
        )


@pytest.mark.postgres
def test_forgetting_a_visitor_whose_sessions_were_cut_reaches_them_and_their_neighbours_flags(
    tail_settings: Settings, reference: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """Another visitor's click that made a rage run with the forgotten visitor's clicks (one session,
    a visitor id reset mid-session) loses its flag, as on a database that kept everything."""
    engine, ref_engine = engine_of(tail_settings), engine_of(reference)
    clicks = [
        web_click(sessionId="s-shared", visitorId=visitor, timestamp=at(OLD_DAY, t))
        for visitor, t in (("v-f", 0), ("v-f", 0.3), ("v-other", 0.6))
    ]
    both(tail_settings, reference, [*clicks, today_click()])
    for target in (tail_settings, reference):
        ingest_touch_batch(
            engine_of(target), [touch(timestamp=at(OLD_DAY, 0))], "v-f", target.clickhouse_target()
        )
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY) == {"web": 3, "touch": 1}
    ours = forget_visitor(engine, "v-f", tail_settings, clickhouse_target)
    erasure.forget(clickhouse_target, "v-f", engine)
    theirs = forget_visitor(ref_engine, "v-f", reference)
    assert (ours.web_events, ours.touch_events) == (theirs.web_events, theirs.touch_events) == (2, 1)
    ship.ship()
    store = ClickHouseStore(clickhouse_target, engine)
    left = explore.session_events(store, "s-shared", OLD_DAY)
    assert left.equals(explore.session_events(SqlStore(ref_engine), "s-shared", OLD_DAY))
    assert left["visitor_id"].to_list() == ["v-other"] and left["rage"].to_list() == [False]


@pytest.mark.postgres
def test_on_a_site_quiet_for_longer_than_the_tail_a_late_click_still_ships_its_flags(
    tail_settings: Settings, reference: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """Every event is older than the horizon: the cut keeps the newest row's group, so the revision of
    the flags a late click changes (the newest sequence number, plus one) is above the shipper's mark."""
    engine, ref_engine = engine_of(tail_settings), engine_of(reference)
    run = [web_click(sessionId="s-run", timestamp=at(OLD_DAY, t)) for t in (0, 0.3)]
    both(tail_settings, reference, [*run, web_click(sessionId="s-last", timestamp=at(OLD_DAY, 60))])
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY)["web"] == 2
    with engine.connect() as conn:
        assert set(conn.scalars(select(web_events.c.session_id))) == {"s-last"}
    both(tail_settings, reference, [web_click(sessionId="s-run", timestamp=at(OLD_DAY, 0.6))])
    ship.ship()
    mine = explore.session_events(ClickHouseStore(clickhouse_target, engine), "s-run", OLD_DAY)
    assert mine.equals(explore.session_events(SqlStore(ref_engine), "s-run", OLD_DAY))
    assert mine["rage"].to_list() == [True, True, True]


@pytest.mark.postgres
def test_the_shipping_process_cuts_the_tail_once_a_minute(
    tail_settings: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    engine = engine_of(tail_settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    recent = web_click(sessionId="s-now", timestamp=now.isoformat(timespec="milliseconds") + "Z")
    ingest_web_batch(engine, tail_settings, [web_click(sessionId="s-a", timestamp=at(OLD_DAY, 0)), recent])
    leader = ShipperLeader(engine, tail_settings, clickhouse_target)
    try:
        leader.ship_once()  # ships, then cuts
        with engine.connect() as conn:
            assert set(conn.scalars(select(web_events.c.session_id))) == {"s-now"}
            assert tail.horizon(conn) == now.date() - timedelta(days=TAIL_DAYS)
        ingest_web_batch(
            engine, tail_settings, [web_click(sessionId="s-b", timestamp=at(OLD_DAY, 9)), recent]
        )
        leader.ship_once()  # shipped, but the next cut waits for its minute
        assert sql_count(engine) == 2 and leader.last_error is None
    finally:
        leader.stop()


@pytest.mark.postgres
def test_an_id_taken_again_after_its_event_was_cut_does_not_block_bringing_the_group_back(
    tail_settings: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """Ids are remembered while their events are in SQL (docs/scaling.md): a client that reuses one
    days later has its new event stored, and the old event's group still comes back when needed."""
    engine = engine_of(tail_settings)
    old = web_click(eventId="reused", sessionId="s-old", timestamp=at(OLD_DAY, 0))
    ingest_web_batch(engine, tail_settings, [old, today_click()])
    ship = shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0)
    ship.ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY)["web"] == 1
    again = web_click(eventId="reused", sessionId="s-new", timestamp=at(TODAY, 5))
    assert ingest_web_batch(engine, tail_settings, [again]).ingested == 1
    late = web_click(sessionId="s-old", timestamp=at(OLD_DAY, 0.3))
    assert ingest_web_batch(engine, tail_settings, [late]).ingested == 1
    query = select(web_events.c.session_id, web_events.c.event_id).where(web_events.c.event_id.is_not(None))
    with engine.connect() as conn:
        owners = {event_id: session for session, event_id in conn.execute(query)}
    assert owners["reused"] == "s-new" and owners[late["eventId"]] == "s-old"


@pytest.mark.postgres
def test_a_wider_rage_interval_reaches_further_past_the_horizon(
    tail_settings: Settings, reference: Settings, clickhouse_target: ClickHouseTarget
) -> None:
    """With 3 s between rage clicks, a click 1.5 s after the horizon's midnight still extends a run
    of clicks cut away: the groups it may touch come back by the setting, not by a fixed second."""
    slow = {"rage_max_interval_ms": 3000}
    tailed, kept = tail_settings.model_copy(update=slow), reference.model_copy(update=slow)
    engine, ref_engine = engine_of(tailed), engine_of(reference)
    midnight = datetime(HORIZON.year, HORIZON.month, HORIZON.day)

    def click(seconds: float) -> dict[str, Any]:
        moment = midnight + timedelta(seconds=seconds)
        return web_click(sessionId="s-slow", timestamp=moment.isoformat(timespec="milliseconds") + "Z")

    both(tailed, kept, [click(-2.0), click(-0.5), today_click()])
    shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0).ship()
    assert tail.trim(engine, TAIL_DAYS, TODAY)["web"] == 2
    both(tailed, kept, [click(1.5), web_click(sessionId="s-today", timestamp=at(TODAY, 1))])
    shipper.Shipper(engine, clickhouse_target, rollup_quiet_s=0).ship()
    day = HORIZON - timedelta(days=1)
    mine = explore.session_events(ClickHouseStore(clickhouse_target, engine), "s-slow", day)
    assert mine.equals(explore.session_events(SqlStore(ref_engine), "s-slow", day))
    assert mine["rage"].to_list() == [True, True, True]
