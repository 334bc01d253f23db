"""SIGKILL of a real ``heatmaps api`` whose events go to the two-shard cluster (CONTRACT 16): the API is
killed three times in the middle of a stream of 500-event batches, its shipper with it, and restarted;
the writer resends every batch it got no answer for. At the end ClickHouse holds every event exactly
once (by event id and sequence number, on both shards), and the API's pages list, read from ClickHouse,
counts every click once."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from data_layer.clickhouse import tables
from data_layer.clickhouse.target import ClickHouseTarget
from heatmaps_testing.load import check_exactly_once, load_day, make_batch, stream_through_kills
from heatmaps_testing.loopback import ApiServer, make_tokens
from tests.clickhouse.conftest import url_of

pytestmark = [pytest.mark.live, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
BATCHES = 40  # of 500 events: enough for three kills, each after the stream progressed by 3 batches
SHIPPED_WITHIN_S = 30.0


def _shipped(target: ClickHouseTarget) -> tuple[int, int, int, list[int]]:
    """Rows, distinct event ids and distinct sequence numbers of the web events in ClickHouse, and the
    rows on each shard."""
    web = tables.read_name(target, tables.WEB)
    rows, ids, seqs = target.client().execute(
        f"SELECT count(), uniqExact(event_id), uniqExact(seq) FROM {web}"
    )[0]
    local = f"{target.database}.{tables.WEB.local}"
    per_shard = [
        target.client(shard.host, shard.port).execute(f"SELECT count() FROM {local}")[0][0]
        for shard in tables.shards(target)
    ]
    return rows, ids, seqs, per_shard


def test_sigkill_mid_stream_ships_every_event_once(
    database_url: str, clickhouse_target: ClickHouseTarget, tmp_path: Path
) -> None:
    ingest_token, view_token = make_tokens(database_url)
    rng = random.Random(11)
    batches = [make_batch(f"chkill{i}", 500, rng, load_day()) for i in range(BATCHES)]
    sent = BATCHES * 500
    server = ApiServer(
        database_url,
        tmp_path,
        clickhouse_url=url_of(clickhouse_target),
        clickhouse_ship_interval_s="0.2",
    ).start()
    try:
        stream = stream_through_kills(
            server, batches, ingest_token, kills=3, rng=rng, after_kill=lambda: _shipped(clickhouse_target)[0]
        )
        deadline = time.monotonic() + SHIPPED_WITHIN_S
        while _shipped(clickhouse_target)[0] < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        verdict = check_exactly_once(database_url, batches, api=(server.base, view_token))
    finally:
        server.stop()

    assert stream.finished, f"the stream did not finish: {stream.log.statuses}"
    assert len(stream.after_kills) == 3, "the stream ended before the third kill; send more batches"
    assert stream.log.resends >= 3, stream.log.statuses  # every kill hit the stream
    rows, ids, seqs, per_shard = _shipped(clickhouse_target)
    assert (rows, ids, seqs) == (sent, sent, sent)
    assert all(per_shard) and sum(per_shard) == sent, per_shard  # really on both shards
    # SQL holds each once too, and the API's list (from ClickHouse) counts every click once.
    assert verdict.ok and verdict.sent == sent, verdict
