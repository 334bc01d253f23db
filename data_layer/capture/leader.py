"""The capture worker runs in one API process only: the one holding the ``capture`` lease.

``heatmaps api --workers N`` starts N processes (and several machines may serve one PostgreSQL); each
would otherwise run its own worker, with its own Chromium, scan for missing backdrops on its own, and
share a 2-core machine's cores with N browsers. Every process tries for the lease when it starts and
every third of ``HEATMAPS_CAPTURE_LEASE_S`` after; the holder renews it and runs the worker, the
others wait. When the holder dies, its lease expires and the next process to try takes over, within
``HEATMAPS_CAPTURE_LEASE_S`` plus a third of it; when it stops cleanly it releases the lease, and
another takes over at its next try. Jobs are claimed with a status-checked update in any case
(:func:`data_layer.capture.jobs.claim`), so even two workers would never run one job twice.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from data_layer import leases
from data_layer.capture.worker import CaptureWorker
from data_layer.settings import Settings
from data_layer.store import EventStore

LEASE = "capture"
log = logging.getLogger("heatmaps.capture")


class CaptureLeader:
    """Holds (or waits for) the capture lease in the background and runs a :class:`CaptureWorker`
    while it holds it."""

    def __init__(self, engine: Engine, settings: Settings, store: EventStore) -> None:
        self.engine, self.settings, self.store = engine, settings, store
        self.holder = leases.holder_id()
        self._worker: CaptureWorker | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held_until = 0.0  # monotonic: when the last renewal runs out

    def start(self) -> None:
        """Try at once (a lone process runs captures from its start), then in the background."""
        self._try()
        self._thread = threading.Thread(target=self._loop, name="capture-lease", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: the worker, if it runs here, looks now (elsewhere, at its next idle tick)."""
        if self._worker is not None:
            self._worker.wake()

    def stop(self) -> None:
        """Stop the worker and release the lease, so another process takes over without waiting."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._run(False)
        try:
            leases.release(self.engine, LEASE, self.holder)
        except SQLAlchemyError as exc:  # it expires by itself
            log.warning("could not release the capture lease: %s", exc)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.capture_lease_s / 3):
            self._try()

    def _try(self) -> None:
        started = time.monotonic()
        try:
            held = leases.hold(self.engine, LEASE, self.holder, self.settings.capture_lease_s)
        except SQLAlchemyError as exc:  # keep working while the last renewal lasts, not longer
            log.warning("could not renew the capture lease: %s", exc)
            held = time.monotonic() < self._held_until
        else:
            if held:
                self._held_until = started + self.settings.capture_lease_s
        self._run(held and not self._stop.is_set())

    def _run(self, held: bool) -> None:
        if held and self._worker is None:
            self._worker = CaptureWorker(self.engine, self.settings, self.store)
            self._worker.start()
        elif not held and self._worker is not None:
            self._worker.stop()
            self._worker = None
