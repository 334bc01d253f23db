"""Tokens trusted for HEATMAPS_TOKEN_CACHE_S seconds after a look-up: a revoked token stops working
within that bound, a new one works at once, unknown ones are never kept."""

from __future__ import annotations

import time

import pytest

from data_layer.auth import create_token, revoke_token
from data_layer.token_cache import TokenCache
from tests.conftest import bearer
from tests.factories import web_click


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ingest(client, token: str) -> int:
    return client.post("/rest/v1/events", json={"events": [web_click()]}, headers=bearer(token)).status_code


def test_a_revoked_token_works_until_its_entry_expires(client, api_app, unlimited) -> None:
    ctx = api_app.state.ctx
    clock = Clock()
    ctx.tokens = TokenCache(ctx.engine, ttl_s=5, clock=clock)
    token_id, token = create_token(ctx.engine, "site")
    assert ingest(client, token) == 200
    revoke_token(ctx.engine, token_id)
    clock.now += 4.9
    assert ingest(client, token) == 200, "trusted for HEATMAPS_TOKEN_CACHE_S after its look-up"
    clock.now += 0.2
    assert ingest(client, token) == 401


def test_a_new_token_works_at_once_and_unknown_ones_are_not_kept(engine) -> None:
    cache = TokenCache(engine, ttl_s=60, clock=Clock())
    assert cache.principal("hm_not-yet") is None
    _, token = create_token(engine, "later")
    assert cache.principal(token) is not None
    assert cache.principal("hm_unknown") is None
    assert len(cache._entries) == 1


def test_no_cache_with_zero_seconds(engine) -> None:
    cache = TokenCache(engine, ttl_s=0)
    token_id, token = create_token(engine, "u")
    assert cache.principal(token) is not None
    revoke_token(engine, token_id)
    assert cache.principal(token) is None


@pytest.mark.parametrize("workers, expected", [(None, 10), (1, 10), (3, 4), (4, 3)])
def test_rate_limits_are_divided_among_api_processes(api_app, settings, workers, expected) -> None:
    ctx = api_app.state.ctx
    ctx.settings = settings.model_copy(update={"rate_limit_ingest_per_minute": 10, "api_workers": workers})
    assert ctx.rate_item("ingest").amount == expected


def test_a_revoked_token_stops_ingesting_within_the_setting(client, api_app, unlimited) -> None:
    """Real time: with HEATMAPS_TOKEN_CACHE_S=0.5, ingestion with a revoked token ends within 0.5 s."""
    ctx = api_app.state.ctx
    ctx.tokens = TokenCache(ctx.engine, ttl_s=0.5)
    token_id, token = create_token(ctx.engine, "site")
    assert ingest(client, token) == 200
    revoke_token(ctx.engine, token_id)
    revoked = time.monotonic()
    while True:
        sent = time.monotonic()
        if ingest(client, token) != 200:
            break
        assert sent - revoked < 0.5, "still ingesting past the bound"
    assert ingest(client, token) == 401
