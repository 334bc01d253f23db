"""``heatmaps init``, ``heatmaps clickhouse backfill`` and ``status``, ``forget`` and ``purge`` with
``HEATMAPS_CLICKHOUSE_URL`` set (CONTRACT 16, exit statuses as CONTRACT 9)."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from data_layer.clickhouse import tables
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.ingest import ingest_touch_batch
from data_layer.settings import get_settings
from data_layer.store import SqlStore
from heatmaps_cli.app import app
from heatmaps_testing.dataset import generate
from tests.clickhouse.conftest import url_of
from tests.clickhouse.test_clickhouse_store import SCRIPT
from tests.factories import touch
from tests.replica.test_replica import END, load

runner = CliRunner()
EVERY_DAY = (date(2000, 1, 1), date(2100, 1, 1))


@pytest.fixture
def clickhouse_on(settings, clickhouse_target, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HEATMAPS_CLICKHOUSE_URL", url_of(clickhouse_target))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_init_backfill_status_forget_and_purge(engine, clickhouse_on, clickhouse_target) -> None:
    tables.drop_all(clickhouse_target)
    events = list(generate(events=800, days=10, seed=11, end=END))
    load(engine, clickhouse_on, events)
    ingest_touch_batch(engine, [touch(x=0.5)], events[0]["visitorId"])
    for _ in range(2):  # safe to repeat
        result = runner.invoke(app, ["init"])
        assert result.exit_code == 0, result.output
        assert "2 shard(s)" in result.output and "heatmaps-local" not in result.output

    before = runner.invoke(app, ["clickhouse", "status"])
    assert before.exit_code == 0, before.output
    assert f"lag behind ingestion: {SqlStore(engine).last_seq()} web events, 1 touch events" in before.output
    for _ in range(2):  # idempotent: the second one finds nothing to send
        shipped = runner.invoke(app, ["clickhouse", "backfill"])
        assert shipped.exit_code == 0, shipped.output
    assert "shipped 0 web events and 0 touch events" in shipped.output
    store = ClickHouseStore(clickhouse_target, engine)
    assert store.web_events(*EVERY_DAY).equals(SqlStore(engine).web_events(*EVERY_DAY))
    after = runner.invoke(app, ["clickhouse", "status"])
    assert "lag behind ingestion: 0 web events, 0 touch events" in after.output
    assert "daily rollup: 0 of 10 days built" in after.output, "days just shipped are not quiet yet"
    assert f"SQL tail: {SqlStore(engine).last_seq()} web and 1 touch events, every event" in after.output
    assert after.output.count("reachable, ") == 2 and "unreachable" not in after.output

    visitor = events[0]["visitorId"]
    assert runner.invoke(app, ["forget", "--visitor", visitor]).exit_code == 0
    assert store.web_events(*EVERY_DAY).equals(SqlStore(engine).web_events(*EVERY_DAY))
    assert store.web_events(*EVERY_DAY).filter(visitor_id=visitor).is_empty()
    # A cluster from before the rollup by dimension, upgraded without `init` since: purge still works.
    newer = tables.ROLLUP_BY_DIMENSION
    for shard in tables.shards(clickhouse_target):
        client = clickhouse_target.client(shard.host, shard.port)
        for name in (newer.name, newer.local):
            client.execute(f"DROP TABLE {clickhouse_target.database}.{name}")
    purged = runner.invoke(app, ["purge", "--older-than", "3"])
    assert purged.exit_code == 0, purged.output
    assert store.web_events(*EVERY_DAY).equals(SqlStore(engine).web_events(*EVERY_DAY))


# ClickHouse's half is what is tested: one SQL database is enough (the cluster is held alone meanwhile).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_erasure_with_a_shard_down_says_so_and_completes_when_run_again(
    cluster_alone, engine, clickhouse_on, clickhouse_target
) -> None:
    """SQL's half is done, ClickHouse's cannot be: exit 2 naming ClickHouse and what to do; the same
    command run again once the shard is back erases the rest (SQL has nothing left to delete)."""
    events = list(generate(events=600, days=6, seed=13, end=datetime.now(UTC)))  # purge keeps 3 days
    load(engine, clickhouse_on, events)
    assert runner.invoke(app, ["clickhouse", "backfill"]).exit_code == 0
    visitor = events[0]["visitorId"]
    store = ClickHouseStore(clickhouse_target, engine)
    subprocess.run([str(SCRIPT), "stop-shard", str(cluster_alone), "1"], check=True)
    try:
        failed = runner.invoke(app, ["forget", "--visitor", visitor])
        purged = runner.invoke(app, ["purge", "--older-than", "3"])
    finally:
        subprocess.run([str(SCRIPT), "start", str(cluster_alone)], check=True)
    for result in (failed, purged):
        assert result.exit_code == 2, result.output
        assert "ClickHouse" in result.output and "run this command again" in result.output
        assert "heatmaps-local" not in result.output
    assert SqlStore(engine).web_events(*EVERY_DAY).filter(visitor_id=visitor).is_empty()
    assert not store.web_events(*EVERY_DAY).filter(visitor_id=visitor).is_empty(), "still in ClickHouse"
    again = runner.invoke(app, ["forget", "--visitor", visitor])
    assert again.exit_code == 0, again.output
    assert "deleted 0 web events" in again.output
    assert runner.invoke(app, ["purge", "--older-than", "3"]).exit_code == 0
    kept = SqlStore(engine).web_events(*EVERY_DAY)
    assert store.web_events(*EVERY_DAY).equals(kept) and kept.height


def test_commands_without_the_setting_say_so(settings) -> None:
    result = runner.invoke(app, ["clickhouse", "status"])
    assert result.exit_code == 2 and "HEATMAPS_CLICKHOUSE_URL is not set" in result.output
