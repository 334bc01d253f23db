"""The shipper runs in one API process only: the one holding the ``clickhouse-shipper`` lease.

``heatmaps api --workers N`` starts N processes (several machines may share one PostgreSQL): two
shippers at once could send a block twice before either recorded it. Each process tries for the lease
every ``HEATMAPS_CLICKHOUSE_SHIP_INTERVAL_S``; the holder ships whatever SQL gained since its last look
(so an accepted event is in ClickHouse within about a second) and renews the lease between blocks;
the others wait. When the holder dies its lease expires and another takes over, and the new shipper
first settles the block the dead one may have left uncertain (:mod:`data_layer.clickhouse.shipper`).
While ClickHouse cannot be written the events wait in SQL, and shipping resumes by itself. With
``HEATMAPS_SQL_TAIL_DAYS`` the holder also cuts, once a minute, what the SQL tail no longer holds
(:mod:`data_layer.clickhouse.tail`).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from data_layer import leases
from data_layer.clickhouse import tail
from data_layer.clickhouse.shipper import Shipper
from data_layer.clickhouse.target import ClickHouseTarget
from data_layer.settings import Settings

log = logging.getLogger("heatmaps.clickhouse")
SERVING_BLOCK_ROWS = 25_000
"""Rows per insert of the API's shipper (the CLI's backfill ships :data:`shipper.BLOCK_ROWS`). The
process that ships holds a block as the driver's Python values, about 5 KB a row: an API process
catching up after an outage held 1 GB with blocks of 200,000 rows (docs/performance.md). In steady
state a round ships about a second's events, which take one or two blocks of this size."""
_WARN_EVERY_S = 30.0
TRIM_EVERY_S = 60.0


class ShipperLeader:
    """A background thread shipping events to ClickHouse while this process holds the lease."""

    def __init__(self, engine: Engine, settings: Settings, target: ClickHouseTarget) -> None:
        self.engine, self.settings = engine, settings
        self.shipper = Shipper(engine, target, block_rows=SERVING_BLOCK_ROWS)
        self.holder = leases.holder_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewed = 0.0
        self._warned = 0.0
        self._trimmed = -TRIM_EVERY_S
        self.last_error: str | None = None
        """Why the last round failed (None after a good one): what /healthz tells."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="clickhouse-shipper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current block and release the lease, so another process takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.shipper.close()
        try:
            leases.release(self.engine, Shipper.LEASE, self.holder)
        except Exception as exc:  # it expires by itself
            log.warning("could not release the ClickHouse shipper lease: %s", exc)

    def _hold(self) -> bool:
        """Take or renew the lease (at most every third of its length while held)."""
        now = time.monotonic()
        lease_s = self.settings.clickhouse_lease_s
        if now - self._renewed < lease_s / 3:
            return True
        if leases.hold(self.engine, Shipper.LEASE, self.holder, lease_s):
            self._renewed = now
            return True
        self._renewed = 0.0
        return False

    def _still_held(self, _rows: int) -> None:
        """Between blocks: renew, and stop shipping at once if another process took the lease."""
        if not self._hold():
            raise RuntimeError("the ClickHouse shipper lease went to another process")

    def ship_once(self) -> None:
        """One round: ship if this process holds the lease; failures are logged (rarely) and kept."""
        try:
            if self._hold():
                self.shipper.ship(progress=self._still_held)
                self._trim()
            self.last_error = None
        except Exception as exc:
            self.last_error = getattr(exc, "details", None) or type(exc).__name__
            if time.monotonic() - self._warned > _WARN_EVERY_S:
                self._warned = time.monotonic()
                log.warning("shipping events to ClickHouse failed, will retry: %s", self.last_error)

    def _trim(self) -> None:
        """With a bounded SQL tail, cut what it no longer holds: at most once a minute (a cut holds the
        write lock a batch at a time), and only here, where shipping is done and the lease held."""
        days = self.settings.sql_tail_days
        if days is None or time.monotonic() - self._trimmed < TRIM_EVERY_S:
            return
        self._trimmed = time.monotonic()
        try:
            cut = tail.trim(self.engine, days, datetime.now(UTC).date())
        except Exception as exc:  # SQL's trouble, not ClickHouse's: /healthz tells of the database
            log.warning("cutting the SQL tail failed, will retry in a minute: %s", type(exc).__name__)
            return
        if any(cut.values()):
            log.info("cut from the SQL tail (now in ClickHouse alone): %s", cut)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.ship_once()
            self._stop.wait(self.settings.clickhouse_ship_interval_s)
