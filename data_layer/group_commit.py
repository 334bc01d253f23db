"""Group commit: web event batches that arrive together are written in one transaction.

A site's trackers send thousands of small batches a second. Written one transaction each, every batch
pays alone for what does not grow with its size: taking the write lock, looking up ids, the clicks of
its sessions and its visitors, the insert and the commit (docs/performance.md has the breakdown).
Here concurrent batches share them.

The first batch in the queue leads: it takes the batches queued behind it (up to
:data:`MAX_GROUP_ROWS` rows), writes them in one write transaction
(:func:`data_layer.ingest.write_web_batches`, which counts each batch's duplicates as if the batches had
come one by one, in queue order), and answers each once the transaction is committed. Batches arriving
meanwhile queue up behind, and the first of them leads the next group: a lone batch is written at once,
and the busier the database, the larger the groups. Batches join already validated (a batch is refused
whole before it gets here), so one request's bad event never reaches another's transaction.

When a group's transaction fails, each of its batches is written again alone, so only a batch that
cannot be stored fails and the others are stored; when the database itself is unavailable, every
batch of the group gets that error at once (alone, each would wait for it in turn).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from data_layer.db import write_transaction
from data_layer.errors import database_unavailable
from data_layer.ingest import IngestResult, write_web_batches
from data_layer.settings import Settings

MAX_GROUP_ROWS = 5_000
"""Rows one transaction takes at most: ten full batches, or a thousand of a tracker's."""


@dataclass(eq=False)
class _Batch:
    rows: list[list[Any]]
    done: threading.Condition
    result: IngestResult | None = None
    error: BaseException | None = None
    finished: bool = False


class GroupCommit:
    """Writes the web event batches of concurrent callers of :meth:`store` in shared transactions; one
    per engine and process (threads share it; other processes are serialised by the write lock)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._lock = threading.Lock()
        self._queue: deque[_Batch] = deque()

    def store(self, rows: list[list[Any]]) -> IngestResult:
        """Store one batch of rows (:func:`data_layer.ingest.web_event_rows`) atomically and return its
        counts, once it is committed; raises what writing it alone would have raised."""
        batch = _Batch(rows, threading.Condition(self._lock))
        with self._lock:
            self._queue.append(batch)
            while not batch.finished and self._queue[0] is not batch:
                batch.done.wait()
            group = [] if batch.finished else self._take_group()
        if group:
            try:
                self._write(group)
            finally:
                self._answer(group)
        if batch.error is not None:
            raise batch.error
        assert batch.result is not None
        return batch.result

    def _answer(self, group: Sequence[_Batch]) -> None:
        """Wake the group's callers and the next group's leader."""
        with self._lock:
            for member in group:
                self._queue.popleft()
                if member.result is None and member.error is None:  # the leader's thread was interrupted
                    member.error = RuntimeError("the write of this batch was interrupted; send it again")
                member.finished = True
                member.done.notify()
            if self._queue:
                self._queue[0].done.notify()

    def _take_group(self) -> list[_Batch]:
        """The leader and the batches behind it, up to :data:`MAX_GROUP_ROWS` rows (at least one batch);
        they stay queued until answered, so later arrivals wait behind them."""
        group, rows = [], 0
        for batch in self._queue:
            if group and rows + len(batch.rows) > MAX_GROUP_ROWS:
                break
            group.append(batch)
            rows += len(batch.rows)
        return group

    def _write(self, group: Sequence[_Batch]) -> None:
        """Write ``group`` in one transaction; on failure, each batch alone (see the module's docstring)."""
        try:
            with write_transaction(self.engine) as conn:
                results = write_web_batches(conn, [batch.rows for batch in group], self.settings)
        except Exception as exc:
            if len(group) == 1 or database_unavailable(exc):
                for batch in group:
                    batch.error = exc
                return
            for batch in group:
                self._write([batch])
            return
        for batch, result in zip(group, results, strict=True):
            batch.result = result
