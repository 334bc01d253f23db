"""Leases in SQL: one process among many holds a named lease, and another takes it over once the holder
stops renewing it (it died, or lost the database).

``heatmaps api --workers N`` runs N processes, and they may run on several machines over one
PostgreSQL: background work that must run once (the capture worker, CONTRACT 12) runs where the lease
is held. A lease is a row of ``app_meta`` (``lease:<name>`` → ``<holder> <expiry>``, the expiry in
seconds since 1970), written through the single write path, so holders never overlap as far as the
database's clocks agree: a holder renews well before its expiry and gives up work it can no longer
renew.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

from sqlalchemy import Connection, Engine, delete, insert, select, update

from data_layer.db import write_transaction
from data_layer.schema import app_meta


def holder_id() -> str:
    """A name for this process that no other process has: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _key(name: str) -> str:
    return f"lease:{name}"


def _current(conn: Connection, name: str) -> tuple[str, float] | None:
    value = conn.scalar(select(app_meta.c.value).where(app_meta.c.key == _key(name)))
    if value is None:
        return None
    holder, _, expiry = value.rpartition(" ")
    return holder, float(expiry)


def hold(engine: Engine, name: str, holder: str, seconds: float, *, now: float | None = None) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``seconds`` from ``now`` (default: the clock);
    False, changing nothing, while another holder's lease has not expired."""
    now = time.time() if now is None else now
    value = f"{holder} {now + seconds:.3f}"
    with write_transaction(engine) as conn:
        current = _current(conn, name)
        if current is None:
            conn.execute(insert(app_meta).values(key=_key(name), value=value))
            return True
        if current[0] != holder and current[1] > now:
            return False
        conn.execute(update(app_meta).where(app_meta.c.key == _key(name)).values(value=value))
    return True


def holder_of(engine: Engine, name: str, *, now: float | None = None) -> str | None:
    """Who holds lease ``name`` now; None when nobody does (never taken, released or expired)."""
    now = time.time() if now is None else now
    with engine.connect() as conn:
        current = _current(conn, name)
    return current[0] if current is not None and current[1] > now else None


def release(engine: Engine, name: str, holder: str) -> None:
    """Give lease ``name`` up if ``holder`` holds it, so another process takes over at once."""
    with write_transaction(engine) as conn:
        current = _current(conn, name)
        if current is not None and current[0] == holder:
            conn.execute(delete(app_meta).where(app_meta.c.key == _key(name)))
