"""Where the ClickHouse events live: the ``HEATMAPS_CLICKHOUSE_URL`` setting parsed, and clients to it.

``clickhouse://[user[:password]@]host[:port]/database[?cluster=NAME]`` (CONTRACT 16), native protocol,
port 9000 by default. The password is held as a :class:`~pydantic.SecretStr` and every text this module
makes of a target (repr, :meth:`ClickHouseTarget.redacted`, error details) leaves it out: the URL ends
up in logs and error messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from clickhouse_driver import Client
from clickhouse_driver import errors as driver_errors
from pydantic import SecretStr

from data_layer.errors import BadRequest, Unavailable

DEFAULT_PORT = 9000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONNECT_TIMEOUT_S = 3
QUERY_SETTINGS = {"skip_unavailable_shards": 0}
"""Never answer from the shards that happen to be up: partial numbers would look whole."""


@dataclass(frozen=True)
class ClickHouseTarget:
    """A parsed ``HEATMAPS_CLICKHOUSE_URL``. ``cluster`` None: one server holds the events."""

    host: str
    port: int
    database: str
    user: str = "default"
    password: SecretStr = field(default=SecretStr(""), repr=False)
    cluster: str | None = None

    @classmethod
    def parse(cls, url: str) -> ClickHouseTarget:
        """The target of ``url``; :class:`~data_layer.errors.BadRequest` (naming no password) when it is
        not of the documented form."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise BadRequest("HEATMAPS_CLICKHOUSE_URL has an invalid port") from None
        if parts.scheme != "clickhouse" or not parts.hostname:
            raise BadRequest(
                "HEATMAPS_CLICKHOUSE_URL must look like clickhouse://[user[:password]@]host[:port]/database"
                "[?cluster=NAME]"
            )
        database = parts.path.strip("/")
        cluster = parse_qs(parts.query).get("cluster", [None])[0]
        for what, name in (("database", database), ("cluster", cluster)):
            if name is not None and not _NAME.fullmatch(name):
                raise BadRequest(
                    f"HEATMAPS_CLICKHOUSE_URL: the {what} must be a plain name (letters, digits, _)"
                )
        return cls(
            host=parts.hostname,
            port=port,
            database=database,
            user=unquote(parts.username) if parts.username else "default",
            password=SecretStr(unquote(parts.password) if parts.password else ""),
            cluster=cluster,
        )

    def redacted(self) -> str:
        """The URL without its password: what logs, errors and status print."""
        cluster = f"?cluster={self.cluster}" if self.cluster else ""
        secret = ":***" if self.password.get_secret_value() else ""
        return f"clickhouse://{self.user}{secret}@{self.host}:{self.port}/{self.database}{cluster}"

    def client(self, host: str | None = None, port: int | None = None) -> Client:
        """A client of one server (the URL's own by default), as the URL's user, in no database (the
        queries name theirs: the database may not exist yet)."""
        return Client(
            host or self.host,
            port=port or self.port,
            user=self.user,
            password=self.password.get_secret_value(),
            connect_timeout=CONNECT_TIMEOUT_S,
            send_receive_timeout=300,
            settings=QUERY_SETTINGS,
        )

    def ask(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        """The rows of one query on the URL's server, on a client opened for it and closed after (an
        occasional query, outside a store's clients); :class:`Unavailable` while ClickHouse cannot
        answer."""
        with answering(self):
            client = self.client()
            try:
                return list(client.execute(query, params))
            finally:
                client.disconnect()


UNREACHABLE = (
    driver_errors.NetworkError,
    driver_errors.SocketTimeoutError,
    driver_errors.UnexpectedPacketFromServerError,
    EOFError,
    OSError,
)
"""Driver errors that mean a server cannot answer now, not that a query is wrong."""
_SHARD_DOWN_CODES = {
    210,  # NETWORK_ERROR (a shard a Distributed query needs is down)
    209,  # SOCKET_TIMEOUT
    279,  # ALL_CONNECTION_TRIES_FAILED
    159,  # TIMEOUT_EXCEEDED
    394,  # QUERY_WAS_CANCELLED
}


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means ClickHouse (a server or a shard behind it) cannot answer now."""
    if isinstance(exc, UNREACHABLE):
        return True
    return isinstance(exc, driver_errors.ServerException) and exc.code in _SHARD_DOWN_CODES


_UNEXPECTED_PACKET_FROM_CLIENT = 101


def is_stale_peer(exc: BaseException) -> bool:
    """True when a shard refused the connection another shard's Distributed table took from its pool
    for it: ClickHouse 18.16 can pool a connection left mid-stream (a remote read cut short, a shard
    restarted), and its peer answers the next query on it with code 101. The failed connection is
    dropped; the same query sent again gets another."""
    return isinstance(exc, driver_errors.ServerException) and exc.code == _UNEXPECTED_PACKET_FROM_CLIENT


@contextmanager
def answering(target: ClickHouseTarget) -> Iterator[None]:
    """Turns a ClickHouse that cannot answer into the product's 503 naming ClickHouse (never the
    password, never the driver's text, which may quote the URL)."""
    try:
        yield
    except Exception as exc:
        if is_unreachable(exc):
            raise Unavailable(
                f"ClickHouse ({target.host}:{target.port}, database {target.database}) or one of its shards "
                "is unavailable; retry in a few seconds"
            ) from None
        raise
