"""Runs capture jobs: one at a time per worker thread, off every request path.

The API process starts a :class:`CaptureWorker` when capture origins are configured; ``heatmaps capture``
runs its own jobs with :func:`run_job`. With HEATMAPS_CAPTURE_AUTO the worker also looks, every
``capture_scan_interval_s``, for pages of allowed origins that have clicks in a breakpoint and no recent
backdrop there, and queues them.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from data_layer.capture import jobs
from data_layer.capture.jobs import CaptureJob
from data_layer.capture.origins import url_origin
from data_layer.capture.photograph import CaptureFailed
from data_layer.capture.runner import GRACE_S, capture_page
from data_layer.filters import MAX_WINDOW_DAYS
from data_layer.screenshots import CaptureOrigin, ScreenshotError, save_screenshot
from data_layer.settings import Settings
from data_layer.store import EventStore

log = logging.getLogger("heatmaps.capture")
IDLE_WAIT_S = 2.0  # how often an idle worker looks for due jobs (an enqueue wakes it at once)
FAILURE_PAUSE = timedelta(days=1)  # a page whose capture failed for good is not queued again before this


def lease(settings: Settings) -> timedelta:
    """How long a job may stay ``running`` before it counts as abandoned by a dead worker."""
    return timedelta(seconds=2 * (settings.capture_timeout_s + GRACE_S))


def run_job(engine: Engine, settings: Settings, job: CaptureJob, *, retries: bool = True) -> CaptureJob:
    """Capture a claimed job's page and store the backdrop; the job ends done, queued for a retry (unless
    ``retries`` is off: the command line reports at once), or failed, and is returned in that state."""
    try:
        page = capture_page(settings, job.url, job.breakpoint)
        shot = save_screenshot(
            engine,
            settings.screenshot_dir,
            page.png,
            kind="web",
            page_key=job.page_key,
            breakpoint=job.breakpoint,
            created_by=job.requested_by,
            capture=CaptureOrigin(page.url, page.document_width, page.document_height),
        )
    except (CaptureFailed, ScreenshotError) as exc:
        retry = retries and isinstance(exc, CaptureFailed) and exc.retry
        log.warning("capture of %s (%s) failed: %s", job.page_key, job.breakpoint, exc)
        return jobs.fail(
            engine,
            job,
            str(exc),
            retry=retry,
            max_attempts=settings.capture_max_attempts,
            retry_base_s=settings.capture_retry_base_s,
        )
    return jobs.succeed(engine, job, shot["id"])


def queue_missing_backdrops(engine: Engine, settings: Settings, store: EventStore) -> list[CaptureJob]:
    """Queue a capture for every (page, breakpoint) of an allowed origin with clicks in the last
    ``capture_max_age_days`` (at most 60) that has no backdrop that young and no job under way."""
    allowed = settings.allowed_capture_origins
    today = jobs.utcnow().date()
    first = today - timedelta(days=min(settings.capture_max_age_days, MAX_WINDOW_DAYS) - 1)
    counts = store.click_counts(first, today)
    candidates = {
        (key, breakpoint)
        for key, breakpoint in counts.select("page_key", "breakpoint").unique().iter_rows()
        if url_origin(key) in allowed
    }
    due = jobs.pairs_to_capture(
        engine, candidates, max_age=timedelta(days=settings.capture_max_age_days), failure_pause=FAILURE_PAUSE
    )
    return [jobs.enqueue(engine, key, breakpoint, key, requested_by="auto") for key, breakpoint in due]


class CaptureWorker:
    """Background threads that run queued captures (and, with auto capture on, queue them)."""

    def __init__(self, engine: Engine, settings: Settings, store: EventStore) -> None:
        self.engine, self.settings, self.store = engine, settings, store
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_scan = 0.0

    def start(self) -> None:
        try:
            jobs.release_stale(self.engine, lease(self.settings))
        except SQLAlchemyError as exc:  # the loop retries; the API starts regardless
            log.warning("could not release interrupted captures: %s", exc)
        for number in range(self.settings.capture_workers):
            thread = threading.Thread(
                target=self._loop, args=(number,), name=f"capture-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was queued: look now rather than at the next idle tick."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _maybe_scan(self, number: int) -> None:
        if number != 0 or not self.settings.capture_auto or time.monotonic() < self._next_scan:
            return
        self._next_scan = time.monotonic() + self.settings.capture_scan_interval_s
        queued = queue_missing_backdrops(self.engine, self.settings, self.store)
        if queued:
            log.info("queued %d automatic captures", len(queued))
        jobs.release_stale(self.engine, lease(self.settings))

    def _loop(self, number: int) -> None:
        while not self._stop.is_set():
            try:
                self._maybe_scan(number)
                job = jobs.claim(self.engine)
                if job is not None:
                    run_job(self.engine, self.settings, job)
                    continue
            except Exception:  # a database outage or a bug must not end the worker: log, wait, go on
                log.exception("capture worker error")
            self._wake.wait(IDLE_WAIT_S)
            self._wake.clear()
