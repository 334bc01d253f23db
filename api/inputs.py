"""Request bodies, for every route that takes one: read up to a size limit, parsed as JSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic_core import from_json

from data_layer.errors import BadRequest, PayloadTooLarge


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


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; :class:`BadRequest` for anything else.

    pydantic-core's parser takes the bytes as they are and is several times faster; anything it refuses
    goes through the standard library again, whose answers (and error messages) are the API's.
    """
    try:
        return from_json(body)
    except ValueError:
        pass
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None
