"""Per-application collaborators: settings, engine, store, service (built once, shared by requests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine

from data_layer.auth import secret_key
from data_layer.capture.worker import CaptureWorker
from data_layer.db import create_db_engine
from data_layer.replica import ReplicaStore
from data_layer.service import HeatmapService
from data_layer.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    store: ReplicaStore
    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    _service: HeatmapService | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _capture_worker: CaptureWorker | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        engine = create_db_engine(settings.database_url, settings)
        return cls(settings=settings, engine=engine, store=ReplicaStore(engine, settings.replica_dir))

    @property
    def service(self) -> HeatmapService:
        """Built on first use: the secret key may have to be read from (or stored in) the database."""
        with self._lock:
            if self._service is None:
                key = secret_key(self.engine, self.settings.secret_key)
                self._service = HeatmapService(self.store, self.settings, key)
            return self._service

    def start_capture_worker(self) -> None:
        """Captures run only where some origin is allowed: elsewhere nothing could be captured."""
        if self.settings.allowed_capture_origins and self._capture_worker is None:
            self._capture_worker = CaptureWorker(self.engine, self.settings, self.store)
            self._capture_worker.start()

    def stop_capture_worker(self) -> None:
        if self._capture_worker is not None:
            self._capture_worker.stop()
            self._capture_worker = None

    def wake_capture_worker(self) -> None:
        if self._capture_worker is not None:
            self._capture_worker.wake()

    def rate_item(self, kind: str) -> RateLimitItemPerMinute:
        per_minute = (
            self.settings.rate_limit_ingest_per_minute
            if kind == "ingest"
            else self.settings.rate_limit_query_per_minute
        )
        return RateLimitItemPerMinute(per_minute)
