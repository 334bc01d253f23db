"""No request waits on PostgreSQL without bound: every connection carries the timeouts of the settings,
and a statement the server cancels (statement_timeout) is answered 503 in the error shape, quickly.

A network partition in the middle of a query (packets dropped, no reset) cannot be staged on loopback
without root: a user-space proxy that stops forwarding still has its kernel acknowledge data and
keepalive probes. So the test checks the kernel options that detect it (keepalives, TCP_USER_TIMEOUT)
on the driver's real socket; the kernel enforces them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from api.app import create_app
from data_layer.auth import Permission, create_token
from data_layer.db import create_db_engine
from data_layer.settings import Settings, get_settings
from tests.conftest import bearer
from tests.factories import web_click

postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
TIMEOUTS = {
    "database_connect_timeout_s": 3,
    "database_keepalives_idle_s": 7,
    "database_keepalives_interval_s": 2,
    "database_tcp_user_timeout_ms": 4000,
    "database_statement_timeout_ms": 500,
}


@pytest.fixture
def timed_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The test settings with short timeouts (the API's engine reads them from the environment)."""
    for name, value in TIMEOUTS.items():
        monkeypatch.setenv(f"HEATMAPS_{name.upper()}", str(value))
    get_settings.cache_clear()
    yield get_settings()


@postgres_only
def test_connections_carry_the_timeouts_and_keep_the_url_options(timed_settings: Settings) -> None:
    # A URL that sets options of its own (search_path here): the statement timeout is added to them.
    url = (
        make_url(timed_settings.database_url)
        .update_query_dict({"options": "-csearch_path=heatmaps_elsewhere,public"})
        .render_as_string(hide_password=False)
    )
    engine = create_db_engine(url, timed_settings)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "500ms"
            assert conn.exec_driver_sql("SHOW search_path").scalar() == "heatmaps_elsewhere,public"
            driver = conn.connection.dbapi_connection
            assert driver.info.get_parameters()["connect_timeout"] == "3"  # type: ignore[union-attr]
            with socket.socket(fileno=socket.dup(driver.pgconn.socket)) as sock:  # type: ignore[union-attr]
                options = {
                    "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    "idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    "interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                    "count": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                    "user_timeout": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                }
        assert options == {"keepalive": 1, "idle": 7, "interval": 2, "count": 3, "user_timeout": 4000}
    finally:
        engine.dispose()


@postgres_only
def test_statement_timeout_answers_503_quickly(timed_settings: Settings, engine) -> None:
    app = create_app(timed_settings)
    day = "2026-03-02"
    click = web_click(timestamp=f"{day}T10:00:00Z")
    specs = {
        "ingest": ("POST", "/rest/v1/events", {"json": {"events": [click]}}),
        "pages": ("GET", "/rest/v1/heatmap-pages", {"params": {"from": day, "to": day}}),
        "query": ("POST", "/heatmap.v1.HeatmapService/QueryHeatmapData", {"json": {"screenName": "home"}}),
    }
    try:
        with TestClient(app) as client:
            token = create_token(engine, "u", frozenset(Permission))[1]
            # Another session holds the events table: every statement touching it waits on the lock.
            with engine.connect() as blocker, blocker.begin():
                blocker.exec_driver_sql("LOCK TABLE web_events, touch_events IN ACCESS EXCLUSIVE MODE")
                for name, (method, url, kwargs) in specs.items():
                    started = time.monotonic()
                    response = client.request(method, url, headers=bearer(token), **kwargs)
                    elapsed = time.monotonic() - started
                    assert response.status_code == 503, (name, response.status_code, response.text)
                    assert response.headers["retry-after"] == "5", name
                    body = response.json()
                    assert set(body) in ({"error", "details"}, {"code", "message"}), body
                    assert elapsed < 3, (name, elapsed)
            # The lock released, the same requests succeed without a restart.
            for name, (method, url, kwargs) in specs.items():
                response = client.request(method, url, headers=bearer(token), **kwargs)
                assert response.status_code == 200, (name, response.text)
    finally:
        app.state.ctx.engine.dispose()
