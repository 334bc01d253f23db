"""Many concurrent POST /rest/v1/events against a live API of two processes (group commit in each):
invalid batches refused whole, duplicates across requests arriving together counted once, every
answer's counts adding up to what is stored. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from data_layer.db import create_db_engine
from data_layer.schema import web_events
from heatmaps_testing.loopback import ApiServer, make_tokens
from tests.factories import web_click, web_scroll

pytestmark = pytest.mark.live
THREADS, REQUESTS = 12, 15


def batch(thread: int, number: int) -> list[dict[str, Any]]:
    """Request ``number`` of ``thread``: every 5th has an invalid event, every 3rd re-sends the next
    thread's batch of the same number (sent by it at about the same time), each holds one id twice."""
    if number % 3 == 2:
        thread = (thread + 1) % THREADS
    session = f"s{thread}-{number // 5}"
    events = [web_click(eventId=f"{thread}-{number}-{k}", sessionId=session, x=10 * k) for k in range(4)]
    events += [web_scroll(eventId=f"{thread}-{number}-0", sessionId=session)]
    if number % 5 == 4:
        events = [{**event, "eventId": f"bad-{event['eventId']}"} for event in events]
        events[2] = {key: value for key, value in events[2].items() if key != "type"}
    return events


def test_concurrent_requests_count_exactly(database_url: str, tmp_path: Path) -> None:
    token = make_tokens(database_url)[0]
    with ApiServer(database_url, tmp_path, args=("--workers", "2")) as server:

        def send(thread: int) -> list[tuple[list[dict[str, Any]], httpx.Response]]:
            with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}) as client:
                sent = [batch(thread, number) for number in range(REQUESTS)]
                return [(events, client.post("/rest/v1/events", json={"events": events})) for events in sent]

        with ThreadPoolExecutor(THREADS) as pool:
            exchanges = [item for items in pool.map(send, range(THREADS)) for item in items]
        log = server.log_text()
    engine = create_db_engine(database_url)
    with engine.connect() as conn:
        stored = Counter(conn.scalars(select(web_events.c.event_id)))
    engine.dispose()

    refused = [events for events, response in exchanges if response.status_code == 400]
    accepted = [(events, response.json()) for events, response in exchanges if response.status_code == 200]
    assert len(refused) + len(accepted) == len(exchanges)
    assert len(refused) == THREADS * (REQUESTS // 5)
    assert not any(event_id.startswith("bad-") for event_id in stored), "a refused batch stores nothing"
    assert set(stored.values()) == {1}
    assert set(stored) == {event["eventId"] for events, _ in accepted for event in events}
    assert all(answer["ingested"] + answer["duplicates"] == len(events) for events, answer in accepted)
    assert sum(answer["ingested"] for _, answer in accepted) == len(stored)
    assert "Traceback" not in log
