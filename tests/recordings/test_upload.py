"""Uploading recording chunks (CONTRACT 13): idempotent by (sessionId, seq), sendBeacon bodies with a key,
gzip with a bounded inflation, the per-session cap, and whole validation; on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from api.inputs import decode_body
from data_layer.errors import PayloadTooLarge
from data_layer.recordings import MAX_CHUNK_EVENTS, MIB
from data_layer.schema import recording_chunks, recordings
from tests.conftest import bearer
from tests.factories import recording_chunk, rrweb_event

UPLOAD = "/rest/v1/recordings"


def stored(engine: Engine) -> list[tuple[str, int]]:
    """(session, seq) of every stored chunk, in order."""
    query = select(recording_chunks.c.session_id, recording_chunks.c.seq).order_by("session_id", "seq")
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def chunk_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(recording_chunks)) or 0)


def post(client: TestClient, token: str | None, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **headers, **(bearer(token) if token else {})}
    return client.post(UPLOAD, content=content, headers=sent)


def test_a_chunk_is_stored_once(client, tokens, engine) -> None:
    chunk = recording_chunk()
    assert post(client, tokens["ingest"], chunk).json() == {"stored": True}
    assert post(client, tokens["ingest"], chunk).json() == {"stored": False}
    # The key is (sessionId, seq) alone: other events under a stored seq are a duplicate too.
    again = recording_chunk(events=[rrweb_event(3, 999)], visitorId="v2")
    assert post(client, tokens["view"], again).json() == {"stored": False}
    assert post(client, tokens["ingest"], recording_chunk(seq=1)).json() == {"stored": True}
    assert post(client, tokens["ingest"], recording_chunk(sessionId="s2")).json() == {"stored": True}
    assert stored(engine) == [("s1", 0), ("s1", 1), ("s2", 0)]
    with engine.connect() as conn:
        row = conn.execute(select(recording_chunks).where(recording_chunks.c.seq == 0).limit(1)).one()
    text = json.dumps(chunk["events"], separators=(",", ":")).encode()
    assert (row.visitor_id, row.page_key, row.event_count, row.decoded_size) == (
        "v1",
        chunk["url"],
        2,
        len(text),
    )
    assert (row.first_ts, row.last_ts) == (datetime(2026, 4, 10, 12), datetime(2026, 4, 10, 12, 0, 0, 40_000))
    assert zlib.decompress(row.events) == text


def everything_stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every row of the chunks and of the sessions' recording summaries, in key order."""
    with engine.connect() as conn:
        chunks = conn.execute(select(recording_chunks).order_by("session_id", "seq")).all()
        summaries = conn.execute(select(recordings).order_by("session_id")).all()
    return [tuple(row) for row in [*chunks, *summaries]]


def test_a_foreign_replay_of_a_stored_seq_is_a_duplicate_and_changes_nothing(client, tokens, engine) -> None:
    """Another visitor's upload under a stored (sessionId, seq), with another page and other events, by
    fetch, beacon or gzip: answered as a duplicate, and the stored chunk stays as it was, byte for byte."""
    original = recording_chunk(sessionId="victim-session", visitorId="victim")
    assert post(client, tokens["ingest"], original).json() == {"stored": True}
    before = everything_stored(engine)
    forged = {
        **original,
        "visitorId": "intruder",
        "url": "https://elsewhere.example.org/phish",
        "events": [rrweb_event(4, 5, href="https://elsewhere.example.org/phish"), rrweb_event(3, 9)],
    }
    gzipped = gzip.compress(json.dumps(forged).encode())
    answers = [
        post(client, tokens["ingest"], forged),
        post(client, None, {**forged, "key": tokens["ingest"]}, **{"Content-Type": "text/plain"}),
        post(client, tokens["ingest"], gzipped, **{"Content-Encoding": "gzip"}),
    ]
    assert [(answer.status_code, answer.json()) for answer in answers] == [(200, {"stored": False})] * 3
    assert everything_stored(engine) == before
    recording = client.get("/rest/v1/sessions/victim-session/recording", headers=bearer(tokens["view"]))
    assert recording.json() == {
        "sessionId": "victim-session",
        "visitorId": "victim",
        "events": original["events"],
    }


NOT_JSON = "the body is not valid JSON ("


@pytest.mark.parametrize(
    ("body", "headers", "said"),
    [
        (b'{"sessionId": "s1", "seq": 0,', {}, NOT_JSON),
        (b'{"sessionId": "s1"} trailing', {}, NOT_JSON),
        (b"\xff\xfe not text", {}, "the body is not valid UTF-8"),
        (gzip.compress(b'{"sessionId": "s1", "events": [}'), {"Content-Encoding": "gzip"}, NOT_JSON),
        (b'{"key": "hm_x", "sessionId": "s1"', {"Content-Type": "text/plain"}, NOT_JSON),  # a beacon
    ],
    ids=["truncated", "trailing text", "not utf-8", "gzip of broken JSON", "broken beacon"],
)
def test_a_body_that_is_not_json_is_a_clear_400_and_nothing_is_stored(
    client, tokens, engine, body: bytes, headers: dict[str, str], said: str
) -> None:
    response = post(client, tokens["ingest"], body, **headers)
    assert response.status_code == 400, response.text
    details = response.json()["details"]
    assert response.json() == {"error": "bad_request", "details": details}
    assert details.startswith(said), details
    assert chunk_count(engine) == 0


def test_the_page_key_of_a_chunk_is_normalised(client, tokens, engine) -> None:
    post(client, tokens["ingest"], recording_chunk(url="HTTPS://Example.com:443/Pricing/?email=a@b.c#x"))
    with engine.connect() as conn:
        assert conn.scalar(select(recording_chunks.c.page_key)) == "https://example.com/Pricing"


def test_a_beacon_carries_its_key_in_a_text_body(client, tokens, engine) -> None:
    beacon = {**recording_chunk(), "key": tokens["ingest"]}
    response = post(client, None, beacon, **{"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 200 and response.json() == {"stored": True}
    # Only in text/plain: a key in a JSON body is no token, nor a wrong one in a beacon.
    assert post(client, None, {**beacon, "seq": 1}).status_code == 401
    wrong = {**beacon, "seq": 1, "key": "hm_not-a-token"}
    assert post(client, None, wrong, **{"Content-Type": "text/plain"}).status_code == 401
    assert post(client, None, recording_chunk(seq=1), **{"Content-Type": "text/plain"}).status_code == 401
    assert stored(engine) == [("s1", 0)]


def test_gzip_bodies_are_accepted(client, tokens, engine) -> None:
    # Larger than the body limit once inflated: the 1 MiB applies to the body as sent.
    events = [rrweb_event(3, index, text="x" * 1000) for index in range(3000)]
    chunk = recording_chunk(events=events)
    body = gzip.compress(json.dumps(chunk).encode())
    assert len(body) < MIB < len(json.dumps(chunk))
    response = post(client, tokens["ingest"], body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {"stored": True}
    beacon = gzip.compress(json.dumps({**recording_chunk(seq=1), "key": tokens["ingest"]}).encode())
    response = post(client, None, beacon, **{"Content-Encoding": "GZIP", "Content-Type": "text/plain"})
    assert response.json() == {"stored": True}
    assert stored(engine) == [("s1", 0), ("s1", 1)]


def bomb(inflated: int) -> bytes:
    """A valid-looking gzipped chunk that inflates to about ``inflated`` bytes, compressed as it goes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = json.dumps(recording_chunk())[:-3] + ', "padding": "'
    parts = [compressor.compress(head.encode())]
    parts += [compressor.compress(b"A" * MIB) for _ in range(inflated // MIB)]
    parts.append(compressor.compress(b'"}]}') + compressor.flush())
    return b"".join(parts)


def test_a_decompression_bomb_is_refused_and_nothing_is_stored(client, tokens, engine) -> None:
    body = bomb(200 * MIB)
    assert len(body) < MIB
    response = post(client, tokens["ingest"], body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.text
    assert response.json() == {"error": "payload_too_large", "details": response.json()["details"]}
    assert chunk_count(engine) == 0


class CountingInflater:
    """zlib's decompressor, counting the bytes it hands out."""

    produced = 0

    def __init__(self, inflater: Any) -> None:
        self.inflater = inflater

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        piece = self.inflater.decompress(data, max_length)
        CountingInflater.produced += len(piece)
        return piece

    def __getattr__(self, name: str) -> Any:  # eof, unused_data, unconsumed_tail
        return getattr(self.inflater, name)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[CountingInflater]]:
    original = zlib.decompressobj
    CountingInflater.produced = 0
    monkeypatch.setattr(zlib, "decompressobj", lambda *a, **k: CountingInflater(original(*a, **k)))
    yield CountingInflater


def test_inflating_never_goes_past_the_limit(counted) -> None:
    limit = 8 * MIB
    with pytest.raises(PayloadTooLarge):
        decode_body(bomb(1024 * MIB), "gzip", limit)
    assert counted.produced == limit + 1  # one byte past the limit tells, and no more is inflated
    counted.produced = 0
    exact = gzip.compress(b"A" * limit)
    assert decode_body(exact, "gzip", limit) == b"A" * limit
    assert counted.produced == limit


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        (b"not gzip at all", "gzip"),
        (gzip.compress(json.dumps(recording_chunk()).encode())[:-8], "gzip"),  # truncated
        (gzip.compress(json.dumps(recording_chunk()).encode()) + b"junk", "gzip"),
        (json.dumps(recording_chunk()).encode(), "br"),
        (json.dumps(recording_chunk()).encode(), "deflate"),
    ],
)
def test_other_codings_and_broken_gzip_are_refused(client, tokens, engine, body: bytes, coding: str) -> None:
    response = post(client, tokens["ingest"], body, **{"Content-Encoding": coding})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert chunk_count(engine) == 0


def test_a_body_over_one_mib_is_refused(client, tokens, engine) -> None:
    events = [rrweb_event(3, 0, text="x" * (MIB // 2)) for _ in range(2)]
    response = post(client, tokens["ingest"], recording_chunk(events=events))
    assert response.status_code == 413
    assert chunk_count(engine) == 0


def padded(seq: int, size: int) -> dict[str, Any]:
    """Chunk ``seq`` of session s1 whose events take ``size`` bytes as stored JSON."""
    chunk = recording_chunk(seq=seq, events=[rrweb_event(3, seq, text="")])
    filler = size - len(json.dumps(chunk["events"], separators=(",", ":")))
    chunk["events"][0]["data"]["text"] = "x" * filler
    return chunk


def test_the_cap_refuses_what_would_pass_it_and_keeps_the_rest(
    client, api_app, settings, tokens, engine
) -> None:
    api_app.state.ctx.settings = settings.model_copy(update={"recording_max_mb": 1})
    token = tokens["ingest"]
    assert post(client, token, padded(0, 400_000)).json() == {"stored": True}
    assert post(client, token, padded(1, 400_000)).json() == {"stored": True}
    refused = post(client, token, padded(2, 400_000))
    assert refused.status_code == 413
    assert refused.json()["error"] == "payload_too_large"
    assert "HEATMAPS_RECORDING_MAX_MB" in refused.json()["details"]
    # A chunk stored before is still a duplicate, not a refusal; what fits under the cap still fits,
    # up to the byte; another session has a cap of its own.
    assert post(client, token, padded(0, 400_000)).json() == {"stored": False}
    assert post(client, token, padded(3, MIB - 800_000)).json() == {"stored": True}
    assert post(client, token, padded(4, 20)).status_code == 413
    assert post(client, token, {**padded(0, 400_000), "sessionId": "s2"}).json() == {"stored": True}
    assert stored(engine) == [("s1", 0), ("s1", 1), ("s1", 3), ("s2", 0)]
    with engine.connect() as conn:
        used = conn.scalar(
            select(func.sum(recording_chunks.c.decoded_size)).where(recording_chunks.c.session_id == "s1")
        )
    assert used == MIB


def future_ms() -> int:
    """A day ahead: the list is built at collection, and a slow run must not catch up with it."""
    return int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)


TOO_MANY = [{"type": 3, "timestamp": 1}] * (MAX_CHUNK_EVENTS + 1)
# (what is sent in place of the field, or ... to leave it out; the place the refusal names)
INVALID: list[tuple[str, Any, str]] = [
    ("sessionId", ..., "sessionId"),
    ("sessionId", "", "sessionId"),
    ("sessionId", "s" * 129, "sessionId"),
    ("sessionId", 5, "sessionId"),
    ("sessionId", "a\x00b", "sessionId"),
    ("visitorId", ..., "visitorId"),
    ("visitorId", "", "visitorId"),
    ("visitorId", "v" * 129, "visitorId"),
    ("visitorId", ["v1"], "visitorId"),
    ("url", ..., "url"),
    ("url", "ftp://example.com/a", "url"),
    ("url", "/pricing", "url"),
    ("url", "https://example.com/" + "a" * 2048, "url"),
    ("url", 5, "url"),
    ("seq", ..., "seq"),
    ("seq", -1, "seq"),
    ("seq", 1.5, "seq"),
    ("seq", "1", "seq"),
    ("seq", True, "seq"),
    ("seq", 2**31, "seq"),
    ("events", ..., "events"),
    ("events", [], "events"),
    ("events", "[]", "events"),
    ("events", {"type": 3, "timestamp": 1}, "events"),
    ("events", TOO_MANY, "events"),
    ("events", [5], "events[0]"),
    ("events", [rrweb_event(), None], "events[1]"),
    ("events", [{"timestamp": 1}], "events[0].type"),
    ("events", [{"type": "3", "timestamp": 1}], "events[0].type"),
    ("events", [{"type": 3.0, "timestamp": 1}], "events[0].type"),
    ("events", [{"type": True, "timestamp": 1}], "events[0].type"),
    ("events", [{"type": 3}], "events[0].timestamp"),
    ("events", [{"type": 3, "timestamp": "1775822400000"}], "events[0].timestamp"),
    ("events", [{"type": 3, "timestamp": False}], "events[0].timestamp"),
    ("events", [{"type": 3, "timestamp": -1}], "events[0].timestamp"),
    ("events", [rrweb_event(), {"type": 3, "timestamp": future_ms()}], "events[1].timestamp"),
    ("events", [{"type": 3, "timestamp": math.inf}], "events[0].timestamp"),
    ("events", [{"type": 3, "timestamp": math.nan}], "events[0].timestamp"),
    ("events", [{"type": 3, "timestamp": 1, "data": {"x": math.nan}}], "events"),
]


@pytest.mark.parametrize("media_type", ["application/json", "text/plain"])
def test_every_invalid_field_is_a_400_and_nothing_is_stored(
    client, tokens, engine, unlimited, media_type: str
) -> None:
    for name, value, where in INVALID:
        chunk = recording_chunk(**{name: value})
        body = json.dumps(
            {**chunk, "key": tokens["ingest"]}
        ).encode()  # NaN and Infinity as Python writes them
        response = post(
            client,
            tokens["ingest"],
            gzip.compress(body),
            **{"Content-Type": media_type, "Content-Encoding": "gzip"},
        )
        assert response.status_code == 400, (name, value if value is not TOO_MANY else "many", response.text)
        details = response.json()["details"]
        assert response.json() == {"error": "bad_request", "details": details}
        assert f"{where}:" in details and "nothing was stored" in details, (where, details)
    for body in (b"[]", b'"chunk"', b"{", b"\xff"):
        assert post(client, tokens["ingest"], body).status_code == 400
    form = post(
        client, tokens["ingest"], recording_chunk(), **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status_code == 400
    assert chunk_count(engine) == 0


def test_a_refusal_names_every_invalid_event(client, tokens, engine) -> None:
    events = [{"type": "x", "timestamp": 1}] * 30
    details = post(client, tokens["ingest"], recording_chunk(events=events, seq=-1)).json()["details"]
    assert details.startswith("invalid recording chunk, nothing was stored: seq: ")
    assert details.count("; ") == 19 and details.endswith(
        "events[18].type: must be an integer"
    )  # the first 20
    assert chunk_count(engine) == 0


def test_uploads_are_open_to_any_origin(client) -> None:
    preflight = client.options(
        UPLOAD,
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, content-encoding",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "content-encoding"} <= allowed
    answer = client.post(UPLOAD, json=recording_chunk(), headers={"Origin": "https://shop.example"})
    assert answer.status_code == 401 and answer.headers["access-control-allow-origin"] == "*"
