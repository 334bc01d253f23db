"""Ingest and query clients against live API servers, and the check that every event was stored once.

Every writer thread posts batches of web events with unique ``eventId``s and resends a batch until it is
acknowledged (on a transport error, 429 or 503 it waits and sends the same batch again); every reader
thread alternates between the pages list and the summary of a random page. :func:`check_exactly_once`
then compares the database, and the API's page list, with what was acknowledged. The load benchmark
(``benchmarks/load.py``) prints the figures; the reliability tests run it with small numbers.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from data_layer.db import create_db_engine
from data_layer.schema import web_events

PAGES = 40
SORTS = ("CLICKS", "RAGE_CLICKS", "DEAD_RATE", "ISSUE_SCORE", "PAGE_KEY")
RETRY_STATUSES = {429, 503}


def load_day() -> date:
    """The UTC day every generated event falls on: yesterday, so no timestamp is in the future."""
    return datetime.now(UTC).date() - timedelta(days=1)


def make_batch(tag: str, size: int, rng: random.Random, day: date) -> list[dict[str, Any]]:
    """``size`` valid web events (about 85 % clicks) with ids ``{tag}-{i}`` on one of :data:`PAGES` pages."""
    session = f"s-{tag}"
    events = []
    for i in range(size):
        moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(milliseconds=i * 700)
        event: dict[str, Any] = {
            "eventId": f"{tag}-{i}",
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "sessionId": session,
            "visitorId": f"v-{tag}",
            "url": f"https://load.example/p{rng.randrange(PAGES)}",
            "viewportWidth": rng.choice((375, 800, 1280)),
            "viewportHeight": 800,
            "documentWidth": 1280,
            "documentHeight": 4000,
            "browserName": rng.choice(("Chrome", "Firefox", "Safari")),
            "country": rng.choice(("US", "DE", "FR")),
        }
        if rng.random() < 0.85:
            event.update(
                type="click", x=rng.uniform(0, 1280), y=rng.uniform(0, 4000), dead=rng.random() < 0.1
            )
        else:
            event.update(type="scroll", depth=rng.uniform(0, 100))
        events.append(event)
    return events


@dataclass
class ClientLog:
    """What one client thread saw: latencies (s) of answered requests, statuses, and for writers the
    batches sent (acknowledged or not) and the ``ingested``/``duplicates`` counts the server reported
    (a batch stored just before its answer was lost comes back as duplicates when resent)."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: list[list[dict[str, Any]]] = field(default_factory=list)
    unacknowledged: list[list[dict[str, Any]]] = field(default_factory=list)
    ingested: int = 0
    duplicates: int = 0
    resends: int = 0


def _request(
    client: httpx.Client, log: ClientLog, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        log.statuses[type(exc).__name__] += 1
        return None
    log.latencies.append(time.perf_counter() - started)
    log.statuses[str(response.status_code)] += 1
    return response


def send_batch(client: httpx.Client, log: ClientLog, batch: list[dict[str, Any]], give_up_at: float) -> bool:
    """POST ``batch`` until a 200 answers (same batch each time, so a resend is a no-op); False when
    ``give_up_at`` (monotonic) passes first. Any other status is a bug: the batch is recorded and dropped."""
    attempt = 0
    while time.monotonic() < give_up_at:
        response = _request(client, log, "POST", "/rest/v1/events", json={"events": batch})
        if response is not None and response.status_code == 200:
            log.acknowledged.append(batch)
            answer = response.json()
            log.ingested += answer["ingested"]
            log.duplicates += answer["duplicates"]
            log.resends += attempt > 0
            return True
        if response is not None and response.status_code not in RETRY_STATUSES:
            break
        attempt += 1
        time.sleep(min(1.0, 0.05 * 2**attempt))
    log.unacknowledged.append(batch)
    return False


def writer(
    base: str | list[str], token: str, name: str, stop_at: float, batch_size: int, log: ClientLog
) -> None:
    """Post batches until ``stop_at``; with several bases, each batch goes to the next server."""
    bases = [base] if isinstance(base, str) else base
    rng = random.Random(name)
    day = load_day()
    clients = [
        httpx.Client(base_url=b, headers={"Authorization": f"Bearer {token}"}, timeout=30) for b in bases
    ]
    try:
        number = 0
        while time.monotonic() < stop_at:
            batch = make_batch(f"{name}-{number}", batch_size, rng, day)
            send_batch(clients[number % len(clients)], log, batch, give_up_at=stop_at + 30)
            number += 1
    finally:
        for client in clients:
            client.close()


def reader(base: str | list[str], token: str, name: str, stop_at: float, log: ClientLog) -> None:
    """Alternate the pages list (random sort) and a random page's summary until ``stop_at`` (a summary
    answers 404 while no event of its page is stored yet: that is not an error)."""
    bases = [base] if isinstance(base, str) else base
    rng = random.Random(name)
    day = load_day().isoformat()
    clients = [
        httpx.Client(base_url=b, headers={"Authorization": f"Bearer {token}"}, timeout=30) for b in bases
    ]
    try:
        number = 0
        while time.monotonic() < stop_at:
            client = clients[number % len(clients)]
            if number % 2 == 0:
                params = {"from": day, "to": day, "sortBy": rng.choice(SORTS), "limit": "25"}
                _request(client, log, "GET", "/rest/v1/heatmap-pages", params=params)
            else:
                params = {
                    "from": day,
                    "to": day,
                    "pageKey": f"https://load.example/p{rng.randrange(PAGES)}",
                    "breakpoint": rng.choice(("desktop", "tablet", "mobile")),
                }
                _request(client, log, "GET", "/rest/v1/heatmap-pages/summary", params=params)
            number += 1
    finally:
        for client in clients:
            client.close()


@dataclass
class KilledStream:
    """What :func:`stream_through_kills` saw: the writer's log, whether every batch was answered, and
    what ``after_kill`` returned after each kill."""

    log: ClientLog
    finished: bool
    after_kills: list[Any]


def stream_through_kills(
    server: Any,
    batches: list[list[dict[str, Any]]],
    token: str,
    *,
    kills: int,
    rng: random.Random,
    after_kill: Callable[[], Any],
) -> KilledStream:
    """Sends ``batches`` in order from one writer, resending each until it is answered, while ``server``
    (a ``loopback.ApiServer``) is SIGKILLed ``kills`` times at random moments, each once the stream
    made 3 more batches of progress, and restarted; ``after_kill`` runs right after each kill, before
    the restart (what the storage holds then)."""
    log = ClientLog()
    done = threading.Event()

    def stream() -> None:
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as client:
            for batch in batches:
                if not send_batch(client, log, batch, give_up_at=time.monotonic() + 60):
                    return
        done.set()

    thread = threading.Thread(target=stream)
    thread.start()
    after_kills: list[Any] = []
    while len(after_kills) < kills:
        goal = len(log.acknowledged) + 3
        while len(log.acknowledged) < goal and not done.is_set():
            time.sleep(0.01)
        if done.wait(rng.uniform(0, 0.1)):
            break
        server.kill()
        after_kills.append(after_kill())
        server.start()
    thread.join(120)
    return KilledStream(log, done.is_set(), after_kills)


@dataclass
class LoadReport:
    seconds: float
    writers: list[ClientLog]
    readers: list[ClientLog]

    @property
    def batches(self) -> list[list[dict[str, Any]]]:
        return [batch for log in self.writers for batch in log.acknowledged]

    @property
    def lost_batches(self) -> list[list[dict[str, Any]]]:
        return [batch for log in self.writers for batch in log.unacknowledged]

    def errors(self) -> int:
        """Answers that are neither 200 nor a summary's 404: 5xx, 429, other 4xx, transport errors."""
        writes = sum(n for w in self.writers for status, n in w.statuses.items() if status != "200")
        reads = sum(
            n for r in self.readers for status, n in r.statuses.items() if status not in ("200", "404")
        )
        return writes + reads

    def summary(self) -> dict[str, Any]:
        """The printed figures, as numbers (latencies in ms)."""
        events = sum(len(batch) for batch in self.batches)
        return {
            "seconds": round(self.seconds, 1),
            "events_acknowledged": events,
            "events_per_s": round(events / self.seconds),
            "ingest_requests_per_s": round(sum(len(w.latencies) for w in self.writers) / self.seconds, 1),
            "queries_per_s": round(sum(len(r.latencies) for r in self.readers) / self.seconds, 1),
            "ingest_ms": percentiles([t for w in self.writers for t in w.latencies]),
            "query_ms": percentiles([t for r in self.readers for t in r.latencies]),
            "ingest_statuses": dict(sum((w.statuses for w in self.writers), Counter())),
            "query_statuses": dict(sum((r.statuses for r in self.readers), Counter())),
            "errors": self.errors(),
            "resent_batches": sum(w.resends for w in self.writers),
            "unacknowledged_batches": len(self.lost_batches),
        }


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds (nearest rank); zeros without samples."""
    if not samples:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))] * 1000, 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99)}


def run_load(
    bases: str | list[str],
    ingest_token: str,
    view_token: str,
    *,
    writers: int,
    readers: int,
    seconds: float,
    batch_size: int = 100,
) -> LoadReport:
    """Run the writer and reader threads for ``seconds`` and return what they saw (writers then finish
    the batch in hand, resending for up to 30 s more if a server is down)."""
    stop_at = time.monotonic() + seconds
    writer_logs = [ClientLog() for _ in range(writers)]
    reader_logs = [ClientLog() for _ in range(readers)]
    threads = [
        threading.Thread(target=writer, args=(bases, ingest_token, f"w{i}", stop_at, batch_size, log))
        for i, log in enumerate(writer_logs)
    ] + [
        threading.Thread(target=reader, args=(bases, view_token, f"r{i}", stop_at, log))
        for i, log in enumerate(reader_logs)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadReport(time.monotonic() - started, writer_logs, reader_logs)


@dataclass(frozen=True)
class ExactlyOnce:
    """The final check. ``ok`` needs: every acknowledged event stored exactly once, nothing else
    stored, each unacknowledged batch stored whole or not at all, and the page list's click total equal
    to the stored clicks."""

    sent: int
    stored: int
    missing: int
    duplicated: int
    unexpected: int
    partial_batches: int
    clicks_stored: int
    clicks_counted_by_api: int | None

    @property
    def ok(self) -> bool:
        return (
            self.missing == 0
            and self.duplicated == 0
            and self.unexpected == 0
            and self.partial_batches == 0
            and self.clicks_counted_by_api in (None, self.clicks_stored)
        )


def stored_event_ids(database_url: str) -> Counter[str]:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return Counter(conn.scalars(select(web_events.c.event_id)))
    finally:
        engine.dispose()


def api_click_total(base: str, view_token: str, day: date) -> int:
    """Sum of totalClicks over the whole pages list of ``day``, walked with cursors."""
    total, cursor = 0, None
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {view_token}"}, timeout=30) as client:
        while True:
            params = {"from": day.isoformat(), "to": day.isoformat(), "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            body = client.get("/rest/v1/heatmap-pages", params=params).raise_for_status().json()
            total += sum(entity["totalClicks"] for entity in body["entities"])
            if not body["pagination"]["hasMore"]:
                return total
            cursor = body["pagination"]["nextCursor"]


def check_exactly_once(
    database_url: str,
    acknowledged: list[list[dict[str, Any]]],
    unacknowledged: list[list[dict[str, Any]]] = (),  # type: ignore[assignment]
    *,
    api: tuple[str, str] | None = None,
) -> ExactlyOnce:
    """Compare the database (and, with ``api=(base, view_token)``, the page list) with what was sent."""
    stored = stored_event_ids(database_url)
    expected = {event["eventId"] for batch in acknowledged for event in batch}
    maybe = [{event["eventId"] for event in batch} for batch in unacknowledged]
    allowed = expected.union(*maybe)
    partial = sum(1 for ids in maybe if 0 < sum(1 for i in ids if i in stored) < len(ids))
    click_ids = {
        e["eventId"] for batch in [*acknowledged, *unacknowledged] for e in batch if e["type"] == "click"
    }
    clicks_stored = sum(1 for event_id in stored if event_id in click_ids)
    return ExactlyOnce(
        sent=len(expected),
        stored=sum(stored.values()),
        missing=sum(1 for event_id in expected if event_id not in stored),
        duplicated=sum(count - 1 for count in stored.values()),
        unexpected=sum(1 for event_id in stored if event_id not in allowed),
        partial_batches=partial,
        clicks_stored=clicks_stored,
        clicks_counted_by_api=api_click_total(api[0], api[1], load_day()) if api else None,
    )
