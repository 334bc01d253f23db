"""Ingestion throughput: service layer (SQLite, PostgreSQL) and HTTP, batches of 500. Prints figures.

.venv/bin/python -m benchmarks.ingest_throughput --events 100000
.venv/bin/python -m benchmarks.ingest_throughput --paths service-sqlite http-sqlite --runs 3

Each run ingests the same events into a fresh database; with several runs the median is printed with
the range. HTTP request bodies are serialised before the clock starts: the figure is the server's
throughput, not the client's JSON encoder's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from data_layer.db import create_db_engine
from data_layer.ingest import ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.settings import Settings
from heatmaps_testing.dataset import generate
from heatmaps_testing.loopback import free_port, wait_ok

PG_URL = os.environ.get("HEATMAPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 500
PATHS = ("service-sqlite", "service-pg", "http-sqlite", "http-pg")
LABELS = {
    "service-sqlite": "service layer -> SQLite:      ",
    "service-pg": "service layer -> PostgreSQL:  ",
    "http-sqlite": "HTTP (1 client) -> SQLite:    ",
    "http-pg": "HTTP (1 client) -> PostgreSQL:",
}


def batches(events: int) -> list[list[dict]]:
    items = list(generate(events=events, days=30))
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def service_layer(url: str, work: list[list[dict]]) -> float:
    upgrade(url)
    engine = create_db_engine(url)
    settings = Settings(_env_file=None, database_url=url)
    started = time.perf_counter()
    stored = sum(ingest_web_batch(engine, settings, batch).ingested for batch in work)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return stored / elapsed


def http(url: str, work: list[list[dict]]) -> float:
    upgrade(url)
    env = {**os.environ, "HEATMAPS_DATABASE_URL": url, "HEATMAPS_RATE_LIMIT_INGEST_PER_MINUTE": "1000000"}
    token = subprocess.run(
        [sys.executable, "-m", "heatmaps_cli.app", "keys", "create", "--user", "bench"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "heatmaps_cli.app", "api", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    bodies = [json.dumps({"events": batch}).encode() for batch in work]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            if not wait_ok(f"http://127.0.0.1:{port}/healthz", 30, alive=lambda: server.poll() is None):
                raise RuntimeError("the API did not start")
            started = time.perf_counter()
            stored = 0
            for body in bodies:
                response = client.post("/rest/v1/events", content=body, headers=headers)
                response.raise_for_status()
                stored += response.json()["ingested"]
            return stored / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(10)


def pg_schema_url() -> tuple[str, str] | None:
    try:
        admin = create_engine(PG_URL)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as exc:
        print(f"postgresql: skipped ({type(exc).__name__})")
        return None
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def one_run(path: str, work: list[list[dict]], tmp: Path) -> float | None:
    """Events/s of one run of ``path`` into a fresh database; None when PostgreSQL is unreachable."""
    ingest: Callable[[str, list[list[dict]]], float] = service_layer if path.startswith("service") else http
    if path.endswith("sqlite"):
        return ingest(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}", work)
    pg = pg_schema_url()
    if pg is None:
        return None
    try:
        return ingest(pg[0], work)
    finally:
        drop_pg_schema(pg[1])


def measure(
    work: list[list[dict]], runs: int = 1, paths: tuple[str, ...] = PATHS
) -> dict[str, tuple[float, ...]]:
    """Events/s of each of ``runs`` runs per path ingesting ``work`` (:func:`batches`), each into a fresh
    database (PostgreSQL paths are left out when it is unreachable)."""
    rates: dict[str, tuple[float, ...]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            measured = [one_run(path, work, Path(tmp)) for _ in range(runs)]
            if None not in measured:
                rates[path] = tuple(rate for rate in measured if rate is not None)
    return rates


def report(rates: dict[str, tuple[float, ...]]) -> None:
    """One line per path: the median events/s, with the range when there were several runs."""
    for path, measured in rates.items():
        spread = f"  (runs: {min(measured):,.0f} .. {max(measured):,.0f})" if len(measured) > 1 else ""
        print(f"{LABELS[path]}{statistics.median(measured):10,.0f} events/s{spread}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--runs", type=int, default=1, help="runs per path; the median is printed")
    args = parser.parse_args()
    work = batches(args.events)
    print(f"ingestion benchmark: {sum(map(len, work))} events in {len(work)} batches of {BATCH}")
    report(measure(work, args.runs, tuple(args.paths)))


if __name__ == "__main__":
    main()
