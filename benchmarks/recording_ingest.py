"""Session recordings on the server: chunks ingested per second (service layer and HTTP, on SQLite and
PostgreSQL), and how long a 10-minute recording takes to open in the Session replay view. Prints figures.

    .venv/bin/python -m benchmarks.recording_ingest                        # everything, 3 runs a path
    .venv/bin/python -m benchmarks.recording_ingest --paths service-sqlite http-sqlite --runs 5
    .venv/bin/python -m benchmarks.recording_ingest --paths view --runs 5 --moving

The recording is a demo one: a made-up 10-minute desktop visit (1440 x 900) of the demo shop's 8 busiest
pages, 75 s each, a click or a scroll every 2 to 4 s, turned into rrweb events by the demo's recording
generator (:func:`demo_site.recordings.session_events`: each page's Meta and FullSnapshot as the recorder
serialises it, text masked; mouse moves towards each click sampled every 50 ms and sent every 500 ms;
scrolls every 150 ms; mouse down, up and click), and cut as tracker/record.js sends it: a page's snapshot
alone, then a chunk every 5 s. ``--moving`` adds a pointer that moves all the time (a batch of mouse
positions every 500 ms, as rrweb sends them while the mouse moves), which makes the 5 s chunks about
four times as large. Each ingestion run stores ``--sessions`` copies of it under other session
ids into a fresh database, chunk by chunk with each session's seq in order.

- **service layer**: :func:`data_layer.recordings.validate_chunk` and
  :func:`~data_layer.recordings.store_chunk` per chunk, the chunk's JSON already parsed (what the upload
  route does after reading, inflating and parsing the body); one thread.
- **HTTP**: ``heatmaps api`` as a process, ``--clients`` threads each posting its sessions' chunks one
  after the other, gzipped as the browser sends them (bodies compressed before the clock starts), with an
  ingest token in the header; the figure is chunks stored per second of wall time, all clients together.
  The clients run on the same machine as the server.

PostgreSQL runs into a scratch database created for the run and dropped afterwards
(``HEATMAPS_BENCH_PG_ADMIN_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``: where
it is created from). Skipped with a line when that server does not answer.

- **view**: the recording (and its web events, for the timeline's markers) in a SQLite database;
  ``heatmaps dashboard`` over it; the Session replay view opened by a replay link in a fresh tab of headless
  Chromium with a browser profile, timed until the view is fully rendered (Streamlit's run over, the
  metrics drawn) and the player has rebuilt the recorded page in its replay frame. The first load warms
  the server and the browser; the figure is the median of ``--runs`` loads after it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, make_url, text

from benchmarks.dashboard_render import RENDERED_JS, dashboard_server, load_seconds, open_browser
from data_layer.db import create_db_engine
from data_layer.ingest import ingest_web_batch
from data_layer.migrate import upgrade
from data_layer.recordings import MIB, store_chunk, validate_chunk
from data_layer.settings import Settings
from demo_site.catalog import demo_page_keys
from demo_site.page_html import page_html
from demo_site.recordings import DemoRecording, session_events, web_events_of
from heatmaps_testing.loopback import ApiServer, make_tokens

PG_ADMIN_URL = os.environ.get(
    "HEATMAPS_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PATHS = ("service-sqlite", "service-pg", "http-sqlite", "http-pg", "view")
LABELS = {
    "service-sqlite": "service layer -> SQLite:     ",
    "service-pg": "service layer -> PostgreSQL: ",
    "http-sqlite": "HTTP -> SQLite:              ",
    "http-pg": "HTTP -> PostgreSQL:          ",
}
CHUNK_MS = 5_000  # tracker/record.js sends a chunk every 5 s
PAGES = 8
PAGE_MS = 75_000  # 8 pages of 75 s: a 10-minute visit
VIEWPORT = (1440, 900)
MAX_BYTES = 20 * MIB  # HEATMAPS_RECORDING_MAX_MB's default
BATCH = 500
META, INCREMENTAL, MOUSE_MOVE = 4, 3, 1  # rrweb's event types and the pointer's source
# The player has rebuilt the recorded page: its replay frame's document has a body with elements.
PLAYER_DRAWN_JS = (
    """
(selectors) => {
    if (!("""
    + RENDERED_JS.strip()
    + """)(selectors)) return false;
    const frame = document.querySelector('.recording-player .replayer-wrapper iframe');
    const body = frame && frame.contentDocument && frame.contentDocument.body;
    return !!(body && body.childElementCount > 0);
}
"""
)
VIEW_READY = ['[data-testid="stMetric"]', ".recording-player .rr-player"]


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def visit(session_id: str, visitor_id: str, start: datetime, seed: int = 7) -> list[dict[str, Any]]:
    """The web events (CONTRACT 3.1) of a 10-minute desktop visit of the demo's busiest pages."""
    rng = random.Random(seed)
    width, height = VIEWPORT
    events: list[dict[str, Any]] = []
    for index, page_key in enumerate(demo_page_keys()[:PAGES]):
        html = page_html(page_key, "desktop")
        assert html is not None
        document_height = html.layout.height
        base = {
            "sessionId": session_id,
            "visitorId": visitor_id,
            "url": page_key,
            "viewportWidth": width,
            "viewportHeight": height,
            "documentWidth": width,
            "documentHeight": document_height,
        }
        at, end, depth = index * PAGE_MS + rng.randint(1500, 3000), (index + 1) * PAGE_MS - 1000, 0.0
        while at < end:
            moment = _timestamp(start + timedelta(milliseconds=at))
            common = {**base, "eventId": f"{session_id}-{len(events)}", "timestamp": moment}
            if rng.random() < 0.3:
                depth = min(100.0, depth + rng.uniform(5, 25))
                first_screen = min(100.0, 100 * height / document_height)
                events.append({**common, "type": "scroll", "depth": round(max(depth, first_screen), 1)})
            else:
                x, y = rng.uniform(20, width - 20), rng.uniform(20, min(document_height, 3 * height))
                events.append({**common, "type": "click", "x": round(x, 1), "y": round(y, 1)})
            at += rng.randint(2000, 4000)
    return events


def recording_chunks(web: list[dict[str, Any]], *, moving: bool = False) -> list[dict[str, Any]]:
    """The upload bodies of the visit's recording, cut as the recorder sends them; ``moving`` adds
    :func:`pointer_moves`."""
    rows = web_events_of(web)
    events = session_events(rows)
    if moving:
        events = sorted([*events, *pointer_moves(events)], key=lambda event: event["timestamp"])
    return DemoRecording(rows[0].session_id, rows[0].visitor_id, events).chunks(CHUNK_MS)


def pointer_moves(events: list[dict[str, Any]], seed: int = 11) -> list[dict[str, Any]]:
    """Mouse moves all the time, not only towards clicks: every 500 ms a batch of 10 positions sampled
    every 50 ms (as rrweb sends a moving pointer's), wandering over each page's viewport."""
    rng = random.Random(seed)
    metas = [event for event in events if event["type"] == META]
    ends = [meta["timestamp"] for meta in metas[1:]] + [events[-1]["timestamp"]]
    moves: list[dict[str, Any]] = []
    for meta, end in zip(metas, ends, strict=True):
        html = page_html(meta["data"]["href"], "desktop")
        assert html is not None
        x, y = meta["data"]["width"] / 2, meta["data"]["height"] / 2
        for sent in range(meta["timestamp"] + 500, end, 500):
            positions = []
            for offset in range(-450, 1, 50):
                x = min(meta["data"]["width"] - 1, max(0, x + rng.uniform(-30, 30)))
                y = min(meta["data"]["height"] - 1, max(0, y + rng.uniform(-20, 20)))
                positions.append({"x": round(x), "y": round(y), "id": html.body_id, "timeOffset": offset})
            data = {"source": MOUSE_MOVE, "positions": positions}
            moves.append({"type": INCREMENTAL, "data": data, "timestamp": sent})
    return moves


def copies(chunks: list[dict[str, Any]], sessions: int) -> list[dict[str, Any]]:
    """``sessions`` copies of a session's chunks under other ids, interleaved as concurrent visitors send
    them (every session's chunk 0, then every chunk 1, ...)."""
    return [
        {**chunk, "sessionId": f"bench-session-{number}", "visitorId": f"bench-visitor-{number}"}
        for chunk in chunks
        for number in range(sessions)
    ]


def service_layer(url: str, bodies: list[dict[str, Any]]) -> float:
    """Chunks/s through validate_chunk and store_chunk into the database at ``url``."""
    upgrade(url)
    engine = create_db_engine(url)
    try:
        started = time.perf_counter()
        stored = sum(store_chunk(engine, validate_chunk(body), MAX_BYTES) for body in bodies)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    assert stored == len(bodies), (stored, len(bodies))
    return stored / elapsed


def http(url: str, bodies: list[dict[str, Any]], clients: int, workdir: Path) -> float:
    """Chunks/s posted by ``clients`` concurrent clients, gzipped, to an API process over ``url``."""
    upgrade(url)
    ingest, _ = make_tokens(url)
    sessions = sorted({body["sessionId"] for body in bodies})
    share = {session: number % clients for number, session in enumerate(sessions)}
    work: list[list[bytes]] = [[] for _ in range(clients)]
    for body in bodies:
        work[share[body["sessionId"]]].append(gzip.compress(json.dumps(body).encode(), 6))
    headers = {
        "Authorization": f"Bearer {ingest}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    stored = [0] * clients
    start = threading.Barrier(clients + 1)

    def post_all(number: int, base: str) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            start.wait()
            for content in work[number]:
                answer = client.post("/rest/v1/recordings", content=content)
                answer.raise_for_status()
                stored[number] += answer.json()["stored"]

    workdir.mkdir(parents=True, exist_ok=True)
    with ApiServer(url, workdir) as server:
        threads = [threading.Thread(target=post_all, args=(n, server.base)) for n in range(clients)]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    assert sum(stored) == len(bodies), (sum(stored), len(bodies))
    return len(bodies) / elapsed


@contextmanager
def scratch_postgres() -> Iterator[str | None]:
    """The URL of a PostgreSQL database created for the run and dropped afterwards; None (and a line
    saying so) when the server does not answer."""
    name = f"bench_recordings_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure means "not available here"
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        admin.dispose()
        yield None
        return
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def ingest_rates(
    path: str, bodies: list[dict[str, Any]], runs: int, clients: int, tmp: Path
) -> tuple[float, ...] | None:
    """Chunks/s of each run of ``path``, each into a fresh database; None when PostgreSQL is missing."""
    rates: list[float] = []
    for run in range(runs):
        with scratch_postgres() if path.endswith("pg") else _sqlite(tmp / f"{path}-{run}.db") as url:
            if url is None:
                return None
            if path.startswith("service"):
                rates.append(service_layer(url, bodies))
            else:
                rates.append(http(url, bodies, clients, tmp / f"{path}-{run}"))
    return tuple(rates)


@contextmanager
def _sqlite(path: Path) -> Iterator[str]:
    yield f"sqlite:///{path}"


def view_seconds(
    web: list[dict[str, Any]], chunks: list[dict[str, Any]], runs: int, tmp: Path
) -> list[float]:
    """Seconds until the Session replay view shows the recording: the warm-up load, then ``runs`` more."""
    db = tmp / "view.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = create_db_engine(url)
    try:
        settings = Settings(_env_file=None, database_url=url)
        for first in range(0, len(web), BATCH):
            ingest_web_batch(engine, settings, web[first : first + BATCH])
        for chunk in chunks:
            store_chunk(engine, validate_chunk(chunk), MAX_BYTES)
    finally:
        engine.dispose()
    link = {
        "sessionId": web[0]["sessionId"],
        "visitorId": web[0]["visitorId"],
        "date": web[0]["timestamp"][:10],
    }
    with dashboard_server(db, tmp / "replica", tmp / "dashboard.log") as base, sync_playwright() as pw:
        context = open_browser(pw, tmp / "profile", private=False)
        address = f"{base}/session?{urlencode(link)}"
        times = [load_seconds(context, address, VIEW_READY, PLAYER_DRAWN_JS) for _ in range(runs + 1)]
        context.close()
    return times


def _spread(values: tuple[float, ...] | list[float], unit: str, scale: float = 1) -> str:
    middle = statistics.median(values) * scale
    if len(values) == 1:
        return f"{middle:10,.0f} {unit}"
    return f"{middle:10,.0f} {unit}  (runs: {min(values) * scale:,.0f} .. {max(values) * scale:,.0f})"


def describe(chunks: list[dict[str, Any]]) -> None:
    """The recording's size: chunks, events, JSON and gzip bytes (snapshot chunks and the 5 s ones)."""
    span = (chunks[-1]["events"][-1]["timestamp"] - chunks[0]["events"][0]["timestamp"]) / 1000
    json_bytes = sum(len(json.dumps(chunk["events"])) for chunk in chunks)
    print(f"recording: {span:.0f} s, {len(chunks)} chunks, {json_bytes / MIB:.2f} MiB of events' JSON")
    snapshots = [chunk for chunk in chunks if chunk["events"][0]["type"] == META]
    timed = [chunk for chunk in chunks if chunk["events"][0]["type"] != META]
    for name, group in (("snapshot chunks", snapshots), ("chunks of 5 s", timed)):
        size = statistics.median(len(json.dumps(chunk["events"])) for chunk in group) / 1024
        sent = statistics.median(len(gzip.compress(json.dumps(chunk).encode(), 6)) for chunk in group) / 1024
        events = statistics.median(len(chunk["events"]) for chunk in group)
        print(
            f"  {len(group)} {name}, medians: {size:.1f} KiB JSON, {sent:.1f} KiB gzipped, "
            f"{events:.0f} events"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--runs", type=int, default=3, help="runs per ingestion path; loads of the view")
    parser.add_argument("--sessions", type=int, default=20, help="sessions stored per ingestion run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument(
        "--moving", action="store_true", help="a pointer moving all the time (pointer_moves): larger chunks"
    )
    args = parser.parse_args()
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    web = visit("bench-view-session", "bench-view-visitor", start)
    chunks = recording_chunks(web, moving=args.moving)
    describe(chunks)
    bodies = copies(chunks, args.sessions)
    if set(args.paths) - {"view"}:
        print(f"ingestion: {len(bodies):,} chunks of {args.sessions} sessions a run, median of {args.runs}")
    with tempfile.TemporaryDirectory(prefix="recording-ingest-") as scratch:
        for path in args.paths:
            if path == "view":
                continue
            rates = ingest_rates(path, bodies, args.runs, args.clients, Path(scratch))
            if rates is not None:
                clients = f" ({args.clients} clients)" if path.startswith("http") else ""
                print(f"{LABELS[path]}{_spread(rates, 'chunks/s')}{clients}")
        if "view" in args.paths:
            times = view_seconds(web, chunks, args.runs, Path(scratch))
            print(f"Session replay view, 10-minute recording, warm-up load: {times[0] * 1000:,.0f} ms")
            print(f"Session replay view, warm, median of {args.runs}:  {_spread(times[1:], 'ms', 1000)}")


if __name__ == "__main__":
    main()
