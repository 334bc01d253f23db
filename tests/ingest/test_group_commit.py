"""Group commit (data_layer/group_commit.py): batches and recording chunks written together count exactly
as if they had been written one by one, and a failing group fails no innocent item. SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from data_layer import group_commit
from data_layer.errors import PayloadTooLarge
from data_layer.event_models import validate_web_batch
from data_layer.group_commit import GroupCommit
from data_layer.ingest import IngestResult, RequestContext, web_event_rows
from data_layer.recordings import RecordingChunk, store_chunk, store_chunks, validate_chunk
from data_layer.schema import recording_chunks, recordings, web_events
from data_layer.settings import Settings
from tests.factories import recording_chunk, rrweb_event, web_click, web_scroll


def rows_of(settings: Settings, events: list[dict[str, Any]]) -> list[list[Any]]:
    return web_event_rows(validate_web_batch(events), settings, RequestContext())


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    columns = web_events.c
    query = select(columns.event_id, columns.session_id, columns.visitor_type, columns.rage).order_by(
        columns.seq
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


Write = Callable[[Any, Any, Settings], Any]
Submit = Callable[[list[list[Any]]], Future[IngestResult]]


@contextmanager
def held_writer(
    committer: GroupCommit, settings: Settings, then: Write = group_commit.write_web_batches
) -> Iterator[Submit]:
    """The writer stuck inside a first transaction until the block ends, so the batches submitted
    meanwhile (with the yielded function) form the next group, in submission order; that group and
    later ones go to ``then``, and are answered when the block ends."""
    entered, release = threading.Event(), threading.Event()
    original = group_commit.write_web_batches

    def slow_first(conn: Any, batches: Any, settings: Settings) -> Any:
        if entered.is_set():
            return then(conn, batches, settings)
        entered.set()
        release.wait(30)
        return original(conn, batches, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(group_commit, "write_web_batches", slow_first)
        first = committer.submit(
            rows_of(settings, [web_click(eventId="first", sessionId="s0", visitorId="v0")])
        )
        assert entered.wait(30)
        submitted: list[Future[IngestResult]] = []

        def submit(rows: list[list[Any]]) -> Future[IngestResult]:
            submitted.append(committer.submit(rows))
            return submitted[-1]

        try:
            yield submit
        finally:
            release.set()
            wait(submitted, timeout=30)
        assert first.result(30) == IngestResult(1, 0)


def test_a_group_counts_duplicates_and_visitors_as_if_serialised(settings, engine) -> None:
    committer = group_commit.web_batches(engine, settings)
    first = [web_click(eventId="a1", sessionId="late", visitorId="v", timestamp="2026-04-10T12:00:05Z")]
    first.append(web_click(eventId="a2", sessionId="late", visitorId="v", timestamp="2026-04-10T12:00:06Z"))
    # The same visitor's earlier session arrives second: serialised, the first batch's session is the
    # visitor's first, so this one is "returning", though its events are older.
    second = [
        web_click(eventId="a2", sessionId="early", visitorId="v"),
        web_click(eventId="b1", sessionId="early", visitorId="v"),
    ]
    third = [web_click(eventId="b1"), web_click(eventId="c1"), web_click(eventId="c1")]
    with held_writer(committer, settings) as submit:
        futures = [submit(rows_of(settings, batch)) for batch in (first, second, third)]
    assert [future.result(30) for future in futures] == [
        IngestResult(2, 0),
        IngestResult(1, 1),
        IngestResult(1, 2),
    ]
    by_id = {event_id: (session, visitor_type) for event_id, session, visitor_type, _ in stored(engine)}
    assert by_id == {
        "first": ("s0", "new"),
        "a1": ("late", "new"),
        "a2": ("late", "new"),
        "b1": ("early", "returning"),
        "c1": ("s1", "new"),
    }


def test_a_rage_run_split_over_batches_of_one_group_is_flagged(settings, engine) -> None:
    committer = group_commit.web_batches(engine, settings)
    clicks = [
        web_click(eventId=f"r{i}", sessionId="rs", timestamp=f"2026-04-10T12:00:00.{i}00Z") for i in range(4)
    ]
    with held_writer(committer, settings) as submit:
        futures = [submit(rows_of(settings, [click])) for click in clicks]
    assert [future.result(30) for future in futures] == [IngestResult(1, 0)] * 4
    assert [rage for event_id, _, _, rage in stored(engine) if event_id.startswith("r")] == [True] * 4


def test_a_failing_batch_fails_alone(settings, engine) -> None:
    """The group's transaction fails because of one batch: each batch is written again alone, so only
    that one fails and the others are stored and counted."""
    committer = group_commit.web_batches(engine, settings)
    original = group_commit.write_web_batches

    def refuse_poison(conn: Any, batches: Any, settings: Settings) -> Any:
        if any(row[0] == "poison" for rows in batches for row in rows):
            raise ValueError("a value the database refuses")
        return original(conn, batches, settings)

    with held_writer(committer, settings, refuse_poison) as submit:
        good = submit(rows_of(settings, [web_click(eventId="g1"), web_click(eventId="g2")]))
        bad = submit(rows_of(settings, [web_click(eventId="g2"), web_click(eventId="poison")]))
        after = submit(rows_of(settings, [web_click(eventId="g2"), web_click(eventId="g3")]))
    assert good.result(30) == IngestResult(2, 0)
    with pytest.raises(ValueError, match="refuses"):
        bad.result(30)
    assert after.result(30) == IngestResult(1, 1)
    assert sorted(row[0] for row in stored(engine)) == ["first", "g1", "g2", "g3"]


def test_an_unavailable_database_fails_the_whole_group_at_once(settings, engine) -> None:
    committer = group_commit.web_batches(engine, settings)
    calls = []

    def unavailable(conn: Any, batches: Any, settings: Settings) -> Any:
        calls.append(len(batches))
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with held_writer(committer, settings, unavailable) as submit:
        futures = [submit(rows_of(settings, [web_click()])) for _ in range(3)]
    for future in futures:
        with pytest.raises(OperationalError):
            future.result(30)
    assert calls == [3], "tried once for the group, not again batch by batch"


def test_a_batch_whose_caller_gave_up_is_left_out(settings, engine) -> None:
    """A request cancelled while its batch waits (its future cancelled) is not written; the others of
    its group are, and are answered."""
    committer = group_commit.web_batches(engine, settings)
    with held_writer(committer, settings) as submit:
        gone = submit(rows_of(settings, [web_click(eventId="gone")]))
        kept = submit(rows_of(settings, [web_click(eventId="kept")]))
        assert gone.cancel()
    assert kept.result(30) == IngestResult(1, 0)
    assert sorted(row[0] for row in stored(engine)) == ["first", "kept"]


def test_concurrent_batches_are_each_stored_once(settings, engine) -> None:
    """Many threads, batches overlapping in ids (re-sends of each other's), in groups of whatever size
    the timing makes: every id stored once, and the answers' counts add up to what is stored."""
    committer = group_commit.web_batches(engine, settings)
    batches = [
        [web_click(eventId=f"e{(n * 3 + k) % 400}", sessionId=f"s{n % 17}") for k in range(5)]
        + [web_scroll(eventId=f"e{(n * 7) % 400}", sessionId=f"s{n % 17}")]
        for n in range(200)
    ]
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda batch: committer.submit(rows_of(settings, batch)).result(30), batches))
    ids = Counter(row[0] for row in stored(engine))
    sent = {event["eventId"] for batch in batches for event in batch}
    assert set(ids) == sent and set(ids.values()) == {1}
    assert sum(result.ingested for result in results) == len(sent)
    assert all(r.ingested + r.duplicates == len(b) for r, b in zip(results, batches, strict=True))


def chunk(session: str, seq: int, size: int = 200) -> RecordingChunk:
    """Chunk ``seq`` of ``session`` whose events take about ``size`` bytes as stored JSON."""
    return validate_chunk(
        recording_chunk(sessionId=session, seq=seq, events=[rrweb_event(3, seq, text="x" * size)])
    )


def stored_chunks(engine: Engine) -> tuple[list[tuple[str, int]], dict[str, tuple[int, int]]]:
    """(session, seq) of every stored chunk, and each session's summary row (chunks, decoded size)."""
    with engine.connect() as conn:
        pairs = conn.execute(
            select(recording_chunks.c.session_id, recording_chunks.c.seq).order_by("session_id", "seq")
        )
        summaries = conn.execute(
            select(recordings.c.session_id, recordings.c.chunks, recordings.c.decoded_size)
        )
        return [tuple(row) for row in pairs], {row[0]: (row[1], row[2]) for row in summaries}


def test_chunks_of_one_group_count_duplicates_and_the_cap_as_if_serialised(settings, engine) -> None:
    cap = 1_000
    first = chunk("s3", 0)
    store_chunk(engine, first, cap)
    entered, release = threading.Event(), threading.Event()

    def held_first(conn: Any, chunks: Any) -> Any:
        if not entered.is_set():
            entered.set()
            release.wait(30)
        return store_chunks(conn, chunks, cap)

    committer = GroupCommit(engine, held_first, lambda item: len(item.text), 10**6)
    blocker = committer.submit(chunk("s0", 0))
    assert entered.wait(30)
    group = [
        chunk("s1", 0, 400),
        chunk("s1", 1, 400),
        chunk("s1", 0, 400),  # sent again within the group
        chunk("s1", 2, 400),  # the session's third would pass its cap
        chunk("s1", 3, 20),  # still fits
        chunk("s2", 0, 400),
        chunk("s3", 1),  # a session with a chunk stored before the group
        chunk("s3", 0),  # stored before
    ]
    futures = [committer.submit(item) for item in group]
    release.set()
    assert blocker.result(30) is True
    answers = []
    for future in futures:
        try:
            answers.append(future.result(30))
        except PayloadTooLarge as refused:
            answers.append("cap" if "HEATMAPS_RECORDING_MAX_MB" in str(refused) else str(refused))
    assert answers == [True, True, False, "cap", True, True, True, False]
    pairs, summaries = stored_chunks(engine)
    assert pairs == [("s0", 0), ("s1", 0), ("s1", 1), ("s1", 3), ("s2", 0), ("s3", 0), ("s3", 1)]
    sizes = {item.session_id: 0 for item in group}
    for item in [group[0], group[1], group[4]]:
        sizes["s1"] += len(item.text)
    assert summaries["s1"] == (3, sizes["s1"])
    assert summaries["s3"] == (2, len(first.text) + len(group[6].text))
    assert summaries["s2"] == (1, len(group[5].text))


def test_concurrent_chunks_are_each_stored_once(settings, engine) -> None:
    """Many threads send chunks, each sent twice or more by different threads, in groups of whatever
    size the timing makes: each stored once, the answers' True counting the rows, the sessions' summary
    rows true to their chunks."""
    committer = group_commit.recording_chunks(engine, 10**9)
    sent = [chunk(f"s{n % 13}", n % 40) for n in range(240)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(lambda item: committer.submit(item).result(30), sent))
    pairs, summaries = stored_chunks(engine)
    distinct = {(item.session_id, item.seq) for item in sent}
    assert sorted(pairs) == sorted(distinct) and len(pairs) == len(set(pairs))
    assert answers.count(True) == len(distinct)
    with engine.connect() as conn:
        sums = conn.execute(
            select(
                recording_chunks.c.session_id, func.count(), func.sum(recording_chunks.c.decoded_size)
            ).group_by(recording_chunks.c.session_id)
        )
        assert {row[0]: (row[1], row[2]) for row in sums} == summaries
