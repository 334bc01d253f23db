"""Shared fixtures: a fresh, migrated database per test on SQLite and (when reachable) PostgreSQL.

PostgreSQL tests skip with a reason when no server answers, unless ``HEATMAPS_TEST_REQUIRE_PG=1``
(set by ``.ci/run``), in which case they fail instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.settings import Settings, get_settings

PROTO_ROOT = Path(__file__).resolve().parent.parent / "proto"
PROTO_FILE = PROTO_ROOT / "heatmap" / "v1" / "heatmap.proto"
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


@pytest.fixture
def unlimited(api_app, settings: Settings) -> None:
    """Rate limits out of the way, for tests that send many requests (429 is tested on its own)."""
    api_app.state.ctx.settings = settings.model_copy(
        update={"rate_limit_query_per_minute": 1_000_000, "rate_limit_ingest_per_minute": 1_000_000}
    )


def protoc(out_dir: Path) -> subprocess.CompletedProcess[str]:
    """Compile proto/heatmap/v1/heatmap.proto into ``out_dir``; the test skips without grpcio-tools."""
    grpc_tools = pytest.importorskip("grpc_tools", reason="grpcio-tools is needed to compile the proto")
    # grpc_tools ships google/protobuf/*.proto (timestamp.proto among them) next to its package.
    well_known_protos = Path(grpc_tools.__file__).parent / "_proto"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known_protos}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(PROTO_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated heatmap_pb2 module, loaded without touching sys.path."""
    out_dir = tmp_path_factory.mktemp("proto_out")
    result = protoc(out_dir)
    assert result.returncode == 0, result.stderr
    generated = out_dir / "heatmap" / "v1" / "heatmap_pb2.py"
    spec = importlib.util.spec_from_file_location("heatmap_v1_heatmap_pb2", generated)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
