"""Ingestion's look-ups, run together (one pipeline on PostgreSQL) inside the write transaction, and the
binary COPY's column types, asked once per connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select
from sqlalchemy.exc import DBAPIError, OperationalError

from data_layer.db import (
    IN_LIST_CHUNK,
    bulk_insert,
    create_db_engine,
    fetch_together,
    in_list_queries,
    write_transaction,
)
from data_layer.errors import database_unavailable


def numbers_table(engine: Engine) -> Table:
    table = Table("numbers", MetaData(), Column("n", Integer, primary_key=True), Column("name", String(16)))
    table.create(engine)
    with write_transaction(engine) as conn:
        bulk_insert(conn, table, ("n", "name"), [[n, f"n{n}"] for n in range(2_000)])
    return table


def test_each_group_gets_its_own_queries_rows_in_order(engine: Engine) -> None:
    numbers_table(engine)
    dialect = engine.dialect
    wanted = [*range(0, 2_000, 3), 5_000]  # more than one IN list on SQLite; one value stored nowhere
    with write_transaction(engine) as conn:
        many, none, few, empty = fetch_together(
            conn,
            [
                in_list_queries(dialect, "SELECT n FROM numbers WHERE", "n", wanted),
                in_list_queries(dialect, "SELECT n, name FROM numbers WHERE n > 5000 AND", "n", [1, 2]),
                in_list_queries(dialect, "SELECT name, n FROM numbers WHERE", "name", ["n7", "n1999", "x"]),
                [],
            ],
        )
    assert sorted(many) == [(n,) for n in range(0, 2_000, 3)]
    assert none == [] and empty == []
    assert sorted(few) == [("n1999", 1999), ("n7", 7)]
    if dialect.name == "sqlite":
        assert len(in_list_queries(dialect, "SELECT n FROM numbers WHERE", "n", wanted)) == 2
        assert len(wanted) > IN_LIST_CHUNK


def test_look_ups_see_the_transactions_own_writes_and_an_error_fails_it_whole(engine: Engine) -> None:
    table = numbers_table(engine)
    with write_transaction(engine) as conn:
        bulk_insert(conn, table, ("n", "name"), [[9_000, "new"]])
        [[row]] = fetch_together(conn, [[("SELECT name FROM numbers WHERE n = 9000", ())]])
        assert row == ("new",)
    with pytest.raises(DBAPIError, match="no_such_column"), write_transaction(engine) as conn:
        bulk_insert(conn, table, ("n", "name"), [[9_001, "gone"]])
        fetch_together(conn, [[("SELECT n FROM numbers", ())], [("SELECT no_such_column FROM numbers", ())]])
    with engine.connect() as conn:
        assert conn.scalar(select(table.c.name).where(table.c.n == 9_001)) is None


def test_copy_asks_the_column_types_once_per_connection(engine: Engine) -> None:
    """PostgreSQL's binary COPY needs the server's types: asked at the first insert on a connection,
    kept with it for the next ones (which must still store what they are given)."""
    table = numbers_table(engine)
    for n in (10_000, 10_001):
        with write_transaction(engine) as conn:
            bulk_insert(conn, table, ("n", "name"), [[n, f"n{n}"]])
            cached = [
                key for key in conn.connection.info if isinstance(key, tuple) and key[0] == "copy_types"
            ]
            assert len(cached) == (1 if engine.dialect.name == "postgresql" else 0)
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.n >= 10_000).order_by(table.c.n)).all()
    assert [tuple(row) for row in rows] == [(10_000, "n10000"), (10_001, "n10001")]


@pytest.mark.postgres
def test_a_connection_lost_mid_pipeline_is_the_database_unavailable(pg_migrated: Any) -> None:
    """The pipeline runs on the driver's own connection: its errors still come as SQLAlchemy's, so a
    lost database is answered 503 (to be retried) rather than as a bug."""
    engine = create_db_engine(pg_migrated.fresh())
    try:
        with pytest.raises(OperationalError) as raised, write_transaction(engine) as conn:
            lost = ("SELECT pg_terminate_backend(pg_backend_pid())", ())
            fetch_together(conn, [[("SELECT 1", ())], [lost]])
        assert database_unavailable(raised.value)
        with engine.connect() as conn:  # the pool hands out a live connection again
            assert conn.scalar(select(1)) == 1
    finally:
        engine.dispose()
