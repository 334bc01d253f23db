"""Reliability against real ``heatmaps api`` processes on loopback: concurrency, SIGKILL, database outage.

Slow tests (marked ``live``): each starts API subprocesses (about 1 s each) and runs for a few seconds,
bounded in threads and time. They share the load script's clients and check (heatmaps_testing/load.py).

- Concurrency: two API processes on one database, writer and reader threads for a few seconds, and a
  cursor walk of the pages list repeated while ingestion goes on: no answer other than 200 (no
  ``database is locked``, no 5xx), every acknowledged event stored once, the page list counting every
  click once, and each walk yielding exactly the pages of its snapshot, each once, with their counts.
- Crash safety: the API is SIGKILLed three times in the middle of a stream of 500-event batches and
  restarted; the writer resends every batch whose answer it did not get. Right after each kill no batch
  is stored in part; at the end every event is stored once and the server reported each as ingested once.
- Outage (PostgreSQL): the API reaches PostgreSQL through a TCP proxy the test controls. Cut (the server
  resets connections) or hung (connections accepted, never answered), every endpoint answers 503 in its
  error shape within seconds, never a hang or a traceback; restored, the API recovers by itself and the
  refused batch can be resent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import OperationalError

from data_layer.db import bulk_insert, create_db_engine, write_transaction
from data_layer.errors import database_unavailable
from data_layer.event_models import validate_web_batch
from data_layer.ingest import RequestContext, web_event_row
from data_layer.schema import WEB_ROW_COLUMNS, web_events
from data_layer.settings import Settings
from heatmaps_testing.load import (
    check_exactly_once,
    load_day,
    make_batch,
    run_load,
    stored_event_ids,
    stream_through_kills,
)
from heatmaps_testing.loopback import ApiServer, make_tokens

pytestmark = pytest.mark.live
PAGES_PATH = "/rest/v1/heatmap-pages"
WALK_PAGES = 30
BATCHES = 60  # of 500 events: enough for three kills, each after the stream progressed by 3 batches


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- concurrency -----------------------------------------------------------------------------------------


def cursor_snapshot(cursor: str) -> int:
    """The sequence-number snapshot inside a cursor (white box: the payload is signed, not encrypted)."""
    body = cursor.split(".")[0]
    return int(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["s"])


def walk(clients: list[httpx.Client], day: str, pause: float) -> tuple[list[tuple[str, int]], int | None]:
    """One cursor walk of the day's pages list, 7 per page, asking the servers in turn (a cursor from
    one is valid on the other) and pausing between pages so ingestion lands in between; returns
    (pageKey, totalClicks) in order and the snapshot of the walk."""
    seen: list[tuple[str, int]] = []
    cursor, snapshot = None, None
    for number in range(1000):
        params = {"from": day, "to": day, "limit": "7"}
        if cursor:
            params["cursor"] = cursor
        response = clients[number % len(clients)].get(PAGES_PATH, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [(e["pageKey"], e["totalClicks"]) for e in body["entities"]]
        if not body["pagination"]["hasMore"]:
            return seen, snapshot
        cursor = body["pagination"]["nextCursor"]
        snapshot = snapshot if snapshot is not None else cursor_snapshot(cursor)
        time.sleep(pause)
    raise AssertionError("the walk did not end")


def clicks_per_page_up_to(database_url: str, snapshot: int) -> dict[str, int]:
    """Clicks per page among the rows with a sequence number at or below ``snapshot``."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(web_events.c.page_key, func.count())
                .where(web_events.c.seq <= snapshot, web_events.c.event_type == "click")
                .group_by(web_events.c.page_key)
            ).all()
    finally:
        engine.dispose()
    return {page: count for page, count in rows}


def seed_walk_pages(base: str, token: str) -> list[dict[str, Any]]:
    """WALK_PAGES pages with 1..WALK_PAGES clicks each, so a walk has several pages from the start;
    returns the events sent."""
    rng = random.Random(1)
    events = []
    for page in range(WALK_PAGES):
        for event in make_batch(f"seed{page}", page + 1, rng, load_day()):
            events.append(
                {**event, "type": "click", "x": 10, "y": 10, "url": f"https://walk.example/q{page}"}
            )
    response = httpx.post(f"{base}/rest/v1/events", json={"events": events}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return events


def test_concurrent_writers_and_readers_count_every_event_once(database_url: str, tmp_path: Path) -> None:
    ingest_token, view_token = make_tokens(database_url)
    servers = [ApiServer(database_url, tmp_path) for _ in range(2)]
    walks: list[tuple[list[tuple[str, int]], int | None]] = []
    try:
        for server in servers:
            server.start()
        bases = [server.base for server in servers]
        seed = seed_walk_pages(bases[0], ingest_token)
        stop = threading.Event()

        def walker() -> None:
            clients = [httpx.Client(base_url=b, headers=bearer(view_token), timeout=30) for b in bases]
            # At least two walks whatever the machine's speed: the first overlaps the load from its start.
            while not stop.is_set() or len(walks) < 2:
                walks.append(walk(clients, load_day().isoformat(), pause=0.05))
            for client in clients:
                client.close()

        thread = threading.Thread(target=walker)
        thread.start()
        report = run_load(bases, ingest_token, view_token, writers=3, readers=2, seconds=4, batch_size=50)
        stop.set()
        thread.join(60)
        verdict = check_exactly_once(
            database_url, [seed, *report.batches], report.lost_batches, api=(bases[1], view_token)
        )
        logs = "".join(server.log_text() for server in servers)
    finally:
        for server in servers:
            server.stop()

    figures = report.summary()
    assert figures["ingest_statuses"] == {"200": figures["ingest_statuses"].get("200", 0)}, figures
    assert set(figures["query_statuses"]) <= {"200", "404"}, figures
    assert figures["unacknowledged_batches"] == 0 and len(report.batches) > 10, figures
    assert verdict.ok, verdict
    assert (
        verdict.sent - len(seed)
        == sum(len(b) for b in report.batches)
        == sum(w.ingested for w in report.writers)
    )
    assert "database is locked" not in logs and "Traceback" not in logs, logs[-3000:]
    assert len(walks) >= 2
    for seen, snapshot in walks:
        pages = [page for page, _ in seen]
        assert len(pages) == len(set(pages)), "a page came twice in one walk"
        assert snapshot is not None
        assert dict(seen) == clicks_per_page_up_to(database_url, snapshot)


# -- crash safety ----------------------------------------------------------------------------------------


def batch_completeness(database_url: str, batches: list[list[dict[str, Any]]]) -> Counter[str]:
    """For each batch: 'none', 'whole' or 'partial', by how many of its events are stored."""
    stored = stored_event_ids(database_url)
    verdicts: Counter[str] = Counter()
    for batch in batches:
        present = sum(1 for event in batch if event["eventId"] in stored)
        verdicts["none" if present == 0 else "whole" if present == len(batch) else "partial"] += 1
    return verdicts


def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(database_url: str, tmp_path: Path) -> None:
    ingest_token, view_token = make_tokens(database_url)
    rng = random.Random(7)
    batches = [make_batch(f"crash{i}", 500, rng, load_day()) for i in range(BATCHES)]
    server = ApiServer(database_url, tmp_path).start()
    try:
        stream = stream_through_kills(
            server,
            batches,
            ingest_token,
            kills=3,
            rng=rng,
            after_kill=lambda: batch_completeness(database_url, batches),
        )
        verdict = check_exactly_once(database_url, batches, api=(server.base, view_token))
    finally:
        server.stop()
    log, after_kills = stream.log, stream.after_kills

    assert stream.finished, f"the stream did not finish: {log.statuses}"
    assert len(after_kills) == 3, "the stream ended before the third kill; send more batches"
    assert all(counts["partial"] == 0 for counts in after_kills), after_kills
    assert log.resends >= 3, log.statuses  # every kill hit the stream
    assert verdict.ok and verdict.sent == BATCHES * 500, verdict
    # Each event answered once as ingested, or, when its batch was stored just before a kill cut the
    # answer off, once as a duplicate of the resend; never twice as ingested.
    assert log.ingested + log.duplicates == BATCHES * 500, (log.ingested, log.duplicates)
    assert log.duplicates % 500 == 0 and log.duplicates <= 3 * 500, log.duplicates


# -- database outage -------------------------------------------------------------------------------------


class TcpProxy:
    """Loopback TCP proxy in front of PostgreSQL. ``cut("reset")`` closes every connection and resets
    new ones (the server is down); ``cut("hang")`` closes every connection and accepts new ones without
    ever answering (a server that is unreachable); ``restore()`` forwards again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "up"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                continue
            with self._lock:
                self._open.add(conn)
            if self.mode == "hang":
                continue
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._open.add(upstream)
            for source, target in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self, mode: str) -> None:
        self.mode = mode
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.cut("up")

    def close(self) -> None:
        self.cut("reset")
        self.listener.close()


postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    target = make_url(database_url)
    tcp = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    yield tcp
    tcp.close()


def through(proxy: TcpProxy, database_url: str) -> str:
    return make_url(database_url).set(port=proxy.port).render_as_string(hide_password=False)


def outage_requests(
    ingest_token: str, view_token: str, batch: list[dict[str, Any]], page: str
) -> dict[str, dict[str, Any]]:
    """One request per kind of endpoint: ingesting ``batch``, the pages list, the summary of ``page``,
    the health check, and the Connect ingest and query."""
    day = load_day().isoformat()
    touch = {"screenName": "home", "x": 0.5, "y": 0.5, "timestamp": batch[0]["timestamp"], "eventType": "TAP"}
    return {
        "ingest": {
            "method": "POST",
            "url": "/rest/v1/events",
            "json": {"events": batch},
            "token": ingest_token,
        },
        "pages": {
            "method": "GET",
            "url": PAGES_PATH,
            "params": {"from": day, "to": day},
            "token": view_token,
        },
        "summary": {
            "method": "GET",
            "url": f"{PAGES_PATH}/summary",
            "params": {"from": day, "to": day, "pageKey": page, "breakpoint": "desktop"},
            "token": view_token,
        },
        "healthz": {"method": "GET", "url": "/healthz", "token": None},
        "touch": {
            "method": "POST",
            "url": "/heatmap.v1.HeatmapService/IngestTouchEvents",
            "json": {"events": [touch]},
            "token": ingest_token,
        },
        "query": {
            "method": "POST",
            "url": "/heatmap.v1.HeatmapService/QueryHeatmapData",
            "json": {"screenName": "home"},
            "token": view_token,
        },
    }


def timed(client: httpx.Client, spec: dict[str, Any]) -> tuple[httpx.Response, float]:
    kwargs = {k: v for k, v in spec.items() if k in ("params", "json")}
    headers = bearer(spec["token"]) if spec["token"] else {}
    started = time.monotonic()
    response = client.request(spec["method"], spec["url"], headers=headers, **kwargs)
    return response, time.monotonic() - started


def assert_unavailable(name: str, response: httpx.Response) -> None:
    assert response.status_code == 503, (name, response.status_code, response.text)
    body = response.json()
    if name in ("touch", "query"):
        assert body == {"code": "unavailable", "message": body["message"]} and body["message"], body
    else:
        assert body == {"error": "unavailable", "details": body["details"]} and body["details"], body
    if name != "healthz":
        assert response.headers["retry-after"] == "5"


def wait_healthy(client: httpx.Client, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if client.get("/healthz").status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"the API did not recover within {timeout} s")


@postgres_only
def test_postgres_outage_answers_503_quickly_and_recovers(
    database_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    ingest_token, view_token = make_tokens(database_url)
    rng = random.Random(3)
    first, refused = make_batch("before", 20, rng, load_day()), make_batch("during", 20, rng, load_day())
    specs = outage_requests(ingest_token, view_token, refused, page=first[0]["url"])
    server = ApiServer(through(proxy, database_url), tmp_path).start()
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            assert (
                client.post(
                    "/rest/v1/events", json={"events": first}, headers=bearer(ingest_token)
                ).status_code
                == 200
            )
            for name in ("pages", "summary", "query"):
                assert timed(client, specs[name])[0].status_code == 200, name

            # The server is down: connections reset. Every endpoint, also several at once, answers 503 fast.
            proxy.cut("reset")
            for name, spec in specs.items():
                response, elapsed = timed(client, spec)
                assert_unavailable(name, response)
                assert elapsed < 3, (name, elapsed)
            with ThreadPoolExecutor(8) as pool:
                answers = list(
                    pool.map(lambda spec: timed(client, spec), [specs["pages"], specs["ingest"]] * 4)
                )
            assert all(r.status_code == 503 and t < 3 for r, t in answers), [
                (r.status_code, t) for r, t in answers
            ]
            proxy.restore()
            wait_healthy(client, timeout=10)
            resent = client.post("/rest/v1/events", json={"events": refused}, headers=bearer(ingest_token))
            assert resent.json() == {"ingested": 20, "duplicates": 0}

            # Unreachable: connections accepted but never answered. The 5 s connect timeout bounds the wait.
            proxy.cut("hang")
            for name in ("ingest", "pages"):
                response, elapsed = timed(client, specs[name])
                assert_unavailable(name, response)
                assert elapsed < 8, (name, elapsed)
            proxy.restore()
            wait_healthy(client, timeout=10)
            for name in ("pages", "summary", "query"):
                assert timed(client, specs[name])[0].status_code == 200, name
    finally:
        server.stop()
    verdict = check_exactly_once(database_url, [first, refused])
    assert verdict.ok and verdict.stored == 40, verdict
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


@postgres_only
def test_write_losing_its_connection_is_an_outage_and_stores_nothing(
    database_url: str, proxy: TcpProxy, settings: Settings
) -> None:
    engine = create_db_engine(through(proxy, database_url))
    event = validate_web_batch(make_batch("lost", 1, random.Random(1), load_day()))[0]
    row = web_event_row(event, settings, RequestContext())
    try:
        with pytest.raises(OperationalError) as raised, write_transaction(engine) as conn:
            proxy.cut("reset")
            bulk_insert(conn, web_events, WEB_ROW_COLUMNS, [row])
        assert database_unavailable(raised.value)
        proxy.restore()
        assert stored_event_ids(database_url) == Counter()
        with write_transaction(engine) as conn:  # the pool recovers without a restart
            bulk_insert(conn, web_events, WEB_ROW_COLUMNS, [row])
        assert stored_event_ids(database_url) == Counter({row[0]: 1})
    finally:
        engine.dispose()
