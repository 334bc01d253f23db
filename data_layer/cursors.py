"""Opaque, signed pagination cursors bound to the query they came from (CONTRACT 4.1).

A cursor carries the offset into the result and the snapshot (last sequence number) the first page was
computed at, so later pages see the same data even while events keep arriving: every page is
returned exactly once. The payload is HMAC-SHA256 signed; a digest of the query is part of it, so a
cursor used with other parameters, altered or minted elsewhere is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from data_layer.errors import BadRequest

_VERSION = 1


class InvalidCursorError(BadRequest):
    """The cursor is malformed, not ours, altered, or belongs to another query: a 400 like any bad
    parameter, answered by the one error handler."""


@dataclass(frozen=True)
class CursorState:
    offset: int
    snapshot: int
    """The newest web event's sequence number when the first page was computed."""
    recordings: int = 0
    """For lists that show recordings (sessions): the recordings' snapshot (``recordings_mark``)."""


def query_digest(parts: dict[str, object]) -> str:
    """A short, stable digest of the normalised query parameters a cursor is bound to."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(state: CursorState, digest: str, key: bytes) -> str:
    fields = {"v": _VERSION, "o": state.offset, "s": state.snapshot, "q": digest}
    if state.recordings:
        fields["r"] = state.recordings
    payload = json.dumps(fields, separators=(",", ":")).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_cursor(cursor: str, digest: str, key: bytes) -> CursorState:
    """Verify and open a cursor; raises :class:`InvalidCursorError`."""
    if len(cursor) > 512 or cursor.count(".") != 1:
        raise InvalidCursorError("cursor is malformed; pass pagination.nextCursor unchanged")
    body, signature = cursor.split(".")
    try:
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, TypeError):
        raise InvalidCursorError("cursor is malformed; pass pagination.nextCursor unchanged") from None
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise InvalidCursorError("cursor is not valid: it was altered or not issued by this server")
    data = json.loads(payload)
    if data.get("v") != _VERSION or data.get("q") != digest:
        raise InvalidCursorError(
            "cursor belongs to a different query; keep from, to, filters and sort unchanged while paging"
        )
    return CursorState(offset=int(data["o"]), snapshot=int(data["s"]), recordings=int(data.get("r", 0)))
