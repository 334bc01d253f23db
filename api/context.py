"""The API's collaborators: the shared backend plus what only the API has (token cache, rate limits,
group commit of ingested batches and recording chunks, the capture worker, the ClickHouse shipper)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from data_layer import group_commit
from data_layer.backend import Backend
from data_layer.capture.leader import CaptureLeader
from data_layer.clickhouse.leader import ShipperLeader
from data_layer.group_commit import GroupCommit
from data_layer.ingest import IngestResult
from data_layer.recordings import MIB, RecordingChunk, StoredChunk
from data_layer.token_cache import TokenCache


@dataclass
class AppContext(Backend):
    """Built once per application (:meth:`Backend.from_settings`) and shared by its requests."""

    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    _captures: CaptureLeader | None = None
    shipper: ShipperLeader | None = None

    @cached_property
    def tokens(self) -> TokenCache:
        return TokenCache(self.engine, self.settings.token_cache_s)

    @cached_property
    def web_events(self) -> GroupCommit[list[list[Any]], IngestResult]:
        """Where ingested web event batches are written, together with those arriving at the same time."""
        return group_commit.web_batches(self.engine, self.settings)

    @cached_property
    def recording_chunks(self) -> GroupCommit[RecordingChunk, StoredChunk]:
        """Where uploaded recording chunks are written, together with those arriving at the same time."""
        return group_commit.recording_chunks(self.engine, self.settings.recording_max_mb * MIB)

    def start_capture_worker(self) -> None:
        """Captures run only where some origin is allowed (elsewhere nothing could be captured), and in
        one process of those serving the database: the holder of the capture lease."""
        if self.settings.allowed_capture_origins and self._captures is None:
            self._captures = CaptureLeader(self.engine, self.settings, self.store)
            self._captures.start()

    def stop_capture_worker(self) -> None:
        if self._captures is not None:
            self._captures.stop()
            self._captures = None

    def start_clickhouse_shipper(self) -> None:
        """With ClickHouse set, this process ships events there while it holds the shipper lease."""
        if self.clickhouse is not None and self.shipper is None:
            self.shipper = ShipperLeader(self.engine, self.settings, self.clickhouse)
            self.shipper.start()

    def stop_clickhouse_shipper(self) -> None:
        if self.shipper is not None:
            self.shipper.stop()
            self.shipper = None

    def wake_capture_worker(self) -> None:
        if self._captures is not None:
            self._captures.wake()

    def rate_item(self, kind: str) -> RateLimitItemPerMinute:
        """A token's allowance of ``kind`` requests in this process: each of the ``api_workers``
        processes counts in its own memory, so each allows its share of the setting (rounded up)."""
        per_minute = (
            self.settings.rate_limit_ingest_per_minute
            if kind == "ingest"
            else self.settings.rate_limit_query_per_minute
        )
        return RateLimitItemPerMinute(math.ceil(per_minute / (self.settings.api_workers or 1)))
