"""A fresh ClickHouse database per test on the local two-shard cluster (scripts/clickhouse_cluster.sh).

Tests skip with the reason when no cluster answers at ``HEATMAPS_TEST_CLICKHOUSE_URL``, unless
``HEATMAPS_TEST_REQUIRE_CLICKHOUSE=1`` (CI), where they fail instead. Each test holds a shared lock on
the cluster; a test that stops a shard takes it exclusively, so no other test (another xdist worker)
sees its fault.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from data_layer.clickhouse import tables
from data_layer.clickhouse.target import ClickHouseTarget

CLICKHOUSE_URL = os.environ.get(
    "HEATMAPS_TEST_CLICKHOUSE_URL",
    "clickhouse://heatmaps:heatmaps-local@127.0.0.1:19000/heatmaps_test?cluster=heatmaps_local",
)
REQUIRE_CLICKHOUSE = os.environ.get("HEATMAPS_TEST_REQUIRE_CLICKHOUSE") == "1"
CLUSTER_DIR = Path(os.environ.get("HEATMAPS_CLICKHOUSE_DIR", "/tmp/heatmaps-clickhouse"))
_REASON: list[str | None] = []
_HELD_ALONE: list[bool] = []
"""Set while this process holds the cluster exclusively (flock would deadlock on a second lock)."""


def _reason() -> str | None:
    """None when the cluster answers, else why not (probed once per process)."""
    if not _REASON:
        try:
            target = ClickHouseTarget.parse(CLICKHOUSE_URL)
            target.client().execute("SELECT 1")
            _REASON.append(None)
        except Exception as exc:
            _REASON.append(
                f"no ClickHouse cluster at {ClickHouseTarget.parse(CLICKHOUSE_URL).redacted()} "
                f"({type(exc).__name__}); start one with scripts/clickhouse_cluster.sh start"
            )
    return _REASON[0]


def _cluster_lock(mode: int) -> Iterator[None]:
    """Yields once, holding the lock."""
    CLUSTER_DIR.mkdir(parents=True, exist_ok=True)
    with open(CLUSTER_DIR / "tests.lock", "w") as lock:
        fcntl.flock(lock, mode)
        yield
        fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def clickhouse_target() -> Iterator[ClickHouseTarget]:
    """A target on the cluster with a database of its own, created (every table on every shard) and
    dropped afterwards."""
    reason = _reason()
    if reason:
        if REQUIRE_CLICKHOUSE:
            pytest.fail(reason)
        pytest.skip(reason)
    target = replace(
        ClickHouseTarget.parse(CLICKHOUSE_URL), database=f"heatmaps_test_{uuid.uuid4().hex[:12]}"
    )
    for _ in [None] if _HELD_ALONE else _cluster_lock(fcntl.LOCK_SH):
        tables.create_all(target)
        try:
            yield target
        finally:
            tables.drop_all(target)


@pytest.fixture
def cluster_alone() -> Iterator[Path]:
    """The cluster to this test alone (a shard may be stopped): the directory of the running cluster."""
    if not (CLUSTER_DIR / "shard1" / "server.pid").exists():
        pytest.skip(f"the cluster in {CLUSTER_DIR} was not started by scripts/clickhouse_cluster.sh")
    for _ in _cluster_lock(fcntl.LOCK_EX):
        _HELD_ALONE.append(True)
        try:
            yield CLUSTER_DIR
        finally:
            _HELD_ALONE.clear()


def url_of(target: ClickHouseTarget) -> str:
    """The test cluster's URL (password included) naming ``target``'s database."""
    base, _, query = CLICKHOUSE_URL.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{target.database}" + (f"?{query}" if query else "")
