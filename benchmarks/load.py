"""Load script: N ingest clients and M query clients against a live ``heatmaps api`` on loopback.

Not a test: it prints figures (docs/reliability.md records them). For a fixed time, every writer thread
posts batches of web events with unique ``eventId``s and resends a batch until it is acknowledged (on a
transport error, 429 or 503 it waits and sends the same batch again); every reader thread alternates
between the pages list and the summary of a random page. At the end it prints throughput, latency
percentiles, errors by status, and the exactly-once check: every acknowledged event stored once, no
event stored twice, no batch stored in part, and the API's page list counting every click once.

    .venv/bin/python -m benchmarks.load --database sqlite --writers 4 --readers 2 --seconds 30
    .venv/bin/python -m benchmarks.load --database postgresql --servers 2

The server (or servers, sharing one database) run as subprocesses on free loopback ports with a fresh
scratch database, so the script never touches real data. Rate limits are raised for the run: the point
is to load the storage, not the limiter. The clients and the check are :mod:`heatmaps_testing.load`,
which the reliability tests run with small numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from data_layer.migrate import upgrade
from heatmaps_testing.load import check_exactly_once, run_load
from heatmaps_testing.loopback import ApiServer, make_tokens

PG_URL = os.environ.get("HEATMAPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(kind: str, directory: Path) -> Iterator[str]:
    """URL of a fresh, migrated database: a SQLite file in ``directory`` or a new PostgreSQL schema
    (dropped afterwards) on ``HEATMAPS_TEST_PG_URL``."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'load.db'}"
        upgrade(url)
        yield url
        return
    schema = f"load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--writers", type=int, default=4, help="ingest client threads")
    parser.add_argument("--readers", type=int, default=2, help="query client threads")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=100, help="events per ingest request (1-500)")
    parser.add_argument("--servers", type=int, default=1, help="API processes sharing the database")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="heatmaps-load-") as tmp,
        scratch_database(args.database, Path(tmp)) as url,
    ):
        ingest_token, view_token = make_tokens(url)
        servers = [ApiServer(url, Path(tmp)) for _ in range(args.servers)]
        try:
            for server in servers:
                server.start()
            bases = [server.base for server in servers]
            report = run_load(
                bases,
                ingest_token,
                view_token,
                writers=args.writers,
                readers=args.readers,
                seconds=args.seconds,
                batch_size=args.batch,
            )
            verdict = check_exactly_once(url, report.batches, report.lost_batches, api=(bases[0], view_token))
            tracebacks = sum(server.log_text().count("Traceback") for server in servers)
        finally:
            for server in servers:
                server.stop()
    figures = report.summary()
    print(
        f"database={args.database} servers={args.servers} writers={args.writers} readers={args.readers} "
        f"batch={args.batch} seconds={figures['seconds']}"
    )
    print(
        f"ingest: {figures['events_per_s']} events/s ({figures['ingest_requests_per_s']} requests/s), "
        f"latency ms {figures['ingest_ms']}, statuses {figures['ingest_statuses']}, "
        f"resent batches {figures['resent_batches']}, unacknowledged {figures['unacknowledged_batches']}, "
        f"errors (all clients) {figures['errors']}"
    )
    print(
        f"query:  {figures['queries_per_s']} requests/s, latency ms {figures['query_ms']}, "
        f"statuses {figures['query_statuses']}"
    )
    print(
        f"exactly-once: sent {verdict.sent}, stored {verdict.stored}, missing {verdict.missing}, "
        f"duplicated {verdict.duplicated}, unexpected {verdict.unexpected}, partial batches "
        f"{verdict.partial_batches}, clicks stored {verdict.clicks_stored} = counted by API "
        f"{verdict.clicks_counted_by_api}: {'OK' if verdict.ok else 'FAILED'}; server tracebacks {tracebacks}"
    )
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
