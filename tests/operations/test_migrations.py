"""Migrations create exactly the Core metadata on SQLite and PostgreSQL (no drift), and the databases
the other tests get (copies of a template migrated once per worker) are that schema too."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, select

from data_layer.db import create_db_engine
from data_layer.migrate import alembic_config, upgrade
from data_layer.schema import clickhouse_days, metadata


def schema_drift(engine: Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrating_an_empty_database_creates_exactly_the_metadata(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)  # at head already: a no-op, as every command (which migrates first) relies on
    engine = create_db_engine(empty_database_url)
    try:
        assert schema_drift(engine) == []
        head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
        assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_a_tests_database_is_the_migrated_schema(engine: Engine) -> None:
    assert schema_drift(engine) == []
    assert current_revision(engine) is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


@pytest.mark.parametrize("named_at", ["0010", "0011"])
def test_builds_named_before_a_rollup_table_are_voided(empty_database_url: str, named_at: str) -> None:
    """0011 and 0012: the daily rollup's builds made before ``web_daily_dimensions`` (then the summary's
    tables) have none of their rows, so no day may be read from them (a filtered list or a summary would
    count nothing): they are built again."""
    upgrade(empty_database_url, named_at)
    engine = create_db_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(clickhouse_days).values(
                    day=date(2026, 11, 1), shipped_seq=5, changed_at=datetime(2026, 11, 2), build=7,
                    rolled_seq=5, rolled_generation="g",
                )
            )  # fmt: skip
        upgrade(empty_database_url)
        with engine.connect() as conn:
            row = conn.execute(select(clickhouse_days)).one()
        assert (row.rolled_seq, row.rolled_generation, row.shipped_seq) == (None, None, 5)
    finally:
        engine.dispose()
