"""Tracker-shaped load: many connections, each sending small batches, and the exact count check.

A run sends keyed batches: a key is (owner connection, number), and a batch is a pure function of its
key and the run, so a re-send is the original's bytes. Each connection sends its own batches in turn,
every ``resend_every``-th request its previous batch again, and every ``cross_every``-th request the
next connection's batch of the same number, which that connection sends about then too (duplicates
arriving together). ``benchmarks/wrk/*.lua`` send the same keys from wrk (the bodies are built there,
in Lua); :func:`run_python_client` is the fallback without wrk and what tests run. :func:`check` then
compares the database with the answers: every id of an acknowledged batch stored once, nothing stored
twice or in part, and the ``ingested`` (or ``stored``) counts the server reported adding up to what it
stored, as if the requests had come one at a time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from data_layer.db import create_db_engine
from data_layer.schema import recording_chunks, web_events

Kind = Literal["events", "recordings"]
PATHS: dict[Kind, str] = {"events": "/rest/v1/events", "recordings": "/rest/v1/recordings"}
EVENTS_PER_BATCH = 5
CHUNKS_PER_SESSION = 20
BATCH_EVERY_MS, CYCLE = 5_000, 3_600
"""A connection's batch N is stamped N * 5 s after its first (N modulo 3,600: at most 5 hours)."""
BASE_AGO_MS = 5 * 3_600_000 + 600_000
"""How long before now a run's first batch is stamped, so that no timestamp is ever in the future."""
Key = tuple[int, int]
"""(owner connection, batch number)."""


def units(kind: Kind, run: str, key: Key) -> list[str]:
    """What the batch of ``key`` stores, as comparable strings: its event ids, or its chunk's
    ``sessionId:seq``."""
    owner, number = key
    if kind == "events":
        return [f"{run}-{owner}-{number}-{k}" for k in range(EVENTS_PER_BATCH)]
    return [f"{run}-s{owner}-{number // CHUNKS_PER_SESSION}:{number % CHUNKS_PER_SESSION}"]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def events_body(run: str, base_ms: int, key: Key) -> bytes:
    """The batch of ``key`` as ``benchmarks/wrk/events.lua`` builds it: 4 clicks and a scroll."""
    owner, number = key
    width = (390, 820, 1280)[owner % 3]
    burst = number % 20 == 0
    spread, step = (0, 150) if burst else (211, 1100)
    events = []
    for k in range(EVENTS_PER_BATCH):
        event = {
            "eventId": f"{run}-{owner}-{number}-{k}",
            "timestamp": _iso(base_ms + (number % CYCLE) * BATCH_EVERY_MS + k * step),
            "sessionId": f"{run}-s{owner}-{number // 10}",
            "visitorId": f"{run}-v{owner}-{number // 30}",
            "url": f"https://load.example/p{(owner * 7 + number // 10) % 40}",
            "viewportWidth": width,
            "viewportHeight": 800,
            "documentWidth": width,
            "documentHeight": 4000,
        }
        if k == EVENTS_PER_BATCH - 1:
            event.update(type="scroll", depth=(number * 13) % 101)
        else:
            x, y = (number * 37 + k * spread) % width, (number * 53 + k * spread * 3) % 4000
            event.update(type="click", x=x, y=y)
        events.append(event)
    return json.dumps({"events": events}, separators=(",", ":")).encode()


def recording_body(run: str, base_ms: int, key: Key) -> bytes:
    """The chunk of ``key`` as ``benchmarks/wrk/recordings.lua`` builds it: 12 mouse-move events."""
    owner, number = key
    start = base_ms + (number % CYCLE) * BATCH_EVERY_MS
    events = [
        {
            "type": 3,
            "data": {
                "source": 1,
                "positions": [
                    {
                        "x": (number * 31 + k * 17 + p * 5) % 1280,
                        "y": (number * 7 + k * 29 + p * 3) % 800,
                        "id": 12 + p,
                        "timeOffset": -p * 40,
                    }
                    for p in range(10)
                ],
            },
            "timestamp": start + k * 400,
        }
        for k in range(12)
    ]
    chunk = {
        "sessionId": f"{run}-s{owner}-{number // CHUNKS_PER_SESSION}",
        "visitorId": f"{run}-v{owner}",
        "url": f"https://load.example/p{owner % 40}",
        "seq": number % CHUNKS_PER_SESSION,
        "events": events,
    }
    return json.dumps(chunk, separators=(",", ":")).encode()


BODIES: dict[Kind, Callable[[str, int, Key], bytes]] = {"events": events_body, "recordings": recording_body}


@dataclass(frozen=True)
class Answer:
    key: Key
    status: int
    new: int
    """Events the answer says it stored (``ingested``), or 1 for a chunk stored (``stored: true``)."""
    duplicate: int


@dataclass
class RunRecord:
    """What a client saw: every answer with its key, every key issued, the keys on the wire when the
    run ended (answered never: stored whole or not at all), and the timing figures."""

    seconds: float
    requests: int = 0
    """Requests answered (any status)."""
    answers: list[Answer] = field(default_factory=list)
    issued: list[Key] = field(default_factory=list)
    open: list[Key] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    socket_errors: int = 0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)


def _key(text: str) -> Key:
    owner, number = text.split(".")
    return int(owner), int(number)


def parse_wrk_output(path: Path) -> RunRecord:
    """The file ``benchmarks/wrk/report.lua`` (and ``harness.lua``) write when wrk ends."""
    record = RunRecord(seconds=0.0)
    for line in path.read_text().splitlines():
        word, *rest = line.split()
        if word == "summary":
            duration_us, requests, *errors = map(int, rest)
            record.seconds, record.requests = duration_us / 1e6, requests
            connect, read, write, _status, timeout = errors
            record.socket_errors = connect + read + write + timeout
        elif word == "latency_us":
            p50, p90, p99, top = (int(value) / 1000 for value in rest)
            record.latency_ms = {"p50": p50, "p90": p90, "p99": p99, "max": top}
        elif word == "answered":
            key, status, new, duplicate = rest
            record.answers.append(
                Answer(
                    _key(key),
                    int(status),
                    int(new) if new.isdigit() else 0,
                    int(duplicate) if duplicate.isdigit() else 0,
                )
            )
        elif word == "issued":
            record.issued.append(_key(rest[0]))
        elif word == "open":
            record.open.append(_key(rest[0]))
    return record


def next_key(
    owner: int, sent: int, originals: int, connections: int, resend_every: int, cross_every: int
) -> tuple[Key, int]:
    """The key of a connection's ``sent``-th request (from 1) and its originals count afterwards: the
    same choice as ``harness.lua`` makes."""
    if resend_every > 0 and originals > 0 and sent % resend_every == 0:
        return (owner, originals - 1), originals
    if cross_every > 0 and connections > 1 and sent % cross_every == 1:
        return ((owner + 1) % connections, originals), originals
    return (owner, originals), originals + 1


async def _connection(
    base: tuple[str, int],
    kind: Kind,
    owner: int,
    shape: LoadShape,
    deadline: float,
    record: RunRecord,
    latencies: list[float],
) -> None:
    """One keep-alive connection sending its keyed batches until ``deadline`` (monotonic)."""
    reader, writer = await asyncio.open_connection(*base)
    head = (
        f"POST {PATHS[kind]} HTTP/1.1\r\nHost: {base[0]}:{base[1]}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {shape.token}\r\n"
    ).encode()
    sent = originals = 0
    try:
        while time.monotonic() < deadline:
            sent += 1
            key, originals = next_key(
                owner, sent, originals, shape.connections, shape.resend_every, shape.cross_every
            )
            record.issued.append(key)
            body = BODIES[kind](shape.run, shape.base_ms, key)
            started = time.perf_counter()
            writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            try:
                status, answer = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                record.open.append(key)
                record.socket_errors += 1
                return
            latencies.append(time.perf_counter() - started)
            record.requests += 1
            record.answers.append(Answer(key, status, *_counts(kind, answer)))
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response with a Content-Length (every answer of these routes)."""
    status_line = await reader.readuntil(b"\r\n")
    length = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


def _counts(kind: Kind, body: bytes) -> tuple[int, int]:
    try:
        answer = json.loads(body)
    except ValueError:
        return 0, 0
    if kind == "events":
        return int(answer.get("ingested", 0)), int(answer.get("duplicates", 0))
    stored = answer.get("stored")
    return int(stored is True), int(stored is False)


@dataclass(frozen=True)
class LoadShape:
    """What a run sends: ``connections`` keep-alive connections, each batch keyed (see the module's
    docstring); ``run`` prefixes every id; ``base_ms`` is the first event's time (ms since 1970, at
    least :data:`BASE_AGO_MS` ago)."""

    token: str
    connections: int
    run: str
    base_ms: int
    resend_every: int = 10
    cross_every: int = 7


def run_python_client(base: str, kind: Kind, shape: LoadShape, seconds: float) -> RunRecord:
    """The load from Python (asyncio, one task per connection): for tests, and for the benchmark where
    wrk is missing (this client then shares the CPU with the server, so its figures are lower)."""
    host, _, port = base.removeprefix("http://").partition(":")
    record = RunRecord(seconds=seconds)
    latencies: list[float] = []

    async def main() -> None:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(
                _connection((host, int(port)), kind, owner, shape, deadline, record, latencies)
                for owner in range(shape.connections)
            )
        )
        record.seconds = time.monotonic() - started

    asyncio.run(main())
    record.latency_ms = percentiles_ms(latencies)
    return record


def run_python_gets(base: str, path: str, connections: int, seconds: float) -> RunRecord:
    """Plain GETs of ``path`` from Python over ``connections`` keep-alive connections."""
    host, _, port = base.removeprefix("http://").partition(":")
    record = RunRecord(seconds=seconds)
    latencies: list[float] = []
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    async def connection(deadline: float) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                writer.write(request)
                await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                record.requests += 1
        finally:
            writer.close()

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(connection(deadline) for _ in range(connections)))

    asyncio.run(main())
    record.latency_ms = percentiles_ms(latencies)
    return record


def percentiles_ms(samples: list[float]) -> dict[str, float]:
    """p50, p90, p99 and the maximum of latencies in seconds, in ms (nearest rank); zeros without any."""
    if not samples:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))] * 1000, 1)

    return {"p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "max": round(ordered[-1] * 1000, 1)}


@dataclass(frozen=True)
class Verdict:
    """The exact count check of one run; ``ok`` when every figure but the first three is 0."""

    sent: int
    """Distinct events (chunks) in the requests answered 200."""
    stored: int
    """Rows of the run in the database."""
    reported_new: int
    """Sum of what the 200 answers reported as newly stored (``ingested``, or ``stored: true``)."""
    lost: int
    """Events of a batch answered 200 that are not stored."""
    double_counted: int
    """Rows beyond one per event, plus events reported as new by more than one answer."""
    miscounted: int
    """Stored events of answered batches that no answer reported as new."""
    partial: int
    """Batches stored in part."""
    unexpected: int
    """Stored events of no batch answered 200 or left on the wire at the end."""

    @property
    def ok(self) -> bool:
        return not (self.lost or self.double_counted or self.miscounted or self.partial or self.unexpected)


def stored_units(database_url: str, kind: Kind, run: str) -> Counter[str]:
    """The run's stored units (see :func:`units`) with how many times each is stored."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            if kind == "events":
                ids = conn.scalars(
                    select(web_events.c.event_id).where(web_events.c.event_id.like(f"{run}-%"))
                )
                return Counter(ids)
            table = recording_chunks.c
            rows = conn.execute(select(table.session_id, table.seq).where(table.session_id.like(f"{run}-%")))
            return Counter(f"{session}:{seq}" for session, seq in rows)
    finally:
        engine.dispose()


def check(database_url: str, kind: Kind, run: str, record: RunRecord) -> Verdict:
    """Compare the database with what the client saw (see :class:`Verdict`).

    Requests still on the wire when the run ended (and wrk's first, unsent request) have no answer:
    each may have stored its batch whole or not at all, and may have been first with a batch that
    another request of the same key was answered for with duplicates; only those leave room in the
    counts, so with none the reported counts must equal the stored ones exactly.
    """
    stored = stored_units(database_url, kind, run)
    of = partial(units, kind, run)
    acknowledged = {answer.key for answer in record.answers if answer.status == 200}
    # Requests never answered: on the wire at the end, or (wrk) the script's check, never sent.
    in_flight = set(record.open) | (set(record.issued) - {answer.key for answer in record.answers})
    sent = {unit for key in acknowledged for unit in of(key)}
    allowed = sent | {unit for key in in_flight for unit in of(key)}
    reported = sum(answer.new for answer in record.answers if answer.status == 200)
    stored_sent = sum(1 for unit in sent if unit in stored)
    # units a request without an answer may have stored before an answered one of the same key came
    slack = sum(1 for key in in_flight & acknowledged for unit in of(key) if unit in stored)
    return Verdict(
        sent=len(sent),
        stored=sum(stored.values()),
        reported_new=reported,
        lost=len(sent) - stored_sent,
        double_counted=sum(count - 1 for count in stored.values()) + max(0, reported - stored_sent),
        miscounted=max(0, stored_sent - slack - reported),
        partial=sum(1 for key in set(record.issued) if 0 < sum(u in stored for u in of(key)) < len(of(key))),
        unexpected=sum(1 for unit in stored if unit not in allowed),
    )
