"""The edge of the API: what a request brings in (its URL's text, its body) is checked here, once.

Whatever passes holds only Unicode text, which any database can store, so no route needs to check its
strings for that again. Bodies are read up to a size limit and parsed as JSON; query strings and paths
must decode as UTF-8.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from pydantic_core import from_json

from data_layer.errors import BadRequest, PayloadTooLarge

MAX_KEY_SHOWN = 40
MAX_PATH_SHOWN = 200  # of the place a refused string is at (a deep one's path can be long)
INFLATE_STEP = 256 * 1024  # bytes inflated at a time: zlib's output buffer never grows past it


async def refuse_invalid_url_text(request: Request) -> None:
    """An app-wide dependency: :class:`BadRequest` when the query string or the path, percent-decoded,
    is not UTF-8 (``%FF``, or ``%ED%A0%80``, a surrogate). Starlette would put U+FFFD in place of such
    bytes, silently changing a pageKey before it is stored. Async, so it costs no trip to a thread."""
    for part, raw in (
        ("query string", request.scope["query_string"]),
        ("path", request.scope.get("raw_path")),
    ):
        try:
            unquote_to_bytes(raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(
                f"the URL's {part} is not UTF-8 once percent-decoded; "
                "percent-encode the UTF-8 bytes of the text"
            ) from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; :class:`PayloadTooLarge` beyond ``limit`` bytes, found without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """``body`` with its ``Content-Encoding`` undone: none (or ``identity``) as it is, ``gzip`` inflated.

    Inflating is bounded: :class:`PayloadTooLarge` as soon as the output would pass ``limit`` bytes, so
    a small body that inflates to gigabytes (a decompression bomb) never takes more than ``limit + 1``
    bytes of memory. :class:`BadRequest` for another coding or a body that is not gzip.
    """
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip"):
        raise BadRequest(f"Content-Encoding must be gzip or absent, got {coding[:40]!r}")
    pieces: list[bytes] = []
    size = 0
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member
    pending = body
    try:
        while True:
            piece = inflater.decompress(pending, min(INFLATE_STEP, limit - size + 1))
            size += len(piece)
            if size > limit:
                raise PayloadTooLarge(f"the body inflates to more than {limit} bytes")
            pieces.append(piece)
            if inflater.eof:  # a member ended: the body may hold another (RFC 1952 allows several)
                pending = inflater.unused_data
                if not pending:
                    return b"".join(pieces)
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            else:
                pending = inflater.unconsumed_tail
                if not pending:
                    raise BadRequest("the gzip body is truncated")
    except zlib.error:
        raise BadRequest("the body is not valid gzip (Content-Encoding: gzip)") from None


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; :class:`BadRequest` for anything else, lone surrogates included.

    pydantic-core's parser takes the bytes as they are and is several times faster; anything it refuses
    goes through the standard library again, whose answers (and error messages) are the API's. The
    standard library accepts what pydantic-core does not: nesting deeper than 200 levels, which is fine,
    and escapes of lone UTF-16 surrogates (``"\\ud800"``), which no database can store as text.
    """
    try:
        return from_json(body)
    except ValueError:
        pass
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
    where = _lone_surrogate(value)
    if where is not None:
        shown = where if len(where) <= MAX_PATH_SHOWN else "..." + where[-MAX_PATH_SHOWN:]
        raise BadRequest(
            f"{shown} holds a lone UTF-16 surrogate (an escape such as \\ud800 without its pair), "
            "which is not Unicode text; send the string as valid UTF-8"
        )
    return value


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and any("\ud800" <= char <= "\udfff" for char in text)


def _lone_surrogate(value: Any) -> str | None:
    """Where the first string (or object key) holding a surrogate is, as ``events[3].sessionId``.

    Iterative, since the value may be nested too deeply for recursion. A surrogate in the parsed text is
    always a lone one: the parser joins an escaped pair into the character it stands for.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str) and _has_surrogate(item):
            return path or "the body"
        if isinstance(item, dict):
            for key, child in item.items():
                if _has_surrogate(key):
                    return f"a key of {path or 'the body'}"
                pending.append((f"{path}.{key[:MAX_KEY_SHOWN]}" if path else key[:MAX_KEY_SHOWN], child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None
