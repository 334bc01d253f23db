"""Shared fixtures: a fresh, migrated database per test on SQLite and (when reachable) PostgreSQL.

PostgreSQL tests skip with a reason when no server answers, unless ``HEATMAPS_TEST_REQUIRE_PG=1``
(set by ``.ci/run``), in which case they fail instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.settings import Settings, get_settings

PG_URL = os.environ.get("HEATMAPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("HEATMAPS_TEST_REQUIRE_PG") == "1"

# Property tests check results, never time: a loaded machine must not fail them (speed is measured by
# the benchmarks).
hypothesis_settings.register_profile("heatmaps", deadline=None)
hypothesis_settings.load_profile("heatmaps")


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as exc:  # any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Live and browser tests are the slow ones: marked so, `-m "not slow"` gives a quick run."""
    for item in items:
        if item.get_closest_marker("live") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


_PG_REASON: str | bool | None = False  # False = not probed yet


def _pg_reason() -> str | None:
    global _PG_REASON
    if _PG_REASON is False:
        _PG_REASON = _pg_available()
    return _PG_REASON  # type: ignore[return-value]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, migrated database; one per test and backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'heatmaps.db'}"
        upgrade(url)
        yield url
        return
    reason = _pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at the test database, with a fixed secret and a private screenshot dir."""
    for key in list(os.environ):
        if key.startswith("HEATMAPS_") and not key.startswith("HEATMAPS_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEATMAPS_DATABASE_URL", database_url)
    monkeypatch.setenv("HEATMAPS_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("HEATMAPS_SCREENSHOT_DIR", str(tmp_path / "screenshots"))
    monkeypatch.setenv("HEATMAPS_REPLICA_DIR", str(tmp_path / "replica"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A private engine on the test database, disposed after the test."""
    eng = create_db_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def api_app(settings: Settings):
    from api.app import create_app

    app = create_app(settings)
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture
def client(api_app) -> Iterator[TestClient]:
    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture
def tokens(api_app) -> dict[str, str]:
    """One token per role: ingest (no permission), view, manage, admin, all."""
    from data_layer.auth import Permission, create_token

    engine = api_app.state.ctx.engine
    roles = {
        "ingest": frozenset(),
        "view": frozenset({Permission.VIEW_HEATMAPS}),
        "manage": frozenset({Permission.MANAGE_HEATMAPS}),
        "admin": frozenset({Permission.ADMIN}),
        "all": frozenset(Permission),
    }
    return {role: create_token(engine, f"user-{role}", perms)[1] for role, perms in roles.items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
