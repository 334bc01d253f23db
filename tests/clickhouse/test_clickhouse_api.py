"""The API with ``HEATMAPS_CLICKHOUSE_URL`` set answers exactly as the embedded path over the same SQL
database (pages list, summaries, sessions, mobile QueryHeatmapData), its shipper makes an accepted event
visible within 5 s, and a shard down is a 503 and an unhealthy /healthz until it returns."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.replica import ReplicaStore
from data_layer.store import SqlStore
from heatmaps_testing.dataset import generate
from tests.clickhouse.conftest import url_of
from tests.clickhouse.test_clickhouse_store import SCRIPT
from tests.conftest import bearer
from tests.factories import touch
from tests.replica.test_replica import END

SERVICE = "/heatmap.v1.HeatmapService"
WINDOW = {"from": "2026-10-20", "to": "2026-10-31"}


@pytest.fixture
def clickhouse_client(settings, clickhouse_target, tokens, unlimited) -> Iterator[TestClient]:
    """The API reading ClickHouse (its shipper running) over the same database as ``client``."""
    on = settings.model_copy(
        update={
            "clickhouse_url": SecretStr(url_of(clickhouse_target)),
            "rate_limit_query_per_minute": 1_000_000,
            "rate_limit_ingest_per_minute": 1_000_000,
        }
    )
    app = create_app(on)
    assert isinstance(app.state.ctx.store, ClickHouseStore), "no replica with ClickHouse set"
    with TestClient(app) as test_client:
        yield test_client
    app.state.ctx.engine.dispose()


def _shipped(client: TestClient, timeout: float = 5.0) -> float:
    """Seconds until ClickHouse holds every web event in SQL (fails after ``timeout``)."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    started = time.monotonic()
    while ctx.store.last_seq() != SqlStore(ctx.engine).last_seq():
        assert time.monotonic() - started < timeout, "an accepted event is visible within 5 s"
        time.sleep(0.05)
    return time.monotonic() - started


def _answers(client: TestClient, token: str) -> dict[str, Any]:
    headers = bearer(token)
    pages = client.get("/rest/v1/heatmap-pages", params={**WINDOW, "limit": 100}, headers=headers)
    assert pages.status_code == 200, pages.text
    result: dict[str, Any] = {"pages": pages.json()}
    for params in (
        {"country": "us"},
        {"browser": "chrome", "sortBy": "RAGE_CLICKS"},
        {"utmSource": "google"},
    ):
        result[str(params)] = client.get(
            "/rest/v1/heatmap-pages", params={**WINDOW, **params}, headers=headers
        ).json()
    for entity in result["pages"]["entities"][:3]:
        for breakpoint in ("desktop", "mobile"):
            params = {**WINDOW, "pageKey": entity["pageKey"], "breakpoint": breakpoint}
            result[f"{entity['pageKey']} {breakpoint}"] = client.get(
                "/rest/v1/heatmap-pages/summary", params=params, headers=headers
            ).json()
    result["sessions"] = client.get(
        "/rest/v1/sessions", params={**WINDOW, "limit": 50}, headers=headers
    ).json()
    body = {"screenName": "home_feed", "aggregation": "PER_USER"}
    result["touch"] = client.post(f"{SERVICE}/QueryHeatmapData", json=body, headers=headers).json()
    return result


def test_the_api_answers_as_the_embedded_path(client, clickhouse_client, tokens) -> None:
    events = list(generate(events=1500, days=10, seed=7, end=END))
    for start in range(0, len(events), 500):
        sent = clickhouse_client.post(
            "/rest/v1/events", json={"events": events[start : start + 500]}, headers=bearer(tokens["ingest"])
        )
        assert sent.status_code == 200, sent.text
    touches = {"events": [touch(x=0.1 * i) for i in range(1, 6)]}
    assert clickhouse_client.post(
        f"{SERVICE}/IngestTouchEvents", json=touches, headers=bearer(tokens["ingest"])
    )
    _shipped(clickhouse_client)
    time.sleep(1.5)  # the touch stream is shipped in the same round, just after the web one
    ours = _answers(clickhouse_client, tokens["view"])
    assert ours["pages"]["entities"] and ours["sessions"]["entities"] and ours["touch"]["dataPoints"]
    assert ours == _answers(client, tokens["view"])
    assert isinstance(client.app.state.ctx.store, ReplicaStore)  # type: ignore[attr-defined]


def test_a_shard_down_is_a_503_and_healthz_says_so(cluster_alone, clickhouse_client, tokens) -> None:
    events = list(generate(events=300, days=5, seed=9, end=END))
    ingest = bearer(tokens["ingest"])
    assert clickhouse_client.post("/rest/v1/events", json={"events": events[:200]}, headers=ingest).is_success
    _shipped(clickhouse_client)
    subprocess.run([str(SCRIPT), "stop-shard", str(cluster_alone), "1"], check=True)
    try:
        health = clickhouse_client.get("/healthz")
        assert health.status_code == 503 and "ClickHouse" in health.json()["details"]
        pages = clickhouse_client.get("/rest/v1/heatmap-pages", params=WINDOW, headers=bearer(tokens["view"]))
        assert pages.status_code == 503 and pages.json()["error"] == "unavailable"
        assert "ClickHouse" in pages.json()["details"] and "heatmaps-local" not in pages.text
        # Ingestion goes on into SQL; the events reach ClickHouse once the shard is back.
        late = clickhouse_client.post("/rest/v1/events", json={"events": events[200:]}, headers=ingest)
        assert late.status_code == 200
    finally:
        subprocess.run([str(SCRIPT), "start", str(cluster_alone)], check=True)
    _shipped(clickhouse_client, timeout=30)
    assert clickhouse_client.get("/healthz").status_code == 200
    ctx = clickhouse_client.app.state.ctx  # type: ignore[attr-defined]
    counted = ctx.store.web_events(END.date().replace(day=1), END.date(), columns=["seq"]).height
    assert (
        counted
        == SqlStore(ctx.engine).web_events(END.date().replace(day=1), END.date(), columns=["seq"]).height
    )
