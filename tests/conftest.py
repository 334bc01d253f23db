"""Shared fixtures: an empty, migrated database per test on SQLite and (when reachable) PostgreSQL,
migrated once per worker (see `sqlite_template`).

PostgreSQL tests skip with a reason when no server answers, unless ``HEATMAPS_TEST_REQUIRE_PG=1``
(set by ``.ci/run``), in which case they fail instead of skipping. They create databases of their own
on that server, so the user of ``HEATMAPS_TEST_PG_URL`` needs the CREATEDB privilege.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, make_url, text

from data_layer.db import create_db_engine
from data_layer.migrate import upgrade
from data_layer.schema import metadata
from data_layer.settings import Settings, get_settings
from heatmaps_testing.browser import launched
from heatmaps_testing.loopback import REPO

PROTO_ROOT = REPO / "proto"
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
    """Marks the slow tests, so that `-m "not slow"` gives a quick run: live and browser tests, those
    over the demo site, and on PostgreSQL every case of a table of cases but the first. The quick run so
    checks each test's code path on both databases and every case on SQLite; CI runs every case on
    both."""
    on_postgres: set[str] = set()
    for item in items:
        live = item.get_closest_marker("live") or item.get_closest_marker("browser")
        if live or "demo_site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            test = item.nodeid.split("[", 1)[0]
            if test in on_postgres:
                item.add_marker(pytest.mark.slow)
            on_postgres.add(test)


_PG_REASON: str | bool | None = False  # False = not probed yet


def _pg_reason() -> str | None:
    global _PG_REASON
    if _PG_REASON is False:
        _PG_REASON = _pg_available()
    return _PG_REASON  # type: ignore[return-value]


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit engine on the server of ``PG_URL``, for creating and dropping databases."""
    reason = _pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(reason)
        pytest.skip(reason)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _create_database(admin: Engine) -> str:
    """A new, empty database on the test server; returns its URL. Names are random: other test runs may
    share the server."""
    name = f"heatmaps_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # Tests need no durability across a crash of the server: their commits need not wait for the disk.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    return _pg_url(name)


def _drop_database(admin: Engine, url: str) -> None:
    with admin.connect() as conn:
        # FORCE: a process or engine a test left running must not keep the database alive.
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@contextmanager
def _pg_database(admin: Engine) -> Iterator[str]:
    """URL of a new, empty database, dropped afterwards."""
    url = _create_database(admin)
    try:
        yield url
    finally:
        _drop_database(admin, url)


# Everything that makes up the tables of the current schema: columns, defaults, constraints, indexes.
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
    SELECT concat_ws(' ', c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod),
                     a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = current_schema()::regnamespace
    UNION ALL
    SELECT concat_ws(' ', conname, pg_get_constraintdef(oid)) FROM pg_constraint
    WHERE connamespace = current_schema()::regnamespace
    UNION ALL
    SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
) AS schema_items(item)
"""


class _PgMigrated:
    """A migrated PostgreSQL database, handed to each test as Alembic left it: no rows, sequences at 1.

    Emptied before each test; built anew when a test changed its schema (test_ingest_rows creates a
    table of its own, for one)."""

    def __init__(self, admin: Engine) -> None:
        self._admin = admin
        self._build()

    def _build(self) -> None:
        self.url = _create_database(self._admin)
        upgrade(self.url)
        self._engine = create_engine(self.url)
        with self._engine.connect() as conn:
            self._fingerprint = conn.scalar(text(_SCHEMA_FINGERPRINT))
            tables = list(
                conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                ).scalars()
            )
            seeded = [name for name in tables if conn.scalar(text(f'SELECT EXISTS (SELECT FROM "{name}")'))]
        assert not seeded, f"the migrations put rows in {seeded}: emptying the tables would lose them"
        dependents_first = [table.name for table in reversed(metadata.sorted_tables)]
        tables.sort(key=lambda name: dependents_first.index(name) if name in dependents_first else -1)
        self._empty = "; ".join(
            [
                # Sessions a test left behind (a killed process's, an engine not disposed) go first,
                # with any lock they hold.
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                *(f'DELETE FROM "{name}"' for name in tables),
                "SELECT setval(quote_ident(sequencename)::regclass, start_value, false) FROM pg_sequences"
                " WHERE schemaname = current_schema()",
            ]
        )

    def fresh(self) -> str:
        """URL of the database, emptied (or built anew if its schema changed)."""
        with self._engine.connect() as conn:
            changed = conn.scalar(text(_SCHEMA_FINGERPRINT)) != self._fingerprint
        if changed:
            self.drop()
            self._build()
        with self._engine.begin() as conn:
            conn.exec_driver_sql(self._empty)
        return self.url

    def drop(self) -> None:
        self._engine.dispose()
        _drop_database(self._admin, self.url)


# Migrating takes Alembic a tenth of a second on SQLite and a quarter on PostgreSQL, and most tests only
# need its result. So each xdist worker (each pytest process, so no lock between workers is needed)
# migrates one database per backend once, and every test starts from that state:
# - SQLite: a copy of the migrated file.
# - PostgreSQL: the worker's migrated database, emptied. A `CREATE DATABASE ... TEMPLATE` copy per test
#   would be a fresher start, but dropping a database forces a checkpoint of the whole server
#   (PostgreSQL 15), which once tests have written costs more than the migration it saves; emptying the
#   tables and restarting the sequences takes milliseconds.
# tests/operations/test_migrations.py still runs Alembic itself, on `empty_database_url`.
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy; pytest removes its directory with the old temporary ones."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    # Alembic's engine is disposed, so WAL was checkpointed into the file: the file alone is the schema.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_migrated(pg_admin: Engine) -> Iterator[_PgMigrated]:
    """The worker's migrated PostgreSQL database, dropped when the worker ends."""
    migrated = _PgMigrated(pg_admin)
    yield migrated
    migrated.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, migrated database that no other test uses meanwhile; per test and backend."""
    if request.param == "sqlite":
        path = tmp_path / "heatmaps.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield request.getfixturevalue("pg_migrated").fresh()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no tables at all, for tests that run the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _pg_database(request.getfixturevalue("pg_admin")) as url:
        yield url


def _test_environment(monkeypatch: pytest.MonkeyPatch, database_url: str, directory: Path) -> None:
    """Settings from the environment as tests use them: none of the caller's HEATMAPS_* settings (the
    test switches stay), the database at ``database_url``, a fixed secret, files under ``directory``."""
    for key in list(os.environ):
        if key.startswith("HEATMAPS_") and not key.startswith("HEATMAPS_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HEATMAPS_DATABASE_URL", database_url)
    monkeypatch.setenv("HEATMAPS_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("HEATMAPS_SCREENSHOT_DIR", str(directory / "screenshots"))
    monkeypatch.setenv("HEATMAPS_REPLICA_DIR", str(directory / "replica"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at the test database, with a fixed secret and a private screenshot dir."""
    _test_environment(monkeypatch, database_url, tmp_path)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


DEMO_END = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``heatmaps.db``, migrated and with the demo site loaded (3,000 web events over
    the 10 days ending DEMO_END, seed 5), and its ``screenshots/``. Built once per worker and copied by
    `demo_site`: loading takes seconds, most of them rendering the demo's screenshots."""
    from demo_site.loader import load_demo

    root = tmp_path_factory.mktemp("demo")
    shutil.copyfile(sqlite_template, root / "heatmaps.db")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _test_environment(monkeypatch, f"sqlite:///{root / 'heatmaps.db'}", root)
        demo_settings = Settings()
    engine = create_db_engine(demo_settings.database_url)
    try:
        load_demo(engine, demo_settings, events=3000, days=10, seed=5, end=DEMO_END)
    finally:
        engine.dispose()
    return root


@pytest.fixture
def demo_site(settings: Settings, sqlite_demo_template: Path) -> Settings:
    """The test's SQLite database and screenshot directory holding the demo site of
    `sqlite_demo_template`; returns the test's settings."""
    database = make_url(settings.database_url)
    assert database.get_backend_name() == "sqlite", "the demo site is copied into SQLite databases only"
    # SQLite's backup API, not a file copy: an engine may already have the test's database open.
    with (
        closing(sqlite3.connect(sqlite_demo_template / "heatmaps.db")) as source,
        closing(sqlite3.connect(database.database)) as target,  # type: ignore[arg-type]
    ):
        source.backup(target)
    shutil.copytree(sqlite_demo_template / "screenshots", settings.screenshot_dir, dirs_exist_ok=True)
    return settings


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """The system Chromium, shared by a module's browser tests (each opens its own contexts)."""
    with launched() as chromium:
        yield chromium
