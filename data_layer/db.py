"""Engines and the single write path.

SQLite runs in WAL mode with a busy timeout; every write goes through :func:`write_transaction`, which
serialises writers of this process with a lock and opens ``BEGIN IMMEDIATE`` so a read lock is never
upgraded mid-transaction (the cause of ``database is locked`` under concurrency). On PostgreSQL the
same function takes a transaction-scoped advisory lock, which also makes sequence numbers commit in
order: a reader that catches up ``WHERE seq > last_seen`` never skips a row committed late.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache, partial
from itertools import islice, repeat
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Float,
    Table,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.exc import DBAPIError

from data_layer.settings import Settings, get_settings
from data_layer.wal_checkpoint import WRITER_CHECKPOINT_PAGES, request_checkpoint

SQLITE_BUSY_TIMEOUT_MS = 30_000
IN_LIST_CHUNK = 500
"""Values per ``IN (...)`` list on SQLite, well below its bound on parameters per statement."""
# Any constant shared by all writers of one database; the value itself means nothing.
_PG_WRITE_LOCK_KEY = 0x4EA7_3A95
# Unanswered keepalive probes before Linux drops a silent connection (tcp_user_timeout caps it as well).
_PG_KEEPALIVES_COUNT = 3

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")  # see write_transaction
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("heatmaps_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_connect_args(url: URL, settings: Settings) -> dict[str, Any]:
    """libpq options that bound every wait on the server, so no request hangs on a lost database.

    ``connect_timeout`` bounds connecting; keepalives and ``tcp_user_timeout`` make the kernel drop a
    connection whose peer went silent (a partition: no reset ever arrives), which fails the statement
    waiting on it; ``statement_timeout`` makes the server cancel a statement stuck on locks or load.
    Every failure surfaces as an ``OperationalError``, which the API answers with 503.
    """
    options = f"-c statement_timeout={settings.database_statement_timeout_ms}"
    if isinstance(url_options := url.query.get("options"), str):
        options = f"{options} {url_options}"  # connect_args replace the URL's options; its own -c win
    return {
        "connect_timeout": settings.database_connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": settings.database_keepalives_idle_s,
        "keepalives_interval": settings.database_keepalives_interval_s,
        "keepalives_count": _PG_KEEPALIVES_COUNT,
        "tcp_user_timeout": settings.database_tcp_user_timeout_ms,
        "options": options,
        # Server-side prepared statements get generic plans that scan the whole table for the IN lists of
        # ingestion while the table grows faster than autovacuum analyses it; plan every query afresh.
        "prepare_threshold": None,
    }


def create_db_engine(url: str, settings: Settings | None = None) -> Engine:
    """A new engine for ``url``; SQLite files get their directory created.

    PostgreSQL connections take their timeouts from ``settings`` (default: the process settings).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    connect_args = (
        _postgres_connect_args(parsed, settings or get_settings())
        if parsed.get_backend_name() == "postgresql"
        else {}
    )
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (API, CLI and dashboard share it)."""
    return create_db_engine(url)


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; None for other databases and in-memory SQLite."""
    return _database_file(engine.url.database) if is_sqlite(engine) else None


@lru_cache(maxsize=64)
def _database_file(name: str | None) -> Path | None:
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().resolve()


def _write_lock(engine: Engine) -> threading.Lock:
    key = engine.url.render_as_string(hide_password=False)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """The one way to write: a serialised transaction, committed on success, rolled back on error.

    On a SQLite file, the log is checkpointed afterwards by a thread of its own
    (:mod:`data_layer.wal_checkpoint`), not by the committing writer.
    """
    with _write_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(heatmaps_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_WRITE_LOCK_KEY})
            yield conn
    database = _sqlite_file(engine)
    if database is not None:
        request_checkpoint(database)


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise the errors of the driver's own connection, used directly, as SQLAlchemy would raise them
    for a statement it ran (``OperationalError`` for a lost or unreachable database, and so on): the
    API tells an unavailable database (503, retried by clients) from a bug by those classes."""
    dialect = conn.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        base = dialect.loaded_dbapi.Error
        raise DBAPIError.instance(
            statement, None, exc, base, connection_invalidated=lost, dialect=dialect
        ) from exc


Query = tuple[str, Sequence[Any]]
"""Plain driver SQL in the dialect's parameter style, and its parameters."""


def in_list_queries(dialect: Dialect, select: str, column: str, values: Sequence[Any]) -> list[Query]:
    """``{select} {column}`` among ``values`` (``select`` ends with its WHERE or AND): on PostgreSQL one
    query taking them as one array (parsed and planned once, where an IN list would be as many
    parameters), elsewhere IN lists of at most :data:`IN_LIST_CHUNK`; none when ``values`` is empty."""
    if not values:
        return []
    if dialect.name == "postgresql":
        return [(f"{select} {column} = ANY(%s)", (list(values),))]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    queries: list[Query] = []
    for start in range(0, len(values), IN_LIST_CHUNK):
        chunk = tuple(values[start : start + IN_LIST_CHUNK])
        queries.append((f"{select} {column} IN ({', '.join([mark] * len(chunk))})", chunk))
    return queries


def fetch_together(conn: Connection, groups: Sequence[Sequence[Query]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each group of queries (a group's queries' rows one after the other), in the caller's
    transaction; queries run in order.

    On PostgreSQL every query goes in one pipeline: the server runs them one after the other and the
    answers come back together, in one round trip where one by one each would wait for the last.
    Ingestion's look-ups run while its transaction holds the write lock, and under load each round trip
    cost the other writers 0.3-1 ms (the wait, then the GIL taken back from the event loop's thread:
    docs/performance.md).
    """
    flat = [query for group in groups for query in group]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        cursors = [raw.cursor() for _ in flat]  # type: ignore[union-attr]
        try:
            with driver_errors(conn, "; ".join(sql for sql, _ in flat)), raw.pipeline():  # type: ignore[union-attr]
                for cursor, (sql, params) in zip(cursors, flat, strict=True):
                    cursor.execute(sql, params)
            answers = [cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    else:
        answers = [conn.exec_driver_sql(sql, tuple(params)).fetchall() for sql, params in flat]
    answered = iter(answers)
    return [[tuple(row) for rows in islice(answered, len(group)) for row in rows] for group in groups]


def bulk_insert(conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows (values of the columns ``names``, in that order) fast in the caller's transaction.

    SQLAlchemy's per-row parameter processing dominates ingestion time, so rows go to the driver
    directly: COPY on PostgreSQL, ``executemany`` on SQLite, where values are converted as SQLAlchemy
    would store them (:func:`_sqlite_processor`).
    """
    if not rows:
        return
    columns = [table.c[name] for name in names]
    values: Sequence[Sequence[Any]] = rows
    dialect = conn.dialect
    if dialect.name == "postgresql":
        quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with driver_errors(conn, f"COPY {table.name}"), cursor:
            types = _copy_types(conn, cursor, table, quoted)
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in values:
                    copy.write_row(row)
        return
    by_column: list[Sequence[Any]] = list(zip(*values, strict=True))
    for index, column in enumerate(columns):
        if (convert := _sqlite_converter(column, dialect)) is not None:
            by_column[index] = convert(by_column[index])
    values = list(zip(*by_column, strict=True))  # tuples: SQLAlchemy takes no other sequences
    placeholders = ", ".join("?" for _ in names)
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})"
    conn.exec_driver_sql(statement, values)


def _copy_types(conn: Connection, cursor: Any, table: Table, quoted: str) -> list[int]:
    """The server's types of ``table``'s columns ``quoted``, which binary COPY needs.

    Binary COPY spares formatting every value as text here and parsing it on the server (several times
    faster). The types come from a query planned to read nothing ("LIMIT 0" can still set up a scan of
    the whole table), asked once per database connection: asked per insert, it was one more round trip
    inside the write lock. Migrations run before the API serves, so a connection's answer holds.
    """
    key = ("copy_types", table.name, quoted)
    types: list[int] | None = conn.connection.info.get(key)
    if types is None:
        cursor.execute(f"SELECT {quoted} FROM {table.name} WHERE false")
        types = conn.connection.info[key] = [column.type_code for column in cursor.description]
    return types


def _sqlite_converter(column: Column[Any], dialect: Dialect) -> Callable[[Sequence[Any]], list[Any]] | None:
    """How a column's values go to SQLite, converted a column at a time (through the driver each value
    would cost a Python call of its own); None when they go as they are.

    Dates and times become ISO text, as the sqlite3 driver's default adapters make them. Floats go as
    they are: a FLOAT column's affinity stores an integer as a real, so SQLAlchemy's processor changes
    nothing stored. Booleans keep theirs (to 0 and 1): the driver binds only exact integers directly and
    looks for an adapter for every ``bool``, which costs more than the conversion.
    """
    if isinstance(column.type, Float):
        return None
    if isinstance(column.type, DateTime):
        return _times_as_text
    process = date.isoformat if isinstance(column.type, Date) else column.type.bind_processor(dialect)
    return partial(_each_distinct, process) if process else None


def _times_as_text(values: Sequence[Any]) -> list[Any]:
    """Times as ``datetime.isoformat(" ")`` text, None kept; nearly every time differs, so one by one."""
    if None in values:
        return [None if value is None else datetime.isoformat(value, " ") for value in values]
    return list(map(datetime.isoformat, values, repeat(" ")))


def _each_distinct(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``values`` through a bind processor, None kept as is. Each distinct value is converted once (the
    processors are Python functions; a flag column repeats two values); equal values convert alike."""
    converted = {value: process(value) for value in set(values) if value is not None}
    converted[None] = None
    return [converted[value] for value in values]
