"""Bearer tokens, permissions and per-token rate limits for the HTTP faces (CONTRACT 7)."""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from fastapi import Request

from api.context import AppContext
from api.inputs import read_body
from data_layer.auth import Permission, Principal
from data_layer.errors import BadRequest, Forbidden, RateLimited, Unauthorized

RateKind = Literal["query", "ingest"]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_access(
    ctx: AppContext, token: str | None, permission: Permission | None, kind: RateKind
) -> Principal:
    """The caller's principal; :class:`Unauthorized` for a missing, unknown or revoked token,
    :class:`Forbidden` without ``permission`` (None = any valid token), :class:`RateLimited` beyond the
    token's requests per minute of ``kind``. May look the token up in the database."""
    if not token:
        raise Unauthorized("missing token: send the header Authorization: Bearer <token>")
    return admit(ctx, ctx.tokens.principal(token), permission, kind)


def admit(
    ctx: AppContext, principal: Principal | None, permission: Permission | None, kind: RateKind
) -> Principal:
    """:func:`check_access` once the token is looked up (``principal`` None: unknown or revoked); no I/O,
    so the event loop may call it."""
    if principal is None:
        raise Unauthorized("the token is unknown or revoked")
    if permission is not None and not principal.has(permission):
        raise Forbidden(f"this token lacks the {permission.value} permission")
    item = ctx.rate_item(kind)
    key = f"{kind}:{principal.token_id}"
    if not ctx.limiter.hit(item, key):
        reset = ctx.limiter.get_window_stats(item, key).reset_time
        raise RateLimited(
            f"rate limit of {item.amount} {kind} requests per minute exceeded for this token",
            retry_after=max(1, math.ceil(reset - time.time())),
        )
    return principal


def require(permission: Permission | None, kind: RateKind = "query"):
    """A FastAPI dependency enforcing ``permission`` (None = any valid token) and the rate limit."""

    def dependency(request: Request) -> Principal:
        return check_access(request.app.state.ctx, bearer_token(request), permission, kind)

    return dependency


async def read_beacon(request: Request, limit: int) -> tuple[str | None, bytes]:
    """The header token (None without one) and the body (at most ``limit`` bytes) of a POST a browser
    may send with ``navigator.sendBeacon``, which can set no header (CONTRACT 3.1).

    Such a body comes as ``text/plain`` and may carry the token as ``"key"`` (:func:`beacon_token`); any
    other request without an Authorization header is refused (401) before its body is read. A content
    type other than JSON or text is a :class:`BadRequest`.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    header_token = bearer_token(request)
    if header_token is None and media_type != "text/plain":
        check_access(request.app.state.ctx, None, None, "ingest")  # raises the 401
    body = await read_body(request, limit)
    if media_type not in ("application/json", "text/plain", ""):
        raise BadRequest("send the body as application/json (or text/plain from sendBeacon)")
    return header_token, body


def beacon_token(header_token: str | None, payload: Any) -> str | None:
    """The header's token, else the ``"key"`` of a body :func:`read_beacon` let through without one
    (only a ``text/plain`` body gets that far)."""
    if header_token is None and isinstance(payload, dict) and isinstance(payload.get("key"), str):
        return payload["key"]
    return header_token
