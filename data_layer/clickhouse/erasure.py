"""Deleting ClickHouse rows on every shard, waited for: purge and forget reach the cluster (CONTRACT 16).

``ALTER TABLE ... DELETE`` is a mutation, applied in the background; ClickHouse 18.16 has no
``mutations_sync``, so the product polls ``system.mutations`` on each shard until its mutations are
done: the answers stop counting the rows before the command returns.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from data_layer.clickhouse import rollup
from data_layer.clickhouse.tables import (
    ROLLUPS,
    SESSION_KEY,
    SESSIONS,
    SPREAD,
    TOUCH,
    WEB,
    Table,
    create_all,
    local_name,
    read_name,
    shards,
)
from data_layer.clickhouse.target import ClickHouseTarget, answering

MUTATION_TIMEOUT_S = 300.0
_POLL_S = 0.05


def delete_where(
    target: ClickHouseTarget, table: Table, condition: str, params: Mapping[str, Any] | None = None
) -> None:
    """Delete the rows of ``table`` meeting ``condition`` (ClickHouse SQL over its columns, ``params``
    substituted by the driver) on every shard, and wait until every shard has applied it."""
    for shard in shards(target):
        with answering(target):
            client = target.client(shard.host, shard.port)
            client.execute(f"ALTER TABLE {local_name(target, table)} DELETE WHERE {condition}", params)
            wait_for_mutations(client, target.database, table.local)
            client.disconnect()


def wait_for_mutations(client: Any, database: str, table: str) -> None:
    deadline = time.monotonic() + MUTATION_TIMEOUT_S
    query = (
        "SELECT count() FROM system.mutations WHERE database = %(db)s AND table = %(table)s AND is_done = 0"
    )
    while client.execute(query, {"db": database, "table": table})[0][0]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"ClickHouse has not applied the deletion on {database}.{table} yet")
        time.sleep(_POLL_S)


def forget(target: ClickHouseTarget, visitor_id: str, engine: Engine) -> None:
    """A visitor's web events (by visitorId) and touch events (by user id), as SQL's forget, and the
    rollup's rows of the visitor's sessions (the only ones naming a visitor or a session); then the
    daily rollup's builds are voided (``engine``: the SQL database naming them), as one made while the
    deletion was under way may still count the visitor's clicks."""
    found = target.ask(
        f"SELECT DISTINCT session_id FROM {read_name(target, WEB)} WHERE visitor_id = %(visitor)s",
        {"visitor": visitor_id},
    )
    create_all(target, ROLLUPS)  # a cluster upgraded since its shipper last ran may lack a newer one
    params = {"visitor": visitor_id, "sessions": tuple(session for (session,) in found) or ("",)}
    delete_where(target, SESSIONS, "first_visitor = %(visitor)s OR session_id IN %(sessions)s", params)
    keyed = f"session_key IN (SELECT {SESSION_KEY} FROM system.one ARRAY JOIN %(ids)s AS session_id)"
    delete_where(target, SPREAD, keyed, {"ids": list(params["sessions"])})
    delete_where(target, WEB, "visitor_id = %(visitor)s", {"visitor": visitor_id})
    delete_where(target, TOUCH, "user_id = %(visitor)s", {"visitor": visitor_id})
    rollup.void(engine)


def purge_before(target: ClickHouseTarget, cutoff: Any, engine: Engine) -> None:
    """Events of days before ``cutoff`` (a date), as SQL's purge, and the rollup's rows of those days;
    the builds are voided as :func:`forget` does."""
    delete_where(target, WEB, "day < %(cutoff)s", {"cutoff": cutoff})
    delete_where(target, TOUCH, "day < %(cutoff)s", {"cutoff": cutoff})
    create_all(target, ROLLUPS)  # a cluster upgraded since its shipper last ran may lack a newer one
    for table in ROLLUPS:
        delete_where(target, table, "day < %(cutoff)s", {"cutoff": cutoff})
    rollup.void(engine)
