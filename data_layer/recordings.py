"""Session recordings (CONTRACT 13): chunks of rrweb events, validated whole, stored compressed, read
back in order.

A chunk is stored as the JSON array of its events, compacted and compressed with zlib, exactly as it was
validated. Reading a recording decompresses the chunks and joins their texts: no event is ever parsed
again, so a 20 MiB recording costs a few decompressions, not a million Python objects.

Writes go through :func:`data_layer.db.write_transaction`, which serialises them: the duplicate check and
the per-session cap see every chunk committed before, and ``created_at`` grows in commit order, so the
newest ``created_at`` is a snapshot mark that later chunks are all above (see :func:`recordings_mark`).
Each recorded session also has a row in ``recordings`` (its chunks, their size, when the first was
stored), written with its chunks and made true to them again by deletions.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator
from sqlalchemy import ColumnElement, Connection, Engine, bindparam, delete, func, select, update

from data_layer.db import IN_LIST_CHUNK, write_transaction
from data_layer.errors import BadRequest, PayloadTooLarge
from data_layer.event_models import (
    MAX_REPORTED_ERRORS,
    NoNul,
    Text128,
    Url,
    describe_error,
    latest_allowed,
)
from data_layer.schema import recording_chunks, recordings
from data_layer.urls import NO_RULES, InvalidUrlError, PageKeyRules, normalize_page_key

MIB = 1024 * 1024
MAX_BODY_BYTES = MIB
"""An upload's body as sent (CONTRACT 13)."""
MAX_DECODED_BYTES = 8 * MIB
"""An upload's body once its ``Content-Encoding: gzip`` is undone."""
MAX_CHUNK_EVENTS = 100_000
"""Events per chunk: 8 MiB of the smallest rrweb events (a mouse move is about 80 bytes)."""
MAX_SEQ = 2**31 - 1
EPOCH = datetime(1970, 1, 1)
_NUMBER = (int, float)


@dataclass(frozen=True)
class RecordingChunk:
    """A validated upload: whose it is, where and when it was recorded, and its events as JSON text."""

    session_id: str
    visitor_id: str
    page_key: str
    seq: int
    first_ts: datetime
    """Naive UTC, the earliest event's ``timestamp``."""
    last_ts: datetime
    event_count: int
    text: bytes
    """The events as a compact JSON array, UTF-8: what is compressed, counted and read back."""
    compressed: bytes
    """``text`` compressed with zlib, as stored: compressed before the write lock, which others wait for."""


class RecordingChunkIn(BaseModel):
    """The upload's fields but its events' contents, which :func:`_event_problems` checks by hand (a
    chunk holds up to 100,000 of them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    session_id: Annotated[Text128, NoNul] = Field(alias="sessionId")
    visitor_id: Annotated[Text128, NoNul] = Field(alias="visitorId")
    url: Url
    seq: Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
    events: Annotated[list[Any], Field(min_length=1, max_length=MAX_CHUNK_EVENTS)]

    @model_validator(mode="after")
    def _absolute_url(self) -> RecordingChunkIn:
        try:
            normalize_page_key(self.url)
        except InvalidUrlError as exc:
            raise ValueError(f"url: {exc}") from None
        return self


def _ms(moment: datetime) -> float:
    return (moment - EPOCH) / timedelta(milliseconds=1)


def _event_problems(events: list[Any]) -> list[str]:
    """What is wrong with the rrweb events (at most the first 20 problems): each must be an object with
    an integer ``type`` and a ``timestamp`` in ms since the epoch, not in the future (3.1's 5 minutes)."""
    latest = _ms(latest_allowed())
    problems: list[str] = []
    for index, event in enumerate(events):
        if len(problems) >= MAX_REPORTED_ERRORS:
            break
        if not isinstance(event, dict):
            problems.append(f"events[{index}]: must be an rrweb event object")
            continue
        kind, moment = event.get("type"), event.get("timestamp")
        if type(kind) is not int:  # bool is an int subclass, and no event type
            what = "is required" if kind is None else "must be"
            problems.append(f"events[{index}].type: {what} an integer")
        if type(moment) not in _NUMBER:
            what = "is required" if moment is None else "must be"
            problems.append(f"events[{index}].timestamp: {what} a number of ms since 1970-01-01 UTC")
        elif not 0 <= moment <= latest:  # NaN fails too
            problems.append(f"events[{index}].timestamp: must lie between 1970 and 5 minutes from now")
    return problems


def validate_chunk(payload: Any, rules: PageKeyRules = NO_RULES) -> RecordingChunk:
    """An upload's JSON value as a :class:`RecordingChunk`; :class:`BadRequest` naming every problem
    (the first 20) when anything is invalid. ``rules``: how the url becomes the chunk's pageKey."""
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object {"sessionId", "visitorId", "url", "seq", "events"}')
    problems: list[str] = []
    fields: RecordingChunkIn | None = None
    try:
        fields = RecordingChunkIn.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        problems += [describe_error(error) for error in errors]
    events = payload.get("events")
    if isinstance(events, list) and len(events) <= MAX_CHUNK_EVENTS:
        problems += _event_problems(events)
    if problems or fields is None:
        raise BadRequest(_refusal(problems))
    try:
        text = json.dumps(fields.events, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        data = text.encode()
    except ValueError:  # NaN or Infinity (Python's parser takes them), or a lone surrogate
        problem = "events: hold NaN, Infinity or a lone surrogate, which are not JSON"
        raise BadRequest(_refusal([problem])) from None
    moments = [event["timestamp"] for event in fields.events]
    return RecordingChunk(
        session_id=fields.session_id,
        visitor_id=fields.visitor_id,
        page_key=normalize_page_key(fields.url, rules),
        seq=fields.seq,
        first_ts=EPOCH + timedelta(milliseconds=min(moments)),
        last_ts=EPOCH + timedelta(milliseconds=max(moments)),
        event_count=len(fields.events),
        text=data,
        compressed=zlib.compress(data),
    )


def _refusal(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    return f"invalid recording chunk, nothing was stored: {shown}"


StoredChunk = bool
"""Whether a chunk was new (False: its (session, seq) was stored already, and nothing changed)."""


def store_chunk(engine: Engine, chunk: RecordingChunk, max_bytes: int) -> bool:
    """Store ``chunk`` in a transaction of its own (:func:`store_chunks`); raises its
    :class:`PayloadTooLarge`."""
    with write_transaction(engine) as conn:
        [outcome] = store_chunks(conn, [chunk], max_bytes)
    if isinstance(outcome, PayloadTooLarge):
        raise outcome
    return outcome


def store_chunks(
    conn: Connection, chunks: Sequence[RecordingChunk], max_bytes: int
) -> list[StoredChunk | PayloadTooLarge]:
    """Store ``chunks`` in the caller's write transaction, each answered as if they had come one by one,
    in order: True when stored, False when its (session, seq) is stored already (or came earlier in
    ``chunks``), or the :class:`PayloadTooLarge` refusing it when its session's stored chunks and it
    would together hold more than ``max_bytes`` of JSON (the chunks already stored stay).

    However many chunks, the stored ones and the sessions' summaries are looked up once, and the new
    rows go in one insert each."""
    now = datetime.now(UTC).replace(tzinfo=None)  # inside the lock: times grow in commit order
    sessions = sorted({chunk.session_id for chunk in chunks})
    taken: set[tuple[str, int]] = set()
    held: dict[str, int] = {}
    for part in _parts(sessions):
        stored = select(recording_chunks.c.session_id, recording_chunks.c.seq).where(
            recording_chunks.c.session_id.in_(part)
        )
        taken.update((str(session), int(seq)) for session, seq in conn.execute(stored))
        summaries = select(recordings.c.session_id, recordings.c.decoded_size).where(
            recordings.c.session_id.in_(part)
        )
        held.update((str(session), int(size)) for session, size in conn.execute(summaries))
    known = dict(held)
    outcomes: list[StoredChunk | PayloadTooLarge] = []
    rows: list[dict[str, Any]] = []
    for chunk in chunks:
        key = (chunk.session_id, chunk.seq)
        used = held.get(chunk.session_id, 0)
        if key in taken:
            outcomes.append(False)
        elif used + len(chunk.text) > max_bytes:
            outcomes.append(_over_cap(chunk, used, max_bytes))
        else:
            taken.add(key)
            held[chunk.session_id] = used + len(chunk.text)
            outcomes.append(True)
            rows.append(_chunk_row(chunk, now))
    if rows:
        conn.execute(recording_chunks.insert(), rows)
        _grow_summaries(conn, rows, known, now)
    return outcomes


def _over_cap(chunk: RecordingChunk, used: int, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the recording of session {chunk.session_id} would exceed its cap of {max_bytes // MIB} MiB "
        f"(HEATMAPS_RECORDING_MAX_MB): {used} bytes are stored and this chunk holds "
        f"{len(chunk.text)}; stop recording this session"
    )


def _chunk_row(chunk: RecordingChunk, now: datetime) -> dict[str, Any]:
    return {
        "session_id": chunk.session_id,
        "seq": chunk.seq,
        "visitor_id": chunk.visitor_id,
        "page_key": chunk.page_key,
        "first_ts": chunk.first_ts,
        "last_ts": chunk.last_ts,
        "event_count": chunk.event_count,
        "created_at": now,
        "decoded_size": len(chunk.text),
        "events": chunk.compressed,
    }


def _grow_summaries(
    conn: Connection, rows: list[dict[str, Any]], known: dict[str, int], now: datetime
) -> None:
    """Each session's ``recordings`` row grown by its new chunks (made where it had none)."""
    grown: dict[str, list[int]] = {}
    for row in rows:
        counts = grown.setdefault(row["session_id"], [0, 0])
        counts[0] += 1
        counts[1] += row["decoded_size"]
    new = [
        {"session_id": session, "chunks": chunks, "decoded_size": size, "first_stored_at": now}
        for session, (chunks, size) in grown.items()
        if session not in known
    ]
    if new:
        conn.execute(recordings.insert(), new)
    changed = [
        {"key": session, "more_chunks": chunks, "more_bytes": size}
        for session, (chunks, size) in grown.items()
        if session in known
    ]
    if changed:
        conn.execute(
            recordings.update()
            .where(recordings.c.session_id == bindparam("key"))
            .values(
                chunks=recordings.c.chunks + bindparam("more_chunks"),
                decoded_size=recordings.c.decoded_size + bindparam("more_bytes"),
            ),
            changed,
        )


@dataclass(frozen=True)
class Recording:
    """A session's stored chunks, compressed, in ``seq`` order; ``visitor_id`` is the first chunk's."""

    session_id: str
    visitor_id: str
    chunks: tuple[bytes, ...]

    def event_texts(self) -> Iterator[bytes]:
        """Each chunk's events as JSON text without the array's brackets (``{..},{..}``), in order:
        joined with commas inside ``[...]`` they are the recording's events."""
        for blob in self.chunks:
            yield zlib.decompress(blob)[1:-1]


def load_recording(engine: Engine, session_id: str) -> Recording | None:
    """The recording of ``session_id``; None when it has no chunk."""
    query = (
        select(recording_chunks.c.visitor_id, recording_chunks.c.events)
        .where(recording_chunks.c.session_id == session_id)
        .order_by(recording_chunks.c.seq)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return None
    return Recording(session_id, rows[0].visitor_id, tuple(bytes(row.events) for row in rows))


@dataclass(frozen=True)
class RecordingHead:
    """The first chunks of a session's recording, up to a size: what a player in a browser is handed.

    ``chunks`` are the stored blobs (zlib-compressed JSON arrays of events), in ``seq`` order; the times
    are ms since 1970 UTC (the recorded browser's clock, the time base of rrweb's events) and sizes are
    bytes of decoded JSON. ``start_ms``/``end_ms`` span the chunks held here, ``recorded_end_ms`` the
    whole recording.
    """

    session_id: str
    visitor_id: str
    chunks: tuple[bytes, ...]
    start_ms: int
    end_ms: int
    size: int
    recorded_chunks: int
    recorded_size: int
    recorded_end_ms: int

    @property
    def truncated(self) -> bool:
        """Whether later chunks were left out."""
        return len(self.chunks) < self.recorded_chunks


def recording_size(engine: Engine, session_id: str) -> tuple[int, int] | None:
    """(chunks, decoded bytes) of the session's recording, None without one: a row read by its key,
    which changes whenever a chunk of the session is stored or deleted."""
    query = select(recordings.c.chunks, recordings.c.decoded_size).where(
        recordings.c.session_id == session_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else (int(row.chunks), int(row.decoded_size))


def load_recording_head(engine: Engine, session_id: str, max_bytes: int) -> RecordingHead | None:
    """The recording of ``session_id`` from its first chunk, whole chunks while they hold at most
    ``max_bytes`` of decoded JSON together (always the first chunk); None when it has no chunk.

    The chunks' sizes and times are read first, then only the blobs kept, so a recording far over
    ``max_bytes`` costs no more than one at it.
    """
    of_session = recording_chunks.c.session_id == session_id
    facts = select(
        recording_chunks.c.seq,
        recording_chunks.c.visitor_id,
        recording_chunks.c.first_ts,
        recording_chunks.c.last_ts,
        recording_chunks.c.decoded_size,
    ).where(of_session)
    with engine.connect() as conn:
        rows = conn.execute(facts.order_by(recording_chunks.c.seq)).all()
        if not rows:
            return None
        kept, size = 1, rows[0].decoded_size
        while kept < len(rows) and size + rows[kept].decoded_size <= max_bytes:
            size += rows[kept].decoded_size
            kept += 1
        blobs = conn.scalars(
            select(recording_chunks.c.events)
            .where(of_session, recording_chunks.c.seq <= rows[kept - 1].seq)
            .order_by(recording_chunks.c.seq)
        ).all()
    held = rows[:kept]
    return RecordingHead(
        session_id=session_id,
        visitor_id=rows[0].visitor_id,
        chunks=tuple(bytes(blob) for blob in blobs),
        start_ms=min(_whole_ms(row.first_ts) for row in held),
        end_ms=max(_whole_ms(row.last_ts) for row in held),
        size=size,
        recorded_chunks=len(rows),
        recorded_size=sum(row.decoded_size for row in rows),
        recorded_end_ms=max(_whole_ms(row.last_ts) for row in rows),
    )


def _whole_ms(moment: Any) -> int:
    return round(_ms(_as_datetime(moment)))


def recordings_mark(engine: Engine) -> int:
    """A snapshot of the stored chunks: the newest ``created_at`` in µs since the epoch (0 when none).
    Every chunk stored later has a larger one (writes are serialised)."""
    with engine.connect() as conn:
        newest = conn.scalar(select(func.max(recording_chunks.c.created_at)))
    return 0 if newest is None else (_as_datetime(newest) - EPOCH) // timedelta(microseconds=1)


def _as_datetime(value: Any) -> datetime:
    """SQLite may hand back an aggregate over a DateTime column as text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def recorded_sessions(engine: Engine, as_of: int, among: Sequence[str] | None = None) -> set[str]:
    """The sessions with a chunk stored by the snapshot ``as_of`` (:func:`recordings_mark`): all of them,
    or those of ``among``."""
    query = select(recordings.c.session_id).where(
        recordings.c.first_stored_at <= EPOCH + timedelta(microseconds=as_of)
    )
    with engine.connect() as conn:
        if among is None:
            return set(conn.scalars(query))
        return {
            session_id
            for part in _parts(among)
            for session_id in conn.scalars(query.where(recordings.c.session_id.in_(part)))
        }


def _parts(values: Sequence[str]) -> Iterator[list[str]]:
    """``values`` without repeats, in lists short enough for ``IN (...)``."""
    distinct = list(dict.fromkeys(values))
    for start in range(0, len(distinct), IN_LIST_CHUNK):
        yield distinct[start : start + IN_LIST_CHUNK]


def delete_stored_before(conn: Connection, cutoff: datetime) -> int:
    """Inside a deleting transaction: remove the chunks stored before ``cutoff`` (naive UTC); how many.
    Only sessions first stored before it lose chunks."""
    deleted = conn.execute(delete(recording_chunks).where(recording_chunks.c.created_at < cutoff)).rowcount
    _summarise(conn, recordings.c.first_stored_at < cutoff)
    return deleted


def delete_visitor(conn: Connection, visitor_id: str) -> int:
    """Inside a deleting transaction: remove the chunks of ``visitor_id``; how many."""
    of_visitor = recording_chunks.c.visitor_id == visitor_id
    sessions = list(conn.scalars(select(recording_chunks.c.session_id).where(of_visitor).distinct()))
    deleted = conn.execute(delete(recording_chunks).where(of_visitor)).rowcount
    for part in _parts(sessions):
        _summarise(conn, recordings.c.session_id.in_(part))
    return deleted


def _summarise(conn: Connection, which: ColumnElement[bool]) -> None:
    """The ``recordings`` rows matching ``which`` made true to their chunks again after some went."""
    chunks = select(recording_chunks).where(recording_chunks.c.session_id == recordings.c.session_id)
    conn.execute(delete(recordings).where(which, ~chunks.exists()))
    column = chunks.with_only_columns
    conn.execute(
        update(recordings)
        .where(which)
        .values(
            chunks=column(func.count()).scalar_subquery(),
            decoded_size=column(func.sum(recording_chunks.c.decoded_size)).scalar_subquery(),
            first_stored_at=column(func.min(recording_chunks.c.created_at)).scalar_subquery(),
        )
    )
