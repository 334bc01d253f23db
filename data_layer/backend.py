"""The one composition root: settings → engine → store → service, for the API and the dashboard.

The store is the columnar replica of the SQL events, or, with ``HEATMAPS_CLICKHOUSE_URL`` set, the
ClickHouse cluster (CONTRACT 16): then no replica is built, so a reader's memory does not grow with the
events.

Both faces read through the same objects built the same way, so they cannot drift apart in how they
open the database or which store answers; each adds only what is its own (the API its rate limiter and
capture worker, the dashboard its caching and sign-in).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Self

from sqlalchemy import Engine

from data_layer.auth import secret_key
from data_layer.clickhouse.store import ClickHouseStore
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.db import create_db_engine
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings
from data_layer.store import EventStore


@dataclass
class Backend:
    """What a process needs to answer queries; one per process and configuration, shared by requests."""

    settings: Settings
    engine: Engine
    store: EventStore
    clickhouse: ClickHouseTarget | None = None
    _service: HeatmapService | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Opens no connection: the database may not exist or be migrated yet when this runs."""
        engine = create_db_engine(settings.database_url, settings)
        target = settings.clickhouse_target()
        if target is not None:
            return cls(
                settings=settings, engine=engine, store=ClickHouseStore(target, engine), clickhouse=target
            )
        return cls(settings=settings, engine=engine, store=ReplicaStore(engine, settings.replica_dir))

    @property
    def service(self) -> HeatmapService:
        """Built on first use: the secret key may have to be read from (or stored in) the database."""
        with self._lock:
            if self._service is None:
                key = secret_key(self.engine, self.settings.secret_key)
                self._service = HeatmapService(self.store, self.settings, key)
            return self._service

    @property
    def key(self) -> str:
        """Identity of the database for result caches (the URL without its password)."""
        return self.engine.url.render_as_string(hide_password=True)
