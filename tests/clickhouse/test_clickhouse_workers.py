"""`heatmaps api --workers 2` with ClickHouse set: one worker ships (the lease holder), the other takes
over when it is killed, and every event accepted before and after is in ClickHouse exactly once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from data_layer.clickhouse import tables
from data_layer.clickhouse.shipper import Shipper
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.db import create_db_engine
from data_layer.leases import holder_of
from data_layer.schema import web_events
from data_layer.store import SqlStore
from heatmaps_testing.loopback import ApiServer, make_tokens
from heatmaps_testing.tracker_load import BASE_AGO_MS, LoadShape, check, run_python_client
from tests.clickhouse.conftest import url_of
from tests.operations.test_workers import alive, children, wait_for

pytestmark = pytest.mark.live
LEASE_S = 3.0


def shipper_holder(engine) -> int | None:
    holder = holder_of(engine, Shipper.LEASE)
    return int(holder.split(":")[1]) if holder else None


def load(server: ApiServer, database_url: str, token: str) -> None:
    run = f"w{uuid.uuid4().hex[:6]}"
    shape = LoadShape(token, connections=6, run=run, base_ms=int(time.time() * 1000) - BASE_AGO_MS)
    record = run_python_client(server.base, "events", shape, seconds=2)
    verdict = check(database_url, "events", run, record)
    assert record.statuses() == {200: len(record.answers)} and verdict.ok, verdict


# Several API processes on one database are PostgreSQL's default (SQLite's is one process).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_worker_ships_and_another_takes_over_when_it_is_killed(
    database_url: str, tmp_path: Path, clickhouse_target
) -> None:
    engine = create_db_engine(database_url)
    server = ApiServer(
        database_url,
        tmp_path,
        args=("--workers", "2"),
        clickhouse_url=url_of(clickhouse_target),
        clickhouse_lease_s=str(LEASE_S),
        clickhouse_ship_interval_s="0.2",
    ).start()
    store, sql = ClickHouseStore(clickhouse_target, engine), SqlStore(engine)

    def shipped_all() -> bool:
        return store.last_seq() == sql.last_seq() > 0

    try:
        token = make_tokens(database_url)[0]
        load(server, database_url, token)
        assert wait_for(lambda: shipper_holder(engine) is not None, LEASE_S * 2)
        first = shipper_holder(engine)
        assert first in children(server.pid)
        seen = set()
        for _ in range(20):  # two lease periods: the other worker never takes it from a live holder
            seen.add(shipper_holder(engine))
            time.sleep(LEASE_S / 10)
        assert seen == {first}
        assert wait_for(shipped_all, 10)

        os.kill(first, signal.SIGKILL)
        # Connections the kernel queued on the dying worker's own socket are reset with it (without
        # net.ipv4.tcp_migrate_req); those opened once it is gone go to the other worker.
        assert wait_for(lambda: not alive(first), 10)
        load(server, database_url, token)  # served by the other worker (and the one restarted)
        assert wait_for(lambda: shipper_holder(engine) not in (None, first), LEASE_S * 3), "taken over"
        assert alive(shipper_holder(engine))  # type: ignore[arg-type]
        assert wait_for(shipped_all, 15), "what the killed worker left is shipped by the other"
        web = f"{clickhouse_target.database}.{tables.WEB.name}"
        shipped = Counter(
            dict(clickhouse_target.client().execute(f"SELECT event_id, count() FROM {web} GROUP BY event_id"))
        )
        with engine.connect() as conn:
            stored = set(conn.scalars(select(web_events.c.event_id)))
        assert set(shipped) == stored and set(shipped.values()) == {1}, "every event once"
        assert "Traceback" not in server.log_text()
    finally:
        server.kill()
        engine.dispose()
