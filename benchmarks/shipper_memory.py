"""The shipper catching up on a backlog, as the API ships and as the CLI's backfill does: prints its rate
and the peak memory of the process that ships.

    .venv/bin/python -m benchmarks.shipper_memory --events 1000000

Fills (or reuses) ``benchmarks/out/perf-EVENTS.db`` (90 days), then, for each block size (the API's
:data:`data_layer.clickhouse.leader.SERVING_BLOCK_ROWS` and the backfill's
:data:`data_layer.clickhouse.shipper.BLOCK_ROWS`), copies it (the copy has shipped nothing yet), ships
every event of the copy into a fresh scratch ClickHouse database on the local two-shard cluster from a
process of its own, and prints the rate and that process's peak RSS (``VmHWM``: the reader child it
starts is not counted, as the API process would not count it either).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.clickhouse_reads import LOCAL_CLUSTER
from benchmarks.query_latency import fill, perf_database, rss_mib
from data_layer.clickhouse import leader, shipper, tables
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine
from data_layer.settings import Settings

SCRATCH_DATABASE = "heatmaps_shipper_memory"


def ship_all(database_url: str, clickhouse_url: str, block_rows: int, answer: multiprocessing.Queue) -> None:
    """In a process of its own: ship everything, then answer (events, seconds, peak MiB)."""
    engine = create_db_engine(database_url)
    target = ClickHouseTarget.parse(clickhouse_url)
    sender = shipper.Shipper(engine, target, block_rows=block_rows, rollup_quiet_s=1e9)
    try:
        started = time.perf_counter()
        shipped = sender.ship().get("web", 0)
        while sum(sender.lag().values()):
            shipped += sender.ship().get("web", 0)
        answer.put((shipped, time.perf_counter() - started, rss_mib()))
    finally:
        sender.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="default: benchmarks/out/perf-EVENTS.db")
    parser.add_argument("--block-rows", type=int, nargs="*", default=[], help="other block sizes to try")
    args = parser.parse_args()
    db = perf_database(args.events, args.db)
    url = f"sqlite:///{db}"
    settings = Settings(_env_file=None, database_url=url)
    engine = create_db_engine(url)
    fill(engine, settings, args.events, days=90)
    engine.dispose()
    clickhouse_url = LOCAL_CLUSTER.replace("/heatmaps_bench?", f"/{SCRATCH_DATABASE}?")
    target = ClickHouseTarget.parse(clickhouse_url)
    spawn = multiprocessing.get_context("spawn")
    sizes = [
        ("API (leader.SERVING_BLOCK_ROWS)", leader.SERVING_BLOCK_ROWS),
        ("backfill (shipper.BLOCK_ROWS)", shipper.BLOCK_ROWS),
        *(("--block-rows", rows) for rows in args.block_rows),
    ]
    for name, block_rows in sizes:
        tables.drop_all(target)
        tables.create_all(target)
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "copy.db"
            shutil.copyfile(db, copy)
            answer: multiprocessing.Queue = spawn.Queue()
            process = spawn.Process(
                target=ship_all, args=(f"sqlite:///{copy}", clickhouse_url, block_rows, answer)
            )
            process.start()
            shipped, seconds, peak = answer.get()
            process.join()
        print(
            f"{name}, blocks of {block_rows:,} rows: {shipped:,} events in {seconds:.1f} s "
            f"= {shipped / seconds:,.0f} events/s; peak RSS of the shipping process {peak:,.0f} MiB"
        )
    tables.drop_all(target)


if __name__ == "__main__":
    main()
