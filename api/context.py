"""The API's collaborators: the shared backend plus what only the API has (rate limits, capture worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from data_layer.backend import Backend
from data_layer.capture.worker import CaptureWorker


@dataclass
class AppContext(Backend):
    """Built once per application (:meth:`Backend.from_settings`) and shared by its requests."""

    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    _capture_worker: CaptureWorker | None = None

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
