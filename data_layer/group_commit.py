"""Group commit: web event batches that arrive together are written in one transaction.

A site's trackers send thousands of small batches a second. Written one transaction each, every batch
pays alone for what does not grow with its size: taking the write lock, looking up ids, the clicks of
its sessions and its visitors, the insert and the commit (docs/performance.md has the breakdown).
Here concurrent batches share them.

Callers :meth:`GroupCommit.submit` a batch and get a future. A writer thread, once it holds the write
lock, takes every batch queued (up to :data:`MAX_GROUP_ROWS` rows), writes them in one transaction
(:func:`data_layer.ingest.write_web_batches`, which counts each batch's duplicates as if the batches
had come one by one, in queue order), and answers each future once the transaction is committed.
Batches arriving meanwhile queue up for the next transaction: a lone batch is written at once, and the
busier the database, the larger the groups. Batches join already validated (a batch is refused whole
before it gets here), so one request's bad event never reaches another's transaction. The API awaits
the future on its event loop, so a request waiting for its group holds no thread.

When a group's transaction fails, each of its batches is written again alone, so only a batch that
cannot be stored fails and the others are stored; when the database itself is unavailable, every
batch of the group gets that error at once (alone, each would wait for it in turn).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from data_layer.db import write_transaction
from data_layer.errors import database_unavailable
from data_layer.ingest import IngestResult, write_web_batches
from data_layer.settings import Settings

MAX_GROUP_ROWS = 5_000
"""Rows one transaction takes at most: ten full batches, or a thousand of a tracker's."""


IDLE_S = 5.0
"""A writer thread with nothing to write for this long ends; the next batch starts another."""


@dataclass(frozen=True)
class _Batch:
    rows: list[list[Any]]
    answer: Future[IngestResult]


class GroupCommit:
    """Writes the web event batches submitted by concurrent callers in shared transactions; one per
    engine and process (threads share it; other processes are serialised by the write lock)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._queued = threading.Condition()
        self._queue: deque[_Batch] = deque()
        self._writing = False

    def submit(self, rows: list[list[Any]]) -> Future[IngestResult]:
        """Queue one batch of rows (:func:`data_layer.ingest.web_event_rows`); its future answers the
        batch's counts once it is committed, or raises what writing it alone would have raised."""
        batch = _Batch(rows, Future())
        with self._queued:
            self._queue.append(batch)
            if not self._writing:
                self._writing = True
                threading.Thread(target=self._write_while_queued, name="group-commit", daemon=True).start()
            self._queued.notify()
        return batch.answer

    def _write_while_queued(self) -> None:
        while True:
            with self._queued:
                if not self._queued.wait_for(lambda: self._queue, timeout=IDLE_S):
                    self._writing = False
                    return
            group: list[_Batch] = []
            try:
                self._write(group)
            except BaseException as exc:  # the writer must go on, and no caller may wait forever
                for batch in group:
                    if not batch.answer.done():
                        batch.answer.set_exception(exc)

    def _take_group(self) -> list[_Batch]:
        """The oldest batches, up to :data:`MAX_GROUP_ROWS` rows, but those whose caller gave up
        waiting (a cancelled future: nobody is told, and the client sends the batch again). Once taken,
        a batch's future can no longer be cancelled, so its answer is always delivered."""
        group: list[_Batch] = []
        rows = 0
        with self._queued:
            while self._queue and (not group or rows + len(self._queue[0].rows) <= MAX_GROUP_ROWS):
                batch = self._queue.popleft()
                if batch.answer.set_running_or_notify_cancel():
                    group.append(batch)
                    rows += len(batch.rows)
        return group

    def _write(self, group: list[_Batch]) -> None:
        """Take the queued batches into ``group`` once the write lock is held, and write them in one
        transaction; on failure, each batch alone (see the module's docstring).

        Taken only then, so that the batches arriving while another process holds the lock (API
        workers share one database) join this transaction rather than wait for the next one.
        """
        try:
            with write_transaction(self.engine) as conn:
                group.extend(self._take_group())
                results = write_web_batches(conn, [batch.rows for batch in group], self.settings)
        except Exception as exc:
            if not group:  # no transaction could begin: the database is unavailable
                group.extend(self._take_group())
            if len(group) <= 1 or database_unavailable(exc):
                for batch in group:
                    batch.answer.set_exception(exc)
                return
            for batch in group:
                self._write_alone(batch)
            return
        for batch, result in zip(group, results, strict=True):
            batch.answer.set_result(result)

    def _write_alone(self, batch: _Batch) -> None:
        try:
            with write_transaction(self.engine) as conn:
                [result] = write_web_batches(conn, [batch.rows], self.settings)
        except Exception as exc:
            batch.answer.set_exception(exc)
        else:
            batch.answer.set_result(result)
