"""Group commit: writes that arrive together (web event batches, recording chunks) share one transaction.

A site's trackers send thousands of small batches a second, and recorders a chunk every few seconds.
Written one transaction each, every batch pays alone for what does not grow with its size: taking the
write lock, looking up ids, the clicks of its sessions and its visitors, the insert and the commit
(docs/performance.md has the breakdown). Here concurrent writes share them.

Callers :meth:`GroupCommit.submit` an item and get a future. A writer thread, once it holds the write
lock, takes every item queued (up to a group's size), writes them in one transaction with the
committer's ``write`` function (which answers each item as if the items had come one by one, in queue
order: :func:`data_layer.ingest.write_web_batches`, :func:`data_layer.recordings.store_chunks`), and
answers each future once the transaction is committed. Items arriving meanwhile queue up for the next
transaction: a lone item is written at once, and the busier the database, the larger the groups. Items
join already validated (a batch is refused whole before it gets here), so one request's bad event
never reaches another's transaction. The API awaits the future on its event loop, so a request waiting
for its group holds no thread.

An item refused on its own merits inside the transaction (a recording chunk over its session's cap)
gets its error as its result, which its caller alone raises; the others are written. When a group's
transaction fails, each of its items is written again alone, so only an item that cannot be stored
fails and the others are stored; when the database itself is unavailable, every item of the group gets
that error at once (alone, each would wait for it in turn).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from data_layer.db import write_transaction
from data_layer.errors import database_unavailable
from data_layer.ingest import IngestResult, write_web_batches
from data_layer.recordings import RecordingChunk, StoredChunk, store_chunks
from data_layer.settings import Settings

MAX_GROUP_ROWS = 5_000
"""Event rows one transaction takes at most: ten full batches, or a thousand of a tracker's."""
MAX_GROUP_CHUNK_BYTES = 16 * 1024 * 1024
"""Recording JSON one transaction takes at most: two of the largest chunks, or thousands of a recorder's."""


IDLE_S = 5.0
"""A writer thread with nothing to write for this long ends; the next batch starts another."""


Item = TypeVar("Item")
Result = TypeVar("Result")
Write = Callable[[Connection, Sequence[Item]], Sequence[Result | Exception]]
"""Writes a group's items in the caller's transaction: one answer per item, in order, an exception for
an item refused on its own merits."""


@dataclass(frozen=True)
class _Batch(Generic[Item, Result]):
    item: Item
    answer: Future[Result]


class GroupCommit(Generic[Item, Result]):
    """Writes the items submitted by concurrent callers in shared transactions; one per kind of item,
    engine and process (threads share it; other processes are serialised by the write lock).

    ``size`` measures an item against ``max_size``, the most one transaction takes (an item larger than
    that goes alone)."""

    def __init__(
        self, engine: Engine, write: Write[Item, Result], size: Callable[[Item], int], max_size: int
    ) -> None:
        self.engine, self.write, self.size, self.max_size = engine, write, size, max_size
        self._queued = threading.Condition()
        self._queue: deque[_Batch[Item, Result]] = deque()
        self._writing = False

    def submit(self, item: Item) -> Future[Result]:
        """Queue one item; its future answers once the item is committed, or raises what writing it
        alone would have raised."""
        batch: _Batch[Item, Result] = _Batch(item, Future())
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
            group: list[_Batch[Item, Result]] = []
            try:
                self._write(group)
            except BaseException as exc:  # the writer must go on, and no caller may wait forever
                for batch in group:
                    if not batch.answer.done():
                        batch.answer.set_exception(exc)

    def _take_group(self) -> list[_Batch[Item, Result]]:
        """The oldest items, up to ``max_size``, but those whose caller gave up waiting (a cancelled
        future: nobody is told, and the client sends the item again). Once taken, an item's future can
        no longer be cancelled, so its answer is always delivered."""
        group: list[_Batch[Item, Result]] = []
        taken = 0
        with self._queued:
            while self._queue and (not group or taken + self.size(self._queue[0].item) <= self.max_size):
                batch = self._queue.popleft()
                if batch.answer.set_running_or_notify_cancel():
                    group.append(batch)
                    taken += self.size(batch.item)
        return group

    def _write(self, group: list[_Batch[Item, Result]]) -> None:
        """Take the queued batches into ``group`` once the write lock is held, and write them in one
        transaction; on failure, each batch alone (see the module's docstring).

        Taken only then, so that the batches arriving while another process holds the lock (API
        workers share one database) join this transaction rather than wait for the next one.
        """
        try:
            with write_transaction(self.engine) as conn:
                group.extend(self._take_group())
                results = self.write(conn, [batch.item for batch in group])
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
            _answer(batch.answer, result)

    def _write_alone(self, batch: _Batch[Item, Result]) -> None:
        try:
            with write_transaction(self.engine) as conn:
                [result] = self.write(conn, [batch.item])
        except Exception as exc:
            batch.answer.set_exception(exc)
        else:
            _answer(batch.answer, result)


def _answer(answer: Future[Result], result: Result | Exception) -> None:
    if isinstance(result, Exception):
        answer.set_exception(result)
    else:
        answer.set_result(result)


def web_batches(engine: Engine, settings: Settings) -> GroupCommit[list[list[Any]], IngestResult]:
    """Web event batches (:func:`data_layer.ingest.web_event_rows`), each answered with its counts."""
    return GroupCommit(
        engine, lambda conn, batches: write_web_batches(conn, batches, settings), len, MAX_GROUP_ROWS
    )


def recording_chunks(engine: Engine, max_bytes: int) -> GroupCommit[RecordingChunk, StoredChunk]:
    """Recording chunks, each answered with whether it was new (or its session's cap as the error)."""
    return GroupCommit(
        engine,
        lambda conn, chunks: store_chunks(conn, chunks, max_bytes),
        lambda chunk: len(chunk.text),
        MAX_GROUP_CHUNK_BYTES,
    )
