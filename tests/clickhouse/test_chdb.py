"""The product's ClickHouse SQL on a current engine (chDB runs one in-process), not only on 18.16:
the tables, the shipper's inserts and checks, every read of the store and the erasure, with answers
equal to SQL's (CONTRACT 16, "Versions"). One server, no cluster: chDB has no Distributed peers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from clickhouse_driver.util.escape import escape_param, escape_params

from data_layer.clickhouse import erasure, shipper, tables
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.ingest import ingest_touch_batch
from data_layer.retention import forget_visitor, purge_older_than
from data_layer.service import HeatmapService
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.clickhouse.test_clickhouse_store import _sessions, _touches
from tests.factories import touch
from tests.replica.test_replica import END, answers, load

chdb_session = pytest.importorskip("chdb.session", reason="chDB (requirements-dev.txt) is not installed")


class ChdbClient:
    """What the product asks of a clickhouse-driver client, answered by chDB: parameters substituted
    as the driver does, results column by column, inserts as VALUES."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, query: str, params: Any = None, *, columnar: bool = False, settings: Any = None) -> Any:
        if query.rstrip().endswith("VALUES"):
            rows = zip(*params, strict=True) if columnar else params
            values = ", ".join(f"({', '.join(str(escape_param(v, None)) for v in row)})" for row in rows)
            if values:
                self.session.query(f"{query} {values}")
            return None
        text = query % escape_params(params, None) if params else query
        if not text.lstrip().upper().startswith("SELECT"):
            self.session.query(text)
            return []
        table = self.session.query(text, "ArrowTable")
        columns = [tuple(column.to_pylist()) for column in table.columns]
        if columnar:
            return columns if table.num_rows else []
        return list(zip(*columns, strict=True))

    def disconnect(self) -> None:
        pass


@pytest.fixture
def chdb_target(monkeypatch: pytest.MonkeyPatch, tmp_path) -> ClickHouseTarget:
    client = ChdbClient(chdb_session.Session(str(tmp_path / "chdb")))
    monkeypatch.setattr(ClickHouseTarget, "client", lambda self, host=None, port=None: client)
    target = ClickHouseTarget("chdb", 9000, "heatmaps_chdb")
    tables.create_all(target)
    tables.create_all(target)  # safe to repeat
    return target


def test_the_same_sql_answers_on_a_current_engine(engine, settings, chdb_target) -> None:
    [(version,)] = chdb_target.client().execute("SELECT version()")
    assert int(version.split(".")[0]) >= 24, "a current engine, not 18.16"
    events = list(generate(events=1500, days=10, seed=3, end=END))
    load(engine, settings, events)
    ingest_touch_batch(engine, [touch(x=0.1 * i) for i in range(1, 6)], events[0]["visitorId"])
    # Cell edges as a client writes them (0.29 * 100 is 28.999999999999996): the same cell in both.
    edges = [touch(x=k / 100, y=(100 - k) / 100) for k in range(101)]
    ingest_touch_batch(engine, edges, "visitor-edges")
    ship = shipper.Shipper(engine, chdb_target, block_rows=600, rollup_quiet_s=0)
    ship.ship()
    store = ClickHouseStore(chdb_target, engine)
    sql = HeatmapService(SqlStore(engine), settings, b"k")
    service = HeatmapService(store, settings, b"k")
    assert answers(service) == answers(sql)
    assert _sessions(store, engine) == _sessions(SqlStore(engine), engine)
    assert _touches(store) == _touches(SqlStore(engine)) and _touches(store)
    mark = store.last_seq() - 200
    assert (
        store.clicks_before_late_sessions(mark)
        .sort("seq")
        .equals(SqlStore(engine).clicks_before_late_sessions(mark).sort("seq"))
    )

    ship.check_uncertain(shipper.WEB_STREAM)  # nothing uncertain: nothing changes
    forget_visitor(engine, events[0]["visitorId"], settings)
    erasure.forget(chdb_target, events[0]["visitorId"], engine)
    purge_older_than(engine, settings, 4, today=END.date())
    erasure.purge_before(chdb_target, END.date() - timedelta(days=4), engine)
    ship.ship()
    assert answers(service) == answers(sql)
    assert _touches(store) == _touches(SqlStore(engine))
